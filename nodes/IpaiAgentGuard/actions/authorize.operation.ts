/** Authorize: may the agent use a tool on a schema within its budgets (a reservation when it may). */
import type { IDataObject, INodeProperties } from 'n8n-workflow';
import { authorize, type AgentOperation } from '../../../lib/agents';
import { nodeError } from '../../shared/lakehouse';
import { perItem } from '../../shared/items';
import { logAgentCall } from '../../shared/log';
import { optional, identity, type Op } from './common';
import { forOperations } from '../../shared/resources';

export const description: INodeProperties[] = forOperations(['authorize'], [
	{
		displayName: 'Tool',
		name: 'tool',
		type: 'string',
		default: '',
		description: 'The tool the agent wants to use (checked against its allowed tools; empty skips the check)',
	},
	{
		displayName: 'Schema',
		name: 'schema',
		type: 'string',
		default: '',
		placeholder: 'ipai_gold_erp',
		description: 'Schema (or schema.table) the call touches; empty skips the check',
	},
	{
		displayName: 'Operation Kind',
		name: 'agentOperation',
		type: 'options',
		options: [
			{ name: 'Read', value: 'read' },
			{ name: 'Schedule', value: 'schedule' },
			{ name: 'Transform', value: 'transform' },
			{ name: 'Write', value: 'write' },
		],
		default: 'read',
	},
	{
		displayName: 'Estimated Cost (USD)',
		name: 'estimatedCostUsd',
		type: 'number',
		typeOptions: { minValue: 0, numberPrecision: 6 },
		default: 0,
		description: 'Checked against the per-run and per-day cost budgets, and held (reserved) against the day until Log reports the call',
	},
	{
		displayName: 'Estimated Latency (Ms)',
		name: 'estimatedLatencyMs',
		type: 'number',
		typeOptions: { minValue: 0 },
		default: 0,
		description: 'Held against the daily latency budget until Log reports the call; 0 uses the agent\'s per-run latency budget',
	},
]);

export const execute: Op = async function (guard, session, items) {
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
