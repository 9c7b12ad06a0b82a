/**
 * Model-bound agent tools: describe and query one semantic model, each call authorized, run as the
 * agent's own login and recorded in public.ipai_agent_run (refusals included) like every other
 * guarded call. The agent is named by whoever wires the tool (the MCP server's workflow, bound to
 * the bearer credential of that agent), never by the call's arguments.
 */
import { redactDeep } from '../lakehouse/secrets';
import { recordRefusal, recordRun } from './agentRuns';
import { runAsAgent, type QueryResult } from './agentQuery';
import { queryCostUsd, type BudgetFacts } from './budgets';
import { AgentRefusedError, decide, type AgentGuard, type CallContext, type RefusalCode } from './guard';
import { getAgent, type Agent } from './registry';
import {
	agentModels,
	compileModelQuery,
	describeModel,
	inScope,
	loadModels,
	ModelRequestError,
	modelToolStem,
	type ModelQueryRequest,
	type SemanticModel,
} from './semantic';

export interface ModelCallContext extends CallContext {
	/** Where the call came from, recorded with the run (e.g. 'mcp'). */
	channel?: string | null;
	/** The tool name the client called, recorded with the run. */
	toolName?: string | null;
}

export interface ModelQueryResult extends QueryResult {
	model: string;
	/** The limit the request asked for, before the agent's row cap. */
	limitRequested: number;
}

/** The companies an agent's login is limited to (config.company_ids), or null for no company limit. */
export function companyScope(agent: Agent): string[] | null {
	const ids = agent.config.company_ids;
	return Array.isArray(ids) ? ids.map(String) : null;
}

/** Arguments as the ledger keeps them: secrets masked, long values cut. */
function maskedArguments(args: unknown): unknown {
	const text = JSON.stringify(args ?? {}) ?? '{}';
	if (text.length > 4000) return { truncated: true, preview: redactDeep(text.slice(0, 4000)) };
	return redactDeep(args ?? {});
}

async function resolveModel(guard: AgentGuard, agent: Agent | undefined, codeName: string, modelName: string):
	Promise<{ model?: SemanticModel; refusal?: { code: RefusalCode; reason: string } }> {
	const decision = decide(agent, codeName, { operation: 'read' });
	if (!decision.allowed) return { refusal: decision };
	const matches = (m: SemanticModel) => m.datasetName === modelName || modelToolStem(m.datasetName) === modelName;
	// Read at every call, so a changed or deactivated model binds the next call; only the named
	// model's catalog is read, and every model only to refuse (or where lower-casing differs).
	let model = (await loadModels(guard.pool, modelName)).find(matches);
	if (!model || !inScope(agent!, model.schema, model.object)) {
		const all = await loadModels(guard.pool);
		model = all.find(matches);
		if (model && inScope(agent!, model.schema, model.object)) return { model };
		const allowed = all.filter((m) => inScope(agent!, m.schema, m.object)).map((m) => m.datasetName);
		return {
			refusal: {
				code: 'model_not_allowed',
				reason: `Agent "${codeName}" may not use model "${modelName}"${model ? '' : ' (no such active model)'}; its models: ${allowed.join(', ') || 'none'}`,
			},
		};
	}
	return { model };
}

/** Describes one of the agent's models: meaning, grain, columns with types, company scope. */
export async function describeModelTool(guard: AgentGuard, codeName: string, modelName: string, ctx: ModelCallContext = {}): Promise<Record<string, unknown>> {
	const startedAt = new Date();
	const inputSummary = { tool: ctx.toolName ?? `describe_${modelToolStem(modelName)}`, kind: 'describe_model', model: modelName, channel: ctx.channel ?? null };
	const agent = await getAgent(guard.pool, codeName);
	const { model, refusal } = await resolveModel(guard, agent, codeName, modelName);
	if (refusal) {
		const runId = await recordRefusal(guard, agent, codeName, ctx, startedAt, inputSummary, refusal);
		throw new AgentRefusedError(refusal.code, refusal.reason, runId);
	}
	const description = describeModel(model!, { companyIds: companyScope(agent!) });
	const endedAt = new Date();
	const runId = await recordRun(guard.pool, agent!.id, ctx, {
		status: 'success', startedAt, endedAt, inputSummary, latencyMs: endedAt.getTime() - startedAt.getTime(), costUsd: 0,
		outputSummary: { columns: model!.columns.length },
	});
	return { ...description, runId };
}

/**
 * Queries one of the agent's models: the request is compiled to a parameterised SELECT on the
 * model's relation and runs as the agent's login, inside its row cap, latency and daily budgets.
 */
export async function queryModelTool(
	guard: AgentGuard,
	codeName: string,
	modelName: string,
	request: ModelQueryRequest,
	ctx: ModelCallContext = {},
): Promise<ModelQueryResult> {
	const startedAt = new Date();
	const inputSummary: Record<string, unknown> = {
		tool: ctx.toolName ?? `query_${modelToolStem(modelName)}`, kind: 'query_model', model: modelName, channel: ctx.channel ?? null,
		arguments: maskedArguments(request),
	};
	const agent = await getAgent(guard.pool, codeName);
	const refuse = async (r: { code: RefusalCode; reason: string; budget?: BudgetFacts }): Promise<never> => {
		const runId = await recordRefusal(guard, agent, codeName, ctx, startedAt, inputSummary, r);
		throw new AgentRefusedError(r.code, r.reason, runId, r.budget);
	};
	const { model, refusal } = await resolveModel(guard, agent, codeName, modelName);
	if (refusal) return refuse(refusal);
	const runCost = decide(agent, codeName, { operation: 'read', estimatedCostUsd: queryCostUsd(agent!) });
	if (!runCost.allowed) return refuse(runCost);
	let compiled;
	try {
		compiled = compileModelQuery(model!, request);
	} catch (error) {
		if (error instanceof ModelRequestError) return refuse({ code: 'invalid_arguments', reason: `${model!.datasetName}: ${error.message}` });
		throw error;
	}
	inputSummary.sql = compiled.text;
	const result = await runAsAgent(guard, agent!, { text: compiled.text, values: compiled.values }, inputSummary, ctx, compiled.limit, refuse, startedAt);
	return { ...result, model: model!.datasetName, limitRequested: compiled.limit };
}

/** The tools an agent's MCP server offers: two per model it may read, plus free SQL if allowed. */
export interface AgentToolPlan {
	agent: Agent;
	models: SemanticModel[];
	freeSql: boolean;
}

/** The allowed_tools entry that opens the guarded free-SQL tool. */
export const FREE_SQL_TOOL = 'lakehouse_query';

export async function agentToolPlan(guard: AgentGuard, codeName: string): Promise<AgentToolPlan> {
	const agent = await getAgent(guard.pool, codeName);
	if (!agent) throw new AgentRefusedError('unknown_agent', `Agent "${codeName}" is not registered`, null);
	return { agent, models: await agentModels(guard.pool, agent), freeSql: agent.allowedTools.includes(FREE_SQL_TOOL) };
}
