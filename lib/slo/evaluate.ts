/**
 * SLO evaluation in SQL over the run ledger (public.ipai_connector_run, public.ipai_agent_run).
 *
 * Read-only: it returns each SLO's status per connector/agent and the alerts that should be firing
 * now; state.ts turns those into alert state and notifications. Every query is bounded by the
 * injected `now` (runs after it do not exist yet), so scenario tests can walk a clock over days of
 * synthetic history, and a monitor catching up evaluates exactly what was known at that moment.
 *
 * Cost: one index-only range scan of finished runs over the longest period (all windows are
 * counted in that one pass with FILTER aggregates), plus a few index probes per connector.
 */
import { createHash } from 'node:crypto';
import type { Pool } from 'pg';
import { redact } from '../lakehouse/connection';
import { maxCronGapSeconds } from './cron';
import type {
	AgentBudgetState,
	AlertCandidate,
	AlertName,
	EvaluationResult,
	FailingConnector,
	LastError,
	LastRun,
	SliType,
	SloDefinition,
	SloStatus,
	SloTarget,
	WindowResult,
} from './types';
import { paramsProblem } from './params';
import { catalogFromParams, formatDuration, numeric, parseDuration, round, scaledWindows, type AlertWindow, type Severity } from './windows';

export interface EvaluateOptions {
	/** The evaluation instant (default: the database clock). */
	now?: Date;
	/** Only these SLOs (code names); default every enabled SLO. */
	slos?: string[];
	/** Base URL of the n8n editor, for links to the executions that failed (e.g. https://n8n.example.com). */
	n8nBaseUrl?: string;
	/** Runbook when an SLO names none. */
	defaultRunbookUrl?: string;
	/**
	 * Where docs/runbooks/<name>.md are served (default: the package's repository); '' links none.
	 * Every message links the runbook of its alert kind and, for the seeded SLOs, of its SLO.
	 */
	runbookBaseUrl?: string;
	/** Secrets to scrub from run errors before they enter a status or message. */
	secrets?: string[];
}

export class SloDefinitionError extends Error {}

interface ConnectorRow {
	id: string;
	connector_type: string;
	name: string;
	schedule: string | null;
	created_at: Date | null;
}

interface AgentRow {
	id: string;
	code_name: string;
	agent_type: string;
}

interface Counts {
	total: number;
	bad: number;
	/** agent runs with a latency, and those slower than each threshold */
	latTotal: number;
	slow: Map<number, number>;
}

interface ConnectorFacts {
	lastSuccessAt: Date | null;
	lastFailureAt: Date | null;
	lastStartedAt: Date | null;
	lastError: LastError | null;
	/** The latest run started by `now` (a run that ended after `now` counts as running then). */
	lastRun: LastRun | null;
}

const DAY = 86_400;

export async function loadSlos(pool: Pool, codeNames?: string[], options: { includeDisabled?: boolean } = {}): Promise<SloDefinition[]> {
	const { rows } = await pool.query<{
		id: string; code_name: string; description: string | null; sli_type: SliType; objective: string;
		period_seconds: string; connector_id: string | null; params: Record<string, unknown>; labels: Record<string, unknown>; runbook_url: string | null;
		is_enabled: boolean;
	}>(
		`select id, code_name, description, sli_type, objective, extract(epoch from period) as period_seconds,
		        connector_id, params, labels, runbook_url, is_enabled
		   from public.ipai_slo
		  where (is_enabled or $2) and ($1::text[] is null or code_name = any ($1))
		  order by code_name`,
		[codeNames?.length ? codeNames : null, options.includeDisabled === true],
	);
	if (codeNames?.length) {
		const missing = codeNames.filter((c) => !rows.some((r) => r.code_name === c));
		if (missing.length) throw new SloDefinitionError(`No ${options.includeDisabled ? '' : 'enabled '}SLO is named ${missing.map((m) => `"${m}"`).join(', ')}`);
	}
	return rows.map((r) => ({
		id: r.id,
		codeName: r.code_name,
		description: r.description,
		sliType: r.sli_type,
		objective: Number(r.objective),
		periodSeconds: Number(r.period_seconds),
		connectorId: r.connector_id,
		params: r.params ?? {},
		labels: Object.fromEntries(Object.entries(r.labels ?? {}).map(([k, v]) => [k, String(v)])),
		runbookUrl: r.runbook_url,
		enabled: r.is_enabled,
	}));
}

/** Sorted identifying labels → a stable hex id (Alertmanager's fingerprint idea: annotations are not identity). */
export function fingerprintOf(labels: Record<string, string>): string {
	const canonical = JSON.stringify(Object.keys(labels).sort().map((k) => [k, labels[k]]));
	return createHash('sha256').update(canonical).digest('hex').slice(0, 32);
}

export async function evaluateSlos(pool: Pool, options: EvaluateOptions = {}): Promise<EvaluationResult> {
	const started = Date.now();
	const now = options.now ?? (await pool.query<{ now: Date }>('select now() as now')).rows[0].now;
	const loaded = await loadSlos(pool, options.slos);
	const ctx = new Context(pool, now, options);

	// A row whose params break the rules (written before the database checked them) is skipped and
	// reported as a ticket naming it; every other SLO is evaluated as usual.
	const invalid: InvalidSlo[] = [];
	const slos: SloDefinition[] = [];
	for (const slo of loaded) {
		const problem = paramsProblem(slo.params);
		if (problem) invalid.push({ slo, ...problem });
		else slos.push(slo);
	}

	const connectorSlos = slos.filter((s) => s.sliType === 'connector_success' || s.sliType === 'connector_freshness');
	const warningSlos = slos.filter((s) => s.sliType === 'connector_warnings');
	const agentSlos = slos.filter((s) => s.sliType === 'agent_failures' || s.sliType === 'agent_latency');
	const budgetSlos = slos.filter((s) => s.sliType === 'agent_budget');

	const none = { statuses: [], candidates: [], burning: [] };
	const parts = await Promise.all([
		connectorSlos.length ? evaluateConnectorSlos(ctx, connectorSlos) : none,
		warningSlos.length ? evaluateWarningSlos(ctx, warningSlos) : none,
		agentSlos.length ? evaluateAgentSlos(ctx, agentSlos) : none,
		budgetSlos.length ? evaluateBudgetSlos(ctx, budgetSlos) : none,
	]);
	const statuses: SloStatus[] = parts.flatMap((p) => p.statuses);
	const candidates: AlertCandidate[] = [...parts.flatMap((p) => p.candidates), ...invalid.map((i) => invalidSloCandidate(ctx, i))];
	return {
		now: now.toISOString(),
		statuses,
		candidates,
		burning: parts.flatMap((p) => p.burning ?? []),
		evaluatedSloIds: slos.map((s) => s.id),
		invalidSlos: invalid.map((i) => ({ sloId: i.slo.id, codeName: i.slo.codeName, field: i.field, message: i.message })),
		durationMs: Date.now() - started,
	};
}

interface InvalidSlo {
	slo: SloDefinition;
	field: string;
	message: string;
}

interface Part {
	statuses: SloStatus[];
	candidates: AlertCandidate[];
	/** Fingerprints of firing-capable alerts whose condition is off but whose windows still burn. */
	burning?: EvaluationResult['burning'];
}

function invalidSloCandidate(ctx: Context, i: InvalidSlo): AlertCandidate {
	const identity: Record<string, string> = { alertname: 'SLODefinitionInvalid', slo: i.slo.codeName, severity: 'ticket' };
	const target: SloTarget = { kind: 'slo', id: i.slo.id, name: i.slo.codeName, type: i.slo.sliType };
	return {
		keepFiringForSeconds: 0,
		fingerprint: fingerprintOf(identity),
		sloId: i.slo.id,
		alertname: 'SLODefinitionInvalid',
		severity: 'ticket',
		targetId: i.slo.id,
		labels: { ...i.slo.labels, ...identity, sli_type: i.slo.sliType },
		annotations: {
			title: `SLO "${i.slo.codeName}" is not evaluated: ${i.field} is invalid`,
			summary: `The row of public.ipai_slo with code_name "${i.slo.codeName}" (id ${i.slo.id}) is skipped until it is fixed: ${i.message}. Every other SLO is evaluated as usual.`,
			action: `Fix ${i.field} of SLO "${i.slo.codeName}" (IPAI SLO Monitor › Set SLO, or update public.ipai_slo), or disable the row; this ticket resolves at the next evaluation after that.`,
			slo: i.slo.codeName,
			sloDescription: i.slo.description,
			objective: i.slo.objective,
			periodSeconds: i.slo.periodSeconds,
			target,
			burnRate: null,
			firingWindows: [],
			errorBudgetRemaining: null,
			failingConnectors: [],
			runbookUrl: null,
			alertRunbookUrl: runbookFor(ctx, ALERT_RUNBOOKS.SLODefinitionInvalid),
			executionUrl: null,
		},
	};
}

class Context {
	private readonly gaps = new Map<string, number | null>();
	constructor(readonly pool: Pool, readonly now: Date, readonly options: EvaluateOptions) {}

	at(secondsAgo: number): Date {
		return new Date(this.now.getTime() - secondsAgo * 1000);
	}

