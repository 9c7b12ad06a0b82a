/** What the Agent Guard operations share: fields several of them show (shown per operation by ../description.ts), the operation type, parameter readers, and how refusals and errors read. */
import type { IDataObject, IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';
import { AgentRefusedError, type AgentGuard } from '../../../lib/agents';
import { nodeError, type LakehouseSession } from '../../shared/lakehouse';
import { perItem } from '../../shared/items';

export const agentField: INodeProperties = {
	displayName: 'Agent Code Name',
	name: 'agent',
	type: 'string',
	default: '',
	required: true,
	placeholder: 'finance_analyst',
	description: 'The registered agent (ipai_agent.code_name) acting; its database login runs the query',
};

export const userIdField: INodeProperties = {
	displayName: 'User ID',
	name: 'userId',
	type: 'string',
	default: '',
	placeholder: '00000000-0000-0000-0000-000000000000',
	description: 'The invoking user (a UUID), recorded with the run',
};

export const sessionIdField: INodeProperties = {
	displayName: 'Session ID',
	name: 'sessionId',
	type: 'string',
	default: '',
	description: 'The chat or agent session (for MCP the session header), recorded with the run',
};

export const modelField: INodeProperties = {
	displayName: 'Model',
	name: 'model',
	type: 'string',
	default: '',
	required: true,
	placeholder: 'finance.profit_and_loss',
	description: 'The semantic model (ipai_semantic_model.dataset_name); it must be inside the agent\'s allowed schemas',
};

export const channelField: INodeProperties = { displayName: 'Channel', name: 'channel', type: 'string', default: 'n8n', description: 'Where the call came from (mcp, n8n, …), recorded with the run' };

export type Op = (this: IExecuteFunctions, guard: AgentGuard, session: LakehouseSession, items: INodeExecutionData[]) => Promise<INodeExecutionData[]>;

export const list = (value: string): string[] => value.split(',').map((s) => s.trim()).filter(Boolean);
export const optional = (value: unknown): string | null => (typeof value === 'string' && value.trim() !== '' ? value.trim() : null);

export function identity(fn: IExecuteFunctions, i: number) {
	const userId = optional(fn.getNodeParameter('userId', i, '') as string);
	if (userId && !/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(userId)) {
		throw new NodeOperationError(fn.getNode(), `User ID "${userId}" is not a UUID`, { itemIndex: i });
	}
	return { userId, sessionId: optional(fn.getNodeParameter('sessionId', i, '') as string) };
}

/** A refusal is an answer, not a crash: the agent (or workflow) gets the reason to act on. */
export function refusal(error: unknown): IDataObject | undefined {
	if (error instanceof AgentRefusedError) {
		return { allowed: false, refused: true, code: error.code, reason: error.message, runId: error.runId, ...(error.budget ? { budget: error.budget as unknown as IDataObject } : {}) };
	}
	return undefined;
}

/**
 * A query that ran as the agent and was stopped for a privilege is outside the agent's scope,
 * not a missing grant of the n8n login (the hint nodeError gives for 42501).
 */
export function agentQueryError(fn: IExecuteFunctions, error: unknown, i: number, session: LakehouseSession): NodeOperationError {
	const e = nodeError(fn.getNode(), error, i, session.secrets);
	const ranAsAgent = typeof (error as { runId?: unknown })?.runId === 'string';
	if (ranAsAgent && (error as { code?: string }).code === '42501') {
		e.description = 'Outside the agent\'s scope: its own database login holds no privilege there (ipai_agent.allowed_schemas decides what it may read).';
	}
	return e;
}

export function callContext(fn: IExecuteFunctions, i: number) {
	return {
		sessionId: optional(fn.getNodeParameter('sessionId', i, '')),
		channel: optional(fn.getNodeParameter('channel', i, '')) ?? 'n8n',
		toolName: fn.getNode().name,
	};
}

/** Runs a model tool per item: a refusal is the tool's answer (the calling model reads the reason), anything else an error of the item. */
export async function eachToolCall(fn: IExecuteFunctions, session: LakehouseSession, items: INodeExecutionData[], call: (i: number) => Promise<IDataObject>): Promise<INodeExecutionData[]> {
	return perItem(
		fn,
		items,
		async (i) => {
			try {
				return await call(i);
			} catch (error) {
				const refused = refusal(error);
				if (!refused) throw error;
				return refused;
			}
		},
		(error, i) => nodeError(fn.getNode(), error, i, session.secrets),
	);
}
