import type { INodeProperties } from 'n8n-workflow';
import { runParameters } from '../shared/connectorRun';
import { ENGINES } from './transport';

const schemaLocator = (name: string, displayName: string, description: string): INodeProperties => ({
	displayName,
	name,
	type: 'resourceLocator',
	default: { mode: 'list', value: '' },
	required: true,
	description,
	modes: [
		{ displayName: 'From List', name: 'list', type: 'list', typeOptions: { searchListMethod: 'searchSchemas', searchable: true } },
		{ displayName: 'Name', name: 'name', type: 'string', placeholder: 'public' },
	],
});

export const properties: INodeProperties[] = [
	{
		displayName: 'Operation',
		name: 'operation',
		type: 'options',
		noDataExpression: true,
		options: [
			{ name: 'Discover', value: 'discover', action: 'Discover tables of a schema', description: 'List a schema\'s tables with their columns, keys and bronze types' },
			{ name: 'Sync', value: 'sync', action: 'Sync tables to the lakehouse', description: 'Load tables into bronze: full, incremental, CDC or FDW, each page committed with its cursor' },
		],
		default: 'sync',
	},
	{
		displayName: 'Engine',
		name: 'engine',
		type: 'options',
		noDataExpression: true,
		options: Object.entries(ENGINES).map(([value, entry]) => ({ name: entry!.label, value })),
		default: 'postgres',
	},
	{ ...schemaLocator('schema', 'Schema', 'The schema whose tables to list'), displayOptions: { show: { operation: ['discover'] } } },
	{
		displayName: 'Tables From',
		name: 'tableSource',
		type: 'options',
		options: [
			{ name: 'This Node', value: 'list', description: 'Choose tables below' },
			{ name: 'Connector Config (JSON)', value: 'config', description: 'The config field of the item the dispatcher delivers (a db connector config)' },
		],
		default: 'list',
		displayOptions: { show: { operation: ['sync'] } },
	},
	{
		displayName: 'Connector Config',
		name: 'config',
		type: 'json',
		default: '={{ $json.config }}',
		description: 'A db connector config: {"engine": "postgres", "tables": [{"table": "public.orders", "mode": "incremental", "cursor": ["updated_at"]}]}',
		displayOptions: { show: { operation: ['sync'], tableSource: ['config'] } },
	},
	{
		displayName: 'Tables',
		name: 'tables',
		type: 'fixedCollection',
		placeholder: 'Add Table',
		typeOptions: { multipleValues: true },
		default: {},
		displayOptions: { show: { operation: ['sync'], tableSource: ['list'] } },
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
		displayOptions: { show: { operation: ['sync'], tableSource: ['list'] } },
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
		displayOptions: { show: { operation: ['sync'] } },
	},
	...runParameters({ operation: ['sync'] }, { placeholder: 'orders-db', description: 'The connector this sync runs as (default: db- and the database name)' }),
];
