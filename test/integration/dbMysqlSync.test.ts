/**
 * The MySQL/MariaDB engine under the database source's run (runDbConnector): full tables from one
 * consistent snapshot (resumable keyset pages, deletes on the next full sync, a keyless table
 * appended), incremental (cursor, key) pages with a lookback, CDC through the binlog with the lag
 * on the run, and the refusals — wrong password, unknown database, a table renamed at the source —
 * each a failed run in the ledger with the fix and no secret. Oracle: the source rows themselves.
 */
import type { Connection } from 'mysql2/promise';
import { runDbConnector } from '../../lib/sources/db/sync';
import { MySqlEngine } from '../../lib/sources/db/mysql/engine';
import type { DbConnectionSettings } from '../../lib/sources/db/engine';
import { useScratchDatabase } from '../../tooling/helpers/database';
import { connectAdmin, sharedServer, useScratchMariaDb, usePrivateMariaDb } from '../helpers/mariadb';

jest.setTimeout(240_000);

const lake = useScratchDatabase();
const source = useScratchMariaDb();
const binlog = usePrivateMariaDb();

const settings = (overrides: Partial<DbConnectionSettings> = {}): DbConnectionSettings => ({ ...sharedServer(), database: source.database, ssl: 'disable', ...overrides });

async function syncOnce(name: string, config: unknown, connection: DbConnectionSettings = settings(), extra: Record<string, unknown> = {}) {
	const engine = new MySqlEngine(connection);
	try {
		return await runDbConnector(lake.pool, engine, { connectorName: name, config, settings: connection, ...extra });
	} finally {
		await engine.close();
	}
}

/** Source rows (the oracle) and bronze's live rows, both as text, keyed by id. */
async function sameAsSource(admin: Connection, table: string, bronze: string, columns: string[]): Promise<{ missing: string[]; extra: string[]; different: string[] }> {
	const [rows] = await admin.query(`SELECT CAST(id AS CHAR) id, ${columns.map((c) => `CAST(${c} AS CHAR) ${c}`).join(', ')} FROM ${table}`);
	const { rows: lakeRows } = await lake.pool.query(`select id::text, ${columns.map((c) => `${c}::text`).join(', ')} from ${bronze} where _ipai_deleted_at is null`);
	const want = new Map((rows as Array<Record<string, string>>).map((r) => [r.id, JSON.stringify(r)]));
	const have = new Map(lakeRows.map((r) => [r.id as string, JSON.stringify(r)]));
	return {
		missing: [...want.keys()].filter((k) => !have.has(k)),
		extra: [...have.keys()].filter((k) => !want.has(k)),
		different: [...want.keys()].filter((k) => have.has(k) && have.get(k) !== want.get(k)),
	};
}

async function lastRun(name: string): Promise<{ status: string; error_message: string | null; metadata: Record<string, unknown> }> {
	const { rows } = await lake.pool.query(
		`select r.status, r.error_message, r.metadata from ipai_connector_run r join ipai_connector_config c on c.id = r.connector_id where c.name = $1 order by r.started_at desc limit 1`,
		[name],
	);
	return rows[0];
}

