import type { IDataObject, IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';
import {
	AgentRefusedError,
	authorize,
	deactivateAgent,
	getAgent,
	listAgents,
	logRun,
	query,
	registerAgent,
	updateAgent,
	type AgentGuard,
	type AgentInput,
	type AgentOperation,
	type AgentType,
} from '../../../lib/agents';
import { nodeError, openLakehouse, type LakehouseSession } from '../../shared/lakehouse';
import { objectParameter, perItem } from '../../shared/items';
import { logAgentCall } from '../../shared/log';
import { describeModelOp, mcpServerOp, queryModelOp } from './modelTools';

type Op = (this: IExecuteFunctions, guard: AgentGuard, session: LakehouseSession, items: INodeExecutionData[]) => Promise<INodeExecutionData[]>;

const list = (value: string): string[] => value.split(',').map((s) => s.trim()).filter(Boolean);
const optional = (value: string): string | null => (value.trim() === '' ? null : value.trim());

function identity(fn: IExecuteFunctions, i: number) {
	const userId = optional(fn.getNodeParameter('userId', i, '') as string);
	if (userId && !/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(userId)) {
		throw new NodeOperationError(fn.getNode(), `User ID "${userId}" is not a UUID`, { itemIndex: i });
	}
	return { userId, sessionId: optional(fn.getNodeParameter('sessionId', i, '') as string) };
}

/** A refusal is an answer, not a crash: the agent (or workflow) gets the reason to act on. */
function refusal(error: unknown): IDataObject | undefined {
	if (error instanceof AgentRefusedError) {
		return { allowed: false, refused: true, code: error.code, reason: error.message, runId: error.runId, ...(error.budget ? { budget: error.budget as unknown as IDataObject } : {}) };
	}
	return undefined;
}

/**
 * A query that ran as the agent and was stopped for a privilege is outside the agent's scope,
 * not a missing grant of the n8n login (the hint nodeError gives for 42501).
 */
function agentQueryError(fn: IExecuteFunctions, error: unknown, i: number, session: LakehouseSession): NodeOperationError {
	const e = nodeError(fn.getNode(), error, i, session.secrets);
	const ranAsAgent = typeof (error as { runId?: unknown })?.runId === 'string';
	if (ranAsAgent && (error as { code?: string }).code === '42501') {
		e.description = 'Outside the agent\'s scope: its own database login holds no privilege there (ipai_agent.allowed_schemas decides what it may read).';
	}
	return e;
}

const queryOp: Op = async function (guard, session, items) {
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

const authorizeOp: Op = async function (guard, session, items) {
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

const logOp: Op = async function (guard, session, items) {
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

const registerOp: Op = async function (guard, session, items) {
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

const deactivateOp: Op = async function (guard, session, items) {
	return perItem(this, items, async (i) => {
		return (await deactivateAgent(guard.pool, this.getNodeParameter('agent', i) as string)) as unknown as IDataObject;
	}, (e, i) => nodeError(this.getNode(), e, i, session.secrets));
};

const listOp: Op = async function (guard, session, items) {
	return perItem(this, items.slice(0, 1), async (i) => {
		const agents = await listAgents(guard.pool, { includeInactive: this.getNodeParameter('includeInactive', i, false) as boolean });
		return agents as unknown as IDataObject[];
	}, (e, i) => nodeError(this.getNode(), e, i, session.secrets));
};

const OPERATIONS: Record<string, Op> = {
	query: queryOp,
	authorize: authorizeOp,
	log: logOp,
	register: registerOp,
	deactivate: deactivateOp,
	list: listOp,
	describeModel: describeModelOp,
	queryModel: queryModelOp,
	mcpServer: mcpServerOp,
};

/** The process's guard pool for the credential; agents' queries run on their own logins' pools (lib/agents/agentPools). */
export async function router(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
	const operation = this.getNodeParameter('operation', 0) as string;
	const run = OPERATIONS[operation];
	if (!run) throw new NodeOperationError(this.getNode(), `Unknown operation "${operation}"`);
	const session = await openLakehouse(this);
	try {
		const guard: AgentGuard = { pool: session.pool, connection: session.connection };
		return [await run.call(this, guard, session, this.getInputData())];
	} finally {
		await session.close();
	}
}
