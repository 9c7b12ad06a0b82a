/**
 * Parquet through COPY's binary format, against two references:
 * - PostgreSQL's own arithmetic on the raw numbers the writer (hyparquet-writer) was given;
 * - the same file loaded through COPY's text format (PostgreSQL parsing the text), which the
 *   binary values must equal column by column, _ipai_raw included.
 * Random tables of every flat type the binary encoders take, NULLs anywhere, plain and
 * dictionary pages, several row groups and pages.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { localFileSource } from '../../lib/sources/files/bytes';
import { ingestFile } from '../../lib/sources/files/ingest';
import { runningConnector } from '../helpers/connector';
import { useScratchDatabase } from '../../tooling/helpers/database';

jest.setTimeout(300_000);
const db = useScratchDatabase();
const tmp = mkdtempSync(join(tmpdir(), 'ipai-parquet-binary-test-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

// eslint-disable-next-line @typescript-eslint/no-require-imports
const writer = () => require('hyparquet-writer') as { parquetWriteBuffer(options: Record<string, unknown>): ArrayBuffer };

const SCHEMA = [
	{ name: 'id', type: 'INT32', repetition_type: 'REQUIRED' },
	{ name: 'i64', type: 'INT64', repetition_type: 'OPTIONAL' },
	{ name: 'i32', type: 'INT32', repetition_type: 'OPTIONAL' },
	{ name: 'u32', type: 'INT32', converted_type: 'UINT_32', repetition_type: 'OPTIONAL' },
	{ name: 'i8', type: 'INT32', converted_type: 'INT_8', repetition_type: 'OPTIONAL' },
	{ name: 'day', type: 'INT32', converted_type: 'DATE', repetition_type: 'OPTIONAL' },
	{ name: 'ts', type: 'INT64', logical_type: { type: 'TIMESTAMP', isAdjustedToUTC: false, unit: 'MICROS' }, repetition_type: 'OPTIONAL' },
	{ name: 'tsms', type: 'INT64', logical_type: { type: 'TIMESTAMP', isAdjustedToUTC: true, unit: 'MILLIS' }, repetition_type: 'OPTIONAL' },
	{ name: 'tsns', type: 'INT64', logical_type: { type: 'TIMESTAMP', isAdjustedToUTC: true, unit: 'NANOS' }, repetition_type: 'OPTIONAL' },
	{ name: 'dbl', type: 'DOUBLE', repetition_type: 'OPTIONAL' },
	{ name: 'flt', type: 'FLOAT', repetition_type: 'OPTIONAL' },
	{ name: 'half', type: 'FIXED_LEN_BYTE_ARRAY', type_length: 2, logical_type: { type: 'FLOAT16' }, repetition_type: 'OPTIONAL' },
	{ name: 'bool', type: 'BOOLEAN', repetition_type: 'OPTIONAL' },
	{ name: 's', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'OPTIONAL' },
	{ name: 'e', type: 'BYTE_ARRAY', converted_type: 'ENUM', repetition_type: 'OPTIONAL' },
	{ name: 'j', type: 'BYTE_ARRAY', converted_type: 'JSON', repetition_type: 'OPTIONAL' },
	{ name: 'bin', type: 'BYTE_ARRAY', repetition_type: 'OPTIONAL' },
	{ name: 'fixed', type: 'FIXED_LEN_BYTE_ARRAY', type_length: 3, repetition_type: 'OPTIONAL' },
	{ name: 'uid', type: 'FIXED_LEN_BYTE_ARRAY', type_length: 16, logical_type: { type: 'UUID' }, repetition_type: 'OPTIONAL' },
];
const DATA_COLUMNS = SCHEMA.map((c) => c.name);
/**
 * Microseconds since 1970 at the edges of the encoder's 32-bit halves: PostgreSQL's first
 * timestamp (4714-11-24 BC) and its neighbours, carries across the low half, and the epoch itself.
 */
const PG_FIRST = -210_866_803_200_000_000n;
const MICROS_EDGES = [PG_FIRST, PG_FIRST + 1n, PG_FIRST + 2n ** 32n, PG_FIRST + 2n ** 33n - 1n, 946_684_800_000_000n, 946_684_800_000_000n - 1n, 946_684_799_999_999n - 993_517_568n, 0n, -1n, 2n ** 62n];
/** Millisecond counts (times 1000) whose high 32 bits are at the edges of the encoder's exact-double range. */
const EXACT_EDGES = [1_876_729n, 1_876_730n, -1_876_730n, -1_876_731n].flatMap((high) => [high * 2n ** 32n, high * 2n ** 32n - 1n, high * 2n ** 32n + 4_294_967_295n]);

