/**
 * The packed package in a real n8n 2.x, installed the way users install community packages
 * (into the user folder's .n8n/nodes), and a workflow that uses it end to end against a real
 * PostgreSQL lakehouse.
 */
import { createScratchDatabase, type ScratchDatabase } from '../../tooling/helpers/database';
import { migrate } from '../../lib/lakehouse/migrate';
import { N8nInstance, nodeOutput } from '../../tooling/n8n/n8nRuntime';
import { lakehouseCredential, PACKAGE_NAME, packPackage } from '../../tooling/n8n/pack';
import { Pool } from 'pg';
import { spawnSync } from 'child_process';
import * as os from 'os';
import * as path from 'path';

jest.setTimeout(600_000);

let n8n: N8nInstance;
let lakehouse: ScratchDatabase;
let tarball: string;

beforeAll(async () => {
	lakehouse = await createScratchDatabase('ipai_e2e_lake');
	await migrate({ connection: { connectionString: lakehouse.url } });
	n8n = await N8nInstance.create();
	tarball = packPackage();
	await n8n.installPackage(tarball);
	await n8n.importCredentials([lakehouseCredential('lakehouseE2E01', lakehouse.url)]);
});

afterAll(async () => {
	await n8n?.dispose();
	await lakehouse?.drop();
});

it('n8n lists the package\'s node types', async () => {
	const types = await n8n.listNodeTypes();
	expect(types).toEqual(expect.arrayContaining([`${PACKAGE_NAME}.ipaiConnectorRun`]));
});

it('the package\'s CLI migrates a fresh database with no clone: npx, and the copy n8n installed', async () => {
	const fresh = await createScratchDatabase('ipai_e2e_cli');
	try {
		// What a user runs: `npx n8n-nodes-ipai-lakehouse …` (here from the tarball instead of the registry).
		const npx = (...args: string[]) => {
			const result = spawnSync('npx', ['--yes', '--package', tarball, PACKAGE_NAME, ...args], {
				cwd: os.tmpdir(),
				encoding: 'utf8',
				env: { ...process.env, npm_config_update_notifier: 'false' },
			});
			return { code: result.status, out: `${result.stdout}${result.stderr}` };
		};
		const migrated = npx('migrate', '--database-url', fresh.url);
		expect(migrated).toMatchObject({ code: 0, out: expect.stringMatching(/\d+ migration\(s\) applied, 0 already applied/) });
		expect(npx('workflows', 'import', '--help')).toMatchObject({ code: 0, out: expect.stringContaining('workflows import --n8n-url') });
		expect(npx('migrate', '--database-url', 'postgres://nobody:hunter2secret@127.0.0.1:1/x')).toMatchObject({
			code: 1,
			out: expect.not.stringContaining('hunter2secret'),
		});
		// n8n's installer links no bins; the installed copy runs with plain node.
		const installedCli = path.join(n8n.nodesDir, 'node_modules', PACKAGE_NAME, 'dist', 'bin', 'cli.js');
		const status = spawnSync(process.execPath, [installedCli, 'migrate', '--status', '--database-url', fresh.url], { encoding: 'utf8' });
		expect({ code: status.status, out: status.stdout }).toEqual({ code: 0, out: 'all migrations applied\n' });
	} finally {
		await fresh.drop();
	}
});

it('runs Start → Load Items → Finish against the lakehouse and records the run', async () => {
	const credentials = { ipaiLakehouseApi: { id: 'lakehouseE2E01', name: 'lakehouse lakehouseE2E01' } };
	const node = (id: string, name: string, parameters: Record<string, unknown>, x: number) => ({
		id, name, parameters, type: `${PACKAGE_NAME}.ipaiConnectorRun`, typeVersion: 1, position: [x, 0], credentials,
	});
	await n8n.importWorkflow({
		id: 'ipaiSmoke0001',
		name: 'IPAI smoke',
		active: false,
		settings: {},
		nodes: [
			{ id: 'n1', name: 'Manual', type: 'n8n-nodes-base.manualTrigger', typeVersion: 1, position: [0, 0], parameters: {} },
			node('n2', 'Start', { operation: 'start', connectorType: 'smoke', connectorName: 'e2e', config: '{"purpose":"e2e"}' }, 200),
			{
				id: 'n3', name: 'Items', type: 'n8n-nodes-base.code', typeVersion: 2, position: [400, 0],
				parameters: { jsCode: "return [1,2,3].map(i => ({ json: { id: i, name: 'item ' + i, at: '2024-01-0' + i } }));" },
			},
			node('n4', 'Load', { operation: 'loadItems', runId: "={{ $('Start').first().json.runId }}", schema: 'ipai_bronze_core', table: 'smoke_items', keyFields: 'id' }, 600),
			node('n5', 'Finish', { operation: 'finish', runId: "={{ $('Start').first().json.runId }}" }, 800),
		],
		connections: {
			Manual: { main: [[{ node: 'Start', type: 'main', index: 0 }]] },
			Start: { main: [[{ node: 'Items', type: 'main', index: 0 }]] },
			Items: { main: [[{ node: 'Load', type: 'main', index: 0 }]] },
			Load: { main: [[{ node: 'Finish', type: 'main', index: 0 }]] },
		},
	});
	const run = await n8n.executeWorkflow('ipaiSmoke0001');
	const [started] = nodeOutput(run, 'Start');
	expect(started).toMatchObject({ status: 'running' });
	expect(nodeOutput(run, 'Load')[0]).toMatchObject({ rowsRead: 3, rowsWritten: 3, table: 'ipai_bronze_core.smoke_items' });
	expect(nodeOutput(run, 'Finish')[0]).toMatchObject({ status: 'success', runId: started.runId });

	const pool = new Pool({ connectionString: lakehouse.url });
	try {
		const rows = await pool.query('select id, name, at from ipai_bronze_core.smoke_items order by id');
		expect(rows.rows.map((r) => [r.id, r.name])).toEqual([['1', 'item 1'], ['2', 'item 2'], ['3', 'item 3']]);
		const ledger = await pool.query('select status, rows_read, rows_written, metadata from ipai_connector_run where id = $1', [started.runId]);
		expect(ledger.rows[0]).toMatchObject({ status: 'success', rows_read: 3, rows_written: 3 });
		expect(ledger.rows[0].metadata).toMatchObject({ n8n_workflow_id: 'ipaiSmoke0001' });
	} finally {
		await pool.end();
	}
});

