/**
 * The IPAI SLO Monitor in a real n8n 2.x with the packed package installed: a workflow evaluates
 * the seeded SLOs over a real PostgreSQL lakehouse and posts the page to the Mattermost simulator
 * through the IPAI Mattermost credential (bot mode, REST API); a second execution posts nothing
 * new; a silence created by the node is honoured.
 */
import { Pool } from 'pg';
import { migrate } from '../../lib/lakehouse/migrate';
import { createScratchDatabase, type ScratchDatabase } from '../../tooling/helpers/database';
import { MattermostSimulator } from '../../tooling/simulators/mattermost/server';
import { N8nInstance, nodeOutput } from '../../tooling/n8n/n8nRuntime';
import { lakehouseCredential, PACKAGE_NAME, packPackage } from '../../tooling/n8n/pack';

jest.setTimeout(900_000);

const TOKEN = 'e2ebottoken000000000000000';
const CHANNEL = 'e2echannel0000000000000001';

let n8n: N8nInstance;
let lakehouse: ScratchDatabase;
let sim: MattermostSimulator;
let pool: Pool;

beforeAll(async () => {
	sim = await MattermostSimulator.start({
		tokens: { [TOKEN]: { id: 'e2ebotuser0000000000000000', username: 'slo-bot', isBot: true, channels: [CHANNEL] } },
		channels: [{ id: CHANNEL, name: 'data-alerts' }],
	});
	lakehouse = await createScratchDatabase('ipai_e2e_slo');
	await migrate({ connection: { connectionString: lakehouse.url } });
	pool = new Pool({ connectionString: lakehouse.url });
	// A connector on a 5-minute schedule: three days of successes, then failing for the last hour
	// (by the real clock: n8n evaluates at its own "now"), and one healthy connector.
	const { rows } = await pool.query<{ id: string; name: string }>(
		`insert into public.ipai_connector_config (connector_type, name, config, schedule, created_at)
		 values ('odoo', 'odoo-e2e', '{}', '*/5 * * * *', now() - interval '30 days'),
		        ('github', 'github-ok', '{"repositories":["acme/app"]}', '*/5 * * * *', now() - interval '30 days')
		 returning id, name`,
	);
	for (const c of rows) {
		await pool.query(
			`insert into public.ipai_connector_run (connector_id, started_at, ended_at, status, rows_read, rows_written, error_message, metadata)
			 select $1, t, t + interval '20 seconds', st, 5, 5,
			        case when st = 'failed' then 'Odoo answered 503 for https://etl:supersecret@odoo.example.com' end,
			        jsonb_build_object('n8n_execution_id', '77', 'n8n_workflow_id', 'wfE2E')
			   from (select t, case when $2 and t > now() - interval '1 hour' then 'failed' else 'success' end as st
			           from generate_series(now() - interval '3 days', now() - interval '1 minute', interval '5 minutes') as t) g`,
			[c.id, c.name === 'odoo-e2e'],
		);
	}
	n8n = await N8nInstance.create();
	await n8n.installPackage(packPackage());
	await n8n.importCredentials([
		lakehouseCredential('lakehouseSlo001', lakehouse.url),
		{ id: 'mattermostSlo01', name: 'mattermost e2e', type: 'ipaiMattermostApi', data: { mode: 'bot', serverUrl: sim.url, accessToken: TOKEN, channelId: CHANNEL } },
	]);
});

afterAll(async () => {
	await n8n?.dispose();
	await pool?.end();
	await lakehouse?.drop();
	await sim?.close();
});

it('n8n lists the SLO Monitor node type', async () => {
	expect(await n8n.listNodeTypes()).toEqual(expect.arrayContaining([`${PACKAGE_NAME}.ipaiSloMonitor`]));
});

