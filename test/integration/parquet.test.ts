/**
 * Parquet through the COPY path, checked against oracles this project did not write:
 * - flights-3m.parquet (vega-datasets, written by Polars): every value of every row, in file
 *   order, equal to hyparquet's own full read of the file;
 * - files written by parquet-wasm (the Rust parquet crate) from apache-arrow tables: v1 and v2
 *   data pages, every codec, dictionary on and off, tiny pages and row groups;
 * - a fast-check property over random tables written by hyparquet-writer (decimals up to 38
 *   digits, 64-bit integers, dates and timestamps across the calendar, nanoseconds, strings with
 *   quotes, tabs, newlines, backslashes and NULs, binary, NULLs anywhere), where PostgreSQL's own
 *   arithmetic on the raw numbers (unscaled decimal / 10^scale, epoch + microseconds…) is the
 *   oracle for the loaded values.
 */
import { createHash } from 'node:crypto';
import { isUtf8 } from 'node:buffer';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { Bool, DateDay, Float64, Int32, Int64, Table, Utf8, tableToIPC, vectorFromArray } from 'apache-arrow';
import { counted, localFileSource } from '../../lib/sources/files/bytes';
import { ingestFile, type IngestOptions } from '../../lib/sources/files/ingest';
import { runningConnector } from '../helpers/connector';
import { useScratchDatabase } from '../../tooling/helpers/database';

