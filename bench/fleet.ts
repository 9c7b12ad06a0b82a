/**
 * npm run bench:fleet [-- --connectors 200 --workers 2 --concurrency 10 --minutes 3 --n8n-db-pool 5 --heap-mb 384]
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
 *    README's bound: workers × (concurrency + 1) × 1 credential;
 *  - then the same connectors due every minute for --minutes minutes (200 runs a minute): each
 *    worker process's resident memory (VmRSS of the `n8n worker` process, sampled every second),
 *    its peak, and how it moves per 1000 executions once warm (what a leak would show).
 * Last line: `fleet start_p95_s=<n> workers_share=<ratio> max_conn=<n> worker_rss_mb_peak=<n>`.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from '../bin/args';
import { startTemplateStack } from '../tooling/n8n/templateStack';

const GOAL_P95_S = 10;
const GOAL_SHARE = 0.35;

function quantile(sorted: number[], q: number): number {
	return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
}

/** Resident memory of a process in MB (10^6 bytes), from /proc; null once it is gone. */
function rssMb(pid: number): number | null {
	try {
		const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
		return kb ? (Number(kb[1]) * 1024) / 1e6 : null;
	} catch {
		return null;
	}
}

/** Least-squares slope of y over x. */
function slope(points: Array<[number, number]>): number {
	const n = points.length;
	if (n < 2) return NaN;
	const mx = points.reduce((a, [x]) => a + x, 0) / n;
	const my = points.reduce((a, [, y]) => a + y, 0) / n;
	const sxx = points.reduce((a, [x]) => a + (x - mx) ** 2, 0);
	return sxx === 0 ? NaN : points.reduce((a, [x, y]) => a + (x - mx) * (y - my), 0) / sxx;
}

