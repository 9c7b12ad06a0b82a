/**
 * The Odoo connector against an Odoo stand-in written by someone else, only from Odoo's
 * documentation and source (tooling/standins/odoo, XML-RPC only, `fields_get` answering `{}` for an
 * unknown model): the failures issue 15 reported, each a failed run with the node's message and
 * nothing half-written; protocol "auto" falling back to XML-RPC; bronze equal to the stand-in value
 * by value; unchanged incremental runs counted by the stand-in's own call log; late creates
 * repaired by the id scan; records that come back counted as restored.
 */
import type { IDataObject } from 'n8n-workflow';
import { finishRun, startRun } from '../../lib/lakehouse/runs';
import { OdooClient, syncModel, type ModelSyncOptions } from '../../lib/sources/odoo';
import { IpaiOdoo } from '../../nodes/IpaiOdoo/IpaiOdoo.node';
import { startOdooStandin, XDouble, type OdooStandin } from '../../tooling/standins/odoo/server';
import { useScratchDatabase } from '../../tooling/helpers/database';
import { executeContext, nodeFailure } from './fixtures/odooNode';

jest.setTimeout(180_000);

const db = useScratchDatabase();
const API_KEY = 'standin-api-key-7d3f';
let odoo: OdooStandin;

function defineModels(target: OdooStandin): void {
	target.defineModel('res.country', { description: 'Country', order: 'name', fields: { name: { type: 'char', required: true }, code: { type: 'char' } } });
	target.defineModel('res.partner.category', { description: 'Partner Tags', fields: { name: { type: 'char', required: true } } });
	target.defineModel('res.partner', {
		description: 'Contact',
		order: 'name, id',
		fields: {
			name: { type: 'char', string: 'Name', required: true },
			active: { type: 'boolean' },
			is_company: { type: 'boolean' },
			phone: { type: 'char' },
			comment: { type: 'html' },
			color: { type: 'integer' },
			credit_limit: { type: 'float' },
			birthday: { type: 'date' },
			last_seen: { type: 'datetime' },
			type: { type: 'selection', selection: [['contact', 'Contact'], ['invoice', 'Invoice']] },
			props: { type: 'json' },
			country_id: { type: 'many2one', relation: 'res.country' },
			parent_id: { type: 'many2one', relation: 'res.partner' },
			category_id: { type: 'many2many', relation: 'res.partner.category' },
			child_ids: { type: 'one2many', relation: 'res.partner', relationField: 'parent_id' },
			upper: { type: 'char', store: false, compute: (row) => String(row.name).toUpperCase() },
		},
	});
	target.defineModel('account.move', { description: 'Journal Entry', fields: { name: { type: 'char' }, amount_total: { type: 'monetary' } } });
}

beforeAll(async () => {
	odoo = await startOdooStandin({ protocols: ['xmlrpc'] });
	defineModels(odoo);
	odoo.addUser({ login: 'admin', password: 'admin-password', apiKey: API_KEY, name: 'Administrator' });
	odoo.addUser({ login: 'clerk', password: 'clerk', apiKey: 'clerk-key', name: 'Clerk', deniedModels: ['account.move'] });
	const be = odoo.create('res.country', { name: 'Belgium', code: 'BE' });
	const vip = odoo.create('res.partner.category', { name: 'VIP' });
	const parent = odoo.create('res.partner', { name: 'Agrolait', is_company: true, country_id: be, credit_limit: 1500.5, type: 'invoice', props: { tier: 'gold', n: [1, 2] } });
	odoo.create('res.partner', { name: 'Thomas Passot', parent_id: parent, phone: '+32 2 555 01 01', birthday: '1984-02-29', last_seen: '2024-05-01 10:00:00', category_id: [[6, 0, [vip]]] });
	odoo.create('res.partner', { name: 'Archived Ltd', active: false, comment: '<p>gone</p>', color: 7 });
	odoo.create('res.partner', { name: 'Ünïcödé “quotes” \\ tab\there' });
	for (let i = 0; i < 40; i++) odoo.create('account.move', { name: `INV/2024/${String(i).padStart(4, '0')}`, amount_total: i * 10.25 });
});
afterAll(async () => {
	await odoo.close();
});

const credential = (over: IDataObject = {}): IDataObject => ({ url: odoo.url, database: 'odoo', login: 'admin', apiKey: API_KEY, protocol: 'auto', ...over });
const syncParameters = (connectorName: string, models: string[], syncOptions: IDataObject = {}): IDataObject => ({
	operation: 'sync',
	models,
	connectorName,
	syncOptions: { deleteScanEveryHours: -1, ...syncOptions },
});