	scheduleGap(schedule: string | null): number | null {
		if (!schedule?.trim()) return null;
		if (!this.gaps.has(schedule)) {
			let gap: number | null;
			try {
				gap = maxCronGapSeconds(schedule);
			} catch {
				gap = null; // an unparseable schedule is the dispatcher's problem; no schedule-based SLO for it
			}
			this.gaps.set(schedule, gap);
		}
		return this.gaps.get(schedule) ?? null;
	}

	executionUrl(executionId: string | null, workflowId: string | null): string | null {
		const base = this.options.n8nBaseUrl?.replace(/\/+$/, '');
		if (!base || !executionId) return null;
		return workflowId ? `${base}/workflow/${encodeURIComponent(workflowId)}/executions/${encodeURIComponent(executionId)}` : `${base}/executions/${encodeURIComponent(executionId)}`;
	}

	clean(text: string | null): string | null {
		return text === null ? null : redact(text, this.options.secrets ?? []);
	}
}

/** Where the runbooks shipped in docs/runbooks are read when no base URL is configured. */
export const DEFAULT_RUNBOOK_BASE_URL = 'https://github.com/ipai/n8n-nodes-ipai-lakehouse/blob/main/docs/runbooks/';

/** SLOs seeded by the migrations, each with docs/runbooks/<code_name>.md. */
export const SEEDED_SLO_RUNBOOKS: readonly string[] = [
	'connector-run-success', 'connector-freshness', 'connector-warnings', 'agent-failures-per-day', 'agent-p95-latency', 'agent-budget',
];

/** Every alert kind, each with docs/runbooks/<name>.md. */
export const ALERT_RUNBOOKS: Record<AlertName, string> = {
	SLOBurnRate: 'alert-slo-burn-rate',
	ConnectorAbsent: 'alert-connector-absent',
	ConnectorStale: 'alert-connector-stale',
	ConnectorWarnings: 'alert-connector-warnings',
	AgentOverBudget: 'alert-agent-over-budget',
	SLODefinitionInvalid: 'alert-slo-definition-invalid',
};

function runbookFor(ctx: Context, name: string): string | null {
	const base = ctx.options.runbookBaseUrl === undefined ? DEFAULT_RUNBOOK_BASE_URL : ctx.options.runbookBaseUrl;
	if (!base) return null;
	return `${base.replace(/\/*$/, '/')}${name}.md`;
}

/** An SLO's runbook: its own, else the configured default, else the shipped one of a seeded SLO. */
function sloRunbook(ctx: Context, slo: SloDefinition): string | null {
	return slo.runbookUrl ?? ctx.options.defaultRunbookUrl ?? (SEEDED_SLO_RUNBOOKS.includes(slo.codeName) ? runbookFor(ctx, slo.codeName) : null);
}

// ---------------------------------------------------------------------------------------------
// Shared window math

function windowsOf(slo: SloDefinition): AlertWindow[] {
	try {
		return scaledWindows(slo.periodSeconds, catalogFromParams(slo.params.alert_windows));
	} catch (error) {
		throw new SloDefinitionError(`SLO "${slo.codeName}": ${(error as Error).message}`);
	}
}

function numberParam(slo: SloDefinition, name: string, fallback: number): number {
	const value = slo.params[name];
	if (value === undefined || value === null) return fallback;
	const n = numeric(value);
	if (!Number.isFinite(n) || n < 0) throw new SloDefinitionError(`SLO "${slo.codeName}": params.${name} must be a non-negative number`);
	return n;
}

function durationParam(slo: SloDefinition, name: string, fallback: number | null): number | null {
	const value = slo.params[name];
	if (value === undefined || value === null || value === '') return fallback;
	try {
		return parseDuration(value, `params.${name}`);
	} catch (error) {
		throw new SloDefinitionError(`SLO "${slo.codeName}": ${(error as Error).message}`);
	}
}

function guardOf(slo: SloDefinition): { minEvents: number; minBad: number } {
	return { minEvents: numberParam(slo, 'min_events', 10), minBad: numberParam(slo, 'min_bad_events', 2) };
}

/**
 * How long a firing alert stays quiet after a delivered notification: params.page_repeat_interval /
 * params.ticket_repeat_interval, else params.repeat_interval, else 4 hours for pages (Alertmanager's
 * default) and a day for tickets (a ticket is worked in office hours; re-posting it every 4 hours
 * is noise).
 */
export function repeatIntervalSeconds(slo: { params: Record<string, unknown>; codeName: string }, severity: Severity): number {
	const value = slo.params[`${severity}_repeat_interval`] ?? slo.params.repeat_interval;
	if (value === undefined || value === null || value === '') return severity === 'page' ? 4 * 3600 : 24 * 3600;
	return parseDuration(value, `SLO "${slo.codeName}" params.${severity}_repeat_interval`);
}

/**
 * One burn-rate pair. `burn(bad, events, seconds)` turns a window's counts into a burn rate;
 * the short window falls back to the latest finished event when it holds none, because runs are
 * sparse next to a scaled 70-second window: without it a connector running every five minutes
 * could never satisfy the short window, and with it a single success resets the alert at once.
 */
function windowResult(
	w: AlertWindow,
	counts: (seconds: number) => { events: number; bad: number },
	burn: (bad: number, events: number, seconds: number) => number,
	latestBad: boolean | null,
	guard: { minEvents: number; minBad: number },
	fallback: boolean,
): WindowResult {
	const long = counts(w.longSeconds);
	const short = counts(w.shortSeconds);
	let shortBurn = burn(short.bad, short.events, w.shortSeconds);
	const shortFromLatest = fallback && short.events === 0 && latestBad !== null;
	if (shortFromLatest) shortBurn = burn(latestBad ? 1 : 0, 1, w.shortSeconds);
	const longBurn = burn(long.bad, long.events, w.longSeconds);
	// The minimum-event guard: too few events in the long window, or a single bad one, never fire.
	// (For a connector running every 5 minutes one failure is ~6% of a scaled 1h24m window — just
	// over the 6× threshold — and must not page anyone by itself.)
	const guarded = long.events < guard.minEvents || long.bad < guard.minBad;
	return {
		...w,
		longEvents: long.events,
		longBad: long.bad,
		shortEvents: short.events,
		shortBad: short.bad,
		longBurnRate: round(longBurn, 4),
		shortBurnRate: round(shortBurn, 4),
		shortFromLatest,
		guarded,
		firing: !guarded && longBurn > w.factor && shortBurn > w.factor,
	};
}

function worstSeverity(windows: WindowResult[]): Severity | null {
	if (windows.some((w) => w.firing && w.severity === 'page')) return 'page';
	if (windows.some((w) => w.firing && w.severity === 'ticket')) return 'ticket';
	return null;
}

/** Per-target counts for a set of window lengths, from one scan (FILTER aggregates per window). */
function countSql(
	table: 'connector' | 'agent',
	windowCount: number,
	thresholds: number[],
): string {
	const targetColumn = table === 'connector' ? 'connector_id' : 'agent_id';
	const relation = table === 'connector' ? 'public.ipai_connector_run' : 'public.ipai_agent_run';
	const finished = table === 'connector' ? `status in ('success', 'failed', 'abandoned')` : `status in ('success', 'failed')`;
	const bad = table === 'connector' ? `status <> 'success'` : `status = 'failed'`;
	// Parameters: $1 now, $2.. window starts (ascending age), then latency thresholds. Only
	// placeholders and fixed column names go into this text.
	const columns: string[] = [];
	for (let i = 0; i < windowCount; i++) {
		const p = `$${i + 2}`;
		columns.push(`count(*) filter (where ended_at > ${p}) as t${i}`, `count(*) filter (where ended_at > ${p} and ${bad}) as b${i}`);
		if (table === 'agent') {
			columns.push(`count(*) filter (where ended_at > ${p} and latency_ms is not null) as lt${i}`);
			thresholds.forEach((_, j) => {
				columns.push(`count(*) filter (where ended_at > ${p} and latency_ms > $${windowCount + 2 + j}) as s${i}_${j}`);
			});
		}
	}
	return `select ${targetColumn} as target_id, ${columns.join(', ')}
	          from ${relation}
	         where ${finished} and ended_at > $${windowCount + 1} and ended_at <= $1
	         group by ${targetColumn}`;
}

const HOUR_MS = 3_600_000;

/**
 * Finished runs and bad runs per connector for each window (now - w, now]: whole UTC hours from
 * ipai_meta.connector_run_hourly (kept by triggers on the ledger), the partial hours at the edges
 * from the runs themselves (a range scan of under an hour each). Windows shorter than that are
 * counted from the runs alone.
 */
