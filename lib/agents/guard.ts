/**
 * The agent guard: authorizes tool calls, runs agents' read-only queries, and records every call —
 * allowed or refused — in public.ipai_agent_run and public.ipai_audit_log.
 *
 * A query runs on a session of THE AGENT'S OWN LOGIN (plan D14; pooled per login, agentPools.ts), never as the guard's
 * login with SET ROLE: PostgreSQL checks SET ROLE / set_config('role', …) against the session user
 * and always allows `role = none`, so one SELECT could return to the guard's rights. The agent's
 * login holds only its scope, is a member of nothing, and its sessions default to read-only. The
 * text runs as ONE statement through the extended protocol (no multi-statements), wrapped as a
 * sub-query with a row cap, inside a READ ONLY transaction with statement_timeout = latency budget.
 * The keyword check below only gives clearer refusals; PostgreSQL is the boundary.
 *
 * Budgets: per run (cost: config.max_run_cost_usd; latency: latency_budget_ms, a query's statement
 * timeout) and per UTC day (cost_budget_usd; config.daily_latency_budget_ms). A call of an agent
 * with a daily budget first RESERVES its estimate under a lock on the agent's usage row for the day
 * (ipai_meta.agent_reserve), so concurrent calls cannot together overspend; recording the run
 * settles the reservation in the same transaction that adds the actual spend.
 */
import { createHash } from 'node:crypto';
import type { Pool, PoolClient } from 'pg';
import { storable, storableDeep, writeAudit } from '../lakehouse/audit';
import { redact, safeError, secretsOf, type ConnectionOptions } from '../lakehouse/connection';
import { agentSession, endAgentPools, releaseAgentSession } from './agentPools';
import { getAgent, MAX_ROWS_LIMIT, type Agent, type AgentOperation } from './registry';

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

/** The budgets the guard enforces: per run and per UTC day, in USD and in milliseconds. */
export type BudgetKind = 'run_cost' | 'run_latency' | 'daily_cost' | 'daily_latency';