async function ledger(connector: string) {
	const { rows } = await db.pool.query(
		`select r.status, r.error_message, r.rows_read, r.rows_written, r.metadata
		   from public.ipai_connector_run r join public.ipai_connector_config c on c.id = r.connector_id
		  where c.name = $1 order by r.started_at`,
		[connector],
	);
	return rows;
}

async function bronzeRows(table: string, connector: string): Promise<number> {
	const exists = await db.pool.query(`select to_regclass($1) as t`, [`ipai_bronze_erp.${table}`]);
	if (exists.rows[0].t === null) return 0;
	const { rows } = await db.pool.query(
		`select count(*)::int as n from ipai_bronze_erp.${table} t join ipai_connector_config c on c.id = t._ipai_connector_id where c.name = $1`,
		[connector],
	);
	return rows[0].n;
}

async function client(): Promise<OdooClient> {
	return OdooClient.connect({ url: odoo.url, database: 'odoo', login: 'admin', secret: API_KEY });
}

async function syncOnce(odooClient: OdooClient, connector: string, model: string, options: Partial<ModelSyncOptions> = {}) {
	const run = await startRun(db.pool, { connector: { connectorType: 'odoo', name: connector } });
	if (run.status !== 'running') throw new Error('expected a running run');
	const result = await syncModel(db.pool, odooClient, run, { model, deleteScanEveryHours: null, ...options });
	await finishRun(db.pool, run.runId);
	return result;
}

describe('failures before and during a sync are failed runs with the node’s message', () => {
	const cases: Array<{ name: string; connector: string; credential: () => IDataObject; models?: string[]; message: RegExp | string; before?: () => Promise<void>; after?: () => Promise<void> }> = [
		{
			name: 'a wrong API key',
			connector: 'si-bad-key',
			credential: () => credential({ apiKey: 'wrong-key' }),
			message: 'Odoo rejected login "admin" on database "odoo" (authenticate returned False): check the login and password or API key',
		},
		{
			name: 'an unknown database',
			connector: 'si-bad-db',
			credential: () => credential({ database: 'nosuchdb' }),
			message: 'Odoo has no database "nosuchdb": check the database name in the IPAI Odoo API credential',
		},
		{
			name: 'a server that is down',
			connector: 'si-down',
			credential: () => credential(),
			message: new RegExp(`^Odoo at http://127\\.0\\.0\\.1:\\d+ is unreachable \\(ECONNREFUSED\\): check the URL and that the server is up \\(gave up after 5 attempts\\)$`),
			before: () => odoo.down(),
			after: () => odoo.up(),
		},
		{
			name: 'a protocol the server does not speak (JSON-RPC chosen, XML-RPC served)',
			connector: 'si-protocol',
			credential: () => credential({ protocol: 'jsonrpc' }),
			message: /^http:\/\/127\.0\.0\.1:\d+ does not answer JSON-RPC \(Odoo at http:\/\/127\.0\.0\.1:\d+ answered HTTP 404 to version.*\): choose Automatic \(tries JSON-2, JSON-RPC, then XML-RPC\) or the protocol this server speaks in the IPAI Odoo API credential$/,
		},
		{
			name: 'an unknown model (fields_get answers {})',
			connector: 'si-unknown-model',
			credential: () => credential(),
			models: ['x_no.such_model'],
			message: `Odoo model "x_no.such_model" does not exist, or user "admin" cannot see it: check the model's technical name (e.g. res.partner), that its module is installed, and the user's access rights`,
		},
		{
			name: 'a model the user may not read, after one it may',
			connector: 'si-denied',
			credential: () => credential({ login: 'clerk', apiKey: 'clerk-key' }),
			models: ['res.partner', 'account.move'],
			message:
				"The Odoo user may not read account.move: grant it read access in Odoo, or leave the model out (You are not allowed to access 'Journal Entry' (account.move) records. No group currently allows this operation. Contact your administrator to request access if necessary.)",
		},
	];

	for (const c of cases) {
		it(`${c.name}`, async () => {
			await c.before?.();
			let error: Error;
			try {
				error = await nodeFailure(executeContext(syncParameters(c.connector, c.models ?? ['res.partner']), c.credential(), db.url));
			} finally {
				await c.after?.();
			}
			if (typeof c.message === 'string') expect(error.message).toBe(c.message);
			else expect(error.message).toMatch(c.message);
			expect(error.message).not.toContain(API_KEY);
			const runs = await ledger(c.connector);
			expect(runs).toHaveLength(1);
			expect(runs[0].status).toBe('failed');
			expect(runs[0].error_message).toBe(error.message);
			// Nothing half-written: only whole models that synced before the failure are in bronze.
			const partners = await bronzeRows('odoo_res_partner', c.connector);
			if (c.connector === 'si-denied') {
				expect(partners).toBe(odoo.records('res.partner').length);
				expect(Number(runs[0].rows_written)).toBe(partners);
			} else {
				expect(partners).toBe(0);
			}
			expect(await bronzeRows('odoo_account_move', c.connector)).toBe(0);
			expect(await bronzeRows('odoo_x_no_such_model', c.connector)).toBe(0);
		});
	}

	it('"fault" flavour of an unknown model (Object … doesn\'t exist) says the same', async () => {
		const other = await startOdooStandin({ protocols: ['xmlrpc'], unknownModel: 'fault' });
		try {
			defineModels(other);
			other.addUser({ login: 'admin', password: 'pw', apiKey: API_KEY });
			const odooClient = await OdooClient.connect({ url: other.url, database: 'odoo', login: 'admin', secret: API_KEY });
			await expect(syncOnce(odooClient, 'si-unknown-fault', 'x_no.such_model')).rejects.toThrow(
				`Odoo model "x_no.such_model" does not exist, or user "admin" cannot see it: check the model's technical name (e.g. res.partner), that its module is installed, and the user's access rights`,
			);
		} finally {
			await other.close();
		}
	});
});