describe('Parquet in COPY binary format', () => {
	it('every value equals PostgreSQL arithmetic on the raw numbers and the text format load of the same file', async () => {
		const nullable = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: null, freq: 5 });
		const unit = fc.constantFrom('a', 'Z', '0', ' ', '"', '\\', '\t', '\n', '\r', '\u0000', 'é', '日', '😀', 'N');
		const row = fc.record({
			i64: nullable(fc.bigInt(-(2n ** 63n), 2n ** 63n - 1n)),
			i32: nullable(fc.integer()),
			u32: nullable(fc.integer({ min: 0, max: 2 ** 32 - 1 })),
			i8: nullable(fc.integer({ min: -128, max: 127 })),
			day: nullable(fc.integer({ min: -2_400_000, max: 2_900_000 })),
			// Across the calendar, and around the bounds where microseconds stop being exact doubles.
			ts: nullable(fc.oneof(fc.bigInt(-180_000_000_000_000_000n, 253_402_300_799_999_999n), fc.bigInt(-(2n ** 53n), 2n ** 53n), fc.constantFrom(...MICROS_EDGES))),
			tsms: nullable(fc.oneof(fc.bigInt(-180_000_000_000_000n, 253_402_300_799_999n), fc.bigInt(-(2n ** 43n), 2n ** 43n), fc.constantFrom(...EXACT_EDGES.map((e) => e / 1000n)))),
			tsns: nullable(fc.oneof(fc.bigInt(-(2n ** 63n) + 1n, 2n ** 63n - 1n), fc.bigInt(-1000n, 1000n).map((n) => n * 1000n))),
			dbl: nullable(fc.double()),
			flt: nullable(fc.float()),
			half: nullable(fc.oneof(fc.double(), fc.integer({ min: -65504, max: 65504 }))),
			bool: nullable(fc.boolean()),
			s: nullable(fc.oneof(fc.string({ unit, maxLength: 30 }), fc.string({ unit: 'grapheme', maxLength: 10 }))),
			e: nullable(fc.constantFrom('red', 'green', 'blue')),
			// PostgreSQL's jsonb cannot hold \u0000.
			j: nullable(fc.jsonValue({ maxDepth: 2 }).filter((v) => !JSON.stringify(v).includes('\\u0000'))),
			bin: nullable(fc.uint8Array({ maxLength: 8 })),
			fixed: nullable(fc.uint8Array({ minLength: 3, maxLength: 3 })),
			uid: nullable(fc.uuid()),
		});
		const settings = fc.record({
			pageSize: fc.integer({ min: 16, max: 4096 }),
			rowGroupSize: fc.integer({ min: 1, max: 40 }),
			codec: fc.constantFrom('UNCOMPRESSED', 'SNAPPY'),
			plain: fc.boolean(),
			repeat: fc.integer({ min: 1, max: 4 }),
		});
		let run = 0;
		await fc.assert(
			fc.asyncProperty(fc.array(row, { minLength: 1, maxLength: 60 }), settings, async (distinct, { pageSize, rowGroupSize, codec, plain, repeat }) => {
				// Repeated rows make the writer choose dictionary pages (unless every column is PLAIN).
				const rows = Array.from({ length: repeat }, () => distinct).flat();
				const col = <K extends keyof (typeof rows)[number]>(k: K) => rows.map((r) => r[k]);
				const encoding = plain ? { encoding: 'PLAIN' } : {};
				const buffer = writer().parquetWriteBuffer({
					pageSize,
					rowGroupSize,
					codec,
					columnData: [{ name: 'id', data: rows.map((_, i) => i) }, ...DATA_COLUMNS.slice(1).map((name) => ({ name, data: col(name as keyof (typeof rows)[number]), ...encoding }))],
					schema: [{ name: 'root', num_children: SCHEMA.length }, ...SCHEMA],
				});
				const path = join(tmp, `binary-${++run}.parquet`);
				writeFileSync(path, Buffer.from(buffer));
				const { connectorId, runId } = await runningConnector(db.pool);

				const binary = { schema: 'ipai_bronze_core', name: `pqb${run}` };
				const loaded = await ingestFile(db.pool, localFileSource(path), { connectorId, runId, table: binary });
				expect(loaded).toMatchObject({ rows: rows.length, rowsRead: rows.length, detected: { path: 'copy', copyFormat: 'binary' } });
				// The text format: the same file into a table whose `s` is varchar, not exactly text.
				const text = { schema: 'ipai_bronze_core', name: `pqt${run}` };
				await db.pool.query(`create table ipai_bronze_core.pqt${run} (like ipai_bronze_core.pqb${run} including defaults)`);
				await db.pool.query(`alter table ipai_bronze_core.pqt${run} alter column s type varchar`);
				const reference = await ingestFile(db.pool, localFileSource(path), { connectorId, runId, table: text });
				expect(reference).toMatchObject({ rows: rows.length, detected: { path: 'copy', copyFormat: 'text' } });
				const columns = [...DATA_COLUMNS.map((c) => `"${c}"`), '_ipai_raw'].join(', ');
				const differences = await db.pool.query(
					`(select ${columns}, 'binary only' as side from ipai_bronze_core.pqb${run} except all select ${columns}, 'binary only' from ipai_bronze_core.pqt${run})
					 union all
					 (select ${columns}, 'text only' from ipai_bronze_core.pqt${run} except all select ${columns}, 'text only' from ipai_bronze_core.pqb${run})`,
				);
				expect(differences.rows).toEqual([]);

				// The raw numbers the writer was given; PostgreSQL derives the values.
				const asText = (values: unknown[]) => values.map((v) => (v === null ? null : String(v)));
				await db.pool.query(
					`create temporary table ref_${run} as
					 select * from unnest($1::int[], $2::numeric[], $3::int[], $4::bigint[], $5::int[], $6::int[], $7::numeric[], $8::numeric[], $9::numeric[], $10::float8[], $11::float4[], $12::bool[], $13::text[], $14::text[], $15::uuid[])
					   as t(id, i64, i32, u32, i8, day, ts_micros, tsms_millis, tsns_nanos, dbl, flt, bool, s, e, uid)`,
					[
						rows.map((_, i) => i), asText(col('i64')), col('i32'), col('u32'), col('i8'), col('day'), asText(col('ts')), asText(col('tsms')), asText(col('tsns')),
						asText(col('dbl').map((v) => (v === null ? null : Object.is(v, -0) ? '-0' : v))), asText(col('flt')), col('bool'),
						col('s').map((v) => (v === null ? null : v.replace(/\u0000/g, '\uFFFD'))), col('e'), col('uid'),
					],
				);
				const mismatches = await db.pool.query(
					`select r::text as r, (to_jsonb(l) - array['_ipai_connector_id', '_ipai_run_id', '_ipai_extracted_at'])::text as l
					   from ref_${run} r left join ipai_bronze_core.pqb${run} l on l.id = r.id
					  where l.id is null
					     or l.i64 is distinct from r.i64 or l.i32 is distinct from r.i32 or l.u32 is distinct from r.u32 or l.i8 is distinct from r.i8
					     or l.day is distinct from date '1970-01-01' + r.day
					     or l.ts is distinct from timestamp '1970-01-01' + (r.ts_micros::text || ' microseconds')::interval
					     or l.tsms is distinct from timestamptz '1970-01-01 00:00:00+00' + (r.tsms_millis::text || ' milliseconds')::interval
					     or l.tsns is distinct from timestamptz '1970-01-01 00:00:00+00' + (floor(r.tsns_nanos / 1000)::text || ' microseconds')::interval
					     or (l._ipai_raw ? 'tsns') is distinct from coalesce(r.tsns_nanos % 1000 <> 0, false)
					     or l.dbl is distinct from r.dbl or l.flt is distinct from r.flt::float8 or l.bool is distinct from r.bool
					     or l.s is distinct from r.s or l.e is distinct from r.e or l.uid::uuid is distinct from r.uid`,
				);
				expect(mismatches.rows).toEqual([]);
				// JSON: jsonb equal to the value the writer was given.
				const json = await db.pool.query(`select id, j from ipai_bronze_core.pqb${run} order by id`);
				expect(json.rows.map((r) => r.j)).toEqual(col('j').map((v) => (v === null ? null : JSON.parse(JSON.stringify(v)))));
				await db.pool.query(`drop table ref_${run}, ipai_bronze_core.pqb${run}, ipai_bronze_core.pqt${run}`);
			}),
			{ numRuns: 30 },
		);
	});

	it("a date outside PostgreSQL's range is never sent as binary (its day count could read as -infinity): the checked reader refuses the file", async () => {
		// -2147472691 days from 1970 is INT32_MIN days from 2000: date '-infinity' in binary.
		const buffer = writer().parquetWriteBuffer({
			statistics: false,
			columnData: [{ name: 'day', data: [0, -2_147_472_691] }],
			schema: [{ name: 'root', num_children: 1 }, { name: 'day', type: 'INT32', converted_type: 'DATE', repetition_type: 'OPTIONAL' }],
		});
		const path = join(tmp, 'far-date.parquet');
		writeFileSync(path, Buffer.from(buffer));
		const { connectorId, runId } = await runningConnector(db.pool);
		await expect(ingestFile(db.pool, localFileSource(path), { connectorId, runId, table: { schema: 'ipai_bronze_core', name: 'pq_far_date' } })).rejects.toThrow(
			/far-date\.parquet: row group at row 0 cannot be decoded \(Invalid time value\)/,
		);
		const { rows } = await db.pool.query(`select to_regclass('ipai_bronze_core.pq_far_date') as t`);
		expect(rows[0].t).toBeNull();
	});
});
