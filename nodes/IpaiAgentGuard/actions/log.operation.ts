/** Log Run: record what an agent did (tokens, cost, latency, outcome), settling a reservation. */
import type { IDataObject } from 'n8n-workflow';
import { logRun } from '../../../lib/agents';
import { nodeError } from '../../shared/lakehouse';
import { objectParameter, perItem } from '../../shared/items';
import { logAgentCall } from '../../shared/log';
import { optional, identity, type Op } from './common';

export const logOperation: Op = async function (guard, session, items) {
	return perItem(this, items, async (i) => {
		const result = await logRun(guard, this.getNodeParameter('agent', i) as string, {
			tool: this.getNodeParameter('logTool', i) as string,
			status: this.getNodeParameter('status', i, 'success') as 'success' | 'failed',
			tokensUsed: this.getNodeParameter('tokensUsed', i, 0) as number,
			costUsd: this.getNodeParameter('costUsd', i, 0) as number,
			latencyMs: this.getNodeParameter('latencyMs', i, 0) as number,
			inputSummary: objectParameter(this, 'inputSummary', i),
			outputSummary: objectParameter(this, 'outputSummary', i),
			errorMessage: optional(this.getNodeParameter('errorMessage', i, '') as string),
			reservationId: optional(this.getNodeParameter('reservationId', i, '') as string),
		}, identity(this, i));
		await logAgentCall(this, session.pool, result.runId, session.secrets);
		return result as unknown as IDataObject;
	}, (e, i) => nodeError(this.getNode(), e, i, session.secrets));
};
