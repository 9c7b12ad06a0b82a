/**
 * The COPY path of full PostgreSQL tables (lib/sources/db/copyFull.ts) against two oracles: the
 * source database itself (every column as PostgreSQL's own text on both sides), and the row path
 * run on the same table (every bronze column, and _ipai_raw for tables with `raw: true`, byte for
 * byte as the lakehouse prints them; NULL otherwise). fast-check draws random tables of every mapped type family, random values (NULLs,
 * unicode, tabs, newlines, backslashes, JSON with NUL escapes and long numbers) and page sizes.
 * Also: the hand-over to the row path, a second sync (changes, deletes) and a drop expectation.
 */
import fc from 'fast-check';
import { Client } from 'pg';
import { columnNameFor } from '../../lib/lakehouse/tables';
import { useScratchDatabase } from '../../tooling/helpers/database';
import { useLogicalPostgres } from '../../tooling/helpers/logicalPostgres';
import { compareWithSource, settingsFor, syncOnce, textRows } from './fixtures/dbSource';

jest.setTimeout(600_000);
const lake = useScratchDatabase();
const pg = useLogicalPostgres();
const settings = () => settingsFor(pg.server.port, 'src');
let source: Client;

beforeAll(async () => {
	await pg.server.sql('create database src');
	source = new Client({ connectionString: pg.server.url('src') });
	await source.connect();
	await source.query(`create type mood as enum ('sad', 'ok', 'happy'); create type pair as (a int, b text)`);
}, 180_000);
afterAll(async () => {
	await source?.end();
});

const q = (name: string) => `"${name.replace(/"/g, '""')}"`;

async function connectorId(name: string): Promise<string> {
	const { rows } = await lake.pool.query(`select id from ipai_connector_config where connector_type = 'db' and name = $1`, [name]);
	return rows[0].id;
}

/** Syncs `table` through the COPY path and through the row path, each into a bronze table of its own. */
async function syncBoth(table: string, pageSize: number, config: Record<string, unknown> = {}) {
	const copy = await syncOnce(lake.pool, settings(), `copy_${table}`, { engine: 'postgres', pageSize, tables: [{ table, mode: 'full', target: `copy_${table}`, ...config }] });
	const rows = await syncOnce(lake.pool, settings(), `rows_${table}`, { engine: 'postgres', pageSize, tables: [{ table, mode: 'full', target: `rows_${table}`, ...config }] }, { fullCopy: false });
	if (copy.error) throw copy.error;
	if (rows.error) throw rows.error;
	return { copy: copy.result!, rows: rows.result! };
}

/** Rows of the two bronze tables (by key) whose columns or _ipai_raw differ, as text. */
async function pathDifferences(table: string, key: string[], columns: string[]): Promise<string[]> {
	// An empty source table makes no bronze table on either path.
	const { rows: made } = await lake.pool.query(`select to_regclass($1) is not null as copy, to_regclass($2) is not null as rows`, [`ipai_bronze_core.copy_${table}`, `ipai_bronze_core.rows_${table}`]);
	if (!made[0].copy || !made[0].rows) return made[0].copy === made[0].rows ? [] : [`only the ${made[0].copy ? 'copy' : 'row'} path made a table`];
	const all = [...columns.map(columnNameFor), '_ipai_raw', '_ipai_deleted_at'];
	const join = key.map((k) => `c.${q(columnNameFor(k))} = r.${q(columnNameFor(k))}`).join(' and ');
	const { rows } = await lake.pool.query(
		`select ${key.map((k) => `coalesce(c.${q(columnNameFor(k))}, r.${q(columnNameFor(k))})::text`).join(` || '/' || `)} as k,
		        array_remove(array[${all.map((c) => `case when c.${q(c)}::text is distinct from r.${q(c)}::text then ${`'${c}: ' || coalesce(c.${q(c)}::text, 'NULL') || ' vs ' || coalesce(r.${q(c)}::text, 'NULL')`} end`).join(', ')}], null) as diff,
		        c._ipai_connector_id is null as only_rows, r._ipai_connector_id is null as only_copy
		   from ipai_bronze_core.${q(`copy_${table}`)} c full join ipai_bronze_core.${q(`rows_${table}`)} r on ${join}`,
	);
	return rows.filter((r) => r.only_rows || r.only_copy || r.diff.length > 0).map((r) => `${r.k}: ${r.only_rows ? 'only in row path' : r.only_copy ? 'only in copy path' : r.diff.join('; ')}`);
}

