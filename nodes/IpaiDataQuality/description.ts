import type { INodeProperties } from 'n8n-workflow';
import { forOperations } from '../shared/resources';
import * as acceptSchema from './actions/acceptSchema.operation';
import { filterTableField, nameField, targetTableField } from './actions/common';
import * as define from './actions/define.operation';
import * as evaluate from './actions/evaluate.operation';
import * as listExpectations from './actions/listExpectations.operation';
import * as listResults from './actions/listResults.operation';

/**
 * Each operation's own fields come from its file in ./actions; fields several operations show are
 * defined once in ./actions/common.ts and shown for them here, where the editor shows them.
 */
export const properties: INodeProperties[] = [
	{
		displayName: 'Operation',
		name: 'operation',
		type: 'options',
		noDataExpression: true,
		options: [
			{ name: 'Accept Schema', value: 'acceptSchema', action: 'Accept a table s current schema', description: 'Make the table\'s current columns the schema a schema_drift expectation compares against' },
			{ name: 'Define Expectation', value: 'define', action: 'Define an expectation', description: 'Create or replace an expectation on a lakehouse table; the database refuses a definition it cannot run, with the reason' },
			{ name: 'Evaluate', value: 'evaluate', action: 'Evaluate expectations', description: 'Evaluate table-level expectations, and row-level ones on silver/gold, e.g. after Refresh Transforms' },
			{ name: 'List Expectations', value: 'listExpectations', action: 'List expectations', description: 'One item per expectation' },
			{ name: 'List Results', value: 'listResults', action: 'List results', description: 'Recent evaluations with failed/evaluated counts and a sample of failing keys' },
		],
		default: 'evaluate',
	},
	...forOperations(['define', 'acceptSchema'], [targetTableField, nameField]),
	...define.description,
	...acceptSchema.description,
	...evaluate.description,
	...forOperations(['listExpectations', 'listResults'], [filterTableField]),
	...listExpectations.description,
	...listResults.description,
];
