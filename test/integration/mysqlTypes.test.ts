/**
 * The MySQL/MariaDB type mapping, column by column, against the real server: a table with every
 * mapped type (edges + seeded random rows) is read by a consistent snapshot in key pages, loaded
 * into bronze, and each bronze value is compared with what the source server itself says the value
 * is (fixtures/mysqlTypeTable.ts). Zero dates land as NULL and are counted.
 */
import { loadStream, type Page } from '../../lib/lakehouse/loader';
import type { JsonScalar } from '../../lib/lakehouse/stream';
import type { DbColumn } from '../../lib/sources/db/engine';
import { openConnection } from '../../lib/sources/db/mysql/connection';
import { describeTable, openReadView } from '../../lib/sources/db/mysql/readView';
import { mapMySqlColumn } from '../../lib/sources/db/mysql/types';
import { useScratchDatabase } from '../../tooling/helpers/database';
import { runningConnector } from '../helpers/connector';
import { useScratchMariaDb } from '../helpers/mariadb';
import { compareWithSource, createTypeTable } from './fixtures/mysqlTypeTable';

jest.setTimeout(180_000);

const db = useScratchDatabase();
const source = useScratchMariaDb();

const settings = () => ({ ...source.server, database: source.database });

test('every mapped type lands in bronze as the source server says it is (snapshot read in key pages)', async () => {
	const total = await createTypeTable(source.admin);
	const connection = await openConnection(settings());
	const info = await describeTable(connection, { schema: source.database, name: 'types' });
	expect(info.primaryKey).toEqual(['id']);
	expect(info.columns.every((c) => c.bronzeType !== null)).toBe(true);
	const types = Object.fromEntries(info.columns.map((c) => [c.name, c.bronzeType]));
	expect(types).toMatchObject({ ub: 'numeric', sb: 'bigint', b1: 'boolean', d: 'numeric', f: 'double', dt: 'date', dtt: 'timestamp', ts: 'timestamptz', tm: 'text', j: 'jsonb', s: 'text[]', bt: 'text', bl: 'text', gp: 'text' });

	const view = await openReadView(connection, settings(), 'start', () => connection.end());
	const { connectorId, runId } = await runningConnector(db.pool);
	const table = { schema: 'ipai_bronze_core', name: 'my_types' };
	const read = { table: { schema: source.database, name: 'types' }, columns: info.columns as DbColumn[], key: ['id'] };
	async function* pages(): AsyncGenerator<Page> {
		let after: JsonScalar[] | null = null;
		for (;;) {
			const rows = await view.readPage(read, { order: 'key', afterKey: after, limit: 37 });
			if (rows.length === 0) return;
			after = [rows[rows.length - 1].id as JsonScalar];
			yield { records: rows, cursor: after };
		}
	}
	const result = await loadStream(db.pool, pages(), {
		connectorId, runId, stream: 'types', table, key: ['id'],
		columns: info.columns.map((c) => ({ field: c.name, type: c.bronzeType! })),
	});
	await view.close();
	expect(result.rowsRead).toBe(total);
	// Zero and partial dates: rows 2 (date, datetime, and a timestamp before the epoch in the
	// inserting session's zone, which MariaDB stores as zero) and 3 (date), counted per column.
	expect(Object.fromEntries(view.notes.zeroDates)).toEqual({ dt: 2, dtt: 1, ts: 1 });
	expect(await compareWithSource(source.admin, db.pool, table, connectorId)).toEqual([]);
	// Bronze's columns have the mapped types (the values are castable as documented).
	const { rows } = await db.pool.query(
		`select count(*)::int as n from ipai_bronze_core.my_types where bt::bit(10) is not null and bl::bytea is not null`,
	);
	expect(rows[0].n).toBeGreaterThan(0);
});

test('a column type without a mapping is named with the fix', () => {
	const column = { name: 'v', dataType: 'vector', columnType: 'vector(3)', charset: null, nullable: true, isJson: false };
	expect(mapMySqlColumn(column)).toBeNull();
});
