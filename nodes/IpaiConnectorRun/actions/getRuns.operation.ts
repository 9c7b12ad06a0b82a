/** Get Runs: list runs from the run ledger. */
import type { IDataObject, INodeProperties } from 'n8n-workflow';
import { listRuns } from '../../../lib/lakehouse/runQueries';
import { nodeError } from '../../shared/lakehouse';
import { perItem, type Operation } from '../../shared/items';
import { LIMIT_FIELD, forOperations } from '../../shared/resources';

export const description: INodeProperties[] = forOperations(['getRuns'], [
	{
		displayName: 'Filters',
		name: 'filters',
		type: 'collection',
		placeholder: 'Add Filter',
		default: {},
		options: [
			{ displayName: 'Connector Name', name: 'connectorName', type: 'string', default: '' },
			{ displayName: 'Connector Type', name: 'connectorType', type: 'string', default: '' },
			{ displayName: 'Since', name: 'since', type: 'dateTime', default: '' },
			{
				displayName: 'Status',
				name: 'status',
				type: 'multiOptions',
				options: [
					{ name: 'Abandoned', value: 'abandoned' },
					{ name: 'Failed', value: 'failed' },
					{ name: 'Running', value: 'running' },
					{ name: 'Skipped', value: 'skipped' },
					{ name: 'Success', value: 'success' },
				],
				default: [],
			},
		],
	},
	LIMIT_FIELD,
]);

export const execute: Operation = async function (session, items) {
	return perItem(this, items, async (i) => {
		const filters = this.getNodeParameter('filters', i, {}) as IDataObject;
		const runs = await listRuns(session.pool, {
			connectorType: (filters.connectorType as string) || undefined,
			connectorName: (filters.connectorName as string) || undefined,
			status: (filters.status as string[]) ?? undefined,
			since: filters.since ? new Date(filters.since as string) : undefined,
			limit: this.getNodeParameter('limit', i, 50) as number,
		});
		return runs as unknown as IDataObject[];
	}, (e, i) => nodeError(this.getNode(), e, i, session.secrets));
};
