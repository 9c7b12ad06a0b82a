/**
 * The templates in n8n's queue mode: a main and two workers on the local Redis
 * (EXECUTIONS_MODE=queue), as a production deployment runs them.
 *  - The same connector asked to run many times at once ("run now" on the dispatcher's webhook,
 *    executions spread over both workers): every run is either the single holder or a clean
 *    `skipped` naming the holder, successful runs never overlap, and bronze holds each source row once.
 *  - A connector that keeps failing: SLO alerting executed concurrently on both workers posts the
 *    burn-rate page to Mattermost exactly once.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runsOf, startTemplateStack, type TemplateStack } from './templateStack';

jest.setTimeout(900_000);

let stack: TemplateStack;

beforeAll(async () => {
	// Slow Odoo answers (150 ms per search_read) so a sync lasts a few seconds and the requests overlap.
	stack = await startTemplateStack({ name: 'queue', start: { workers: 2, workerConcurrency: 5 }, odooDelayMs: 150 });
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
