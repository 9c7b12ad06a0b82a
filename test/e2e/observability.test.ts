/**
 * Observability end to end, with real clients only:
 *  - a real n8n 2.x (JSON logs: N8N_LOG_FORMAT=json) with the packed package and the `metrics`
 *    template imported and activated the way the README says (`npm run workflows:import`), its
 *    webhook guarded by the "IPAI metrics scrape key" header credential;
 *  - a real Prometheus scraping that webhook every 2 s with the bearer key, queried with PromQL
 *    through its HTTP API; every value is compared with SQL over the ledger (the oracle);
 *  - a second n8n process (`n8n execute`) rendering the same metrics, compared with what
 *    Prometheus scraped from the server;
 *  - the JSON lines n8n's logger writes for run start/finish/fail, agent calls and alert
 *    transitions, parsed from the process output and compared with the ledger.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { Pool } from 'pg';
import { migrate } from '../../lib/lakehouse/migrate';
import { CONNECTOR_DURATION_BUCKETS } from '../../lib/observability/metrics';
import { evaluateSlos, runEvaluation } from '../../lib/slo';
import { createScratchDatabase, type ScratchDatabase } from '../../tooling/helpers/database';
import { N8nInstance, nodeOutput, type N8nRun } from '../../tooling/n8n/n8nRuntime';
import { lakehouseCredential, PACKAGE_NAME, packPackage } from '../../tooling/n8n/pack';
import { PrometheusServer } from './prometheus';

jest.setTimeout(600_000);

const ROOT = resolve(__dirname, '..', '..');
const JOB = 'ipai';
const SECRET = 'supersecret-e2e-7f3a';
let n8n: N8nInstance;
let prom: PrometheusServer;
let lakehouse: ScratchDatabase;
let pool: Pool;
let metricsKey: string;

const q = (sql: string, params: unknown[] = []) => pool.query(sql, params).then((r) => r.rows);
const one = async (sql: string, params: unknown[] = []) => Number(Object.values((await q(sql, params))[0])[0]);

/** Finished runs of a connector by SQL: the oracle for the counters. */
const ledgerCount = (connector: string, status: string) =>
	one(`select count(*) from public.ipai_connector_run r join public.ipai_connector_config c on c.id = r.connector_id where c.name = $1 and r.status = $2`, [connector, status]);

async function addRuns(connector: string, spec: string): Promise<void> {
	// spec: a SELECT yielding (started_at, duration_s, status) rows
	await pool.query(
		`insert into public.ipai_connector_run (connector_id, started_at, ended_at, status, rows_read, rows_written, error_message)
		 select c.id, s.started_at, s.started_at + make_interval(secs => s.duration_s), s.status, 10, 9,
		        case when s.status = 'failed' then 'Odoo answered 503' end
		   from public.ipai_connector_config c, (${spec}) s(started_at, duration_s, status)
		  where c.name = $1`,
		[connector],
	);
}