describe('every mapped type, through both paths', () => {
	beforeAll(async () => {
		await source.query(
			`create table typed (
			   id int primary key, small smallint, big bigint, exact numeric(38,10), huge numeric, real4 real, dbl double precision,
			   flag boolean, day date, clock time, ts timestamp, tstz timestamptz, js json, jsb jsonb,
			   ints int[], texts text[], nums numeric[], feeling mood, uid uuid, blob bytea, span interval,
			   cash money, both_ pair, label varchar(20), note text, "Mixed Case" text)`,
		);
		// Values travel as text parameters: what the source stores is exactly these strings read by each type.
		const rows: Array<Array<string | null>> = [
			['1', '-32768', '-9223372036854775808', '12345678901234567890.0123456789', '123456789012345678901234567890.5', '1.1', '0.1',
			 'true', '2024-02-29', '23:59:59.999999', '2024-01-01 00:00:00.123456', '2024-06-30 22:00:00.654321+02',
			 '{\n  "a": [1, 2.50, null],\t"big": 123456789012345678901234567890, "b": "x\\ty", "nul": "a\\u0000b", "e": 1E+2}',
			 '{"n": 12345678901234567, "s": "é"}', '{1,NULL,3}', '{"a b","",NULL,"q\\"uote","back\\\\slash"}', '{1.50,2}', 'happy',
			 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '\\x00ff10', '1 year 2 mons 3 days 04:05:06.7', '12.34', '(1,x)', 'tab\there',
			 'line1\nline2\r\n\ttabbed \\ backslash \\N not null ✓ 日本語 🎉', 'mixed'],
			['2', '32767', '9223372036854775807', '-0.0000000001', 'NaN', 'NaN', '-Infinity', 'false', 'infinity', '00:00', '-infinity', 'infinity',
			 'null', '[]', '{}', '{}', '{}', 'sad', '00000000-0000-0000-0000-000000000000', '\\x', '-1 days', '-0.5', '(,)', '', '', ''],
			['3', ...Array<null>(25).fill(null)],
			['4', '0', '0', '0', '1e-20', '3.4e38', '1e308', 'true', '-infinity', '12:00', '1999-12-31 23:59:59', '1970-01-01 00:00:00+00',
			 '"just a string"', '123.4500', '{5}', '{x}', '{{1.5},{NULL}}', 'ok', null, '\\x5c6e', 'P1Y', '0', '(2,"a\tb")', '\\N', '\\\\N', null],
		];
		for (const row of rows) await source.query(`insert into typed values (${row.map((_, i) => `$${i + 1}`).join(', ')})`, row);
	});

	it('loads each value as the source has it, and each column as the row path does, _ipai_raw left NULL', async () => {
		const { copy, rows } = await syncBoth('typed', 2);
		expect(copy.tables[0]).toMatchObject({ read: 'copy', rowsRead: 4, rowsWritten: 4, pages: 3 });
		expect(rows.tables[0]).toMatchObject({ read: 'rows', rowsRead: 4, rowsWritten: 4 });
		const columns = ['id', 'small', 'big', 'exact', 'huge', 'real4', 'dbl', 'flag', 'day', 'clock', 'ts', 'tstz', 'js', 'jsb', 'ints', 'texts', 'nums', 'feeling', 'uid', 'blob', 'span', 'cash', 'both_', 'label', 'note', 'Mixed Case'];
		expect(await pathDifferences('typed', ['id'], columns)).toEqual([]);
		const json = (x: string) => `to_jsonb(${x})::text`;
		const diff = await compareWithSource({
			sourceUrl: pg.server.url('src'),
			lakehouseUrl: lake.url,
			source: 'public.typed',
			bronze: 'ipai_bronze_core.copy_typed',
			connectorId: await connectorId('copy_typed'),
			key: 'id',
			columns: columns.map((name) => {
				if (name === 'jsb' || name === 'nums' || name === 'both_') return { name, source: json, bronze: (x: string) => `${x}::text` };
				// json → jsonb: the value as jsonb (a NUL escape becomes U+FFFD in bronze, as in every load).
				if (name === 'js') return { name, source: (x: string) => `replace(${x}::text, '\\u0000', '\\ufffd')::jsonb::text` };
				if (name === 'cash') return { name, source: (x: string) => `${x}::numeric::text` };
				return { name };
			}),
		});
		expect(diff).toEqual({ missing: [], extra: [], different: [], sourceRows: 4 });
		const { rows: raws } = await lake.pool.query(`select count(_ipai_raw)::int as n from ipai_bronze_core.copy_typed union all select count(_ipai_raw)::int from ipai_bronze_core.rows_typed`);
		expect(raws.map((r) => r.n)).toEqual([0, 0]);
	});

	it('with raw: true, _ipai_raw holds every row as the row path makes it, on both paths', async () => {
		await source.query(`create table typed_raw (like typed including all); insert into typed_raw select * from typed`);
		const { copy } = await syncBoth('typed_raw', 2, { raw: true });
		expect(copy.tables[0]).toMatchObject({ read: 'copy', rowsRead: 4 });
		const columns = ['id', 'small', 'big', 'exact', 'huge', 'real4', 'dbl', 'flag', 'day', 'clock', 'ts', 'tstz', 'js', 'jsb', 'ints', 'texts', 'nums', 'feeling', 'uid', 'blob', 'span', 'cash', 'both_', 'label', 'note', 'Mixed Case'];
		expect(await pathDifferences('typed_raw', ['id'], columns)).toEqual([]);
		const { rows } = await lake.pool.query(`select count(*)::int as n, count(_ipai_raw)::int as raws from ipai_bronze_core.copy_typed_raw`);
		expect(rows[0]).toEqual({ n: 4, raws: 4 });
		// The record's text fields are the source's own text (the source as oracle).
		const sourceNotes = await textRows(pg.server.url('src'), `select id::text as id, note, "Mixed Case" as mixed from typed order by id`);
		const { rows: kept } = await lake.pool.query(`select id::text as id, _ipai_raw ->> 'note' as note, _ipai_raw ->> 'Mixed Case' as mixed from ipai_bronze_core.copy_typed_raw order by id`);
		expect(kept).toEqual(sourceNotes);
	});
});

