/**
 * Full and incremental tables of a PostgreSQL source, checked against the source database itself
 * after every run: full syncs in one snapshot shared by the table readers, deletes found by the
 * next full sync, composite keys, tables without a key; incremental syncs in (cursor, key) order
 * that never skip rows sharing a cursor value, a lookback for late commits, and key scans.
 */
import { execFileSync } from 'node:child_process';
import { getStreamState } from '../../lib/lakehouse/streamState';
import { useScratchDatabase } from '../../tooling/helpers/database';
import { useLogicalPostgres } from '../../tooling/helpers/logicalPostgres';
import { compareWithSource, settingsFor, syncOnce, textRows } from './fixtures/dbSource';

jest.setTimeout(180_000);
const lake = useScratchDatabase();
const pg = useLogicalPostgres();
const settings = () => settingsFor(pg.server.port, 'src');
const psql = (sql: string) => execFileSync('psql', [pg.server.url('src'), '-v', 'ON_ERROR_STOP=1', '-qc', sql]);

beforeAll(async () => {
	await pg.server.sql('create database src');
}, 60_000);

async function connectorId(name: string): Promise<string> {
	const { rows } = await lake.pool.query(`select id from ipai_connector_config where connector_type = 'db' and name = $1`, [name]);
	return rows[0].id;
}

async function sameAsSource(connector: string, source: string, bronze: string, key: string, columns: string[]) {
	return compareWithSource({ sourceUrl: pg.server.url('src'), lakehouseUrl: lake.url, source, bronze, connectorId: await connectorId(connector), key, columns: columns.map((name) => ({ name })) });
}

describe('full', () => {
	beforeAll(async () => {
		await pg.server.sql(
			`create table orders (region text, id int, amount numeric(12,2), note text, primary key (region, id));
			 insert into orders select case when g % 3 = 0 then 'eu' else 'us' end, g, g * 1.25, 'n' || g from generate_series(1, 95) g;
			 create table lines (id int primary key, order_id int, qty int);
			 insert into lines select g, g, g % 7 from generate_series(1, 40) g;`,
			'src',
		);
	});
	const config = { engine: 'postgres', pageSize: 10, concurrency: 1, tables: [{ table: 'orders', mode: 'full' }, { table: 'lines', mode: 'full' }] };

	it('reads every table of one run in one snapshot', async () => {
		// Rows committed at the source after the run began (once orders is loaded, before lines is read) are not in this run.
		const { result, error } = await syncOnce(lake.pool, settings(), 'shop', config, {
			concurrency: 1,
			onTable: (t: { table: string }) => {
				if (t.table === 'public.orders') psql('insert into lines select g, g, 0 from generate_series(41, 45) g');
			},
		});
		expect(error).toBeUndefined();
		expect(result!.tables.map((t) => [t.table, t.rowsRead])).toEqual([['public.orders', 95], ['public.lines', 40]]);
		expect(await sameAsSource('shop', 'orders', 'ipai_bronze_core.public_orders', 'id', ['region', 'amount', 'note'])).toEqual({ missing: [], extra: [], different: [], sourceRows: 95 });
		const next = await syncOnce(lake.pool, settings(), 'shop', config);
		expect(next.result!.tables.find((t) => t.table === 'public.lines')!.rowsRead).toBe(45);
	});

	it('applies updates, inserts and deletes on the next full sync (deletes as _ipai_deleted_at)', async () => {
		psql(`update orders set amount = amount + 1 where id % 10 = 0; delete from orders where id between 20 and 29; insert into orders values ('eu', 500, 1, 'new')`);
		const { result, error } = await syncOnce(lake.pool, settings(), 'shop', config);
		expect(error).toBeUndefined();
		const orders = result!.tables.find((t) => t.table === 'public.orders')!;
		expect(orders).toMatchObject({ rowsRead: 86, deleted: 10 });
		// Only changed rows are rewritten: 8 updated (10, 30 … 90; 20 is gone) + 1 inserted.
		expect(orders.rowsWritten).toBe(9);
		expect(await sameAsSource('shop', 'orders', 'ipai_bronze_core.public_orders', 'id', ['region', 'amount', 'note'])).toEqual({ missing: [], extra: [], different: [], sourceRows: 86 });
		const { rows } = await lake.pool.query(`select count(*)::int as n from ipai_bronze_core.public_orders where _ipai_deleted_at is not null`);
		expect(rows[0].n).toBe(10);
	});

	it('loads a table without a key append-only in one transaction, replacing the previous copy', async () => {
		await pg.server.sql(`create table readings (sensor text, value float8); insert into readings select 's' || (g % 4), g / 3.0 from generate_series(1, 33) g`, 'src');
		const cfg = { engine: 'postgres', pageSize: 10, tables: [{ table: 'readings', mode: 'full' }] };
		const first = await syncOnce(lake.pool, settings(), 'sensors', cfg);
		expect(first.result!.warnings.join()).toMatch(/public\.readings has no primary key and no config key: each full sync appends a fresh copy/);
		psql(`delete from readings where sensor = 's0'`);
		const second = await syncOnce(lake.pool, settings(), 'sensors', cfg);
		expect(second.result!.tables[0]).toMatchObject({ rowsRead: 25, deleted: 33 });
		const { rows } = await lake.pool.query(`select count(*) filter (where _ipai_deleted_at is null)::int as live, count(*)::int as total from ipai_bronze_core.public_readings`);
		expect(rows[0]).toEqual({ live: 25, total: 58 });
	});
});

