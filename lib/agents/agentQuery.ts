/**
 * An agent's read-only query. It runs on a session of THE AGENT'S OWN LOGIN (plan D14; pooled per
 * login, agentPools.ts), never as the guard's login with SET ROLE: PostgreSQL checks SET ROLE /
 * set_config('role', …) against the session user and always allows `role = none`, so one SELECT
 * could return to the guard's rights. The agent's login holds only its scope, is a member of
 * nothing, and its sessions default to read-only. The text runs as ONE statement through the
 * extended protocol (no multi-statements), wrapped as a sub-query with a row cap, inside a READ ONLY
 * transaction with statement_timeout = latency budget. The keyword check below only gives clearer
 * refusals; PostgreSQL is the boundary.
 */
import { createHash } from 'node:crypto';
import type { PoolClient } from 'pg';
import { storable } from '../lakehouse/audit';
import { redact, safeError, secretsOf, type ConnectionOptions } from '../lakehouse/connection';
import { agentSession, endAgentPools, releaseAgentSession } from './agentPools';
import { closeRun, openRun, recordRefusal, recordRun } from './agentRuns';
import { budgetMetadata, hasDailyBudget, numberOr, queryCostUsd, reserve, type BudgetFacts } from './budgets';
import { AgentRefusedError, decide, loginSettingsRefusal, type AgentGuard, type CallContext, type RefusalCode } from './guard';
import { getAgent, MAX_ROWS_LIMIT, type Agent } from './registry';

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
