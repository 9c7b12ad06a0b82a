/**
 * The templates in n8n's queue mode: a main and two workers on the local Redis
 * (EXECUTIONS_MODE=queue), as a production deployment runs them.
 *  - The same connector asked to run many times at once ("run now" on the dispatcher's webhook,
 *    executions spread over both workers): every run is either the single holder or a clean
 *    `skipped` naming the holder, successful runs never overlap, and bronze holds each source row once.
 *  - A connector that keeps failing: SLO alerting executed concurrently on both workers posts the
 *    burn-rate page to Mattermost exactly once.
 *  - A fleet (issue 23): 60 connectors due in one tick become 60 queued executions, both workers
 *    run at least a third of them, and the lakehouse never sees more connections than the README's
 *    formula; then the worker running the dispatcher is killed (SIGKILL) mid-tick: every connector
 *    claimed in that tick gets a run (or a `skipped`) within the redelivery deadline, none twice.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Pool } from 'pg';
import { runsOf, startTemplateStack, type TemplateStack } from '../../tooling/n8n/templateStack';

jest.setTimeout(900_000);

let stack: TemplateStack;

beforeAll(async () => {
	// Slow Odoo answers (150 ms per search_read) so a sync lasts a few seconds and the requests overlap.
	stack = await startTemplateStack({ name: 'queue', start: { workers: 2, workerConcurrency: WORKER_CONCURRENCY }, odooDelayMs: 150 });
	await stack.activate('ipaiDispatcher');
	await stack.n8n.waitForWebhook('ipai/run-connector');
});

afterAll(async () => {
	await stack?.dispose();
});

const executionsPerWorker = () =>
	[1, 2].map((i) => (readFileSync(join(stack.n8n.userFolder, 'logs', `worker-${i}.log`), 'utf8').match(/started execution/gi) ?? []).length);

it('concurrent runs of one connector: one holder at a time, the others skipped, no duplicates', async () => {
	// No schedule: this connector runs only when asked.
	await stack.addConnector('odoo', 'odoo-queue', {}, null);
	const requests = 12;
	const answers = await Promise.all(Array.from({ length: requests }, () => stack.webhook('ipai/run-connector', { connector: 'odoo-queue' })));
	expect(answers.map((a) => a.status)).toEqual(Array(requests).fill(202));

	const runs = await stack.waitFor('every requested run to be recorded and finished', async () => {
		const all = await runsOf(stack.pool, 'odoo-queue');
		return all.length === requests && all.every((r) => r.status !== 'running') ? all : undefined;
	}, 300_000);
	const statuses = new Set(runs.map((r) => r.status));
	expect([...statuses].sort()).toEqual(['skipped', 'success']);
	const successes = runs.filter((r) => r.status === 'success');
	for (let i = 1; i < successes.length; i++) expect(successes[i].started_at.getTime()).toBeGreaterThanOrEqual(successes[i - 1].ended_at!.getTime());
	const successIds = new Set(successes.map((r) => r.id));
	for (const skipped of runs.filter((r) => r.status === 'skipped')) {
		expect(skipped.metadata).toMatchObject({ reason: 'busy' });
		expect(successIds.has(String(skipped.metadata?.holder_run_id))).toBe(true);
	}
	for (const [table, model] of [['odoo_account_move_line', 'account.move.line'], ['odoo_res_partner', 'res.partner']]) {
		const { rows } = await stack.pool.query(`select count(*)::int as n, count(distinct id)::int as ids from ipai_bronze_erp.${table}`);
		expect(rows[0]).toEqual({ n: stack.odoo.count(model), ids: stack.odoo.count(model) });
	}
	// Queue mode for real: both workers executed some of them.
	expect(executionsPerWorker().every((n) => n > 0)).toBe(true);
});

it('a failing connector pages once, however many workers evaluate the SLO at the same time', async () => {
	await stack.addConnector('odoo', 'odoo-broken', {}, null);
	stack.odoo.clearFailures();
	stack.odoo.failNext(100_000, { kind: 'fault', faultCode: 3, faultString: 'Access Denied', match: { method: 'search_read' } });
	// Ten failed runs in a row: past the SLO's minimum of events, burning far faster than 14.4×.
	for (let i = 0; i < 10; i++) {
		await stack.webhook('ipai/run-connector', { connector: 'odoo-broken' });
		await stack.waitFor(`failed run ${i + 1}`, async () => (await runsOf(stack.pool, 'odoo-broken')).filter((r) => r.status === 'failed').length > i);
	}

	// A small harness: a webhook that runs the SLO alerting template, so its executions are queued to the workers.
	const harness = (await stack.n8n.publicApi(stack.apiKey, 'POST', '/workflows', {
		name: 'e2e: run SLO alerting',
		settings: { executionOrder: 'v1' },
		nodes: [
			{ id: 'h1', name: 'Hook', type: 'n8n-nodes-base.webhook', typeVersion: 2, position: [0, 0], webhookId: 'e2e-slo-hook', parameters: { httpMethod: 'POST', path: 'e2e/slo', responseMode: 'lastNode', options: {} } },
			{
				id: 'h2', name: 'Run SLO alerting', type: 'n8n-nodes-base.executeWorkflow', typeVersion: 1.2, position: [200, 0],
				parameters: { source: 'database', workflowId: { __rl: true, mode: 'id', value: stack.workflowIds.get('ipaiSloAlerting') }, mode: 'once', options: { waitForSubWorkflow: true } },
			},
		],
		connections: { Hook: { main: [[{ node: 'Run SLO alerting', type: 'main', index: 0 }]] } },
	})) as { id: string };
	// Published as in production (its own 5-minute schedule may also tick during the test: the page
	// must still be posted once, whoever evaluates first).
	await stack.activate('ipaiSloAlerting');
	await stack.n8n.publicApi(stack.apiKey, 'POST', `/workflows/${harness.id}/activate`);
	await stack.n8n.waitForWebhook('e2e/slo');

	const pagesBefore = stack.mattermost.posts.filter((p) => p.message.includes('connector-run-success')).length;
	expect(pagesBefore).toBe(0);
	const answers = await Promise.all(Array.from({ length: 8 }, () => stack.webhook('e2e/slo', {})));
	expect(answers.map((a) => a.status)).toEqual(Array(8).fill(200));
	const delivered = answers.flatMap((a) => [].concat(a.json as never)).reduce((sum, item: { delivered?: number }) => sum + (item.delivered ?? 0), 0);
	const pages = stack.mattermost.posts.filter((p) => p.message.includes('connector-run-success'));
	expect(pages).toHaveLength(1);
	expect(delivered).toBeLessThanOrEqual(1);
	const sent = await stack.pool.query(`select count(*)::int as n from ipai_alert_notification where status = 'sent' and kind = 'firing'`);
	expect(sent.rows[0].n).toBe(1);
	expect(pages[0].message).toContain('**[PAGE]** connector-run-success: odoo/odoo-broken');
	// Each failure also reached on-call once through the error workflow.
	const failures = stack.mattermost.posts.filter((p) => p.message.includes('Pipeline failed: IPAI: Odoo finance sync (odoo/odoo-broken)'));
	expect(failures).toHaveLength(10);
});

const WORKER_CONCURRENCY = 5;
/** README: Σ over the processes executing workflows of (concurrency + 1) × lakehouse credentials. */
const CONNECTION_BOUND = 2 * (WORKER_CONCURRENCY + 1) * 1;