/** A column type of a random table: its SQL type and a value (a parameter; null for NULL). */
interface Family {
	sql: string;
	value: fc.Arbitrary<unknown>;
	/** How the source and bronze read it for the comparison with the source (default: as text). */
	source?: (q: string) => string;
	bronze?: (q: string) => string;
}

const noNul = (s: string) => s.replace(/\u0000/g, '');
const text = fc.string({ unit: 'binary', maxLength: 12 }).map(noNul);
const messy = fc.oneof(text, fc.constantFrom('', '\\', '\\N', '\t', '\n', '\r\n', 'a\\tb', '"', "'", '{', 'NULL', ' ', 'é', '🎉'));
const iso = fc.date({ min: new Date('0100-01-01T00:00:00Z'), max: new Date('9999-12-31T23:59:59Z'), noInvalidDate: true }).map((d) => d.toISOString());
const jsonText = fc.tuple(fc.jsonValue({ maxDepth: 3 }), fc.constantFrom(undefined, 1, '\t', '\n  ')).map(([v, indent]) => JSON.stringify(v, null, indent));
const numericText = fc.oneof(
	fc.tuple(fc.bigInt({ min: -(10n ** 40n), max: 10n ** 40n }), fc.nat({ max: 30 })).map(([digits, scale]) => {
		const s = (digits < 0n ? -digits : digits).toString().padStart(scale + 1, '0');
		return `${digits < 0n ? '-' : ''}${scale > 0 ? `${s.slice(0, -scale)}.${s.slice(-scale)}` : s}`;
	}),
	fc.constantFrom('NaN', '0', '-0.000', '1e-30'),
);
const FAMILIES: Family[] = [
	{ sql: 'integer', value: fc.integer().map(String) },
	{ sql: 'bigint', value: fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).map(String) },
	{ sql: 'numeric', value: numericText },
	{ sql: 'numeric(12,3)', value: fc.integer({ min: -999_999_999, max: 999_999_999 }).map((n) => (n / 1000).toString()) },
	// A real lands in a double column from its shortest text: the same real again, printed as a double.
	{ sql: 'real', value: fc.float().map(String), bronze: (q) => `${q}::real::text` },
	{ sql: 'double precision', value: fc.double().map(String) },
	{ sql: 'boolean', value: fc.boolean().map(String) },
	{ sql: 'date', value: fc.oneof(iso.map((s) => s.slice(0, 10)), fc.constantFrom('infinity', '-infinity')) },
	{ sql: 'timestamp', value: fc.oneof(iso.map((s) => s.replace('T', ' ').replace('Z', '')), fc.constantFrom('infinity')) },
	{ sql: 'timestamptz', value: fc.oneof(iso, fc.constantFrom('-infinity')) },
	{ sql: 'text', value: messy },
	{ sql: 'varchar(40)', value: messy },
	{ sql: 'bytea', value: fc.uint8Array({ maxLength: 8 }).map((b) => Buffer.from(b)) },
	{ sql: 'uuid', value: fc.uuid() },
	{ sql: 'interval', value: fc.constantFrom('1 day', '-1 year 2 mons', 'PT0.000001S', '00:00') },
	{ sql: 'json', value: jsonText, source: (q) => `replace(${q}::text, '\\u0000', '\\ufffd')::jsonb::text` },
	{ sql: 'jsonb', value: jsonText.filter((j) => !j.includes('\\u0000')) },
	{ sql: 'integer[]', value: fc.array(fc.option(fc.integer()), { maxLength: 4 }) },
	{ sql: 'text[]', value: fc.array(fc.option(messy), { maxLength: 4 }) },
	{ sql: 'numeric[]', value: fc.array(fc.option(numericText), { maxLength: 3 }), source: (q) => `to_jsonb(${q})::text` },
	{ sql: 'mood', value: fc.constantFrom('sad', 'ok', 'happy') },
	{ sql: 'pair', value: fc.tuple(fc.option(fc.integer()), fc.option(messy)).map(([a, b]) => `(${a ?? ''},${b === null ? '' : `"${b.replace(/["\\]/g, (c) => `\\${c}`)}"`})`), source: (q) => `to_jsonb(${q})::text` },
];

