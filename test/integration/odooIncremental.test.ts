/**
 * Incremental Odoo syncs that read only what changed, and still lose nothing: random histories of
 * Odoo edits (creates, writes in the same second as a sync, archives, deletes, transactions that
 * commit after a sync ran) interleaved with syncs must leave bronze equal to Odoo (fast-check);
 * plus the cases issue 15 reported: an unchanged run re-read the whole overlap window, a create
 * committed after the window had passed was lost until a full sync, `restored` stayed 0, and
 * "auto" had no fallback for a server that speaks XML-RPC only.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import { finishRun, startRun } from '../../lib/lakehouse/runs';
import { OdooClient, syncModel, type ModelSyncOptions, type ModelSyncResult } from '../../lib/sources/odoo';
import { DEFAULT_ADMIN_API_KEY, OdooSimulator, seedDemoCompany, type RunningServer } from '../../tooling/simulators/odoo';
import { useScratchDatabase } from '../../tooling/helpers/database';

jest.setTimeout(300_000);

const db = useScratchDatabase();
const MODEL = 'res.partner';
const COLUMNS = ['name', 'phone', 'active', 'is_company'];

let sim: OdooSimulator;
let server: RunningServer;
let odoo: OdooClient;

beforeAll(async () => {
	sim = new OdooSimulator({ version: '17.0' });
	seedDemoCompany(sim);
	server = await sim.start();
	odoo = await OdooClient.connect({ url: server.url, database: 'odoo', login: 'admin', secret: DEFAULT_ADMIN_API_KEY }, { protocol: 'jsonrpc' });
});
afterAll(async () => {
	await server.close();
	expect(sim.internalErrors).toEqual([]);
});

/** A local clock the test moves (the sync only measures elapsed time with it). */
function testClock(): { now: () => number; tick: (ms: number) => void } {
	let t = 1_000_000;
	return { now: () => t, tick: (ms) => (t += ms) };
}

async function syncOnce(connector: string, options: Partial<ModelSyncOptions> = {}, client = odoo): Promise<ModelSyncResult & { calls: number }> {
	const run = await startRun(db.pool, { connector: { connectorType: 'odoo', name: connector } });
	if (run.status !== 'running') throw new Error('expected a running run');
	const before = client.totalCalls;
	const result = await syncModel(db.pool, client, run, { model: MODEL, deleteScanEveryHours: null, ...options });
	await finishRun(db.pool, run.runId);
	return { ...result, calls: client.totalCalls - before };
}

/** Odoo's live partners (archived included) and bronze's rows not marked deleted, comparable. */
async function expectBronzeEqualsOdoo(connector: string): Promise<void> {
	const odooRows = JSON.parse(JSON.stringify(sim.searchRead(MODEL, [], { fields: [...COLUMNS, 'write_date'], context: { active_test: false } }))) as Array<Record<string, unknown>>;
	const want = new Map(
		odooRows.map((r) => [
			Number(r.id),
			{ name: r.name === false ? null : r.name, phone: r.phone === false ? null : r.phone, active: r.active, is_company: r.is_company, write_date: r.write_date },
		]),
	);
	const { rows } = await db.pool.query(
		`select t.id::int as id, t.name, t.phone, t.active, t.is_company, to_char(t.write_date at time zone 'UTC', 'YYYY-MM-DD HH24:MI:SS') as write_date
		   from ipai_bronze_erp.odoo_res_partner t join ipai_connector_config c on c.id = t._ipai_connector_id
		  where c.name = $1 and t._ipai_deleted_at is null`,
		[connector],
	);
	const have = new Map(rows.map((r) => [r.id as number, { name: r.name, phone: r.phone, active: r.active, is_company: r.is_company, write_date: r.write_date }]));
	expect([...have.keys()].sort((a, b) => a - b)).toEqual([...want.keys()].sort((a, b) => a - b));
	for (const [id, row] of want) expect({ id, ...have.get(id) }).toEqual({ id, ...row });
}