describe('incremental', () => {
	beforeAll(async () => {
		// 30 rows share one cursor value: pages of 7 must still take them all, none twice.
		await pg.server.sql(
			`create table events (id int primary key, updated_at timestamptz not null, body text);
			 insert into events select g, '2024-01-01 00:00:00+00', 'b' || g from generate_series(1, 30) g;
			 insert into events select g, '2024-01-01 00:00:00+00'::timestamptz + (g || ' seconds')::interval, 'b' || g from generate_series(31, 50) g;`,
			'src',
		);
	});
	const config = (extra: Record<string, unknown> = {}) => ({ engine: 'postgres', pageSize: 7, tables: [{ table: 'events', mode: 'incremental', cursor: ['updated_at'], ...extra }] });

	it('never skips rows that share a cursor value, and commits the cursor with each page', async () => {
		const { result, error } = await syncOnce(lake.pool, settings(), 'events', config());
		expect(error).toBeUndefined();
		expect(result!.rowsRead).toBe(50);
		expect(await sameAsSource('events', 'events', 'ipai_bronze_core.public_events', 'id', ['updated_at', 'body'])).toEqual({ missing: [], extra: [], different: [], sourceRows: 50 });
		const state = await getStreamState(lake.pool, await connectorId('events'), 'public.events');
		expect(state.cursor).toEqual({ position: { cursor: ['2024-01-01 00:00:50+00'], key: ['50'] } });
	});

	it('reads only what changed after the cursor, and late commits within the lookback', async () => {
		psql(`update events set updated_at = '2024-01-02 00:00:00+00', body = 'changed' where id in (3, 40)`);
		const plain = await syncOnce(lake.pool, settings(), 'events', config());
		// The boundary value is read again (cursor ≥ stored, merging makes it harmless), then only the changes.
		expect(plain.result!.rowsRead).toBe(3);
		expect(plain.result!.rowsWritten).toBe(2);
		// A row committed late with an older cursor value: found within a 2-hour lookback.
		psql(`insert into events values (51, '2024-01-01 23:30:00+00', 'late')`);
		const late = await syncOnce(lake.pool, settings(), 'events', config({ lookbackSeconds: 7200 }));
		expect(late.result!.rowsWritten).toBe(1);
		expect(await sameAsSource('events', 'events', 'ipai_bronze_core.public_events', 'id', ['updated_at', 'body'])).toEqual({ missing: [], extra: [], different: [], sourceRows: 51 });
	});

	it('marks rows gone from the source as deleted on a key scan', async () => {
		psql(`delete from events where id in (1, 2, 51)`);
		const { result } = await syncOnce(lake.pool, settings(), 'events', config({ deleteScanHours: 0 }));
		expect(result!.tables[0].deleted).toBe(3);
		expect(await sameAsSource('events', 'events', 'ipai_bronze_core.public_events', 'id', ['updated_at', 'body'])).toEqual({ missing: [], extra: [], different: [], sourceRows: 48 });
	});
});

export { textRows };