test('full tables from one snapshot, deletes on the next full sync, a keyless table appended', async () => {
	const admin = source.admin;
	await admin.query('CREATE TABLE orders (id int PRIMARY KEY, region varchar(10), amount decimal(10,2))');
	await admin.query('CREATE TABLE log (at datetime, message text)');
	await admin.query(`INSERT INTO orders VALUES ${Array.from({ length: 95 }, (_, i) => `(${i + 1}, '${['eu', 'us'][i % 2]}', ${i * 1.5})`).join(',')}`);
	await admin.query("INSERT INTO log VALUES ('2024-01-01 00:00:00', 'a'), ('2024-01-02 00:00:00', 'b')");
	await admin.query("SET SESSION sql_mode = ''");
	await admin.query("CREATE TABLE dates (id int PRIMARY KEY, d date); INSERT INTO dates VALUES (1, '0000-00-00'), (2, '2024-00-05'), (3, '2024-02-29')");
	const db = source.database;
	const config = { engine: 'mysql', pageSize: 10, tables: [{ table: `${db}.orders`, mode: 'full' }, { table: `${db}.log`, mode: 'full' }, { table: `${db}.dates`, mode: 'full' }] };
	const first = await syncOnce('my-full', config);
	expect(first.error).toBeUndefined();
	expect(first.result!.tables.map((t) => [t.table, t.rowsRead]).sort()).toEqual([[`${db}.dates`, 3], [`${db}.log`, 2], [`${db}.orders`, 95]]);
	// Zero dates land as NULL, and the run says so.
	expect((await lastRun('my-full')).metadata.db).toMatchObject({ warnings: expect.arrayContaining([expect.stringMatching(/^2 zero date\(s\) in column d .* loaded as NULL/)]) });
	const dates = await lake.pool.query(`select id::int, d::text from ipai_bronze_core.${db}_dates order by id`);
	expect(dates.rows).toEqual([{ id: 1, d: null }, { id: 2, d: null }, { id: 3, d: '2024-02-29' }]);
	const bronze = `ipai_bronze_core.${db}_orders`;
	expect(await sameAsSource(admin, 'orders', bronze, ['region', 'amount'])).toEqual({ missing: [], extra: [], different: [] });

	await admin.query('UPDATE orders SET amount = amount + 1 WHERE id % 10 = 0');
	await admin.query('DELETE FROM orders WHERE id BETWEEN 20 AND 29');
	await admin.query("INSERT INTO orders VALUES (500, 'eu', 1)");
	const second = await syncOnce('my-full', config);
	expect(second.error).toBeUndefined();
	expect(await sameAsSource(admin, 'orders', bronze, ['region', 'amount'])).toEqual({ missing: [], extra: [], different: [] });
	const { rows } = await lake.pool.query(`select count(*)::int as n from ${bronze} where _ipai_deleted_at is not null`);
	expect(rows[0].n).toBe(10);
	const log = await lake.pool.query(`select count(*)::int as live from ipai_bronze_core.${db}_log where _ipai_deleted_at is null`);
	expect(log.rows[0].live).toBe(2);
	expect(second.result!.tables.find((t) => t.table === `${db}.log`)!.note).toMatch(/no primary key/);
});

test('incremental pages in (cursor, key) order never skip rows sharing a cursor value; a lookback re-reads late commits', async () => {
	const admin = source.admin;
	await admin.query('CREATE TABLE events (id int PRIMARY KEY, updated datetime(6) NOT NULL, v int, KEY (updated, id))');
	// 25 rows share one cursor value: pages of 10 must still read every one.
	await admin.query(`INSERT INTO events VALUES ${Array.from({ length: 40 }, (_, i) => `(${i + 1}, '${i < 25 ? '2024-05-01 10:00:00' : `2024-05-01 11:00:${String(i).padStart(2, '0')}`}', ${i})`).join(',')}`);
	const db = source.database;
	const config = { engine: 'mysql', pageSize: 10, tables: [{ table: `${db}.events`, mode: 'incremental', cursor: ['updated'], lookbackSeconds: 120 }] };
	const first = await syncOnce('my-inc', config);
	expect(first.error).toBeUndefined();
	expect(first.result!.tables[0].rowsRead).toBe(40);
	const bronze = `ipai_bronze_core.${db}_events`;
	expect(await sameAsSource(admin, 'events', bronze, ['v'])).toEqual({ missing: [], extra: [], different: [] });
	// A late commit with a cursor value just before the stored one (within the lookback), and a new row.
	await admin.query("INSERT INTO events VALUES (100, '2024-05-01 11:00:30', 100), (101, '2024-06-01 00:00:00', 101)");
	const second = await syncOnce('my-inc', config);
	expect(second.error).toBeUndefined();
	expect(await sameAsSource(admin, 'events', bronze, ['v'])).toEqual({ missing: [], extra: [], different: [] });
	expect(second.result!.tables[0].rowsRead).toBeLessThan(40);
});

