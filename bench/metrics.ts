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
import { runEvaluation } from '../lib/slo/alertState';
import { median, seedLedger, timed, withScratchDatabase } from './common';

const GOAL_MS = 250;

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
			const [seedMs] = await timed(() => seedLedger(pool, rows, connectors, agents, agentRows, now));
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
