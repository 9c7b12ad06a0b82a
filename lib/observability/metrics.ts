/**
 * The lakehouse's metrics for Prometheus: rendered on request from the run ledger, the SLO
 * definitions and the alert state, so every n8n worker answers the same and nothing lives in
 * process memory.
 *
 * Counters are the ledger's totals of finished runs, kept in ipai_meta.*_run_totals by statement
 * triggers on the ledger (inserts and updates; deletes are not subtracted): they grow as runs
 * finish, a scrape reads one row per target and status instead of every run, and retention that
 * deletes old runs does not make them go down (a drop would read as a counter reset in
 * rate()/increase()).
 * A run is counted once it has finished, under its final status; running runs are a gauge.
 *
 * Labels are bounded by configuration: connector type and name, agent type and code name, SLO,
 * window, alert labels. No run ids, no error texts, no execution ids.
 *
 * Cost: the totals tables and the running runs (partial index), one SLO evaluation (lib/slo's
 * own, unchanged), one read of the alert table.
 */
import type { Pool } from 'pg';
import { evaluateSlos } from '../slo/evaluate';
import type { SloStatus } from '../slo/types';
import { dataQualityFamilies, readExpectations } from './dataQuality';
import { readReplication, replicationFamilies } from './replication';
import { CONTENT_TYPES, labelName, writeExposition, type ExpositionFormat, type HistogramSample, type Labels, type MetricFamily, type Sample } from './exposition';

export { CONTENT_TYPES, type ExpositionFormat } from './exposition';

/** Seconds; the same boundaries as ipai_meta.fold_deleted_connector_runs(). */
export const CONNECTOR_DURATION_BUCKETS = [1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200] as const;
/** Seconds; the same boundaries as ipai_meta.fold_deleted_agent_runs() (which compares milliseconds). */
export const AGENT_LATENCY_BUCKETS = [0.25, 0.5, 1, 2, 5, 10, 30, 60, 120] as const;

export const CONNECTOR_STATUSES = ['success', 'failed', 'abandoned', 'skipped'] as const;
export const AGENT_STATUSES = ['success', 'failed', 'refused'] as const;

export interface RenderOptions {
	format?: ExpositionFormat;
	/** The evaluation instant (default: the database clock). */
	now?: Date;
	/** Leave out the SLO gauges (burn rates, error budget); alert state is still read. */
	skipSlo?: boolean;
}

export interface RenderResult {
	body: string;
	contentType: string;
	/** Errors of sources that could not be read (also exported as ipai_metrics_source_up 0). */
	errors: Array<{ source: string; message: string }>;
	durationMs: number;
}

interface ConnectorRow {
	connector_type: string;
	name: string;
	status: string | null;
	runs: string;
	rows_read: string;
	rows_written: string;
	d_count: string;
	d_sum: number;
	buckets: string[];
	last_ended_at: Date | null;
	running: string;
}

interface AgentRow {
	agent_type: string;
	code_name: string;
	status: string | null;
	runs: string;
	tokens: string;
	cost: string;
	l_count: string;
	l_sum: number;
	buckets: string[];
	running: string;
}

/**
 * Totals per connector and status (kept by the ledger's triggers, see the migration
 * 20261122001000_metrics.sql) and the runs in progress (a partial index); labels from
 * the config, every config listed so a connector without runs is exported at 0.
 */
const CONNECTOR_SQL = `
	select c.connector_type, c.name, t.status, t.runs::text, t.rows_read::text, t.rows_written::text,
	       t.duration_count::text as d_count, t.duration_sum::float8 as d_sum, t.duration_buckets::text[] as buckets,
	       t.last_ended_at, coalesce(running.n, 0)::text as running
	  from public.ipai_connector_config c
	  left join ipai_meta.connector_run_totals t on t.connector_id = c.id and t.duration_le = $1::float8[]
	  left join (select connector_id, count(*) as n from public.ipai_connector_run where status = 'running' group by connector_id) running
	         on running.connector_id = c.id
	 order by c.connector_type, c.name, t.status`;

