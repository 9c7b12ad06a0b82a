/** Define Expectation: the arguments of the chosen kind, written once the database accepts them. */
import type { IDataObject, IExecuteFunctions, INodeProperties } from 'n8n-workflow';
import { defineExpectation, ExpectationRefusedError } from '../../../lib/dq/definitions';
import type { ExpectationAction, ExpectationKind } from '../../../lib/dq/types';
import { nodeError } from '../../shared/lakehouse';
import { actionableError, perItem, type Operation } from '../../shared/items';
import { forOperations } from '../../shared/resources';

const list = (text: string): string[] => text.split(',').map((v) => v.trim()).filter((v) => v.length > 0);

function numberOrText(value: string): number | string {
	return value.trim() !== '' && Number.isFinite(Number(value)) ? Number(value) : value.trim();
}

/** The args object of one kind, from the node's fields. */
export function argsFor(fn: IExecuteFunctions, i: number, kind: ExpectationKind): Record<string, unknown> {
	const get = <T>(name: string, fallback: T): T => fn.getNodeParameter(name, i, fallback) as T;
	const bounds = (): Record<string, unknown> => {
		const out: Record<string, unknown> = {};
		const min = String(get('min', '')).trim();
		const max = String(get('max', '')).trim();
		if (min !== '') out.min = numberOrText(min);
		if (max !== '') out.max = numberOrText(max);
		return out;
	};
	switch (kind) {
		case 'not_null':
		case 'unique':
			return { columns: get<string[]>('columns', []) };
		case 'accepted_values':
			return { column: get('column', ''), values: list(get('values', '')) };
		case 'range': {
			const inclusive = get('inclusive', true);
			return { column: get('column', ''), ...bounds(), min_inclusive: inclusive, max_inclusive: inclusive };
		}
		case 'regex':
			return { column: get('column', ''), pattern: get('pattern', '') };
		case 'relationship':
			return { columns: get<string[]>('columns', []), to_table: get('toTable', ''), to_columns: get<string[]>('toColumns', []) };
		case 'expression':
			return { expression: get('expression', '') };
		case 'custom_sql':
			return { query: get('query', '') };
		case 'row_count':
			return bounds();
		case 'freshness': {
			const column = get('column', '');
			return { ...(column ? { column } : {}), max_age: get('maxAge', '6 hours') };
		}
		case 'volume_anomaly':
			return { threshold: get('threshold', 3.5), min_history: get('minHistory', 5) };
		default:
			return {};
	}
}

/** Fields of one kind of expectation show for it alone. */
const kind = (...kinds: string[]) => ({ show: { kind: kinds } });