test('zero dates in a NOT NULL cursor column fail the incremental run naming the fix, rather than ending the read early', async () => {
	const admin = source.admin;
	await admin.query("SET SESSION sql_mode = ''");
	await admin.query('CREATE TABLE stamped (id int PRIMARY KEY, changed datetime NOT NULL, v int, KEY (changed, id))');
	// 12 zero dates sort before every real date: a page of 10 ends on one, 18 real rows follow.
	await admin.query(`INSERT INTO stamped VALUES ${Array.from({ length: 30 }, (_, i) => `(${i + 1}, '${i < 12 ? (i % 2 ? '0000-00-00 00:00:00' : '2024-00-05 00:00:00') : `2024-05-01 10:00:${String(i).padStart(2, '0')}`}', ${i})`).join(',')}`);
	const db = source.database;
	const config = { engine: 'mysql', pageSize: 10, tables: [{ table: `${db}.stamped`, mode: 'incremental', cursor: ['changed'] }] };
	const refused = await syncOnce('my-zero', config);
	expect(refused.error?.message).toMatch(/zero date .* cursor column changed.*Set those values to a real date or NULL/);
	expect((await lastRun('my-zero')).status).toBe('failed');
	const { rows } = await lake.pool.query(`select to_regclass($1) as t`, [`ipai_bronze_core.${db}_stamped`]);
	expect(rows[0].t).toBeNull();
	// Fixed at the source, the next run loads every row.
	await admin.query("UPDATE stamped SET changed = '2024-04-30 00:00:00' WHERE MONTH(changed) = 0 OR DAYOFMONTH(changed) = 0");
	const loaded = await syncOnce('my-zero', config);
	expect(loaded.error).toBeUndefined();
	expect(loaded.result!.tables[0].rowsRead).toBe(30);
	expect(await sameAsSource(admin, 'stamped', `ipai_bronze_core.${db}_stamped`, ['v'])).toEqual({ missing: [], extra: [], different: [] });
});

test("a table named without a database reads from the credential's database, not the first one the user can see", async () => {
	const db = source.database;
	// Sorts before the scratch database (ipai_my_…): listing the user's databases would find it first.
	const other = `a_${db}`;
	const admin = source.admin;
	await admin.query(`CREATE DATABASE \`${other}\``);
	try {
		await admin.query(`CREATE TABLE \`${other}\`.items (id int PRIMARY KEY, v varchar(10)); INSERT INTO \`${other}\`.items VALUES (1, 'other'), (2, 'other'), (3, 'other')`);
		await admin.query("CREATE TABLE items (id int PRIMARY KEY, v varchar(10)); INSERT INTO items VALUES (1, 'mine'), (2, 'mine')");
		await admin.query("CREATE USER IF NOT EXISTS 'ipai_two'@'%' IDENTIFIED BY 'two-dbs-7781'");
		await admin.query(`GRANT SELECT ON \`${other}\`.* TO 'ipai_two'@'%'; GRANT SELECT ON \`${db}\`.* TO 'ipai_two'@'%'`);
		const two = settings({ user: 'ipai_two', password: 'two-dbs-7781' });
		const engine = new MySqlEngine(two);
		expect((await engine.listSchemas())[0]).toBe(other);
		await engine.close();
		const config = { engine: 'mysql', tables: [{ table: 'items', mode: 'full' }] };
		const { result, error } = await syncOnce('my-default-db', config, two);
		expect(error).toBeUndefined();
		expect(result!.tables[0]).toMatchObject({ table: `${db}.items`, target: `ipai_bronze_core.${db}_items`, rowsRead: 2 });
		expect(await sameAsSource(admin, 'items', `ipai_bronze_core.${db}_items`, ['v'])).toEqual({ missing: [], extra: [], different: [] });

		// No database on the credential: a table without one is refused with the fix, never guessed.
		const none = await syncOnce('my-no-db', config, settings({ user: 'ipai_two', password: 'two-dbs-7781', database: '' }));
		expect(none.error!.message).toMatch(/"items" names no database and the credential has none.*database\.table/);
		expect((await lastRun('my-no-db')).status).toBe('failed');
	} finally {
		await admin.query(`DROP DATABASE IF EXISTS \`${other}\``);
		await admin.query("DROP USER IF EXISTS 'ipai_two'@'%'");
	}
});

