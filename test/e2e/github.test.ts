/**
 * The GitHub nodes in a real n8n 2.x with the packed package installed:
 * - IPAI GitHub (Sync to lakehouse) run by `n8n execute` against the GitHub simulator: bronze
 *   equals the simulator's data, the run row has the budget; a gone repository ends the run
 *   `success` with a warning (output, execution hint, metadata.warnings);
 * - IPAI GitHub Trigger activated through the public API, receiving signed deliveries over HTTP:
 *   a bad or missing signature answers 401, never runs the workflow and never reaches the
 *   lakehouse; the same delivery twice lands once and runs the workflow once.
 */
import { Pool } from 'pg';
import { migrate } from '../../lib/lakehouse/migrate';
import { signPayload } from '../../lib/sources/github/webhooks';
import { createScratchDatabase, type ScratchDatabase } from '../../tooling/helpers/database';
import { GitHubSimulator } from '../../tooling/simulators/github/server';
import { N8nInstance, nodeOutput } from '../../tooling/n8n/n8nRuntime';
import { lakehouseCredential, PACKAGE_NAME, packPackage } from '../../tooling/n8n/pack';

jest.setTimeout(600_000);

let n8n: N8nInstance;
let lakehouse: ScratchDatabase;
let sim: GitHubSimulator;
let pool: Pool;
const SECRET = "It's a Secret to Everybody";

beforeAll(async () => {
	lakehouse = await createScratchDatabase('ipai_e2e_github');
	await migrate({ connection: { connectionString: lakehouse.url } });
	pool = new Pool({ connectionString: lakehouse.url });
	sim = new GitHubSimulator({ token: 'ghp_e2e_token' });
	await sim.start();
	n8n = await N8nInstance.create();
	await n8n.installPackage(packPackage());
});

afterAll(async () => {
	await n8n?.dispose();
	await sim?.stop();
	await pool?.end();
	await lakehouse?.drop();
});

it('syncs GitHub into bronze from a workflow run by n8n', async () => {
	sim.addRepo('acme/e2e');
	sim.addWorkflow('acme/e2e');
	for (let i = 0; i < 7; i++) {
		sim.addIssue('acme/e2e');
		sim.addPull('acme/e2e');
		sim.addRun('acme/e2e');
	}
	await n8n.importCredentials([
		lakehouseCredential('lakehouseGh001', lakehouse.url),
		{ id: 'githubSim00001', name: 'github sim', type: 'ipaiGitHubApi', data: { authType: 'token', accessToken: 'ghp_e2e_token', baseUrl: sim.url } },
	]);
	await n8n.importWorkflow({
		id: 'ipaiGhSync0001',
		name: 'GitHub sync',
		active: false,
		settings: {},
		nodes: [
			{ id: 'g1', name: 'Manual', type: 'n8n-nodes-base.manualTrigger', typeVersion: 1, position: [0, 0], parameters: {} },
			{
				id: 'g2',
				name: 'GitHub',
				type: `${PACKAGE_NAME}.ipaiGitHub`,
				typeVersion: 1,
				position: [200, 0],
				parameters: {
					operation: 'sync',
					repositorySource: 'list',
					repositories: ['acme/e2e', 'acme/gone'],
					streams: ['repositories', 'issues', 'pull_requests', 'workflows', 'workflow_runs', 'workflow_jobs'],
					connectorName: 'github-e2e',
				},
				credentials: {
					ipaiGitHubApi: { id: 'githubSim00001', name: 'github sim' },
					ipaiLakehouseApi: { id: 'lakehouseGh001', name: 'lakehouse lakehouseGh001' },
				},
			},
		],
		connections: { Manual: { main: [[{ node: 'GitHub', type: 'main', index: 0 }]] } },
	});
	const run = await n8n.executeWorkflow('ipaiGhSync0001');
	const [summary] = nodeOutput(run, 'GitHub');
	// A repository that is gone is skipped: the run still succeeds, with a warning in the output,
	// as an execution hint n8n shows on the node, and in the ledger.
	expect(summary).toMatchObject({ status: 'success', repositories: ['acme/e2e'], skipped: [expect.objectContaining({ repository: 'acme/gone', status: 404 })] });
	expect(summary.warnings).toEqual([expect.stringMatching(/^acme\/gone: repository skipped \(HTTP 404\)/)]);
	const hints = (run.data.resultData.runData.GitHub[0] as { hints?: Array<{ message: string; type?: string }> }).hints ?? [];
	expect(hints).toEqual([expect.objectContaining({ type: 'warning', message: expect.stringContaining('acme/gone: repository skipped') })]);
	const counts = await pool.query(
		`select (select count(*)::int from ipai_bronze_devops.github_issues) issues,
		        (select count(*)::int from ipai_bronze_devops.github_pull_requests) pulls,
		        (select count(*)::int from ipai_bronze_devops.github_workflow_runs) runs,
		        (select count(*)::int from ipai_bronze_devops.github_workflow_jobs) jobs`,
	);
	expect(counts.rows[0]).toEqual({ issues: 7, pulls: 7, runs: 7, jobs: 7 });
	const ledger = await pool.query('select status, metadata from ipai_connector_run where id = $1', [summary.runId]);
	expect(ledger.rows[0].status).toBe('success');
	expect(ledger.rows[0].metadata.warnings).toEqual(summary.warnings);
	expect(ledger.rows[0].metadata.github.rate_limit.core.limit).toBe(5000);
	expect(JSON.stringify(ledger.rows[0])).not.toContain('ghp_e2e_token');
});

