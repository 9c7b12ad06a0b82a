/**
 * npm run bench:metrics [-- --rows 1000000 --connectors 50 --agents 10 --agent-rows 100000 --archived 0 --repeat 5]
 *
 * Renders the Prometheus endpoint over a realistic ledger: ~50 connectors with schedules from every
 * minute to every 15 minutes (four weeks of history, mixed statuses, an incident in progress on
 * every 10th connector), agent runs with tokens, cost and latency, the seeded SLOs and their alert
 * state after one monitor tick. With --archived N, the oldest N connector runs are deleted first
 * (retention: the totals keep them), so the render adds both parts.
 *
 * Printed in the same run, medians of --repeat renders after one warm-up: the limit (one bare
 * count(*) of the whole connector ledger — what counting the ledger at scrape time would cost), the
 * ledger part alone (no SLO evaluation), the SLO evaluation alone (lib/slo, unchanged), and the
 * full render; ratios against the limit and the 250 ms goal. Last line: `metrics render_ms=<n>`.
 */
import { Pool } from 'pg';
import { parseArgs } from '../bin/args';
import { renderMetrics } from '../lib/observability/metrics';
import { evaluateSlos } from '../lib/slo/evaluate';
import { runEvaluation } from '../lib/slo/state';
import { withScratchDatabase } from './common';

const GOAL_MS = 250;

function median(values: number[]): number {
	const sorted = [...values].sort((a, b) => a - b);
	return sorted[Math.floor(sorted.length / 2)];
}

async function timed<T>(fn: () => Promise<T>): Promise<[number, T]> {
	const started = process.hrtime.bigint();
	const value = await fn();
	return [Number(process.hrtime.bigint() - started) / 1e6, value];
}

async function seed(pool: Pool, rows: number, connectors: number, agents: number, agentRows: number, now: Date): Promise<void> {
	const intervals = [1, 2, 2, 3, 5, 5, 10, 15];
	const weights = Array.from({ length: connectors }, (_, i) => 1 / intervals[i % intervals.length]);
	const total = weights.reduce((a, b) => a + b, 0);
	await pool.query(`select setseed(0.42)`);
	for (let i = 0; i < connectors; i++) {
		const every = intervals[i % intervals.length];
		const count = Math.round((rows * weights[i]) / total);
		const { rows: created } = await pool.query<{ id: string }>(
			`insert into public.ipai_connector_config (connector_type, name, config, schedule, created_at)
			 values ($1, $2, '{}', $3, $4::timestamptz - interval '60 days') returning id`,
			[['odoo', 'github', 'file', 'db'][i % 4], `bench-${i}`, every === 1 ? '* * * * *' : `*/${every} * * * *`, now],
		);
		await pool.query(
			`insert into public.ipai_connector_run (connector_id, started_at, ended_at, status, rows_read, rows_written, error_message, metadata)
			 select $1, s.started,
			        case when s.st = 'running' then null else s.started + make_interval(secs => 5 + random() * 40) end,
			        s.st, (random() * 1000)::int, (random() * 1000)::int,
			        case when s.st in ('failed', 'abandoned') then 'Odoo answered 503 Service Unavailable' end,
			        jsonb_build_object('n8n_execution_id', s.n::text, 'n8n_workflow_id', 'wf' || $4::text)
			   from (select n, $2::timestamptz - make_interval(mins => n * $3) as started,
			                case when n = 0 then 'running'
			                     when $4 % 10 = 0 and n * $3 < 90 then 'failed'
			                     else (array['success', 'failed', 'abandoned', 'skipped'])[
			                            case when r < 0.995 then 1 when r < 0.998 then 2 when r < 0.999 then 3 else 4 end]
			                end as st
			           from (select n, random() as r from generate_series(0, $5 - 1) as n) g) s`,
			[created[0].id, now, every, i, count],
		);
	}
	for (let a = 0; a < agents; a++) {
		const { rows: agent } = await pool.query<{ id: string }>(
			`insert into public.ipai_agent (code_name, display_name, agent_type) values ($1, $1, 'claude') returning id`,
			[`bench-agent-${a}`],
		);
		const count = Math.round(agentRows / agents);
		await pool.query(
			`insert into public.ipai_agent_run (agent_id, started_at, ended_at, status, latency_ms, tokens_used, cost_usd)
			 select $1, t, t + make_interval(secs => l / 1000.0), case when random() < 0.01 then 'failed' else 'success' end, l,
			        (500 + random() * 4000)::int, round((random() * 0.05)::numeric, 6)
			   from (select $2::timestamptz - make_interval(secs => n * 2419200.0 / $3) as t,
			                (200 + random() * random() * 9000)::int as l
			           from generate_series(1, $3) as n) g`,
			[agent[0].id, now, count],
		);
	}
}