async function addFleet(prefix: string, n: number): Promise<string[]> {
	const names = Array.from({ length: n }, (_, i) => `${prefix}-${String(i).padStart(2, '0')}`);
	// A yearly schedule: due at once (its latest tick), then not again during the test.
	await stack.pool.query(
		`insert into ipai_connector_config (connector_type, name, config, schedule) select 'odoo', unnest($1::text[]), '{}', '0 0 1 1 *'`,
		[names],
	);
	return names;
}

/** Peak connections the n8n processes hold on the lakehouse, sampled until stopped. */
function watchConnections(pool: Pool, database: string): { stop: () => number } {
	let peak = 0;
	const timer = setInterval(() => {
		pool
			.query(`select count(*)::int as n from pg_stat_activity where datname = $1 and application_name = 'n8n IPAI lakehouse'`, [database])
			.then(({ rows }) => (peak = Math.max(peak, rows[0].n)))
			.catch(() => undefined);
	}, 100);
	return { stop: () => (clearInterval(timer), peak) };
}

const settledClaims = (names: string[]) =>
	stack.pool.query<{ name: string; settled: boolean; deliveries: number; accepted_by: string | null; runs: number; skipped: number }>(
		`select c.name, d.deliveries, d.accepted_by,
		        exists (select 1 from ipai_connector_run r where r.connector_id = c.id and r.started_at >= d.dispatched_at
		                   and not (r.status = 'skipped' and r.metadata ->> 'reason' = 'duplicate_delivery')) as settled,
		        (select count(*)::int from ipai_connector_run r where r.connector_id = c.id and r.status <> 'skipped') as runs,
		        (select count(*)::int from ipai_connector_run r where r.connector_id = c.id and r.status = 'skipped') as skipped
		   from ipai_connector_config c join ipai_connector_dispatch d on d.connector_id = c.id
		  where c.name = any ($1) and d.claim_id is not null order by c.name`,
		[names],
	);

