/**
 * Alerts of a fleet in n8n's queue mode (issue 23, item 4), end to end: a main and two workers on
 * the local Redis, the shipped templates, the Odoo and Mattermost stand-ins.
 *  - Odoo goes down (every request reset) under three connectors for several ticks: the error
 *    workflow posts nothing per connector and tick; the SLO alerting template pages once for the
 *    incident, naming the three, and resolves once after Odoo is back.
 *  - A failure before a run can start (a "run now" of a row its pipeline cannot use) posts once,
 *    naming the connector; a scheduled row of a type with no pipeline is reported once over
 *    several dispatcher ticks.
 *  - Every post names the connector it is about.
 * The connector SLO is given a 1-hour period for the test (its windows scale with it), so an
 * incident opens and closes in minutes instead of hours.
 */
import { runsOf, startTemplateStack, type TemplateStack } from '../../tooling/n8n/templateStack';

jest.setTimeout(900_000);

let stack: TemplateStack;
const ODOO = ['fa-o1', 'fa-o2', 'fa-o3'];

beforeAll(async () => {
	stack = await startTemplateStack({ name: 'fleet_alerts', start: { workers: 2, workerConcurrency: 5 } });
	await stack.pool.query(
		`update ipai_slo set period = interval '1 hour', params = '{"min_events": 2, "min_bad_events": 2, "keep_firing_for": "1s"}'
		  where code_name = 'connector-run-success'`,
	);
	await stack.activate('ipaiDispatcher');
	await stack.activate('ipaiSloAlerting');
	// A webhook that runs the SLO alerting template (queued to the workers), instead of waiting for its 5-minute schedule.
	const harness = (await stack.n8n.publicApi(stack.apiKey, 'POST', '/workflows', {
		name: 'e2e: run SLO alerting now',
		settings: { executionOrder: 'v1' },
		nodes: [
			{ id: 'h1', name: 'Hook', type: 'n8n-nodes-base.webhook', typeVersion: 2, position: [0, 0], webhookId: 'e2e-fleet-slo', parameters: { httpMethod: 'POST', path: 'e2e/fleet-slo', responseMode: 'lastNode', options: {} } },
			{
				id: 'h2', name: 'Run SLO alerting', type: 'n8n-nodes-base.executeWorkflow', typeVersion: 1.2, position: [200, 0],
				parameters: { source: 'database', workflowId: { __rl: true, mode: 'id', value: stack.workflowIds.get('ipaiSloAlerting') }, mode: 'once', options: { waitForSubWorkflow: true } },
			},
		],
		connections: { Hook: { main: [[{ node: 'Run SLO alerting', type: 'main', index: 0 }]] } },
	})) as { id: string };
	await stack.n8n.publicApi(stack.apiKey, 'POST', `/workflows/${harness.id}/activate`);
	await stack.n8n.waitForWebhook('e2e/fleet-slo');
	await stack.n8n.waitForWebhook('ipai/run-connector');
	for (const name of ODOO) await stack.addConnector('odoo', name, { models: ['account.journal'] }, null);
});

afterAll(async () => {
	await stack?.dispose();
});

/** Runs the connectors now (one queued execution each) and waits until each has `runs` finished runs. */
async function tick(names: string[], runs: number): Promise<void> {
	const answer = await stack.webhook('ipai/run-connector', { connectors: names });
	expect(answer.status).toBe(202);
	await stack.waitFor(`run ${runs} of ${names.join(', ')}`, async () => {
		const all = await Promise.all(names.map((n) => runsOf(stack.pool, n)));
		return all.every((r) => r.filter((x) => x.status !== 'running').length >= runs);
	}, 180_000);
}

async function evaluateSlos(): Promise<void> {
	const answer = await stack.webhook('e2e/fleet-slo', {});
	expect(answer.status).toBe(200);
}

const pagesAbout = (what: string) => stack.mattermost.posts.filter((p) => p.message.includes('**[PAGE]**') && p.message.includes(what));