beforeAll(async () => {
	lakehouse = await createScratchDatabase('ipai_e2e_obs');
	await migrate({ connection: { connectionString: lakehouse.url } });
	pool = new Pool({ connectionString: lakehouse.url, max: 3 });
	await pool.query(
		`insert into public.ipai_connector_config (connector_type, name, config, schedule, created_at) values
		   ('odoo', 'odoo-prom', '{}', '*/5 * * * *', now() - interval '30 days'),
		   ('github', 'gh-prom', '{"repositories":["acme/app"]}', '*/5 * * * *', now() - interval '30 days'),
		   ('postgres', 'pg-prom', '{}', null, now() - interval '30 days')`,
	);
	// Six hours of 5-minute runs; the odoo connector fails for its last 45 minutes (an incident).
	await addRuns('odoo-prom', `select t, 20 + extract(minute from t)::int, case when t > now() - interval '45 minutes' then 'failed' else 'success' end
	                              from generate_series(now() - interval '6 hours', now() - interval '1 minute', interval '5 minutes') t`);
	await addRuns('gh-prom', `select t, 70, 'success' from generate_series(now() - interval '6 hours', now() - interval '2 minutes', interval '5 minutes') t`);
	// A database source reports its replication lag in run metadata (lib/observability/replication.ts).
	await pool.query(
		`insert into public.ipai_connector_run (connector_id, started_at, ended_at, status, rows_read, rows_written, metadata)
		 select id, now() - interval '10 minutes', now() - interval '9 minutes', 'success', 5, 5, '{"replication": {"lag_bytes": 1048576, "lag_seconds": 4.5}}'
		   from public.ipai_connector_config where name = 'pg-prom'`,
	);
	await pool.query(`insert into public.ipai_agent (code_name, display_name, agent_type) values ('prom-agent', 'prom-agent', 'claude')`);
	await pool.query(
		`insert into public.ipai_agent_run (agent_id, started_at, ended_at, status, latency_ms, tokens_used, cost_usd)
		 select a.id, now() - make_interval(mins => g), now() - make_interval(mins => g) + interval '1 second',
		        case when g % 7 = 0 then 'failed' else 'success' end, 300 * g, 100 + g, 0.0125
		   from public.ipai_agent a, generate_series(1, 30) g where a.code_name = 'prom-agent'`,
	);
	// Burn-rate alerts only: the staleness alerts are left for the SLO Monitor node (a transition it logs).
	await runEvaluation(pool, { slos: ['connector-run-success'] });

	n8n = await N8nInstance.create({ env: { N8N_LOG_FORMAT: 'json', N8N_LOG_LEVEL: 'info' } });
	await n8n.installPackage(packPackage());
	metricsKey = randomBytes(12).toString('hex');
	await n8n.importCredentials([
		{ ...lakehouseCredential('credLakehouse01', lakehouse.url), name: 'IPAI Lakehouse' },
		{ id: 'credMetricsKey1', name: 'IPAI metrics scrape key', type: 'httpHeaderAuth', data: { name: 'Authorization', value: `Bearer ${metricsKey}` } },
	]);
	await n8n.start({ timeoutMs: 300_000 });
	await n8n.setupOwner();
	const apiKey = await n8n.createApiKey();
	// What the README tells users to run.
	await promisify(execFile)('npx', ['ts-node', '--transpile-only', join(ROOT, 'bin', 'workflowsImport.ts'), '--n8n-url', n8n.baseUrl, '--only', 'metrics', '--activate'], {
		cwd: ROOT,
		env: { ...process.env, N8N_API_KEY: apiKey },
		timeout: 180_000,
	});
	await n8n.waitForWebhook('metrics', 'GET', 60_000);
	prom = await PrometheusServer.start(
		[{ job: JOB, target: new URL(n8n.baseUrl).host, metricsPath: '/webhook/metrics', bearerToken: metricsKey }],
		{ scrapeIntervalSeconds: 2 },
	);
	await prom.waitFor('a successful scrape of the n8n webhook', async () => (await prom.value(`up{job="${JOB}"}`)) === 1, 120_000);
});

afterAll(async () => {
	await prom?.stop();
	await n8n?.dispose();
	await pool?.end();
	await lakehouse?.drop();
});

it('the webhook refuses a scrape without the key; Prometheus scrapes it with the bearer key and finds every metric family', async () => {
	const anonymous = await fetch(`${n8n.baseUrl}/webhook/metrics`);
	expect(anonymous.status).toBe(403);
	await anonymous.arrayBuffer();
	const names = new Set((await prom.query(`group by (__name__) ({job="${JOB}"})`)).map((s) => s.metric.__name__));
	for (const name of [
		'ipai_connector_runs_total', 'ipai_connector_runs_running', 'ipai_connector_rows_read_total', 'ipai_connector_rows_written_total',
		'ipai_connector_run_duration_seconds_bucket', 'ipai_connector_run_duration_seconds_count', 'ipai_connector_run_duration_seconds_sum',
		'ipai_connector_last_success_age_seconds', 'ipai_connector_last_success_timestamp_seconds',
		'ipai_connector_replication_lag_bytes', 'ipai_connector_replication_lag_seconds',
		'ipai_agent_runs_total', 'ipai_agent_tokens_total', 'ipai_agent_cost_usd_total', 'ipai_agent_latency_seconds_bucket',
		'ipai_slo_burn_rate', 'ipai_slo_burn_rate_threshold', 'ipai_slo_error_budget_remaining_ratio', 'ipai_slo_objective_ratio',
		'ipai_alert_firing', 'ipai_alert_silenced', 'ipai_metrics_source_up',
	]) {
		expect(`${name}: ${names.has(name)}`).toBe(`${name}: true`);
	}
	expect((await prom.query(`ipai_metrics_source_up{job="${JOB}"} != 1`))).toEqual([]);
});