async function countConnectorWindows(ctx: Context, windowSeconds: number[]): Promise<Map<string, Map<number, Counts>>> {
	const sorted = [...new Set(windowSeconds)].sort((a, b) => a - b);
	const now = ctx.now.getTime();
	const lastHour = Math.floor(now / HOUR_MS) * HOUR_MS; // B: buckets end here; [B, now] is raw
	const plans = sorted.map((seconds) => {
		const start = now - seconds * 1000;
		const firstHour = Math.floor(start / HOUR_MS) * HOUR_MS + HOUR_MS; // A: first bucket wholly after start
		return { seconds, start, firstHour, bucketed: firstHour < lastHour };
	});
	// Raw parameters: $1 now, $2 B, then per window its start and (bucketed) A.
	const params: unknown[] = [ctx.now, new Date(lastHour)];
	const rawConds: string[] = [];
	const ranges: string[] = [];
	for (const p of plans) {
		params.push(new Date(p.start));
		const s = `$${params.length}`;
		if (p.bucketed) {
			params.push(new Date(p.firstHour));
			const a = `$${params.length}`;
			rawConds.push(`((ended_at > ${s} and ended_at < ${a}) or ended_at >= $2)`);
			ranges.push(`(ended_at > ${s} and ended_at < ${a})`);
		} else {
			rawConds.push(`ended_at > ${s}`);
			ranges.push(`ended_at > ${s}`);
		}
	}
	ranges.push('ended_at >= $2');
	const columns = rawConds.flatMap((c, i) => [`count(*) filter (where ${c}) as t${i}`, `count(*) filter (where ${c} and status <> 'success') as b${i}`]);
	const rawSql = `select connector_id as target_id, ${columns.join(', ')}
	                  from public.ipai_connector_run
	                 where status in ('success', 'failed', 'abandoned') and ended_at <= $1 and (${ranges.join(' or ')})
	                 group by connector_id`;
	const bucketed = plans.map((p, i) => ({ ...p, i })).filter((p) => p.bucketed);
	const bucketParams: unknown[] = [new Date(lastHour), ...bucketed.map((p) => new Date(p.firstHour))];
	const bucketSql = bucketed.length
		? `select connector_id as target_id, ${bucketed
				.flatMap((p, j) => [`coalesce(sum(finished) filter (where hour >= $${j + 2}), 0) as t${p.i}`, `coalesce(sum(bad) filter (where hour >= $${j + 2}), 0) as b${p.i}`])
				.join(', ')}
		     from ipai_meta.connector_run_hourly
		    where hour < $1 and hour >= $${2 + bucketed.findIndex((p) => p.firstHour === Math.min(...bucketed.map((b) => b.firstHour)))}
		    group by connector_id`
		: null;
	const [raw, buckets] = await Promise.all([
		ctx.pool.query<Record<string, string>>(rawSql, params),
		bucketSql ? ctx.pool.query<Record<string, string>>(bucketSql, bucketParams) : Promise.resolve({ rows: [] as Array<Record<string, string>> }),
	]);
	const out = new Map<string, Map<number, Counts>>();
	const add = (row: Record<string, string>) => {
		const byWindow = out.get(row.target_id) ?? new Map<number, Counts>();
		plans.forEach((p, i) => {
			if (row[`t${i}`] === undefined) return;
			const c = byWindow.get(p.seconds) ?? { total: 0, bad: 0, latTotal: 0, slow: new Map() };
			c.total += Number(row[`t${i}`]);
			c.bad += Number(row[`b${i}`]);
			byWindow.set(p.seconds, c);
		});
		out.set(row.target_id, byWindow);
	};
	raw.rows.forEach(add);
	buckets.rows.forEach(add);
	return out;
}

async function countByWindow(
	ctx: Context,
	table: 'connector' | 'agent',
	windowSeconds: number[],
	thresholds: number[] = [],
): Promise<Map<string, Map<number, Counts>>> {
	if (table === 'connector') return countConnectorWindows(ctx, windowSeconds);
	const sorted = [...new Set(windowSeconds)].sort((a, b) => a - b);
	const sql = countSql(table, sorted.length, thresholds);
	const params: unknown[] = [ctx.now, ...sorted.map((s) => ctx.at(s)), ...thresholds];
	const { rows } = await ctx.pool.query<Record<string, string>>(sql, params);
	const out = new Map<string, Map<number, Counts>>();
	for (const row of rows) {
		const byWindow = new Map<number, Counts>();
		sorted.forEach((seconds, i) => {
			byWindow.set(seconds, {
				total: Number(row[`t${i}`]),
				bad: Number(row[`b${i}`]),
				latTotal: Number(row[`lt${i}`] ?? 0),
				slow: new Map(thresholds.map((t, j) => [t, Number(row[`s${i}_${j}`] ?? 0)])),
			});
		});
		out.set(row.target_id, byWindow);
	}
	return out;
}

function windowSecondsOf(slo: SloDefinition): number[] {
	return [slo.periodSeconds, 86_400, ...windowsOf(slo).flatMap((w) => [w.longSeconds, w.shortSeconds])];
}

// ---------------------------------------------------------------------------------------------
// Connectors

function targetsOf<T extends { id: string }>(slos: SloDefinition[], type: SliType, all: T[], specificId: (s: SloDefinition) => string | null): Array<[SloDefinition, T]> {
	const ofType = slos.filter((s) => s.sliType === type);
	const overridden = new Set(ofType.map(specificId).filter((id): id is string => id !== null));
	const pairs: Array<[SloDefinition, T]> = [];
	for (const slo of ofType) {
		const only = specificId(slo);
		for (const target of all) {
			if (only !== null ? target.id === only : !overridden.has(target.id)) pairs.push([slo, target]);
		}
	}
	return pairs;
}

async function evaluateConnectorSlos(ctx: Context, slos: SloDefinition[]): Promise<Part> {
	const { rows: connectors } = await ctx.pool.query<ConnectorRow>(
		`select id, connector_type, name, schedule, created_at from public.ipai_connector_config
		  where is_enabled is not false order by connector_type, name`,
	);
	const successSlos = slos.filter((s) => s.sliType === 'connector_success');
	const successPairs = targetsOf(slos, 'connector_success', connectors, (s) => s.connectorId);
	const freshPairs = targetsOf(slos, 'connector_freshness', connectors, (s) => s.connectorId);

	const ids = connectors.map((c) => c.id);
	// The stale-time scan runs alongside the counts (it needs the facts only to word its statuses).
	const factsPromise = connectorFacts(ctx, ids);
	const freshnessPromise = freshnessStatuses(ctx, freshPairs, factsPromise);
	freshnessPromise.catch(() => undefined); // awaited below; a failure elsewhere first must not leave it unhandled
	const [counts, facts] = await Promise.all([
		successSlos.length ? countByWindow(ctx, 'connector', successSlos.flatMap(windowSecondsOf)) : Promise.resolve(new Map<string, Map<number, Counts>>()),
		factsPromise,
	]);

	const statuses: SloStatus[] = [];
	const candidates: AlertCandidate[] = [];
	const pageOrTicket = new Map<string, FailingConnector[]>(); // per SLO: the connectors failing it

	for (const [slo, c] of successPairs) {
		const status = connectorSuccessStatus(ctx, slo, c, counts.get(c.id), facts.get(c.id));
		statuses.push(status);
		if (status.status === 'page' || status.status === 'ticket' || status.absent?.firing) {
			const list = pageOrTicket.get(slo.id) ?? [];
			list.push({ name: c.name, type: c.connector_type, lastError: status.lastError ?? null });
			pageOrTicket.set(slo.id, list);
		}
	}
	const freshness = await freshnessPromise;
	statuses.push(...freshness);
	for (const status of freshness) {
		if (status.status === 'page' || status.status === 'ticket') {
			const list = pageOrTicket.get(status.sloId) ?? [];
			list.push({ name: status.target.name, type: status.target.type, lastError: status.lastError ?? null });
			pageOrTicket.set(status.sloId, list);
		}
	}

	const byId = new Map(slos.map((s) => [s.id, s]));
	const burning: EvaluationResult['burning'] = [];
	for (const status of statuses) {
		const slo = byId.get(status.sloId)!;
		const failing = orderFailing(pageOrTicket.get(slo.id) ?? [], status.target.name);
		if (status.sliType === 'connector_success') {
			for (const severity of firingSeverities(status)) candidates.push(candidate(ctx, slo, status, 'SLOBurnRate', severity, failing));
			burning.push(...burningFingerprints(slo, status));
			if (status.absent?.firing) candidates.push(candidate(ctx, slo, status, 'ConnectorAbsent', status.absent.severity, failing));
		} else {
			for (const severity of firingSeverities(status)) candidates.push(candidate(ctx, slo, status, 'ConnectorStale', severity, failing));
		}
	}
	return { statuses, candidates, burning };
}

/**
 * Burn-rate alerts of a target whose condition is off while a window of their severity still burns
 * above its factor (long or short): an incident is not over while its long window burns, so a
 * firing alert stays open through the gaps of a burst instead of resolving and paging again.
 */
function burningFingerprints(slo: SloDefinition, status: SloStatus): EvaluationResult['burning'] {
	const firing = new Set(firingSeverities(status));
	const out: EvaluationResult['burning'] = [];
	for (const severity of ['page', 'ticket'] as const) {
		if (firing.has(severity)) continue;
		if (status.windows.some((w) => w.severity === severity && (w.longBurnRate > w.factor || w.shortBurnRate > w.factor))) {
			out.push({ fingerprint: fingerprintOf(burnIdentity(slo, status.target, severity)), keepFiringForSeconds: holdSeconds(slo, status, severity) });
		}
	}
	return out;
}

