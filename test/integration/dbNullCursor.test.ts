/**
 * Incremental tables whose cursor column holds NULLs, on PostgreSQL and MariaDB. The first sync
 * reads the NULL-cursor rows (in key order) before the others, so bronze equals the source; later
 * syncs cannot see NULL-cursor rows, so the run carries a warning with their count — or, with
 * `nullCursor: 'fail'`, fails naming the table, column and count. Never a silent success.
 * Oracle: the source database's own rows.
 */
import fc from 'fast-check';
import { Client } from 'pg';
import { getStreamState } from '../../lib/lakehouse/streamState';
import { runDbConnector } from '../../lib/sources/db/sync';
import { MySqlEngine } from '../../lib/sources/db/mysql/engine';
import { PgEngine } from '../../lib/sources/db/postgres/engine';
import type { DbConnectionSettings, DbEngine } from '../../lib/sources/db/engine';
import { createScratchDatabase, serverUrl, useScratchDatabase, type ScratchDatabase } from '../../tooling/helpers/database';
import { useScratchMariaDb } from '../helpers/mariadb';
import { compareWithSource } from './fixtures/dbSource';

jest.setTimeout(300_000);
const lake = useScratchDatabase();
const maria = useScratchMariaDb();
let pgSource: ScratchDatabase;
let pgClient: Client;

beforeAll(async () => {
	pgSource = await createScratchDatabase('ipai_src');
	pgClient = new Client({ connectionString: pgSource.url });
	await pgClient.connect();
}, 60_000);
afterAll(async () => {
	await pgClient?.end();
	await pgSource?.drop();
}, 60_000);

/** What the tests need of a source engine: run SQL, read rows as text, settings, the bronze name. */
interface Source {
	name: 'postgres' | 'mysql';
	/** The schema tables live in at the source (and the bronze name's prefix). */
	schema: () => string;
	exec(sql: string): Promise<void>;
	/** A column as text in a select list. */
	text(column: string): string;
	rows(sql: string): Promise<Array<Record<string, string | null>>>;
	settings(): DbConnectionSettings;
	engine(settings: DbConnectionSettings): DbEngine;
}

const sources: Source[] = [
	{
		name: 'postgres',
		schema: () => 'public',
		exec: async (sql) => void (await pgClient.query(sql)),
		text: (column) => `${column}::text`,
		rows: async (sql) => (await pgClient.query(sql)).rows,
		settings: () => {
			const url = new URL(serverUrl());
			return { host: url.hostname, port: Number(url.port || 5432), database: pgSource.name, user: decodeURIComponent(url.username || 'postgres'), password: decodeURIComponent(url.password), ssl: 'disable' };
		},
		engine: (settings) => new PgEngine(settings),
	},
	{
		name: 'mysql',
		schema: () => maria.database,
		exec: async (sql) => void (await maria.admin.query(sql)),
		text: (column) => `CAST(${column} AS CHAR)`,
		rows: async (sql) => (await maria.admin.query(sql))[0] as Array<Record<string, string | null>>,
		settings: () => ({ ...maria.server, database: maria.database, ssl: 'disable' }),
		engine: (settings) => new MySqlEngine(settings),
	},
];

async function syncOnce(source: Source, name: string, config: unknown) {
	const settings = source.settings();
	const engine = source.engine(settings);
	try {
		return await runDbConnector(lake.pool, engine, { connectorName: name, config, settings });
	} finally {
		await engine.close();
	}
}

async function connectorId(name: string): Promise<string> {
	const { rows } = await lake.pool.query(`select id from ipai_connector_config where connector_type = 'db' and name = $1`, [name]);
	return rows[0].id;
}

async function lastRun(name: string): Promise<{ status: string; error_message: string | null; metadata: { db?: { warnings: string[]; tables: Array<Record<string, unknown>> } } }> {
	const { rows } = await lake.pool.query(
		`select r.status, r.error_message, r.metadata from ipai_connector_run r join ipai_connector_config c on c.id = r.connector_id where c.name = $1 order by r.started_at desc limit 1`,
		[name],
	);
	return rows[0];
}

