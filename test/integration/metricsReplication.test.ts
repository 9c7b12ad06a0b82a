/**
 * Replication lag from run metadata, and label cardinality, on the metrics endpoint's text over a
 * real PostgreSQL; every output passes Prometheus' own `promtool check metrics`.
 *
 * The contract with database sources (lib/observability/replication.ts, docs/observability.md):
 * metadata.replication.lag_bytes / lag_seconds of the connector's latest run carrying
 * metadata.replication; nothing when absent or not a number.
 */
import { spawnSync } from 'node:child_process';
import { renderMetrics } from '../../lib/observability/metrics';
import { useScratchDatabase } from '../../tooling/helpers/database';
import { addConnector, addRuns, DAY, MINUTE } from './sloHelpers';

jest.setTimeout(300_000);

const db = useScratchDatabase();

function promtool(body: string): void {
	const r = spawnSync('promtool', ['check', 'metrics'], { input: body, encoding: 'utf8' });
	if (r.error) throw new Error(`promtool is not installed (Debian package "prometheus"): ${r.error.message}`);
	expect(`${r.stdout}${r.stderr}`).toBe('');
	expect(r.status).toBe(0);
}

/** Sample lines of a family, by their label text. */
function samples(body: string, name: string): Map<string, number> {
	const out = new Map<string, number>();
	for (const line of body.split('\n')) {
		const m = new RegExp(`^${name}(\\{.*\\})? (\\S+)$`).exec(line);
		if (m) out.set(m[1] ?? '', Number(m[2]));
	}
	return out;
}

async function addRun(connectorId: string, startedMinAgo: number, metadata: unknown, status = 'success'): Promise<void> {
	await db.pool.query(
		`insert into public.ipai_connector_run (connector_id, started_at, ended_at, status, rows_read, rows_written, metadata)
		 values ($1, now() - make_interval(mins => $2), case when $4 = 'running' then null else now() - make_interval(mins => $2) + interval '30 seconds' end, $4, 1, 1, $3)`,
		[connectorId, startedMinAgo, JSON.stringify(metadata), status],
	);
}

describe('replication lag gauges', () => {
	it('come from the latest run carrying metadata.replication; absent or non-numeric values yield nothing', async () => {
		const now = Date.now();
		const pg = await addConnector(db.pool, { name: 'pg-orders', type: 'postgres', createdAt: new Date(now - DAY) });
		const my = await addConnector(db.pool, { name: 'mariadb-shop', type: 'mariadb', createdAt: new Date(now - DAY) });
		const bad = await addConnector(db.pool, { name: 'pg-broken', type: 'postgres', createdAt: new Date(now - DAY) });
		const none = await addConnector(db.pool, { name: 'odoo-plain', type: 'odoo', createdAt: new Date(now - DAY) });
		await addRun(pg, 60, { replication: { lag_bytes: 999, lag_seconds: 99 } });
		await addRun(pg, 30, { replication: { lag_bytes: 2048, lag_seconds: 1.25 } });
		// Later runs without the key (a skipped one, a plain one) do not hide the latest observation.
		await addRun(pg, 10, { reason: 'busy' }, 'skipped');
		// A running run's heartbeat reports it too: the newest observation wins.
		await addRun(my, 90, { replication: { lag_bytes: 10, lag_seconds: 3 } });
		await addRun(my, 5, { replication: { lag_bytes: '123456789012', lag_seconds: null } }, 'running');
		await addRun(bad, 5, { replication: { lag_bytes: 'a lot', lag_seconds: { nested: 1 } } });
		await addRuns(db.pool, none, { from: now - 3 * 60 * MINUTE, to: now - MINUTE, every: 5 * MINUTE });

		const { body, errors } = await renderMetrics(db.pool, { skipSlo: true });
		expect(errors).toEqual([]);
		promtool(body);
		expect(samples(body, 'ipai_connector_replication_lag_bytes')).toEqual(new Map([
			['{connector_type="mariadb",connector="mariadb-shop"}', 123456789012],
			['{connector_type="postgres",connector="pg-orders"}', 2048],
		]));
		expect(samples(body, 'ipai_connector_replication_lag_seconds')).toEqual(new Map([['{connector_type="postgres",connector="pg-orders"}', 1.25]]));
		const observed = samples(body, 'ipai_connector_replication_observed_timestamp_seconds');
		const { rows } = await db.pool.query<{ t: number }>(
			`select extract(epoch from coalesce(ended_at, started_at))::float8 as t from public.ipai_connector_run where connector_id = $1 and metadata ? 'replication' order by started_at desc limit 1`,
			[pg],
		);
		expect(observed.get('{connector_type="postgres",connector="pg-orders"}')).toBeCloseTo(rows[0].t, 2);
		expect([...observed.keys()].sort()).toEqual(['{connector_type="mariadb",connector="mariadb-shop"}', '{connector_type="postgres",connector="pg-orders"}']);
		expect(samples(body, 'ipai_metrics_source_up').get('{source="replication"}')).toBe(1);

		// The OpenMetrics text carries the unit.
		const om = await renderMetrics(db.pool, { skipSlo: true, format: 'openmetrics' });
		expect(om.body).toContain('# UNIT ipai_connector_replication_lag_bytes bytes');
	});

	it('the read uses the partial index, so connectors without replication cost no scan of their runs', async () => {
		const { rows } = await db.pool.query<{ indexdef: string }>(`select indexdef from pg_indexes where indexname = 'idx_connector_run_replication'`);
		expect(rows[0].indexdef).toContain(`WHERE (metadata ? 'replication'::text)`);
	});
});

