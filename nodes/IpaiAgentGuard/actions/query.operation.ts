/** Query: a read-only SQL query as the agent, in its scope and budget; a refusal is an answer item. */
import type { IDataObject } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';
import { query } from '../../../lib/agents';
import { perItem } from '../../shared/items';
import { logAgentCall } from '../../shared/log';
import { optional, identity, refusal, agentQueryError, type Op } from './common';

export const queryOperation: Op = async function (guard, session, items) {
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