describe('random tables', () => {
	let n = 0;
	it('through the COPY path equal the source, and the row path column by column and in _ipai_raw (NULL unless raw: true)', async () => {
		const table = fc
			.record({
				key: fc.constantFrom('int', 'text', 'int+text'),
				families: fc.uniqueArray(fc.nat({ max: FAMILIES.length - 1 }), { minLength: 1, maxLength: 8 }),
				pageSize: fc.integer({ min: 1, max: 6 }),
				raw: fc.boolean(),
			})
			.chain((shape) =>
				fc.record({
					shape: fc.constant(shape),
					keys: fc.uniqueArray(fc.tuple(fc.integer({ min: -1000, max: 1000 }), fc.string({ minLength: 1, maxLength: 6 }).map(noNul).filter((s) => s.length > 0)), {
						maxLength: 18,
						selector: ([i, s]) => (shape.key === 'int' ? String(i) : shape.key === 'text' ? s : `${i}/${s}`),
					}),
					values: fc.array(fc.tuple(...shape.families.map((f) => fc.option(FAMILIES[f].value, { freq: 4 }))), { minLength: 18, maxLength: 18 }),
				}),
			);
		await fc.assert(
			fc.asyncProperty(table, async ({ shape, keys, values }) => {
				const name = `p${++n}`;
				// (Not k: the comparison with the source names its key column so.)
				const key = shape.key === 'int' ? ['n'] : shape.key === 'text' ? ['t'] : ['n', 't'];
				const families = shape.families.map((f) => FAMILIES[f]);
				const columns = families.map((f, i) => ({ name: `c${i} ${f.sql.replace(/[^a-z]/g, '')}`, family: f }));
				await source.query(
					`create table ${name} (n integer, t text, ${columns.map((c) => `${q(c.name)} ${c.family.sql}`).join(', ')}, primary key (${key.join(', ')}))`,
				);
				for (const [r, [k, t]] of keys.entries()) {
					const row = [k, t, ...values[r]];
					await source.query(`insert into ${name} values (${row.map((_, i) => `$${i + 1}`).join(', ')})`, row);
				}
				const { copy } = await syncBoth(name, shape.pageSize, shape.raw ? { raw: true } : {});
				expect(copy.tables[0]).toMatchObject({ read: 'copy', rowsRead: keys.length });
				if (keys.length > 0) {
					const { rows: raws } = await lake.pool.query(`select count(*) filter (where _ipai_raw is null)::int as empty from ipai_bronze_core.${q(`copy_${name}`)}`);
					expect(raws[0].empty).toBe(shape.raw ? 0 : keys.length);
				}
				expect(await pathDifferences(name, key, ['n', 't', ...columns.map((c) => c.name)])).toEqual([]);
				if (shape.key !== 'int+text' && keys.length > 0) {
					const diff = await compareWithSource({
						sourceUrl: pg.server.url('src'),
						lakehouseUrl: lake.url,
						source: `public.${name}`,
						bronze: `ipai_bronze_core.copy_${name}`,
						connectorId: await connectorId(`copy_${name}`),
						key: key[0],
						columns: [{ name: shape.key === 'int' ? 't' : 'n' }, ...columns.map((c) => ({ name: c.name, source: c.family.source, bronze: c.family.bronze }))],
					});
					expect(diff).toEqual({ missing: [], extra: [], different: [], sourceRows: keys.length });
				}
			}),
			{ numRuns: Number(process.env.DB_COPY_RUNS ?? 25) },
		);
	});
});