it('60 connectors due in one tick: one queued execution each, both workers share them, connections within the formula', async () => {
	// Earlier tests left Odoo failing every search_read: back to a healthy, slow (150 ms) Odoo.
	stack.odoo.clearFailures();
	stack.odoo.failNext(1_000_000, { kind: 'delay', ms: 150, match: { method: 'search_read' } });
	const database = new URL(stack.lakehouse.url).pathname.slice(1);
	const watch = watchConnections(stack.pool, database);
	const names = await addFleet('fleet', 60);
	let peak = 0;
	try {
		const claims = await stack.waitFor('every connector of the tick to run', async () => {
			const { rows } = await settledClaims(names);
			return rows.length === names.length && rows.every((r) => r.settled) ? rows : undefined;
		}, 300_000);
		await stack.waitFor('the runs to finish', async () => (await stack.pool.query(
			`select count(*)::int as n from ipai_connector_run r join ipai_connector_config c on c.id = r.connector_id where c.name = any ($1) and r.status = 'running'`, [names],
		)).rows[0].n === 0, 300_000);
		peak = watch.stop();
		// Each ran once. A claim whose execution waited in the queue past the deadline (a loaded
		// machine) is delivered again: that second delivery must be a skipped duplicate, never a run.
		const runs = await Promise.all(names.map((n) => runsOf(stack.pool, n)));
		expect(runs.map((r) => r.filter((x) => x.status !== 'skipped').map((x) => x.status))).toEqual(names.map(() => ['success']));
		expect(runs.flat().filter((x) => x.status === 'skipped').every((x) => x.metadata?.reason === 'duplicate_delivery')).toBe(true);
		const redelivered = claims.filter((c) => c.deliveries > 1).length;
		// Which worker accepted each: both took at least a third.
		const pids = stack.n8n.processes.filter((p) => p.name.startsWith('worker')).map((p) => p.pid);
		const share = pids.map((pid) => claims.filter((c) => c.accepted_by?.endsWith(`pid ${pid}`)).length);
		expect(share.reduce((a, b) => a + b, 0)).toBe(names.length);
		for (const n of share) expect(n).toBeGreaterThanOrEqual(names.length / 3);
		console.log(`fleet e2e: worker shares ${share.join('/')} of ${names.length}; ${redelivered} redelivered; peak lakehouse connections ${peak} (bound ${CONNECTION_BOUND})`);
	} finally {
		peak = Math.max(peak, watch.stop());
	}
	expect(peak).toBeGreaterThan(0);
	expect(peak).toBeLessThanOrEqual(CONNECTION_BOUND);
});

it('kill -9 of the worker running the dispatcher mid-tick: every claimed connector runs (or is skipped) within the deadline, none twice', async () => {
	const names = await addFleet('crash', 60);
	// The dispatcher's next tick claims them; kill its worker the moment the claims are committed.
	const { dispatcher } = await stack.waitFor('the tick to be claimed', async () => {
		const { rows } = await stack.pool.query<{ dispatcher: string }>(
			`select min(d.dispatched_by) as dispatcher from ipai_connector_dispatch d join ipai_connector_config c on c.id = d.connector_id
			  where c.name = any ($1) and d.claim_id is not null having count(*) > 0`, [names],
		);
		return rows[0]?.dispatcher ? rows[0] : undefined;
	}, 120_000);
	const executionId = /n8n execution (\d+)/.exec(dispatcher)![1];
	const worker = await stack.waitFor('the worker log naming the dispatcher execution', async () =>
		stack.n8n.processes.find((p) => p.name.startsWith('worker') && new RegExp(`started execution ${executionId}\\b`).test(readFileSync(join(stack.n8n.userFolder, 'logs', `${p.name}.log`), 'utf8'))), 10_000);
	process.kill(-worker.pid, 'SIGKILL');
	const killedAt = Date.now();
	const acceptedBeforeKill = (await settledClaims(names)).rows.filter((r) => r.accepted_by).length;

	// Deadline 120 s + the next dispatcher tick (≤ 60 s) + a run.
	const claims = await stack.waitFor('every claimed connector of the tick to have a run', async () => {
		const { rows } = await settledClaims(names);
		return rows.length === names.length && rows.every((r) => r.settled) ? rows : undefined;
	}, 420_000);
	console.log(
		`fleet e2e crash: killed ${worker.name} (dispatcher execution ${executionId}); ${acceptedBeforeKill} of ${names.length} accepted before the kill; ` +
			`${claims.filter((c) => c.deliveries > 1).length} redelivered; all settled ${Math.round((Date.now() - killedAt) / 1000)} s after the kill`,
	);
	// None ran twice: at most one run per connector that is not a `skipped`.
	expect(claims.filter((c) => c.runs > 1)).toEqual([]);
	expect(claims.every((c) => c.runs === 1 || c.skipped > 0)).toBe(true);
});
