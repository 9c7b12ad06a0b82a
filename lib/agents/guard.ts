/**
 * The agent guard: decides and authorizes tool calls and records every call — allowed or refused —
 * in public.ipai_agent_run and public.ipai_audit_log. Budgets are in budgets.ts, the run ledger in
 * agentRuns.ts, agents' own read-only queries in agentQuery.ts.
 */
import type { Pool } from 'pg';
import { writeAudit } from '../lakehouse/audit';
import type { ConnectionOptions } from '../lakehouse/connection';
import { endAgentPools } from './agentPools';
import { insertRun, recordRefusal, type RunRecord } from './agentRuns';
import { budgetMetadata, hasDailyBudget, numberOr, reserve, type BudgetFacts, type BudgetKind } from './budgets';
import { getAgent, type Agent, type AgentOperation } from './registry';

export interface AgentGuard {
	/** The guard's own pool (the n8n lakehouse login: registry, ledger, credentials). */
	pool: Pool;
	/** How the guard reached the database: agents connect to the same server and database. */
	connection: ConnectionOptions;
}

export interface CallContext {
	userId?: string | null;
	sessionId?: string | null;
}

export type RefusalCode =
	| 'unknown_agent'
	| 'inactive'
	| 'tool_not_allowed'
	| 'operation_not_allowed'
	| 'schema_not_allowed'
	| 'not_a_query'
	| 'login_settings_changed'
	| 'not_recorded'
	| 'run_cost_budget'
	| 'daily_cost_budget'
	| 'daily_latency_budget'
	| 'model_not_allowed'
	| 'invalid_arguments';

export class AgentRefusedError extends Error {
	constructor(readonly code: RefusalCode, reason: string, readonly runId: string | null, readonly budget?: BudgetFacts) {
		super(reason);
		this.name = 'AgentRefusedError';
	}
}

export interface AuthorizeRequest {
	tool?: string | null;
	schema?: string | null;
	operation: AgentOperation;
	/** What the call is expected to cost, checked against the per-run and per-day budgets and reserved. */
	estimatedCostUsd?: number;
	/** How long the call may take, reserved against a daily latency budget (default: the per-run latency budget). */
	estimatedLatencyMs?: number;
}

export type Decision =
	| { allowed: true }
	| { allowed: false; code: RefusalCode; reason: string; budget?: BudgetFacts };

/**
 * The decision for one call that needs no lock: registration, activity, tool, operation, schema and
 * the per-run cost budget, with the reason a person (or the calling model) can act on. The daily
 * budgets are decided by reserve(), atomically.
 */
export function decide(agent: Agent | undefined, codeName: string, req: AuthorizeRequest): Decision {
	if (!agent) return { allowed: false, code: 'unknown_agent', reason: `Agent "${codeName}" is not registered` };
	if (!agent.isActive) return { allowed: false, code: 'inactive', reason: `Agent "${codeName}" is deactivated` };
	if (req.tool && !agent.allowedTools.includes(req.tool)) {
		return { allowed: false, code: 'tool_not_allowed', reason: `Agent "${codeName}" may not use tool "${req.tool}" (allowed: ${agent.allowedTools.join(', ') || 'none'})` };
	}
	if (!agent.allowedOperations.includes(req.operation)) {
		return {
			allowed: false,
			code: 'operation_not_allowed',
			reason: `Agent "${codeName}" may not perform "${req.operation}" (allowed: ${agent.allowedOperations.join(', ') || 'none'})`,
		};
	}
	if (req.schema) {
		const parts = req.schema.split('.');
		if (parts.length > 2 || !parts.every((p) => /^[A-Za-z0-9_]+$/.test(p))) {
			return {
				allowed: false,
				code: 'schema_not_allowed',
				reason: `"${req.schema}" is not a schema or schema.relation name: Authorize takes one schema (ipai_gold_erp) or one relation (ipai_gold_erp.profit_and_loss), unquoted; three-part names are refused`,
			};
		}
		const [schema, relation] = parts;
		const ok = agent.allowedSchemas.some((e) => e === schema || (relation !== undefined && e === `${schema}.${relation}`));
		if (!ok) {
			return {
				allowed: false,
				code: 'schema_not_allowed',
				reason: `Agent "${codeName}" may not access "${req.schema}" (allowed: ${agent.allowedSchemas.join(', ') || 'none'})`,
			};
		}
	}
	const estimate = req.estimatedCostUsd ?? 0;
	const maxRun = numberOr(agent.config.max_run_cost_usd);
	if (maxRun !== undefined && estimate > maxRun) {
		return {
			allowed: false,
			code: 'run_cost_budget',
			reason: `Estimated cost $${estimate} exceeds agent "${codeName}"'s per-run budget of $${maxRun} (config.max_run_cost_usd)`,
			budget: { kind: 'run_cost', limit: maxRun, used: estimate },
		};
	}
	return { allowed: true };
}