it('PromQL over the scraped series equals the ledger: increase() of failed runs, freshness, histogram buckets, agents, SLO gauges, alerts, replication lag', async () => {
	const failedBefore = await ledgerCount('odoo-prom', 'failed');
	// Thirty seconds of history, so a 20 s range is covered by samples from its start (increase()
	// then extrapolates by at most the range's edges, not by half the history).
	await prom.waitFor('30 s of scrapes', async () => (await prom.value(`count_over_time(up{job="${JOB}"}[30s])`)) >= 12, 120_000);
	await prom.waitFor('the scraped failure count to match the ledger', async () =>
		(await prom.value(`ipai_connector_runs_total{connector="odoo-prom",status="failed"}`)) === failedBefore);
	// Five more failures land between two scrapes.
	await addRuns('odoo-prom', `select now() - make_interval(secs => g * 20), 3, 'failed' from generate_series(1, 5) g`);
	const failedAfter = await ledgerCount('odoo-prom', 'failed');
	expect(failedAfter).toBe(failedBefore + 5);
	await prom.waitFor('Prometheus to scrape the new failures', async () =>
		(await prom.value(`ipai_connector_runs_total{connector="odoo-prom",status="failed"}`)) === failedAfter);
	const at = Date.now() / 1000;
	const failedSeries = 'ipai_connector_runs_total{connector="odoo-prom",status="failed"}';
	// increase() extrapolates to the range's edges (scrapes every 2 s, so by at most ~2 × 2.2 s of 20 s).
	const increase = await prom.value(`increase(${failedSeries}[20s])`, at);
	expect(increase).toBeGreaterThanOrEqual(5);
	expect(increase).toBeLessThanOrEqual(5 * (20 / (20 - 2 * 2.2)));
	expect(await prom.value(`max_over_time(${failedSeries}[20s]) - min_over_time(${failedSeries}[20s])`, at)).toBe(5);
	for (const status of ['success', 'abandoned', 'skipped']) {
		expect(await prom.value(`ipai_connector_runs_total{connector="odoo-prom",status="${status}"}`, at)).toBe(await ledgerCount('odoo-prom', status));
	}
	expect(await prom.value(`ipai_connector_rows_read_total{connector="odoo-prom"}`, at)).toBe(await one(
		`select sum(rows_read) from public.ipai_connector_run r join public.ipai_connector_config c on c.id = r.connector_id where c.name = 'odoo-prom'`));

	// Freshness: the last success's time exactly; its age as of the scrape that carried it.
	const lastSuccess = await one(
		`select extract(epoch from max(ended_at)) from public.ipai_connector_run r join public.ipai_connector_config c on c.id = r.connector_id
		  where c.name = 'gh-prom' and r.status = 'success'`);
	expect(await prom.value(`ipai_connector_last_success_timestamp_seconds{connector="gh-prom"}`, at)).toBeCloseTo(lastSuccess, 2);
	const [age] = await prom.query(`ipai_connector_last_success_age_seconds{connector="gh-prom"}`, at);
	const scrapedAt = await prom.value(`timestamp(ipai_connector_last_success_age_seconds{connector="gh-prom"})`, at);
	expect(Math.abs(Number(age.value[1]) - (scrapedAt - lastSuccess))).toBeLessThanOrEqual(3);

	// Histogram: each bucket is the number of finished runs at most that long.
	const durations = (await q(
		`select extract(epoch from ended_at - started_at)::float8 as s from public.ipai_connector_run r join public.ipai_connector_config c on c.id = r.connector_id
		  where c.name = 'odoo-prom' and r.status in ('success', 'failed', 'abandoned')`)).map((r) => Number(r.s));
	for (const le of CONNECTOR_DURATION_BUCKETS.filter((b) => b <= 120)) {
		expect(`le=${le}: ${await prom.value(`ipai_connector_run_duration_seconds_bucket{connector="odoo-prom",le="${le}"}`, at)}`).toBe(
			`le=${le}: ${durations.filter((d) => d <= le).length}`);
	}
	expect(await prom.value(`ipai_connector_run_duration_seconds_count{connector="odoo-prom"}`, at)).toBe(durations.length);
	expect(await prom.value(`ipai_connector_run_duration_seconds_sum{connector="odoo-prom"}`, at)).toBeCloseTo(durations.reduce((a, b) => a + b, 0), 3);

	// Agents.
	for (const status of ['success', 'failed']) {
		expect(await prom.value(`ipai_agent_runs_total{agent="prom-agent",status="${status}"}`, at)).toBe(await one(
			`select count(*) from public.ipai_agent_run where status = $1`, [status]));
	}
	expect(await prom.value(`ipai_agent_tokens_total{agent="prom-agent"}`, at)).toBe(await one(`select sum(tokens_used) from public.ipai_agent_run`));
	expect(await prom.value(`ipai_agent_cost_usd_total{agent="prom-agent"}`, at)).toBeCloseTo(await one(`select sum(cost_usd) from public.ipai_agent_run`), 6);
	expect(await prom.value(`ipai_agent_latency_seconds_bucket{agent="prom-agent",le="2"}`, at)).toBe(await one(`select count(*) from public.ipai_agent_run where latency_ms <= 2000`));

	// SLO gauges are the SLO monitor's own numbers (7-day budget: seconds apart change nothing).
	expect(await prom.value(`ipai_slo_objective_ratio{slo="connector-run-success"}`, at)).toBe(await one(`select objective from public.ipai_slo where code_name = 'connector-run-success'`));
	const status = (await evaluateSlos(pool, { slos: ['connector-run-success'] })).statuses.find((s) => s.target.name === 'odoo-prom')!;
	expect(await prom.value(`ipai_slo_error_budget_remaining_ratio{slo="connector-run-success",target="odoo-prom"}`, at)).toBeCloseTo(status.errorBudgetRemaining!, 3);
	expect(status.errorBudgetRemaining!).toBeLessThan(0);
	const pageWindow = status.windows.find((w) => w.severity === 'page' && w.firing)!;
	expect(await prom.value(`ipai_slo_burn_rate{slo="connector-run-success",target="odoo-prom",window="${pageWindow.name}",range="long"}`, at)).toBeGreaterThan(pageWindow.factor);

	// Alert state: one gauge per alert of the alert table.
	const firing = await one(`select count(*) from public.ipai_alert where state = 'firing'`);
	expect(firing).toBeGreaterThan(0);
	expect(await prom.value(`sum(ipai_alert_firing{job="${JOB}"})`, at)).toBe(firing);
	expect(await prom.value(`ipai_alert_firing{alertname="SLOBurnRate",connector="odoo-prom",severity="page"}`, at)).toBe(1);

	// Replication lag, read from the run metadata the database source wrote.
	expect(await prom.value(`ipai_connector_replication_lag_bytes{connector="pg-prom",connector_type="postgres"}`, at)).toBe(1048576);
	expect(await prom.value(`ipai_connector_replication_lag_seconds{connector="pg-prom"}`, at)).toBe(4.5);
	expect(await prom.query(`ipai_connector_replication_lag_bytes{connector!="pg-prom"}`, at)).toEqual([]);
});

