/**
 * File ingest against real PostgreSQL with real files nobody here wrote (npm vega-datasets):
 * CSV, TSV, JSON, NDJSON (derived from a real JSON file), Arrow, and the 3-million-row Parquet
 * file; every count is exact and sampled rows are compared with the file read independently
 * (csv-parse, JSON.parse, apache-arrow, hyparquet directly). Object storage is a real S3 API
 * implementation (s3rver) and URLs a real HTTP server with byte ranges.
 */
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { once } from 'node:events';
import { createReadStream, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { parse as parseCsv } from 'csv-parse/sync';
import { tableFromIPC } from 'apache-arrow';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { inferTextType } from '../../lib/lakehouse/columnTypes';
import { getStreamState } from '../../lib/lakehouse/streamState';
import { localFileSource } from '../../lib/sources/files/bytes';
import { ingestFile, type IngestOptions } from '../../lib/sources/files/ingest';
import { snakeCase } from '../../lib/sources/files/names';
import { RecyclingFileStream } from '../../lib/sources/files/recycle';
import { httpSource, s3Store, syncObjectStore } from '../../lib/sources/files/remote';
import { BadRowError } from '../../lib/sources/files/types';
import { runningConnector } from '../helpers/connector';
import { useScratchDatabase } from '../../tooling/helpers/database';

jest.setTimeout(120_000);
const db = useScratchDatabase();
const DATA = join(__dirname, '..', '..', 'node_modules', 'vega-datasets', 'data');
const tmp = mkdtempSync(join(tmpdir(), 'ipai-files-test-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

let tableCounter = 0;
async function load(path: string, extra: Partial<IngestOptions> = {}, name = path.split('/').pop()!) {
	const { connectorId, runId } = await runningConnector(db.pool);
	const table = extra.table ?? { schema: 'ipai_bronze_core', name: `f${++tableCounter}_${snakeCase(name).slice(0, 40)}` };
	const summary = await ingestFile(db.pool, localFileSource(path, name), { connectorId, runId, table, ...extra });
	return { summary, table, connectorId, runId, qualified: `${table.schema}.${table.name}` };
}

async function columnTypes(qualified: string): Promise<Record<string, string>> {
	const { rows } = await db.pool.query(
		`select attname, format_type(atttypid, atttypmod) as t from pg_attribute where attrelid = $1::regclass and attnum > 0 and not attisdropped and attname not like '\\_ipai\\_%'`,
		[qualified],
	);
	return Object.fromEntries(rows.map((r) => [r.attname, r.t]));
}

describe('CSV and TSV', () => {
	it('birdstrikes.csv: 10,000 rows, DuckDB-style types, normalised names with originals in comments, values as in the file', async () => {
		const path = join(DATA, 'birdstrikes.csv');
		const { summary, qualified } = await load(path);
		const source = parseCsv(readFileSync(path), { columns: true }) as Array<Record<string, string>>;
		expect(source.length).toBe(10_000);
		expect(summary).toMatchObject({ format: 'csv', rows: 10_000, rowsRead: 10_000, rejects: 0, bytes: statSync(path).size });
		expect(summary.detected).toMatchObject({ delimiter: ',', quote: '"', header: true, encoding: 'utf-8', newline: 'CRLF', path: 'copy' });
		expect(await columnTypes(qualified)).toMatchObject({
			airport_name: 'text', flight_date: 'date', cost_other: 'bigint', cost_repair: 'bigint', cost_total: 'bigint', speed_ias_in_knots: 'bigint',
		});
		const comment = await db.pool.query(`select col_description($1::regclass, attnum) as c from pg_attribute where attrelid = $1::regclass and attname = 'cost_total'`, [qualified]);
		expect(comment.rows[0].c).toBe('source field: Cost Total $');
		const { rows } = await db.pool.query(`select airport_name, flight_date::text, cost_total::text, speed_ias_in_knots::text from ${qualified}`);
		expect(rows.length).toBe(10_000);
		const loaded = new Map<string, number>();
		for (const r of rows) {
			const k = JSON.stringify([r.airport_name, r.flight_date, r.cost_total, r.speed_ias_in_knots]);
			loaded.set(k, (loaded.get(k) ?? 0) + 1);
		}
		for (const i of [0, 1, 4_999, 9_998, 9_999]) {
			const s = source[i];
			const k = JSON.stringify([s['Airport Name'], s['Flight Date'], s['Cost Total $'], s['Speed IAS in knots'] === '' ? null : s['Speed IAS in knots']]);
			expect(loaded.get(k)).toBeGreaterThan(0);
		}
		const totals = await db.pool.query(`select sum(cost_total)::text as s from ${qualified}`);
		expect(totals.rows[0].s).toBe(String(source.reduce((a, r) => a + Number(r['Cost Total $']), 0)));
	});

	it('zipcodes.csv keeps leading zeros as text; unemployment.tsv is detected as TSV', async () => {
		const zip = await load(join(DATA, 'zipcodes.csv'));
		expect(zip.summary.rows).toBe(parseCsv(readFileSync(join(DATA, 'zipcodes.csv')), { columns: true }).length);
		expect(await columnTypes(zip.qualified)).toMatchObject({ zip_code: 'text', latitude: 'numeric', longitude: 'numeric', city: 'text' });
		const z = await db.pool.query(`select zip_code, latitude::text, city from ${zip.qualified} where zip_code = '00501'`);
		expect(z.rows).toEqual([{ zip_code: '00501', latitude: '40.922326', city: 'Holtsville' }]);

		const tsv = await load(join(DATA, 'unemployment.tsv'));
		const source = parseCsv(readFileSync(join(DATA, 'unemployment.tsv')), { columns: true, delimiter: '\t' }) as Array<Record<string, string>>;
		expect(tsv.summary).toMatchObject({ format: 'tsv', rows: source.length });
		expect(await columnTypes(tsv.qualified)).toEqual({ id: 'bigint', rate: 'numeric' });
		const r = await db.pool.query(`select id::text, rate::text from ${tsv.qualified} where id = $1`, [source[100].id]);
		expect(Number(r.rows[0].rate)).toBe(Number(source[100].rate));
	});

	it('gzip-compressed CSV, explicit types, Latin-1, and a file without a header', async () => {
		const gz = join(tmp, 'seattle-weather.csv.gz');
		writeFileSync(gz, gzipSync(readFileSync(join(DATA, 'seattle-weather.csv'))));
		const weather = await load(gz, { columnTypes: { wind: 'text', date: 'text' } });
		expect(weather.summary.rows).toBe(1461);
		expect(weather.summary.detected).toMatchObject({ path: 'copy' });
		expect(await columnTypes(weather.qualified)).toMatchObject({ date: 'text', precipitation: 'numeric', wind: 'text', weather: 'text' });

		// Latin-1: real titles from movies.json with accents, written as ISO-8859-1.
		const movies = JSON.parse(readFileSync(join(DATA, 'movies.json'), 'utf8')) as Array<Record<string, unknown>>;
		const accented = movies.filter((m) => typeof m.Title === 'string' && /[\u00c0-\u00ff]/.test(m.Title as string) && !/[^\u0000-\u00ff]/.test(m.Title as string));
		expect(accented.length).toBeGreaterThan(0);
		const latin1 = join(tmp, 'titles-latin1.csv');
		writeFileSync(latin1, Buffer.from(`title;gross\n${accented.map((m) => `${m.Title};${m['US Gross'] ?? ''}`).join('\n')}\n`, 'latin1'));
		const titles = await load(latin1);
		expect(titles.summary.detected).toMatchObject({ encoding: 'latin1', delimiter: ';', path: 'copy' });
		const t = await db.pool.query(`select title from ${titles.qualified}`);
		expect(t.rows.map((r) => r.title).sort()).toEqual(accented.map((m) => m.Title).sort());

		// No header: the first row of numbers does not look like names.
		const noHeader = join(tmp, 'stocks-noheader.csv');
		writeFileSync(noHeader, readFileSync(join(DATA, 'unemployment.tsv'), 'utf8').split('\n').slice(1).join('\n'));
		const nh = await load(noHeader, { format: 'tsv' });
		expect(nh.summary.detected).toMatchObject({ header: false });
		expect(nh.summary.rows).toBe(3218);
		expect(nh.summary.columns.map((c) => c.column)).toEqual(['column0', 'column1']);
	});

	it('text inference follows the engine rules: leading zeros and mixed formats stay text', () => {
		expect(inferTextType('00501')).toBe('text');
		expect(inferTextType('42')).toBe('integer');
		expect(inferTextType('9007199254740993')).toBe('bigint');
		expect(inferTextType('.097')).toBe('numeric');
		expect(inferTextType('1e5')).toBe('double');
		expect(inferTextType('2012-01-01')).toBe('date');
		expect(inferTextType('2012-02-30')).toBe('text');
		expect(inferTextType('2012-01-01 10:00:00')).toBe('timestamp');
		expect(inferTextType('2012-01-01T10:00:00+02:00')).toBe('timestamptz');
		expect(inferTextType('TRUE')).toBe('boolean');
		expect(inferTextType('Jan 1 2000')).toBe('text');
		expect(inferTextType('')).toBeNull();
	});
});

describe('bad rows', () => {
	function corrupted(): string {
		const lines = readFileSync(join(DATA, 'birdstrikes.csv'), 'utf8').split('\r\n');
		expect(lines[9_000]).toMatch(/,\d+$/); // this row has a speed…
		lines[9_000] = lines[9_000].replace(/,\d+$/, ',fast'); // …that is now not a number (line 9001)
		lines[9_500] = `${lines[9_500]},extra`; // one field too many (line 9501)
		const path = join(tmp, 'birdstrikes-bad.csv');
		writeFileSync(path, lines.join('\r\n'));
		return path;
	}

	it('fail: names file, line and column, and loads nothing from the file', async () => {
		const path = corrupted();
		const { connectorId, runId } = await runningConnector(db.pool);
		const table = { schema: 'ipai_bronze_core', name: 'bad_fail' };
		// Types from the first 1,000 rows: the bad value must not be part of the sample, or the
		// column would simply be text (mixed values stay text).
		const error = await ingestFile(db.pool, localFileSource(path, 'birdstrikes-bad.csv'), { connectorId, runId, table, sampleRows: 1000 }).catch((e) => e);
		expect(error).toBeInstanceOf(BadRowError);
		expect(error.message).toMatch(/^birdstrikes-bad\.csv, line 9001, column "Speed IAS in knots": "fast" is not a bigint value/);
		const exists = await db.pool.query(`select to_regclass('ipai_bronze_core.bad_fail') as t`);
		expect(exists.rows[0].t).toBeNull(); // not even the table: the whole file rolled back
		const run = await db.pool.query('select rows_read from ipai_connector_run where id = $1', [runId]);
		expect(Number(run.rows[0].rows_read ?? 0)).toBe(0);
	});

	it('skip: good rows load, bad rows land in the reject table with raw line, line number and reason', async () => {
		const path = corrupted();
		const { summary, qualified, runId } = await load(path, { onBadRow: 'skip', sampleRows: 1000 }, 'birdstrikes-bad.csv');
		expect(summary).toMatchObject({ rows: 9_998, rowsRead: 10_000, rejects: 2 });
		expect(summary.detected).toMatchObject({ path: 'copy' });
		expect((await db.pool.query(`select count(*)::int as n from ${qualified}`)).rows[0].n).toBe(9_998);
		const { rows } = await db.pool.query(
			'select source_file, line_number::int, column_name, reason, raw_line from ipai_bronze_core.ipai_load_reject where run_id = $1 order by line_number',
			[runId],
		);
		expect(rows).toHaveLength(2);
		expect(rows[0]).toMatchObject({ source_file: 'birdstrikes-bad.csv', line_number: 9001, column_name: 'Speed IAS in knots' });
		expect(rows[0].raw_line).toMatch(/,fast$/);
		expect(rows[1]).toMatchObject({ line_number: 9501, column_name: null, reason: 'expected 14 fields, found 15' });
		expect(rows[1].raw_line).toMatch(/,extra/);
	});

	it('empty, header-only, truncated gzip and not-really-Parquet files are clear errors', async () => {
		const cases: Array<[string, Buffer, RegExp]> = [
			['empty.csv', Buffer.alloc(0), /empty\.csv: the file is empty/],
			['header-only.csv', Buffer.from('symbol,date,price\n'), /header-only\.csv: the file has a header \(symbol, date, price\) but no data rows/],
			['truncated.csv.gz', gzipSync(readFileSync(join(DATA, 'stocks.csv'))).subarray(0, 2000), /truncated\.csv\.gz: the gzip data is truncated/],
			['fake.parquet', readFileSync(join(DATA, 'stocks.csv')), /fake\.parquet: not a Parquet file: it does not start with "PAR1"/],
			['cut.parquet', readFileSync(join(DATA, 'flights-3m.parquet')).subarray(0, 100_000), /cut\.parquet: the Parquet file is truncated/],
			['empty-array.json', Buffer.from('[]'), /empty-array\.json: the JSON array is empty/],
		];
		for (const [name, bytes, message] of cases) {
			const path = join(tmp, name);
			writeFileSync(path, bytes);
			const error = await load(path, {}, name).catch((e) => e);
			expect(`${name}: ${error?.constructor?.name}: ${error?.message}`).toMatch(new RegExp(`FileFormatError: ${message.source}`));
		}
	});
});

describe('CSV straight into COPY, and the checked reader it gives way to', () => {
	const BIRDS = join(DATA, 'birdstrikes.csv');
	const birdLines = () => readFileSync(BIRDS, 'utf8').split('\r\n').filter((l) => l.length > 0);
	/** birdstrikes.csv's data rows `copies` times (CRLF like the original), edited by `edit` (0-based data row index). */
	function birdstrikes(name: string, copies: number, edit: (line: string, row: number) => string = (l) => l): string {
		const [header, ...rows] = birdLines();
		const out: string[] = [header];
		for (let c = 0; c < copies; c++) for (const line of rows) out.push(edit(line, out.length - 1));
		const path = join(tmp, name);
		writeFileSync(path, `${out.join('\r\n')}\r\n`);
		return path;
	}
	const META_COLUMNS = `'_ipai_connector_id' - '_ipai_run_id' - '_ipai_extracted_at' - '_ipai_deleted_at' - '_ipai_raw'`;

	it('loads the same table, values and counts as the checked reader (rawRecord full), and a much bigger file with metadata on every row', async () => {
		const copied = await load(BIRDS);
		const checked = await load(BIRDS, { rawRecord: 'full' });
		expect(copied.summary.detected).toMatchObject({ path: 'copy' });
		expect(checked.summary.detected).toMatchObject({ path: 'checked' });
		expect(checked.summary.detected.checkedBecause).toBeUndefined();
		expect(await columnTypes(copied.qualified)).toEqual(await columnTypes(checked.qualified));
		expect(copied.summary).toMatchObject({ rows: checked.summary.rows, rowsRead: checked.summary.rowsRead, rejects: 0 });
		const cols = Object.keys(await columnTypes(copied.qualified)).map((c) => `"${c}"`).join(', ');
		for (const [a, b] of [[copied, checked], [checked, copied]]) {
			const diff = await db.pool.query(`select count(*)::int as n from (select ${cols} from ${a.qualified} except all select ${cols} from ${b.qualified}) d`);
			expect(diff.rows[0].n).toBe(0);
		}
		// The full raw record of the checked path equals what the compact form rebuilds, value by value.
		const raws = await db.pool.query(
			`select count(*)::int as n from (
			   select (x.r->>k) as v, count(*) from (select (to_jsonb(t) - ${META_COLUMNS}) || t._ipai_raw as r from ${copied.qualified} t) x, jsonb_object_keys(x.r) k group by 1
			   except all
			   select (y.r->>k) as v, count(*) from (select _ipai_raw as r from ${checked.qualified}) y, jsonb_object_keys(y.r) k group by 1) d`,
		);
		expect(raws.rows[0].n).toBe(0);
		const meta = await db.pool.query(
			`select count(*)::int as n, count(distinct _ipai_run_id)::int as runs, bool_and(_ipai_connector_id = $1) as connector, bool_and(_ipai_run_id = $2) as run,
			        bool_and(_ipai_raw = '{}') as compact, bool_and(_ipai_extracted_at is not null and _ipai_deleted_at is null) as times
			   from ${copied.qualified}`,
			[copied.connectorId, copied.runId],
		);
		expect(meta.rows[0]).toEqual({ n: 10_000, runs: 1, connector: true, run: true, compact: true, times: true });
		const run = await db.pool.query('select rows_read::int, rows_written::int from ipai_connector_run where id = $1', [copied.runId]);
		expect(run.rows[0]).toEqual({ rows_read: 10_000, rows_written: 10_000 });
		// The table's (connector, run) index, built after the rows, is there and used.
		const index = await db.pool.query(`select count(*)::int as n from pg_indexes where schemaname = $1 and tablename = $2 and indexdef like '%(_ipai_connector_id, _ipai_run_id)%'`, [copied.table.schema, copied.table.name]);
		expect(index.rows[0].n).toBe(1);
	});

	it('a local file is read into a few reused buffers, every byte arrives as it was in the file, and a load that stops early closes it', async () => {
		// 600,000 distinct rows of varying length (~43 MB, ~43 chunks of 1 MiB): a buffer reused while the
		// COPY still held bytes of it would change or lose rows, and the digest would differ.
		const lines: string[] = [];
		for (let id = 1; id <= 600_000; id++) lines.push(`${id},${'x'.repeat(id % 97)}${(id * 2654435761 % 4294967296).toString(36)},${(id % 1000) / 8}`);
		const path = join(tmp, 'distinct-rows.csv');
		writeFileSync(path, `id,payload,amount\n${lines.join('\n')}\n`);
		const source = localFileSource(path, 'distinct-rows.csv');
		const open = source.open.bind(source);
		let opened: RecyclingFileStream | undefined;
		source.open = async () => {
			const stream = await open();
			if (stream instanceof RecyclingFileStream) opened = stream;
			return stream;
		};
		const { connectorId, runId } = await runningConnector(db.pool);
		const table = { schema: 'ipai_bronze_core', name: `f${++tableCounter}_distinct_rows` };
		const summary = await ingestFile(db.pool, source, { connectorId, runId, table });
		expect(summary).toMatchObject({ rows: 600_000, rejects: 0, detected: { path: 'copy' } });
		const digest = await db.pool.query(`select md5(string_agg(format('%s,%s,%s', id, payload, amount), E'\n' order by id)) as md5 from ${table.schema}.${table.name}`);
		expect(digest.rows[0].md5).toBe(createHash('md5').update(lines.join('\n')).digest('hex'));
		expect(opened).toBeDefined();
		const { taken, allocated } = opened!.recycler;
		expect(taken).toBeGreaterThanOrEqual(Math.floor(statSync(path).size / (1 << 20)));
		expect(allocated).toBeLessThan(taken / 3);
		expect(allocated).toBeLessThanOrEqual(16);

		// A load that stops early (a bad value on line 2, 40 MB unread) closes the file: n8n workers
		// run for weeks, a descriptor per failed load would add up.
		const error = await ingestFile(db.pool, localFileSource(path, 'distinct-rows.csv'), { connectorId, runId, table: { ...table, name: `${table.name}_fail` }, columnTypes: { payload: 'bigint' } }).catch((e) => e);
		expect(error).toBeInstanceOf(BadRowError);
		await new Promise((resolve) => setTimeout(resolve, 100));
		const descriptors = readdirSync('/proc/self/fd').map((fd) => {
			try {
				return readlinkSync(`/proc/self/fd/${fd}`);
			} catch {
				return '';
			}
		});
		expect(descriptors.filter((target) => target === path)).toEqual([]);
	});

	it('_ipai_raw keeps the original text of values its typed column normalises, in both COPY modes, and nothing else', async () => {
		const source = readFileSync(join(DATA, 'seattle-weather.csv'), 'utf8').split('\n');
		// Real rows written the ways other tools write numbers and dates: +0.5, .7, 1e1, -0.0.
		const edits: Record<number, (cells: string[]) => void> = {
			1200: (c) => (c[1] = `+${c[1]}`),
			1300: (c) => (c[4] = '.5'),
			1400: (c) => (c[2] = '1.28e1'),
			1450: (c) => (c[3] = '-0.0'),
		};
		const lines = source.map((line, i) => {
			if (!edits[i]) return line;
			const cells = line.split(',');
			edits[i](cells);
			return cells.join(',');
		});
		const path = join(tmp, 'seattle-edited.csv');
		writeFileSync(path, lines.join('\n'));
		const original = parseCsv(readFileSync(path), { columns: true }) as Array<Record<string, string>>;
		// sampleRows 1000: the edited rows come after the sample (rows held back and sent with their
		// _ipai_raw); default sample: the sample sees them and every row carries its _ipai_raw.
		for (const sampleRows of [1000, undefined]) {
			const { summary, qualified } = await load(path, { sampleRows }, 'seattle-edited.csv');
			expect(summary).toMatchObject({ rows: 1461, rejects: 0 });
			expect(summary.detected).toMatchObject({ path: 'copy' });
			// Compared as text (the JSON numbers would come back as JavaScript numbers: 0.0 as 0).
			const { rows } = await db.pool.query(
				`select (select jsonb_object_agg(key, value) from jsonb_each_text((to_jsonb(t) - ${META_COLUMNS}) || t._ipai_raw)) as r, _ipai_raw as raw from ${qualified} t`,
			);
			const byDate = new Map(rows.map((r) => [r.r.date as string, r]));
			for (const o of original) {
				const row = byDate.get(o.date)!;
				for (const [k, v] of Object.entries(o)) expect(`${o.date} ${k}=${row.r[k] ?? ''}`).toBe(`${o.date} ${k}=${v}`);
			}
			const kept = rows.filter((r) => Object.keys(r.raw).length > 0).map((r) => r.raw).sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
			expect(kept).toEqual(
				[{ precipitation: original[1199].precipitation }, { wind: '.5' }, { temp_max: '1.28e1' }, { temp_min: '-0.0' }].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))),
			);
		}
	});

	it('fail: a bad value and a short row deep in a 60,000-row file (past the sample) name file, line and column; nothing is loaded', async () => {
		const bad = birdstrikes('birds-60k-bad.csv', 6, (line, row) => (row === 49_999 ? line.replace(/,\d+$/, ',n/a') : line));
		const { connectorId, runId } = await runningConnector(db.pool);
		const table = { schema: 'ipai_bronze_core', name: 'copy_fail_deep' };
		const error = await ingestFile(db.pool, localFileSource(bad, 'birds-60k-bad.csv'), { connectorId, runId, table }).catch((e) => e);
		expect(error).toBeInstanceOf(BadRowError);
		expect(error.message).toMatch(/^birds-60k-bad\.csv, line 50001, column "Speed IAS in knots": "n\/a" is not a bigint value \(the column's type was inferred from the first 20480 rows\)/);
		expect((await db.pool.query(`select to_regclass('ipai_bronze_core.copy_fail_deep') as t`)).rows[0].t).toBeNull();
		const run = await db.pool.query('select coalesce(rows_read, 0)::int as n from ipai_connector_run where id = $1', [runId]);
		expect(run.rows[0].n).toBe(0);
		// The checked reader says exactly the same.
		const checked = await ingestFile(db.pool, localFileSource(bad, 'birds-60k-bad.csv'), { connectorId, runId, table, rawRecord: 'full' }).catch((e) => e);
		expect(checked.message).toBe(error.message);

		const short = birdstrikes('birds-60k-short.csv', 6, (line, row) => (row === 41_233 ? line.replace(/,[^,]*$/, '') : line));
		const shortError = await ingestFile(db.pool, localFileSource(short, 'birds-60k-short.csv'), { connectorId, runId, table }).catch((e) => e);
		expect(shortError.message).toMatch(/^birds-60k-short\.csv, line 41235: expected 14 fields, found 13\./);
	});

	it('skip: bad rows deep in the file go to the reject table with raw line, line number and reason; the others load', async () => {
		// Data row k is on line k + 2 (the header is line 1); rows chosen where the edit applies.
		const data = birdLines().slice(1);
		const pick = (from: number, test: RegExp) => from + data.slice(from % 10_000).findIndex((l) => test.test(l));
		const badRows = [pick(24_999, /,\d+$/), pick(33_332, /,\d{4}-\d{2}-\d{2},/), 59_998];
		const path = birdstrikes('birds-60k-skip.csv', 6, (line, row) => {
			if (row === badRows[0]) return line.replace(/,\d+$/, ',0300');
			if (row === badRows[1]) return line.replace(/,\d{4}-\d{2}-\d{2},/, ',1990-02-30,');
			if (row === badRows[2]) return `${line},extra`;
			return line;
		});
		const { summary, qualified, runId } = await load(path, { onBadRow: 'skip' }, 'birds-60k-skip.csv');
		// Every row read is counted, the rejected ones too, on the summary and on the run.
		expect(summary).toMatchObject({ rows: 60_000 - 3, rowsRead: 60_000, rejects: 3, table: 'ipai_bronze_core.f' + tableCounter + '_birds_60k_skip_csv' });
		const run = await db.pool.query(`select rows_read::int, rows_written::int, metadata->'rows_rejected' as rejected from ipai_connector_run where id = $1`, [runId]);
		expect(run.rows[0]).toEqual({ rows_read: 60_000, rows_written: 60_000 - 3, rejected: 3 });
		const targets = await db.pool.query('select distinct target_table from ipai_bronze_core.ipai_load_reject where run_id = $1', [runId]);
		expect(targets.rows).toEqual([{ target_table: summary.table }]);
		expect(summary.detected).toMatchObject({ path: 'copy' });
		expect((await db.pool.query(`select count(*)::int as n from ${qualified}`)).rows[0].n).toBe(60_000 - 3);
		const { rows } = await db.pool.query(
			'select source_file, line_number::int, column_name, reason, raw_line from ipai_bronze_core.ipai_load_reject where run_id = $1 order by line_number',
			[runId],
		);
		const lines = readFileSync(path, 'utf8').split('\r\n');
		expect(rows.map((r) => r.line_number)).toEqual(badRows.map((k) => k + 2));
		for (const r of rows) expect(r.raw_line).toBe(lines[r.line_number - 1]);
		expect(rows[0]).toMatchObject({ source_file: 'birds-60k-skip.csv', column_name: 'Speed IAS in knots', reason: expect.stringMatching(/^"0300" is not a bigint value/) });
		expect(rows[1]).toMatchObject({ column_name: 'Flight Date', reason: expect.stringMatching(/^"1990-02-30" is not a date value/) });
		expect(rows[2]).toMatchObject({ column_name: null, reason: 'expected 14 fields, found 15' });
	});

	it('quoted fields with line breaks, doubled quotes and delimiters: the same rows as the checked reader, physical line numbers', async () => {
		// Real titles from movies.json, with the director on a second line inside the quotes.
		const movies = (JSON.parse(readFileSync(join(DATA, 'movies.json'), 'utf8')) as Array<Record<string, unknown>>).filter((m) => typeof m.Title === 'string' && m.Director && m['US Gross'] !== null);
		expect(movies.length).toBeGreaterThan(1500);
		const quote = (v: string) => `"${v.replace(/"/g, '""')}"`;
		const rows = movies.map((m, i) => `${quote(`${m.Title}\r\ndirected by ${m.Director}`)},${i === 1500 ? 'lots' : m['US Gross']},${quote(`${m.Title}, "again"`)}`);
		const path = join(tmp, 'movies-multiline.csv');
		writeFileSync(path, `title,us_gross,"title, again"\r\n${rows.join('\r\n')}\r\n`);
		const copied = await load(path, { onBadRow: 'skip', sampleRows: 1000 }, 'movies-multiline.csv');
		const checked = await load(path, { onBadRow: 'skip', sampleRows: 1000, rawRecord: 'full' }, 'movies-multiline.csv');
		expect(copied.summary.detected).toMatchObject({ path: 'copy' });
		expect(copied.summary).toMatchObject({ rows: movies.length - 1, rejects: 1 });
		const title = await db.pool.query(`select title, title_again from ${copied.qualified} where title like $1 limit 1`, [`${movies[10].Title}\r\n%`]);
		expect(title.rows).toEqual([{ title: `${movies[10].Title}\r\ndirected by ${movies[10].Director}`, title_again: `${movies[10].Title}, "again"` }]);
		const diff = await db.pool.query(`select count(*)::int as n from (select title, us_gross, title_again from ${copied.qualified} except all select title, us_gross, title_again from ${checked.qualified}) d`);
		expect(diff.rows[0].n).toBe(0);
		const rejects = await db.pool.query('select line_number::int, raw_line from ipai_bronze_core.ipai_load_reject where run_id = $1', [copied.runId]);
		// Each record takes two lines: record 1501 (index 1500) ends on line 1 + 2 * 1501. (csv-parse,
		// in the checked reader, counts the CR and the LF inside the quotes as two line breaks.)
		expect(rejects.rows).toEqual([{ line_number: 3003, raw_line: rows[1500] }]);
	});

	it('TSV, Latin-1 and a UTF-8 BOM, gzip: all through COPY', async () => {
		const tsv = await load(join(DATA, 'unemployment.tsv'));
		expect(tsv.summary.detected).toMatchObject({ path: 'copy', delimiter: '\t' });
		const bom = join(tmp, 'airports-bom.csv.gz');
		writeFileSync(bom, gzipSync(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), readFileSync(join(DATA, 'airports.csv'))])));
		const airports = await load(bom, {}, 'airports-bom.csv.gz');
		expect(airports.summary.detected).toMatchObject({ path: 'copy', bom: true });
		expect(airports.summary.columns[0]).toMatchObject({ source: 'iata', column: 'iata' });
		expect(airports.summary.rows).toBe(3376);
	});

	it('blank lines before the header and between rows are skipped, never taken for the header', async () => {
		// A text-only file would otherwise load its header as a row without any error.
		for (const newline of ['\n', '\r\n']) {
			const path = join(tmp, `blank-lines-${newline.length}.csv`);
			writeFileSync(path, ['', 'name,city', 'ann,paris', '', 'bob,rome', ''].join(newline));
			const loaded = await load(path);
			expect(loaded.summary.detected).toMatchObject({ path: 'copy', header: true });
			const { rows } = await db.pool.query(`select name, city from ${loaded.qualified} order by name`);
			expect(rows).toEqual([{ name: 'ann', city: 'paris' }, { name: 'bob', city: 'rome' }]);
		}
	});

	it('merge by key through a staging table: the last version of a key wins, an unchanged reload writes nothing', async () => {
		const lines = readFileSync(join(DATA, 'airports.csv'), 'utf8').split('\n').filter((l) => l.length > 0);
		// The first data row again at the end with another name: that one must win.
		const path = join(tmp, 'airports-twice.csv');
		writeFileSync(path, [...lines, lines[1].replace('Thigpen', 'Thigpen Again')].join('\n'));
		const { connectorId, runId } = await runningConnector(db.pool);
		const table = { schema: 'ipai_bronze_core', name: 'copy_merge_airports' };
		const first = await ingestFile(db.pool, localFileSource(path, 'airports-twice.csv'), { connectorId, runId, table, key: ['iata'] });
		expect(first).toMatchObject({ rows: 3376, rowsRead: 3377 });
		expect(first.detected).toMatchObject({ path: 'copy' });
		expect((await db.pool.query(`select name from ipai_bronze_core.copy_merge_airports where iata = '00M'`)).rows).toEqual([{ name: 'Thigpen Again' }]);
		const again = await ingestFile(db.pool, localFileSource(path, 'airports-twice.csv'), { connectorId, runId, table, key: ['iata'] });
		expect(again).toMatchObject({ rows: 0, rowsRead: 3377 });
		expect((await db.pool.query('select count(*)::int as n from ipai_bronze_core.copy_merge_airports')).rows[0].n).toBe(3376);
	});

	it('a table the checked reader made first takes COPY loads too (its metadata defaults are added once)', async () => {
		const { connectorId, runId } = await runningConnector(db.pool);
		const table = { schema: 'ipai_bronze_core', name: 'copy_after_checked' };
		const path = join(DATA, 'seattle-weather.csv');
		const checked = await ingestFile(db.pool, localFileSource(path), { connectorId, runId, table, rawRecord: 'full' });
		expect(checked.detected).toMatchObject({ path: 'checked' });
		const copied = await ingestFile(db.pool, localFileSource(path), { connectorId, runId, table });
		expect(copied.detected).toMatchObject({ path: 'copy' });
		expect((await db.pool.query('select count(*)::int as n from ipai_bronze_core.copy_after_checked')).rows[0].n).toBe(2922);
		// The defaults are inert outside a COPY load: an insert without metadata is still refused.
		const refused = await db.pool.query(`insert into ipai_bronze_core.copy_after_checked (weather) values ('sun')`).catch((e) => e);
		expect(refused.message).toMatch(/null value in column "_ipai_(connector_id|run_id|extracted_at|raw)"/);
	});

	it('gives way to the checked reader for what it cannot prove: a stray quote, NUL bytes, invalid UTF-8, a declared jsonb column', async () => {
		const lines = readFileSync(join(DATA, 'seattle-weather.csv'), 'utf8').split('\n');
		const variant = (name: string, edit: (l: string[]) => void, encoding: BufferEncoding = 'utf8') => {
			const copy = [...lines];
			edit(copy);
			const path = join(tmp, name);
			writeFileSync(path, copy.join('\n'), encoding);
			return path;
		};
		// Past the sniffer's sample, so the dialect is "-quoted: csv-parse refuses the row too (its own error, as before).
		const strayPath = birdstrikes('birds-stray-quote.csv', 5, (line, row) => (row === 45_000 ? line.replace(/,(\w+),/, ',ra"$1,') : line));
		const stray = await load(strayPath, {}, 'birds-stray-quote.csv').catch((e) => e);
		expect(stray.message).toMatch(/Invalid Opening Quote: a quote is found on field \d+ at line 45002/);
		expect((await db.pool.query(`select count(*)::int as n from ipai_bronze_core.ipai_load_reject where source_file = 'birds-stray-quote.csv'`)).rows[0].n).toBe(0);
		const nul = await load(variant('weather-nul.csv', (l) => (l[700] = l[700].replace(/,(\w+)$/, ',ra\u0000$1'))), {}, 'weather-nul.csv');
		expect(nul.summary.detected).toMatchObject({ path: 'checked', checkedBecause: 'the file holds NUL bytes' });
		expect((await db.pool.query(`select count(*)::int as n from ${nul.qualified} where weather like 'ra\uFFFD%'`)).rows[0].n).toBe(1);
		const bytes = Buffer.from(lines.join('\n'), 'utf8');
		const at = bytes.indexOf('sun', bytes.length - 2000);
		bytes[at] = 0xff; // not UTF-8; the encoding is declared, so only PostgreSQL notices
		const invalidPath = join(tmp, 'weather-invalid-utf8.csv');
		writeFileSync(invalidPath, bytes);
		const invalid = await load(invalidPath, { csv: { encoding: 'utf-8' } }, 'weather-invalid-utf8.csv');
		expect(invalid.summary.detected).toMatchObject({ path: 'checked', checkedBecause: expect.stringMatching(/^PostgreSQL refused a value \(22021/) });
		expect(invalid.summary.rows).toBe(1461);
		const json = await load(join(DATA, 'seattle-weather.csv'), { columnTypes: { weather: 'jsonb' } }, 'seattle-weather.csv');
		expect(json.summary.detected).toMatchObject({ path: 'checked', checkedBecause: 'a column is declared as jsonb or an array' });
	});
});

