/**
 * The Odoo connector against the Odoo simulator (real XML-RPC/JSON-RPC/JSON-2 over HTTP) and a
 * real PostgreSQL: full sync, then what Odoo users do (edits, creates, archives, deletes, a
 * transaction that commits late, payments that recompute invoices), then an incremental sync —
 * bronze must equal Odoo exactly.
 */
import type { Pool } from 'pg';
import { finishRun, startRun } from '../../lib/lakehouse/runs';
import { qualifiedName } from '../../lib/lakehouse/sql';
import { OdooClient, OdooError, mapRecord, planFields, syncModel, type FieldsGet, type ModelSyncOptions } from '../../lib/sources/odoo';
import { DEFAULT_ADMIN_API_KEY, OdooSimulator, seedDemoCompany, type DemoCompany, type RunningServer } from '../../tooling/simulators/odoo';
import { useScratchDatabase } from '../../tooling/helpers/database';

jest.setTimeout(120_000);

const db = useScratchDatabase();
const MODELS = ['account.move', 'account.move.line', 'account.account', 'account.journal', 'res.partner', 'product.product', 'project.project', 'project.task'];

async function sync(pool: Pool, odoo: OdooClient, connector: string, options: Partial<ModelSyncOptions> = {}, models = MODELS) {
	const run = await startRun(pool, { connector: { connectorType: 'odoo', name: connector } });
	if (run.status !== 'running') throw new Error('expected a running run');
	const results = [];
	for (const model of models) results.push(await syncModel(pool, odoo, run, { model, ...options }));
	await finishRun(pool, run.runId);
	return { run, results };
}

/** Odoo's records of a model, mapped the way the connector maps them, keyed by id. */
async function odooState(sim: OdooSimulator, odoo: OdooClient, model: string): Promise<Map<number, Record<string, unknown>>> {
	const fieldsGet = await odoo.call<FieldsGet>(model, 'fields_get', { attributes: ['type', 'string', 'store', 'relation'] });
	const plans = planFields(fieldsGet, model === 'product.product' ? { extraFields: ['name', 'list_price', 'type', 'categ_id', 'uom_id', 'sale_ok', 'purchase_ok'] } : {});
	// JSON round trip: the simulator's in-process answers carry its float wrapper, as the wire does not.
	const records = JSON.parse(JSON.stringify(sim.searchRead(model, [], { fields: plans.map((p) => p.field), context: { active_test: false } })));
	return new Map(records.map((r: Record<string, unknown>) => [r.id as number, mapRecord(r, plans)]));
}

/** Bronze rows of a connector that are not marked deleted, as JSON-comparable values keyed by id. */
async function bronzeState(pool: Pool, model: string, connectorId: string, columns: string[]): Promise<Map<number, Record<string, unknown>>> {
	const table = qualifiedName('ipai_bronze_erp', `odoo_${model.replace(/\./g, '_')}`);
	const { rows } = await pool.query(
		`select ${columns.map((c) => `to_jsonb(${qualifiedName('t', c).split('.')[1]}) as "${c}"`).join(', ')}
		   from ${table} t where _ipai_connector_id = $1 and _ipai_deleted_at is null`,
		[connectorId],
	);
	return new Map(rows.map((r) => [Number(r.id), r]));
}

/** Compares Odoo and bronze value by value, normalising only representation (numbers, timestamps). */
function normalise(value: unknown): unknown {
	if (value === null || value === undefined) return null;
	if (typeof value === 'number') return Number(value);
	if (typeof value === 'string' && /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|\+00:00)$/.test(value)) return new Date(value).toISOString();
	if (typeof value === 'string' && /^-?\d+(\.\d+)?$/.test(value)) return Number(value);
	if (Array.isArray(value)) return value.map(normalise);
	return value;
}