/**
 * The agent's login must carry only the role settings the guard gave it (read-only transactions,
 * its statement timeout, …): a client holding the agent's password can `ALTER ROLE self SET`.
 * Restores them when they differ and returns the refusal that says what was found.
 */
export async function loginSettingsRefusal(guard: AgentGuard, agent: Agent): Promise<{ code: RefusalCode; reason: string } | null> {
	if (!agent.loginName) return null;
	const { rows } = await guard.pool.query<{ found: string[] | null }>('select ipai_meta.agent_settings_restore($1) as found', [agent.id]);
	const found = rows[0]?.found ?? [];
	if (found.length === 0) return null;
	// Sessions opened while the settings were changed carry them: none is used again.
	endAgentPools(agent.loginName);
	return {
		code: 'login_settings_changed',
		reason:
			`Agent "${agent.codeName}"'s database login ${agent.loginName} had role settings the guard did not set (${found.join(', ')}); ` +
			'they were reset and this call is refused. Whoever holds the agent\'s password changed them: rotate it (Update the agent) and check who uses that login.',
	};
}

export interface AuthorizeResult {
	allowed: boolean;
	code?: RefusalCode;
	reason?: string;
	runId: string | null;
	/** Which budget refused, with its limit and what was spent, reserved and asked for. */
	budget?: BudgetFacts;
	/**
	 * The reservation holding the estimate against the daily budgets (agents with a daily budget).
	 * Pass it to Log when the call is done: the actual spend replaces it. Unlogged, it expires
	 * (config.reservation_ttl_seconds, default 15 minutes).
	 */
	reservationId?: string | null;
}

/**
 * Authorizes an external tool call before it is made. A refusal is recorded as a `refused` run; an
 * allowance is audited and, for an agent with a daily budget, reserves the call's estimated cost
 * and latency (the call itself is recorded afterwards with logRun, which settles the reservation).
 */
export async function authorize(guard: AgentGuard, codeName: string, req: AuthorizeRequest, ctx: CallContext = {}): Promise<AuthorizeResult> {
	const startedAt = new Date();
	for (const [k, v] of [['estimated cost', req.estimatedCostUsd], ['estimated latency', req.estimatedLatencyMs]] as const) {
		if (v != null && !(typeof v === 'number' && v >= 0 && Number.isFinite(v))) throw new Error(`The ${k} must be a number ≥ 0`);
	}
	const agent = await getAgent(guard.pool, codeName);
	const decision = decide(agent, codeName, req);
	const input = {
		tool: req.tool ?? 'authorize', schema: req.schema ?? null, operation: req.operation,
		estimated_cost_usd: req.estimatedCostUsd ?? null, estimated_latency_ms: req.estimatedLatencyMs ?? null,
	};
	const refused = async (r: { code: RefusalCode; reason: string; budget?: BudgetFacts }): Promise<AuthorizeResult> => {
		const runId = await recordRefusal(guard, agent, codeName, ctx, startedAt, input, r);
		return { allowed: false, code: r.code, reason: r.reason, runId, ...(r.budget ? { budget: r.budget } : {}) };
	};
	if (!decision.allowed) return refused(decision);
	const tampered = await loginSettingsRefusal(guard, agent!);
	if (tampered) return refused(tampered);
	let reservationId: string | null = null;
	if (hasDailyBudget(agent!)) {
		const held = await reserve(guard.pool, agent!, {
			costUsd: req.estimatedCostUsd ?? 0,
			latencyMs: req.estimatedLatencyMs ?? agent!.latencyBudgetMs ?? 0,
			fitLatency: false,
			purpose: req.tool ?? 'authorize',
		});
		if (!held.reserved) return refused(held);
		reservationId = held.id;
	}
	const client = await guard.pool.connect();
	try {
		await writeAudit(client, {
			eventType: 'agent_run', entityType: 'agent', entityId: agent!.id, userId: ctx.userId ?? null,
			action: 'agent_authorize_allowed', details: { ...input, session_id: ctx.sessionId ?? null, reservation_id: reservationId },
		});
	} finally {
		client.release();
	}
	return { allowed: true, runId: null, reservationId };
}

/** An external call as the caller reports it: the run's own fields, its tool and outcome. */
export interface LogRunInput extends Pick<RunRecord, 'inputSummary' | 'outputSummary' | 'tokensUsed' | 'costUsd' | 'latencyMs' | 'errorMessage' | 'metadata'> {
	tool: string;
	status: 'success' | 'failed';
	startedAt?: Date;
	/** The reservation Authorize returned for this call: settled (released) when the run is recorded. */
	reservationId?: string | null;
}