const AGENT_SQL = `
	select a.agent_type, a.code_name, t.status, t.runs::text, t.tokens::text, t.cost_usd::text as cost,
	       t.latency_count::text as l_count, t.latency_sum::float8 as l_sum, t.latency_buckets::text[] as buckets,
	       coalesce(running.n, 0)::text as running
	  from public.ipai_agent a
	  left join ipai_meta.agent_run_totals t on t.agent_id = a.id and t.latency_le = $1::float8[]
	  left join (select agent_id, count(*) as n from public.ipai_agent_run where status = 'running' group by agent_id) running
	         on running.agent_id = a.id
	 order by a.agent_type, a.code_name, t.status`;

interface AlertRow {
	labels: Record<string, unknown>;
	severity: string;
	state: string;
	silenced: boolean;
	started_at: Date;
}

const num = (s: string | number | null | undefined): number => (s === null || s === undefined ? 0 : Number(s));

function histogramKey(labels: Labels): string {
	return JSON.stringify(labels);
}

function addTo(map: Map<string, Sample>, labels: Labels, value: number): void {
	const key = histogramKey(labels);
	const s = map.get(key);
	if (s) s.value += value;
	else map.set(key, { labels, value });
}

/** Sums per-status histograms into one per target. */
function addHistogram(map: Map<string, HistogramSample>, labels: Labels, le: readonly number[], buckets: string[] | null, count: number, sum: number): void {
	const key = histogramKey(labels);
	const h = map.get(key) ?? { labels, le, buckets: le.map(() => 0), count: 0, sum: 0 };
	const b = h.buckets as number[];
	(buckets ?? []).forEach((v, i) => {
		b[i] += num(v);
	});
	h.count += count;
	// Whole microseconds (the ledger's resolution): live and archived parts summed in another
	// order must give the same total, or a deletion could lower _sum by a rounding error.
	h.sum = Math.round((h.sum + sum) * 1e6) / 1e6;
	map.set(key, h);
}

export async function renderMetrics(pool: Pool, options: RenderOptions = {}): Promise<RenderResult> {
	const started = process.hrtime.bigint();
	const format = options.format ?? 'prometheus';
	const now = options.now ?? (await pool.query<{ now: Date }>('select now() as now')).rows[0].now;
	const errors: RenderResult['errors'] = [];
	const guard = async <T>(source: string, fn: () => Promise<T>): Promise<T | undefined> => {
		try {
			return await fn();
		} catch (error) {
			errors.push({ source, message: (error as Error).message });
			return undefined;
		}
	};

	const [connectors, agents, evaluation, alerts, replication, dataQuality] = await Promise.all([
		guard('connector_runs', async () => (await pool.query<ConnectorRow>(CONNECTOR_SQL, [CONNECTOR_DURATION_BUCKETS])).rows),
		guard('agent_runs', async () => (await pool.query<AgentRow>(AGENT_SQL, [AGENT_LATENCY_BUCKETS])).rows),
		options.skipSlo ? Promise.resolve(undefined) : guard('slo', () => evaluateSlos(pool, { now })),
		guard('alerts', async () =>
			(
				await pool.query<AlertRow>(
					`select labels, severity, state, coalesce(cardinality(silenced_by), 0) > 0 as silenced, started_at
					   from public.ipai_alert where not labels ? 'alertgroup' order by fingerprint`, // group alerts only announce their members
				)
			).rows,
		),
		guard('replication', () => readReplication(pool)),
		guard('data_quality', () => readExpectations(pool)),
	]);

	const families: MetricFamily[] = [];
	families.push(...connectorFamilies(connectors ?? [], now));
	families.push(...replicationFamilies(replication ?? []));
	families.push(...agentFamilies(agents ?? []));
	if (!options.skipSlo) families.push(...sloFamilies(evaluation?.statuses ?? []));
	families.push(...alertFamilies(alerts ?? []));
	families.push(...dataQualityFamilies(dataQuality ?? []));

	const sources = ['connector_runs', 'agent_runs', ...(options.skipSlo ? [] : ['slo']), 'alerts', 'replication', 'data_quality'];
	families.push({
		name: 'ipai_metrics_source_up',
		type: 'gauge',
		help: 'Whether the source of a group of metrics could be read at this scrape (1) or not (0: its metrics are missing from this scrape).',
		samples: sources.map((source) => ({ labels: { source }, value: errors.some((e) => e.source === source) ? 0 : 1 })),
	});
	const durationMs = Number(process.hrtime.bigint() - started) / 1e6;
	families.push({
		name: 'ipai_metrics_render_seconds',
		type: 'gauge',
		help: 'Time the lakehouse took to render this scrape, in seconds.',
		unit: 'seconds',
		samples: [{ labels: {}, value: durationMs / 1000 }],
	});
	const body = writeExposition(families, format);
	return { body, contentType: CONTENT_TYPES[format], errors, durationMs: Number(process.hrtime.bigint() - started) / 1e6 };
}