/**
 * A many2one's display name inside another record (account.move.partner_id_name) is Odoo's name
 * of the related record *when the referencing record last changed*: renaming a partner does not
 * bump its invoices' write_date, so no incremental sync can see it (a full sync refreshes them).
 * Those snapshot columns are compared only where the related record did not change name.
 */
async function expectBronzeEqualsOdoo(
	sim: OdooSimulator,
	odoo: OdooClient,
	connectorId: string,
	model: string,
	renamed: Set<number> = new Set(),
): Promise<number> {
	const expected = await odooState(sim, odoo, model);
	const columns = Object.keys(expected.values().next().value ?? { id: 1 });
	const snapshotOf = new Map(columns.filter((c) => c.endsWith('_id_name') || (c.endsWith('_name') && columns.includes(c.slice(0, -5)))).map((c) => [c, c.slice(0, -5)]));
	const actual = await bronzeState(db.pool, model, connectorId, columns);
	expect([...actual.keys()].sort((a, b) => a - b)).toEqual([...expected.keys()].sort((a, b) => a - b));
	for (const [id, row] of expected) {
		const got = actual.get(id)!;
		for (const column of columns) {
			const related = snapshotOf.get(column);
			if (related && renamed.has(Number(row[related]))) continue;
			const want = normalise(row[column]);
			const have = normalise(got[column]);
			if (JSON.stringify(want) !== JSON.stringify(have)) {
				throw new Error(`${model} ${id}.${column}: Odoo has ${JSON.stringify(row[column])}, bronze has ${JSON.stringify(got[column])}`);
			}
		}
	}
	return expected.size;
}