it('sets an SLO, evaluates, posts the page to Mattermost once across executions, and creates a silence', async () => {
	const lakehouseCred = { ipaiLakehouseApi: { id: 'lakehouseSlo001', name: 'lakehouse lakehouseSlo001' } };
	const both = { ...lakehouseCred, ipaiMattermostApi: { id: 'mattermostSlo01', name: 'mattermost e2e' } };
	const node = (id: string, name: string, parameters: Record<string, unknown>, x: number, credentials: Record<string, unknown> = lakehouseCred) => ({
		id, name, parameters, credentials, type: `${PACKAGE_NAME}.ipaiSloMonitor`, typeVersion: 1, position: [x, 0],
	});
	await n8n.importWorkflow({
		id: 'ipaiSloE2E00001',
		name: 'IPAI SLO monitor',
		active: false,
		settings: {},
		nodes: [
			{ id: 's0', name: 'Manual', type: 'n8n-nodes-base.manualTrigger', typeVersion: 1, position: [0, 0], parameters: {} },
			node('s1', 'Silence GitHub', {
				operation: 'silence',
				matchers: { matcher: [{ label: 'connector_type', op: 'equals', value: 'github' }] },
				duration: '1h', createdBy: 'e2e', comment: 'GitHub maintenance',
			}, 200),
			node('s4', 'Set SLO', {
				operation: 'setSlo', codeName: 'github-ok-success', sliType: 'connector_success', objective: 99.9, period: '7d',
				connectorType: 'github', connectorName: 'github-ok', params: '{"min_events": 20}', labels: '{"team": "devops"}',
			}, 300),
			node('s2', 'Notify', { operation: 'notify', options: { n8nBaseUrl: 'https://n8n.example.com', runbookUrl: 'https://runbooks.example.com/connectors' } }, 400, both),
			node('s3', 'Status', { operation: 'getStatus', slos: 'connector-run-success, github-ok-success', output: 'statuses' }, 600),
		],
		connections: {
			Manual: { main: [[{ node: 'Silence GitHub', type: 'main', index: 0 }]] },
			'Silence GitHub': { main: [[{ node: 'Set SLO', type: 'main', index: 0 }]] },
			'Set SLO': { main: [[{ node: 'Notify', type: 'main', index: 0 }]] },
			Notify: { main: [[{ node: 'Status', type: 'main', index: 0 }]] },
		},
	});

	const run = await n8n.executeWorkflow('ipaiSloE2E00001');
	const [silence] = nodeOutput(run, 'Silence GitHub');
	expect(silence).toMatchObject({ state: 'active', createdBy: 'e2e', comment: 'GitHub maintenance' });
	const [notified] = nodeOutput(run, 'Notify');
	expect(notified).toMatchObject({ delivered: 1, failed: 0 });
	const statuses = nodeOutput(run, 'Status');
	const odoo = statuses.find((s) => (s.target as { name: string }).name === 'odoo-e2e')!;
	expect(odoo.status).toBe('page');
	expect(Number(odoo.errorBudgetRemaining)).toBeLessThan(0);
	// The one-connector SLO made by the node replaces the template for that connector.
	expect(nodeOutput(run, 'Set SLO')[0]).toMatchObject({ codeName: 'github-ok-success', objective: 0.999, periodSeconds: 604800, labels: { team: 'devops' } });
	expect(statuses.filter((s) => (s.target as { name: string }).name === 'github-ok')).toEqual([
		expect.objectContaining({ slo: 'github-ok-success', status: 'ok', errorBudgetRemaining: 1 }),
	]);

	expect(sim.posts).toHaveLength(1);
	const post = sim.posts[0];
	expect(post).toMatchObject({ via: 'api', channelId: CHANNEL, rootId: '' });
	expect(post.message).toContain('**[PAGE]** connector-run-success: odoo/odoo-e2e is burning its error budget');
	expect(post.metadata).toEqual({ priority: { priority: 'urgent', requested_ack: true } });
	const fields = JSON.stringify(post.props.attachments);
	expect(fields).toContain('https://n8n.example.com/workflow/wfE2E/executions/77');
	expect(fields).toContain('https://runbooks.example.com/connectors');
	expect(JSON.stringify(post)).not.toContain('supersecret');
	expect(JSON.stringify(post)).not.toContain(TOKEN);

	const { rows } = await pool.query(`select kind, status, post_id from public.ipai_alert_notification where status = 'sent'`);
	expect(rows).toEqual([{ kind: 'firing', status: 'sent', post_id: post.id }]);
	// The connector's data is stale too (no success for an hour), but the burn-rate page says why.
	const stale = await pool.query(`select severity, state, inhibited_by from public.ipai_alert where labels->>'alertname' = 'ConnectorStale' order by severity`);
	expect(stale.rows).toEqual([
		{ severity: 'page', state: 'firing', inhibited_by: expect.any(String) },
		{ severity: 'ticket', state: 'firing', inhibited_by: expect.any(String) },
	]);

	// A second run (say the next schedule tick) posts nothing new.
	const again = await n8n.executeWorkflow('ipaiSloE2E00001');
	expect(nodeOutput(again, 'Notify')[0]).toMatchObject({ delivered: 0, failed: 0 });
	expect(sim.posts).toHaveLength(1);
});