describe('tables the COPY path hands to the row path', () => {
	it('from the page with a multidimensional array on, the row path loads the rest, resuming from the COPY path cursor', async () => {
		await source.query(`create table grid (id int primary key, cells text[]); insert into grid select g, array['a' || g] from generate_series(1, 9) g; update grid set cells = '{{x,y},{z,NULL}}' where id = 6`);
		const { copy } = await syncBoth('grid', 2);
		expect(copy.tables[0]).toMatchObject({ read: 'copy+rows', rowsRead: 9, rowsWritten: 9 });
		expect(await pathDifferences('grid', ['id'], ['id', 'cells'])).toEqual([]);
	});

	it('a bronze column widened by earlier data: the row path, which writes values as that type takes them', async () => {
		await source.query(`create table widened (id int primary key, tags text[]); insert into widened values (1, '{a,b}'), (2, null)`);
		for (const prefix of ['copy', 'rows']) {
			await lake.pool.query(`create table ipai_bronze_core.${prefix}_widened (id integer not null, tags text, _ipai_connector_id uuid not null, _ipai_run_id uuid not null,
				_ipai_extracted_at timestamptz not null, _ipai_deleted_at timestamptz, _ipai_raw jsonb not null, primary key (_ipai_connector_id, id))`);
		}
		const { copy } = await syncBoth('widened', 10);
		expect(copy.tables[0]).toMatchObject({ read: 'rows', rowsRead: 2 });
		expect(await pathDifferences('widened', ['id'], ['id', 'tags'])).toEqual([]);
	});
});