function connectorFamilies(rows: ConnectorRow[], now: Date): MetricFamily[] {
	const runs = new Map<string, Sample>();
	const read = new Map<string, Sample>();
	const written = new Map<string, Sample>();
	const running = new Map<string, Sample>();
	const lastSuccess = new Map<string, Sample>();
	const hist = new Map<string, HistogramSample>();
	for (const r of rows) {
		const labels = { connector_type: r.connector_type, connector: r.name };
		const key = histogramKey(labels);
		// Every status series exists from the connector's first scrape on (at 0), so the first
		// failure is an increase Prometheus can see, not a series appearing at 1.
		for (const status of CONNECTOR_STATUSES) addTo(runs, { ...labels, status }, 0);
		addTo(read, labels, 0);
		addTo(written, labels, 0);
		addTo(running, labels, 0);
		addHistogram(hist, labels, CONNECTOR_DURATION_BUCKETS, null, 0, 0);
		// The in-progress count repeats on each status row of a connector: set, not added.
		running.set(key, { labels, value: num(r.running) });
		if (r.status === null) continue; // a connector without finished runs
		addTo(runs, { ...labels, status: r.status }, num(r.runs));
		addTo(read, labels, num(r.rows_read));
		addTo(written, labels, num(r.rows_written));
		if (r.status === 'success' && r.last_ended_at) {
			const t = r.last_ended_at.getTime() / 1000;
			if (!(lastSuccess.get(key)?.value! >= t)) lastSuccess.set(key, { labels, value: t });
		}
		addHistogram(hist, labels, CONNECTOR_DURATION_BUCKETS, r.buckets, num(r.d_count), r.d_sum);
	}
	return [
		{ name: 'ipai_connector_runs', type: 'counter', help: 'Finished connector runs by final status (success, failed, abandoned, skipped), from the run ledger.', samples: [...runs.values()] },
		{ name: 'ipai_connector_runs_running', type: 'gauge', help: 'Connector runs in progress now.', samples: [...running.values()] },
		{ name: 'ipai_connector_rows_read', type: 'counter', help: 'Source rows read by finished connector runs.', samples: [...read.values()] },
		{ name: 'ipai_connector_rows_written', type: 'counter', help: 'Lakehouse rows written by finished connector runs.', samples: [...written.values()] },
		{
			name: 'ipai_connector_run_duration_seconds',
			type: 'histogram',
			help: 'Duration of finished connector runs (success, failed, abandoned; skipped runs did no work), in seconds.',
			unit: 'seconds',
			histograms: [...hist.values()],
		},
		{
			name: 'ipai_connector_last_success_timestamp_seconds',
			type: 'gauge',
			help: 'Unix time when the last successful run of the connector ended.',
			unit: 'seconds',
			samples: [...lastSuccess.values()],
		},
		{
			name: 'ipai_connector_last_success_age_seconds',
			type: 'gauge',
			help: 'Seconds since the last successful run of the connector ended (absent when it never succeeded).',
			unit: 'seconds',
			samples: [...lastSuccess.values()].map((s) => ({ labels: s.labels, value: Math.max(0, Math.round(now.getTime() / 1000 - s.value)) })),
		},
	];
}