it('skips a second start, sets and reads state, fails the run from Error Trigger input, lists runs and refreshes', async () => {
	const pool = new Pool({ connectionString: lakehouse.url });
	await pool.query(`create materialized view ipai_gold_core.e2e_totals as select 1 as one;
	                  create unique index on ipai_gold_core.e2e_totals (one);
	                  select ipai_meta.secure_relation('ipai_gold_core.e2e_totals')`);
	const credentials = { ipaiLakehouseApi: { id: 'lakehouseE2E01', name: 'lakehouse lakehouseE2E01' } };
	const steps: Array<[string, Record<string, unknown>]> = [
		['Start', { operation: 'start', connectorType: 'odoo', connectorName: 'ops' }],
		['Start again', { operation: 'start', connectorType: 'odoo', connectorName: 'ops' }],
		['Set state', { operation: 'setState', connectorType: 'odoo', connectorName: 'ops', stream: 'account.move', cursor: '"2024-01-01 00:00:00"' }],
		['Get state', { operation: 'getState', connectorType: 'odoo', connectorName: 'ops', stream: 'account.move' }],
		['As Error Trigger', {}],
		['Fail', { operation: 'fail', failSource: 'errorTrigger' }],
		['Get runs', { operation: 'getRuns', filters: { connectorName: 'ops' }, limit: 10 }],
		['Refresh', { operation: 'refresh', schemas: ['ipai_gold_core'] }],
	];
	const errorTriggerItem =
		"return [{ json: { execution: { id: $execution.id, url: 'http://n8n.local/execution/' + $execution.id, lastNodeExecuted: 'Sync Odoo', error: { message: 'Odoo refused the API key of https://bot:s3cr3t@odoo.example.com' } }, workflow: { id: $workflow.id, name: $workflow.name } } }];";
	const nodes: Array<Record<string, unknown>> = [
		{ id: 'o0', name: 'Manual', type: 'n8n-nodes-base.manualTrigger', typeVersion: 1, position: [0, 0], parameters: {} },
		...steps.map(([name, parameters], i) =>
			name === 'As Error Trigger'
				? { id: `o${i + 1}`, name, type: 'n8n-nodes-base.code', typeVersion: 2, position: [200 * (i + 1), 0], parameters: { jsCode: errorTriggerItem } }
				: { id: `o${i + 1}`, name, parameters, credentials, type: `${PACKAGE_NAME}.ipaiConnectorRun`, typeVersion: 1, position: [200 * (i + 1), 0] },
		),
	];
	const names = nodes.map((n) => n.name as string);
	const connections = Object.fromEntries(names.slice(0, -1).map((name, i) => [name, { main: [[{ node: names[i + 1], type: 'main', index: 0 }]] }]));
	await n8n.importWorkflow({ id: 'ipaiOps00000001', name: 'IPAI ops', active: false, settings: {}, nodes, connections });

	try {
		const run = await n8n.executeWorkflow('ipaiOps00000001');
		const [started] = nodeOutput(run, 'Start');
		expect(started).toMatchObject({ status: 'running' });
		expect(nodeOutput(run, 'Start again')[0]).toMatchObject({ status: 'skipped', reason: 'busy', holderRunId: started.runId });
		expect(nodeOutput(run, 'Get state')[0]).toMatchObject({ stream: 'account.move', cursor: '2024-01-01 00:00:00' });
		const failed = nodeOutput(run, 'Fail')[0];
		expect(failed).toMatchObject({ runId: started.runId, failed: true, status: 'failed' });
		expect(failed.errorMessage).toMatch(/^Odoo refused the API key of https:\/\/bot:\*\*\*@odoo\.example\.com \(node "Sync Odoo", execution http/);
		const runs = nodeOutput(run, 'Get runs');
		expect(runs.map((r) => r.status).sort()).toEqual(['failed', 'skipped']);
		expect(nodeOutput(run, 'Refresh')[0]).toMatchObject({ refreshed: [expect.objectContaining({ view: 'ipai_gold_core.e2e_totals', concurrently: true })] });

		const row = await pool.query('select status, error_message from ipai_connector_run where id = $1', [started.runId]);
		expect(row.rows[0].status).toBe('failed');
		expect(row.rows[0].error_message).not.toContain('s3cr3t');
	} finally {
		await pool.end();
	}
});