type Op =
	| { kind: 'create'; name: string }
	| { kind: 'write'; pick: number; phone: string }
	| { kind: 'archive'; pick: number }
	| { kind: 'unlink'; pick: number }
	| { kind: 'advance'; seconds: number }
	| { kind: 'late'; pick: number; name: string; create: boolean; seconds: number }
	| { kind: 'sync'; scan: boolean };

const op: fc.Arbitrary<Op> = fc.oneof(
	fc.record({ kind: fc.constant('create' as const), name: fc.string({ minLength: 1, maxLength: 12 }) }),
	fc.record({ kind: fc.constant('write' as const), pick: fc.nat(), phone: fc.string({ maxLength: 8 }) }),
	fc.record({ kind: fc.constant('archive' as const), pick: fc.nat() }),
	fc.record({ kind: fc.constant('unlink' as const), pick: fc.nat() }),
	// 0 s: the next write lands in the same second as the last sync's read.
	fc.record({ kind: fc.constant('advance' as const), seconds: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 900 })) }),
	fc.record({ kind: fc.constant('late' as const), pick: fc.nat(), name: fc.string({ minLength: 1, maxLength: 12 }), create: fc.boolean(), seconds: fc.integer({ min: 0, max: 300 }) }),
	fc.record({ kind: fc.constant('sync' as const), scan: fc.boolean() }),
);

describe('incremental syncs against random Odoo histories', () => {
	let round = 0;
	it('leave bronze equal to Odoo, and an unchanged run costs at most 3 calls and reads no full record', async () => {
		await fc.assert(
			fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 25 }), async (ops) => {
				const connector = `prop-${++round}`;
				const clock = testClock();
				const sync = (scan: boolean, elapsed = 10_000) => {
					clock.tick(elapsed);
					return syncOnce(connector, { deleteScanEveryHours: scan ? 0 : null, clock: clock.now });
				};
				const mine: number[] = []; // partners this history created (free to delete)
				const seeded = sim.search(MODEL, [], { context: { active_test: false } } as never);
				const pick = (n: number, pool: number[]) => (pool.length > 0 ? pool[n % pool.length] : undefined);
				await sync(false);
				for (const o of ops) {
					switch (o.kind) {
						case 'create':
							mine.push(sim.create(MODEL, { name: o.name }));
							break;
						case 'write': {
							const id = pick(o.pick, [...seeded, ...mine]);
							if (id !== undefined && sim.get(MODEL, id)) sim.write(MODEL, [id], { phone: o.phone || false });
							break;
						}
						case 'archive': {
							const id = pick(o.pick, mine);
							if (id !== undefined && sim.get(MODEL, id)) sim.archive(MODEL, [id]);
							break;
						}
						case 'unlink': {
							const id = pick(o.pick, mine);
							if (id !== undefined && sim.get(MODEL, id)) sim.unlink(MODEL, [id]);
							break;
						}
						case 'advance':
							sim.clock.advance(o.seconds * 1000);
							break;
						case 'late': {
							// Starts now, a sync runs while it is open, it commits right after.
							const tx = sim.begin();
							const id = pick(o.pick, mine);
							if (o.create || id === undefined || !sim.get(MODEL, id)) mine.push(tx.create(MODEL, { name: o.name }));
							else tx.write(MODEL, [id], { name: o.name });
							sim.clock.advance(o.seconds * 1000);
							await sync(false);
							tx.commit();
							break;
						}
						case 'sync':
							await sync(o.scan);
							break;
					}
				}
				await sync(true);
				await expectBronzeEqualsOdoo(connector);
				// Quiet from here on: once the overlap window has passed on the local clock, one run
				// re-reads what was written within the window, then an unchanged run is the field
				// list and one [id, write_date] read.
				await sync(false, 700_000);
				const quiet = await sync(false);
				expect(quiet).toMatchObject({ mode: 'incremental', rowsRead: 0, rowsWritten: 0 });
				expect(quiet.calls).toBeLessThanOrEqual(3);
				await expectBronzeEqualsOdoo(connector);
			}),
			{ numRuns: 30 },
		);
	});
});

