/** Sync: the chosen tables (or a connector's config) into bronze under one connector run. */
import type { IDataObject, IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';
import { parseDbConfig, type DbConnectorConfig, type DbTableConfig } from '../../../lib/sources/db/config';
import { dbRunMetadata, syncDatabase } from '../../../lib/sources/db/sync';
import { dispatchedConnector, runParameters, underRun } from '../../shared/connectorRun';
import { jsonParameter, perItem } from '../../shared/items';
import { nodeError, openLakehouse } from '../../shared/lakehouse';
import { openEngine } from '../transport';
import { forOperations } from '../../shared/resources';

function locatorValue(value: unknown): string {
	if (value && typeof value === 'object' && 'value' in value) return String((value as { value: unknown }).value ?? '').trim();
	return String(value ?? '').trim();
}

/** The connector config this item syncs: from the node's table list, or given as JSON (the dispatcher's). */
export function configOf(fn: IExecuteFunctions, i: number, engine: string): Record<string, unknown> {
	const dispatched = dispatchedConnector(fn, i, 'db');
	if (dispatched) return { engine, ...dispatched.config };
	if (fn.getNodeParameter('tableSource', i, 'list') === 'config') {
		const config = jsonParameter(fn, 'config', i, {}) as Record<string, unknown>;
		return { engine, ...config };
	}
	const rows = ((fn.getNodeParameter('tables', i, {}) as IDataObject).table ?? []) as IDataObject[];
	const options = fn.getNodeParameter('syncOptions', i, {}) as IDataObject;
	const tables: DbTableConfig[] = rows.map((row) => {
		const schema = locatorValue(row.schema);
		const name = locatorValue(row.table);
		const table: DbTableConfig = { table: schema ? `"${schema.replace(/"/g, '""')}"."${name.replace(/"/g, '""')}"` : name, mode: row.mode as DbTableConfig['mode'] };
		if (Array.isArray(row.key) && row.key.length > 0) table.key = row.key as string[];
		if (Array.isArray(row.cursor) && row.cursor.length > 0) table.cursor = row.cursor as string[];
		if (Number(row.lookbackSeconds) > 0) table.lookbackSeconds = Number(row.lookbackSeconds);
		if (row.deleteScanHours !== undefined && Number(row.deleteScanHours) >= 0) table.deleteScanHours = Number(row.deleteScanHours);
		if (row.nullCursor === 'fail') table.nullCursor = 'fail';
		if (row.raw === true) table.raw = true;
		return table;
	});
	const config: Record<string, unknown> = { engine, tables };
	for (const field of ['schema', 'slot', 'publication'] as const) if (typeof options[field] === 'string' && options[field]) config[field] = options[field];
	if (Number(options.pageSize) > 0) config.pageSize = Number(options.pageSize);
	return config;
}

export const description: INodeProperties[] = forOperations(['sync'], [
	{
		displayName: 'Tables From',
		name: 'tableSource',
		type: 'options',
		options: [
			{ name: 'This Node', value: 'list', description: 'Choose tables below' },
			{ name: 'Connector Config (JSON)', value: 'config', description: 'The config field of the item the dispatcher delivers (a db connector config)' },
		],
		default: 'list',
	},
	{
		displayName: 'Connector Config',
		name: 'config',
		type: 'json',
		default: '={{ $json.config }}',
		description: 'A db connector config: {"engine": "postgres", "tables": [{"table": "public.orders", "mode": "incremental", "cursor": ["updated_at"]}]}',
		displayOptions: { show: { tableSource: ['config'] } },
	},
	{
		displayName: 'Tables',
		name: 'tables',
		type: 'fixedCollection',
		placeholder: 'Add Table',
		typeOptions: { multipleValues: true },
		default: {},
		displayOptions: { show: { tableSource: ['list'] } },
		options: [
			{
				displayName: 'Table',
				name: 'table',
				values: [
					{
						displayName: 'Cursor Column Names or IDs',
						name: 'cursor',
						type: 'multiOptions',
						default: [	],
						description: 'Incremental:	columns that grow when a row changes, e.g. updated_at. Choose from the list, or specify IDs using an <a href="https://docs.n8n.io/code/expressions/">expression</a>.',
					},
					{
						displayName: 'Delete Scan Every (Hours)',
						name: 'deleteScanHours',
						type: 'number',
						default: -1,
						description: 'Incremental:	scan the keys for rows deleted at the source this often (-1:	never, 0:	every sync)',
					},
					{
						displayName: 'Keep Raw Record',
						name: 'raw',
						type: 'boolean',
						default: false,
						description: 'Whether to also keep every row as JSON in _ipai_raw (about four times the table\'s size). Off: the typed columns are the record, and _ipai_raw is filled only on rows whose reading lost a source value (e.g. MySQL zero dates).',
					},
					{
						displayName: 'Key Column Names or IDs',
						name: 'key',
						type: 'multiOptions',
						default: [],
						description: 'Columns that identify a row (empty:	the primary key). Choose from the list, or specify IDs using an <a href="https://docs.n8n.io/code/expressions/">expression</a>.',
					},
					{
						displayName: 'Lookback (Seconds)',
						name: 'lookbackSeconds',
						type: 'number',
						default: 0,
						description: 'Incremental:	re-read this far before the last cursor, for rows committed late',
					},
					{
						displayName: 'Mode',
						name: 'mode',
						type: 'options',
						options: [
							{
								name: 'Full',
								value: 'full',
								description: 'A consistent snapshot by primary key, resumable;	deletes found on the next full sync',
							},
							{
								name: 'Incremental',
								value: 'incremental',
								description: 'Rows whose cursor column moved past the last sync (with a lookback)',
							},
							{
								name: 'CDC',
								value: 'cdc',
								description: 'Logical replication:	inserts, updates, deletes and truncates from the source\'s log',
							},
							{
								name: 'FDW',
								value: 'fdw',
								description: 'Read by the lakehouse itself through postgres_fdw;	rows never pass through n8n',
							},
					],
						default: 'full',
					},
					{
						displayName: 'Rows With a NULL Cursor',
						name: 'nullCursor',
						type: 'options',
						options: [
							{
								name: 'Warn',
								value: 'warn',
								description: 'The first sync loads them (before the others, by key); later syncs cannot see them, so the run warns with their count',
							},
							{
								name: 'Fail',
								value: 'fail',
								description: 'The sync fails while any row has a NULL cursor, naming the table, column and count',
							},
						],
						default: 'warn',
						description: 'Incremental:	what to do about rows whose cursor column is NULL, which cursor order cannot track',
					},
					{
						displayName: 'Table',
						name: 'table',
						type: 'resourceLocator',
						default: 'undefined',
							required:	true,
							modes:	[
							{
								displayName: 'From List',
								name: 'list',
								type: 'list',
							},
							{
								displayName: 'Name',
								name: 'name',
								type: 'string',
								placeholder: 'orders',
							},
					]
					},
			],
			},
		],
	},
	{
		displayName: 'Options',
		name: 'syncOptions',
		type: 'collection',
		placeholder: 'Add Option',
		default: {},
		displayOptions: { show: { tableSource: ['list'] } },
		options: [
			{ displayName: 'Bronze Schema', name: 'schema', type: 'string', default: 'ipai_bronze_core' },
			{ displayName: 'Page Size', name: 'pageSize', type: 'number', default: 10000, description: 'Rows per page (one lakehouse transaction each)' },
			{ displayName: 'Replication Slot', name: 'slot', type: 'string', default: '', description: 'CDC: the slot to create or reuse (default: ipai_ and the connector name)' },
			{ displayName: 'Publication', name: 'publication', type: 'string', default: '', description: 'CDC: the publication to create or reuse (default: ipai_ and the connector name)' },
		],
	},
	{
		displayName: 'Follow Changes For (Seconds)',
		name: 'followSeconds',
		type: 'number',
		default: 0,
		description: 'CDC: keep applying changes this long after catching up (0: stop once caught up)',
	},
	...runParameters({}, { placeholder: 'orders-db', description: 'The connector this sync runs as (default: db- and the database name)' }),
]);

export async function execute(this: IExecuteFunctions): Promise<INodeExecutionData[]> {
	const session = await openLakehouse(this);
	let secrets = session.secrets;
	try {
		return await perItem(
			this,
			this.getInputData(),
			async (i) => {
				secrets = session.secrets;
				const engineName = this.getNodeParameter('engine', i) as string;
				const { engine, settings, fdw } = await openEngine(this, engineName);
				secrets = [...secrets, settings.password].filter(Boolean);
				const config = configOf(this, i, engineName);
				try {
					return await underRun(
						this,
						i,
						session,
						{ connectorType: 'db', name: `db-${settings.database}`, initialConfig: config },
						async (run) => {
							const parsed: DbConnectorConfig = parseDbConfig(`db-${settings.database}`, config);
							const { rows } = await session.pool.query<{ name: string }>('select name from public.ipai_connector_config where id = $1', [run.connectorId]);
							const followSeconds = Number(this.getNodeParameter('followSeconds', i, 0)) || 0;
							const result = await syncDatabase(session.pool, engine, {
								connectorName: rows[0].name,
								config: parsed,
								run,
								fdw,
								cdc: { followMs: followSeconds * 1000 },
							});
							return { summary: { ...result } as unknown as IDataObject, metadata: dbRunMetadata(result) };
						},
						// Where it reads, for alert grouping: server and database, never the user or password.
						{ secrets: [settings.password].filter(Boolean), source: `${engineName} ${settings.host}:${settings.port} db ${settings.database}` },
					);
				} finally {
					await engine.close();
				}
			},
			(error, i) => (error instanceof NodeOperationError ? error : nodeError(this.getNode(), error, i, secrets)),
		);
	} finally {
		await session.close();
	}
}
