/**
 * The Prometheus endpoint's text against a real PostgreSQL: the output passes Prometheus' own
 * `promtool check metrics`, is parsed by a parser we did not write (parse-prometheus-text-format,
 * prom2json-compatible), and every value is compared with direct SQL over the ledger (raw rows,
 * reduced in the test) and with the SLO monitor's own evaluation and alert table.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import type { Pool } from 'pg';
import {
	AGENT_LATENCY_BUCKETS,
	AGENT_STATUSES,
	CONNECTOR_DURATION_BUCKETS,
	CONNECTOR_STATUSES,
	renderMetrics,
} from '../../lib/observability/metrics';
import { evaluateSlos, runEvaluation } from '../../lib/slo';
import { useScratchDatabase } from '../../tooling/helpers/database';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const parseProm = require('parse-prometheus-text-format') as (text: string) => ParsedFamily[];

interface ParsedFamily {
	name: string;
	help: string;
	type: string;
	metrics: Array<{ value?: string; labels?: Record<string, string>; buckets?: Record<string, string>; count?: string; sum?: string }>;
}

jest.setTimeout(300_000);

const db = useScratchDatabase();
const NOW = new Date(Date.UTC(2026, 10, 22, 12, 0, 0));
const MIN = 60_000;

function promtool(body: string): { status: number | null; output: string } {
	const r = spawnSync('promtool', ['check', 'metrics'], { input: body, encoding: 'utf8' });
	if (r.error) throw new Error(`promtool is not installed (Debian package "prometheus"): ${r.error.message}`);
	return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

const key = (labels: Record<string, string> | undefined): string =>
	JSON.stringify(Object.entries(labels ?? {}).sort(([a], [b]) => a.localeCompare(b)));

/**
 * The library parses each sample line (names, escaped label values, numbers). Its histogram
 * grouping keeps only unlabelled histograms, so histogram families are given to it untyped (their
 * TYPE line removed): every _bucket/_sum/_count line then comes back as its own labelled sample.
 */
function parseAll(body: string): { families: ParsedFamily[]; histogramNames: Set<string> } {
	const histogramNames = new Set<string>();
	const text = body
		.split('\n')
		.filter((line) => {
			const m = /^# TYPE (\S+) histogram$/.exec(line);
			if (m) histogramNames.add(m[1]);
			return !m;
		})
		.join('\n');
	return { families: parseProm(text), histogramNames };
}

/** name → labels key → value, for simple samples; histograms as name → labels key → {buckets, count, sum}. */
function index(body: string) {
	const { families, histogramNames } = parseAll(body);
	const samples = new Map<string, Map<string, number>>();
	const histograms = new Map<string, Map<string, { buckets: Record<string, number>; count: number; sum: number }>>();
	for (const f of families) {
		const base = f.name.replace(/_(bucket|sum|count)$/, '');
		if (histogramNames.has(base) && base !== f.name) {
			const m = histograms.get(base) ?? new Map<string, { buckets: Record<string, number>; count: number; sum: number }>();
			histograms.set(base, m);
			for (const s of f.metrics) {
				const { le, ...labels } = s.labels ?? {};
				const h = m.get(key(labels)) ?? { buckets: {}, count: NaN, sum: NaN };
				m.set(key(labels), h);
				if (f.name.endsWith('_bucket')) h.buckets[le] = Number(s.value);
				else if (f.name.endsWith('_sum')) h.sum = Number(s.value);
				else h.count = Number(s.value);
			}
		} else {
			const m = samples.get(f.name) ?? new Map<string, number>();
			samples.set(f.name, m);
			for (const s of f.metrics) m.set(key(s.labels), Number(s.value));
		}
	}
	return { samples, histograms };
}

interface ConnectorRunRow {
	connector_type: string;
	name: string;
	status: string;
	started_at: Date;
	ended_at: Date | null;
	rows_read: number | null;
	rows_written: number | null;
}

