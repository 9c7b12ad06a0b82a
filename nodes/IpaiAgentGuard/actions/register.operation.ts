/** Register or Update: an agent in the registry, with its own database login. */
import type { IDataObject } from 'n8n-workflow';
import { getAgent, registerAgent, updateAgent, type AgentInput, type AgentOperation, type AgentType } from '../../../lib/agents';
import { nodeError } from '../../shared/lakehouse';
import { objectParameter, perItem } from '../../shared/items';
import { list, optional, type Op } from './common';

export const registerOperation: Op = async function (guard, session, items) {
	return perItem(this, items, async (i) => {
		const codeName = this.getNodeParameter('agent', i) as string;
		const cost = this.getNodeParameter('costBudgetUsd', i, 0) as number;
		const latency = this.getNodeParameter('latencyBudgetMs', i, 30000) as number;
		const config = objectParameter(this, 'agentConfig', i);
		const input: AgentInput = {
			codeName,
			displayName: optional(this.getNodeParameter('displayName', i, '') as string) ?? undefined,
			description: optional(this.getNodeParameter('agentDescription', i, '') as string),
			agentType: this.getNodeParameter('agentType', i, 'custom') as AgentType,
			allowedTools: list(this.getNodeParameter('allowedTools', i, '') as string),
			allowedSchemas: list(this.getNodeParameter('allowedSchemas', i, '') as string),
			allowedOperations: this.getNodeParameter('allowedOperations', i, ['read']) as AgentOperation[],
			costBudgetUsd: cost > 0 ? cost : null,
			latencyBudgetMs: latency > 0 ? latency : null,
			config: Object.keys(config).length ? config : undefined,
		};
		const exists = await getAgent(guard.pool, codeName);
		const agent = exists ? await updateAgent(guard.pool, input) : await registerAgent(guard.pool, input);
		return { ...agent, created: !exists } as unknown as IDataObject;
	}, (e, i) => nodeError(this.getNode(), e, i, session.secrets));
};