/** Source rows vs bronze's live rows of one connector, every column as text. */
async function sameAsSource(source: Source, connector: string, table: string, columns: string[]) {
	const bronze = `ipai_bronze_core.${source.schema()}_${table}`;
	if (source.name === 'postgres') {
		return compareWithSource({ sourceUrl: pgSource.url, lakehouseUrl: lake.url, source: table, bronze, connectorId: await connectorId(connector), key: 'id', columns: columns.map((name) => ({ name })) });
	}
	const want = new Map((await source.rows(`SELECT ${source.text('id')} AS k, ${columns.map((c) => `${source.text(c)} AS ${c}`).join(', ')} FROM ${table}`)).map((r) => [r.k!, r]));
	const { rows } = await lake.pool.query(
		`select id::text as k, ${columns.map((c) => `${c}::text as ${c}`).join(', ')} from ${bronze} where _ipai_connector_id = $1 and _ipai_deleted_at is null`,
		[await connectorId(connector)],
	);
	const have = new Map(rows.map((r) => [r.k as string, r]));
	const different: string[] = [];
	for (const [k, row] of want) {
		const other = have.get(k);
		if (other) for (const c of columns) if (row[c] !== other[c]) different.push(`${k}.${c}: source ${row[c]} bronze ${other[c]}`);
	}
	return { missing: [...want.keys()].filter((k) => !have.has(k)), extra: [...have.keys()].filter((k) => !want.has(k)), different, sourceRows: want.size };
}

