/**
 * npm run bench:slo [-- --rows 1000000 --connectors 50 --agents 10 --agent-rows 100000 --repeat 5]
 *
 * Evaluates every seeded SLO (connector success + absent, freshness, agent failures per day, agent
 * p95 latency) over a realistic run ledger: ~50 connectors with different schedules, four weeks of
 * history, mixed statuses (success, failed, abandoned, skipped, a few running), a handful of
 * connectors in an ongoing failure burst, plus agent runs. The table is vacuumed and analysed
 * first, as autovacuum would have done on a live ledger.
 *
 * Printed in the same run: the limit (one bare index-only count of the finished runs in the SLO
 * period — the least any evaluation must read), the read-only evaluation, and a full monitor tick
 * (evaluation + alert state + notification decisions), each the median of --repeat runs after one
 * warm-up; ratios against the limit and the 250 ms goal. Last line: `slo eval_ms=<full tick median>`.
 */
import { Pool } from 'pg';
import { parseArgs } from '../bin/args';
import { evaluateSlos } from '../lib/slo/evaluate';
import { runEvaluation } from '../lib/slo/state';
import { withScratchDatabase } from './common';

const GOAL_MS = 250; // issue 16: under 250 ms for this work, so it stays under 500 ms on a busy machine

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
	// Schedules from every minute to every 15 minutes; each connector gets a share of the rows in
	// proportion to its frequency, so the history spans about four weeks for every one of them.
	const intervals = [1, 2, 2, 3, 5, 5, 10, 15];
	const weights = Array.from({ length: connectors }, (_, i) => 1 / intervals[i % intervals.length]);
	const total = weights.reduce((a, b) => a + b, 0);
	await pool.query(`select setseed(0.42)`);
	for (let i = 0; i < connectors; i++) {
		const every = intervals[i % intervals.length];
		const count = Math.round((rows * weights[i]) / total);
		const { rows: created } = await pool.query<{ id: string }>(
			`insert into public.ipai_connector_config (connector_type, name, config, schedule, created_at)
			 values ($1, $2, $5, $3, $4::timestamptz - interval '60 days') returning id`,
			// Configs their type's pipeline can run: the database refuses a scheduled row without one.
			[['odoo', 'github', 'file', 'db'][i % 4], `bench-${i}`, every === 1 ? '* * * * *' : `*/${every} * * * *`, now, [{}, { repositories: ['acme/app'] }, { table: 'landing' }, {}][i % 4]],
		);
		// The last ~90 minutes of every 10th connector fail (an incident in progress); elsewhere 0.3%
		// fail, 0.1% are abandoned, 0.1% are skipped (busy), and the newest run is still running.
		await pool.query(
			`insert into public.ipai_connector_run (connector_id, started_at, ended_at, status, rows_read, rows_written, error_message, metadata)
			 select $1, s.started,
			        case when s.st = 'running' then null else s.started + make_interval(secs => 5 + random() * 40) end,
			        s.st, 100, 100,
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
			`insert into public.ipai_agent_run (agent_id, started_at, ended_at, status, latency_ms)
			 select $1, t, t + make_interval(secs => l / 1000.0), case when random() < 0.01 then 'failed' else 'success' end, l
			   from (select $2::timestamptz - make_interval(secs => n * 2419200.0 / $3) as t,
			                (200 + random() * random() * 9000)::int as l
			           from generate_series(1, $3) as n) g`,
			[agent[0].id, now, count],
		);
	}
	await pool.query('vacuum analyze public.ipai_connector_run');
	await pool.query('vacuum analyze public.ipai_agent_run');
}

async function main(): Promise<void> {
	const { values } = parseArgs(process.argv.slice(2), ['rows', 'connectors', 'agents', 'agent-rows', 'repeat']);
	const rows = Number(values.rows ?? 1_000_000);
	const connectors = Number(values.connectors ?? 50);
	const agents = Number(values.agents ?? 10);
	const agentRows = Number(values['agent-rows'] ?? 100_000);
	const repeat = Number(values.repeat ?? 5);
	const now = new Date(Date.UTC(2026, 10, 22, 12, 0, 0));

	await withScratchDatabase(async (url) => {
		const pool = new Pool({ connectionString: url, max: 4 });
		try {
			const [seedMs] = await timed(() => seed(pool, rows, connectors, agents, agentRows, now));
			const { rows: count } = await pool.query<{ n: string }>('select count(*) as n from public.ipai_connector_run');
			console.log(`seeded ${count[0].n} connector runs (${connectors} connectors) and ${agentRows} agent runs (${agents} agents) in ${(seedMs / 1000).toFixed(1)} s`);

			const limitSamples: number[] = [];
			const evalSamples: number[] = [];
			const tickSamples: number[] = [];
			let last: Awaited<ReturnType<typeof runEvaluation>> | undefined;
			for (let i = 0; i <= repeat; i++) {
				const [limitMs] = await timed(() =>
					pool.query(
						`select count(*) from public.ipai_connector_run
						  where status in ('success', 'failed', 'abandoned') and ended_at > $1::timestamptz - interval '7 days' and ended_at <= $1`,
						[now],
					),
				);
				const [evalMs] = await timed(() => evaluateSlos(pool, { now }));
				const [tickMs, result] = await timed(() => runEvaluation(pool, { now }));
				last = result;
				if (i === 0) continue; // warm-up: caches, plans
				limitSamples.push(limitMs);
				evalSamples.push(evalMs);
				tickSamples.push(tickMs);
			}
			const limit = median(limitSamples);
			const evaluation = median(evalSamples);
			const tick = median(tickSamples);
			const firing = last!.alerts.filter((a) => a.state === 'firing');
			const kinds = new Map<string, number>();
			for (const a of firing) kinds.set(`${a.labels.alertname}/${a.severity}`, (kinds.get(`${a.labels.alertname}/${a.severity}`) ?? 0) + 1);
			console.log(`statuses ${last!.statuses.length}, firing alerts ${firing.length} (${[...kinds].map(([k, n]) => `${n} ${k}`).sort().join(', ')}), due ${last!.due.length}`);
			console.log(`limit: count of finished runs in the 7-day period  ${limit.toFixed(1)} ms`);
			console.log(`evaluate every SLO (read-only)                     ${evaluation.toFixed(1)} ms  (${(evaluation / limit).toFixed(2)}× the limit, ${(evaluation / GOAL_MS).toFixed(2)} of the goal)`);
			console.log(`monitor tick (evaluate + alert state)              ${tick.toFixed(1)} ms  (${(tick / limit).toFixed(2)}× the limit, ${(tick / GOAL_MS).toFixed(2)} of the ${GOAL_MS} ms goal)`);
			console.log(`slo eval_ms=${Math.round(tick)}`);
		} finally {
			await pool.end();
		}
	});
}

main().catch((error) => {
	console.error(error);
	process.exit(1);
});
