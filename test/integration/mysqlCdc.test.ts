/**
 * Binlog CDC against a private MariaDB started with --log-bin --binlog-format=ROW: what the
 * capture refuses (binlog off, not ROW, missing privileges) with the fix, an initial snapshot
 * consistent with its start position while writers run, every mapped type replayed from row
 * events exactly as the source says it is, and the lag. Oracle: the source tables themselves.
 */
import { createConnection } from 'mysql2/promise';
import { qualifiedName } from '../../lib/lakehouse/sql';
import { getStreamState } from '../../lib/lakehouse/streamState';
import { DbSourceError } from '../../lib/sources/db/engine';
import { MySqlBinlogCdc } from '../../lib/sources/db/mysql/binlog';
import { comparePositions } from '../../lib/sources/db/mysql/binlogPosition';
import { useScratchDatabase } from '../../tooling/helpers/database';
import { runningConnector } from '../helpers/connector';
import { connectAdmin, sharedServer, usePrivateMariaDb } from '../helpers/mariadb';
import { compareWithSource, createTypeTable } from './fixtures/mysqlTypeTable';
import { syncMySqlCdc } from './fixtures/mysqlCdcSync';
import { createWorkload, startWriter } from './fixtures/mysqlWriter';

jest.setTimeout(240_000);

const db = useScratchDatabase();
const mariadb = usePrivateMariaDb();

async function scratch(name: string) {
	const admin = await connectAdmin(mariadb.server);
	await admin.query(`CREATE DATABASE \`${name}\``);
	await admin.query(`USE \`${name}\``);
	return { admin, settings: { host: '127.0.0.1', port: mariadb.server.port, user: 'root', password: '', database: name } };
}

async function refusal(promise: Promise<unknown>): Promise<DbSourceError> {
	const error = await promise.then(() => null, (e: unknown) => e);
	expect(error).toBeInstanceOf(DbSourceError);
	return error as DbSourceError;
}

test('binlog off, a format other than ROW, and missing replication privileges are refused with the fix', async () => {
	const shared = sharedServer();
	const off = new MySqlBinlogCdc({ ...shared, database: 'mysql' });
	const noBinlog = await refusal(off.start([{ schema: 'mysql', name: 'user' }]));
	await off.close();
	expect(noBinlog.kind).toBe('config');
	expect(noBinlog.message).toMatch(/binary log is off.*log_bin/);

	const { admin, settings } = await scratch('cdc_refusals');
	await admin.query('CREATE TABLE t (id int PRIMARY KEY)');
	await admin.query("SET GLOBAL binlog_format = 'MIXED'");
	try {
		const mixed = new MySqlBinlogCdc(settings);
		const notRow = await refusal(mixed.start([{ schema: 'cdc_refusals', name: 't' }]));
		await mixed.close();
		expect(notRow.kind).toBe('config');
		expect(notRow.message).toMatch(/MIXED.*SET GLOBAL binlog_format = 'ROW'/);
	} finally {
		await admin.query("SET GLOBAL binlog_format = 'ROW'");
	}

	await admin.query("CREATE USER 'reader'@'%' IDENTIFIED BY 'pw'");
	await admin.query("GRANT SELECT ON cdc_refusals.* TO 'reader'@'%'");
	const reader = { ...settings, user: 'reader', password: 'pw' };
	const selectOnly = new MySqlBinlogCdc(reader);
	// Enum values with commas need full row metadata in the binlog.
	await admin.query("CREATE TABLE e (id int PRIMARY KEY, v enum('a,b','c'))");
	await admin.query("SET GLOBAL binlog_row_metadata = 'MINIMAL'");
	try {
		const minimal = new MySqlBinlogCdc(settings);
		const commas = await refusal(minimal.start([{ schema: 'cdc_refusals', name: 'e' }]));
		await minimal.close();
		expect(commas.message).toMatch(/binlog_row_metadata = 'FULL'/);
	} finally {
		await admin.query("SET GLOBAL binlog_row_metadata = 'FULL'");
	}

	const noClient = await refusal(selectOnly.start([{ schema: 'cdc_refusals', name: 't' }]));
	await selectOnly.close();
	expect(noClient.kind).toBe('privilege');
	expect(noClient.message).toMatch(/REPLICATION CLIENT/);

	// Allowed to see the position but not to read the log: refused when the dump starts.
	await admin.query("GRANT BINLOG MONITOR ON *.* TO 'reader'@'%'");
	const noSlave = new MySqlBinlogCdc(reader);
	await (await noSlave.start([{ schema: 'cdc_refusals', name: 't' }])).snapshot?.close();
	const dump = await refusal(noSlave.read(10));
	await noSlave.close();
	expect(`${dump.kind}: ${dump.message}`).toMatch(/^privilege: /);
	expect(dump.message).toMatch(/REPLICATION SLAVE/);
	expect(dump.message).not.toContain('pw');
	await admin.end();
});