jest.setTimeout(300_000);
const db = useScratchDatabase();
const DATA = join(__dirname, '..', '..', 'node_modules', 'vega-datasets', 'data');
const tmp = mkdtempSync(join(tmpdir(), 'ipai-parquet-test-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

let counter = 0;
async function load(path: string, extra: Partial<IngestOptions> = {}) {
	const { connectorId, runId } = await runningConnector(db.pool);
	const table = { schema: 'ipai_bronze_core', name: `pq${++counter}` };
	const summary = await ingestFile(db.pool, localFileSource(path), { connectorId, runId, table, ...extra });
	return { summary, qualified: `${table.schema}.${table.name}` };
}

// eslint-disable-next-line @typescript-eslint/no-require-imports
const hyparquet = () => require('hyparquet') as typeof import('hyparquet');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const compressors = () => (require('hyparquet-compressors') as { compressors: never }).compressors;

describe('flights-3m.parquet against hyparquet', () => {
	it('every value of every row, in file order, is what hyparquet reads (COPY path, by byte ranges)', async () => {
		const path = join(DATA, 'flights-3m.parquet');
		// Byte ranges, counted: beyond the first bytes (format detection) the file is never streamed,
		// spooled or read in one piece.
		const local = localFileSource(path);
		const reads: number[] = [];
		const streamed = { bytes: 0 };
		const source = {
			name: 'flights-3m.parquet',
			size: local.size,
			open: async () => counted(await local.open(), streamed),
			readRange: async (start: number, end: number) => {
				reads.push(end - start);
				return local.readRange!(start, end);
			},
		};
		const { connectorId, runId } = await runningConnector(db.pool);
		const qualified = 'ipai_bronze_core.flights_ranges';
		const summary = await ingestFile(db.pool, source, { connectorId, runId, table: { schema: 'ipai_bronze_core', name: 'flights_ranges' } });
		expect(summary).toMatchObject({ format: 'parquet', rows: 3_000_000, rowsRead: 3_000_000, bytes: statSync(path).size });
		expect(summary.detected).toMatchObject({ path: 'copy' });
		expect(Math.max(...reads)).toBeLessThanOrEqual(1 << 20);
		expect(streamed.bytes).toBeLessThanOrEqual(4 << 20);
		// Each column chunk once, plus the footer (hyparquet reads the file's last 512 KiB for it).
		expect(reads.reduce((a, b) => a + b, 0)).toBeLessThan(statSync(path).size + (600 << 10));
		// One digest per column over the values in file order; NULL as its own token.
		const buffer = readFileSync(path);
		const file = { byteLength: buffer.length, slice: async (a: number, b?: number) => buffer.buffer.slice(buffer.byteOffset + a, buffer.byteOffset + (b ?? buffer.length)) };
		const names = ['date', 'delay', 'distance', 'origin', 'destination'];
		const hashes = new Map(names.map((n) => [n, createHash('md5')]));
		const text = (name: string, v: unknown): string => {
			if (v === null || v === undefined) return 'NULL';
			if (name === 'date') return String((v as Date).getTime() / 1000);
			return String(v);
		};
		await hyparquet().parquetRead({
			file,
			compressors: compressors(),
			onChunk: ({ columnName, columnData }) => {
				const hash = hashes.get(columnName)!;
				let part = '';
				for (let i = 0; i < columnData.length; i++) part += `${text(columnName, columnData[i])}\n`;
				hash.update(part);
			},
		});
		const client = await db.pool.connect();
		try {
			for (const name of names) {
				const expr = name === 'date' ? `extract(epoch from date)::bigint::text` : `"${name}"::text`;
				// ctid order is insertion order: the table was filled by one COPY.
				const { rows } = await client.query(`select md5(string_agg(coalesce(${expr}, 'NULL') || E'\\n', '' order by ctid)) as h from ${qualified}`);
				expect({ name, digest: rows[0].h }).toEqual({ name, digest: hashes.get(name)!.digest('hex') });
			}
		} finally {
			client.release();
		}
	});
});

describe('files written by parquet-wasm (Rust parquet) from apache-arrow tables', () => {
	// eslint-disable-next-line @typescript-eslint/no-require-imports
	const wasm = require('parquet-wasm/node') as typeof import('parquet-wasm/node/parquet_wasm');
	const rows = 2_500;
	const strings = ['', 'plain', 'a,b', 'say "hi"', 'tab\there', 'line\nbreak', 'cr\r\nlf', 'back\\slash', '\\N', 'ünïcødé 日本 😀', ' padded '];
	const source = {
		id: Array.from({ length: rows }, (_, i) => i),
		i64: Array.from({ length: rows }, (_, i) => (i % 7 === 0 ? null : BigInt(i) * 1_000_000_007n * (i % 2 ? -1n : 1n) + (i % 3 === 0 ? 2n ** 62n : 0n))),
		s: Array.from({ length: rows }, (_, i) => (i % 11 === 5 ? null : `${strings[i % strings.length]}${i % 4 === 0 ? '' : i}`)),
		f: Array.from({ length: rows }, (_, i) => (i % 13 === 0 ? null : i % 17 === 0 ? Number.NaN : (i - 1000) / 7)),
		b: Array.from({ length: rows }, (_, i) => (i % 5 === 0 ? null : i % 2 === 0)),
		d: Array.from({ length: rows }, (_, i) => (i % 9 === 0 ? null : new Date(Date.UTC(1900 + (i % 300), i % 12, 1 + (i % 28))))),
	};
	const arrow = new Table({
		id: vectorFromArray(source.id, new Int32()),
		i64: vectorFromArray(source.i64, new Int64()),
		s: vectorFromArray(source.s, new Utf8()),
		f: vectorFromArray(source.f, new Float64()),
		b: vectorFromArray(source.b, new Bool()),
		d: vectorFromArray(source.d, new DateDay()),
	});
	const cases: Array<[string, number, number, boolean]> = [
		['v1 pages, snappy, dictionary', wasm.WriterVersion.V1, wasm.Compression.SNAPPY, true],
		['v1 pages, zstd, no dictionary', wasm.WriterVersion.V1, wasm.Compression.ZSTD, false],
		['v2 pages, gzip, dictionary', wasm.WriterVersion.V2, wasm.Compression.GZIP, true],
		['v2 pages, uncompressed, no dictionary', wasm.WriterVersion.V2, wasm.Compression.UNCOMPRESSED, false],
		['v2 pages, lz4 raw, dictionary', wasm.WriterVersion.V2, wasm.Compression.LZ4_RAW, true],
		['v1 pages, brotli, dictionary', wasm.WriterVersion.V1, wasm.Compression.BROTLI, true],
	];
	it.each(cases)('%s: every value as apache-arrow holds it', async (label, version, compression, dictionary) => {
		const props = new wasm.WriterPropertiesBuilder()
			.setWriterVersion(version)
			.setCompression(compression)
			.setDictionaryEnabled(dictionary)
			.setDataPageSizeLimit(512)
			.setMaxRowGroupSize(700)
			.build();
		const bytes = wasm.writeParquet(wasm.Table.fromIPCStream(tableToIPC(arrow, 'stream')), props);
		const path = join(tmp, `${label.replace(/\W+/g, '_')}.parquet`);
		writeFileSync(path, bytes);
		const { summary, qualified } = await load(path);
		expect(summary).toMatchObject({ format: 'parquet', rows, rowsRead: rows });
		expect(summary.detected).toMatchObject({ path: 'copy', rowGroups: 4 });
		const { rows: loaded } = await db.pool.query(`select id, i64::text, s, f, b, d::text from ${qualified} order by id`);
		expect(loaded.length).toBe(rows);
		for (let i = 0; i < rows; i++) {
			const r = loaded[i];
			const d = source.d[i];
			expect(r).toEqual({
				id: String(i),
				i64: source.i64[i] === null ? null : String(source.i64[i]),
				s: source.s[i],
				f: source.f[i],
				b: source.b[i],
				d: d === null ? null : d.toISOString().slice(0, 10),
			});
		}
	});

	it('merge by key: rows carry _ipai_raw in order, an unchanged reload writes nothing, a changed file updates', async () => {
		const write = (t: Table) => {
			const path = join(tmp, `keyed-${++counter}.parquet`);
			writeFileSync(path, wasm.writeParquet(wasm.Table.fromIPCStream(tableToIPC(t, 'stream')), new wasm.WriterPropertiesBuilder().setMaxRowGroupSize(300).build()));
			return path;
		};
		const path = write(arrow);
		const { connectorId, runId } = await runningConnector(db.pool);
		const table = { schema: 'ipai_bronze_core', name: 'pq_keyed' };
		const first = await ingestFile(db.pool, localFileSource(path), { connectorId, runId, table, key: ['id'] });
		expect(first).toMatchObject({ rows, rowsRead: rows, detected: { path: 'copy' } });
		const again = await ingestFile(db.pool, localFileSource(path), { connectorId, runId, table, key: ['id'] });
		expect(again).toMatchObject({ rows: 0, rowsRead: rows });
		const changed = new Table({ ...Object.fromEntries((['id', 'i64', 'f', 'b', 'd'] as const).map((n) => [n, arrow.getChild(n)!])), s: vectorFromArray(source.s.map((v, i) => (i === 42 ? 'changed' : v)), new Utf8()) });
		const third = await ingestFile(db.pool, localFileSource(write(changed)), { connectorId, runId, table, key: ['id'] });
		expect(third).toMatchObject({ rows: 1, rowsRead: rows });
		const { rows: check } = await db.pool.query(`select count(*)::int as n, count(*) filter (where s = 'changed')::int as c, count(*) filter (where _ipai_raw = '{}')::int as raw from ipai_bronze_core.pq_keyed`);
		expect(check[0]).toEqual({ n: rows, c: 1, raw: rows });
	});
});

describe('random tables written by hyparquet-writer (fast-check)', () => {
	/**
	 * Invariants, for any table, page size and row group size: every row lands once; every value
	 * equals what PostgreSQL computes from the raw number the writer was given; NULLs stay NULL;
	 * strings keep every character (NUL, which PostgreSQL cannot store, becomes U+FFFD); a
	 * timestamp with nanoseconds keeps them in _ipai_raw and only then.
	 */
	it('values are exact: decimals, 64-bit integers, dates, timestamps (µs, ms, ns), floats, strings, binary, NULLs', async () => {
		// eslint-disable-next-line @typescript-eslint/no-require-imports
		const writer = require('hyparquet-writer') as { parquetWriteBuffer(options: Record<string, unknown>): ArrayBuffer };
		const nullable = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: null, freq: 5 });
		const unit = fc.constantFrom('a', 'Z', '0', ' ', ',', ';', '|', '"', "'", '\\', '\t', '\n', '\r', '\u0000', 'é', '日', '😀', '\u2028', 'N');
		const row = fc.record({
			i64: nullable(fc.bigInt(-(2n ** 63n), 2n ** 63n - 1n)),
			i32: nullable(fc.integer()),
			u32: nullable(fc.integer({ min: 0, max: 2 ** 32 - 1 })),
			dec: nullable(fc.bigInt(-(10n ** 38n) + 1n, 10n ** 38n - 1n)),
			dec9: nullable(fc.integer({ min: -999_999_999, max: 999_999_999 })),
			day: nullable(fc.integer({ min: -2_400_000, max: 2_900_000 })),
			ts: nullable(fc.bigInt(-180_000_000_000_000_000n, 253_402_300_799_999_999n)),
			tsms: nullable(fc.bigInt(-180_000_000_000_000n, 253_402_300_799_999n)),
			tsns: nullable(fc.oneof(fc.bigInt(-(2n ** 63n) + 1n, 2n ** 63n - 1n), fc.bigInt(-1000n, 1000n).map((n) => n * 1000n))),
			dbl: nullable(fc.double()),
			flt: nullable(fc.float()),
			bool: nullable(fc.boolean()),
			s: nullable(fc.oneof(fc.string({ unit, maxLength: 40 }), fc.string({ unit: 'grapheme', maxLength: 20 }))),
			bin: nullable(fc.uint8Array({ maxLength: 12 })),
		});
		const settings = fc.record({ pageSize: fc.integer({ min: 16, max: 4096 }), rowGroupSize: fc.integer({ min: 1, max: 40 }), codec: fc.constantFrom('UNCOMPRESSED', 'SNAPPY') });
		let run = 0;
		await fc.assert(
			fc.asyncProperty(fc.array(row, { minLength: 1, maxLength: 80 }), settings, async (rows, { pageSize, rowGroupSize, codec }) => {
				const col = <K extends keyof (typeof rows)[number]>(k: K) => rows.map((r) => r[k]);
				const buffer = writer.parquetWriteBuffer({
					pageSize,
					rowGroupSize,
					codec,
					columnData: [
						{ name: 'id', data: rows.map((_, i) => i) },
						{ name: 'i64', data: col('i64') },
						{ name: 'i32', data: col('i32') },
						{ name: 'u32', data: col('u32') },
						{ name: 'dec', data: col('dec') },
						{ name: 'dec9', data: col('dec9').map((v) => (v === null ? null : BigInt(v))) },
						{ name: 'day', data: col('day') },
						{ name: 'ts', data: col('ts') },
						{ name: 'tsms', data: col('tsms') },
						{ name: 'tsns', data: col('tsns') },
						{ name: 'dbl', data: col('dbl') },
						{ name: 'flt', data: col('flt') },
						{ name: 'bool', data: col('bool') },
						{ name: 's', data: col('s') },
						{ name: 'bin', data: col('bin') },
					],
					schema: [
						{ name: 'root', num_children: 15 },
						{ name: 'id', type: 'INT32', repetition_type: 'REQUIRED' },
						{ name: 'i64', type: 'INT64', repetition_type: 'OPTIONAL' },
						{ name: 'i32', type: 'INT32', repetition_type: 'OPTIONAL' },
						{ name: 'u32', type: 'INT32', converted_type: 'UINT_32', repetition_type: 'OPTIONAL' },
						{ name: 'dec', type: 'FIXED_LEN_BYTE_ARRAY', type_length: 16, converted_type: 'DECIMAL', scale: 7, precision: 38, repetition_type: 'OPTIONAL' },
						{ name: 'dec9', type: 'INT32', converted_type: 'DECIMAL', scale: 3, precision: 9, repetition_type: 'OPTIONAL' },
						{ name: 'day', type: 'INT32', converted_type: 'DATE', repetition_type: 'OPTIONAL' },
						{ name: 'ts', type: 'INT64', logical_type: { type: 'TIMESTAMP', isAdjustedToUTC: false, unit: 'MICROS' }, repetition_type: 'OPTIONAL' },
						{ name: 'tsms', type: 'INT64', logical_type: { type: 'TIMESTAMP', isAdjustedToUTC: true, unit: 'MILLIS' }, repetition_type: 'OPTIONAL' },
						{ name: 'tsns', type: 'INT64', logical_type: { type: 'TIMESTAMP', isAdjustedToUTC: true, unit: 'NANOS' }, repetition_type: 'OPTIONAL' },
						{ name: 'dbl', type: 'DOUBLE', repetition_type: 'OPTIONAL' },
						{ name: 'flt', type: 'FLOAT', repetition_type: 'OPTIONAL' },
						{ name: 'bool', type: 'BOOLEAN', repetition_type: 'OPTIONAL' },
						{ name: 's', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'OPTIONAL' },
						{ name: 'bin', type: 'BYTE_ARRAY', repetition_type: 'OPTIONAL' },
					],
				});
				const path = join(tmp, `random-${++run}.parquet`);
				writeFileSync(path, Buffer.from(buffer));
				const { summary, qualified } = await load(path);
				expect(summary).toMatchObject({ rows: rows.length, rowsRead: rows.length });
				expect(summary.detected).toMatchObject({ path: 'copy' });

				// The raw numbers the writer was given, into a reference table; PostgreSQL derives the values.
				const text = (values: unknown[]) => values.map((v) => (v === null ? null : String(v)));
				const ref = `ref_${run}`;
				await db.pool.query(
					`create temporary table ${ref} as
					 select * from unnest($1::int[], $2::numeric[], $3::int[], $4::bigint[], $5::numeric[], $6::int[], $7::int[], $8::numeric[], $9::numeric[], $10::numeric[], $11::float8[], $12::float4[], $13::bool[], $14::text[], $15::bytea[])
					   as t(id, i64, i32, u32, dec_unscaled, dec9_unscaled, day, ts_micros, tsms_millis, tsns_nanos, dbl, flt, bool, s, bin)`,
					[
						rows.map((_, i) => i), text(col('i64')), col('i32'), col('u32'), text(col('dec')), col('dec9'), col('day'), text(col('ts')), text(col('tsms')), text(col('tsns')),
						text(col('dbl').map((v) => (v === null ? null : Object.is(v, -0) ? '-0' : v))), text(col('flt')), col('bool'),
						col('s').map((v) => (v === null ? null : v.replace(/\u0000/g, '\uFFFD'))), col('bin').map((v) => (v === null ? null : Buffer.from(v))),
					],
				);
				const mismatches = await db.pool.query(
					`select r::text as r, (to_jsonb(l) - array['_ipai_connector_id', '_ipai_run_id', '_ipai_extracted_at'])::text as l from ${ref} r left join ${qualified} l on l.id = r.id
					  where l.id is null
					     or l.i64 is distinct from r.i64 or l.i32 is distinct from r.i32 or l.u32 is distinct from r.u32
					     or l.dec is distinct from r.dec_unscaled * 0.0000001 or l.dec9 is distinct from r.dec9_unscaled * 0.001
					     or l.day is distinct from date '1970-01-01' + r.day
					     or l.ts is distinct from timestamp '1970-01-01' + (r.ts_micros::text || ' microseconds')::interval
					     or l.tsms is distinct from timestamptz '1970-01-01 00:00:00+00' + (r.tsms_millis::text || ' milliseconds')::interval
					     or l.tsns is distinct from timestamptz '1970-01-01 00:00:00+00' + (floor(r.tsns_nanos / 1000)::text || ' microseconds')::interval
					     or (l._ipai_raw ? 'tsns') is distinct from coalesce(r.tsns_nanos % 1000 <> 0, false)
					     or l.dbl is distinct from r.dbl or l.flt is distinct from r.flt::float8 or l.bool is distinct from r.bool
					     or l.s is distinct from r.s`,
				);
				expect(mismatches.rows).toEqual([]);
				// Nanoseconds: the raw text keeps the nine digits PostgreSQL cannot.
				const nanos = await db.pool.query(`select r.tsns_nanos::text as n, l._ipai_raw ->> 'tsns' as raw from ${ref} r join ${qualified} l using (id) where l._ipai_raw ? 'tsns'`);
				for (const { n, raw } of nanos.rows) expect(raw).toMatch(new RegExp(`\\.\\d{6}${String(BigInt(n) % 1000n < 0n ? (BigInt(n) % 1000n) + 1000n : BigInt(n) % 1000n).padStart(3, '0')}Z$`));
				// Binary: UTF-8 bytes as text, anything else as bytea hex.
				const bins = await db.pool.query(`select r.bin, l.bin as loaded from ${ref} r join ${qualified} l using (id)`);
				for (const { bin, loaded } of bins.rows as Array<{ bin: Buffer | null; loaded: string | null }>) {
					expect(loaded).toBe(bin === null ? null : isUtf8(bin) ? bin.toString('utf8').replace(/\u0000/g, '\uFFFD') : `\\x${bin.toString('hex')}`);
				}
				await db.pool.query(`drop table ${ref}`);
			}),
			{ numRuns: 40 },
		);
	});
});