describe('the cases issue 15 reported', () => {
	it('an unchanged run after a bulk write reads [id, write_date] only: at most 3 calls, no full record', async () => {
		const clock = testClock();
		const sync = (elapsed = 60_000) => {
			clock.tick(elapsed);
			return syncOnce('bulk', { clock: clock.now, pageSize: 500 });
		};
		const ids: number[] = [];
		sim.transaction((tx) => {
			for (let i = 0; i < 3000; i++) ids.push(tx.create(MODEL, { name: `Bulk ${i}` }));
		});
		sim.clock.advance(60_000);
		await sync();
		sim.clock.advance(60_000);
		sim.transaction((tx) => tx.write(MODEL, ids, { phone: '+1 555 0100' }));
		sim.clock.advance(60_000);
		const changed = await sync();
		expect(changed.rowsWritten).toBe(3000);
		const settling = await sync(11 * 60_000); // the window has passed: what it held is read once more, then trusted
		expect(settling.rowsWritten).toBe(0);
		const quiet = await sync();
		expect(quiet).toMatchObject({ mode: 'incremental', rowsRead: 0, rowsWritten: 0 });
		expect(quiet.rowsChecked).toBeGreaterThanOrEqual(3000);
		expect(quiet.calls).toBeLessThanOrEqual(3);
		// One record changes: exactly it is read in full.
		sim.clock.advance(5_000);
		sim.write(MODEL, [ids[1234]], { name: 'Changed once' });
		const one = await sync();
		expect(one).toMatchObject({ rowsRead: 1, rowsWritten: 1 });
		await expectBronzeEqualsOdoo('bulk');
	});

	it('a write in the same second as the last read (or a transaction started in it) is not mistaken for unchanged', async () => {
		const clock = testClock();
		const sync = () => syncOnce('same-second', { clock: clock.now });
		await sync();
		const id = sim.create(MODEL, { name: 'Same second' });
		await sync();
		sim.write(MODEL, [id], { name: 'Same second, written again' }); // the clock did not move
		clock.tick(1); // and the sync follows at once
		await sync();
		await expectBronzeEqualsOdoo('same-second');
		// Found by the property above: a transaction that starts in the second of the copy bronze
		// holds and commits after a sync, while other records move the cursor on.
		const tx = sim.begin();
		tx.write(MODEL, [id], { name: 'Same second, committed late' });
		sim.clock.advance(139_000);
		sim.create(MODEL, { name: 'Moves the cursor' });
		clock.tick(10_000);
		await sync();
		tx.commit();
		clock.tick(10_000);
		await sync();
		await expectBronzeEqualsOdoo('same-second');
	});

	it('a create committed after the overlap window had passed it is loaded at the next id scan (and lost without one)', async () => {
		await syncOnce('late-create');
		await syncOnce('late-create-no-scan');
		const tx = sim.begin();
		const lateId = tx.create(MODEL, { name: 'Committed late' });
		sim.clock.advance(20 * 60_000); // longer than the 600 s overlap window
		sim.write(MODEL, [sim.search(MODEL, [], { limit: 1 })[0]], { phone: '+32 2 000 00 00' });
		await syncOnce('late-create');
		await syncOnce('late-create-no-scan');
		tx.commit();
		sim.clock.advance(60_000);
		sim.write(MODEL, [sim.search(MODEL, [], { limit: 1 })[0]], { phone: '+32 2 000 00 01' });
		const withoutScan = await syncOnce('late-create-no-scan');
		expect(withoutScan.repaired).toBeNull();
		const present = async (connector: string) =>
			(
				await db.pool.query(
					`select count(*)::int as n from ipai_bronze_erp.odoo_res_partner t join ipai_connector_config c on c.id = t._ipai_connector_id where c.name = $1 and t.id = $2`,
					[connector, lateId],
				)
			).rows[0].n;
		expect(await present('late-create-no-scan')).toBe(0);
		const scanned = await syncOnce('late-create', { deleteScanEveryHours: 0 });
		expect(scanned.repaired).toBe(1);
		expect(await present('late-create')).toBe(1);
		await expectBronzeEqualsOdoo('late-create');
	});

	it('counts records marked deleted that come back as restored', async () => {
		const domain = [['is_company', '=', true]];
		const company = sim.create(MODEL, { name: 'Comes Back SA', is_company: true });
		sim.clock.advance(1_000);
		await syncOnce('restore', { domain });
		sim.clock.advance(1_000);
		sim.write(MODEL, [company], { is_company: false }); // leaves the domain: marked deleted
		sim.clock.advance(1_000);
		const left = await syncOnce('restore', { domain, deleteScanEveryHours: 0 });
		expect(left.deleted).toBe(1);
		sim.clock.advance(1_000);
		sim.write(MODEL, [company], { is_company: true });
		sim.clock.advance(1_000);
		const back = await syncOnce('restore', { domain });
		expect(back.restored).toBe(1);
		const { rows } = await db.pool.query(
			`select t._ipai_deleted_at is null as live, t.is_company from ipai_bronze_erp.odoo_res_partner t join ipai_connector_config c on c.id = t._ipai_connector_id where c.name = 'restore' and t.id = $1`,
			[company],
		);
		expect(rows).toEqual([{ live: true, is_company: true }]);
		// Restored by an id scan alone (the record did not change while it was marked deleted).
		sim.write(MODEL, [company], { is_company: false });
		sim.clock.advance(1_000);
		expect((await syncOnce('restore', { domain, deleteScanEveryHours: 0 })).deleted).toBe(1);
		const again = await syncOnce('restore', { domain: [], deleteScanEveryHours: 0 });
		expect(again.restored).toBeGreaterThanOrEqual(1);
	});
});

