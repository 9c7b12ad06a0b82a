/**
 * PostgreSQL as a database source, against a real second server (wal_level=logical, started from
 * the installed binaries) and the real lakehouse. The oracle is the source database itself: every
 * column of every row compared as PostgreSQL's own text on both sides.
 */
import { Client } from 'pg';
import { listRuns } from '../../lib/lakehouse/runQueries';
import { PgEngine } from '../../lib/sources/db/postgres/engine';
import { DbSourceError, type DbConnectionSettings } from '../../lib/sources/db/engine';
import { useScratchDatabase } from '../../tooling/helpers/database';
import { useLogicalPostgres } from '../../tooling/helpers/logicalPostgres';
import { compareWithSource, settingsFor, syncOnce, textRows } from './fixtures/dbSource';

jest.setTimeout(180_000);
const lake = useScratchDatabase();
const pg = useLogicalPostgres();
let sourceUrl = '';
const settings = (overrides: Partial<DbConnectionSettings> = {}) => settingsFor(pg.server.port, 'src', overrides);

beforeAll(async () => {
	await pg.server.sql('create database src');
	sourceUrl = pg.server.url('src');
	await pg.server.sql(
		`create type mood as enum ('sad', 'ok', 'happy');
		 create type pair as (a int, b text);
		 create domain positive as int check (value > 0);
		 create table typed (
		   id int primary key, small smallint, big bigint, exact numeric(38,10), huge numeric, real4 real, dbl double precision,
		   flag boolean, day date, clock time, clocktz timetz, ts timestamp, tstz timestamptz, js json, jsb jsonb,
		   ints int[], texts text[], nums numeric[], feeling mood, uid uuid, blob bytea, bits bit(4), vbits varbit, span interval,
		   cash money, spot point, addr inet, both_ pair, pos positive, label varchar(20), fixed char(3));
		 insert into typed values
		   (1, -32768, -9223372036854775808, 12345678901234567890.0123456789, 123456789012345678901234567890.5, 1.1, 0.1,
		    true, '2024-02-29', '23:59:59.999999', '12:00+05:30', '2024-01-01 00:00:00.123456', '2024-06-30 22:00:00.654321+02',
		    '{"a": [1, 2.50, null], "b": "x\\ty"}', '{"n": 12345678901234567, "s": "é"}', '{1,NULL,3}', '{"a b","",NULL}', '{1.50,2}', 'happy',
		    'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '\\x00ff10', B'1010', B'101', '1 year 2 mons 3 days 04:05:06.7', 12.34, '(1.5,-2)', '10.0.0.1/8',
		    row(1, 'x'), 7, 'tab\there', 'ab'),
		   (2, 32767, 9223372036854775807, -0.0000000001, 0, 'NaN', '-Infinity', false, 'infinity', '00:00', '00:00+00', '-infinity', 'infinity',
		    'null', '[]', '{}', '{}', '{}', 'sad', '00000000-0000-0000-0000-000000000000', '\\x', B'0000', B'', '-1 days', -0.5, '(0,0)', '::1',
		    row(null, null), 1, '', 'xyz'),
		   (3, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null);`,
		'src',
	);
}, 180_000);

async function connectorId(name: string): Promise<string> {
	const { rows } = await lake.pool.query(`select id from ipai_connector_config where connector_type = 'db' and name = $1`, [name]);
	return rows[0].id;
}

describe('types', () => {
	const expected: Record<string, string> = {
		id: 'integer', small: 'integer', big: 'bigint', exact: 'numeric', huge: 'numeric', real4: 'double precision', dbl: 'double precision',
		flag: 'boolean', day: 'date', clock: 'text', clocktz: 'text', ts: 'timestamp without time zone', tstz: 'timestamp with time zone',
		js: 'jsonb', jsb: 'jsonb', ints: 'bigint[]', texts: 'text[]', nums: 'jsonb', feeling: 'text', uid: 'text', blob: 'text', bits: 'text',
		vbits: 'text', span: 'text', cash: 'numeric', spot: 'text', addr: 'text', both_: 'jsonb', pos: 'integer', label: 'text', fixed: 'text',
	};

	it('maps every column to its bronze type and loads every value exactly', async () => {
		const { result, error } = await syncOnce(lake.pool, settings(), 'types', { engine: 'postgres', tables: [{ table: 'public.typed', mode: 'full' }] });
		expect(error).toBeUndefined();
		expect(result!.rowsRead).toBe(3);
		const { rows } = await lake.pool.query(
			`select column_name, format_type(a.atttypid, a.atttypmod) as type from information_schema.columns c
			   join pg_attribute a on a.attrelid = 'ipai_bronze_core.public_typed'::regclass and a.attname = c.column_name
			  where table_schema = 'ipai_bronze_core' and table_name = 'public_typed' and column_name not like '\\_ipai\\_%'`,
		);
		expect(Object.fromEntries(rows.map((r) => [r.column_name, r.type]))).toEqual(expected);
		// Per column, how each side reads: the source's text (jsonb for json-like columns) against bronze's text.
		const json = (q: string) => `to_jsonb(${q})::text`;
		const diff = await compareWithSource({
			sourceUrl,
			lakehouseUrl: lake.url,
			source: 'public.typed',
			bronze: 'ipai_bronze_core.public_typed',
			connectorId: await connectorId('types'),
			key: 'id',
			columns: Object.keys(expected).map((name) => {
				if (name === 'js' || name === 'jsb' || name === 'nums' || name === 'both_') return { name, source: (q: string) => (name === 'js' ? `${q}::jsonb::text` : json(q)), bronze: (q: string) => `${q}::text` };
				if (name === 'cash') return { name, source: (q: string) => `${q}::numeric::text` };
				return { name };
			}),
		});
		expect(diff).toEqual({ missing: [], extra: [], different: [], sourceRows: 3 });
	});

	it('reports a column type with no mapping by name, fails the run and writes nothing', async () => {
		await pg.server.sql(`create table odd (id int primary key, rel regclass); insert into odd values (1, 'pg_class')`, 'src');
		const { start, error } = await syncOnce(lake.pool, settings(), 'odd', { engine: 'postgres', tables: [{ table: 'odd', mode: 'full' }] });
		expect(error).toBeInstanceOf(DbSourceError);
		expect(error!.message).toMatch(/no bronze mapping: rel regclass.*view/);
		const [run] = await listRuns(lake.pool, { connectorName: 'odd' });
		expect(run).toMatchObject({ id: start.runId, status: 'failed' });
		expect(run.error_message).toContain('regclass');
		const { rows } = await lake.pool.query(`select to_regclass('ipai_bronze_core.public_odd') as t`);
		expect(rows[0].t).toBeNull();
	});
});

