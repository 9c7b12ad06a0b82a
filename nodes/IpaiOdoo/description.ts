import type { INodeProperties } from 'n8n-workflow';
import { domainField } from './actions/domain';
import * as emit from './actions/emit.operation';
import * as sync from './actions/sync.operation';

/** Each operation's fields come from its file in ./actions; the Domain filter both show, from ./actions/domain.ts. */
export const properties: INodeProperties[] = [
	{
		displayName: 'Operation',
		name: 'operation',
		type: 'options',
		noDataExpression: true,
		options: [
			{
				name: 'Emit Records',
				value: 'emit',
				action: 'Emit records',
				description: 'Read a bounded number of records as n8n items (for small pulls that feed other nodes)',
			},
			{
				name: 'Sync to Lakehouse',
				value: 'sync',
				action: 'Sync models to the lakehouse',
				description: 'Stream models into bronze tables, incrementally by write_date, in constant memory',
			},
		],
		default: 'sync',
	},
	...sync.selection,
	...emit.description,
	domainField,
	...sync.description,
];