test('the initial snapshot is consistent with its binlog position while writers run; bronze equals the source', async () => {
	const { admin, settings } = await scratch('cdc_consistent');
	await createWorkload(admin, 3000);
	const writerConnection = await createConnection({ ...settings });
	const writer = startWriter(writerConnection, 7);
	const run = await runningConnector(db.pool);
	const target = { schema: 'ipai_bronze_core', name: 'my_cdc_items' };
	const markerTarget = { schema: 'ipai_bronze_core', name: 'my_cdc_marker' };
	const common = { pool: db.pool, run, settings, pageSize: 500 };
	// Snapshot + replay while the writer keeps committing.
	await syncMySqlCdc({ ...common, source: { schema: 'cdc_consistent', name: 'items' }, target, stream: 'items' });
	await syncMySqlCdc({ ...common, source: { schema: 'cdc_consistent', name: 'marker' }, target: markerTarget, stream: 'marker' });
	const committed = await writer.stop();
	expect(committed).toBeGreaterThan(0);
	await syncMySqlCdc({ ...common, source: { schema: 'cdc_consistent', name: 'items' }, target, stream: 'items' });
	await syncMySqlCdc({ ...common, source: { schema: 'cdc_consistent', name: 'marker' }, target: markerTarget, stream: 'marker' });
	await writerConnection.end();

	expect(await itemsDiff(admin, 'ipai_bronze_core', 'my_cdc_items', run.connectorId)).toEqual([]);
	const { rows } = await db.pool.query(`select seq::int as seq from ${qualifiedName(markerTarget.schema, markerTarget.name)}`);
	expect(rows[0].seq).toBe(committed);
	// The saved position is the head of the binlog once everything is read.
	const state = await getStreamState(db.pool, run.connectorId, 'items');
	const [head] = await admin.query('SHOW MASTER STATUS');
	const position = (state.cursor as { position: string }).position;
	expect(comparePositions(position, `${(head as Array<{ File: string; Position: number }>)[0].File}:${(head as Array<{ Position: number }>)[0].Position}`)).toBeLessThanOrEqual(0);
	await admin.end();
});

test('every mapped type replayed from binlog row events lands as the source says it is; lag is reported', async () => {
	const { admin, settings } = await scratch('cdc_types');
	await admin.query("SET SESSION sql_mode = ''");
	await admin.query('CREATE TABLE types (id int PRIMARY KEY)'); // replaced below, after the capture starts
	const run = await runningConnector(db.pool);
	const target = { schema: 'ipai_bronze_core', name: 'my_cdc_types' };
	// Start with an empty table so that every row arrives through the binlog.
	await admin.query('DROP TABLE types');
	await admin.query((await import('./fixtures/mysqlTypeTable')).TYPE_TABLE_DDL.replace('g geometry', 'g polygon'));
	const common = { pool: db.pool, run, settings, pageSize: 64, source: { schema: 'cdc_types', name: 'types' }, target, stream: 'types' };
	await syncMySqlCdc(common);
	await createTypeTable(admin, 150, { keepTable: true, polygonOnly: true });
	await admin.query("UPDATE types SET t = CONCAT(t, ' updated'), dt = '2020-02-02' WHERE id % 3 = 0");
	await admin.query('UPDATE types SET id = id + 10000 WHERE id BETWEEN 100 AND 110');
	await admin.query('DELETE FROM types WHERE id % 7 = 0');

	const cdc = new MySqlBinlogCdc(settings, { position: ((await getStreamState(db.pool, run.connectorId, 'types')).cursor as { position: string }).position });
	await (await cdc.start([common.source])).snapshot?.close();
	const lag = await cdc.lag();
	expect(lag.lagBytes).toBeGreaterThan(0);
	await cdc.close();

	await syncMySqlCdc(common);
	const problems = await compareWithSource(admin, db.pool, target, run.connectorId, { liveOnly: true });
	expect(problems).toEqual([]);
	const { rows } = await db.pool.query(`select count(*)::int as n from ${qualifiedName(target.schema, target.name)} where _ipai_deleted_at is not null`);
	expect(rows[0].n).toBeGreaterThan(0);

	const caughtUp = new MySqlBinlogCdc(settings, { position: ((await getStreamState(db.pool, run.connectorId, 'types')).cursor as { position: string }).position });
	await (await caughtUp.start([common.source])).snapshot?.close();
	expect(await caughtUp.lag()).toEqual({ lagBytes: 0, lagSeconds: 0 });
	await caughtUp.close();
	await admin.end();
});

/** Differences between the source's items and bronze's live rows (the source is the oracle). */
async function itemsDiff(admin: Awaited<ReturnType<typeof connectAdmin>>, schema: string, table: string, connectorId: string): Promise<string[]> {
	const [source] = await admin.query("SELECT CAST(id AS CHAR) id, name, CAST(qty AS CHAR) qty, CAST(price AS CHAR) price, DATE_FORMAT(updated, '%Y-%m-%d %H:%i:%s.%f') updated FROM items ORDER BY id");
	const { rows: bronze } = await db.pool.query(
		`select id::text, name, qty::text, price::text, to_char(updated, 'YYYY-MM-DD HH24:MI:SS.US') as updated
		   from ${qualifiedName(schema, table)} where _ipai_connector_id = $1 and _ipai_deleted_at is null order by id`,
		[connectorId],
	);
	const a = (source as Array<Record<string, string>>).map((r) => JSON.stringify(r));
	const b = bronze.map((r) => JSON.stringify(r));
	const inSource = new Set(a);
	const inBronze = new Set(b);
	return [...a.filter((r) => !inBronze.has(r)).map((r) => `missing ${r}`), ...b.filter((r) => !inSource.has(r)).map((r) => `extra ${r}`)].slice(0, 20);
}