describe('label cardinality', () => {
	it('10,000 more runs add no series: labels are connector, agent, SLO and alert names, never run ids or errors', async () => {
		const now = Date.now();
		const ids = [];
		for (const [type, name] of [['odoo', 'card-odoo'], ['github', 'card-gh'], ['file', 'card-file']]) {
			ids.push(await addConnector(db.pool, { name, type, schedule: '*/5 * * * *', createdAt: new Date(now - 30 * DAY) }));
		}
		for (const id of ids) await addRuns(db.pool, id, { from: now - 2 * DAY, to: now - DAY, every: 60 * MINUTE, status: (i) => (i % 3 === 0 ? 'failed' : 'success') });
		await db.pool.query(`insert into public.ipai_agent (code_name, display_name, agent_type) values ('card-agent', 'card', 'custom')`);
		// Agent runs of every status before, too: an SLO without events has no budget series yet.
		await db.pool.query(
			`insert into public.ipai_agent_run (agent_id, started_at, ended_at, status, latency_ms, tokens_used, cost_usd)
			 select a.id, now() - make_interval(hours => 30 + g), now() - make_interval(hours => 30 + g), (array['success', 'failed', 'refused'])[1 + g % 3], 100, 1, 0.001
			   from public.ipai_agent a, generate_series(1, 12) g where a.code_name = 'card-agent'`,
		);
		const before = await renderMetrics(db.pool);
		const seriesOf = (body: string) => body.split('\n').filter((l) => l && !l.startsWith('#')).map((l) => l.replace(/ \S+$/, ''));
		const firstSeries = seriesOf(before.body);

		const { rowCount } = await db.pool.query(
			`insert into public.ipai_connector_run (connector_id, started_at, ended_at, status, rows_read, rows_written, error_message, metadata)
			 select (array[$1, $2, $3]::uuid[])[1 + g % 3], now() - make_interval(secs => g * 8), now() - make_interval(secs => g * 8) + make_interval(secs => g % 4000),
			        (array['success', 'failed', 'abandoned', 'skipped'])[1 + g % 4], g, g,
			        case when g % 4 in (1, 2) then 'error ' || gen_random_uuid() end, jsonb_build_object('n8n_execution_id', g::text)
			   from generate_series(1, 10000) g`,
			ids,
		);
		expect(rowCount).toBe(10_000);
		await db.pool.query(
			`insert into public.ipai_agent_run (agent_id, started_at, ended_at, status, latency_ms, tokens_used, cost_usd, error_message)
			 select a.id, now() - make_interval(secs => g), now(), (array['success', 'failed', 'refused'])[1 + g % 3], g, g, 0.001, 'failure ' || g
			   from public.ipai_agent a, generate_series(1, 2000) g where a.code_name = 'card-agent'`,
		);
		const after = await renderMetrics(db.pool);
		promtool(after.body);
		expect(seriesOf(after.body)).toEqual(firstSeries);
		expect(seriesOf(after.body).join('\n')).not.toMatch(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|error [0-9a-f]|failure \d/);
		// The counters did move: the same series, new values.
		expect(samples(after.body, 'ipai_connector_runs_total').get('{connector_type="odoo",connector="card-odoo",status="skipped"}')).toBeGreaterThan(800);
	});
});