it('an Odoo outage under three connectors pages once naming them, and resolves once', async () => {
	await tick(ODOO, 1);
	for (const name of ODOO) expect((await runsOf(stack.pool, name)).map((r) => r.status)).toEqual(['success']);

	// Down: every request to Odoo has its connection reset.
	stack.odoo.failNext(1_000_000, { kind: 'reset' });
	for (let round = 2; round <= 4; round++) {
		await tick(ODOO, round);
		await evaluateSlos();
	}
	for (const name of ODOO) {
		const failed = (await runsOf(stack.pool, name)).filter((r) => r.status === 'failed');
		expect(failed).toHaveLength(3);
		expect(failed[0].error_message).toMatch(/Odoo at http:\/\/127\.0\.0\.1:\d+ is unreachable \(ECONNRESET\)/);
		expect(failed[0].metadata).toMatchObject({ source: expect.stringMatching(/^odoo http:\/\/127\.0\.0\.1:\d+\/ db odoo$/) });
	}
	const pages = pagesAbout('fa-o');
	expect(pages).toHaveLength(1);
	for (const name of ODOO) expect(pages[0].message).toContain(`odoo/${name}`);
	// The error workflow left the unreachable source to the SLO path: no post per connector and tick.
	expect(stack.mattermost.posts.filter((p) => p.message.includes('Pipeline failed') && p.message.includes('odoo/fa-o'))).toEqual([]);

	// Back up: runs succeed; once the failures have left the SLO's windows the incident resolves, once.
	stack.odoo.clearFailures();
	let round = 5;
	await tick(ODOO, round);
	const resolved = await stack.waitFor('the resolved post', async () => {
		await evaluateSlos();
		const found = stack.mattermost.posts.filter((p) => p.message.includes('**[RESOLVED]**') && p.message.includes('fa-o'));
		if (found.length === 0) await tick(ODOO, ++round);
		return found.length > 0 ? found : undefined;
	}, 300_000);
	expect(resolved).toHaveLength(1);
	expect(resolved[0].rootId).toBe(pages[0].id);
	for (const name of ODOO) expect(`${resolved[0].message}${JSON.stringify(resolved[0].props)}`).toContain(`odoo/${name}`);
	await evaluateSlos();
	expect(pagesAbout('fa-o')).toHaveLength(1);
	expect(stack.mattermost.posts.filter((p) => p.message.includes('**[RESOLVED]**') && p.message.includes('fa-o'))).toHaveLength(1);
});

it('failures before a run starts and bad rows post once each, naming the connector', async () => {
	// Unscheduled rows are checked when they run: "run now" of a file connector without a table.
	await stack.addConnector('file', 'fa-f1', {}, null);
	// A scheduled row of a type no pipeline serves: its ticks fail in the ledger, reported once.
	await stack.addConnector('weird', 'fa-w1', {}, '* * * * *');
	await tick(['fa-f1'], 1);
	const [failed] = await runsOf(stack.pool, 'fa-f1');
	expect(failed.status).toBe('failed');
	expect(failed.error_message).toMatch(/^Connector file\/fa-f1 cannot run: config\.table is missing/);
	const beforeStart = await stack.waitFor('the post about file/fa-f1', async () => {
		const found = stack.mattermost.posts.filter((p) => p.message.includes('file/fa-f1'));
		return found.length > 0 ? found : undefined;
	});
	expect(beforeStart).toHaveLength(1);
	expect(beforeStart[0].message).toContain('config.table is missing');

	await stack.waitFor('two dispatcher ticks of weird/fa-w1', async () => (await runsOf(stack.pool, 'fa-w1')).length >= 2, 240_000);
	const reports = stack.mattermost.posts.filter((p) => p.message.includes('No pipeline for connector weird/fa-w1'));
	expect(reports).toHaveLength(1);

	// Every post of this file names the connector it is about.
	for (const post of stack.mattermost.posts) expect(post.message).toMatch(/(odoo|file|weird)\/fa-/);
});