describe('a second full sync through the COPY path', () => {
	it('rewrites only changed rows, marks rows gone from the source deleted and brings back rows that return', async () => {
		await source.query(`create table churn (id int primary key, v text); insert into churn select g, 'v' || g from generate_series(1, 50) g`);
		const config = { engine: 'postgres', pageSize: 7, tables: [{ table: 'churn', mode: 'full' }] };
		const first = await syncOnce(lake.pool, settings(), 'churn', config);
		expect(first.result!.tables[0]).toMatchObject({ read: 'copy', rowsRead: 50, rowsWritten: 50, deleted: 0, pages: 8 });
		await source.query(`update churn set v = 'changed' where id in (3, 30); delete from churn where id in (7, 49); insert into churn values (51, 'new')`);
		const second = await syncOnce(lake.pool, settings(), 'churn', config);
		expect(second.result!.tables[0]).toMatchObject({ read: 'copy', rowsRead: 49, rowsWritten: 3, deleted: 2 });
		await source.query(`insert into churn values (7, 'back')`);
		const third = await syncOnce(lake.pool, settings(), 'churn', config);
		expect(third.result!.tables[0]).toMatchObject({ read: 'copy', rowsRead: 50, rowsWritten: 1, deleted: 0 });
		const diff = await compareWithSource({
			sourceUrl: pg.server.url('src'),
			lakehouseUrl: lake.url,
			source: 'public.churn',
			bronze: 'ipai_bronze_core.public_churn',
			connectorId: await connectorId('churn'),
			key: 'id',
			columns: [{ name: 'v' }],
		});
		expect(diff).toEqual({ missing: [], extra: [], different: [], sourceRows: 50 });
		const { rows } = await lake.pool.query(`select id from ipai_bronze_core.public_churn where _ipai_deleted_at is not null`);
		expect(rows.map((r) => r.id)).toEqual([49]);
	});
});

describe('data quality on the COPY path', () => {
	it('a drop expectation moves exactly the violating rows to the reject table, on both paths alike', async () => {
		await source.query(`create table graded (id int primary key, amount numeric(8,2)); insert into graded select g, g from generate_series(1, 12) g`);
		await syncBoth('graded', 5);
		for (const prefix of ['copy', 'rows']) {
			await lake.pool.query(`insert into public.ipai_dq_expectation (target_table, name, kind, args, action) values ($1, 'amount_positive', 'range', $2, 'drop')`, [
				`ipai_bronze_core.${prefix}_graded`,
				{ column: 'amount', min: 0, min_inclusive: false },
			]);
		}
		await source.query(`update graded set amount = -amount where id % 4 = 0; insert into graded values (13, -1), (14, 2)`);
		const { copy } = await syncBoth('graded', 5);
		expect(copy.tables[0]).toMatchObject({ read: 'copy', rowsRead: 14 });
		for (const prefix of ['copy', 'rows']) {
			const { rows: rejects } = await lake.pool.query(
				`select (r.raw_line::jsonb ->> 'id')::int as id from ipai_bronze_core.ipai_load_reject r join ipai_connector_config c on c.id = r.connector_id
				  where c.name = $1 and r.expectation_name = 'amount_positive' order by 1`,
				[`${prefix}_graded`],
			);
			expect(rejects.map((r) => r.id)).toEqual([4, 8, 12, 13]);
		}
		// The rows dropped this time keep their earlier version in bronze on both paths.
		expect(await pathDifferences('graded', ['id'], ['id', 'amount'])).toEqual([]);
	});
});

describe('page sizes without config.pageSize', () => {
	it('COPY pages take 50,000 rows (no row is held in n8n), row reads 10,000', async () => {
		await source.query(`create table sized (id int primary key, v text); insert into sized select g, 'v' || g from generate_series(1, 60001) g`);
		const copy = await syncOnce(lake.pool, settings(), 'sized_copy', { engine: 'postgres', tables: [{ table: 'sized', mode: 'full', target: 'sized_copy' }] });
		expect(copy.result!.tables[0]).toMatchObject({ read: 'copy', rowsRead: 60001, pages: 2 });
		const rows = await syncOnce(lake.pool, settings(), 'sized_rows', { engine: 'postgres', tables: [{ table: 'sized', mode: 'full', target: 'sized_rows' }] }, { fullCopy: false });
		expect(rows.result!.tables[0]).toMatchObject({ read: 'rows', rowsRead: 60001, pages: 7 });
	});
});
