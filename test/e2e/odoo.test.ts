/**
 * IPAI Odoo in a real n8n (packed package) against the Odoo simulator and a real lakehouse:
 * a sync in its own run, an incremental re-run, and a failing sync recorded as a failed run.
 */
import { Pool } from 'pg';
import { migrate } from '../../lib/lakehouse/migrate';
import { createScratchDatabase, type ScratchDatabase } from '../../tooling/helpers/database';
import { DEFAULT_ADMIN_API_KEY, OdooSimulator, seedDemoCompany, type RunningServer } from '../../tooling/simulators/odoo';
import { N8nInstance, nodeOutput } from '../../tooling/n8n/n8nRuntime';
import { lakehouseCredential, PACKAGE_NAME, packPackage } from '../../tooling/n8n/pack';

jest.setTimeout(600_000);

let n8n: N8nInstance;
let lakehouse: ScratchDatabase;
let sim: OdooSimulator;
let server: RunningServer;

const odooCredential = (id: string, login: string, apiKey: string) => ({
	id,
	name: `odoo ${id}`,
	type: 'ipaiOdooApi',
	data: { url: server.url, database: 'odoo', login, apiKey, protocol: 'auto' },
});

function syncWorkflow(id: string, odooCredentialId: string, connectorName: string, models: string[]) {
	return {
		id,
		name: `Odoo sync ${id}`,
		active: false,
		settings: {},
		nodes: [
			{ id: 'm', name: 'Manual', type: 'n8n-nodes-base.manualTrigger', typeVersion: 1, position: [0, 0], parameters: {} },
			{
				id: 's',
				name: 'Sync Odoo',
				type: `${PACKAGE_NAME}.ipaiOdoo`,
				typeVersion: 1,
				position: [220, 0],
				parameters: { operation: 'sync', models, connectorName, syncOptions: { deleteScanEveryHours: 0 } },
				credentials: {
					ipaiOdooApi: { id: odooCredentialId, name: `odoo ${odooCredentialId}` },
					ipaiLakehouseApi: { id: 'lakeOdooE2E01', name: 'lakehouse lakeOdooE2E01' },
				},
			},
		],
		connections: { Manual: { main: [[{ node: 'Sync Odoo', type: 'main', index: 0 }]] } },
	};
}

beforeAll(async () => {
	sim = new OdooSimulator({ version: '17.0' });
	seedDemoCompany(sim);
	server = await sim.start();
	lakehouse = await createScratchDatabase('ipai_e2e_odoo');
	await migrate({ connection: { connectionString: lakehouse.url } });
	n8n = await N8nInstance.create();
	await n8n.installPackage(packPackage());
	await n8n.importCredentials([
		lakehouseCredential('lakeOdooE2E01', lakehouse.url),
		odooCredential('odooAdmin0001', 'admin', DEFAULT_ADMIN_API_KEY),
		odooCredential('odooDemo00001', 'demo', 'demo'),
		{ ...odooCredential('odooDown00001', 'admin', DEFAULT_ADMIN_API_KEY), data: { url: 'http://127.0.0.1:9', database: 'odoo', login: 'admin', apiKey: DEFAULT_ADMIN_API_KEY, protocol: 'auto' } },
	]);
});

afterAll(async () => {
	await n8n?.dispose();
	await lakehouse?.drop();
	await server?.close();
});

it('syncs finance models into bronze in its own run, then incrementally', async () => {
	const models = ['account.move', 'account.move.line', 'res.partner'];
	await n8n.importWorkflow(syncWorkflow('ipaiOdooSync001', 'odooAdmin0001', 'odoo-e2e', models));
	const first = nodeOutput(await n8n.executeWorkflow('ipaiOdooSync001'), 'Sync Odoo')[0] as Record<string, unknown>;
	expect(first).toMatchObject({ odooVersion: '17.0', protocol: 'jsonrpc' });
	const perModel = first.models as Array<Record<string, unknown>>;
	expect(perModel.map((m) => m.mode)).toEqual(['full', 'full', 'full']);
	expect(perModel.find((m) => m.model === 'account.move.line')!.rowsRead).toBe(sim.count('account.move.line'));

	sim.clock.advance(3_600_000);
	sim.write('res.partner', [sim.search('res.partner', [['is_company', '=', true]], { limit: 1 })[0]], { name: 'Renamed in Odoo' });
	const second = nodeOutput(await n8n.executeWorkflow('ipaiOdooSync001'), 'Sync Odoo')[0] as Record<string, unknown>;
	const secondModels = second.models as Array<Record<string, unknown>>;
	expect(secondModels.map((m) => m.mode)).toEqual(['incremental', 'incremental', 'incremental']);

	const pool = new Pool({ connectionString: lakehouse.url });
	try {
		const renamed = await pool.query(`select count(*)::int as n from ipai_bronze_erp.odoo_res_partner where name = 'Renamed in Odoo'`);
		expect(renamed.rows[0].n).toBe(1);
		const runs = await pool.query(`select status, rows_read, metadata->>'odoo_rpc_calls' as calls from ipai_connector_run order by started_at`);
		expect(runs.rows.map((r) => r.status)).toEqual(['success', 'success']);
		expect(Number(runs.rows[1].rows_read)).toBeLessThan(Number(runs.rows[0].rows_read));
	} finally {
		await pool.end();
	}
});

it('records a failed run with an actionable message when Odoo refuses access', async () => {
	await n8n.importWorkflow(syncWorkflow('ipaiOdooFail001', 'odooDemo00001', 'odoo-e2e-denied', ['res.partner', 'account.move']));
	await expect(n8n.executeWorkflow('ipaiOdooFail001')).rejects.toThrow(/may not read account\.move/);
	const pool = new Pool({ connectionString: lakehouse.url });
	try {
		const run = await pool.query(
			`select r.status, r.error_message, r.rows_written from ipai_connector_run r join ipai_connector_config c on c.id = r.connector_id where c.name = 'odoo-e2e-denied'`,
		);
		expect(run.rows[0].status).toBe('failed');
		expect(run.rows[0].error_message).toMatch(/The Odoo user may not read account\.move: grant it read access in Odoo/);
		// The partners synced before the failure stay loaded.
		expect(Number(run.rows[0].rows_written)).toBeGreaterThan(0);
	} finally {
		await pool.end();
	}
});

it('an unreachable Odoo: a failed run, and n8n shows the node’s message, not its generic one', async () => {
	await n8n.importWorkflow(syncWorkflow('ipaiOdooDown001', 'odooDown00001', 'odoo-e2e-down', ['res.partner']));
	const failure = n8n.executeWorkflow('ipaiOdooDown001');
	await expect(failure).rejects.toThrow(/Odoo at http:\/\/127\.0\.0\.1:9 is unreachable \(ECONNREFUSED\): check the URL and that the server is up/);
	await expect(failure).rejects.not.toThrow(/The service refused the connection/);
	const pool = new Pool({ connectionString: lakehouse.url });
	try {
		const run = await pool.query(
			`select r.status, r.error_message from ipai_connector_run r join ipai_connector_config c on c.id = r.connector_id where c.name = 'odoo-e2e-down'`,
		);
		expect(run.rows).toEqual([{ status: 'failed', error_message: expect.stringMatching(/^Odoo at http:\/\/127\.0\.0\.1:9 is unreachable \(ECONNREFUSED\)/) }]);
	} finally {
		await pool.end();
	}
});
