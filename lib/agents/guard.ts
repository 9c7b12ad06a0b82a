/**
 * The agent guard: authorizes tool calls, runs agents' read-only queries, and records every call —
 * allowed or refused — in public.ipai_agent_run and public.ipai_audit_log.
 *
 * A query runs on a fresh connection AS THE AGENT'S OWN LOGIN (plan D14), never as the guard's
 * login with SET ROLE: PostgreSQL checks SET ROLE / set_config('role', …) against the session user
 * and always allows `role = none`, so one SELECT could return to the guard's rights. The agent's
 * login holds only its scope, is a member of nothing, and its sessions default to read-only. The
 * text runs as ONE statement through the extended protocol (no multi-statements), wrapped as a
 * sub-query with a row cap, inside a READ ONLY transaction with statement_timeout = latency budget.
 * The keyword check below only gives clearer refusals; PostgreSQL is the boundary.
 */
import { createHash } from 'node:crypto';
import { Client, type Pool } from 'pg';
import { writeAudit } from '../lakehouse/audit';
import { redact, safeError, secretsOf, toPoolConfig, type ConnectionOptions } from '../lakehouse/connection';
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
	| 'run_cost_budget'
	| 'daily_cost_budget'
	| 'daily_latency_budget';

export type Decision = { allowed: true } | { allowed: false; code: RefusalCode; reason: string };

export class AgentRefusedError extends Error {
	constructor(readonly code: RefusalCode, reason: string, readonly runId: string | null) {
		super(reason);
		this.name = 'AgentRefusedError';
	}
}

export interface AuthorizeRequest {
	tool?: string | null;
	schema?: string | null;
	operation: AgentOperation;
	/** What the call is expected to cost, checked against the per-run and per-day budgets. */
	estimatedCostUsd?: number;
}

export interface DayUsage {
	calls: number;
	costUsd: number;
	latencyMs: number;
}

export async function usageToday(pool: Pool, agentId: string): Promise<DayUsage> {
	const { rows } = await pool.query(
		`select calls, cost_usd, latency_ms from public.ipai_agent_usage_day
		  where agent_id = $1 and day = (now() at time zone 'UTC')::date`,
		[agentId],
	);
	return rows[0]
		? { calls: Number(rows[0].calls), costUsd: Number(rows[0].cost_usd), latencyMs: Number(rows[0].latency_ms) }
		: { calls: 0, costUsd: 0, latencyMs: 0 };
}

/** The decision for one call, with the reason a person (or the calling model) can act on. */
export async function decide(pool: Pool, agent: Agent | undefined, codeName: string, req: AuthorizeRequest): Promise<Decision> {
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
		const [schema, relation] = req.schema.split('.');
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
		return { allowed: false, code: 'run_cost_budget', reason: `Estimated cost $${estimate} exceeds agent "${codeName}"'s per-run budget of $${maxRun}` };
	}
	const usage = await usageToday(pool, agent.id);
	if (agent.costBudgetUsd !== null && (usage.costUsd + estimate > agent.costBudgetUsd || usage.costUsd >= agent.costBudgetUsd)) {
		return {
			allowed: false,
			code: 'daily_cost_budget',
			reason: `Agent "${codeName}" has spent $${usage.costUsd.toFixed(6)} today (UTC); with $${estimate} more it would exceed its daily budget of $${agent.costBudgetUsd}`,
		};
	}
	const dailyLatency = numberOr(agent.config.daily_latency_budget_ms);
	if (dailyLatency !== undefined && usage.latencyMs >= dailyLatency) {
		return {
			allowed: false,
			code: 'daily_latency_budget',
			reason: `Agent "${codeName}" has used ${usage.latencyMs} ms of its daily latency budget of ${dailyLatency} ms (UTC day)`,
		};
	}
	return { allowed: true };
}

