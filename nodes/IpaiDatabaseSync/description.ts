import type { INodeProperties } from 'n8n-workflow';
import * as discover from './actions/discover.operation';
import * as sync from './actions/sync.operation';
import { ENGINES } from './transport';

/** Each operation's fields come from its file in ./actions; the engine (and its credential) is the node's. */
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
	...discover.description,
	...sync.description,
];