/** The oracle: every run row of the ledger, reduced here the plain way. */
async function connectorOracle(pool: Pool) {
	const { rows } = await pool.query<ConnectorRunRow>(
		`select c.connector_type, c.name, r.status, r.started_at, r.ended_at, r.rows_read, r.rows_written
		   from public.ipai_connector_run r join public.ipai_connector_config c on c.id = r.connector_id
`,
	);
	const runs = new Map<string, number>();
	const read = new Map<string, number>();
	const written = new Map<string, number>();
	const lastSuccess = new Map<string, number>();
	const hist = new Map<string, { buckets: Record<string, number>; count: number; sum: number }>();
	const inc = (m: Map<string, number>, k: string, v: number) => m.set(k, (m.get(k) ?? 0) + v);
	for (const r of rows) {
		const labels = { connector_type: r.connector_type, connector: r.name };
		if (r.status === 'running') continue;
		inc(runs, key({ ...labels, status: r.status }), 1);
		inc(read, key(labels), r.rows_read ?? 0);
		inc(written, key(labels), r.rows_written ?? 0);
		if (r.status === 'success') lastSuccess.set(key(labels), Math.max(lastSuccess.get(key(labels)) ?? 0, r.ended_at!.getTime() / 1000));
		if (['success', 'failed', 'abandoned'].includes(r.status)) {
			const seconds = (r.ended_at!.getTime() - r.started_at.getTime()) / 1000;
			const h = hist.get(key(labels)) ?? { buckets: Object.fromEntries(CONNECTOR_DURATION_BUCKETS.map((b) => [String(b), 0])), count: 0, sum: 0 };
			for (const b of CONNECTOR_DURATION_BUCKETS) if (seconds <= b) h.buckets[String(b)] += 1;
			h.count += 1;
			h.sum += seconds;
			hist.set(key(labels), h);
		}
	}
	return { runs, read, written, lastSuccess, hist };
}

async function agentOracle(pool: Pool) {
	const { rows } = await pool.query<{ agent_type: string; code_name: string; status: string; tokens_used: number | null; cost_usd: string | null; latency_ms: number | null }>(
		`select a.agent_type, a.code_name, r.status, r.tokens_used, r.cost_usd, r.latency_ms
		   from public.ipai_agent_run r join public.ipai_agent a on a.id = r.agent_id
		  where r.status <> 'running'`,
	);
	const runs = new Map<string, number>();
	const tokens = new Map<string, number>();
	const cost = new Map<string, number>();
	const hist = new Map<string, { buckets: Record<string, number>; count: number; sum: number }>();
	const inc = (m: Map<string, number>, k: string, v: number) => m.set(k, (m.get(k) ?? 0) + v);
	for (const r of rows) {
		const labels = { agent_type: r.agent_type, agent: r.code_name };
		inc(runs, key({ ...labels, status: r.status }), 1);
		inc(tokens, key(labels), r.tokens_used ?? 0);
		inc(cost, key(labels), Number(r.cost_usd ?? 0));
		if (r.latency_ms !== null) {
			const h = hist.get(key(labels)) ?? { buckets: Object.fromEntries(AGENT_LATENCY_BUCKETS.map((b) => [String(b), 0])), count: 0, sum: 0 };
			for (const b of AGENT_LATENCY_BUCKETS) if (r.latency_ms / 1000 <= b) h.buckets[String(b)] += 1;
			h.count += 1;
			h.sum += r.latency_ms / 1000;
			hist.set(key(labels), h);
		}
	}
	return { runs, tokens, cost, hist };
}

async function resetLedger(pool: Pool): Promise<void> {
	// truncate fires no row or statement trigger of the ledger: the totals are cleared with it.
	await pool.query(`truncate public.ipai_alert_notification, public.ipai_alert, public.ipai_connector_lease, public.ipai_connector_state,
	                           public.ipai_connector_run, public.ipai_agent_run, ipai_meta.connector_run_totals, ipai_meta.agent_run_totals cascade`);
	await pool.query(`delete from public.ipai_agent_usage_day`).catch(() => undefined);
	await pool.query(`delete from public.ipai_connector_config; delete from public.ipai_agent`);
}

/** The least config the database accepts for a scheduled connector of each type. */
const RUNNABLE_CONFIG: Record<string, object> = { github: { repositories: ['acme/app'] }, file: { table: 'landing' } };