describe('JSON, NDJSON, Arrow, Parquet', () => {
	it('flights-10k.json (array) and the same records as gzip NDJSON load identically', async () => {
		const records = JSON.parse(readFileSync(join(DATA, 'flights-10k.json'), 'utf8')) as Array<Record<string, unknown>>;
		const json = await load(join(DATA, 'flights-10k.json'));
		expect(json.summary).toMatchObject({ format: 'json', rows: records.length });
		expect(await columnTypes(json.qualified)).toEqual({ date: 'text', delay: 'bigint', distance: 'bigint', origin: 'text', destination: 'text' });
		const ndPath = join(tmp, 'flights-10k.ndjson.gz');
		writeFileSync(ndPath, gzipSync(records.map((r) => JSON.stringify(r)).join('\n')));
		const nd = await load(ndPath);
		expect(nd.summary).toMatchObject({ format: 'ndjson', rows: records.length });
		const diff = await db.pool.query(
			`select count(*)::int as n from (select date, delay, distance, origin, destination from ${json.qualified}
			  except all select date, delay, distance, origin, destination from ${nd.qualified}) d`,
		);
		expect(diff.rows[0].n).toBe(0);
		const sum = await db.pool.query(`select sum(delay)::bigint::text as d from ${json.qualified}`);
		expect(sum.rows[0].d).toBe(String(records.reduce((a, r) => a + (r.delay as number), 0)));
	});

	it('movies.json: nulls and mixed values, names with spaces', async () => {
		const records = JSON.parse(readFileSync(join(DATA, 'movies.json'), 'utf8')) as Array<Record<string, unknown>>;
		const { summary, qualified } = await load(join(DATA, 'movies.json'), { onBadRow: 'skip' });
		expect(summary.rows + summary.rejects).toBe(records.length);
		const types = await columnTypes(qualified);
		expect(types).toMatchObject({ title: 'text', us_gross: 'bigint', release_date: 'text' });
	});

	it('flights-200k.arrow: every row, values equal to apache-arrow reading the file', async () => {
		const path = join(DATA, 'flights-200k.arrow');
		const table = tableFromIPC(readFileSync(path));
		const { summary, qualified } = await load(path);
		expect(summary).toMatchObject({ format: 'arrow', rows: table.numRows });
		expect(await columnTypes(qualified)).toEqual({ delay: 'bigint', distance: 'bigint', time: 'double precision' });
		const sums = await db.pool.query(`select sum(delay)::text as d, sum(distance)::text as s, count(*)::int as n from ${qualified}`);
		let d = 0;
		let s = 0;
		for (let i = 0; i < table.numRows; i++) {
			d += table.getChild('delay')!.get(i) as number;
			s += table.getChild('distance')!.get(i) as number;
		}
		expect(sums.rows[0]).toEqual({ d: String(d), s: String(s), n: table.numRows });
	});

	it('flights-3m.parquet (zstd): 3,000,000 rows, schema types, rows equal to hyparquet reading the file', async () => {
		const path = join(DATA, 'flights-3m.parquet');
		const { summary, qualified } = await load(path);
		expect(summary).toMatchObject({ format: 'parquet', rows: 3_000_000 });
		expect(summary.detected).toMatchObject({ rows: 3_000_000, codecs: ['ZSTD'] });
		expect(await columnTypes(qualified)).toEqual({ date: 'timestamp without time zone', delay: 'bigint', distance: 'bigint', origin: 'text', destination: 'text' });
		// Independent read of a few rows straight from hyparquet.
		// eslint-disable-next-line @typescript-eslint/no-require-imports
		const hyparquet = require('hyparquet') as typeof import('hyparquet');
		const { compressors } = require('hyparquet-compressors') as { compressors: never };
		const buffer = readFileSync(path);
		const file = { byteLength: buffer.length, slice: (a: number, b?: number) => buffer.buffer.slice(buffer.byteOffset + a, buffer.byteOffset + (b ?? buffer.length)) };
		for (const at of [0, 1_234_567, 2_999_999]) {
			const [row] = (await hyparquet.parquetReadObjects({ file, rowStart: at, rowEnd: at + 1, compressors })) as Array<Record<string, unknown>>;
			const date = (row.date as Date).toISOString().replace('T', ' ').replace(/\.000Z$/, '');
			const found = await db.pool.query(
				`select count(*)::int as n from ${qualified} where date = $1::timestamp and delay = $2 and distance = $3 and origin = $4 and destination = $5`,
				[date, String(row.delay), String(row.distance), row.origin, row.destination],
			);
			expect(found.rows[0].n).toBeGreaterThan(0);
		}
		const agg = await db.pool.query(`select sum(delay)::text as d from ${qualified}`);
		let total = 0n;
		await hyparquet.parquetRead({
			file, columns: ['delay'], compressors,
			onChunk: ({ columnData }) => {
				for (let i = 0; i < columnData.length; i++) total += BigInt(columnData[i] as bigint);
			},
		});
		expect(agg.rows[0].d).toBe(total.toString());
	});
});