describe('Odoo → bronze', () => {
	let sim: OdooSimulator;
	let server: RunningServer;
	let demo: DemoCompany;

	beforeAll(async () => {
		sim = new OdooSimulator({ version: '17.0' });
		demo = seedDemoCompany(sim);
		server = await sim.start();
	});
	afterAll(async () => {
		await server.close();
		expect(sim.internalErrors).toEqual([]);
	});

	const credentials = () => ({ url: server.url, database: 'odoo', login: 'admin', secret: DEFAULT_ADMIN_API_KEY });

	it('full sync, then edits, creates, archives, deletes, a late commit and a payment, then an incremental sync equal Odoo exactly', async () => {
		const odoo = await OdooClient.connect(credentials(), { protocol: 'xmlrpc' });
		const first = await sync(db.pool, odoo, 'prod');
		expect(first.results.every((r) => r.mode === 'full')).toBe(true);
		for (const model of MODELS) expect(await expectBronzeEqualsOdoo(sim, odoo, first.run.connectorId, model)).toBeGreaterThan(0);

		// A sync without an overlap window, to show what the window is for.
		const noOverlap = await sync(db.pool, odoo, 'no-overlap');

		// What happens in Odoo between two syncs. First a transaction that starts now but commits
		// only after the next sync has run: its write_date is older than that sync's cursor.
		sim.clock.advance(3_600_000);
		const late = sim.begin();
		late.write('res.partner', [demo.vendors[0]], { name: 'Late Committer Ltd' });
		sim.clock.advance(120_000);
		const customer = demo.customers[0];
		sim.write('res.partner', [customer], { name: 'Renamed Customer SA', phone: '+32 2 555 01 01' });
		sim.archive('res.partner', [demo.customers[1]]);
		const draft = demo.draftInvoices[0];
		sim.unlink('account.move', [draft]);
		sim.createInvoice({
			moveType: 'out_invoice',
			partnerId: demo.customers[2],
			invoiceDate: '2025-04-01',
			lines: [{ productId: demo.products[0], quantity: 3, priceUnit: 120 }],
		});
		// A payment recomputes the invoice's stored amount_residual/payment_state (and write_date).
		const open = sim.searchRead('account.move', [['move_type', '=', 'out_invoice'], ['state', '=', 'posted'], ['payment_state', '=', 'not_paid']], { fields: ['id'], limit: 1 });
		sim.registerPayment({ invoiceId: open[0].id as number, date: '2025-04-01' });
		sim.clock.advance(60_000);

		const second = await sync(db.pool, odoo, 'prod');
		expect(second.results.every((r) => r.mode === 'incremental')).toBe(true);
		await sync(db.pool, odoo, 'no-overlap', { overlapSeconds: 0 });
		late.commit();
		sim.clock.advance(60_000);
		const third = await sync(db.pool, odoo, 'prod', { deleteScanEveryHours: 0 });
		await sync(db.pool, odoo, 'no-overlap', { overlapSeconds: 0 });
		const missed = await db.pool.query(`select name from ipai_bronze_erp.odoo_res_partner where id = $1 and _ipai_connector_id = $2`, [
			demo.vendors[0],
			noOverlap.run.connectorId,
		]);
		expect(missed.rows[0].name).not.toBe('Late Committer Ltd'); // without the window the late commit is lost

		const renamed = new Set([customer, demo.vendors[0]]);
		for (const model of MODELS) await expectBronzeEqualsOdoo(sim, odoo, first.run.connectorId, model, renamed);
		const partners = await db.pool.query(
			`select id, name, active from ipai_bronze_erp.odoo_res_partner where id = any($1) and _ipai_connector_id = $2 order by id`,
			[[customer, demo.customers[1], demo.vendors[0]], first.run.connectorId],
		);
		expect(partners.rows.find((r) => Number(r.id) === demo.vendors[0])?.name).toBe('Late Committer Ltd');
		expect(partners.rows.find((r) => Number(r.id) === demo.customers[1])?.active).toBe(false);
		const gone = await db.pool.query(
			`select _ipai_deleted_at is not null as deleted from ipai_bronze_erp.odoo_account_move where id = $1 and _ipai_connector_id = $2`,
			[draft, first.run.connectorId],
		);
		expect(gone.rows).toEqual([{ deleted: true }]);
		const dupes = await db.pool.query(`select count(*) - count(distinct (id, _ipai_connector_id)) as d from ipai_bronze_erp.odoo_account_move_line`);
		expect(Number(dupes.rows[0].d)).toBe(0);
		// The incremental runs read only what changed (plus the overlap window), not everything.
		const moves = (r: typeof third) => r.results.find((x) => x.model === 'account.move')!;
		expect(moves(third).rowsRead).toBeLessThan(moves(first as typeof third).rowsRead);
	});

	it('maps values by field type: many2one pairs, False, many2many, datetimes, monetary', async () => {
		const odoo = await OdooClient.connect(credentials());
		expect(odoo.protocol).toBe('jsonrpc');
		const { run } = await sync(db.pool, odoo, 'types', {}, ['account.move', 'res.partner', 'account.move.line']);
		const invoice = demo.invoices[0];
		const [odooRow] = sim.searchRead('account.move', [['id', '=', invoice]], { fields: ['partner_id', 'invoice_date', 'amount_total', 'write_date', 'ref'] });
		const { rows } = await db.pool.query(
			`select partner_id, partner_id_name, invoice_date::text, amount_total::text, write_date, ref, _ipai_raw->'partner_id' as raw_partner
			   from ipai_bronze_erp.odoo_account_move where id = $1 and _ipai_connector_id = $2`,
			[invoice, run.connectorId],
		);
		const partner = odooRow.partner_id as [number, string];
		expect(rows[0]).toMatchObject({ partner_id: String(partner[0]), partner_id_name: partner[1], invoice_date: odooRow.invoice_date });
		expect(Number(rows[0].amount_total)).toBe(JSON.parse(JSON.stringify(odooRow.amount_total)));
		expect((rows[0].write_date as Date).toISOString()).toBe(`${String(odooRow.write_date).replace(' ', 'T')}.000Z`);
		expect(rows[0].ref).toBe(odooRow.ref === false ? null : odooRow.ref);
		expect(rows[0].raw_partner).toEqual(partner); // _ipai_raw keeps Odoo's own encoding
		const types = await db.pool.query(
			`select column_name, data_type from information_schema.columns where table_schema = 'ipai_bronze_erp' and table_name = 'odoo_account_move_line'
			   and column_name in ('tax_ids', 'debit', 'date', 'reconciled', 'account_id', 'account_id_name', 'write_date')`,
		);
		expect(Object.fromEntries(types.rows.map((r) => [r.column_name, r.data_type]))).toEqual({
			tax_ids: 'ARRAY', debit: 'numeric', date: 'date', reconciled: 'boolean', account_id: 'bigint', account_id_name: 'text',
			write_date: 'timestamp with time zone',
		});
	});

	it('survives 5xx and dropped connections by retrying, and records failures without losing committed pages', async () => {
		const odoo = await OdooClient.connect(credentials(), { backoffMs: 1 });
		sim.failNext(2, { kind: 'http500', match: { method: 'search_read' } } as never);
		sim.failNext(1, { kind: 'reset', match: { method: 'search_read' } } as never);
		const { results } = await sync(db.pool, odoo, 'flaky', {}, ['res.partner']);
		expect(results[0].rowsRead).toBeGreaterThan(0);

		// A fault is not transient: it fails at once with an actionable message.
		sim.failNext(1, { kind: 'fault', faultCode: 4, faultString: "You are not allowed to access 'Journal Item' (account.move.line) records." } as never);
		const run = await startRun(db.pool, { connector: { connectorType: 'odoo', name: 'flaky' } });
		if (run.status !== 'running') throw new Error('expected running');
		await expect(syncModel(db.pool, odoo, run, { model: 'account.move.line' })).rejects.toThrow(/may not read account\.move\.line/);
		await finishRun(db.pool, run.runId);
	});

	it('says which credential part is wrong', async () => {
		await expect(OdooClient.connect({ ...credentials(), secret: 'wrong' })).rejects.toThrow(/rejected login "admin" on database "odoo" \(authenticate returned False\)/);
		await expect(OdooClient.connect({ ...credentials(), url: 'http://127.0.0.1:1' }, { attempts: 1 })).rejects.toMatchObject({ kind: 'unreachable' });
		const demoUser = await OdooClient.connect({ ...credentials(), login: 'demo', secret: 'demo' });
		await expect(demoUser.call('account.move', 'search_read', { domain: [], fields: ['name'], limit: 1 })).rejects.toMatchObject({ kind: 'access' });
		const admin = await OdooClient.connect(credentials());
		await expect(admin.call('res.partner', 'search_read', { domain: [['nope', '=', 1]], fields: ['name'] })).rejects.toThrow(/has no field "nope" on model res\.partner/);
		await expect(admin.call('no.such.model', 'search_read', { domain: [] })).rejects.toThrow(OdooError);
	});
});

describe('Odoo 19 over JSON-2', () => {
	it('syncs through /json/2 with a bearer API key, and reports a wrong key as such', async () => {
		const sim = new OdooSimulator({ version: '19.0' });
		seedDemoCompany(sim);
		const server = await sim.start();
		try {
			const odoo = await OdooClient.connect({ url: server.url, database: 'odoo', login: 'admin', secret: DEFAULT_ADMIN_API_KEY });
			expect(odoo.protocol).toBe('json2');
			const { results } = await sync(db.pool, odoo, 'v19', {}, ['res.partner', 'account.move']);
			expect(results.map((r) => r.rowsRead).every((n) => n > 0)).toBe(true);
			expect(sim.stats.byProtocol.json2).toBeGreaterThan(0);
			await expect(OdooClient.connect({ url: server.url, database: 'odoo', login: 'admin', secret: 'bad-key' })).rejects.toMatchObject({ kind: 'auth' });
		} finally {
			await server.close();
		}
	});
});
