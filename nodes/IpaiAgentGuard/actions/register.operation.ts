/** Register or Update: an agent in the registry, with its own database login. */
import type { IDataObject, INodeProperties } from 'n8n-workflow';
import { getAgent, registerAgent, updateAgent, type AgentInput, type AgentOperation, type AgentType } from '../../../lib/agents';
import { nodeError } from '../../shared/lakehouse';
import { objectParameter, perItem } from '../../shared/items';
import { list, optional, type Op } from './common';
import { forOperations } from '../../shared/resources';

export const description: INodeProperties[] = forOperations(['register'], [
	{ displayName: 'Display Name', name: 'displayName', type: 'string', default: '', description: 'Required when registering' },
	{ displayName: 'Description', name: 'agentDescription', type: 'string', default: '' },
	{
		displayName: 'Agent Type',
		name: 'agentType',
		type: 'options',
		options: [
			{ name: 'Claude', value: 'claude' },
			{ name: 'Custom', value: 'custom' },
			{ name: 'Gemini', value: 'gemini' },
			{ name: 'Pulser', value: 'pulser' },
		],
		default: 'custom',
	},
	{ displayName: 'Allowed Tools', name: 'allowedTools', type: 'string', default: '', placeholder: 'lakehouse_query, web_search', description: 'Comma-separated tool names' },
	{ displayName: 'Allowed Schemas', name: 'allowedSchemas', type: 'string', default: '', placeholder: 'ipai_gold_erp, ipai_gold_core.dim_date', description: 'Comma-separated lakehouse schemas or schema.table entries the agent may read' },
	{
		displayName: 'Allowed Operations',
		name: 'allowedOperations',
		type: 'multiOptions',
		options: [
			{ name: 'Read', value: 'read' },
			{ name: 'Schedule', value: 'schedule' },
			{ name: 'Transform', value: 'transform' },
			{ name: 'Write', value: 'write' },
		],
		default: ['read'],
	},
	{ displayName: 'Daily Cost Budget (USD)', name: 'costBudgetUsd', type: 'number', typeOptions: { minValue: 0, numberPrecision: 4 }, default: 0, description: 'Per UTC day; 0 means no budget' },
	{ displayName: 'Latency Budget (Ms)', name: 'latencyBudgetMs', type: 'number', typeOptions: { minValue: 0 }, default: 30000, description: 'Per run: the statement timeout of the agent\'s queries' },
	{ displayName: 'Config', name: 'agentConfig', type: 'json', default: '{}', description: 'Extra budgets: max_run_cost_usd (per run), daily_latency_budget_ms (per UTC day), max_rows, reservation_ttl_seconds' },
]);

export const execute: Op = async function (guard, session, items) {
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
