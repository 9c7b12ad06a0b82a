/** Authorize: may the agent use a tool on a schema within its budgets (a reservation when it may). */
import type { IDataObject } from 'n8n-workflow';
import { authorize, type AgentOperation } from '../../../lib/agents';
import { nodeError } from '../../shared/lakehouse';
import { perItem } from '../../shared/items';
import { logAgentCall } from '../../shared/log';
import { optional, identity, type Op } from './common';

export const authorizeOperation: Op = async function (guard, session, items) {
	return perItem(this, items, async (i) => {
		const result = await authorize(guard, this.getNodeParameter('agent', i) as string, {
			tool: optional(this.getNodeParameter('tool', i, '') as string),
			schema: optional(this.getNodeParameter('schema', i, '') as string),
			operation: this.getNodeParameter('agentOperation', i, 'read') as AgentOperation,
			estimatedCostUsd: this.getNodeParameter('estimatedCostUsd', i, 0) as number,
			estimatedLatencyMs: ((this.getNodeParameter('estimatedLatencyMs', i, 0) as number) || undefined),
		}, identity(this, i));
		await logAgentCall(this, session.pool, result.runId, session.secrets);
		return result as unknown as IDataObject;
	}, (e, i) => nodeError(this.getNode(), e, i, session.secrets));
};