async function addConnector(pool: Pool, type: string, name: string, schedule: string | null = '*/5 * * * *'): Promise<string> {
	const { rows } = await pool.query<{ id: string }>(
		`insert into public.ipai_connector_config (connector_type, name, config, schedule, created_at) values ($1, $2, $5, $3, $4) returning id`,
		[type, name, schedule, new Date(NOW.getTime() - 30 * 24 * 60 * MIN), RUNNABLE_CONFIG[type] ?? {}],
	);
	return rows[0].id;
}

interface RunSpec {
	connector: number;
	status: 'success' | 'failed' | 'abandoned' | 'skipped' | 'running';
	startMinAgo: number;
	durationMs: number;
	rowsRead: number | null;
	rowsWritten: number | null;
}

async function addRuns(pool: Pool, ids: string[], runs: RunSpec[]): Promise<void> {
	if (runs.length === 0) return;
	await pool.query(
		`insert into public.ipai_connector_run (connector_id, started_at, ended_at, status, rows_read, rows_written, error_message)
		 select c, s, case when st = 'running' then null else s + make_interval(secs => d / 1000.0) end, st, rr, rw,
		        case when st in ('failed', 'abandoned') then 'Odoo answered 503 for run ' || gen_random_uuid() end
		   from unnest($1::uuid[], $2::timestamptz[], $3::float8[], $4::text[], $5::int[], $6::int[]) as t(c, s, d, st, rr, rw)`,
		[
			runs.map((r) => ids[r.connector]),
			runs.map((r) => new Date(NOW.getTime() - r.startMinAgo * MIN)),
			runs.map((r) => r.durationMs),
			runs.map((r) => r.status),
			runs.map((r) => r.rowsRead),
			runs.map((r) => r.rowsWritten),
		],
	);
}

interface AgentRunSpec {
	agent: number;
	status: 'success' | 'failed' | 'refused' | 'running';
	startMinAgo: number;
	latencyMs: number | null;
	tokens: number | null;
	costMicros: number | null;
}

async function addAgentRuns(pool: Pool, ids: string[], runs: AgentRunSpec[]): Promise<void> {
	if (runs.length === 0) return;
	await pool.query(
		`insert into public.ipai_agent_run (agent_id, started_at, ended_at, status, latency_ms, tokens_used, cost_usd)
		 select a, s, case when st = 'running' then null else s + interval '1 second' end, st, l, tk, c / 1000000.0
		   from unnest($1::uuid[], $2::timestamptz[], $3::text[], $4::int[], $5::int[], $6::int[]) as t(a, s, st, l, tk, c)`,
		[
			runs.map((r) => ids[r.agent]),
			runs.map((r) => new Date(NOW.getTime() - r.startMinAgo * MIN)),
			runs.map((r) => r.status),
			runs.map((r) => (r.status === 'running' ? null : r.latencyMs)),
			runs.map((r) => (r.status === 'running' ? null : r.tokens)),
			runs.map((r) => (r.status === 'running' ? null : r.costMicros)),
		],
	);
}

async function addAgent(pool: Pool, codeName: string, type = 'claude'): Promise<string> {
	const { rows } = await pool.query<{ id: string }>(
		`insert into public.ipai_agent (code_name, display_name, agent_type) values ($1, $1, $2) returning id`,
		[codeName, type],
	);
	return rows[0].id;
}