async function main(): Promise<void> {
	const args = parseArgs(process.argv.slice(2), ['connectors', 'workers', 'concurrency', 'minutes', 'n8n-db-pool', 'heap-mb'], []);
	const minutes = Number(args.values.minutes ?? 3);
	const connectors = Number(args.values.connectors ?? 200);
	const workers = Number(args.values.workers ?? 2);
	const concurrency = Number(args.values.concurrency ?? 10);
	const bound = workers * (concurrency + 1) * 1;
	// The main takes every delivery's webhook: its n8n database pool (default 2) must keep up with
	// the dispatcher's deliveries in flight (docs/workflows.md: a fleet on queue mode).
	const mainPool = args.values['n8n-db-pool'] ?? '5';
	const stack = await startTemplateStack({
		name: 'fleet_bench',
		start: { workers, workerConcurrency: concurrency, timeoutMs: 600_000 },
		// Lazy isolates (docs/workflows.md): the main's webhook intake only decrypts the header-auth
		// credential, which needs no expression isolate, so it should not build and dispose one per call.
		// --heap-mb caps V8's old space in every n8n process: a heap that only grows because V8 collects
		// lazily levels off under the cap, a leak does not (the process would run out of memory).
		n8nEnv: { DB_POSTGRESDB_POOL_SIZE: mainPool, N8N_EXPRESSION_ENGINE_LAZY_ACQUIRE: 'true', ...(args.values['heap-mb'] ? { NODE_OPTIONS: `--max-old-space-size=${Number(args.values['heap-mb'])}` } : {}) },
		log: (line) => console.log(line),
	});
	try {
		await stack.activate('ipaiDispatcher');
		const workerPids = stack.n8n.processes.filter((p) => p.name.startsWith('worker')).map((p) => p.pid);
		const rss = new Map<number, Array<{ at: number; mb: number }>>(workerPids.map((pid) => [pid, []]));
		const memory = setInterval(() => {
			for (const pid of workerPids) {
				const mb = rssMb(pid);
				if (mb !== null) rss.get(pid)!.push({ at: Date.now(), mb });
			}
		}, 1000);
		const idleMb = workerPids.map((pid) => rssMb(pid) ?? NaN);
		const names = Array.from({ length: connectors }, (_, i) => `bench-${String(i).padStart(3, '0')}`);
		const addedAt = Date.now();
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
			stack.pool.query<{ name: string; started_at: Date | null; status: string | null; accepted_by: string | null; deliveries: number }>(
				`select c.name, d.accepted_by, d.deliveries,
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

		// Exactly one run each; a second delivery (a claim handed out again) must be a skipped duplicate.
		const failed = rows.filter((r) => r.status!.split(',').filter((x) => x !== 'skipped').join(',') !== 'success');
		if (failed.length > 0) throw new Error(`${failed.length} connectors did not run exactly once with success, e.g. ${failed[0].name}: ${failed[0].status}`);
		// The tick: the first dispatcher execution after the rows were added (a claim handed out again
		// names the later execution that redelivered it; its latency still counts from this tick).
		const { data: ticks } = (await stack.n8n.publicApi(stack.apiKey, 'GET', `/executions?workflowId=${stack.workflowIds.get('ipaiDispatcher')}&limit=250`)) as {
			data: Array<{ id: string; startedAt: string; stoppedAt: string | null }>;
		};
		const first = ticks.filter((t) => Date.parse(t.startedAt) >= addedAt).sort((a, b) => Date.parse(a.startedAt) - Date.parse(b.startedAt))[0];
		if (!first) throw new Error('no dispatcher execution started after the connectors were added');
		const executionId = first.id;
		const tick = Date.parse(first.startedAt);
		const redelivered = rows.filter((r) => r.deliveries > 1).length;
		const latencies = rows.map((r) => (r.started_at!.getTime() - tick) / 1000).sort((a, b) => a - b);
		const p95 = quantile(latencies, 0.95);

		const pids = stack.n8n.processes.filter((p) => p.name.startsWith('worker')).map((p) => p.pid);
		const counts = pids.map((pid) => rows.filter((r) => r.accepted_by?.endsWith(`pid ${pid}`)).length);
		const share = Math.min(...counts) / connectors;

		console.log(`tick (dispatcher execution ${executionId} started) → pipeline run started, ${connectors} connectors:`);
		const delivered = first.stoppedAt ? ((Date.parse(first.stoppedAt) - tick) / 1000).toFixed(2) : '?';
		console.log(`  dispatcher execution: ${delivered} s from the tick to its last delivery; first pipeline run started at ${latencies[0].toFixed(2)} s`);
		const { rows: durations } = await stack.pool.query<{ p50: number; p95: number }>(
			`select percentile_cont(0.5) within group (order by s) as p50, percentile_cont(0.95) within group (order by s) as p95
			   from (select extract(epoch from r.ended_at - r.started_at)::float as s from ipai_connector_run r
			           join ipai_connector_config c on c.id = r.connector_id where c.name = any ($1) and r.status = 'success') d`,
			[names],
		);
		console.log(`  each run, started to ended: p50 ${durations[0].p50.toFixed(2)} s, p95 ${durations[0].p95.toFixed(2)} s`);
		console.log(`  p50 ${quantile(latencies, 0.5).toFixed(2)} s, p95 ${p95.toFixed(2)} s, max ${latencies[latencies.length - 1].toFixed(2)} s (goal p95 < ${GOAL_P95_S} s: ${(p95 / GOAL_P95_S).toFixed(2)}× the goal)`);
		console.log(`  runs per worker: ${counts.join(' / ')}; smaller share ${share.toFixed(2)} (goal ≥ ${GOAL_SHARE}); ${redelivered} claims handed out more than once`);
		console.log(`  peak lakehouse connections held by n8n: ${peak}; bound workers × (concurrency + 1) × credentials = ${workers} × ${concurrency + 1} × 1 = ${bound}`);

		// Sustained: every connector due every minute, as an operator's fleet runs all day.
		const sustainedFrom = new Date();
		await stack.pool.query(`update ipai_connector_config set schedule = '* * * * *' where name = any ($1)`, [names]);
		console.log(`sustained: ${connectors} connectors due every minute for ${minutes} min; sampling worker memory…`);
		await new Promise((r) => setTimeout(r, minutes * 60_000));
		await stack.pool.query(`update ipai_connector_config set schedule = '0 0 1 1 *' where name = any ($1)`, [names]);
		await stack.waitFor('the last runs to finish', async () => (await stack.pool.query(
			`select count(*)::int as n from ipai_connector_run where status = 'running'`)).rows[0].n === 0, 300_000);
		clearInterval(sampler);
		clearInterval(memory);
		const { rows: sustained } = await stack.pool.query<{ status: string; n: number; per_minute: number }>(
			`select status, count(*)::int as n, round(count(*) / greatest(extract(epoch from max(started_at) - min(started_at)) / 60, 1), 1)::float as per_minute
			   from ipai_connector_run where started_at >= $1 group by status order by status`,
			[sustainedFrom],
		);
		const executions = workerPids.map((pid) => stack.n8n.processes.find((p) => p.pid === pid)!.name).map((name) =>
			readFileSync(`${stack.n8n.userFolder}/logs/${name}.log`, 'utf8').match(/started execution/gi)?.length ?? 0);
		const peakRss = Math.max(...[...rss.values()].flat().map((s) => s.mb));
		console.log(`  sustained runs by status: ${sustained.map((r) => `${r.status} ${r.n} (${r.per_minute}/min)`).join(', ')}; executions per worker ${executions.join(' / ')}`);
		workerPids.forEach((pid, i) => {
			const samples = rss.get(pid)!;
			const warm = samples.filter((x) => x.at >= sustainedFrom.getTime());
			const perMinute = slope(warm.map((x) => [(x.at - sustainedFrom.getTime()) / 60_000, x.mb]));
			console.log(
				`  worker ${i + 1} (pid ${pid}) RSS MB: idle ${idleMb[i].toFixed(0)}, after the first tick ${(samples.find((x) => x.at >= sustainedFrom.getTime())?.mb ?? NaN).toFixed(0)}, ` +
					`peak ${Math.max(...samples.map((x) => x.mb)).toFixed(0)}, end ${samples[samples.length - 1].mb.toFixed(0)}; trend while sustained ${perMinute.toFixed(1)} MB/min`,
			);
		});
		console.log(`  peak lakehouse connections over both phases: ${peak} (bound ${bound})`);
		console.log(`fleet start_p95_s=${p95.toFixed(2)} workers_share=${share.toFixed(2)} max_conn=${peak} worker_rss_mb_peak=${peakRss.toFixed(0)}`);
	} finally {
		await stack.dispose();
	}
}

main().catch((error) => {
	console.error(error);
	process.exit(1);
});