describe('protocol "auto" against a server that speaks XML-RPC only', () => {
	it('tries JSON-2, then JSON-RPC, then uses XML-RPC, and says which were tried', async () => {
		// A reverse proxy that forwards /xmlrpc/ to the simulator and answers 404 to the rest.
		const proxy = http.createServer((req, res) => {
			if (!req.url?.startsWith('/xmlrpc/')) {
				req.resume();
				res.writeHead(404, { 'content-type': 'text/html' }).end('Not Found');
				return;
			}
			// A fresh upstream connection per request: no race with the simulator's keep-alive timeout.
			const upstream = http.request(new URL(req.url, server.url), { method: req.method, headers: req.headers, agent: false }, (answer) => {
				res.writeHead(answer.statusCode ?? 502, answer.headers);
				answer.pipe(res);
			});
			upstream.on('error', () => res.writeHead(502).end());
			req.pipe(upstream);
		});
		await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
		try {
			const url = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
			const client = await OdooClient.connect({ url, database: 'odoo', login: 'admin', secret: DEFAULT_ADMIN_API_KEY });
			expect(client.protocol).toBe('xmlrpc');
			expect(client.tried).toEqual([expect.stringMatching(/^JSON-2: Odoo at .* answered HTTP 404 to web\/version/), expect.stringMatching(/^JSON-RPC: Odoo at .* answered HTTP 404 to version/)]);
			const result = await syncOnce('xmlrpc-only', {}, client);
			expect(result.rowsRead).toBe(sim.search(MODEL, [], { context: { active_test: false } } as never).length);
			await expectBronzeEqualsOdoo('xmlrpc-only');
		} finally {
			await new Promise<void>((resolve) => proxy.close(() => resolve()));
		}
	});
});