describe('URL and S3 object storage', () => {
	let server: Server;
	let base = '';
	beforeAll(async () => {
		// A real HTTP server with byte ranges and a bearer token, serving the data files.
		server = createServer((req, res): void => {
			if (req.headers.authorization !== 'Bearer t0ken') {
				res.writeHead(401).end();
				return;
			}
			const path = join(DATA, decodeURIComponent(req.url!.slice(1)));
			const size = statSync(path).size;
			const range = /bytes=(\d+)-(\d+)/.exec(req.headers.range ?? '');
			if (range) {
				const [start, end] = [Number(range[1]), Number(range[2])];
				res.writeHead(206, { 'content-length': end - start + 1, 'accept-ranges': 'bytes', 'content-range': `bytes ${start}-${end}/${size}` });
				if (req.method === 'HEAD') res.end();
				else createReadStream(path, { start, end }).pipe(res);
				return;
			}
			res.writeHead(200, { 'content-length': size, 'accept-ranges': 'bytes' });
			if (req.method === 'HEAD') res.end();
			else createReadStream(path).pipe(res);
		});
		server.listen(0, '127.0.0.1');
		await once(server, 'listening');
		base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
	});
	afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

	it('streams a CSV from a URL with headers, and reads Parquet by byte ranges; a bad token is a clear error', async () => {
		const { connectorId, runId } = await runningConnector(db.pool);
		const csv = await ingestFile(db.pool, await httpSource(`${base}/airports.csv`, { authorization: 'Bearer t0ken' }), {
			connectorId, runId, table: { schema: 'ipai_bronze_core', name: 'url_airports' }, key: ['iata'],
		});
		expect(csv).toMatchObject({ rows: 3376, file: `${base}/airports.csv` });
		const source = await httpSource(`${base}/flights-3m.parquet`, { authorization: 'Bearer t0ken' });
		expect(source.readRange).toBeDefined();
		const denied = await ingestFile(db.pool, await httpSource(`${base}/airports.csv?sig=secret`, { authorization: 'Bearer wrong' }), {
			connectorId, runId, table: { schema: 'ipai_bronze_core', name: 'url_denied' },
		}).catch((e) => e);
		expect(denied.message).toMatch(/answered HTTP 401.*check the authentication headers/);
		expect(denied.message).not.toContain('secret');
	});

	it('loads only new or changed objects from an S3 bucket (s3rver), state committed with each file', async () => {
		// eslint-disable-next-line @typescript-eslint/no-require-imports
		const S3rver = require('s3rver');
		const dir = mkdtempSync(join(tmp, 's3-'));
		const s3rver = new S3rver({ port: 0, address: '127.0.0.1', silent: true, directory: dir });
		const { port } = await s3rver.run();
		const stores: Array<ReturnType<typeof s3Store>> = [];
		const store = () => {
			stores.push(s3Store(settings));
			return stores[stores.length - 1];
		};
		// eslint-disable-next-line prefer-const
		let settings: Parameters<typeof s3Store>[0];
		let client: S3Client | undefined;
		try {
			settings = { endpoint: `http://127.0.0.1:${port}`, region: 'us-east-1', accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER', forcePathStyle: true, bucket: 'exports' };
			client = new S3Client({ ...settings, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } });
			await client!.send(new CreateBucketCommand({ Bucket: 'exports' }));
			const airports = readFileSync(join(DATA, 'airports.csv'), 'utf8').split('\n');
			const header = airports[0];
			const half = Math.floor(airports.length / 2);
			const put = (key: string, body: string | Buffer) => client!.send(new PutObjectCommand({ Bucket: 'exports', Key: key, Body: body }));
			await put('daily/part-1.csv', [header, ...airports.slice(1, half)].join('\n'));
			await put('daily/part-2.csv.gz', gzipSync([header, ...airports.slice(half)].join('\n')));
			await put('daily/readme.txt', 'not data');
			await put('other/part-9.csv', [header, airports[1]].join('\n'));

			const { connectorId, runId } = await runningConnector(db.pool);
			const options = { connectorId, runId, table: { schema: 'ipai_bronze_core', name: 's3_airports' }, key: ['iata'], prefix: 'daily/', glob: '*.csv*', stream: 's3://exports/daily/' };
			const first = await syncObjectStore(db.pool, store(), options);
			expect(first.files.map((f) => f.file)).toEqual(['s3://exports/daily/part-1.csv', 's3://exports/daily/part-2.csv.gz']);
			const total = airports.filter((l) => l.trim()).length - 1;
			expect((await db.pool.query('select count(*)::int as n from ipai_bronze_core.s3_airports')).rows[0].n).toBe(total);
			const state = await getStreamState(db.pool, connectorId, 's3://exports/daily/');
			expect(Object.keys(state.state.files as object).sort()).toEqual(['daily/part-1.csv', 'daily/part-2.csv.gz']);

			const again = await syncObjectStore(db.pool, store(), options);
			expect(again).toMatchObject({ files: [], skipped: 2 });

			// A changed object is loaded again (merged by key: no duplicates), the other is not.
			await put('daily/part-1.csv', [header, ...airports.slice(1, half)].join('\n').replace('Thigpen', 'Thigpen Field'));
			const third = await syncObjectStore(db.pool, store(), options);
			expect(third.files.map((f) => f.file)).toEqual(['s3://exports/daily/part-1.csv']);
			const row = await db.pool.query(`select name from ipai_bronze_core.s3_airports where iata = '00M'`);
			expect(row.rows[0].name).toBe('Thigpen Field');
			expect((await db.pool.query('select count(*)::int as n from ipai_bronze_core.s3_airports')).rows[0].n).toBe(total);

			// Parquet straight from S3 by byte ranges.
			await put('pq/flights.parquet', readFileSync(join(DATA, 'flights-3m.parquet')).subarray(0)); // 13 MB upload
			const pq = await syncObjectStore(db.pool, store(), { ...options, key: undefined, table: { schema: 'ipai_bronze_core', name: 's3_flights' }, prefix: 'pq/', glob: undefined, stream: 's3://exports/pq/' });
			expect(pq.files[0]).toMatchObject({ rows: 3_000_000, format: 'parquet' });
		} finally {
			// Keep-alive sockets would keep s3rver.close() waiting.
			client?.destroy();
			for (const s of stores) s.close?.();
			await s3rver.close();
		}
	}, 400_000);
});
