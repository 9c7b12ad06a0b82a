/** Query: a read-only SQL query as the agent, in its scope and budget; a refusal is an answer item. */
import type { IDataObject, INodeProperties } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';
import { query } from '../../../lib/agents';
import { perItem } from '../../shared/items';
import { logAgentCall } from '../../shared/log';
import { optional, identity, refusal, agentQueryError, type Op } from './common';
import { forOperations } from '../../shared/resources';

export const description: INodeProperties[] = forOperations(['query'], [
	{
		displayName: 'SQL Query',
		name: 'sql',
		type: 'string',
		typeOptions: { editor: 'sqlEditor', sqlDialect: 'PostgreSQL', rows: 5 },
		default: '',
		required: true,
		placeholder: 'select * from ipai_gold_erp.profit_and_loss limit 50',
		description: 'One SELECT, WITH, VALUES or TABLE statement; use schema-qualified names (the search path is empty)',
	},
	{
		displayName: 'Max Rows',
		name: 'maxRows',
		type: 'number',
		typeOptions: { minValue: 1, maxValue: 10000 },
		default: 100,
		description: 'Max number of rows to return (never more than the agent\'s own cap)',
	},
	{
		displayName: 'Tool Name to Check',
		name: 'checkTool',
		type: 'string',
		default: '',
		placeholder: 'lakehouse_query',
		description: 'When set, the agent\'s allowed tools must include it (the MCP free-SQL tool sets lakehouse_query)',
	},
	{
		displayName: 'Output',
		name: 'output',
		type: 'options',
		options: [
			{ name: 'One Item', value: 'single', description: 'One item with the rows, row count and run ID (best for AI tools)' },
			{ name: 'Item per Row', value: 'rows', description: 'One output item per row' },
		],
		default: 'single',
	},
]);

export const execute: Op = async function (guard, session, items) {
	return perItem(
		this,
		items,
		async (i) => {
			const rows = this.getNodeParameter('output', i, 'single') === 'rows';
			try {
				const result = await query(guard, this.getNodeParameter('agent', i) as string, this.getNodeParameter('sql', i) as string, {
					...identity(this, i),
					maxRows: this.getNodeParameter('maxRows', i, 100) as number,
					tool: optional(this.getNodeParameter('checkTool', i, '') as string) ?? undefined,
				});
				await logAgentCall(this, session.pool, result.runId, session.secrets);
				return rows ? (result.rows as IDataObject[]) : ({ ...result } as unknown as IDataObject);
			} catch (error) {
				await logAgentCall(this, session.pool, (error as { runId?: string }).runId, session.secrets);
				const refused = refusal(error);
				if (refused && !rows) return refused;
				throw refused ? new NodeOperationError(this.getNode(), String(refused.reason), { itemIndex: i }) : error;
			}
		},
		(error, i) => (error instanceof NodeOperationError ? error : agentQueryError(this, error, i, session)),
	);
};
