/** Set SLO: create or update an SLO by code name. */
import type { IDataObject, INodeProperties } from 'n8n-workflow';
import { upsertSlo } from '../../../lib/slo/definitions';
import type { SliType } from '../../../lib/slo/types';
import { nodeError } from '../../shared/lakehouse';
import { objectParameter, perItem, plain } from '../../shared/items';
import type { Operation } from './common';
import { forOperations } from '../../shared/resources';

export const description: INodeProperties[] = forOperations(['setSlo'], [
	{
		displayName: 'Code Name',
		name: 'codeName',
		type: 'string',
		default: '',
		required: true,
		placeholder: 'odoo-prod-success',
		description: 'Unique name; an existing SLO with this name is updated',
	},
	{
		displayName: 'SLI Type',
		name: 'sliType',
		type: 'options',
		options: [
			{ name: 'Agent Failures per Day', value: 'agent_failures', description: 'Failed agent calls against params.max_failures_per_day' },
			{ name: 'Agent Latency', value: 'agent_latency', description: 'Share of agent calls faster than params.threshold_ms (e.g. p95 < 5 s ⇔ 95%)' },
			{ name: 'Connector Freshness', value: 'connector_freshness', description: 'Time since the last successful run, against thresholds derived from the schedule' },
			{ name: 'Connector Run Success', value: 'connector_success', description: 'Share of finished runs that succeed; also alerts when a scheduled connector stops running' },
			{ name: 'Connector Warnings', value: 'connector_warnings', description: 'A ticket when the last params.warning_runs successful runs all skipped part of the source (metadata.warnings)' },
			{ name: 'Data Quality', value: 'data_quality', description: 'Share of data quality evaluations passing per expectation (labels.dq_action: fail pages, warn makes tickets)' },
			{ name: 'Replication Lag', value: 'replication_lag', description: 'Share of a database connector\'s runs whose replication lag (metadata.replication) is within params.max_lag and params.max_lag_bytes' },
		],
		default: 'connector_success',
	},
	{
		displayName: 'Objective (%)',
		name: 'objective',
		type: 'number',
		typeOptions: { minValue: 0.001, maxValue: 99.999, numberPrecision: 3 },
		default: 99,
	},
	{
		displayName: 'Period',
		name: 'period',
		type: 'string',
		default: '7d',
		placeholder: '7d, 28d, 30d',
		description: 'The SLO window; burn-rate windows scale with it',
	},
	{
		displayName: 'Connector Type',
		name: 'connectorType',
		type: 'string',
		default: '',
		placeholder: 'odoo',
		description: 'With Connector Name: this SLO applies to that connector only (and overrides the template of the same type for it). Empty: every enabled connector.',
		displayOptions: { show: { sliType: ['connector_success', 'connector_freshness', 'connector_warnings', 'replication_lag'] } },
	},
	{
		displayName: 'Connector Name',
		name: 'connectorName',
		type: 'string',
		default: '',
		placeholder: 'odoo-production',
		displayOptions: { show: { sliType: ['connector_success', 'connector_freshness', 'connector_warnings', 'replication_lag'] } },
	},
	{
		displayName: 'Params',
		name: 'params',
		type: 'json',
		default: '{}',
		description: 'E.g. {"min_events": 10, "min_bad_events": 2, "threshold_ms": 5000, "max_failures_per_day": 20, "max_age": "2h", "page_repeat_interval": "4h"}. See the README for every parameter.',
	},
	{
		displayName: 'Labels',
		name: 'labels',
		type: 'json',
		default: '{}',
		description: 'Extra alert labels (e.g. {"team": "finance-data"}), usable in silences',
	},
	{
		displayName: 'Description',
		name: 'sloDescription',
		type: 'string',
		default: '',
	},
	{
		displayName: 'Runbook URL',
		name: 'runbookUrl',
		type: 'string',
		default: '',
	},
	{
		displayName: 'Enabled',
		name: 'enabled',
		type: 'boolean',
		default: true,
		description: 'Whether the SLO is evaluated; disabling one resolves its alerts',
	},
]);

export const execute: Operation = async function (session, items) {
	return perItem(this, items, async (i) => {
		const sliType = this.getNodeParameter('sliType', i) as SliType;
		const connectorType = (this.getNodeParameter('connectorType', i, '') as string).trim();
		const connectorName = (this.getNodeParameter('connectorName', i, '') as string).trim();
		if (Boolean(connectorType) !== Boolean(connectorName)) {
			throw new Error('Give both Connector Type and Connector Name for a one-connector SLO, or neither for a template over every connector');
		}
		const labels = objectParameter(this, 'labels', i);
		const slo = await upsertSlo(session.pool, {
			codeName: this.getNodeParameter('codeName', i) as string,
			sliType,
			objective: this.getNodeParameter('objective', i) as number,
			period: this.getNodeParameter('period', i) as string,
			connector: connectorType ? { connectorType, name: connectorName } : null,
			params: objectParameter(this, 'params', i),
			labels: Object.fromEntries(Object.entries(labels).map(([k, v]) => [k, String(v)])),
			description: (this.getNodeParameter('sloDescription', i, '') as string) || null,
			runbookUrl: (this.getNodeParameter('runbookUrl', i, '') as string) || null,
			enabled: this.getNodeParameter('enabled', i, true) as boolean,
		});
		return plain(slo as unknown as IDataObject);
	}, (e, i) => nodeError(this.getNode(), e, i, session.secrets));
};