it('label cardinality is bounded: 10,000 more runs add no series, and counters never reset across scrapes and retention', async () => {
	const seriesBefore = await prom.value(`count({job="${JOB}"})`);
	const successBefore = await ledgerCount('gh-prom', 'success');
	await addRuns('gh-prom', `select now() - make_interval(secs => g), g % 600, (array['success','failed','abandoned','skipped'])[1 + g % 4] from generate_series(1, 10000) g`);
	const successAfter = await ledgerCount('gh-prom', 'success');
	expect(successAfter).toBe(successBefore + 2500);
	await prom.waitFor('the 10,000 runs in the scraped counters', async () =>
		(await prom.value(`ipai_connector_runs_total{connector="gh-prom",status="success"}`)) === successAfter);
	expect(await prom.value(`count({job="${JOB}"})`)).toBe(seriesBefore);

	// Retention deletes old runs: the counters must not go down (a drop reads as a reset).
	const deleted = await pool.query(`delete from public.ipai_connector_run where started_at < now() - interval '3 hours'`);
	expect(deleted.rowCount).toBeGreaterThan(50);
	const after = Date.now() / 1000;
	await prom.waitFor('two scrapes after the deletion', async () => (await prom.value(`timestamp(up{job="${JOB}"})`)) > after + 2);
	const counters = `{job="${JOB}",__name__=~"ipai_.*(_total|_bucket|_count|_sum)"}`;
	expect(await prom.value(`count(${counters})`)).toBeGreaterThan(50);
	// resets() drops the metric name, so each counter family is asked on its own.
	const families = (await prom.query(`group by (__name__) (${counters})`)).map((r) => r.metric.__name__);
	expect(families.length).toBeGreaterThan(10);
	for (const family of families) expect(`${family}: ${JSON.stringify(await prom.query(`resets(${family}{job="${JOB}"}[10m]) > 0`))}`).toBe(`${family}: []`);
	expect(await prom.value(`ipai_connector_runs_total{connector="gh-prom",status="success"}`)).toBe(successAfter);
});