/** Compares every connector/agent sample of a render with the oracles. */
async function expectMatchesLedger(pool: Pool, body: string): Promise<void> {
	const { samples, histograms } = index(body);
	const c = await connectorOracle(pool);
	const a = await agentOracle(pool);
	const nonZero = (m: Map<string, number> | undefined) => new Map([...(m ?? new Map<string, number>())].filter(([, v]) => v !== 0));
	expect(nonZero(samples.get('ipai_connector_runs_total'))).toEqual(nonZero(c.runs));
	expect(nonZero(samples.get('ipai_connector_rows_read_total'))).toEqual(nonZero(c.read));
	expect(nonZero(samples.get('ipai_connector_rows_written_total'))).toEqual(nonZero(c.written));
	expect(samples.get('ipai_connector_last_success_timestamp_seconds') ?? new Map()).toEqual(c.lastSuccess);
	const ages = samples.get('ipai_connector_last_success_age_seconds') ?? new Map();
	expect([...ages.keys()].sort()).toEqual([...c.lastSuccess.keys()].sort());
	for (const [k, ts] of c.lastSuccess) expect(ages.get(k)).toBe(Math.max(0, Math.round(NOW.getTime() / 1000 - ts)));
	const hist = histograms.get('ipai_connector_run_duration_seconds') ?? new Map();
	for (const [k, h] of hist) {
		const o = c.hist.get(k) ?? { buckets: Object.fromEntries(CONNECTOR_DURATION_BUCKETS.map((b) => [String(b), 0])), count: 0, sum: 0 };
		expect({ ...h.buckets }).toEqual({ ...o.buckets, '+Inf': o.count });
		expect(h.count).toBe(o.count);
		expect(h.sum).toBeCloseTo(o.sum, 6);
	}
	expect([...c.hist.keys()].every((k) => hist.has(k))).toBe(true);

	expect(nonZero(samples.get('ipai_agent_runs_total'))).toEqual(nonZero(a.runs));
	expect(nonZero(samples.get('ipai_agent_tokens_total'))).toEqual(nonZero(a.tokens));
	const cost = nonZero(samples.get('ipai_agent_cost_usd_total'));
	expect([...cost.keys()].sort()).toEqual([...nonZero(a.cost).keys()].sort());
	for (const [k, v] of a.cost) expect(cost.get(k) ?? 0).toBeCloseTo(v, 6);
	const ah = histograms.get('ipai_agent_latency_seconds') ?? new Map();
	for (const [k, o] of a.hist) {
		const h = ah.get(k)!;
		expect({ ...h.buckets }).toEqual({ ...o.buckets, '+Inf': o.count });
		expect(h.count).toBe(o.count);
		expect(h.sum).toBeCloseTo(o.sum, 6);
	}
}