it('webhook trigger: 401 for bad signatures (nothing lands, no execution), a redelivery lands once', async () => {
	await n8n.start();
	await n8n.setupOwner();
	const apiKey = await n8n.createApiKey();
	const lakehouseUrl = new URL(lakehouse.url);
	const credential = (await n8n.publicApi(apiKey, 'POST', '/credentials', {
		name: 'lakehouse for trigger',
		type: 'ipaiLakehouseApi',
		data: {
			connectionMode: 'fields',
			host: lakehouseUrl.hostname,
			port: Number(lakehouseUrl.port || 5432),
			database: lakehouseUrl.pathname.slice(1),
			user: decodeURIComponent(lakehouseUrl.username),
			password: decodeURIComponent(lakehouseUrl.password) || 'unused',
			ssl: 'disable',
			caCertificate: '',
			connectionString: '',
		},
	})) as { id: string };
	const created = (await n8n.publicApi(apiKey, 'POST', '/workflows', {
		name: 'GitHub events',
		settings: { executionOrder: 'v1' },
		nodes: [
			{
				id: 't1',
				name: 'GitHub Trigger',
				type: `${PACKAGE_NAME}.ipaiGitHubTrigger`,
				typeVersion: 1,
				position: [0, 0],
				webhookId: 'ipai-gh-e2e',
				parameters: { secret: SECRET, connectorName: 'github-events-e2e' },
				credentials: { ipaiLakehouseApi: { id: credential.id, name: 'lakehouse for trigger' } },
			},
			{ id: 't2', name: 'Done', type: 'n8n-nodes-base.noOp', typeVersion: 1, position: [200, 0], parameters: {} },
		],
		connections: { 'GitHub Trigger': { main: [[{ node: 'Done', type: 'main', index: 0 }]] } },
	})) as { id: string };
	await n8n.publicApi(apiKey, 'POST', `/workflows/${created.id}/activate`);
	await n8n.waitForWebhook('ipai-gh-e2e/webhook');

	// eslint-disable-next-line @typescript-eslint/no-require-imports
	const examples = require('@octokit/webhooks-examples') as Array<{ name: string; examples: Array<Record<string, unknown>> }>;
	const payload = examples.find((g) => g.name === 'workflow_run')!.examples[0];
	const body = JSON.stringify(payload, null, 2); // pretty-printed: the signature must be over these exact bytes
	const post = async (signature: string | null, delivery: string, text = body) => {
		const headers: Record<string, string> = { 'content-type': 'application/json', 'x-github-event': 'workflow_run', 'x-github-delivery': delivery, 'user-agent': 'GitHub-Hookshot/e2e' };
		if (signature) headers['x-hub-signature-256'] = signature;
		const started = Date.now();
		const res = await fetch(`${n8n.baseUrl}/webhook/ipai-gh-e2e/webhook`, { method: 'POST', headers, body: text });
		return { status: res.status, text: await res.text(), ms: Date.now() - started };
	};

	const bad = await post(signPayload('wrong secret', body), 'delivery-bad');
	expect(bad.status).toBe(401);
	expect(bad.text).toMatch(/Signature refused/);
	expect((await post(null, 'delivery-missing')).status).toBe(401);
	expect((await post(signPayload(SECRET, body), 'delivery-tampered', body.replace('"completed"', '"failure"'))).status).toBe(401);

	const first = await post(signPayload(SECRET, body), 'delivery-1');
	expect(first.status).toBe(200);
	expect(first.ms).toBeLessThan(10_000);
	const again = await post(signPayload(SECRET, body), 'delivery-1');
	expect(again.status).toBe(200);
	expect(JSON.parse(again.text)).toEqual({ status: 'duplicate', delivery: 'delivery-1' });

	const { rows } = await pool.query('select delivery_id, event, action, repository_full_name, sender_login, payload from ipai_bronze_devops.github_events');
	expect(rows).toHaveLength(1);
	expect(rows[0]).toMatchObject({
		delivery_id: 'delivery-1',
		event: 'workflow_run',
		action: payload.action,
		repository_full_name: (payload.repository as { full_name: string }).full_name,
	});
	expect(rows[0].payload).toEqual(payload);

	// Executions: exactly one (the first good delivery). Poll briefly: the run is recorded asynchronously.
	let executions: Array<{ id: string; status?: string }> = [];
	for (let i = 0; i < 50; i++) {
		executions = ((await n8n.publicApi(apiKey, 'GET', `/executions?workflowId=${created.id}`)) as { data: Array<{ id: string; status?: string }> }).data;
		if (executions.length > 0 && executions.every((e) => e.status !== 'running' && e.status !== 'new')) break;
		await new Promise((resolve) => setTimeout(resolve, 200));
	}
	expect(executions).toHaveLength(1);
	const execution = (await n8n.publicApi(apiKey, 'GET', `/executions/${executions[0].id}?includeData=true`)) as {
		data: { resultData: { runData: Record<string, Array<{ data: { main: Array<Array<{ json: Record<string, unknown> }>> } }>> } };
	};
	expect(execution.data.resultData.runData.Done[0].data.main[0][0].json).toMatchObject({ delivery_id: 'delivery-1', event: 'workflow_run' });
});