/** What a budget said when it stopped a call: the limit, and what was spent, reserved and asked for. */
export interface BudgetFacts {
	kind: BudgetKind;
	limit: number;
	/** run budgets: the call's estimate or actual; daily budgets: spent today (UTC) before this call. */
	used: number;
	/** daily budgets: held by calls in progress. */
	reserved?: number;
	requested?: number;
	/** The UTC day of a daily budget (YYYY-MM-DD). */
	day?: string;
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

function numberOr(v: unknown): number | undefined {
	return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

/** The agent has a budget per UTC day (cost or latency): its calls reserve against it. */
export function hasDailyBudget(agent: Agent): boolean {
	return agent.costBudgetUsd !== null || numberOr(agent.config.daily_latency_budget_ms) !== undefined;
}

export type Reservation =
	| { reserved: true; id: string; latencyMs: number; day: string }
	| { reserved: false; code: RefusalCode; reason: string; budget: BudgetFacts };

const usd = (n: number) => `$${Number(n.toFixed(6))}`;

/**
 * Reserves a call's estimated cost and latency against the agent's daily budgets, or refuses with
 * the budget that is spent. One statement under the agent's usage-row lock (ipai_meta.agent_reserve),
 * so concurrent calls cannot together pass a budget that only some of them fit. `fitLatency`
 * shrinks the latency reservation to what is left of the day instead of refusing (queries, whose
 * statement timeout then becomes that remainder).
 */
export async function reserve(
	pool: Pool,
	agent: Agent,
	request: { costUsd: number; latencyMs: number; fitLatency: boolean; purpose: string; ttlSeconds?: number },
): Promise<Reservation> {
	const ttl = Math.max(60, Math.ceil(request.ttlSeconds ?? numberOr(agent.config.reservation_ttl_seconds) ?? 900));
	const { rows } = await pool.query<{
		reservation_id: string | null; reserved_latency_ms: string; budget: 'daily_cost' | 'daily_latency' | null;
		spent: string; reserved: string; requested: string; budget_limit: string | null; day: string;
	}>(
		`select reservation_id, reserved_latency_ms, budget, spent, reserved, requested, budget_limit, day::text as day
		   from ipai_meta.agent_reserve($1, $2, $3, $4, $5, $6)`,
		[agent.id, request.costUsd, Math.ceil(request.latencyMs), request.fitLatency, ttl, request.purpose],
	);
	const r = rows[0];
	if (r.reservation_id) return { reserved: true, id: r.reservation_id, latencyMs: Number(r.reserved_latency_ms), day: r.day };
	const facts: BudgetFacts = {
		kind: r.budget!, limit: Number(r.budget_limit), used: Number(r.spent), reserved: Number(r.reserved), requested: Number(r.requested), day: r.day,
	};
	const held = facts.reserved ? ` and ${facts.kind === 'daily_cost' ? usd(facts.reserved) : `${facts.reserved} ms`} is held by calls in progress` : '';
	const reason =
		facts.kind === 'daily_cost'
			? `Agent "${agent.codeName}" has spent ${usd(facts.used)} of its daily cost budget of ${usd(facts.limit)} today (UTC ${facts.day})${held}; ${facts.requested ? `${usd(facts.requested)} more does not fit` : 'nothing is left'}. Calls are refused until 00:00 UTC or until the budget is raised.`
			: `Agent "${agent.codeName}" has used ${facts.used} ms of its daily latency budget of ${facts.limit} ms today (UTC ${facts.day})${held}; ${facts.requested ? `${facts.requested} ms more does not fit` : 'nothing is left'}. Calls are refused until 00:00 UTC or until config.daily_latency_budget_ms is raised.`;
	return { reserved: false, code: facts.kind === 'daily_cost' ? 'daily_cost_budget' : 'daily_latency_budget', reason, budget: facts };
}

/** The metadata that marks a run as stopped or failed by budgets (read by the agent_budget SLI). */
function budgetMetadata(facts: BudgetFacts[]): Record<string, unknown> {
	if (!facts.length) return {};
	return {
		over_budget: facts.map((f) => f.kind),
		budget_limits: Object.fromEntries(facts.map((f) => [f.kind, f.limit])),
		budget_used: Object.fromEntries(facts.map((f) => [f.kind, f.used])),
		...(facts.some((f) => f.reserved !== undefined) ? { budget_reserved: Object.fromEntries(facts.filter((f) => f.reserved !== undefined).map((f) => [f.kind, f.reserved])) } : {}),
	};
}

export interface RunRecord {
	status: 'success' | 'failed' | 'refused' | 'running';
	startedAt: Date;
	endedAt?: Date;
	inputSummary?: Record<string, unknown>;
	outputSummary?: Record<string, unknown>;
	tokensUsed?: number | null;
	costUsd?: number | null;
	latencyMs?: number | null;
	errorMessage?: string | null;
	metadata?: Record<string, unknown>;
}

async function insertRun(client: PoolClient, agentId: string | null, ctx: CallContext, run: RunRecord, reservationId: string | null): Promise<string> {
	const { rows } = await client.query<{ id: string }>(
		`insert into public.ipai_agent_run (agent_id, user_id, session_id, started_at, ended_at, status, input_summary,
		                                    output_summary, tokens_used, cost_usd, latency_ms, error_message, metadata)
		 values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) returning id`,
		[
			agentId, ctx.userId ?? null, ctx.sessionId ?? null, run.startedAt, run.endedAt ?? new Date(), run.status,
			storableDeep(run.inputSummary ?? {}), storableDeep(run.outputSummary ?? {}), run.tokensUsed ?? null, run.costUsd ?? null,
			run.latencyMs ?? null, run.errorMessage == null ? null : storable(redact(run.errorMessage)).text,
			storableDeep({ ...(run.metadata ?? {}), ...(reservationId ? { reservation_id: reservationId } : {}) }),
		],
	);
	// The run's spend is added by the usage trigger in this transaction; its reservation goes now.
	if (reservationId) await client.query('select ipai_meta.agent_settle($1, $2)', [reservationId, rows[0].id]);
	await writeAudit(client, {
		eventType: 'agent_run',
		entityType: 'agent',
		entityId: agentId,
		userId: ctx.userId ?? null,
		action: `agent_${String(run.inputSummary?.tool ?? 'call')}_${run.status}`,
		details: storableDeep({ run_id: rows[0].id, session_id: ctx.sessionId ?? null, error: run.errorMessage ?? null, ...(run.metadata ?? {}) }),
	});
	return rows[0].id;
}

/**
 * Writes one finished run and its audit entry in one transaction, settling the run's reservation
 * (if any) in the same transaction; returns the run id.
 */
export async function recordRun(pool: Pool, agentId: string | null, ctx: CallContext, run: RunRecord, reservationId: string | null = null): Promise<string> {
	const client = await pool.connect();
	try {
		await client.query('begin');
		const id = await insertRun(client, agentId, ctx, run, reservationId);
		await client.query('commit');
		return id;
	} catch (error) {
		await client.query('rollback').catch(() => undefined);
		throw error;
	} finally {
		client.release();
	}
}

/** Inserts a `running` run (no end, no spend yet; the reservation stays held) and returns its id. */
async function openRun(pool: Pool, agentId: string, ctx: CallContext, run: RunRecord, reservationId: string | null): Promise<string> {
	const { rows } = await pool.query<{ id: string }>(
		`insert into public.ipai_agent_run (agent_id, user_id, session_id, started_at, ended_at, status, input_summary, metadata)
		 values ($1, $2, $3, $4, null, 'running', $5, $6) returning id`,
		[
			agentId, ctx.userId ?? null, ctx.sessionId ?? null, run.startedAt, storableDeep(run.inputSummary ?? {}),
			storableDeep({ ...(run.metadata ?? {}), ...(reservationId ? { reservation_id: reservationId } : {}) }),
		],
	);
	return rows[0].id;
}

/**
 * Ends a run opened by openRun: its outcome, the spend (added by the usage trigger when the status
 * leaves `running`), the reservation settled and the audit entry, in one transaction.
 */
async function closeRun(pool: Pool, runId: string, agentId: string, ctx: CallContext, run: RunRecord, reservationId: string | null): Promise<void> {
	const client = await pool.connect();
	try {
		await client.query('begin');
		await client.query(
			`update public.ipai_agent_run
			    set status = $2, ended_at = $3, output_summary = $4, tokens_used = $5, cost_usd = $6, latency_ms = $7,
			        error_message = $8, metadata = coalesce(metadata, '{}') || $9
			  where id = $1 and status = 'running'`,
			[
				runId, run.status, run.endedAt ?? new Date(), storableDeep(run.outputSummary ?? {}), run.tokensUsed ?? null, run.costUsd ?? null,
				run.latencyMs ?? null, run.errorMessage == null ? null : storable(redact(run.errorMessage)).text, storableDeep(run.metadata ?? {}),
			],
		);
		if (reservationId) await client.query('select ipai_meta.agent_settle($1, $2)', [reservationId, runId]);
		await writeAudit(client, {
			eventType: 'agent_run',
			entityType: 'agent',
			entityId: agentId,
			userId: ctx.userId ?? null,
			action: `agent_${String(run.inputSummary?.tool ?? 'call')}_${run.status}`,
			details: { run_id: runId, session_id: ctx.sessionId ?? null, error: run.errorMessage ?? null, ...(run.metadata ?? {}) },
		});
		await client.query('commit');
	} catch (error) {
		await client.query('rollback').catch(() => undefined);
		throw error;
	} finally {
		client.release();
	}
}

/**
 * The agent's login must carry only the role settings the guard gave it (read-only transactions,
 * its statement timeout, …): a client holding the agent's password can `ALTER ROLE self SET`.
 * Restores them when they differ and returns the refusal that says what was found.
 */
async function loginSettingsRefusal(guard: AgentGuard, agent: Agent): Promise<{ code: RefusalCode; reason: string } | null> {
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

/** What one query of the agent costs against its budgets (config.query_cost_usd, default 0). */
export function queryCostUsd(agent: Agent): number {
	return numberOr(agent.config.query_cost_usd) ?? 0;
}

/** A refused call, recorded as a `refused` run; budget refusals carry what the budget said. */
export async function recordRefusal(
	guard: AgentGuard,
	agent: Agent | undefined,
	codeName: string,
	ctx: CallContext,
	startedAt: Date,
	inputSummary: Record<string, unknown>,
	refusal: { code: RefusalCode; reason: string; budget?: BudgetFacts },
): Promise<string> {
	const now = new Date();
	return recordRun(guard.pool, agent?.id ?? null, ctx, {
		status: 'refused', startedAt, endedAt: now, inputSummary, latencyMs: now.getTime() - startedAt.getTime(), costUsd: 0,
		errorMessage: refusal.reason,
		metadata: { refusal: refusal.code, code_name: codeName, ...budgetMetadata(refusal.budget ? [refusal.budget] : []) },
	});
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

export interface LogRunInput {
	tool: string;
	status: 'success' | 'failed';
	inputSummary?: Record<string, unknown>;
	outputSummary?: Record<string, unknown>;
	tokensUsed?: number | null;
	costUsd?: number | null;
	latencyMs?: number | null;
	errorMessage?: string | null;
	startedAt?: Date;
	metadata?: Record<string, unknown>;
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

export interface QueryOptions extends CallContext {
	/** At most this many rows come back (default: the agent's config.max_rows, else 1000). */
	maxRows?: number;
	/** The tool the call came through (e.g. the MCP free-SQL tool): checked against the agent's allowed tools. */
	tool?: string;
}

export interface QueryResult {
	runId: string;
	rows: Record<string, unknown>[];
	rowCount: number;
	truncated: boolean;
	columns: string[];
	latencyMs: number;
}

export const DEFAULT_MAX_ROWS = 1000;
export const DEFAULT_LATENCY_BUDGET_MS = 30_000;
const QUERY_START = /^(select|with|values|table)\b/i;

/** The first keyword after comments, whitespace and opening parentheses. */
export function leadingKeyword(sql: string): string {
	let s = sql;
	for (;;) {
		const before = s;
		s = s.replace(/^[\s(]+/, '').replace(/^--[^\n]*(\n|$)/, '');
		if (s.startsWith('/*')) {
			const end = s.indexOf('*/');
			s = end < 0 ? '' : s.slice(end + 2);
		}
		if (s === before) break;
	}
	return (/^[A-Za-z_]+/.exec(s)?.[0] ?? '').toLowerCase();
}

/** Runs an agent's read-only query as the agent's own login; every call is recorded. */
export async function query(guard: AgentGuard, codeName: string, sql: string, options: QueryOptions = {}): Promise<QueryResult> {
	const ctx = { userId: options.userId, sessionId: options.sessionId };
	const startedAt = new Date();
	const text = typeof sql === 'string' ? sql : '';
	// The ledger must be able to hold the text it records: NUL and lone surrogates become U+FFFD
	// there (the hash is of the text as given), and the run notes how many were replaced.
	const shown = storable(text.length > 2000 ? `${text.slice(0, 2000)}…` : text);
	const unstorable = storable(text).replaced;
	const inputSummary: Record<string, unknown> = {
		tool: options.tool ?? 'query',
		sql: shown.text,
		sql_sha256: createHash('sha256').update(text).digest('hex'),
		...(unstorable ? { sql_unstorable_characters_replaced: unstorable } : {}),
	};
	const agent = await getAgent(guard.pool, codeName);
	const refuse = async (r: { code: RefusalCode; reason: string; budget?: BudgetFacts }): Promise<never> => {
		const runId = await recordRefusal(guard, agent, codeName, ctx, startedAt, inputSummary, r);
		throw new AgentRefusedError(r.code, r.reason, runId, r.budget);
	};
	const decision = decide(agent, codeName, { operation: 'read', tool: options.tool ?? null });
	if (!decision.allowed) return refuse(decision);
	const keyword = leadingKeyword(text);
	if (!QUERY_START.test(keyword)) {
		return refuse({
			code: 'not_a_query',
			reason: `Agent "${codeName}" may only run one read-only query (SELECT, WITH, VALUES or TABLE); got ${keyword ? `"${keyword.toUpperCase()}"` : 'no statement'}`,
		});
	}
	if (text.includes('\u0000')) {
		// PostgreSQL's protocol ends a query at NUL: what ran would not be what was asked.
		return refuse({ code: 'not_a_query', reason: `Agent "${codeName}"'s query text contains a NUL character (U+0000), which PostgreSQL cannot receive; remove it` });
	}
	return runAsAgent(guard, agent!, { text: `select * from (\n${text}\n) as agent_query`, values: [] }, inputSummary, ctx, options.maxRows, refuse, startedAt);
}

/**
 * Runs one compiled read-only statement as the agent's own login: login-settings check, daily
 * reservation, the run opened before it runs and closed with its outcome. `statement.text` is a
 * query whose rows are capped here by one more bind parameter; the caller has decided the call is
 * allowed (and records refusals through `refuse`).
 */
export async function runAsAgent(
	guard: AgentGuard,
	agent: Agent,
	statement: { text: string; values: unknown[] },
	inputSummary: Record<string, unknown>,
	ctx: CallContext,
	requestedRows: number | undefined,
	refuse: (r: { code: RefusalCode; reason: string; budget?: BudgetFacts }) => Promise<never>,
	startedAt: Date = new Date(),
): Promise<QueryResult> {
	const codeName = agent.codeName;
	const tampered = await loginSettingsRefusal(guard, agent!);
	if (tampered) return refuse(tampered);
	const { id: agentId, loginName } = agent!;
	const configured = numberOr(agent!.config.max_rows);
	const maxRows = Math.max(1, Math.min(MAX_ROWS_LIMIT, Math.floor(requestedRows ?? configured ?? DEFAULT_MAX_ROWS), configured ?? MAX_ROWS_LIMIT));
	const runBudgetMs = agent!.latencyBudgetMs ?? DEFAULT_LATENCY_BUDGET_MS;
	const callCost = queryCostUsd(agent);
	// A query reserves its worst case, its statement timeout, against the daily budgets; when less
	// than that is left of the day's latency budget, the timeout shrinks to what is left.
	let budgetMs = runBudgetMs;
	let reservationId: string | null = null;
	if (hasDailyBudget(agent!)) {
		const held = await reserve(guard.pool, agent!, { costUsd: callCost, latencyMs: runBudgetMs, fitLatency: true, purpose: 'query', ttlSeconds: Math.ceil(runBudgetMs / 1000) + 120 });
		if (!held.reserved) return refuse(held);
		reservationId = held.id;
		budgetMs = Math.max(1, Math.min(runBudgetMs, held.latencyMs));
	}
	const dayCapped = budgetMs < runBudgetMs;

	// The password comes from Supabase Vault or the fallback table, only through this function.
	// Whether the login may still log in is read with it: a pooled session outlives NOLOGIN.
	let cred: { login_name: string; password: string; can_login: boolean }[];
	let credentialError: Error | undefined;
	try {
		cred = (await guard.pool.query<{ login_name: string; password: string; can_login: boolean }>(
			`select c.login_name, c.password,
			        coalesce((select r.rolcanlogin and (r.rolvaliduntil is null or r.rolvaliduntil > now())
			                    from pg_catalog.pg_roles r where r.rolname = c.login_name), false) as can_login
			   from ipai_meta.agent_credential($1) c`,
			[agentId],
		)).rows;
		if (!cred[0] || cred[0].login_name !== loginName || !cred[0].password) credentialError = new Error(`Agent "${codeName}" has no database login; run Update to re-sync it`);
	} catch (error) {
		cred = [];
		credentialError = safeError(error, secretsOf(guard.connection));
	}
	if (credentialError) {
		// Still a call: recorded (and its reservation released) before the error goes back.
		await recordRun(guard.pool, agentId, ctx, {
			status: 'failed', startedAt, endedAt: new Date(), inputSummary, latencyMs: Date.now() - startedAt.getTime(), costUsd: 0,
			errorMessage: credentialError.message, metadata: { sqlstate: (credentialError as { code?: string }).code ?? null },
		}, reservationId);
		throw credentialError;
	}
	const secrets = [...secretsOf(guard.connection), cred[0].password];
	// Recorded before it runs, so a query that ran is never missing from the ledger: when the run
	// cannot be written, the query does not run.
	let runId: string;
	try {
		runId = await openRun(guard.pool, agentId, ctx, { status: 'running', startedAt, inputSummary, metadata: { max_rows: maxRows } }, reservationId);
	} catch (error) {
		if (reservationId) await guard.pool.query('select ipai_meta.agent_settle($1, null)', [reservationId]).catch(() => undefined);
		const safe = safeError(error, secrets);
		const refused = new AgentRefusedError(
			'not_recorded',
			`Agent "${codeName}"'s query was not run: its run could not be recorded in ipai_agent_run (${safe.message})`,
			null,
		) as AgentRefusedError & { code?: string };
		throw refused;
	}
	const sessionOptions: ConnectionOptions = {
		...guard.connection,
		connectionString: undefined,
		...connectionParts(guard.connection),
		user: poolerUser(guard.connection, cred[0].login_name),
		password: cred[0].password,
		applicationName: `ipai agent ${codeName}`,
	};
	if (!cred[0].can_login) endAgentPools(cred[0].login_name);
	// The client-side timeout is a backstop for a server that stops answering.
	const queryTimeout = budgetMs + 2_000;
	let rows: Record<string, unknown>[] = [];
	let columns: string[] = [];
	let failure: Error | undefined;
	let client: PoolClient | undefined;
	let reusable = false;
	try {
		client = await agentSession(cred[0].login_name, sessionOptions, agent.updatedAt);
		// No parallel workers: a call costs the agent one backend, and starting workers took longer
		// than scanning a model-sized relation.
		await client.query({
			text: `begin transaction isolation level repeatable read read only; set local statement_timeout = ${Math.floor(budgetMs)}; set local max_parallel_workers_per_gather = 0`,
			query_timeout: queryTimeout,
		} as never);
		// One statement through the extended protocol (queryMode), as a sub-query: anything that is
		// not a query fails to parse, and the cap applies to whatever the text returns.
		const result = await client.query({
			text: `${statement.text}\nlimit $${statement.values.length + 1}`,
			values: [...statement.values, maxRows + 1],
			queryMode: 'extended',
			query_timeout: queryTimeout,
		} as never);
		rows = (result as unknown as { rows: Record<string, unknown>[] }).rows;
		columns = (result as unknown as { fields: { name: string }[] }).fields.map((f) => f.name);
		// A rollback keeps session-level advisory locks: released too, before the session is reused.
		await client.query({ text: 'rollback; select pg_catalog.pg_advisory_unlock_all()', query_timeout: queryTimeout } as never);
		reusable = true;
	} catch (error) {
		failure = safeError(error, secrets);
	} finally {
		if (client) releaseAgentSession(client, reusable);
	}
	const endedAt = new Date();
	const latencyMs = endedAt.getTime() - startedAt.getTime();
	if (failure) {
		const code = (failure as { code?: string }).code;
		const timedOut = code === '57014' || /timeout/i.test(failure.message);
		const message = !timedOut
			? redact(failure.message, secrets)
			: dayCapped
				? `Over what was left of the daily latency budget: ${budgetMs} ms of ${numberOr(agent!.config.daily_latency_budget_ms)} ms (statement cancelled)`
				: `Over the latency budget of ${budgetMs} ms (statement cancelled)`;
		const over: BudgetFacts[] = !timedOut
			? []
			: dayCapped
				? [{ kind: 'daily_latency', limit: numberOr(agent!.config.daily_latency_budget_ms) ?? budgetMs, used: (numberOr(agent!.config.daily_latency_budget_ms) ?? budgetMs) - budgetMs + latencyMs }]
				: [{ kind: 'run_latency', limit: budgetMs, used: latencyMs }];
		await closeRun(guard.pool, runId, agentId, ctx, {
			status: 'failed', startedAt, endedAt, inputSummary, latencyMs, costUsd: callCost, errorMessage: message,
			metadata: { sqlstate: code ?? null, ...budgetMetadata(over) },
		}, reservationId);
		const error = new Error(`Agent "${codeName}" query failed: ${message}`) as Error & { code?: string; runId?: string };
		error.code = code;
		error.runId = runId;
		throw error;
	}
	const truncated = rows.length > maxRows;
	if (truncated) rows = rows.slice(0, maxRows);
	await closeRun(guard.pool, runId, agentId, ctx, {
		status: 'success', startedAt, endedAt, inputSummary, latencyMs, costUsd: callCost,
		outputSummary: { rows: rows.length, truncated, columns },
		metadata: { max_rows: maxRows },
	}, reservationId);
	return { runId, rows, rowCount: rows.length, truncated, columns, latencyMs };
}

/** Host, port and database of the guard's connection, whichever way it was given. */
function connectionParts(c: ConnectionOptions): Partial<ConnectionOptions> {
	const parts: Partial<ConnectionOptions> = { host: c.host, port: c.port, database: c.database };
	if (c.connectionString) {
		try {
			const url = new URL(c.connectionString);
			parts.host = c.host || decodeURIComponent(url.hostname) || undefined;
			parts.port = c.port || (url.port ? Number(url.port) : undefined);
			parts.database = c.database || decodeURIComponent(url.pathname.replace(/^\//, '')) || undefined;
			const sslmode = url.searchParams.get('sslmode');
			if (sslmode && !c.ssl) parts.ssl = sslmode as ConnectionOptions['ssl'];
		} catch {
			// toPoolConfig reports an invalid URL for the guard's own pool already
		}
	}
	return parts;
}

/**
 * Supabase's pooler (Supavisor) routes by user name `<role>.<project-ref>`: an agent login reached
 * through the same pooler as the guard needs the same suffix.
 */
export function poolerUser(c: ConnectionOptions, login: string): string {
	let user = c.user ?? '';
	if (!user && c.connectionString) {
		try {
			user = decodeURIComponent(new URL(c.connectionString).username);
		} catch {
			user = '';
		}
	}
	const suffix = /^[^.]+\.([A-Za-z0-9]+)$/.exec(user)?.[1];
	return suffix ? `${login}.${suffix}` : login;
}