interface LogLine {
	level: string;
	message: string;
	metadata: Record<string, unknown>;
}

/**
 * One `n8n execute` (a second n8n process next to the server) of a workflow that first renders the
 * metrics, then starts, finishes and fails connector runs, logs an agent call and evaluates the
 * SLOs. With N8N_LOG_FORMAT=json every line it prints is a JSON object; the run itself
 * (--rawOutput) arrives as the message of n8n's own base-command log line.
 */
const cliRun = (() => {
	let pending: Promise<{ lines: LogLine[]; execution: N8nRun; before: number }> | undefined;
	return () => (pending ??= (async () => {
		await n8n.importWorkflow({
			id: 'ipaiObsCli00001',
			name: 'IPAI metrics and log lines from the CLI',
			active: false,
			settings: {},
			nodes: [
				{ id: 'l0', name: 'Manual', type: 'n8n-nodes-base.manualTrigger', typeVersion: 1, position: [0, 0], parameters: {} },
				{
					id: 'r1', name: 'Render', type: `${PACKAGE_NAME}.ipaiObservability`, typeVersion: 1, position: [200, 0],
					parameters: { operation: 'renderMetrics', format: 'prometheus', options: { includeSlo: false } }, credentials: LAKEHOUSE,
				},
				run('l1', 'Start', 400, { operation: 'start', connectorType: 'odoo', connectorName: 'log-ok' }),
				run('l2', 'Finish', 600, { operation: 'finish', runId: '={{ $json.runId }}', rowsRead: 10, rowsWritten: 9 }),
				run('l3', 'Start again', 800, { operation: 'start', connectorType: 'odoo', connectorName: 'log-broken' }),
				run('l4', 'Fail', 1000, {
					operation: 'fail', failSource: 'runId', runId: '={{ $json.runId }}',
					errorMessage: `Odoo at https://etl:${SECRET}@odoo.example.com refused: token=${SECRET}`,
				}),
				{
					id: 'l5', name: 'Agent call', type: `${PACKAGE_NAME}.ipaiAgentGuard`, typeVersion: 1, position: [1200, 0],
					parameters: { operation: 'log', agent: 'prom-agent', logTool: 'web_search', status: 'failed', tokensUsed: 42, costUsd: 0.01, latencyMs: 1500, errorMessage: `HTTP 401 with Bearer ${SECRET}xyz` },
					credentials: LAKEHOUSE,
				},
				{
					id: 'l6', name: 'Evaluate', type: `${PACKAGE_NAME}.ipaiSloMonitor`, typeVersion: 1, position: [1400, 0],
					parameters: { operation: 'evaluate', options: {} }, credentials: LAKEHOUSE,
				},
			],
			connections: chain(['Manual', 'Render', 'Start', 'Finish', 'Start again', 'Fail', 'Agent call', 'Evaluate']),
		});
		// The ledger has been quiet since the last test's scrapes: Prometheus' latest sample before
		// this instant is what the CLI's Render (the first node) must reproduce.
		const before = Date.now() / 1000;
		const result = await n8n.cliOk(['execute', '--id', 'ipaiObsCli00001', '--rawOutput']);
		const lines = result.stdout.split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as LogLine);
		const raw = lines.find((l) => l.metadata?.file === 'base-command.js' && l.message.startsWith('{'));
		if (!raw) throw new Error(`no run JSON among n8n's log lines:\n${result.stdout.slice(-2000)}`);
		return { lines, execution: JSON.parse(raw.message) as N8nRun, before };
	})());
})();

it('a second n8n process renders the same counters Prometheus scraped from the server', async () => {
	const { execution, before } = await cliRun();
	const body = String(nodeOutput(execution, 'Render')[0].body);
	const seriesKey = (name: string, labels: Record<string, string>) => `${name}${JSON.stringify(Object.entries(labels).sort(([a], [b]) => a.localeCompare(b)))}`;
	const rendered = new Map<string, number>();
	for (const line of body.split('\n')) {
		const m = /^(ipai_\w+(?:_total|_bucket|_count|_sum))(?:\{(.*)\})? (\S+)$/.exec(line);
		if (!m) continue;
		const labels = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((l) => [l[1], l[2]]));
		if (labels.le && labels.le !== '+Inf') labels.le = String(Number(labels.le));
		rendered.set(seriesKey(m[1], labels), Number(m[3]));
	}
	expect(rendered.size).toBeGreaterThan(50);
	const fromServer = new Map<string, number>();
	for (const s of await prom.query(`{job="${JOB}",__name__=~"ipai_.*(_total|_bucket|_count|_sum)"}`, before)) {
		const labels: Record<string, string> = { ...s.metric };
		const name = labels.__name__;
		for (const k of ['__name__', 'job', 'instance']) delete labels[k];
		// Bucket bounds compared as numbers: Prometheus may write le="1" as "1.0".
		if (labels.le && labels.le !== '+Inf') labels.le = String(Number(labels.le));
		fromServer.set(seriesKey(name, labels), Number(s.value[1]));
	}
	expect(fromServer).toEqual(rendered);
});