describe.each(sources)('$name: NULL cursor values', (source) => {
	const table = (name: string) => (source.name === 'postgres' ? name : `${maria.database}.${name}`);

	it('the first sync loads every row (NULL cursors first, in key order); later NULL-cursor rows are counted in a warning', async () => {
		// 30 rows, a third with a NULL cursor, several sharing a cursor value; pages of 4 so the NULL
		// rows span several pages and the boundary between NULL and non-NULL falls inside a page.
		await source.exec('CREATE TABLE items (id int PRIMARY KEY, updated int NULL, body varchar(20))');
		const values = Array.from({ length: 30 }, (_, i) => `(${i + 1}, ${(i + 1) % 3 === 0 ? 'NULL' : Math.floor(i / 4)}, 'b${i + 1}')`);
		await source.exec(`INSERT INTO items VALUES ${values.join(', ')}`);
		const config = { engine: source.name, pageSize: 4, tables: [{ table: table('items'), mode: 'incremental', cursor: ['updated'] }] };
		const first = await syncOnce(source, `${source.name}-items`, config);
		expect(first.error).toBeUndefined();
		expect(await sameAsSource(source, `${source.name}-items`, 'items', ['updated', 'body'])).toEqual({ missing: [], extra: [], different: [], sourceRows: 30 });
		// Nothing was left out, so nothing to warn about.
		expect(first.result!.warnings.filter((w) => /NULL/.test(w))).toEqual([]);

		// Later: two rows inserted with a NULL cursor, one updated to NULL, one inserted with a cursor.
		await source.exec("INSERT INTO items VALUES (31, NULL, 'late null'), (32, NULL, 'late null'), (33, 100, 'tracked')");
		await source.exec("UPDATE items SET updated = NULL, body = 'nulled' WHERE id = 1");
		const second = await syncOnce(source, `${source.name}-items`, config);
		expect(second.error).toBeUndefined();
		const nulls = 10 + 2 + 1;
		const warning = second.result!.warnings.find((w) => /NULL/.test(w));
		expect(warning).toMatch(new RegExp(`^${source.schema()}\\.items: ${nulls} row\\(s\\) have a NULL cursor \\(updated\\)`));
		expect(second.result!.tables[0]).toMatchObject({ nullCursorRows: nulls });
		const run = await lastRun(`${source.name}-items`);
		expect(run.status).toBe('success');
		expect(run.metadata.db!.warnings).toContain(warning);
		expect(run.metadata.db!.tables[0]).toMatchObject({ nullCursorRows: nulls });
		// The tracked insert landed; the NULL-cursor ones are the ones the warning counts.
		const missing = (await sameAsSource(source, `${source.name}-items`, 'items', ['updated', 'body'])).missing.sort();
		expect(missing).toEqual(['31', '32']);
	});

	it("with nullCursor 'fail' the run fails naming the table, column, count and the fix, before anything is written", async () => {
		const config = { engine: source.name, pageSize: 4, tables: [{ table: table('items'), mode: 'incremental', cursor: ['updated'], nullCursor: 'fail' }] };
		const { error } = await syncOnce(source, `${source.name}-strict`, config);
		expect(error?.message).toMatch(new RegExp(`${source.schema()}\\.items has 13 row\\(s\\) whose cursor \\(updated\\) is NULL.*non-null cursor.*mode full`));
		const run = await lastRun(`${source.name}-strict`);
		expect(run.status).toBe('failed');
		const { rows } = await lake.pool.query(`select count(*)::int as n from ipai_bronze_core.${source.schema()}_items where _ipai_connector_id = $1`, [await connectorId(`${source.name}-strict`)]);
		expect(rows[0].n).toBe(0);
	});

	it('a composite cursor: a row with any NULL cursor column is a NULL-cursor row', async () => {
		await source.exec('CREATE TABLE pairs (id int PRIMARY KEY, a int NULL, b int NULL, body varchar(20))');
		const pick = (i: number, n: number) => (i % n === 0 ? 'NULL' : String(i % 5));
		await source.exec(`INSERT INTO pairs VALUES ${Array.from({ length: 25 }, (_, i) => `(${i + 1}, ${pick(i + 1, 4)}, ${pick(i + 1, 3)}, 'p${i + 1}')`).join(', ')}`);
		const config = { engine: source.name, pageSize: 3, tables: [{ table: table('pairs'), mode: 'incremental', cursor: ['a', 'b'] }] };
		const first = await syncOnce(source, `${source.name}-pairs`, config);
		expect(first.error).toBeUndefined();
		expect(await sameAsSource(source, `${source.name}-pairs`, 'pairs', ['a', 'b', 'body'])).toEqual({ missing: [], extra: [], different: [], sourceRows: 25 });
		await source.exec("INSERT INTO pairs VALUES (26, 9, NULL, 'x'), (27, 9, 9, 'y')");
		const second = await syncOnce(source, `${source.name}-pairs`, config);
		// ids divisible by 4 or 3 among 1..25 (12), plus 26.
		expect(second.result!.warnings.find((w) => /NULL/.test(w))).toMatch(/pairs: 13 row\(s\) have a NULL cursor \(a, b\)/);
		expect((await sameAsSource(source, `${source.name}-pairs`, 'pairs', ['a', 'b', 'body'])).missing).toEqual(['26']);
	});

	it('property: every row at or after the stored cursor (minus the lookback) lands; every NULL-cursor row is in bronze or counted', async () => {
		let run = 0;
		type Edit = { kind: 'insert'; cursor: number | null } | { kind: 'update'; pick: number; cursor: number | null } | { kind: 'delete'; pick: number } | { kind: 'sync' };
		const cursorValue = fc.option(fc.integer({ min: 0, max: 6 }), { nil: null, freq: 3 });
		const edit: fc.Arbitrary<Edit> = fc.oneof(
			fc.record({ kind: fc.constant('insert' as const), cursor: cursorValue }),
			fc.record({ kind: fc.constant('update' as const), pick: fc.nat(), cursor: cursorValue }),
			fc.record({ kind: fc.constant('delete' as const), pick: fc.nat() }),
			fc.record({ kind: fc.constant('sync' as const) }),
		);
		await fc.assert(
			fc.asyncProperty(
				fc.array(cursorValue, { minLength: 0, maxLength: 14 }),
				fc.array(edit, { maxLength: 12 }),
				fc.integer({ min: 1, max: 5 }),
				fc.integer({ min: 0, max: 2 }),
				async (initial, edits, pageSize, lookback) => {
					const name = `prop${run++}`;
					const connector = `${source.name}-${name}`;
					await source.exec(`CREATE TABLE ${name} (id int PRIMARY KEY, c int NULL, body varchar(20))`);
					let nextId = 1;
					let version = 0;
					const insert = async (cursor: number | null) => source.exec(`INSERT INTO ${name} VALUES (${nextId++}, ${cursor ?? 'NULL'}, 'v${version++}')`);
					for (const c of initial) await insert(c);
					const config = { engine: source.name, pageSize, tables: [{ table: table(name), mode: 'incremental', cursor: ['c'], lookbackSeconds: lookback }] };
					const sync = async () => {
						const before = await source.rows(`SELECT ${source.text('id')} AS id, ${source.text('c')} AS c, body FROM ${name}`);
						const id = (await connectorExists(connector)) ? await connectorId(connector) : null;
						const stored = id ? ((await getStreamState(lake.pool, id, `${source.schema()}.${name}`)).cursor as { position?: { cursor: unknown[] } | null } | null) : null;
						const storedCursor = stored?.position?.cursor?.[0];
						const { result, error } = await syncOnce(source, connector, config);
						expect(error).toBeUndefined();
						const target = `ipai_bronze_core.${source.schema()}_${name}`;
						const exists = (await lake.pool.query('select to_regclass($1) is not null as ok', [target])).rows[0].ok;
						const { rows } = exists
							? await lake.pool.query(`select id::text as id, c::text as c, body from ${target} where _ipai_connector_id = $1 and _ipai_deleted_at is null`, [await connectorId(connector)])
							: { rows: [] };
						const bronze = new Map(rows.map((r) => [r.id as string, r]));
						const nullRows = before.filter((r) => r.c === null);
						for (const row of before) {
							if (row.c === null) continue;
							const tracked = storedCursor === undefined || storedCursor === null || Number(row.c) >= Number(storedCursor) - lookback;
							if (tracked) expect(bronze.get(row.id!)).toEqual(row);
						}
						const notInBronze = nullRows.filter((r) => !bronze.has(r.id!)).length;
						const counted = result!.tables[0].nullCursorRows ?? 0;
						expect(counted).toBeGreaterThanOrEqual(notInBronze);
						if (stored === null) {
							// The first sync reads every row, whatever its cursor.
							expect(nullRows.filter((r) => JSON.stringify(bronze.get(r.id!)) !== JSON.stringify(r))).toEqual([]);
						} else if (nullRows.length > 0) {
							expect(counted).toBe(nullRows.length);
							expect(result!.warnings.some((w) => w.startsWith(`${source.schema()}.${name}: ${nullRows.length} row(s) have a NULL cursor`))).toBe(true);
						}
					};
					await sync();
					for (const e of edits) {
						const ids = (await source.rows(`SELECT ${source.text('id')} AS id FROM ${name} ORDER BY id`)).map((r) => r.id);
						if (e.kind === 'insert') await insert(e.cursor);
						else if (e.kind === 'update' && ids.length > 0) await source.exec(`UPDATE ${name} SET c = ${e.cursor ?? 'NULL'}, body = 'v${version++}' WHERE id = ${ids[e.pick % ids.length]}`);
						else if (e.kind === 'delete' && ids.length > 0) await source.exec(`DELETE FROM ${name} WHERE id = ${ids[e.pick % ids.length]}`);
						else if (e.kind === 'sync') await sync();
					}
					await sync();
				},
			),
			{ numRuns: 25 },
		);
	});
});

async function connectorExists(name: string): Promise<boolean> {
	const { rows } = await lake.pool.query(`select 1 from ipai_connector_config where connector_type = 'db' and name = $1`, [name]);
	return rows.length > 0;
}