function numberOr(v: unknown): number | undefined {
	return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

export interface RunRecord {
	status: 'success' | 'failed' | 'refused';
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

/** Writes one finished run and its audit entry in one transaction; returns the run id. */
export async function recordRun(pool: Pool, agentId: string | null, ctx: CallContext, run: RunRecord): Promise<string> {
	const client = await pool.connect();
	try {
		await client.query('begin');
		const { rows } = await client.query<{ id: string }>(
			`insert into public.ipai_agent_run (agent_id, user_id, session_id, started_at, ended_at, status, input_summary,
			                                    output_summary, tokens_used, cost_usd, latency_ms, error_message, metadata)
			 values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) returning id`,
			[
				agentId, ctx.userId ?? null, ctx.sessionId ?? null, run.startedAt, run.endedAt ?? new Date(), run.status,
				run.inputSummary ?? {}, run.outputSummary ?? {}, run.tokensUsed ?? null, run.costUsd ?? null,
				run.latencyMs ?? null, run.errorMessage ?? null, run.metadata ?? {},
			],
		);
		await writeAudit(client, {
			eventType: 'agent_run',
			entityType: 'agent',
			entityId: agentId,
			userId: ctx.userId ?? null,
			action: `agent_${String(run.inputSummary?.tool ?? 'call')}_${run.status}`,
			details: { run_id: rows[0].id, session_id: ctx.sessionId ?? null, error: run.errorMessage ?? null, ...(run.metadata ?? {}) },
		});
		await client.query('commit');
		return rows[0].id;
	} catch (error) {
		await client.query('rollback').catch(() => undefined);
		throw error;
	} finally {
		client.release();
	}
}

export interface AuthorizeResult {
	allowed: boolean;
	code?: RefusalCode;
	reason?: string;
	runId: string | null;
}

/**
 * Authorizes an external tool call before it is made. A refusal is recorded as a `refused` run;
 * an allowance is audited (the call itself is recorded afterwards with logRun).
 */
export async function authorize(guard: AgentGuard, codeName: string, req: AuthorizeRequest, ctx: CallContext = {}): Promise<AuthorizeResult> {
	const agent = await getAgent(guard.pool, codeName);
	const decision = await decide(guard.pool, agent, codeName, req);
	const input = { tool: req.tool ?? 'authorize', schema: req.schema ?? null, operation: req.operation, estimated_cost_usd: req.estimatedCostUsd ?? null };
	if (!decision.allowed) {
		const now = new Date();
		const runId = await recordRun(guard.pool, agent?.id ?? null, ctx, {
			status: 'refused', startedAt: now, endedAt: now, inputSummary: input, latencyMs: 0, costUsd: 0,
			errorMessage: decision.reason, metadata: { refusal: decision.code, code_name: codeName },
		});
		return { allowed: false, code: decision.code, reason: decision.reason, runId };
	}
	const client = await guard.pool.connect();
	try {
		await writeAudit(client, {
			eventType: 'agent_run', entityType: 'agent', entityId: agent!.id, userId: ctx.userId ?? null,
			action: 'agent_authorize_allowed', details: { ...input, session_id: ctx.sessionId ?? null },
		});
	} finally {
		client.release();
	}
	return { allowed: true, runId: null };
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
}

export interface LogRunResult {
	runId: string;
	status: 'success' | 'failed';
	/** Budgets this run broke (it is then recorded as failed, so the agent SLOs see it). */
	overBudget: string[];
}

/**
 * Records an external tool call the agent made. A run over its per-run budgets (latency, cost) is
 * recorded as `failed` with the budget named, so the SLO monitor's agent failure and latency SLOs
 * count it; its cost still counts toward the day, and later calls are refused once the day is spent.
 */
export async function logRun(guard: AgentGuard, codeName: string, input: LogRunInput, ctx: CallContext = {}): Promise<LogRunResult> {
	const agent = await getAgent(guard.pool, codeName);
	if (!agent) throw new AgentRefusedError('unknown_agent', `Agent "${codeName}" is not registered`, null);
	for (const [k, v] of [['tokens', input.tokensUsed], ['cost', input.costUsd], ['latency', input.latencyMs]] as const) {
		if (v != null && !(typeof v === 'number' && v >= 0 && Number.isFinite(v))) throw new Error(`The run's ${k} must be a number ≥ 0`);
	}
	const overBudget: string[] = [];
	if (agent.latencyBudgetMs !== null && input.latencyMs != null && input.latencyMs > agent.latencyBudgetMs) overBudget.push('latency');
	const maxRun = numberOr(agent.config.max_run_cost_usd);
	if (maxRun !== undefined && input.costUsd != null && input.costUsd > maxRun) overBudget.push('run_cost');
	const usage = await usageToday(guard.pool, agent.id);
	if (agent.costBudgetUsd !== null && input.costUsd != null && usage.costUsd + input.costUsd > agent.costBudgetUsd) overBudget.push('daily_cost');
	const status = overBudget.length ? 'failed' : input.status;
	const endedAt = new Date();
	const startedAt = input.startedAt ?? new Date(endedAt.getTime() - (input.latencyMs ?? 0));
	const runId = await recordRun(guard.pool, agent.id, ctx, {
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
		metadata: { ...(input.metadata ?? {}), ...(overBudget.length ? { over_budget: overBudget } : {}) },
	});
	return { runId, status, overBudget };
}

export interface QueryOptions extends CallContext {
	/** At most this many rows come back (default: the agent's config.max_rows, else 1000). */
	maxRows?: number;
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
	const inputSummary = {
		tool: 'query',
		sql: text.length > 2000 ? `${text.slice(0, 2000)}…` : text,
		sql_sha256: createHash('sha256').update(text).digest('hex'),
	};
	const agent = await getAgent(guard.pool, codeName);
	const refuse = async (code: RefusalCode, reason: string): Promise<never> => {
		const now = new Date();
		const runId = await recordRun(guard.pool, agent?.id ?? null, ctx, {
			status: 'refused', startedAt, endedAt: now, inputSummary, latencyMs: now.getTime() - startedAt.getTime(), costUsd: 0,
			errorMessage: reason, metadata: { refusal: code, code_name: codeName },
		});
		throw new AgentRefusedError(code, reason, runId);
	};
	const decision = await decide(guard.pool, agent, codeName, { operation: 'read' });
	if (!decision.allowed) return refuse(decision.code, decision.reason);
	const keyword = leadingKeyword(text);
	if (!QUERY_START.test(keyword)) {
		return refuse(
			'not_a_query',
			`Agent "${codeName}" may only run one read-only query (SELECT, WITH, VALUES or TABLE); got ${keyword ? `"${keyword.toUpperCase()}"` : 'no statement'}`,
		);
	}
	const { id: agentId, loginName } = agent!;
	const configured = numberOr(agent!.config.max_rows);
	const maxRows = Math.max(1, Math.min(MAX_ROWS_LIMIT, Math.floor(options.maxRows ?? configured ?? DEFAULT_MAX_ROWS), configured ?? MAX_ROWS_LIMIT));
	const budgetMs = agent!.latencyBudgetMs ?? DEFAULT_LATENCY_BUDGET_MS;

	const { rows: cred } = await guard.pool.query<{ login_name: string; password: string }>(
		'select login_name, password from public.ipai_agent_credential where agent_id = $1',
		[agentId],
	);
	if (!cred[0] || cred[0].login_name !== loginName) throw new Error(`Agent "${codeName}" has no database login; run Update to re-sync it`);
	const secrets = [...secretsOf(guard.connection), cred[0].password];
	const config = toPoolConfig({
		...guard.connection,
		connectionString: undefined,
		...connectionParts(guard.connection),
		user: poolerUser(guard.connection, cred[0].login_name),
		password: cred[0].password,
		applicationName: `ipai agent ${codeName}`,
	});
	const client = new Client({ ...config, query_timeout: budgetMs + 2_000 });
	client.on('error', () => undefined);
	let rows: Record<string, unknown>[] = [];
	let columns: string[] = [];
	let failure: Error | undefined;
	try {
		await client.connect();
		await client.query('begin transaction isolation level repeatable read read only');
		await client.query(`set local statement_timeout = ${Math.floor(budgetMs)}`);
		// One statement through the extended protocol (queryMode), as a sub-query: anything that is
		// not a query fails to parse, and the cap applies to whatever the text returns.
		const result = await client.query({
			text: `select * from (\n${text}\n) as agent_query limit $1`,
			values: [maxRows + 1],
			queryMode: 'extended',
		} as never);
		rows = (result as unknown as { rows: Record<string, unknown>[] }).rows;
		columns = (result as unknown as { fields: { name: string }[] }).fields.map((f) => f.name);
		await client.query('rollback');
	} catch (error) {
		failure = safeError(error, secrets);
	} finally {
		await client.end().catch(() => undefined);
	}
	const endedAt = new Date();
	const latencyMs = endedAt.getTime() - startedAt.getTime();
	if (failure) {
		const code = (failure as { code?: string }).code;
		const timedOut = code === '57014' || /timeout/i.test(failure.message);
		const message = timedOut ? `Over the latency budget of ${budgetMs} ms (statement cancelled)` : redact(failure.message, secrets);
		const runId = await recordRun(guard.pool, agentId, ctx, {
			status: 'failed', startedAt, endedAt, inputSummary, latencyMs, costUsd: 0, errorMessage: message,
			metadata: { sqlstate: code ?? null, ...(timedOut ? { over_budget: ['latency'] } : {}) },
		});
		const error = new Error(`Agent "${codeName}" query failed: ${message}`) as Error & { code?: string; runId?: string };
		error.code = code;
		error.runId = runId;
		throw error;
	}
	const truncated = rows.length > maxRows;
	if (truncated) rows = rows.slice(0, maxRows);
	const runId = await recordRun(guard.pool, agentId, ctx, {
		status: 'success', startedAt, endedAt, inputSummary, latencyMs, costUsd: 0,
		outputSummary: { rows: rows.length, truncated, columns },
		metadata: { max_rows: maxRows },
	});
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
