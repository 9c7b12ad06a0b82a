import type { INodeProperties } from 'n8n-workflow';
import { optionsField, selectionFields } from './actions/common';
import * as emit from './actions/emit.operation';
import * as sync from './actions/sync.operation';

/** Each operation's own fields come from its file in ./actions; the fields both show, from ./actions/common.ts. */
export const properties: INodeProperties[] = [
	{
		displayName: 'Operation',
		name: 'operation',
		type: 'options',
		noDataExpression: true,
		options: [
			{
				name: 'Sync to Lakehouse',
				value: 'sync',
				action: 'Sync into bronze',
				description: 'Stream the chosen streams into ipai_bronze_devops, incrementally, with a run row and per-repository cursors',
			},
			{
				name: 'Emit Records',
				value: 'emit',
				action: 'Emit records',
				description: 'Read up to a limit of records and pass them on as items (no lakehouse, no cursor)',
			},
		],
		default: 'sync',
	},
	...selectionFields,
	...sync.description,
	...emit.description,
	optionsField,
];