test('wrong password, unknown database and a table renamed at the source fail the run with the fix and no secret', async () => {
	const db = source.database;
	const config = { engine: 'mysql', tables: [{ table: `${db}.orders`, mode: 'full' }] };
	await source.admin.query("CREATE USER IF NOT EXISTS 'ipai_wrong'@'%' IDENTIFIED BY 'right-secret-5150'");
	const wrong = await syncOnce('my-bad-login', config, settings({ user: 'ipai_wrong', password: 'not-the-secret-4242' }));
	expect(wrong.error!.message).toMatch(/refused the login.*Check the user and password/);
	const login = await lastRun('my-bad-login');
	expect(login.status).toBe('failed');
	expect(JSON.stringify(login)).not.toContain('not-the-secret-4242');

	const missing = await syncOnce('my-bad-db', config, settings({ database: 'no_such_db_here' }));
	expect(missing.error!.message).toMatch(/Database "no_such_db_here" does not exist/);
	expect((await lastRun('my-bad-db')).status).toBe('failed');

	await source.admin.query('RENAME TABLE orders TO orders_renamed');
	const renamed = await syncOnce('my-full', config);
	expect(renamed.error!.message).toMatch(/does not exist at the source.*renamed/);
	expect((await lastRun('my-full')).status).toBe('failed');
	await source.admin.query('RENAME TABLE orders_renamed TO orders');
});

test('CDC through the binlog: initial snapshot, then inserts, updates and deletes; lag on the run', async () => {
	const admin = await connectAdmin(binlog.server);
	await admin.query('CREATE DATABASE shop');
	await admin.query('USE shop');
	await admin.query('CREATE TABLE items (id bigint PRIMARY KEY, name varchar(20), qty int)');
	await admin.query(`INSERT INTO items VALUES ${Array.from({ length: 50 }, (_, i) => `(${i + 1}, 'item ${i + 1}', ${i})`).join(',')}`);
	const cdcSettings = { host: '127.0.0.1', port: binlog.server.port, user: 'root', password: '', database: 'shop', ssl: 'disable' as const };
	const config = { engine: 'mysql', pageSize: 20, tables: [{ table: 'shop.items', mode: 'cdc' }] };
	const first = await syncOnce('my-cdc', config, cdcSettings);
	expect(first.error).toBeUndefined();
	await admin.query("UPDATE items SET qty = qty + 100 WHERE id <= 10; DELETE FROM items WHERE id > 45; INSERT INTO items VALUES (1000, 'new', 1)");
	const second = await syncOnce('my-cdc', config, cdcSettings);
	expect(second.error).toBeUndefined();
	expect(await sameAsSource(admin, 'items', 'ipai_bronze_core.shop_items', ['name', 'qty'])).toEqual({ missing: [], extra: [], different: [] });
	const run = await lastRun('my-cdc');
	expect(run.status).toBe('success');
	expect(run.metadata.replication).toMatchObject({ lag_bytes: 0, lag_seconds: 0 });
	await admin.end();
});

/**
 * Values no bronze type holds — zero dates (read as NULL) and a tinyint(1) other than 0 or 1 (read
 * as a boolean) — are never lost: their row keeps the source's own value in _ipai_raw, on every
 * path, while rows that lost nothing leave it NULL. Oracle: the source's own text of each value.
 */