function burnIdentity(slo: SloDefinition, t: SloTarget, severity: Severity): Record<string, string> {
	return { alertname: 'SLOBurnRate', slo: slo.codeName, severity, [`${t.kind}_id`]: t.id };
}

/**
 * How long a burn-rate alert keeps firing once both windows of every pair of its severity are back
 * under the factor (Prometheus' keep_firing_for): params.keep_firing_for, else the longest short
 * window of that severity but at least 15 minutes.
 */
function holdSeconds(slo: SloDefinition, status: SloStatus, severity: Severity): number {
	const configured = durationParam(slo, 'keep_firing_for', null);
	if (configured !== null) return configured;
	return Math.max(15 * 60, ...status.windows.filter((w) => w.severity === severity).map((w) => w.shortSeconds));
}

/** The alerting connector first, then up to nine others failing the same SLO. */
function orderFailing(list: FailingConnector[], first: string): FailingConnector[] {
	const own = list.filter((f) => f.name === first);
	const others = list.filter((f) => f.name !== first);
	return [...own, ...others].slice(0, 10);
}

/** Both severities fire when a page condition holds (the page inhibits the ticket in state.ts). */
function firingSeverities(status: SloStatus): Severity[] {
	if (status.sliType === 'connector_freshness') {
		const f = status.freshness;
		if (!f || f.ageSeconds === null) return [];
		const out: Severity[] = [];
		if (f.ageSeconds > f.pageAfterSeconds) out.push('page');
		if (f.ageSeconds > f.ticketAfterSeconds) out.push('ticket');
		return out;
	}
	const out: Severity[] = [];
	if (status.windows.some((w) => w.firing && w.severity === 'page')) out.push('page');
	if (status.windows.some((w) => w.firing && w.severity === 'ticket')) out.push('ticket');
	return out;
}

async function connectorFacts(ctx: Context, ids: string[]): Promise<Map<string, ConnectorFacts>> {
	if (ids.length === 0) return new Map();
	const { rows } = await ctx.pool.query<{
		id: string; last_success_at: Date | null;
		failed_at: Date | null; error_message: string | null; execution_id: string | null; workflow_id: string | null;
		run_id: string | null; run_status: string | null; run_started_at: Date | null; run_heartbeat_at: Date | null;
	}>(
		`select c.id,
		        (select max(r.ended_at) from public.ipai_connector_run r
		          where r.connector_id = c.id and r.status = 'success' and r.ended_at <= $1) as last_success_at,
		        f.ended_at as failed_at, f.error_message,
		        f.metadata ->> 'n8n_execution_id' as execution_id, f.metadata ->> 'n8n_workflow_id' as workflow_id,
		        l.id as run_id, l.st as run_status, l.started_at as run_started_at,
		        coalesce(lease.heartbeat_at, (l.metadata ->> 'last_heartbeat_at')::timestamptz) as run_heartbeat_at
		   from unnest($2::uuid[]) as c(id)
		   left join lateral (
		        select r.ended_at, r.error_message, r.metadata from public.ipai_connector_run r
		         where r.connector_id = c.id and r.status in ('failed', 'abandoned') and r.ended_at <= $1
		         order by r.ended_at desc limit 1) f on true
		   left join lateral (
		        select r.id, r.started_at, r.metadata,
		               case when r.status <> 'running' and r.ended_at > $1 then 'running' else r.status end as st
		          from public.ipai_connector_run r
		         where r.connector_id = c.id and r.started_at <= $1
		         order by r.started_at desc limit 1) l on true
		   left join public.ipai_connector_lease lease on lease.run_id = l.id and l.st = 'running'`,
		[ctx.now, ids],
	);
	return new Map(
		rows.map((r) => [
			r.id,
			{
				lastSuccessAt: r.last_success_at,
				lastStartedAt: r.run_started_at,
				lastFailureAt: r.failed_at,
				lastRun: r.run_id
					? { id: r.run_id, status: r.run_status!, startedAt: r.run_started_at!.toISOString(), lastHeartbeatAt: r.run_heartbeat_at?.toISOString() ?? null }
					: null,
				lastError: r.failed_at
					? {
							at: r.failed_at.toISOString(),
							message: ctx.clean(r.error_message),
							executionId: r.execution_id,
							workflowId: r.workflow_id,
							executionUrl: ctx.executionUrl(r.execution_id, r.workflow_id),
						}
					: null,
			},
		]),
	);
}

function connectorTarget(c: ConnectorRow): SloTarget {
	return { kind: 'connector', id: c.id, name: c.name, type: c.connector_type };
}

function connectorSuccessStatus(
	ctx: Context,
	slo: SloDefinition,
	c: ConnectorRow,
	counts: Map<number, Counts> | undefined,
	facts: ConnectorFacts | undefined,
): SloStatus {
	const budget = 1 - slo.objective;
	const guard = guardOf(slo);
	const get = (seconds: number) => {
		const k = counts?.get(seconds);
		return { events: k?.total ?? 0, bad: k?.bad ?? 0 };
	};
	const latestBad =
		facts?.lastFailureAt || facts?.lastSuccessAt
			? (facts.lastFailureAt?.getTime() ?? -Infinity) > (facts.lastSuccessAt?.getTime() ?? -Infinity)
			: null;
	const ratioBurn = (bad: number, events: number) => (events > 0 ? bad / events / budget : 0);
	const windows = windowsOf(slo).map((w) => windowResult(w, get, ratioBurn, latestBad, guard, true));
	const period = get(slo.periodSeconds);

	// Absent: a scheduled connector (or one given params.absent_after) that started no run for
	// longer than absent_factor × its schedule's longest gap + grace. The default equals the
	// freshness ticket threshold, measured from the last start (which precedes the last success),
	// so a stopped connector raises "absent" no later than "stale" and the absent alert mutes it. Webhook-driven connectors without a
	// schedule run irregularly, and an "absent" alert on them would only be noise.
	const gap = ctx.scheduleGap(c.schedule);
	const grace = durationParam(slo, 'grace', 600)!;
	const absentAfter = durationParam(slo, 'absent_after', gap === null ? null : gap * numberParam(slo, 'absent_factor', 2) + grace);
	const absentSeverity = slo.params.absent_severity === 'ticket' ? 'ticket' : 'page';
	let absent: SloStatus['absent'];
	if (absentAfter !== null) {
		const since = facts?.lastStartedAt ?? (c.created_at && c.created_at <= ctx.now ? c.created_at : null);
		absent = {
			lastRunStartedAt: facts?.lastStartedAt?.toISOString() ?? null,
			absentAfterSeconds: absentAfter,
			firing: since !== null && ctx.now.getTime() - since.getTime() > absentAfter * 1000,
			severity: absentSeverity,
		};
	}

	const severity = worstSeverity(windows);
	const status: SloStatus = {
		slo: slo.codeName,
		sloId: slo.id,
		sliType: slo.sliType,
		description: slo.description,
		target: connectorTarget(c),
		objective: slo.objective,
		periodSeconds: slo.periodSeconds,
		status: severity ?? (period.events === 0 ? 'no_data' : 'ok'),
		events: period.events,
		badEvents: period.bad,
		sli: period.events > 0 ? round(1 - period.bad / period.events, 6) : null,
		errorBudgetRemaining: period.events > 0 ? round(1 - period.bad / period.events / budget, 6) : null,
		periodBurnRate: period.events > 0 ? round(period.bad / period.events / budget, 4) : null,
		windows,
		absent,
		lastError: facts?.lastError ?? null,
		lastRun: facts?.lastRun ?? null,
		runbookUrl: sloRunbook(ctx, slo),
	};
	const rank = { no_data: 0, ok: 0, ticket: 1, page: 2 } as const;
	if (absent?.firing && rank[absent.severity] > rank[status.status]) status.status = absent.severity;
	if (status.status === 'no_data') status.reason = 'No finished run in the SLO period';
	return status;
}