describe('what the COPY path leaves to the record reader', () => {
	it('nested columns (a list, a struct) load through the record reader as jsonb', async () => {
		// eslint-disable-next-line @typescript-eslint/no-require-imports
		const wasm = require('parquet-wasm/node') as typeof import('parquet-wasm/node/parquet_wasm');
		// eslint-disable-next-line @typescript-eslint/no-require-imports
		const arrowLib = require('apache-arrow') as typeof import('apache-arrow');
		const ids = [1, 2, 3];
		const tags = [['a', 'b'], null, []];
		const table = new Table({
			id: vectorFromArray(ids, new Int32()),
			tags: vectorFromArray(tags, new arrowLib.List(new arrowLib.Field('item', new Utf8(), true))),
		});
		const path = join(tmp, 'nested.parquet');
		writeFileSync(path, wasm.writeParquet(wasm.Table.fromIPCStream(tableToIPC(table, 'stream'))));
		const { summary, qualified } = await load(path);
		expect(summary).toMatchObject({ rows: 3 });
		expect(summary.detected).toMatchObject({ path: 'checked', checkedBecause: 'column tags is nested' });
		const { rows } = await db.pool.query(`select id, tags from ${qualified} order by id`);
		expect(rows).toEqual([
			{ id: '1', tags: ['a', 'b'] },
			{ id: '2', tags: null },
			{ id: '3', tags: [] },
		]);
	});
});
