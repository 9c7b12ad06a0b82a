/**
 * Load Items: lands the incoming n8n items in a bronze table through the lakehouse loader, so any
 * node (HTTP Request, a SaaS node, a webhook) gets the same guarantees as the built-in sources:
 * pages committed whole, merge by key, schema evolution, a run row with counts.
 */
import type { IDataObject, INodeProperties } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';
import { isColumnType } from '../../../lib/lakehouse/columnTypes';
import { loadStream, type Page } from '../../../lib/lakehouse/loader';
import { bronzeTableName, SchemaError, type ColumnSpec } from '../../../lib/lakehouse/tables';
import { underRun } from '../../shared/connectorRun';
import { nodeError } from '../../shared/lakehouse';
import { objectParameter, type Operation } from '../../shared/items';
import { forOperations } from '../../shared/resources';
import { connectorFields } from './common';

export const description: INodeProperties[] = forOperations(['loadItems'], [
	{
		displayName: 'Run ID',
		name: 'runId',
		type: 'string',
		default: '',
		description: 'The run to load under; empty starts (and finishes) a run of its own for the connector below',
	},
	...connectorFields(false).map((p) => ({
		...p,
		description: `${p.description}. Used when no run ID is given.`,
		displayOptions: { show: { runId: [''] } },
	})),
	{
		displayName: 'Schema Name or ID',
		name: 'schema',
		type: 'options',
		typeOptions: { loadOptionsMethod: 'getBronzeSchemas' },
		default: 'ipai_bronze_core',
		description: 'Bronze schema to land in. Choose from the list, or specify an ID using an <a href="https://docs.n8n.io/code/expressions/">expression</a>.',
	},
	{
		displayName: 'Table',
		name: 'table',
		type: 'string',
		default: '',
		required: true,
		description: 'Created on first load from the items\' fields; new fields add columns',
	},
	{
		displayName: 'Key Fields',
		name: 'keyFields',
		type: 'string',
		default: '',
		placeholder: 'e.g. ID',
		description: 'Comma-separated fields that identify a record: items are merged by them. Empty appends every item.',
	},
	{
		displayName: 'Options',
		name: 'loadOptions',
		type: 'collection',
		placeholder: 'Add Option',
		default: {},
		options: [
			{
				displayName: 'Column Types',
				name: 'columnTypes',
				type: 'json',
				default: '{}',
				description: 'Field → type overrides, e.g. {"amount": "numeric", "day": "date"}. Types: boolean, integer, bigint, numeric, double, date, timestamp, timestamptz, jsonb, text, bigint[], text[].',
			},
			{
				displayName: 'Page Size',
				name: 'pageSize',
				type: 'number',
				typeOptions: { minValue: 1 },
				default: 5000,
				description: 'Items per transaction',
			},
			{
				displayName: 'Stream',
				name: 'stream',
				type: 'string',
				default: '',
				description: 'Stream name for the cursor; defaults to the table name',
			},
		],
	},
]);

export const execute: Operation = async function (session, items) {
	const node = this.getNode();
	const schema = this.getNodeParameter('schema', 0) as string;
	const requested = this.getNodeParameter('table', 0) as string;
	const options = this.getNodeParameter('loadOptions', 0, {}) as IDataObject;
	const key = (this.getNodeParameter('keyFields', 0, '') as string).split(',').map((k) => k.trim()).filter(Boolean);
	const pageSize = Math.max(1, Number(options.pageSize ?? 5000));
	const paired = items.map((_, i) => ({ item: i }));

	try {
		// The same name rules as the file and source paths: a table usable without quotes.
		let table: string;
		try {
			table = bronzeTableName(requested);
		} catch (error) {
			if (error instanceof SchemaError) throw new NodeOperationError(node, error.message, { itemIndex: 0 });
			throw error;
		}
		const renamed = table !== requested;
		const stream = (options.stream as string) || table;
		if (!/^ipai_bronze_[a-z0-9_]+$/.test(schema)) {
			throw new NodeOperationError(node, `Load Items writes bronze schemas only (ipai_bronze_*), not "${schema}"`, { itemIndex: 0 });
		}
		const columns = columnTypes(objectParameter(this, 'columnTypes', 0), node);

		function* pages(): Generator<Page> {
			for (let offset = 0; offset < items.length; offset += pageSize) {
				yield { records: items.slice(offset, offset + pageSize).map((item) => item.json as Record<string, unknown>) };
			}
		}
		const summary = await underRun(
			this,
			0,
			session,
			{ connectorType: (this.getNodeParameter('connectorType', 0, '') as string) || 'n8n', name: `${schema}.${table}` },
			async (run) => {
				const result = await loadStream(session.pool, pages(), {
					...run,
					stream,
					table: { schema, name: table },
					key: key.length > 0 ? key : undefined,
					columns,
				});
				const naming = renamed ? { requestedTable: requested, notice: `Table name ${JSON.stringify(requested)} became "${table}" (snake_case letters, digits and _, usable without quotes)` } : {};
				return { summary: { table: `${schema}.${table}`, ...naming, ...result } as unknown as IDataObject };
			},
		);
		return [{ json: summary, pairedItem: paired }];
	} catch (error) {
		const safe = error instanceof NodeOperationError ? error : nodeError(node, error, 0, session.secrets);
		if (this.continueOnFail()) return [{ json: { error: safe.message }, pairedItem: paired }];
		throw safe;
	}
};

function columnTypes(map: Record<string, unknown>, node: import('n8n-workflow').INode): ColumnSpec[] {
	return Object.entries(map).map(([field, type]) => {
		if (typeof type !== 'string' || !isColumnType(type)) {
			throw new NodeOperationError(node, `Column type "${String(type)}" for "${field}" is not one the lakehouse knows`, { itemIndex: 0 });
		}
		return { field, type };
	});
}