async function freshnessStatuses(
	ctx: Context,
	pairs: Array<[SloDefinition, ConnectorRow]>,
	factsPromise: Promise<Map<string, ConnectorFacts>>,
): Promise<SloStatus[]> {
	interface Plan { slo: SloDefinition; c: ConnectorRow; gap: number | null; ticketAfter: number; pageAfter: number }
	const plans: Plan[] = [];
	const statuses: SloStatus[] = [];
	const unscheduled: Array<[SloDefinition, ConnectorRow]> = [];
	for (const [slo, c] of pairs) {
		const gap = ctx.scheduleGap(c.schedule);
		const grace = durationParam(slo, 'grace', 600)!;
		const ticketAfter = durationParam(slo, 'max_age', gap === null ? null : gap * numberParam(slo, 'warn_factor', 2) + grace);
		const pageAfter = durationParam(slo, 'page_after', gap === null ? null : gap * numberParam(slo, 'page_factor', 4) + grace);
		if (ticketAfter === null || pageAfter === null) {
			unscheduled.push([slo, c]);
			continue;
		}
		plans.push({ slo, c, gap, ticketAfter, pageAfter });
	}
	const noData = async () => {
		const facts = await factsPromise;
		for (const [slo, c] of unscheduled) {
			statuses.push({
				...baseStatus(ctx, slo, connectorTarget(c)),
				status: 'no_data',
				reason: 'The connector has no schedule (or an unparseable one) and the SLO sets no params.max_age / params.page_after',
				lastError: facts.get(c.id)?.lastError ?? null,
			});
		}
		return facts;
	};
	if (plans.length === 0) {
		await noData();
		return statuses;
	}

	// Stale time over the period: for consecutive successes (plus the connector's first run as a
	// baseline and `now` closing the open gap), the part of each gap beyond the threshold, clipped
	// to the period. Good time is the rest; the budget is (1 - objective) × period.
	const { rows } = await ctx.pool.query<{ i: number; stale_seconds: string | null }>(
		`select t.i, sum(greatest(0, extract(epoch from (g.upper - greatest(g.prev + make_interval(secs => t.threshold), t.period_start))))) as stale_seconds
		   from unnest($2::int[], $3::uuid[], $4::float8[], $5::timestamptz[]) as t(i, connector_id, threshold, period_start)
		   cross join lateral (
		        select x.at as upper, lag(x.at) over (order by x.at) as prev
		          from (
		                (select min(r.started_at) as at from public.ipai_connector_run r
		                  where r.connector_id = t.connector_id and r.started_at <= $1)
		                union all
		                (select r.ended_at from public.ipai_connector_run r
		                  where r.connector_id = t.connector_id and r.status = 'success' and r.ended_at <= t.period_start
		                  order by r.ended_at desc limit 1)
		                union all
		                (select r.ended_at from public.ipai_connector_run r
		                  where r.connector_id = t.connector_id and r.status = 'success'
		                    and r.ended_at > t.period_start and r.ended_at <= $1)
		                union all
		                select $1::timestamptz) x
		         where x.at is not null) g
		  where g.prev is not null
		  group by t.i`,
		[
			ctx.now,
			plans.map((_, i) => i),
			plans.map((p) => p.c.id),
			plans.map((p) => p.ticketAfter),
			plans.map((p) => ctx.at(p.slo.periodSeconds)),
		],
	);
	const stale = new Map(rows.map((r) => [Number(r.i), Number(r.stale_seconds ?? 0)]));
	const facts = await noData();
	plans.forEach((p, i) => {
		const f = facts.get(p.c.id);
		const lastSuccess = f?.lastSuccessAt ?? null;
		// Never succeeded: age counts from its first run (or from its registration).
		const since = lastSuccess ?? f?.lastStartedAt ?? (p.c.created_at && p.c.created_at <= ctx.now ? p.c.created_at : null);
		const age = since ? (ctx.now.getTime() - since.getTime()) / 1000 : null;
		const staleSeconds = stale.get(i) ?? 0;
		const allowed = (1 - p.slo.objective) * p.slo.periodSeconds;
		const severity: Severity | null = age === null ? null : age > p.pageAfter ? 'page' : age > p.ticketAfter ? 'ticket' : null;
		statuses.push({
			...baseStatus(ctx, p.slo, connectorTarget(p.c)),
			status: severity ?? (since === null ? 'no_data' : 'ok'),
			reason: since === null ? 'The connector has not run yet' : undefined,
			sli: round(1 - staleSeconds / p.slo.periodSeconds, 6),
			errorBudgetRemaining: round(1 - staleSeconds / allowed, 6),
			periodBurnRate: round(staleSeconds / allowed, 4),
			freshness: {
				lastSuccessAt: lastSuccess?.toISOString() ?? null,
				ageSeconds: age === null ? null : Math.round(age),
				scheduleGapSeconds: p.gap,
				ticketAfterSeconds: p.ticketAfter,
				pageAfterSeconds: p.pageAfter,
				staleSecondsInPeriod: Math.round(staleSeconds),
			},
			lastError: f?.lastError ?? null,
			lastRun: f?.lastRun ?? null,
		});
	});
	return statuses;
}

function baseStatus(ctx: Context, slo: SloDefinition, target: SloTarget): SloStatus {
	return {
		slo: slo.codeName,
		sloId: slo.id,
		sliType: slo.sliType,
		description: slo.description,
		target,
		objective: slo.objective,
		periodSeconds: slo.periodSeconds,
		status: 'no_data',
		events: 0,
		badEvents: 0,
		sli: null,
		errorBudgetRemaining: null,
		periodBurnRate: null,
		windows: [],
		runbookUrl: sloRunbook(ctx, slo),
	};
}

// ---------------------------------------------------------------------------------------------
// Agents

async function evaluateAgentSlos(ctx: Context, slos: SloDefinition[]): Promise<Part> {
	const { rows: agents } = await ctx.pool.query<AgentRow>(
		`select id, code_name, agent_type from public.ipai_agent where is_active is not false order by code_name`,
	);
	const latencySlos = slos.filter((s) => s.sliType === 'agent_latency');
	const thresholds = [...new Set(latencySlos.map((s) => numberParam(s, 'threshold_ms', 5000)))];
	const periods = [...new Set(latencySlos.map((s) => s.periodSeconds))].sort((a, b) => a - b);
	const agentParam = (s: SloDefinition) => {
		const code = s.params.agent_code_name;
		if (typeof code !== 'string' || !code) return null;
		return agents.find((a) => a.code_name === code)?.id ?? `missing:${code}`;
	};
	const [counts, latest, p95] = await Promise.all([
		countByWindow(ctx, 'agent', slos.flatMap(windowSecondsOf), thresholds),
		ctx.pool.query<{ id: string; status: string | null; latency_ms: number | null }>(
			`select a.id, l.status, l.latency_ms from unnest($2::uuid[]) as a(id)
			   left join lateral (select r.status, r.latency_ms from public.ipai_agent_run r
			                       where r.agent_id = a.id and r.status in ('success', 'failed') and r.ended_at <= $1
			                       order by r.started_at desc limit 1) l on true`,
			[ctx.now, agents.map((a) => a.id)],
		),
		periods.length
			? ctx.pool.query<Record<string, string | null>>(
					`select agent_id, ${periods.map((_, i) => `percentile_cont(0.95) within group (order by latency_ms) filter (where ended_at > $${i + 2}) as p${i}`).join(', ')}
					   from public.ipai_agent_run
					  where status in ('success', 'failed') and latency_ms is not null and ended_at > $${periods.length + 1} and ended_at <= $1
					  group by agent_id`,
					[ctx.now, ...periods.map((p) => ctx.at(p))],
				)
			: Promise.resolve({ rows: [] as Array<Record<string, string | null>> }),
	]);
	const latestById = new Map(latest.rows.map((r) => [r.id, r]));
	const p95ById = new Map(p95.rows.map((r) => [String(r.agent_id), r]));

	const statuses: SloStatus[] = [];
	const candidates: AlertCandidate[] = [];
	const burning: EvaluationResult['burning'] = [];
	for (const type of ['agent_failures', 'agent_latency'] as const) {
		for (const [slo, agent] of targetsOf(slos, type, agents, agentParam)) {
			const byWindow = counts.get(agent.id);
			const target: SloTarget = { kind: 'agent', id: agent.id, name: agent.code_name, type: agent.agent_type };
			const guard = guardOf(slo);
			const last = latestById.get(agent.id);
			const base = baseStatus(ctx, slo, target);
			let status: SloStatus;
			if (type === 'agent_failures') {
				const maxPerDay = numberParam(slo, 'max_failures_per_day', 20);
				if (maxPerDay <= 0) throw new SloDefinitionError(`SLO "${slo.codeName}": params.max_failures_per_day must be above 0`);
				const get = (s: number) => ({ events: byWindow?.get(s)?.total ?? 0, bad: byWindow?.get(s)?.bad ?? 0 });
				// A count budget: burn rate = failures in the window / failures allowed in that window.
				const burn = (bad: number, _events: number, seconds: number) => bad / ((maxPerDay * seconds) / DAY);
				const windows = windowsOf(slo).map((w) => windowResult(w, get, burn, null, guard, false));
				const period = get(slo.periodSeconds);
				const allowed = (maxPerDay * slo.periodSeconds) / DAY;
				status = {
					...base,
					status: worstSeverity(windows) ?? (period.events === 0 ? 'no_data' : 'ok'),
					events: period.events,
					badEvents: period.bad,
					sli: period.events > 0 ? round(1 - period.bad / period.events, 6) : null,
					errorBudgetRemaining: round(1 - period.bad / allowed, 6),
					periodBurnRate: round(period.bad / allowed, 4),
					windows,
					failures: { maxPerDay, lastDay: get(DAY).bad },
				};
			} else {
				const threshold = numberParam(slo, 'threshold_ms', 5000);
				const budget = 1 - slo.objective;
				const get = (s: number) => ({ events: byWindow?.get(s)?.latTotal ?? 0, bad: byWindow?.get(s)?.slow.get(threshold) ?? 0 });
				const burn = (bad: number, events: number) => (events > 0 ? bad / events / budget : 0);
				const latestBad = last?.latency_ms === null || last?.latency_ms === undefined ? null : last.latency_ms > threshold;
				const windows = windowsOf(slo).map((w) => windowResult(w, get, burn, latestBad, guard, true));
				const period = get(slo.periodSeconds);
				const p = p95ById.get(agent.id)?.[`p${periods.indexOf(slo.periodSeconds)}`];
				status = {
					...base,
					status: worstSeverity(windows) ?? (period.events === 0 ? 'no_data' : 'ok'),
					events: period.events,
					badEvents: period.bad,
					sli: period.events > 0 ? round(1 - period.bad / period.events, 6) : null,
					errorBudgetRemaining: period.events > 0 ? round(1 - period.bad / period.events / budget, 6) : null,
					periodBurnRate: period.events > 0 ? round(period.bad / period.events / budget, 4) : null,
					windows,
					latency: { p95Ms: p === null || p === undefined ? null : Math.round(Number(p)), thresholdMs: threshold },
				};
			}
			if (status.status === 'no_data') status.reason = 'No finished agent run in the SLO period';
			statuses.push(status);
			for (const severity of firingSeverities(status)) candidates.push(candidate(ctx, slo, status, 'SLOBurnRate', severity, []));
			burning.push(...burningFingerprints(slo, status));
		}
	}
	return { statuses, candidates, burning };
}