async function main(): Promise<void> {
	const { values } = parseArgs(process.argv.slice(2), ['rows', 'connectors', 'agents', 'agent-rows', 'archived', 'repeat']);
	const rows = Number(values.rows ?? 1_000_000);
	const connectors = Number(values.connectors ?? 50);
	const agents = Number(values.agents ?? 10);
	const agentRows = Number(values['agent-rows'] ?? 100_000);
	const archived = Number(values.archived ?? 0);
	const repeat = Number(values.repeat ?? 5);
	const now = new Date(Date.UTC(2026, 10, 22, 12, 0, 0));

	await withScratchDatabase(async (url) => {
		const pool = new Pool({ connectionString: url, max: 6 });
		pool.on('error', () => undefined); // the scratch database is dropped with force at the end
		try {
			const [seedMs] = await timed(() => seed(pool, rows, connectors, agents, agentRows, now));
			if (archived > 0) {
				await pool.query(
					`delete from public.ipai_connector_run where id in (select id from public.ipai_connector_run where status <> 'running' order by started_at limit $1)`,
					[archived],
				);
			}
			await pool.query('vacuum analyze public.ipai_connector_run');
			await pool.query('vacuum analyze public.ipai_agent_run');
			await runEvaluation(pool, { now }); // alert state, as the monitor leaves it
			const { rows: count } = await pool.query<{ n: string }>('select count(*) as n from public.ipai_connector_run');
			console.log(
				`seeded ${rows} connector runs (${count[0].n} live, ${archived} archived; ${connectors} connectors) and ${agentRows} agent runs (${agents} agents) in ${(seedMs / 1000).toFixed(1)} s`,
			);

			const limit: number[] = [];
			const ledger: number[] = [];
			const slo: number[] = [];
			const full: number[] = [];
			let lines = 0;
			for (let i = 0; i <= repeat; i++) {
				const [limitMs] = await timed(() => pool.query('select count(*) from public.ipai_connector_run'));
				const [ledgerMs] = await timed(() => renderMetrics(pool, { now, skipSlo: true }));
				const [sloMs] = await timed(() => evaluateSlos(pool, { now }));
				const [fullMs, result] = await timed(() => renderMetrics(pool, { now }));
				if (result.errors.length) throw new Error(`render reported errors: ${JSON.stringify(result.errors)}`);
				lines = result.body.split('\n').filter((l) => l && !l.startsWith('#')).length;
				if (i === 0) continue;
				limit.push(limitMs);
				ledger.push(ledgerMs);
				slo.push(sloMs);
				full.push(fullMs);
			}
			const l = median(limit);
			const render = median(full);
			console.log(`samples per scrape ${lines}`);
			console.log(`limit: count(*) of the connector ledger            ${l.toFixed(1)} ms`);
			console.log(`ledger metrics (connectors + agents + alerts)      ${median(ledger).toFixed(1)} ms  (${(median(ledger) / l).toFixed(2)}× the limit)`);
			console.log(`SLO evaluation alone (lib/slo evaluateSlos)        ${median(slo).toFixed(1)} ms`);
			console.log(`full render                                        ${render.toFixed(1)} ms  (${(render / l).toFixed(2)}× the limit, ${(render / GOAL_MS).toFixed(2)} of the ${GOAL_MS} ms goal)`);
			console.log(`metrics render_ms=${Math.round(render)}`);
		} finally {
			await pool.end();
		}
	});
}

main().catch((error) => {
	console.error(error);
	process.exit(1);
});
