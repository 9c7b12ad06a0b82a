/**
 * 100,000 journal items: a bounded number of RPC calls (one per page of 1,000, plus a handful)
 * and memory that does not grow with the number of records (the sync runs in a child process
 * whose peak RSS is compared with a sync of a tenth of the records).
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { OdooSimulator, seedDemoCompany, type RunningServer } from '../../tooling/simulators/odoo';
import { createScratchDatabase, withClient, type ScratchDatabase } from '../../tooling/helpers/database';
import { migrate } from '../../lib/lakehouse/migrate';

jest.setTimeout(300_000);
const run = promisify(execFile);
const CHILD = join(__dirname, 'fixtures', 'odooSyncChild.ts');

interface ChildReport {
	rowsRead: number;
	rpc: Record<string, number>;
	totalCalls: number;
	maxRssMb: number;
	maxLiveMb: number;
}

async function syncInChild(databaseUrl: string, odooUrl: string, connector: string): Promise<ChildReport> {
	const { stdout } = await run(process.execPath, ['--expose-gc', '-r', 'ts-node/register/transpile-only', CHILD, databaseUrl, odooUrl, 'account.move.line', connector], {
		maxBuffer: 1 << 20,
	});
	return JSON.parse(stdout.trim().split('\n').pop()!);
}

describe('a 100,000-item Odoo sync', () => {
	let lake: ScratchDatabase;
	const servers: RunningServer[] = [];
	beforeAll(async () => {
		lake = await createScratchDatabase();
		await migrate({ connection: { connectionString: lake.url } });
	});
	afterAll(async () => {
		for (const s of servers) await s.close();
		await lake.drop();
	});

	it('uses one call per page and memory that does not grow with the data', async () => {
		const small = new OdooSimulator();
		seedDemoCompany(small, { scale: 10_000 });
		const large = new OdooSimulator();
		seedDemoCompany(large, { scale: 100_000 });
		servers.push(await small.start(), await large.start());
		const lines = large.count('account.move.line');
		expect(lines).toBeGreaterThanOrEqual(100_000);

		const tenth = await syncInChild(lake.url, servers[0].url, 'small');
		const full = await syncInChild(lake.url, servers[1].url, 'large');
		expect(full.rowsRead).toBe(lines);
		// fields_get + one search_read per page of 2,000 (+1 for the high-water mark, +1 that finds the end) + the id scan.
		expect(full.rpc['account.move.line.search_read']).toBeLessThanOrEqual(Math.ceil(lines / 2000) + 2);
		expect(full.totalCalls).toBeLessThanOrEqual(Math.ceil(lines / 2000) + 6);
		// Ten times the records, the same live memory (pages are streamed, never accumulated).
		expect(full.maxLiveMb - tenth.maxLiveMb).toBeLessThan(15);
		process.stdout.write(
			`odoo 100k sync: ${full.totalCalls} RPC calls, live heap ${full.maxLiveMb.toFixed(0)} MB (10k: ${tenth.maxLiveMb.toFixed(0)} MB), peak RSS ${full.maxRssMb.toFixed(0)} MB\n`,
		);
		const count = await withClient(lake.url, (c) =>
			c.query(`select count(*)::int as n from ipai_bronze_erp.odoo_account_move_line l join ipai_connector_config c on c.id = l._ipai_connector_id where c.name = 'large'`),
		);
		expect(count.rows[0].n).toBe(lines);
	});
});