test('a zero date or a tinyint(1) other than 0/1 keeps the source value in _ipai_raw, full, incremental and CDC alike', async () => {
	const admin = await connectAdmin(binlog.server);
	await admin.query("SET SESSION sql_mode = ''");
	await admin.query('CREATE DATABASE lossy');
	await admin.query('USE lossy');
	await admin.query('CREATE TABLE odd (id int PRIMARY KEY, d date, at datetime, flag tinyint(1), seq int NOT NULL)');
	await admin.query("INSERT INTO odd VALUES (1, '0000-00-00', '2024-01-01 10:00:00', 1, 1), (2, '2024-00-05', '0000-00-00 00:00:00', 5, 2), (3, '2024-02-29', '2024-02-29 12:00:00', 0, 3), (4, NULL, NULL, -3, 4)");
	const cdcSettings = { host: '127.0.0.1', port: binlog.server.port, user: 'root', password: '', database: 'lossy', ssl: 'disable' as const };
	const modes = [
		{ name: 'lossy-full', table: { mode: 'full' } },
		{ name: 'lossy-inc', table: { mode: 'incremental', cursor: ['seq'] } },
		{ name: 'lossy-cdc', table: { mode: 'cdc' } },
	];
	const syncAll = async () => {
		for (const m of modes) {
			const outcome = await syncOnce(m.name, { engine: 'mysql', pageSize: 2, tables: [{ table: 'lossy.odd', ...m.table, target: m.name.replace('-', '_') }] }, cdcSettings);
			expect(outcome.error).toBeUndefined();
		}
	};
	const expectNothingLost = async () => {
		const [rows] = await admin.query('SELECT CAST(id AS CHAR) id, CAST(d AS CHAR) d, CAST(`at` AS CHAR) `at`, CAST(flag AS CHAR) flag FROM odd ORDER BY id');
		const want = rows as Array<Record<string, string | null>>;
		for (const m of modes) {
			const { rows: have } = await lake.pool.query(
				`select id::text, d::text, at::text, flag, _ipai_raw ->> 'd' as raw_d, _ipai_raw ->> 'at' as raw_at, _ipai_raw ->> 'flag' as raw_flag, _ipai_raw is null as no_raw
				   from ipai_bronze_core.${m.name.replace('-', '_')} where _ipai_deleted_at is null order by id`,
			);
			expect({ table: m.name, ids: have.map((r) => r.id) }).toEqual({ table: m.name, ids: want.map((r) => r.id) });
			for (const [i, source] of want.entries()) {
				const row = have[i];
				const lostDate = source.d !== null && row.d === null;
				const lostAt = source.at !== null && row.at === null;
				const lostFlag = source.flag !== null && source.flag !== '0' && source.flag !== '1';
				// What bronze holds (typed column, or _ipai_raw where the row kept its source form) is the source's value.
				expect({ table: m.name, id: source.id, d: lostDate ? row.raw_d : row.d, at: lostAt ? row.raw_at : row.at, flag: lostFlag ? row.raw_flag : row.flag === null ? null : row.flag ? '1' : '0' })
					.toEqual({ table: m.name, id: source.id, d: source.d, at: source.at, flag: source.flag });
				expect({ table: m.name, id: source.id, keptRaw: !row.no_raw }).toEqual({ table: m.name, id: source.id, keptRaw: lostDate || lostAt || lostFlag });
			}
		}
	};
	await syncAll();
	await expectNothingLost();
	// Changes replayed from the binlog (CDC) and re-read (incremental: a new cursor value) keep it too.
	await admin.query("UPDATE odd SET d = '2024-05-00', flag = 7, seq = 10 WHERE id = 3; UPDATE odd SET d = '2024-06-01', at = '2024-06-01 00:00:00', flag = 1, seq = 11 WHERE id = 2");
	await admin.query("INSERT INTO odd VALUES (5, '0000-00-00', '0000-00-00 00:00:00', 2, 12)");
	await syncAll();
	await expectNothingLost();
	await admin.end();
});
