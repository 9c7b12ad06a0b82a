/**
 * Every shipped workflow template in a real n8n 2.x, imported with `npm run workflows:import`
 * through n8n's public API, running against the simulators and a real lakehouse:
 *  - the dispatcher's schedule picks up connector rows (Odoo, GitHub, S3 files) and runs their
 *    pipelines; bronze holds exactly the source data; a transforms refresh fills gold;
 *  - a database connector row runs the db-sync pipeline (bronze equals the source tables, twice);
 *    the data-quality template evaluates the seeded expectations on that gold and fails by name;
 *  - the upload webhook loads a posted file; the GitHub events webhook lands signed deliveries once;
 *  - "run now" through the dispatcher's webhook; a failing pipeline runs the error workflow, which
 *    fails nothing twice and posts exactly one Mattermost message; SLO alerting runs.
 * The agent template is imported and validated (unit test) but not executed: it needs a chat model.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { nodeOutput } from '../../tooling/n8n/n8nRuntime';
import { githubEventsWebhookId, putObject, runsOf, startTemplateStack, type TemplateStack } from '../../tooling/n8n/templateStack';

jest.setTimeout(900_000);

const DATA = join(__dirname, '..', '..', 'node_modules', 'vega-datasets', 'data');
let stack: TemplateStack;

beforeAll(async () => {
	stack = await startTemplateStack({ name: 'templates' });
});

afterAll(async () => {
	await stack?.dispose();
});

const count = async (relation: string, where = 'true') =>
	Number((await stack.pool.query(`select count(*) as n from ${relation} where ${where}`)).rows[0].n);

it('imports every template with credentials mapped by name and the error workflow wired', async () => {
	expect(stack.importOutput).toMatch(/created/);
	const dispatcher = (await stack.n8n.publicApi(stack.apiKey, 'GET', `/workflows/${stack.workflowIds.get('ipaiDispatcher')}`)) as {
		nodes: Array<{ name: string; parameters: Record<string, unknown>; credentials?: Record<string, { id: string }> }>;
		settings: { errorWorkflow?: string };
	};
	expect(dispatcher.settings.errorWorkflow).toBe(stack.workflowIds.get('ipaiErrorHandler'));
	// Pipelines are reached through their webhooks (queued by the main), with the webhook key.
	const due = dispatcher.nodes.find((n) => n.name === 'Connectors due')!;
	expect(due.credentials!.httpHeaderAuth.id).toBe('credWebhookKey1');
	expect(dispatcher.nodes.find((n) => n.name === 'Connectors due')!.credentials!.ipaiLakehouseApi.id).toBe('credLakehouse01');
});

it('the dispatcher runs the Odoo, GitHub and S3 pipelines for their connector rows; bronze equals the sources', async () => {
	stack.github.addRepo('acme/app');
	stack.github.addWorkflow('acme/app');
	for (let i = 0; i < 5; i++) {
		stack.github.addIssue('acme/app');
		stack.github.addPull('acme/app');
		stack.github.addRun('acme/app');
	}
	const airports = readFileSync(join(DATA, 'airports.csv'), 'utf8');
	await putObject(stack, 'daily/airports.csv', airports);
	const weather = readFileSync(join(DATA, 'seattle-weather.csv'), 'utf8');
	await putObject(stack, 'weather/seattle.csv', weather);
	// A yearly schedule: a new connector is due at once, then not again during this test.
	await stack.addConnector('odoo', 'odoo-finance', {}, '0 0 1 1 *');
	await stack.addConnector('github', 'devops', { repositories: ['acme/app'] }, '0 0 1 1 *');
	await stack.addConnector('file', 's3-airports', { bucket: 'exports', prefix: 'daily/', glob: '*.csv', table: 'airports', keyColumns: 'iata' }, '0 0 1 1 *');
	// Two connectors of one type due in the same tick: each gets its own pipeline execution and run.
	await stack.addConnector('file', 's3-weather', { bucket: 'exports', prefix: 'weather/', glob: '*.csv', table: 'weather' }, '0 0 1 1 *');
	await stack.activate('ipaiDispatcher');

	for (const name of ['odoo-finance', 'devops', 's3-airports', 's3-weather']) {
		await stack.waitFor(`a finished run of ${name}`, async () => (await runsOf(stack.pool, name)).find((r) => r.status !== 'running'), 180_000);
	}
	const pipelineOf: Record<string, string> = {
		'odoo-finance': 'ipaiOdooFinanceSync', devops: 'ipaiGitHubDevopsSync', 's3-airports': 'ipaiFileIngestStorage', 's3-weather': 'ipaiFileIngestStorage',
	};
	for (const name of Object.keys(pipelineOf)) {
		const runs = await runsOf(stack.pool, name);
		expect(runs.map((r) => [r.status, r.error_message])).toEqual([['success', null]]);
		expect(runs[0].metadata).toMatchObject({ n8n_execution_id: expect.any(String), n8n_workflow_id: stack.workflowIds.get(pipelineOf[name]) });
	}
	expect(await count('ipai_bronze_erp.odoo_account_move_line')).toBe(stack.odoo.count('account.move.line'));
	expect(await count('ipai_bronze_erp.odoo_res_partner')).toBe(stack.odoo.count('res.partner'));
	expect(await count('ipai_bronze_devops.github_issues')).toBe(5);
	expect(await count('ipai_bronze_devops.github_pull_requests')).toBe(5);
	expect(await count('ipai_bronze_core.airports')).toBe(airports.trim().split('\n').length - 1);
	const weatherRows = await stack.pool.query(
		`select count(*)::int as n, count(distinct w._ipai_connector_id)::int as connectors, min(c.name) as connector
		   from ipai_bronze_core.weather w join ipai_connector_config c on c.id = w._ipai_connector_id`,
	);
	expect(weatherRows.rows[0]).toEqual({ n: weather.trim().split('\n').length - 1, connectors: 1, connector: 's3-weather' });
	// The rows still hold what their owner wrote: a sync records its settings on its run, not over the row.
	const configs = await stack.pool.query(`select name, config from ipai_connector_config where name in ('devops', 's3-airports') order by name`);
	expect(configs.rows.map((r) => [r.name, Object.keys(r.config).sort()])).toEqual([
		['devops', ['repositories']],
		['s3-airports', ['bucket', 'glob', 'keyColumns', 'prefix', 'table']],
	]);
	const claims = await stack.pool.query(`select count(*)::int as n from ipai_connector_dispatch where last_due_at = '2026-01-01T00:00:00Z'`);
	expect(claims.rows[0].n).toBe(4);
});

it('the transforms refresh fills gold from the synced bronze', async () => {
	const run = await stack.n8n.executeWorkflow(stack.workflowIds.get('ipaiTransformsRefresh')!);
	const [refreshed] = nodeOutput(run, 'Refresh layers');
	expect(refreshed).toBeDefined();
	expect(await count('ipai_gold_erp.profit_and_loss')).toBeGreaterThan(0);
	// The gold table is the whole of its silver source (the numbers themselves are proven to the cent
	// in test/integration/transforms.test.ts).
	const { rows } = await stack.pool.query(
		`select (select sum(amount) from ipai_gold_erp.profit_and_loss)::text as gold,
		        (select sum(-balance) from ipai_silver_erp.journal_items
		          where account_group in ('income', 'expense') and company_id is not null and account_id is not null)::text as bronze`,
	);
	expect(rows[0].gold).toBe(rows[0].bronze);
});

it('the dispatcher runs the db-sync pipeline for a db connector row; bronze equals the source tables', async () => {
	// The source: a schema of the lakehouse server itself, which the template's credential points at.
	await stack.pool.query(
		`create schema shop;
		 create table shop.orders (id int primary key, customer text, amount numeric(12,2), placed date);
		 insert into shop.orders select g, 'c' || (g % 7), g * 1.25, date '2026-01-01' + g % 90 from generate_series(1, 2500) g;
		 create table shop.events (id bigint primary key, kind text, updated_at timestamptz);
		 insert into shop.events select g, case when g % 3 = 0 then 'refund' else 'sale' end, timestamptz '2026-06-01' + g * interval '1 minute' from generate_series(1, 1200) g;`,
	);
	await stack.addConnector('db', 'shop-db', {
		engine: 'postgres',
		tables: [
			{ table: 'shop.orders', mode: 'full' },
			{ table: 'shop.events', mode: 'incremental', cursor: ['updated_at'] },
		],
	}, null);
	const res = await stack.webhook('ipai/run-connector', { connector: 'shop-db' });
	expect(res.status).toBe(202);
	const run = await stack.waitFor('the db-sync run', async () => (await runsOf(stack.pool, 'shop-db')).find((r) => r.status !== 'running'), 180_000);
	expect([run.status, run.error_message]).toEqual(['success', null]);
	expect(run.metadata).toMatchObject({ n8n_workflow_id: stack.workflowIds.get('ipaiDbSync'), db: { tables: [expect.objectContaining({ rowsRead: expect.any(Number) }), expect.anything()] } });
	// Where it read, for alert grouping: engine, server and database; no user or password.
	const lakehouse = new URL(stack.lakehouse.url);
	expect(run.metadata?.source).toBe(`postgres ${lakehouse.hostname}:${lakehouse.port || 5432} db ${lakehouse.pathname.slice(1)}`);
	// Bronze against the source, row by row, in PostgreSQL (both live in this database).
	const differences = async () =>
		(await stack.pool.query(
			`select (select count(*) from ((select id, customer, amount, placed from shop.orders
			                                except select id, customer, amount, placed from ipai_bronze_core.shop_orders where _ipai_deleted_at is null)
			                               union all
			                               (select id, customer, amount, placed from ipai_bronze_core.shop_orders where _ipai_deleted_at is null
			                                except select id, customer, amount, placed from shop.orders)) d)::int as orders,
			        (select count(*) from ((select id, kind, updated_at from shop.events
			                                except select id, kind, updated_at from ipai_bronze_core.shop_events)
			                               union all
			                               (select id, kind, updated_at from ipai_bronze_core.shop_events
			                                except select id, kind, updated_at from shop.events)) d)::int as events`,
		)).rows[0];
	expect(await differences()).toEqual({ orders: 0, events: 0 });
	expect(await count('ipai_bronze_core.shop_orders')).toBe(2500);
	// A second run picks up what changed at the source: an edit, a delete (full mode) and new events.
	await stack.pool.query(
		`update shop.orders set amount = amount + 1 where id % 100 = 0;
		 delete from shop.orders where id = 7;
		 insert into shop.events select g, 'sale', timestamptz '2026-07-01' + g * interval '1 second' from generate_series(1201, 1300) g;`,
	);
	await stack.webhook('ipai/run-connector', { connector: 'shop-db' });
	await stack.waitFor('the second db-sync run', async () => (await runsOf(stack.pool, 'shop-db')).filter((r) => r.status !== 'running').length === 2 || undefined, 180_000);
	expect((await runsOf(stack.pool, 'shop-db')).map((r) => r.status)).toEqual(['success', 'success']);
	expect(await differences()).toEqual({ orders: 0, events: 0 });
});

it('the data-quality template refreshes, evaluates the seeded expectations on real gold, and a failing `fail` expectation fails it by name', async () => {
	const workflow = stack.workflowIds.get('ipaiDataQuality')!;
	await stack.activate('ipaiTransformsRefresh'); // n8n 2.x runs only published sub-workflows
	const passed = await stack.n8n.executeWorkflow(workflow);
	const [report] = nodeOutput(passed, 'Evaluate expectations');
	expect(report).toMatchObject({ errors: 0 }); // every expectation ran; the workflow succeeding says no `fail` one failed
	const seeded = await stack.pool.query(
		`select e.name, r.status from public.ipai_dq_result r join public.ipai_dq_expectation e on e.id = r.expectation_id
		  where e.target_table = 'ipai_gold_erp.account_balance_daily' and e.name = 'balance_sheet_balances'`,
	);
	expect(seeded.rows.length).toBeGreaterThan(0);
	expect(new Set(seeded.rows.map((r) => r.status))).toEqual(new Set(['pass']));
	await stack.pool.query(
		`insert into public.ipai_dq_expectation (target_table, name, kind, args, action)
		 values ('ipai_gold_erp.profit_and_loss', 'e2e_no_rows_expected', 'row_count', '{"max": 0}', 'fail')`,
	);
	try {
		await expect(stack.n8n.executeWorkflow(workflow)).rejects.toThrow(/e2e_no_rows_expected/);
		const failed = await stack.pool.query(
			`select r.status from public.ipai_dq_result r join public.ipai_dq_expectation e on e.id = r.expectation_id where e.name = 'e2e_no_rows_expected'`,
		);
		expect(failed.rows.map((r) => r.status)).toContain('fail');
	} finally {
		await stack.pool.query(`delete from public.ipai_dq_expectation where name = 'e2e_no_rows_expected'`);
	}
});

it('the upload webhook loads a posted file and answers with the summary', async () => {
	await stack.activate('ipaiFileUpload');
	await stack.n8n.waitForWebhook('ipai/files');
	const form = new FormData();
	form.append('file', new Blob([readFileSync(join(DATA, 'seattle-weather.csv'))], { type: 'text/csv' }), 'seattle-weather.csv');
	const res = await stack.webhook('ipai/files?table=seattle_weather&connector=uploads-weather', form);
	expect(res.status).toBe(200);
	const [summary] = [].concat(res.json as never) as Array<Record<string, unknown>>;
	expect(summary).toMatchObject({ rows: 1461, rejects: 0, table: 'ipai_bronze_core.seattle_weather' });
	expect(await count('ipai_bronze_core.seattle_weather')).toBe(1461);
	const refused = await stack.webhook('ipai/files?table=x', form, { 'X-IPAI-Key': 'wrong' });
	expect(refused.status).toBe(403);
});

it('the GitHub events webhook lands a signed delivery once and refuses a bad signature', async () => {
	await stack.activate('ipaiGitHubEvents');
	await stack.n8n.waitForWebhook(`${githubEventsWebhookId()}/webhook`);
	// eslint-disable-next-line @typescript-eslint/no-require-imports
	const examples = require('@octokit/webhooks-examples') as Array<{ name: string; examples: Array<Record<string, unknown>> }>;
	const payload = examples.find((g) => g.name === 'issues')!.examples[0];
	const first = await stack.githubDelivery('issues', payload, 'delivery-1');
	expect(first.status).toBe(200);
	const again = await stack.githubDelivery('issues', payload, 'delivery-1');
	expect(again.json).toMatchObject({ status: 'duplicate' });
	expect(await count('ipai_bronze_devops.github_events', `delivery_id = 'delivery-1'`)).toBe(1);
});

it('a failing pipeline runs the error workflow: the run is failed once and on-call gets one message', async () => {
	const before = stack.mattermost.posts.length;
	stack.odoo.failNext(1000, { kind: 'fault', faultCode: 3, faultString: 'Access Denied', match: { method: 'search_read' } });
	try {
		const res = await stack.webhook('ipai/run-connector', { connector: 'odoo-finance' });
		expect(res.status).toBe(202);
		expect(res.json).toEqual([{ delivered: ['odoo/odoo-finance'], failed: [], retryNextTick: 0 }]);
		const failed = await stack.waitFor('the failed Odoo run', async () => (await runsOf(stack.pool, 'odoo-finance')).find((r) => r.status === 'failed'));
		expect(failed.error_message).toMatch(/Access Denied|access/i);
		await stack.waitFor('the error workflow message', async () => stack.mattermost.posts.length > before);
		await new Promise((r) => setTimeout(r, 3000)); // nothing more arrives
		const posts = stack.mattermost.posts.slice(before);
		expect(posts).toHaveLength(1);
		expect(posts[0].message).toContain('Pipeline failed: IPAI: Odoo finance sync (odoo/odoo-finance)');
		expect(JSON.stringify(posts[0].props)).toContain(`/workflow/${stack.workflowIds.get('ipaiOdooFinanceSync')}/executions/`);
		expect(JSON.stringify(posts[0])).not.toContain(stack.webhookKey);
	} finally {
		stack.odoo.clearFailures();
	}
	// Asking for a connector that does not exist is an error the caller sees.
	const unknown = await stack.webhook('ipai/run-connector', { connector: 'nope' });
	expect(unknown.status).toBe(400);
	expect(unknown.json).toEqual({ error: expect.stringMatching(/no connector is named "nope"/) });
});

it('a row naming its own workflow runs that workflow; a type with no pipeline is reported to on-call', async () => {
	const refreshId = stack.workflowIds.get('ipaiTransformsRefresh')!;
	const executionsOfRefresh = async () =>
		((await stack.n8n.publicApi(stack.apiKey, 'GET', `/executions?workflowId=${refreshId}&limit=100`)) as { data: Array<{ mode: string }> }).data
			.filter((e) => e.mode === 'integrated').length;
	await stack.activate('ipaiTransformsRefresh'); // n8n 2.x runs only published sub-workflows
	const before = { runs: await executionsOfRefresh(), posts: stack.mattermost.posts.length };
	await stack.addConnector('custom', 'nightly-refresh', { n8n_workflow_id: refreshId }, null);
	await stack.addConnector('weird', 'orphan', {}, null);
	const res = await stack.webhook('ipai/run-connector', { connectors: ['nightly-refresh', 'orphan'] });
	expect(res.status).toBe(202);
	await stack.waitFor('the named workflow to run', async () => (await executionsOfRefresh()) > before.runs);
	await stack.waitFor('the missing-pipeline message', async () => stack.mattermost.posts.length > before.posts);
	const posts = stack.mattermost.posts.slice(before.posts);
	expect(posts).toHaveLength(1);
	expect(posts[0].message).toContain('No pipeline for connector weird/orphan');
	expect(posts[0].message).toContain('config.n8n_workflow_id');
});

it('SLO alerting evaluates and notifies', async () => {
	const run = await stack.n8n.executeWorkflow(stack.workflowIds.get('ipaiSloAlerting')!);
	const [summary] = nodeOutput(run, 'Evaluate and notify');
	// One failure among few runs is below the SLO's minimum events: nothing pages yet.
	expect(summary).toMatchObject({ failed: 0, delivered: 0 });
});