// ---------------------------------------------------------------------------------------------
// Agent budgets (agent_budget): calls the Agent Guard stopped because a budget was spent or broken.
//
// The guard marks every run it refused or failed for a budget with metadata.over_budget (run_cost,
// run_latency, daily_cost, daily_latency) and the limit in force (budget_limits). Daily budgets are
// a state, not a noisy ratio: once one is spent every further call that day is refused, so the
// alert fires on the first refusal (no minimum-event guard) and resolves at 00:00 UTC or as soon as
// the limit is raised above what the refusals were measured against. A ticket warns at
// params.warn_fraction of a daily budget. Per-run budgets are breached call by call: a ticket when
// params.min_run_events breaches fall in params.run_window. Refusals for permissions (tool, schema,
// operation, not a query) carry no over_budget and never count here.

interface BudgetAgentRow {
	id: string;
	code_name: string;
	agent_type: string;
	cost_budget_usd: string | null;
	latency_budget_ms: number | null;
	config: Record<string, unknown> | null;
}

const BUDGET_KINDS = ['daily_cost', 'daily_latency', 'run_cost', 'run_latency'] as const;
type BudgetKind = (typeof BUDGET_KINDS)[number];

function budgetLimits(a: BudgetAgentRow): Map<BudgetKind, number> {
	const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
	const out = new Map<BudgetKind, number>();
	if (a.cost_budget_usd !== null) out.set('daily_cost', Number(a.cost_budget_usd));
	const dailyLatency = num(a.config?.daily_latency_budget_ms);
	if (dailyLatency !== undefined) out.set('daily_latency', dailyLatency);
	const runCost = num(a.config?.max_run_cost_usd);
	if (runCost !== undefined) out.set('run_cost', runCost);
	if (a.latency_budget_ms !== null) out.set('run_latency', Number(a.latency_budget_ms));
	return out;
}

function severityParam(slo: SloDefinition, name: string, fallback: Severity): Severity {
	const v = slo.params[name];
	if (v === undefined || v === null || v === '') return fallback;
	if (v !== 'page' && v !== 'ticket') throw new SloDefinitionError(`SLO "${slo.codeName}": params.${name} must be "page" or "ticket"`);
	return v;
}

async function evaluateBudgetSlos(ctx: Context, slos: SloDefinition[]): Promise<Part> {
	const { rows: all } = await ctx.pool.query<BudgetAgentRow>(
		`select id, code_name, agent_type, cost_budget_usd, latency_budget_ms, config
		   from public.ipai_agent where is_active is not false order by code_name`,
	);
	// An agent without any budget has nothing to report here.
	const agents = all.filter((a) => budgetLimits(a).size > 0);
	const statuses: SloStatus[] = [];
	const candidates: AlertCandidate[] = [];
	if (agents.length === 0) return { statuses, candidates };
	const dayStart = new Date(Date.UTC(ctx.now.getUTCFullYear(), ctx.now.getUTCMonth(), ctx.now.getUTCDate()));
	const day = dayStart.toISOString().slice(0, 10);
	const agentParam = (s: SloDefinition) => {
		const code = s.params.agent_code_name;
		if (typeof code !== 'string' || !code) return null;
		return agents.find((a) => a.code_name === code)?.id ?? `missing:${code}`;
	};

	for (const slo of slos) {
		const warnFraction = numberParam(slo, 'warn_fraction', 0.8);
		const minRunEvents = Math.max(1, numberParam(slo, 'min_run_events', 3));
		const runWindow = durationParam(slo, 'run_window', 3600)!;
		const exhaustedSeverity = severityParam(slo, 'exhausted_severity', 'page');
		const runSeverity = severityParam(slo, 'run_severity', 'ticket');
		const pairs = targetsOf([slo], 'agent_budget', agents, agentParam);
		if (pairs.length === 0) continue;
		const ids = pairs.map(([, a]) => a.id);
		const periodStart = ctx.at(slo.periodSeconds);
		const runStart = ctx.at(runWindow);
		const earliest = new Date(Math.min(dayStart.getTime(), periodStart.getTime(), runStart.getTime()));
		const [calls, events] = await Promise.all([
			// Calls and budget-stopped calls over the period; spend today (the usage trigger's UTC day).
			ctx.pool.query<{ agent_id: string; calls: string; bad: string; day_cost: string; day_latency: string }>(
				`select r.agent_id,
				        count(*) filter (where r.ended_at > $3) as calls,
				        count(*) filter (where r.ended_at > $3 and r.metadata ? 'over_budget') as bad,
				        coalesce(sum(r.cost_usd) filter (where r.started_at >= $2), 0) as day_cost,
				        coalesce(sum(r.latency_ms) filter (where r.started_at >= $2), 0) as day_latency
				   from public.ipai_agent_run r
				  where r.agent_id = any ($4::uuid[]) and r.status in ('success', 'failed', 'refused')
				    and r.ended_at > $5 and r.ended_at <= $1
				  group by r.agent_id`,
				[ctx.now, dayStart, periodStart, ids, earliest],
			),
			// Budget events per agent and budget, counted only when measured against a limit at
			// least as strict as today's (raising a limit clears what the old one refused).
			ctx.pool.query<{ agent_id: string; kind: BudgetKind; today: string; recent: string; worst_recent: string | null; last_today: Date | null; last_recent: Date | null }>(
				`select r.agent_id, k.kind,
				        count(*) filter (where r.ended_at > $2 and v.counts) as today,
				        count(*) filter (where r.ended_at > $3 and v.counts) as recent,
				        max(v.used) filter (where r.ended_at > $3 and v.counts) as worst_recent,
				        max(r.ended_at) filter (where r.ended_at > $2 and v.counts) as last_today,
				        max(r.ended_at) filter (where r.ended_at > $3 and v.counts) as last_recent
				   from public.ipai_agent_run r
				   join public.ipai_agent a on a.id = r.agent_id
				  cross join lateral jsonb_array_elements_text(
				        case when jsonb_typeof(r.metadata -> 'over_budget') = 'array' then r.metadata -> 'over_budget' else '[]'::jsonb end) as k(kind)
				  cross join lateral (
				        select case when jsonb_typeof(r.metadata -> 'budget_used' -> k.kind) = 'number' then (r.metadata -> 'budget_used' ->> k.kind)::numeric end as used,
				               coalesce((case when jsonb_typeof(r.metadata -> 'budget_limits' -> k.kind) = 'number' then (r.metadata -> 'budget_limits' ->> k.kind)::numeric end)
				                        >= (case k.kind
				                              when 'daily_cost' then a.cost_budget_usd::numeric
				                              when 'run_latency' then a.latency_budget_ms::numeric
				                              else case when jsonb_typeof(a.config -> (case k.kind when 'daily_latency' then 'daily_latency_budget_ms' else 'max_run_cost_usd' end)) = 'number'
				                                        then (a.config ->> (case k.kind when 'daily_latency' then 'daily_latency_budget_ms' else 'max_run_cost_usd' end))::numeric end
				                            end), true) as counts) v
				  where r.agent_id = any ($4::uuid[]) and r.metadata ? 'over_budget' and r.ended_at > $5 and r.ended_at <= $1
				  group by r.agent_id, k.kind`,
				[ctx.now, dayStart, runStart, ids, earliest],
			),
		]);
		const callsBy = new Map(calls.rows.map((r) => [r.agent_id, r]));
		const eventsBy = new Map(events.rows.map((r) => [`${r.agent_id}/${r.kind}`, r]));

		for (const [, agent] of pairs) {
			const c = callsBy.get(agent.id);
			const budgets: AgentBudgetState[] = [];
			for (const [kind, limit] of budgetLimits(agent)) {
				const e = eventsBy.get(`${agent.id}/${kind}`);
				const unit = kind.endsWith('_cost') ? 'usd' : 'ms';
				if (kind === 'daily_cost' || kind === 'daily_latency') {
					const spent = Number((kind === 'daily_cost' ? c?.day_cost : c?.day_latency) ?? 0);
					const refusedToday = Number(e?.today ?? 0);
					const exhausted = refusedToday > 0 || (limit > 0 && spent >= limit);
					const warning = !exhausted && warnFraction > 0 && limit > 0 && spent >= warnFraction * limit;
					budgets.push({
						kind, unit, limit, used: spent, events: refusedToday, lastEventAt: e?.last_today?.toISOString() ?? null, day,
						state: exhausted ? 'exhausted' : warning ? 'warning' : 'ok',
						// Both when paging: the page mutes the warning ticket, which then stays quiet
						// instead of resolving when the page starts.
						severities: exhausted ? (exhaustedSeverity === 'page' ? ['page', 'ticket'] : ['ticket']) : warning ? ['ticket'] : [],
					});
				} else {
					const breaches = Number(e?.recent ?? 0);
					const breaking = breaches >= minRunEvents;
					budgets.push({
						kind, unit, limit, used: e?.worst_recent === null || e?.worst_recent === undefined ? null : Number(e.worst_recent),
						events: breaches, lastEventAt: e?.last_recent?.toISOString() ?? null, windowSeconds: runWindow,
						state: breaking ? 'breaking' : 'ok', severities: breaking ? [runSeverity] : [],
					});
				}
			}
			const events = Number(c?.calls ?? 0);
			const bad = Number(c?.bad ?? 0);
			const budget = 1 - slo.objective;
			const firing = budgets.flatMap((b) => b.severities);
			const target: SloTarget = { kind: 'agent', id: agent.id, name: agent.code_name, type: agent.agent_type };
			const status: SloStatus = {
				...baseStatus(ctx, slo, target),
				status: firing.includes('page') ? 'page' : firing.includes('ticket') ? 'ticket' : events === 0 ? 'no_data' : 'ok',
				events,
				badEvents: bad,
				sli: events > 0 ? round(1 - bad / events, 6) : null,
				errorBudgetRemaining: events > 0 ? round(1 - bad / events / budget, 6) : null,
				periodBurnRate: events > 0 ? round(bad / events / budget, 4) : null,
				budgets,
			};
			if (status.status === 'no_data') status.reason = 'No agent call in the SLO period';
			statuses.push(status);
			for (const b of budgets) for (const severity of b.severities) candidates.push(budgetCandidate(ctx, slo, status, b, severity));
		}
	}
	return { statuses, candidates };
}