describe('metrics endpoint over a seeded ledger', () => {
	const WEIRD = 'odoo "prod"\\eu\nsecond line';
	let connectorIds: string[] = [];
	let agentIds: string[] = [];

	beforeAll(async () => {
		const pool = db.pool;
		await resetLedger(pool);
		connectorIds = [await addConnector(pool, 'odoo', WEIRD), await addConnector(pool, 'github', 'gh-main'), await addConnector(pool, 'file', 'never-ran', null)];
		agentIds = [await addAgent(pool, 'finance-analyst'), await addAgent(pool, 'ops-bot', 'gemini')];
		const runs: RunSpec[] = [];
		// Four hours of 5-minute runs; the odoo connector fails for its last 40 minutes (an incident).
		for (let m = 240; m > 0; m -= 5) {
			runs.push({ connector: 0, status: m <= 40 ? 'failed' : 'success', startMinAgo: m, durationMs: 500 + m * 37, rowsRead: m, rowsWritten: m - 1 });
			runs.push({ connector: 1, status: m % 60 === 0 ? 'skipped' : m % 45 === 0 ? 'abandoned' : 'success', startMinAgo: m, durationMs: 60_000 + m * 1000, rowsRead: 10, rowsWritten: null });
		}
		runs.push({ connector: 1, status: 'running', startMinAgo: 1, durationMs: 0, rowsRead: null, rowsWritten: null });
		await addRuns(pool, connectorIds, runs);
		const agentRuns: AgentRunSpec[] = [];
		for (let i = 0; i < 60; i++) {
			agentRuns.push({ agent: i % 2, status: i % 7 === 0 ? 'failed' : i % 11 === 0 ? 'refused' : 'success', startMinAgo: 200 - i, latencyMs: i % 5 === 0 ? null : 100 + i * 997, tokens: 1000 + i, costMicros: 1234 * i });
		}
		agentRuns.push({ agent: 0, status: 'running', startMinAgo: 0.5, latencyMs: null, tokens: null, costMicros: null });
		await addAgentRuns(pool, agentIds, agentRuns);
		// Alert state the way the monitor writes it.
		await runEvaluation(pool, { now: NOW });
	});

	it('the 0.0.4 text passes promtool check metrics (parser and linter)', async () => {
		const result = await renderMetrics(db.pool, { now: NOW });
		expect(result.errors).toEqual([]);
		const check = promtool(result.body);
		expect(check.output).toBe('');
		expect(check.status).toBe(0);
		expect(result.contentType).toMatch(/^text\/plain; version=0\.0\.4/);
	});

	it('the OpenMetrics text is read by Prometheus\' own OpenMetrics parser with the same series and values', async () => {
		const om = await renderMetrics(db.pool, { now: NOW, format: 'openmetrics', skipSlo: true });
		const text = await renderMetrics(db.pool, { now: NOW, skipSlo: true });
		expect(om.contentType).toMatch(/^application\/openmetrics-text; version=1\.0\.0/);
		expect(om.body.endsWith('# EOF\n')).toBe(true);
		// promtool's backfill reads OpenMetrics and needs a timestamp on every sample (seconds).
		const ts = Math.floor(NOW.getTime() / 1000);
		const stamped = om.body.split('\n').map((l) => (l === '' || l.startsWith('#') ? l : `${l} ${ts}`)).join('\n');
		const dir = mkdtempSync(join(tmpdir(), 'ipai-om-'));
		try {
			writeFileSync(join(dir, 'in.om'), stamped);
			const created = spawnSync('promtool', ['tsdb', 'create-blocks-from', 'openmetrics', join(dir, 'in.om'), join(dir, 'blocks')], { encoding: 'utf8' });
			expect(`${created.stderr}`).toBe('');
			expect(created.status).toBe(0);
			mkdirSync(join(dir, 'blocks', 'wal')); // dump opens the directory as a database, which expects a WAL
			const dump = spawnSync('promtool', ['tsdb', 'dump', join(dir, 'blocks')], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
			expect(dump.status).toBe(0);
			// Dump lines: {__name__="x", a="b"} value timestamp (Go-quoted values, JSON-compatible here).
			const fromOm = new Map<string, number>();
			for (const line of dump.stdout.split('\n').filter(Boolean)) {
				const m = /^(\{.*\}) (\S+) (\d+)$/.exec(line)!;
				const labels = JSON.parse(m[1].replace(/([{,]\s*)([a-zA-Z_][a-zA-Z0-9_]*)=/g, '$1"$2":')) as Record<string, string>;
				const { __name__: name, ...rest } = labels;
				fromOm.set(`${name}${key(rest)}`, Number(m[2]));
			}
			const fromText = new Map<string, number>();
			for (const f of parseAll(text.body).families) {
				if (f.name === 'ipai_metrics_render_seconds') continue;
				for (const s of f.metrics) fromText.set(`${f.name}${key(s.labels)}`, Number(s.value));
			}
			fromOm.delete('ipai_metrics_render_seconds[]');
			expect(fromOm).toEqual(fromText);
		} finally {
			rmSync(dir, { recursive: true, force: true });
		}
	});

	it('every counter, histogram and gauge equals direct SQL over the ledger', async () => {
		const { body } = await renderMetrics(db.pool, { now: NOW });
		await expectMatchesLedger(db.pool, body);
		const { samples } = index(body);
		// The escaped name parses back to the configured one (quote, backslash, line feed).
		expect(samples.get('ipai_connector_runs_total')!.get(key({ connector_type: 'odoo', connector: WEIRD, status: 'failed' }))).toBe(8);
		// A connector that never ran is present at 0, so its first failure is a visible increase.
		for (const status of CONNECTOR_STATUSES) {
			expect(samples.get('ipai_connector_runs_total')!.get(key({ connector_type: 'file', connector: 'never-ran', status }))).toBe(0);
		}
		for (const status of AGENT_STATUSES) expect(samples.get('ipai_agent_runs_total')!.has(key({ agent_type: 'gemini', agent: 'ops-bot', status }))).toBe(true);
		expect(samples.get('ipai_connector_runs_running')!.get(key({ connector_type: 'github', connector: 'gh-main' }))).toBe(1);
		expect(samples.get('ipai_agent_runs_running')!.get(key({ agent_type: 'claude', agent: 'finance-analyst' }))).toBe(1);
		// No run ids or error texts leak into labels.
		expect(body).not.toMatch(/503|[0-9a-f]{8}-[0-9a-f]{4}-/);
		expect(body).toContain('connector="odoo \\"prod\\"\\\\eu\\nsecond line"');
	});

	it('SLO gauges are the SLO monitor\'s own numbers; alert state is the alert table', async () => {
		const { body } = await renderMetrics(db.pool, { now: NOW });
		const { samples } = index(body);
		const evaluation = await evaluateSlos(db.pool, { now: NOW });
		const burn = samples.get('ipai_slo_burn_rate')!;
		const budget = samples.get('ipai_slo_error_budget_remaining_ratio')!;
		let compared = 0;
		for (const s of evaluation.statuses) {
			const labels = { slo: s.slo, sli_type: s.sliType, target_kind: s.target.kind, target_type: s.target.type, target: s.target.name };
			if (s.errorBudgetRemaining !== null) expect(budget.get(key(labels))).toBe(s.errorBudgetRemaining);
			else expect(budget.has(key(labels))).toBe(false);
			for (const w of s.windows) {
				expect(burn.get(key({ ...labels, window: w.name, range: 'long', severity: w.severity }))).toBe(w.longBurnRate);
				expect(burn.get(key({ ...labels, window: w.name, range: 'short', severity: w.severity }))).toBe(w.shortBurnRate);
				compared++;
			}
		}
		expect(compared).toBeGreaterThan(0);
		// The odoo incident burns the budget: its quick page window is over threshold.
		const odoo = evaluation.statuses.find((s) => s.slo === 'connector-run-success' && s.target.name === WEIRD)!;
		expect(odoo.windows.find((w) => w.name === 'page-quick')!.longBurnRate).toBeGreaterThan(1);

		const { rows: alerts } = await db.pool.query<{ labels: Record<string, string>; severity: string; state: string }>(
			`select labels, severity, state from public.ipai_alert`,
		);
		expect(alerts.length).toBeGreaterThan(0);
		const firing = samples.get('ipai_alert_firing')!;
		expect(firing.size).toBe(alerts.length);
		for (const a of alerts) {
			const labels: Record<string, string> = {};
			for (const [k, v] of Object.entries(a.labels)) if (!k.endsWith('_id')) labels[k.replace(/[^a-zA-Z0-9_]/g, '_')] = String(v);
			labels.severity = a.severity;
			expect(firing.get(key(labels))).toBe(a.state === 'firing' ? 1 : 0);
		}
	});

	it('deleting old runs (retention) leaves every counter and histogram where it was', async () => {
		const before = await renderMetrics(db.pool, { now: NOW });
		const deleted = await db.pool.query(`delete from public.ipai_connector_run where started_at < $1::timestamptz - interval '2 hours' and status <> 'running'`, [NOW]);
		const deletedAgents = await db.pool.query(`delete from public.ipai_agent_run where started_at < $1::timestamptz - interval '150 minutes' and status <> 'running'`, [NOW]);
		expect(deleted.rowCount).toBeGreaterThan(10);
		expect(deletedAgents.rowCount).toBeGreaterThan(5);
		const after = await renderMetrics(db.pool, { now: NOW });
		const strip = (text: string) => text.split('\n').filter((l) => !l.startsWith('ipai_metrics_render_seconds') && !l.startsWith('ipai_slo_') && !l.startsWith('ipai_alert_'));
		expect(strip(after.body)).toEqual(strip(before.body));
	});
});

describe('property: counters are the ledger and never decrease', () => {
	const statusArb = fc.constantFrom('success', 'failed', 'abandoned', 'skipped', 'running') as fc.Arbitrary<RunSpec['status']>;
	const runArb = fc.record({
		connector: fc.integer({ min: 0, max: 2 }),
		status: statusArb,
		startMinAgo: fc.integer({ min: 1, max: 60 * 24 * 10 }),
		durationMs: fc.integer({ min: 0, max: 3 * 3600 * 1000 }),
		rowsRead: fc.option(fc.integer({ min: 0, max: 1_000_000 }), { nil: null }),
		rowsWritten: fc.option(fc.integer({ min: 0, max: 1_000_000 }), { nil: null }),
	});
	const agentArb = fc.record({
		agent: fc.integer({ min: 0, max: 1 }),
		status: fc.constantFrom('success', 'failed', 'refused', 'running') as fc.Arbitrary<AgentRunSpec['status']>,
		startMinAgo: fc.integer({ min: 1, max: 60 * 24 * 10 }),
		latencyMs: fc.option(fc.integer({ min: 0, max: 200_000 }), { nil: null }),
		tokens: fc.option(fc.integer({ min: 0, max: 100_000 }), { nil: null }),
		costMicros: fc.option(fc.integer({ min: 0, max: 10_000_000 }), { nil: null }),
	});

	/** Every counter, bucket, count and sum of a render, by series. */
	function counterValues(body: string): Map<string, number> {
		const out = new Map<string, number>();
		const { families } = parseAll(body);
		for (const f of families) {
			if (f.type === 'COUNTER' || /_(bucket|sum|count)$/.test(f.name)) for (const s of f.metrics) out.set(`${f.name}${key(s.labels)}`, Number(s.value));
		}
		return out;
	}

	it('for random ledgers the counters equal the SQL counts; adding runs and deleting old ones never lowers a counter', async () => {
		await fc.assert(
			fc.asyncProperty(
				fc.array(runArb, { maxLength: 40 }),
				fc.array(agentArb, { maxLength: 20 }),
				fc.array(runArb, { maxLength: 20 }),
				fc.array(agentArb, { maxLength: 10 }),
				fc.integer({ min: 0, max: 60 * 24 * 10 }),
				fc.constantFrom('success', 'failed', 'abandoned', null),
				async (runs, agentRuns, moreRuns, moreAgentRuns, retentionMin, finishAs) => {
					const pool = db.pool;
					await resetLedger(pool);
					const ids = [await addConnector(pool, 'odoo', 'a'), await addConnector(pool, 'github', 'b'), await addConnector(pool, 'file', 'c')];
					const agents = [await addAgent(pool, 'x'), await addAgent(pool, 'y', 'custom')];
					await addRuns(pool, ids, runs);
					await addAgentRuns(pool, agents, agentRuns);
					const first = await renderMetrics(pool, { now: NOW, skipSlo: true });
					expect(first.errors).toEqual([]);
					await expectMatchesLedger(pool, first.body);

					// More runs finish (new rows, and running rows updated to their outcome, as finishRun
					// does), and retention deletes finished runs older than a random age.
					await addRuns(pool, ids, moreRuns);
					await addAgentRuns(pool, agents, moreAgentRuns);
					if (finishAs) {
						await pool.query(`update public.ipai_connector_run set status = $1, ended_at = started_at + interval '90 seconds', rows_read = 7 where status = 'running'`, [finishAs]);
						await pool.query(`update public.ipai_agent_run set status = $1, ended_at = started_at + interval '2 seconds', latency_ms = 2000, tokens_used = 5 where status = 'running'`, [finishAs === 'abandoned' ? 'refused' : finishAs]);
						await expectMatchesLedger(pool, (await renderMetrics(pool, { now: NOW, skipSlo: true })).body);
					}
					await pool.query(`delete from public.ipai_connector_run where status <> 'running' and started_at < $1::timestamptz - make_interval(mins => $2)`, [NOW, retentionMin]);
					await pool.query(`delete from public.ipai_agent_run where status <> 'running' and started_at < $1::timestamptz - make_interval(mins => $2)`, [NOW, retentionMin]);
					const second = await renderMetrics(pool, { now: NOW, skipSlo: true });
					expect(promtool(second.body).status).toBe(0);
					const a = counterValues(first.body);
					const b = counterValues(second.body);
					for (const [series, value] of a) {
						expect(b.has(series)).toBe(true);
						// sums are floating point: allow rounding in the last digits, never a real decrease
						expect(b.get(series)!).toBeGreaterThanOrEqual(value - Math.abs(value) * 1e-12);
					}
				},
			),
			{ numRuns: 25 },
		);
	});
});