describe('syncs against the stand-in', () => {
	it('protocol auto: JSON-2 and JSON-RPC are tried, XML-RPC is used, and the run says so', async () => {
		const out = await new IpaiOdoo().execute.call(executeContext(syncParameters('si-auto', ['res.partner', 'account.move']), credential(), db.url));
		const summary = out[0][0].json as IDataObject;
		expect(summary).toMatchObject({ status: 'success', protocol: 'xmlrpc', odooVersion: '17.0' });
		expect(summary.protocolsPassedOver).toEqual([expect.stringMatching(/^JSON-2: .*HTTP 404 to web\/version/), expect.stringMatching(/^JSON-RPC: .*HTTP 404 to version/)]);
		expect((await ledger('si-auto'))[0]).toMatchObject({ status: 'success' });
		expect(await bronzeRows('odoo_account_move', 'si-auto')).toBe(40);
	});

	it('bronze equals the stand-in value by value (archived rows, empty values, many2one, x2many, json, unicode)', async () => {
		const odooClient = await client();
		await syncOnce(odooClient, 'si-values', 'res.partner', { includeOne2many: true });
		const want = odoo.records('res.partner');
		const { rows } = await db.pool.query(
			`select t.* from ipai_bronze_erp.odoo_res_partner t join ipai_connector_config c on c.id = t._ipai_connector_id where c.name = 'si-values' order by t.id`,
		);
		expect(rows.map((r) => Number(r.id))).toEqual(want.map((r) => Number(r.id)));
		for (const [i, odooRow] of want.entries()) {
			const row = rows[i];
			const text = (v: unknown) => (v === false ? null : v);
			expect({ id: odooRow.id, name: row.name, active: row.active, is_company: row.is_company, phone: row.phone, comment: row.comment, type: row.type }).toEqual({
				id: odooRow.id,
				name: odooRow.name,
				active: odooRow.active,
				is_company: odooRow.is_company,
				phone: text(odooRow.phone),
				comment: text(odooRow.comment),
				type: text(odooRow.type),
			});
			expect(Number(row.color)).toBe(odooRow.color instanceof XDouble ? odooRow.color.value : Number(odooRow.color));
			expect(Number(row.credit_limit)).toBe(odooRow.credit_limit instanceof XDouble ? odooRow.credit_limit.value : Number(odooRow.credit_limit));
			expect(row.birthday === null ? null : (row.birthday as Date).toISOString().slice(0, 10)).toBe(text(odooRow.birthday));
			expect(row.last_seen === null ? null : (row.last_seen as Date).toISOString().slice(0, 19).replace('T', ' ')).toBe(text(odooRow.last_seen));
			expect((row.write_date as Date).toISOString().slice(0, 19).replace('T', ' ')).toBe(odooRow.write_date);
			const m2o = odooRow.country_id as [number, string] | false;
			expect([row.country_id === null ? null : Number(row.country_id), row.country_id_name]).toEqual(m2o ? [m2o[0], m2o[1]] : [null, null]);
			expect((row.category_id as string[]).map(Number)).toEqual(odooRow.category_id);
			expect((row.child_ids as string[]).map(Number)).toEqual(odooRow.child_ids);
			expect(row.props).toEqual(text(odooRow.props));
			expect(row).not.toHaveProperty('upper'); // not stored: not read unless asked
		}
	});

	it('an unchanged incremental run after a bulk write: at most 3 calls and no full record (the stand-in counts)', async () => {
		const odooClient = await client();
		const ids: number[] = [];
		const at = new Date(Date.now() - 120_000);
		for (let i = 0; i < 2500; i++) ids.push(odoo.create('res.partner', { name: `Bulk ${i}` }, { at }));
		// A 3 s window so the test need not wait 10 minutes for the bulk write to be trusted.
		const options = { overlapSeconds: 3 };
		await syncOnce(odooClient, 'si-quiet', 'res.partner', options);
		odoo.write('res.partner', ids, { phone: '+1 555 0199' });
		const changed = await syncOnce(odooClient, 'si-quiet', 'res.partner', options);
		expect(changed.rowsWritten).toBe(2500);
		await new Promise((resolve) => setTimeout(resolve, 4_100)); // the window passes on every clock
		await syncOnce(odooClient, 'si-quiet', 'res.partner', options); // reads the window once more, then trusts it
		odoo.resetCalls();
		const quiet = await syncOnce(odooClient, 'si-quiet', 'res.partner', options);
		const calls = odoo.calls().filter((c) => c.model === 'res.partner');
		expect(quiet).toMatchObject({ mode: 'incremental', rowsRead: 0, rowsWritten: 0 });
		expect(calls.length).toBeLessThanOrEqual(3);
		// Every search_read of the quiet run asked for write_date only (id comes with it).
		for (const c of calls.filter((x) => x.modelMethod === 'search_read')) expect(c.kwargs?.fields).toEqual(['write_date']);
		expect(calls.reduce((n, c) => n + (c.modelMethod === 'search_read' ? c.rows ?? 0 : 0), 0)).toBeGreaterThanOrEqual(2500);
	});

	it('a create committed after the overlap window is repaired by the next id scan', async () => {
		const odooClient = await client();
		await syncOnce(odooClient, 'si-late', 'res.partner');
		const late = odoo.begin(new Date(Date.now() - 30 * 60_000)); // started 30 min ago, overlap is 10 min
		const lateId = late.create('res.partner', { name: 'Committed Late SA' });
		late.commit();
		const some = odoo.records('res.partner')[0].id as number;
		odoo.write('res.partner', [some], { phone: '+32 9 000 00 00' });
		const incremental = await syncOnce(odooClient, 'si-late', 'res.partner');
		expect(incremental.mode).toBe('incremental');
		const held = async () =>
			(
				await db.pool.query(
					`select count(*)::int as n from ipai_bronze_erp.odoo_res_partner t join ipai_connector_config c on c.id = t._ipai_connector_id where c.name = 'si-late' and t.id = $1`,
					[lateId],
				)
			).rows[0].n;
		expect(await held()).toBe(0); // older than the window: the incremental read cannot see it
		const scanned = await syncOnce(odooClient, 'si-late', 'res.partner', { deleteScanEveryHours: 0 });
		expect(scanned.repaired).toBe(1);
		expect(await held()).toBe(1);
		expect(await bronzeRows('odoo_res_partner', 'si-late')).toBe(odoo.records('res.partner').length);
	});

	it('deleted records are marked, and a record marked deleted that comes back counts as restored', async () => {
		const odooClient = await client();
		const id = odoo.create('res.partner', { name: 'Leaves And Returns', is_company: true });
		const gone = odoo.create('res.partner', { name: 'Deleted For Good', is_company: true });
		const domain = [['is_company', '=', true]];
		await syncOnce(odooClient, 'si-restore', 'res.partner', { domain });
		odoo.write('res.partner', [id], { is_company: false });
		odoo.unlink('res.partner', [gone]);
		const away = await syncOnce(odooClient, 'si-restore', 'res.partner', { domain, deleteScanEveryHours: 0 });
		expect(away.deleted).toBe(2);
		odoo.write('res.partner', [id], { is_company: true });
		const back = await syncOnce(odooClient, 'si-restore', 'res.partner', { domain });
		expect(back.restored).toBe(1);
		const { rows } = await db.pool.query(
			`select t.id::int, t._ipai_deleted_at is null as live from ipai_bronze_erp.odoo_res_partner t join ipai_connector_config c on c.id = t._ipai_connector_id
			  where c.name = 'si-restore' and t.id = any($1) order by t.id`,
			[[id, gone]],
		);
		expect(rows).toEqual([
			{ id, live: true },
			{ id: gone, live: false },
		]);
	});
});