describe('discovery', () => {
	it('lists schemas, tables and columns with keys and bronze types', async () => {
		const engine = new PgEngine(settings());
		try {
			expect(await engine.listSchemas()).toContain('public');
			expect((await engine.listTables('public')).map((t) => t.name)).toEqual(expect.arrayContaining(['typed', 'odd']));
			const info = await engine.describeTable({ schema: 'public', name: 'typed' });
			expect(info.primaryKey).toEqual(['id']);
			expect(info.columns.find((c) => c.name === 'exact')).toMatchObject({ sourceType: 'numeric(38,10)', bronzeType: 'numeric', nullable: true });
			await expect(engine.describeTable({ schema: 'public', name: 'nope' })).rejects.toThrow(/not in the source database \(renamed or dropped\?\)/);
		} finally {
			await engine.close();
		}
	});
});

describe('bad input: each a clear error, a failed run, nothing written', () => {
	const cases: Array<[string, () => ReturnType<typeof settings>, RegExp, string]> = [
		['wrong password', () => settings({ user: 'reader', password: 'wrong-Secret-1' }), /refused the login of user "reader".*Check the user and password/, 'login'],
		['unreachable host', () => settings({ port: 1 }), /Cannot reach PostgreSQL at 127\.0\.0\.1:1.*Check the host and port/, 'unreachable'],
		['missing database', () => settingsFor(pg.server.port, 'nodb'), /has no database "nodb".*Check the database name/, 'database'],
		['missing privilege', () => settings({ user: 'reader', password: 'reader-Pass-1' }), /may not read public\.typed.*GRANT SELECT ON "public"\."typed" TO "reader"/, 'privilege'],
	];
	beforeAll(async () => {
		await pg.server.sql(`create user reader password 'reader-Pass-1'`, 'src');
	});

	it.each(cases)('%s', async (name, make, message, kind) => {
		const connector = `bad_${name.replace(/ /g, '_')}`;
		const s = make();
		const { error } = await syncOnce(lake.pool, s, connector, { engine: 'postgres', tables: [{ table: 'typed', mode: 'full' }] });
		expect(error).toBeInstanceOf(DbSourceError);
		expect((error as DbSourceError).kind).toBe(kind);
		expect(error!.message).toMatch(message);
		const [run] = await listRuns(lake.pool, { connectorName: connector });
		expect(run.status).toBe('failed');
		expect(run.error_message).toMatch(message);
		if (s.password) expect(JSON.stringify(run)).not.toContain(s.password);
		const { rows } = await lake.pool.query(`select count(*)::int as n from ipai_connector_state where connector_id = $1`, [run.connector_id]);
		expect(rows[0].n).toBe(0);
	});
});

it('a table renamed at the source fails the run naming the fix, with nothing half-written', async () => {
	await pg.server.sql(`create table moving (id int primary key, v text); insert into moving select g, 'v' || g from generate_series(1, 50) g`, 'src');
	const config = { engine: 'postgres', tables: [{ table: 'public.moving', mode: 'full' }], pageSize: 10 };
	expect((await syncOnce(lake.pool, settings(), 'moving', config)).error).toBeUndefined();
	await pg.server.sql(`alter table moving rename to moved`, 'src');
	const { error } = await syncOnce(lake.pool, settings(), 'moving', config);
	expect(error!.message).toMatch(/public\.moving is not in the source database \(renamed or dropped\?\).*Update config\.tables/);
	const [run] = await listRuns(lake.pool, { connectorName: 'moving' });
	expect(run.status).toBe('failed');
	const { rows } = await lake.pool.query(`select count(*)::int as n, count(_ipai_deleted_at)::int as deleted from ipai_bronze_core.public_moving`);
	expect(rows[0]).toEqual({ n: 50, deleted: 0 });
});

export { Client, textRows };
