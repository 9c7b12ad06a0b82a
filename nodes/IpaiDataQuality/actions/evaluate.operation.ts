/** Evaluate: table-level expectations (and row-level ones on silver/gold) with their results recorded. */
import type { IDataObject, IExecuteFunctions, INodeProperties } from 'n8n-workflow';
import { evaluateExpectations } from '../../../lib/dq/evaluate';
import { ExpectationFailedError } from '../../../lib/dq/types';
import { nodeError } from '../../shared/lakehouse';
import { actionableError, perItem, type Operation } from '../../shared/items';
import { forOperations } from '../../shared/resources';

export const description: INodeProperties[] = forOperations(['evaluate'], [
	{
		displayName: 'Schema Names or IDs',
		name: 'schemas',
		type: 'multiOptions',
		typeOptions: { loadOptionsMethod: 'getSchemas' },
		default: [],
		description: 'Evaluate the expectations of tables in these schemas (none chosen: every schema). Choose from the list, or specify IDs using an <a href="https://docs.n8n.io/code/expressions/">expression</a>.',
	},
	{
		displayName: 'Table Names or IDs',
		name: 'tables',
		type: 'multiOptions',
		typeOptions: { loadOptionsMethod: 'getTables' },
		default: [],
		description: 'Only these tables (a bronze table named here also has its row-level expectations checked over all its rows). Choose from the list, or specify IDs using an <a href="https://docs.n8n.io/code/expressions/">expression</a>.',
	},
	{
		displayName: 'Fail When an Expectation With Action Fail Fails',
		name: 'failOnFail',
		type: 'boolean',
		default: true,
		description: 'Whether the node fails (so the workflow\'s error handler alerts) after recording every result',
	},
]);

export const execute: Operation = async function (this: IExecuteFunctions, session, items) {
	return perItem(
		this,
		items.slice(0, 1),
		async (i) => {
			const report = await evaluateExpectations(session.pool, {
				schemas: this.getNodeParameter('schemas', i, []) as string[],
				tables: this.getNodeParameter('tables', i, []) as string[],
				throwOnFail: this.getNodeParameter('failOnFail', i, true) as boolean,
				secrets: session.secrets,
			});
			return {
				evaluationId: report.evaluationId,
				passed: report.passed,
				failed: report.failed,
				errors: report.errors,
				results: report.outcomes.map((o) => ({
					table: o.expectation.targetTable,
					expectation: o.expectation.name,
					kind: o.expectation.kind,
					action: o.expectation.action,
					status: o.status,
					evaluated: o.evaluated,
					failed: o.failed,
					companyId: o.companyId ?? null,
					message: o.message,
				})),
			} as unknown as IDataObject;
		},
		(e, i) =>
			e instanceof ExpectationFailedError
				? actionableError(this.getNode(), e.message, { itemIndex: i, description: 'Every result is recorded in ipai_dq_result; see List Results and the runbook.' })
				: nodeError(this.getNode(), e, i, session.secrets),
	);
};
