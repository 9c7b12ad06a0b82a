/**
 * npm run bench:fleet [-- --connectors 200 --workers 2 --concurrency 10]
 *
 * A fleet on n8n queue mode, as an operator runs it: a real n8n 2.40.7 main and two workers on the
 * local Redis, the shipped templates imported, the simulated Odoo, and 200 small Odoo connector
 * rows due at the same dispatcher tick. Measured in the same run:
 *  - tick → pipeline start: from the dispatcher execution's start (the schedule tick firing, from
 *    n8n's own execution record) to each connector run's started_at in the ledger; p50/p95/max
 *    against the 10 s goal;
 *  - each worker's share of the runs (which worker accepted each delivery: its pid), the smaller
 *    share against the 0.35 goal;
 *  - peak lakehouse connections held by n8n (pg_stat_activity, sampled every 100 ms) against the
 *    README's bound: workers × (concurrency + 1) × 1 credential.
 * Last line: `fleet start_p95_s=<n> workers_share=<ratio> max_conn=<n>`.
 */
import { parseArgs } from '../bin/args';
import { startTemplateStack } from '../test/e2e/templateStack';

const GOAL_P95_S = 10;
const GOAL_SHARE = 0.35;

function quantile(sorted: number[], q: number): number {
	return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
}

async function main(): Promise<void> {
	const args = parseArgs(process.argv.slice(2), ['connectors', 'workers', 'concurrency'], []);
	const connectors = Number(args.values.connectors ?? 200);
	const workers = Number(args.values.workers ?? 2);
	const concurrency = Number(args.values.concurrency ?? 10);
	const bound = workers * (concurrency + 1) * 1;
	const stack = await startTemplateStack({ name: 'fleet_bench', start: { workers, workerConcurrency: concurrency }, log: (line) => console.log(line) });
	try {
		await stack.activate('ipaiDispatcher');
		const names = Array.from({ length: connectors }, (_, i) => `bench-${String(i).padStart(3, '0')}`);
		// Small connectors: one Odoo model each. A yearly schedule is due at once, then not again.
		await stack.pool.query(
			`insert into ipai_connector_config (connector_type, name, config, schedule)
			 select 'odoo', unnest($1::text[]), '{"models": ["account.journal"]}', '0 0 1 1 *'`,
			[names],
		);
		console.log(`${connectors} connectors added; waiting for the dispatcher's next tick (every minute)…`);
		const database = new URL(stack.lakehouse.url).pathname.slice(1);
		let peak = 0;
		const sampler = setInterval(() => {
			stack.pool
				.query(`select count(*)::int as n from pg_stat_activity where datname = $1 and application_name = 'n8n IPAI lakehouse'`, [database])
				.then(({ rows }) => (peak = Math.max(peak, rows[0].n)))
				.catch(() => undefined);
		}, 100);
		const ledger = () =>
			stack.pool.query<{ name: string; started_at: Date | null; status: string | null; accepted_by: string | null; dispatched_by: string | null }>(
				`select c.name, d.accepted_by, d.dispatched_by,
				        (select min(r.started_at) from ipai_connector_run r where r.connector_id = c.id and r.status <> 'skipped') as started_at,
				        (select string_agg(r.status, ',') from ipai_connector_run r where r.connector_id = c.id) as status
				   from ipai_connector_config c left join ipai_connector_dispatch d on d.connector_id = c.id
				  where c.name = any ($1)`,
				[names],
			);
		const rows = await stack.waitFor('every connector to have run', async () => {
			const { rows: now } = await ledger();
			return now.every((r) => r.status && !r.status.split(',').includes('running')) ? now : undefined;
		}, 900_000);
		clearInterval(sampler);

		// Exactly one run each; a second delivery (a claim handed out again) must be a skipped duplicate.
		const failed = rows.filter((r) => r.status!.split(',').filter((x) => x !== 'skipped').join(',') !== 'success');
		if (failed.length > 0) throw new Error(`${failed.length} connectors did not run exactly once with success, e.g. ${failed[0].name}: ${failed[0].status}`);
		const dispatchers = new Set(rows.map((r) => /n8n execution (\d+)/.exec(r.dispatched_by ?? '')?.[1]));
		if (dispatchers.size !== 1 || dispatchers.has(undefined)) throw new Error(`expected one dispatcher tick, found executions ${[...dispatchers].join(', ')}`);
		const [executionId] = [...dispatchers];
		const execution = (await stack.n8n.publicApi(stack.apiKey, 'GET', `/executions/${executionId}`)) as { startedAt: string };
		const tick = Date.parse(execution.startedAt);
		const latencies = rows.map((r) => (r.started_at!.getTime() - tick) / 1000).sort((a, b) => a - b);
		const p95 = quantile(latencies, 0.95);

		const pids = stack.n8n.processes.filter((p) => p.name.startsWith('worker')).map((p) => p.pid);
		const counts = pids.map((pid) => rows.filter((r) => r.accepted_by?.endsWith(`pid ${pid}`)).length);
		const share = Math.min(...counts) / connectors;

		console.log(`tick (dispatcher execution ${executionId} started) → pipeline run started, ${connectors} connectors:`);
		console.log(`  p50 ${quantile(latencies, 0.5).toFixed(2)} s, p95 ${p95.toFixed(2)} s, max ${latencies[latencies.length - 1].toFixed(2)} s (goal p95 < ${GOAL_P95_S} s: ${(p95 / GOAL_P95_S).toFixed(2)}× the goal)`);
		console.log(`  runs per worker: ${counts.join(' / ')}; smaller share ${share.toFixed(2)} (goal ≥ ${GOAL_SHARE})`);
		console.log(`  peak lakehouse connections held by n8n: ${peak}; bound workers × (concurrency + 1) × credentials = ${workers} × ${concurrency + 1} × 1 = ${bound}`);
		console.log(`fleet start_p95_s=${p95.toFixed(2)} workers_share=${share.toFixed(2)} max_conn=${peak}`);
	} finally {
		await stack.dispose();
	}
}

main().catch((error) => {
	console.error(error);
	process.exit(1);
});