export interface LogRunResult {
	runId: string;
	status: 'success' | 'failed';
	/** Budgets this run broke (it is then recorded as failed, so the agent SLOs see it). */
	overBudget: BudgetKind[];
	/** What each broken budget said. */
	budgets: BudgetFacts[];
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Records an external tool call the agent made. A run over a budget (per-run latency or cost; the
 * day's cost or latency, decided under the agent's usage-row lock in the transaction that records
 * the run) is recorded as `failed` with the budget named, so the agent SLOs (failures, budget) count
 * it; its spend still counts toward the day, and later calls are refused once the day is spent.
 * The call's reservation, if given, is settled in the same transaction; a failed call releases it.
 */
export async function logRun(guard: AgentGuard, codeName: string, input: LogRunInput, ctx: CallContext = {}): Promise<LogRunResult> {
	const agent = await getAgent(guard.pool, codeName);
	if (!agent) throw new AgentRefusedError('unknown_agent', `Agent "${codeName}" is not registered`, null);
	for (const [k, v] of [['tokens', input.tokensUsed], ['cost', input.costUsd], ['latency', input.latencyMs]] as const) {
		if (v != null && !(typeof v === 'number' && v >= 0 && Number.isFinite(v))) throw new Error(`The run's ${k} must be a number ≥ 0`);
	}
	const reservationId = input.reservationId?.trim() || null;
	if (reservationId && !UUID.test(reservationId)) throw new Error(`Reservation ID "${reservationId}" is not a UUID (use the reservationId Authorize returned)`);
	const endedAt = new Date();
	const startedAt = input.startedAt ?? new Date(endedAt.getTime() - (input.latencyMs ?? 0));
	const client = await guard.pool.connect();
	try {
		await client.query('begin');
		if (reservationId) {
			const { rows } = await client.query<{ agent_id: string }>('select agent_id from public.ipai_agent_reservation where id = $1', [reservationId]);
			if (!rows[0] || rows[0].agent_id !== agent.id) throw new Error(`Reservation ${reservationId} is not one of agent "${codeName}"'s`);
		}
		const budgets: BudgetFacts[] = [];
		if (agent.latencyBudgetMs !== null && input.latencyMs != null && input.latencyMs > agent.latencyBudgetMs) {
			budgets.push({ kind: 'run_latency', limit: agent.latencyBudgetMs, used: input.latencyMs });
		}
		const maxRun = numberOr(agent.config.max_run_cost_usd);
		if (maxRun !== undefined && input.costUsd != null && input.costUsd > maxRun) budgets.push({ kind: 'run_cost', limit: maxRun, used: input.costUsd });
		const dailyLatency = numberOr(agent.config.daily_latency_budget_ms);
		if (agent.costBudgetUsd !== null || dailyLatency !== undefined) {
			const day = startedAt.toISOString().slice(0, 10);
			const { rows } = await client.query<{ cost_usd: string; latency_ms: string }>('select cost_usd, latency_ms from ipai_meta.agent_usage_lock($1, $2)', [agent.id, day]);
			const spentCost = Number(rows[0].cost_usd);
			const spentLatency = Number(rows[0].latency_ms);
			if (agent.costBudgetUsd !== null && input.costUsd && spentCost + input.costUsd > agent.costBudgetUsd) {
				budgets.push({ kind: 'daily_cost', limit: agent.costBudgetUsd, used: spentCost + input.costUsd, day });
			}
			if (dailyLatency !== undefined && input.latencyMs && spentLatency + input.latencyMs > dailyLatency) {
				budgets.push({ kind: 'daily_latency', limit: dailyLatency, used: spentLatency + input.latencyMs, day });
			}
		}
		const overBudget = budgets.map((b) => b.kind);
		const status = overBudget.length ? 'failed' : input.status;
		const runId = await insertRun(client, agent.id, ctx, {
			status,
			startedAt,
			endedAt,
			inputSummary: { tool: input.tool, ...(input.inputSummary ?? {}) },
			outputSummary: input.outputSummary,
			tokensUsed: input.tokensUsed,
			costUsd: input.costUsd,
			latencyMs: input.latencyMs,
			errorMessage: overBudget.length
				? `Over budget (${overBudget.join(', ')})${input.errorMessage ? `: ${input.errorMessage}` : ''}`
				: input.errorMessage,
			metadata: { ...(input.metadata ?? {}), ...budgetMetadata(budgets) },
		}, reservationId);
		await client.query('commit');
		return { runId, status, overBudget, budgets };
	} catch (error) {
		await client.query('rollback').catch(() => undefined);
		throw error;
	} finally {
		client.release();
	}
}