export const description: INodeProperties[] = forOperations(['define'], [
	{
		displayName: 'Kind',
		name: 'kind',
		type: 'options',
		options: [
			{ name: 'Accepted Values (Row)', value: 'accepted_values' },
			{ name: 'Custom SQL (Table)', value: 'custom_sql', description: 'A SELECT returning the failing rows' },
			{ name: 'Expression (Row)', value: 'expression', description: 'A boolean SQL expression over the row' },
			{ name: 'Freshness (Table)', value: 'freshness' },
			{ name: 'Not Null (Row)', value: 'not_null' },
			{ name: 'Range (Row)', value: 'range' },
			{ name: 'Regex (Row)', value: 'regex' },
			{ name: 'Relationship (Row)', value: 'relationship', description: 'Every value exists in another table\'s column' },
			{ name: 'Row Count (Table)', value: 'row_count' },
			{ name: 'Schema Drift (Table)', value: 'schema_drift' },
			{ name: 'Unique (Row)', value: 'unique' },
			{ name: 'Volume Anomaly (Table)', value: 'volume_anomaly', description: 'Rows a run wrote against the trailing runs (robust z-score)' },
		],
		default: 'not_null',
	},
	{
		displayName: 'Column Names or IDs',
		name: 'columns',
		type: 'multiOptions',
		typeOptions: { loadOptionsMethod: 'getColumns', loadOptionsDependsOn: ['targetTable'] },
		default: [],
		description: 'The columns checked (for relationship, in the order of the referenced columns). Choose from the list, or specify IDs using an <a href="https://docs.n8n.io/code/expressions/">expression</a>.',
		displayOptions: kind('not_null', 'unique', 'relationship'),
	},
	{
		displayName: 'Column Name or ID',
		name: 'column',
		type: 'options',
		typeOptions: { loadOptionsMethod: 'getColumns', loadOptionsDependsOn: ['targetTable'] },
		default: '',
		description: 'The column checked (for freshness: the timestamp; empty uses _ipai_extracted_at). Choose from the list, or specify an ID using an <a href="https://docs.n8n.io/code/expressions/">expression</a>.',
		displayOptions: kind('accepted_values', 'range', 'regex', 'freshness'),
	},
	{
		displayName: 'Accepted Values',
		name: 'values',
		type: 'string',
		default: '',
		placeholder: 'open, paid, cancelled',
		description: 'Comma-separated; NULL passes (add a Not Null expectation to refuse it)',
		displayOptions: kind('accepted_values'),
	},
	{
		displayName: 'Minimum',
		name: 'min',
		type: 'string',
		default: '',
		description: 'Lower bound in the column\'s type (a number, a date…); empty for none',
		displayOptions: kind('range', 'row_count'),
	},
	{
		displayName: 'Maximum',
		name: 'max',
		type: 'string',
		default: '',
		description: 'Upper bound in the column\'s type; empty for none',
		displayOptions: kind('range', 'row_count'),
	},
	{
		displayName: 'Bounds Inclusive',
		name: 'inclusive',
		type: 'boolean',
		default: true,
		description: 'Whether a value equal to a bound passes',
		displayOptions: kind('range'),
	},
	{
		displayName: 'Pattern',
		name: 'pattern',
		type: 'string',
		default: '',
		placeholder: '^[A-Z]{3}$',
		description: 'A PostgreSQL regular expression the value must match',
		displayOptions: kind('regex'),
	},
	{
		displayName: 'Expression',
		name: 'expression',
		type: 'string',
		typeOptions: { editor: 'sqlEditor', sqlDialect: 'PostgreSQL', rows: 3 },
		default: '',
		placeholder: "status <> 'paid' or amount > 0",
		description: 'Boolean, over the row\'s columns; a row fails when it is false. No subqueries, semicolons, comments or functions outside the allow-list.',
		displayOptions: kind('expression'),
	},
	{
		displayName: 'Query',
		name: 'query',
		type: 'string',
		typeOptions: { editor: 'sqlEditor', sqlDialect: 'PostgreSQL', rows: 6 },
		default: '',
		placeholder: 'select connector_id, line_id from ipai_gold_erp.open_items where amount_open < 0',
		description: 'One SELECT over lakehouse tables that returns the failing rows',
		displayOptions: kind('custom_sql'),
	},
	{
		displayName: 'Referenced Table Name or ID',
		name: 'toTable',
		type: 'options',
		typeOptions: { loadOptionsMethod: 'getTables' },
		default: '',
		description: 'The table whose columns must hold every value. Choose from the list, or specify an ID using an <a href="https://docs.n8n.io/code/expressions/">expression</a>.',
		displayOptions: kind('relationship'),
	},
	{
		displayName: 'Referenced Column Names or IDs',
		name: 'toColumns',
		type: 'multiOptions',
		typeOptions: { loadOptionsMethod: 'getReferencedColumns', loadOptionsDependsOn: ['toTable'] },
		default: [],
		description: 'Paired by position with Column Names. Choose from the list, or specify IDs using an <a href="https://docs.n8n.io/code/expressions/">expression</a>.',
		displayOptions: kind('relationship'),
	},
	{
		displayName: 'Maximum Age',
		name: 'maxAge',
		type: 'string',
		default: '6 hours',
		description: 'The newest row may be at most this old (a PostgreSQL interval)',
		displayOptions: kind('freshness'),
	},
	{
		displayName: 'Threshold',
		name: 'threshold',
		type: 'number',
		typeOptions: { minValue: 0.1, numberPrecision: 2 },
		default: 3.5,
		description: 'Robust z-score beyond which a run\'s row count is an anomaly',
		displayOptions: kind('volume_anomaly'),
	},
	{
		displayName: 'Minimum History',
		name: 'minHistory',
		type: 'number',
		typeOptions: { minValue: 3 },
		default: 5,
		description: 'Earlier runs needed before a run is judged',
		displayOptions: kind('volume_anomaly'),
	},
	{
		displayName: 'Action',
		name: 'onFailure',
		type: 'options',
		options: [
			{ name: 'Warn', value: 'warn', description: 'Record the failing rows; load everything' },
			{ name: 'Drop', value: 'drop', description: 'Bronze loads only: failing rows go to the reject table with the expectation\'s name, the rest loads' },
			{ name: 'Fail', value: 'fail', description: 'The page rolls back and the run fails, naming the expectation and its counts' },
		],
		default: 'warn',
	},
	{
		displayName: 'Options',
		name: 'defineOptions',
		type: 'collection',
		placeholder: 'Add Option',
		default: {},
		options: [
			{ displayName: 'Description', name: 'description', type: 'string', default: '' },
			{ displayName: 'Enabled', name: 'enabled', type: 'boolean', default: true, description: 'Whether loads and evaluations apply it' },
			{ displayName: 'Owner', name: 'owner', type: 'string', default: '', description: 'Who acts when it fails (named in alerts)' },
			{ displayName: 'Runbook URL', name: 'runbookUrl', type: 'string', default: '', description: 'Linked from failure messages and alerts' },
			{
				displayName: 'Sample Key Columns',
				name: 'key',
				type: 'string',
				default: '',
				placeholder: 'connector_id, line_id',
				description: 'Comma-separated columns that name a failing row in samples (default: the stream key)',
			},
		],
	},
]);

export const execute: Operation = async function (this: IExecuteFunctions, session, items) {
	return perItem(
		this,
		items,
		async (i) => {
			const kind = this.getNodeParameter('kind', i) as ExpectationKind;
			const options = this.getNodeParameter('defineOptions', i, {}) as IDataObject;
			const args = argsFor(this, i, kind);
			const key = list(String(options.key ?? ''));
			if (key.length > 0) args.key = key;
			const expectation = await defineExpectation(session.pool, {
				targetTable: this.getNodeParameter('targetTable', i) as string,
				name: this.getNodeParameter('name', i) as string,
				kind,
				args,
				action: this.getNodeParameter('onFailure', i) as ExpectationAction,
				enabled: options.enabled === undefined ? true : Boolean(options.enabled),
				owner: options.owner ? String(options.owner) : null,
				runbookUrl: options.runbookUrl ? String(options.runbookUrl) : null,
				description: options.description ? String(options.description) : null,
			});
			return expectation as unknown as IDataObject;
		},
		(e, i) =>
			e instanceof ExpectationRefusedError
				? actionableError(this.getNode(), e.message, { itemIndex: i, description: 'Nothing was stored. Fix the definition and run the node again.' })
				: nodeError(this.getNode(), e, i, session.secrets),
	);
};