function amount(value: number | null, unit: 'usd' | 'ms'): string {
	if (value === null) return 'n/a';
	return unit === 'usd' ? `$${Number(value.toFixed(4))}` : `${Math.round(value).toLocaleString('en-US')} ms`;
}

const BUDGET_NAMES: Record<BudgetKind, { name: string; setting: string }> = {
	daily_cost: { name: 'daily cost budget', setting: 'the daily cost budget (cost_budget_usd)' },
	daily_latency: { name: 'daily latency budget', setting: 'config.daily_latency_budget_ms' },
	run_cost: { name: 'per-run cost budget', setting: 'config.max_run_cost_usd' },
	run_latency: { name: 'per-run latency budget', setting: 'the latency budget (latency_budget_ms)' },
};

/** The words of a budget alert: which agent, which budget, used vs limit, and what to do. */
export function describeBudget(agent: string, b: AgentBudgetState): { title: string; summary: string; action: string } {
	const { name, setting } = BUDGET_NAMES[b.kind];
	const used = amount(b.used, b.unit);
	const limit = amount(b.limit, b.unit);
	const runs = 'its recent runs (ipai_agent_run, newest first)';
	if (b.state === 'exhausted') {
		const refused = b.events > 0 ? `; ${b.events} call${b.events === 1 ? '' : 's'} refused today${b.lastEventAt ? `, the last at ${b.lastEventAt}` : ''}` : '; its next call will be refused';
		return {
			title: `agent ${agent}: ${name} spent, calls refused`,
			summary: `Agent ${agent} has used ${used} of its ${name} of ${limit} (UTC day ${b.day})${refused}. The Agent Guard refuses its calls until 00:00 UTC or until the budget is raised.`,
			action: `Look at ${runs} for a loop or an unexpectedly expensive tool or query, and stop the caller if it is runaway. If the spend is expected, raise ${setting} with IPAI Agent Guard › Register or Update; this alert resolves once the limit is above what was spent.`,
		};
	}
	if (b.state === 'warning') {
		return {
			title: `agent ${agent}: ${Math.floor(((b.used ?? 0) / b.limit) * 100)}% of its ${name} used`,
			summary: `Agent ${agent} has used ${used} of its ${name} of ${limit} (UTC day ${b.day}); at the limit its calls are refused until 00:00 UTC.`,
			action: `If this pace is expected, raise ${setting} before it runs out (IPAI Agent Guard › Register or Update); otherwise look at ${runs} for what is spending.`,
		};
	}
	const window = formatDuration(b.windowSeconds ?? 3600);
	const what = b.kind === 'run_cost' ? 'cost' : 'took';
	return {
		title: `agent ${agent}: ${b.events} calls over its ${name} in ${window}`,
		summary: `${b.events} calls of agent ${agent} broke its ${name} of ${limit} in the last ${window} (the largest ${what} ${used})${b.lastEventAt ? `; the last at ${b.lastEventAt}` : ''}. ${b.kind === 'run_cost' ? 'Calls estimated above it are refused; calls that cost more are recorded failed.' : 'Queries are cancelled at the budget; slower logged calls are recorded failed.'}`,
		action: b.kind === 'run_cost'
			? `Find the calls in ${runs} (metadata.over_budget = run_cost): make them cheaper (smaller prompts or context, a cheaper model) or, if they are worth it, raise ${setting}.`
			: `Find the calls in ${runs} (metadata.over_budget = run_latency; input_summary.sql for queries): add filters or indexes, query a gold view instead of a large table, or raise ${setting}.`,
	};
}

function budgetCandidate(ctx: Context, slo: SloDefinition, status: SloStatus, b: AgentBudgetState, severity: Severity): AlertCandidate {
	const t = status.target;
	const identity: Record<string, string> = { alertname: 'AgentOverBudget', slo: slo.codeName, severity, agent_id: t.id, budget: b.kind };
	const text = describeBudget(t.name, b);
	return {
		keepFiringForSeconds: 0,
		fingerprint: fingerprintOf(identity),
		sloId: slo.id,
		alertname: 'AgentOverBudget',
		severity,
		targetId: t.id,
		labels: { ...slo.labels, ...identity, agent: t.name, agent_type: t.type, sli_type: slo.sliType },
		annotations: {
			title: text.title,
			summary: text.summary,
			action: text.action,
			budget: b,
			slo: slo.codeName,
			sloDescription: slo.description,
			objective: slo.objective,
			periodSeconds: slo.periodSeconds,
			target: t,
			burnRate: null,
			firingWindows: [],
			errorBudgetRemaining: status.errorBudgetRemaining,
			failingConnectors: [],
			runbookUrl: status.runbookUrl,
			alertRunbookUrl: runbookFor(ctx, ALERT_RUNBOOKS.AgentOverBudget),
			executionUrl: null,
		},
	};
}

// ---------------------------------------------------------------------------------------------
// Alert candidates

function pct(value: number | null): string {
	return value === null ? 'n/a' : `${round(value * 100, 1)}%`;
}