function agentFamilies(rows: AgentRow[]): MetricFamily[] {
	const runs = new Map<string, Sample>();
	const tokens = new Map<string, Sample>();
	const cost = new Map<string, Sample>();
	const running = new Map<string, Sample>();
	const hist = new Map<string, HistogramSample>();
	for (const r of rows) {
		const labels = { agent_type: r.agent_type, agent: r.code_name };
		for (const status of AGENT_STATUSES) addTo(runs, { ...labels, status }, 0);
		addTo(tokens, labels, 0);
		addTo(cost, labels, 0);
		addTo(running, labels, 0);
		addHistogram(hist, labels, AGENT_LATENCY_BUCKETS, null, 0, 0);
		running.set(histogramKey(labels), { labels, value: num(r.running) });
		if (r.status === null) continue;
		addTo(runs, { ...labels, status: r.status }, num(r.runs));
		addTo(tokens, labels, num(r.tokens));
		addTo(cost, labels, num(r.cost));
		addHistogram(hist, labels, AGENT_LATENCY_BUCKETS, r.buckets, num(r.l_count), r.l_sum);
	}
	for (const c of cost.values()) c.value = Math.round(c.value * 1e6) / 1e6;
	return [
		{ name: 'ipai_agent_runs', type: 'counter', help: 'Finished agent runs by final status (success, failed, refused).', samples: [...runs.values()] },
		{ name: 'ipai_agent_runs_running', type: 'gauge', help: 'Agent runs in progress now.', samples: [...running.values()] },
		{ name: 'ipai_agent_tokens', type: 'counter', help: 'Model tokens used by finished agent runs.', samples: [...tokens.values()] },
		{ name: 'ipai_agent_cost_usd', type: 'counter', help: 'Cost of finished agent runs in US dollars.', samples: [...cost.values()] },
		{
			name: 'ipai_agent_latency_seconds',
			type: 'histogram',
			help: 'Latency of finished agent runs that recorded one, in seconds.',
			unit: 'seconds',
			histograms: [...hist.values()],
		},
	];
}

function sloFamilies(statuses: SloStatus[]): MetricFamily[] {
	const burn: Sample[] = [];
	const threshold: Sample[] = [];
	const budget: Sample[] = [];
	const objective = new Map<string, Sample>();
	for (const s of statuses) {
		const labels = { slo: s.slo, sli_type: s.sliType, target_kind: s.target.kind, target_type: s.target.type, target: s.target.name };
		objective.set(s.slo, { labels: { slo: s.slo, sli_type: s.sliType }, value: s.objective });
		if (s.errorBudgetRemaining !== null) budget.push({ labels, value: s.errorBudgetRemaining });
		if (s.periodBurnRate !== null) burn.push({ labels: { ...labels, window: 'period', range: 'long', severity: '' }, value: s.periodBurnRate });
		for (const w of s.windows) {
			burn.push({ labels: { ...labels, window: w.name, range: 'long', severity: w.severity }, value: w.longBurnRate });
			burn.push({ labels: { ...labels, window: w.name, range: 'short', severity: w.severity }, value: w.shortBurnRate });
			threshold.push({ labels: { ...labels, window: w.name, severity: w.severity }, value: w.factor });
		}
	}
	return [
		{ name: 'ipai_slo_objective_ratio', type: 'gauge', help: 'Target share of good events of the SLO (e.g. 0.99).', samples: [...objective.values()] },
		{
			name: 'ipai_slo_burn_rate',
			type: 'gauge',
			help: 'Error-budget burn rate per SLO, target and alert window (range long or short; window "period" is the whole SLO period), as the SLO monitor computes it. 1 spends the budget in exactly the period.',
			samples: burn,
		},
		{ name: 'ipai_slo_burn_rate_threshold', type: 'gauge', help: 'Burn rate both windows of an alert window must exceed to fire.', samples: threshold },
		{
			name: 'ipai_slo_error_budget_remaining_ratio',
			type: 'gauge',
			help: 'Share of the error budget left over the SLO period (1 untouched, 0 spent, negative overspent); absent without events.',
			samples: budget,
		},
	];
}

const RESERVED = new Set(['severity', 'alertstate', 'le']);

function alertFamilies(rows: AlertRow[]): MetricFamily[] {
	const firing: Sample[] = [];
	const silenced: Sample[] = [];
	for (const r of rows) {
		const labels: Labels = {};
		for (const [k, v] of Object.entries(r.labels ?? {})) {
			const name = labelName(k);
			// Ids repeat the connector/agent name the alert already carries; a metric label with a uuid is noise in Grafana.
			if (RESERVED.has(name) || name.endsWith('_id')) continue;
			labels[name] = String(v);
		}
		labels.severity = r.severity;
		firing.push({ labels, value: r.state === 'firing' ? 1 : 0 });
		silenced.push({ labels, value: r.silenced ? 1 : 0 });
	}
	return [
		{ name: 'ipai_alert_firing', type: 'gauge', help: 'Alert state per alert as the SLO monitor keeps it: 1 firing, 0 resolved.', samples: firing },
		{ name: 'ipai_alert_silenced', type: 'gauge', help: 'Whether a silence matched the alert at its last evaluation (1) or not (0).', samples: silenced },
	];
}
