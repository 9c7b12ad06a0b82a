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
import { runEvaluation } from '../lib/slo/alertState';
import { median, seedLedger, timed, withScratchDatabase } from './common';

const GOAL_MS = 250; // issue 16: under 250 ms for this work, so it stays under 500 ms on a busy machine

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
		pool.on('error', () => undefined); // the scratch database is dropped with force at the end
		try {
			const [seedMs] = await timed(() => seedLedger(pool, rows, connectors, agents, agentRows, now));
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