function candidate(
	ctx: Context,
	slo: SloDefinition,
	status: SloStatus,
	alertname: AlertName,
	severity: Severity,
	failing: FailingConnector[],
): AlertCandidate {
	const t = status.target;
	const identity: Record<string, string> =
		alertname === 'SLOBurnRate' ? burnIdentity(slo, t, severity) : { alertname, slo: slo.codeName, severity, [`${t.kind}_id`]: t.id };
	const labels: Record<string, string> = {
		...slo.labels,
		...identity,
		[t.kind]: t.name,
		[`${t.kind}_type`]: t.type,
		sli_type: slo.sliType,
	};
	const firingWindows = status.windows
		.filter((w) => w.firing && w.severity === severity)
		.map((w) => ({ name: w.name, longSeconds: w.longSeconds, shortSeconds: w.shortSeconds, factor: w.factor, longBurnRate: w.longBurnRate, shortBurnRate: w.shortBurnRate }));
	const burnRate = firingWindows.length ? Math.max(...firingWindows.map((w) => w.longBurnRate)) : null;
	const who = `${t.kind === 'connector' ? `${t.type}/` : 'agent '}${t.name}`;
	const stuck = stuckRunText(status.lastRun ?? null);
	let summary: string;
	let title: string;
	let action: string;
	if (alertname === 'ConnectorAbsent') {
		const a = status.absent!;
		title = stuck ? `${who}: ${stuck.title}` : `${who} stopped reporting runs`;
		summary = `${stuck ? `${stuck.summary} ` : ''}No run of ${who} started ${a.lastRunStartedAt ? `since ${a.lastRunStartedAt}` : 'yet'}; expected at least every ${formatDuration(a.absentAfterSeconds)}.`;
		action = stuck
			? `Find why the worker of run ${status.lastRun!.id} died (n8n worker logs, out-of-memory kills), then run the connector's workflow again; the alert resolves when a run starts.`
			: `Check that the connector's schedule workflow is active in n8n and that its dispatcher and workers are running; start the workflow by hand to confirm.`;
	} else if (alertname === 'ConnectorStale') {
		const f = status.freshness!;
		title = `${who} data is stale`;
		summary = `Last successful run ${f.lastSuccessAt ? `finished ${formatDuration(f.ageSeconds ?? 0)} ago (${f.lastSuccessAt})` : 'never happened'}; ${severity} threshold ${formatDuration(severity === 'page' ? f.pageAfterSeconds : f.ticketAfterSeconds)}. Error budget left ${pct(status.errorBudgetRemaining)}.${stuck ? ` ${stuck.summary}` : ''}`;
		action = status.lastError?.message
			? `Fix the last error (${oneLineText(status.lastError.message, 120)}) and re-run the connector; the alert resolves after its next successful run.`
			: `Check the connector's latest runs in ipai_connector_run and re-run it; the alert resolves after its next successful run.`;
	} else {
		title = `${slo.codeName}: ${who} is burning its error budget`;
		const w = firingWindows[0];
		summary = `Burn rate ${burnRate ?? 'n/a'}× over ${w ? formatDuration(w.longSeconds) : 'n/a'} (threshold ${w?.factor ?? 'n/a'}×, confirmed over ${w ? formatDuration(w.shortSeconds) : 'n/a'}); ${status.badEvents} of ${status.events} ${t.kind === 'connector' ? 'runs' : 'calls'} bad over ${formatDuration(slo.periodSeconds)}; error budget left ${pct(status.errorBudgetRemaining)}.`;
		if (status.latency?.p95Ms !== undefined && status.latency.p95Ms !== null) summary += ` p95 latency ${status.latency.p95Ms} ms (target < ${status.latency.thresholdMs} ms).`;
		if (status.failures) summary += ` ${status.failures.lastDay} failed calls in the last day (limit ${status.failures.maxPerDay}).`;
		action =
			t.kind === 'connector'
				? status.lastError?.message
					? `Open the failed execution and fix its cause (${oneLineText(status.lastError.message, 120)}); silence the alert while a known outage of the source lasts.`
					: `Look at the connector's failed runs in ipai_connector_run and fix their cause; silence the alert while a known outage of the source lasts.`
				: status.latency
					? `Find the slow calls in ipai_agent_run (latency_ms) and make them cheaper, or raise params.threshold_ms if the target is wrong.`
					: `Read the errors of the agent's failed calls in ipai_agent_run and fix their cause (model provider, tool, permissions).`;
	}
	return {
		keepFiringForSeconds: alertname === 'SLOBurnRate' ? holdSeconds(slo, status, severity) : 0,
		fingerprint: fingerprintOf(identity),
		sloId: slo.id,
		alertname,
		severity,
		targetId: t.id,
		labels,
		annotations: {
			title,
			summary,
			action,
			slo: slo.codeName,
			sloDescription: slo.description,
			objective: slo.objective,
			periodSeconds: slo.periodSeconds,
			target: t,
			burnRate,
			firingWindows,
			errorBudgetRemaining: status.errorBudgetRemaining,
			failingConnectors: failing,
			runbookUrl: status.runbookUrl,
			alertRunbookUrl: runbookFor(ctx, ALERT_RUNBOOKS[alertname]),
			executionUrl: status.lastError?.executionUrl ?? null,
		},
	};
}

/** The words for a connector's latest run when it is stuck (running past now's lease) or abandoned. */
function stuckRunText(run: LastRun | null): { title: string; summary: string } | null {
	if (!run || (run.status !== 'abandoned' && run.status !== 'running')) return null;
	const beat = run.lastHeartbeatAt ? `last heartbeat ${run.lastHeartbeatAt}` : 'no heartbeat recorded';
	if (run.status === 'abandoned') {
		return {
			title: `run ${run.id} was abandoned (worker presumed dead)`,
			summary: `Its latest run ${run.id} started ${run.startedAt}, ${beat}, and was marked abandoned when its lease expired.`,
		};
	}
	return { title: `run ${run.id} is stuck`, summary: `Its latest run ${run.id} started ${run.startedAt} and is still running (${beat}).` };
}

function oneLineText(text: string, max: number): string {
	const flat = text.replace(/\s+/g, ' ').trim();
	return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

// ---------------------------------------------------------------------------------------------
// Connector warnings (connector_warnings): a source that skipped repositories, streams or files
// still finishes `success`, with what it skipped in metadata.warnings (an array of texts). One such
// run is noise (a repository deleted mid-sync); warnings that persist — each of the last
// params.warning_runs successful runs (default 3) carries some — mean part of the source is not
// loaded, and open a ticket. A run without warnings resolves it.

async function evaluateWarningSlos(ctx: Context, slos: SloDefinition[]): Promise<Part> {
	const { rows: connectors } = await ctx.pool.query<ConnectorRow>(
		`select id, connector_type, name, schedule, created_at from public.ipai_connector_config
		  where is_enabled is not false order by connector_type, name`,
	);
	const pairs = targetsOf(slos, 'connector_warnings', connectors, (s) => s.connectorId);
	const statuses: SloStatus[] = [];
	const candidates: AlertCandidate[] = [];
	if (pairs.length === 0) return { statuses, candidates };
	const required = new Map(slos.map((s) => [s.id, Math.max(1, Math.floor(numberParam(s, 'warning_runs', 3)))]));
	const depth = Math.max(...required.values());
	const { rows } = await ctx.pool.query<{ connector_id: string; id: string; ended_at: Date; warnings: unknown }>(
		`select c.id as connector_id, r.id, r.ended_at, r.metadata -> 'warnings' as warnings
		   from unnest($2::uuid[]) as c(id)
		  cross join lateral (
		        select r.id, r.ended_at, r.metadata from public.ipai_connector_run r
		         where r.connector_id = c.id and r.status = 'success' and r.ended_at <= $1
		         order by r.started_at desc limit $3) r`,
		[ctx.now, [...new Set(pairs.map(([, c]) => c.id))], depth],
	);
	const runsBy = new Map<string, Array<{ runId: string; endedAt: string; warnings: string[] }>>();
	for (const r of rows) {
		const warnings = Array.isArray(r.warnings) ? r.warnings.map((w) => ctx.clean(String(w)) ?? '') : [];
		const list = runsBy.get(r.connector_id) ?? [];
		list.push({ runId: r.id, endedAt: r.ended_at.toISOString(), warnings });
		runsBy.set(r.connector_id, list);
	}
	for (const [slo, c] of pairs) {
		const need = required.get(slo.id)!;
		const runs = (runsBy.get(c.id) ?? []).slice(0, need);
		const withWarnings = runs.filter((r) => r.warnings.length > 0).length;
		const firing = runs.length >= need && withWarnings === need;
		const status: SloStatus = {
			...baseStatus(ctx, slo, connectorTarget(c)),
			status: firing ? 'ticket' : runs.length === 0 ? 'no_data' : 'ok',
			reason: runs.length === 0 ? 'No successful run yet' : undefined,
			events: runs.length,
			badEvents: withWarnings,
			warnings: { runs: runs.length, required: need, withWarnings, latest: runs },
		};
		statuses.push(status);
		if (!firing) continue;
		const identity: Record<string, string> = { alertname: 'ConnectorWarnings', slo: slo.codeName, severity: 'ticket', connector_id: c.id };
		const who = `${c.connector_type}/${c.name}`;
		const distinct = [...new Set(runs.flatMap((r) => r.warnings))];
		const shown = distinct.slice(0, 5).map((w) => oneLineText(w, 200));
		candidates.push({
			keepFiringForSeconds: 0,
			fingerprint: fingerprintOf(identity),
			sloId: slo.id,
			alertname: 'ConnectorWarnings',
			severity: 'ticket',
			targetId: c.id,
			labels: { ...slo.labels, ...identity, connector: c.name, connector_type: c.connector_type, sli_type: slo.sliType },
			annotations: {
				title: `${who}: its last ${need} successful runs skipped part of the source`,
				summary: `Each of the last ${need} successful runs of ${who} (the latest ${runs[0].runId}, ended ${runs[0].endedAt}) reported warnings: ${shown.join('; ')}${distinct.length > shown.length ? ` (+${distinct.length - shown.length} more)` : ''}.`,
				action: `Read metadata.warnings of the connector's latest runs in ipai_connector_run and give the connector access to what it skipped (token scope, repository or file permissions), or remove it from the connector's config.`,
				slo: slo.codeName,
				sloDescription: slo.description,
				objective: slo.objective,
				periodSeconds: slo.periodSeconds,
				target: status.target,
				burnRate: null,
				firingWindows: [],
				errorBudgetRemaining: null,
				failingConnectors: [],
				runbookUrl: status.runbookUrl,
				alertRunbookUrl: runbookFor(ctx, ALERT_RUNBOOKS.ConnectorWarnings),
				executionUrl: null,
			},
		});
	}
	return { statuses, candidates };
}