it('run start/finish/fail, agent calls and alert transitions are JSON lines of n8n\'s logger, with masked errors', async () => {
	const { lines, execution } = await cliRun();
	const ours = lines.filter((l) => l.metadata?.source === 'ipai-lakehouse');
	expect(ours.map((l) => l.metadata.event)).toEqual(expect.arrayContaining([
		'connector_run.start', 'connector_run.finish', 'connector_run.start', 'connector_run.fail', 'agent.call', 'alert.firing',
	]));
	expect(JSON.stringify(lines)).not.toContain(SECRET);
	for (const l of ours) expect(typeof l.metadata.timestamp).toBe('string');

	const okRun = String(nodeOutput(execution, 'Start')[0].runId);
	const brokenRun = String(nodeOutput(execution, 'Start again')[0].runId);
	const ledger = async (id: string) => (await q(
		`select status, rows_read, rows_written, error_message, extract(epoch from ended_at - started_at) * 1000 as ms from public.ipai_connector_run where id = $1`, [id]))[0];
	const byEvent = (event: string, runId: string) => ours.find((l) => l.metadata.event === event && l.metadata.run_id === runId)!;
	expect(byEvent('connector_run.start', okRun)).toMatchObject({ level: 'info', metadata: { connector_type: 'odoo', connector: 'log-ok', status: 'running' } });
	const finished = byEvent('connector_run.finish', okRun);
	const ok = await ledger(okRun);
	expect(finished).toMatchObject({ level: 'info', metadata: { status: 'success', rows_read: 10, rows_written: 9, error: null } });
	expect(Math.abs(Number(finished.metadata.duration_ms) - Number(ok.ms))).toBeLessThan(1);
	const failed = byEvent('connector_run.fail', brokenRun);
	const broken = await ledger(brokenRun);
	expect(failed).toMatchObject({ level: 'error', metadata: { status: 'failed', connector: 'log-broken', error: broken.error_message } });
	expect(String(failed.metadata.error)).toContain('***');
	expect(String(failed.metadata.error)).toContain('odoo.example.com');

	const agentRunId = String(nodeOutput(execution, 'Agent call')[0].runId);
	expect(ours.find((l) => l.metadata.event === 'agent.call')).toMatchObject({
		level: 'warn', metadata: { run_id: agentRunId, agent: 'prom-agent', tool: 'web_search', status: 'failed', tokens: 42, cost_usd: 0.01, duration_ms: 1500 },
	});

	// Alert transitions: exactly the alerts whose episode this evaluation started.
	const evaluatedAt = String(nodeOutput(execution, 'Evaluate')[0].evaluatedAt);
	const started = await q(`select fingerprint from public.ipai_alert where started_at = $1::timestamptz`, [evaluatedAt]);
	expect(started.length).toBeGreaterThan(0);
	expect(ours.filter((l) => l.metadata.event === 'alert.firing').map((l) => l.metadata.fingerprint).sort()).toEqual(started.map((r) => r.fingerprint).sort());
	expect(ours.some((l) => l.metadata.event === 'alert.firing' && l.metadata.alert === 'ConnectorStale' && l.metadata.connector === 'odoo-prom')).toBe(true);
});

const LAKEHOUSE = { ipaiLakehouseApi: { id: 'credLakehouse01', name: 'IPAI Lakehouse' } };

function run(id: string, name: string, x: number, parameters: Record<string, unknown>) {
	return { id, name, parameters, type: `${PACKAGE_NAME}.ipaiConnectorRun`, typeVersion: 1, position: [x, 0], credentials: LAKEHOUSE };
}

function chain(names: string[]) {
	return Object.fromEntries(names.slice(0, -1).map((from, i) => [from, { main: [[{ node: names[i + 1], type: 'main', index: 0 }]] }]));
}
