/**
 * The smallest reproductions of inputs that once loaded wrongly or failed with a bare message
 * (issue 15, Files): each asserts the rows or the message, that nothing of a failed file was
 * written, and the run's ledger row. CSV cases run on both paths: COPY (default) and the checked
 * reader (rawRecord "full").
 */
import fc from 'fast-check';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { localFileSource } from '../../lib/sources/files/bytes';
import { ingestFile, type IngestOptions } from '../../lib/sources/files/ingest';
import { BadRowError, FileFormatError } from '../../lib/sources/files/types';
import { runningConnector } from '../helpers/connector';
import { useScratchDatabase } from '../../tooling/helpers/database';

jest.setTimeout(60_000);
const db = useScratchDatabase();
const tmp = mkdtempSync(join(tmpdir(), 'ipai-files-edge-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

let counter = 0;
async function load(name: string, bytes: string | Buffer, extra: Partial<IngestOptions> = {}) {
	const path = join(tmp, `${++counter}-${name}`);
	writeFileSync(path, bytes);
	const { connectorId, runId } = await runningConnector(db.pool);
	const table = { schema: 'ipai_bronze_core', name: `edge_${counter}` };
	const qualified = `${table.schema}.${table.name}`;
	const outcome = await ingestFile(db.pool, localFileSource(path, name), { connectorId, runId, table, ...extra }).then(
		(summary) => ({ summary, error: undefined }),
		(error: Error) => ({ summary: undefined, error }),
	);
	const run = (await db.pool.query(`select rows_read::int, rows_written::int, metadata->'rows_rejected' as rejected from ipai_connector_run where id = $1`, [runId])).rows[0];
	const exists = (await db.pool.query(`select to_regclass($1) is not null as e`, [qualified])).rows[0].e as boolean;
	const rejects = (await db.pool.query('select target_table, source_file, line_number::int, column_name, reason, raw_line from ipai_bronze_core.ipai_load_reject where run_id = $1 order by line_number', [runId])).rows;
	return { ...outcome, run, exists, rejects, qualified, runId };
}

/** Values as text: the checked path's full _ipai_raw holds every CSV field as the file's text. */
function asText(rows: Array<Record<string, unknown>>): Array<Record<string, unknown>> {
	return rows.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, v === null ? null : String(v)])));
}

/** A row as the file said it: the typed columns as text, overlaid by _ipai_raw. */
async function records(qualified: string, order = '1'): Promise<Array<Record<string, unknown>>> {
	const { rows } = await db.pool.query(
		`select (to_jsonb(t) - '_ipai_connector_id' - '_ipai_run_id' - '_ipai_extracted_at' - '_ipai_deleted_at' - '_ipai_raw') || t._ipai_raw as r from ${qualified} t order by ${order}`,
	);
	return rows.map((r) => r.r);
}

const paths: Array<[string, Partial<IngestOptions>]> = [
	['copy', {}],
	['checked', { rawRecord: 'full' }],
];

describe.each(paths)('CSV on the %s path', (path, mode) => {
	it('1. a ragged row keeps the comma dialect; fail names line 3 and writes nothing', async () => {
		const result = await load('ragged.csv', 'a,b,c\n1,2,3\n4,5,6,7\n8,9,10\n', mode);
		expect(result.error).toBeInstanceOf(BadRowError);
		expect(result.error!.message).toBe('ragged.csv, line 3: expected 3 fields, found 4. Nothing from this file was loaded; fix the row, declare the column\'s type, or set bad rows to "skip".');
		expect(result.exists).toBe(false);
		expect(result.run).toEqual({ rows_read: 0, rows_written: 0, rejected: null });
		expect(result.rejects).toEqual([]);
	});

	it('1/8. skip: the ragged row is a reject with its line; the run counts it as read and rejected', async () => {
		const result = await load('ragged.csv', 'a,b,c\n1,2,3\n4,5,6,7\n8,9,10\n', { ...mode, onBadRow: 'skip' });
		expect(result.summary).toMatchObject({ format: 'csv', rows: 2, rowsRead: 3, rejects: 1, table: result.qualified, detected: { delimiter: ',', path } });
		expect(result.summary!.columns.map((c) => c.column)).toEqual(['a', 'b', 'c']);
		expect(asText(await records(result.qualified, 'a'))).toEqual(asText([
			{ a: 1, b: 2, c: 3 },
			{ a: 8, b: 9, c: 10 },
		]));
		expect(result.rejects).toEqual([{ target_table: result.qualified, source_file: 'ragged.csv', line_number: 3, column_name: null, reason: 'expected 3 fields, found 4', raw_line: '4,5,6,7' }]);
		expect(result.run).toEqual({ rows_read: 3, rows_written: 2, rejected: 1 });
	});

	it('1. a ragged first data row, a short row and a semicolon file with commas in text', async () => {
		const first = await load('first.csv', 'x;y;z\n1;2\n3;4;5\n6;7;8\n', { ...mode, onBadRow: 'skip' });
		expect(first.summary).toMatchObject({ rows: 2, rejects: 1, detected: { delimiter: ';' } });
		expect(first.rejects).toMatchObject([{ line_number: 2, reason: 'expected 3 fields, found 2' }]);
		const commas = await load('commas.csv', 'name;note\nann;a, b\nbob;c, d, e\n', mode);
		expect(commas.summary).toMatchObject({ rows: 2, detected: { delimiter: ';' } });
		expect(asText(await records(commas.qualified, 'name'))).toEqual(asText([
			{ name: 'ann', note: 'a, b' },
			{ name: 'bob', note: 'c, d, e' },
		]));
	});

	it('2. repeated headers get unique, stable columns, reported in the summary and kept as comments', async () => {
		const result = await load('dups.csv', 'a,a,b,A,b\n1,2,3,4,5\n', mode);
		expect(result.summary!.columns.map((c) => [c.source, c.column])).toEqual([
			['a', 'a'],
			['a', 'a_2'],
			['b', 'b'],
			['A', 'a_3'],
			['b', 'b_2'],
		]);
		expect(result.summary!.repeatedHeaders).toEqual([
			{ header: 'a', position: 2, column: 'a_2' },
			{ header: 'A', position: 4, column: 'a_3' },
			{ header: 'b', position: 5, column: 'b_2' },
		]);
		expect(asText(await records(result.qualified))).toEqual(asText([{ a: 1, a_2: 2, b: 3, a_3: 4, b_2: 5 }]));
		const comment = await db.pool.query(`select col_description($1::regclass, attnum) as c from pg_attribute where attrelid = $1::regclass and attname = 'a_3'`, [result.qualified]);
		expect(comment.rows[0].c).toBe('source field: A');
		// The same header row again: the same columns, the same table.
		const { connectorId, runId } = await runningConnector(db.pool);
		writeFileSync(join(tmp, 'dups-again.csv'), 'a,a,b,A,b\n6,7,8,9,10\n');
		const again = await ingestFile(db.pool, localFileSource(join(tmp, 'dups-again.csv'), 'dups-again.csv'), {
			connectorId,
			runId,
			table: { schema: 'ipai_bronze_core', name: result.qualified.split('.')[1] },
			...mode,
		});
		expect(again.schemaChanges).toEqual([]);
		expect((await records(result.qualified, 'a')).length).toBe(2);
	});

	it('2. strict headers: a repeated header is an error naming the file and the header; nothing written', async () => {
		const result = await load('dups.csv', 'a,a,b,A,b\n1,2,3,4,5\n', { ...mode, csv: { strictHeaders: true } });
		expect(result.error).toBeInstanceOf(FileFormatError);
		expect(result.error!.message).toBe(
			'dups.csv: the headers "a", "A" (columns 1, 2, 4) would become the same column; the header "b" appears 2 times (columns 3, 5). ' +
				'Strict headers are on: rename the headers in the file, or turn Strict Headers off to number the repeats (a, a_2, …)',
		);
		expect(result.exists).toBe(false);
		expect(result.run).toEqual({ rows_read: 0, rows_written: 0, rejected: null });
		const only = await load('dup.csv', 'id,id\n1,2\n', { ...mode, csv: { strictHeaders: true } });
		expect(only.error!.message).toMatch(/^dup\.csv: the header "id" appears 2 times \(columns 1, 2\)\. Strict headers are on/);
	});

	it('3. a quoted empty field is the empty string, an unquoted one NULL; _ipai_raw keeps "" where a typed column cannot', async () => {
		const result = await load('empty.csv', 'id,note,n\n1,"",""\n2,,\n3,x,5\n', mode);
		expect(result.summary).toMatchObject({ rows: 3, detected: { path } });
		const { rows } = await db.pool.query(`select id::int, note, n::int from ${result.qualified} order by id`);
		expect(rows).toEqual([
			{ id: 1, note: '', n: null },
			{ id: 2, note: null, n: null },
			{ id: 3, note: 'x', n: 5 },
		]);
		expect(asText(await records(result.qualified, 'id'))).toEqual(asText([
			{ id: 1, note: '', n: '' },
			{ id: 2, note: null, n: null },
			{ id: 3, note: 'x', n: 5 },
		]));
	});
});

describe('JSON and NDJSON', () => {
	it('4. big integers keep every digit, in the column and in _ipai_raw (JSON and NDJSON)', async () => {
		const big = '12345678901234567890';
		for (const [name, text] of [
			['big.json', `[{"n":${big},"m":9007199254740993,"d":-9223372036854775808}]`],
			['big.ndjson', `{"n":${big},"m":9007199254740993,"d":-9223372036854775808}\n`],
		]) {
			const result = await load(name, text);
			expect(result.summary).toMatchObject({ rows: 1 });
			const { rows } = await db.pool.query(`select n::text, m::text, d::text, _ipai_raw::text as raw, pg_typeof(n)::text as tn, pg_typeof(m)::text as tm from ${result.qualified}`);
			expect(rows).toEqual([{ n: big, m: '9007199254740993', d: '-9223372036854775808', raw: `{"d": -9223372036854775808, "m": 9007199254740993, "n": ${big}}`, tn: 'numeric', tm: 'bigint' }]);
		}
	});

	it('4. decimals a double cannot hold keep every digit; PostgreSQL reading the file text is the oracle (JSON and NDJSON)', async () => {
		// Tokens of up to 40 significant digits and exponents past a double's range, as a file would hold them.
		const token = fc
			.tuple(fc.boolean(), fc.stringMatching(/^[1-9]\d{0,39}$/), fc.nat({ max: 45 }), fc.option(fc.integer({ min: -400, max: 400 }), { nil: undefined }))
			.map(([negative, digits, point, exponent]) => {
				const at = Math.min(point, digits.length - 1);
				const mantissa = at === 0 ? digits : `${digits.slice(0, digits.length - at)}.${digits.slice(digits.length - at)}`;
				return `${negative ? '-' : ''}${mantissa}${exponent === undefined ? '' : `e${exponent}`}`;
			});
		await fc.assert(
			fc.asyncProperty(fc.array(token, { minLength: 1, maxLength: 6 }), fc.boolean(), async (tokens, ndjson) => {
				const lines = tokens.map((t, i) => `{"id":${i},"x":${t},"nested":{"x":[${t}]}}`);
				const result = await load(ndjson ? 'exact.ndjson' : 'exact.json', ndjson ? `${lines.join('\n')}\n` : `[${lines.join(',')}]`);
				expect(result.summary).toMatchObject({ rows: tokens.length });
				const { rows } = await db.pool.query(
					`select t.n::int - 1 as i,
					        b.x::numeric = t.token::numeric as column_exact,
					        b._ipai_raw = format('{"id":%s,"x":%s,"nested":{"x":[%s]}}', t.n - 1, t.token, t.token)::jsonb as raw_exact
					   from unnest($1::text[]) with ordinality as t(token, n)
					   join ${result.qualified} b on b.id = t.n - 1
					  order by t.n`,
					[tokens],
				);
				expect(rows.map((r) => ({ ...r, token: tokens[r.i] }))).toEqual(tokens.map((t, i) => ({ i, column_exact: true, raw_exact: true, token: t })));
			}),
			{ numRuns: 25 },
		);
	});

	it('5. a pretty-printed object is one row, as the same object on one line', async () => {
		const object = { a: 1, b: { c: [1, 2] }, s: 'x\ny' };
		const pretty = await load('pretty.json', JSON.stringify(object, null, 2));
		expect(pretty.summary).toMatchObject({ format: 'json', rows: 1 });
		const oneLine = await load('line.json', JSON.stringify(object));
		expect(oneLine.summary).toMatchObject({ rows: 1 });
		expect(await records(pretty.qualified)).toEqual([object]);
		expect(await records(oneLine.qualified)).toEqual([object]);
		// Several pretty-printed objects one after another: one row each.
		const many = await load('many.json', `${JSON.stringify({ a: 1 }, null, 2)}\n${JSON.stringify({ a: 2 }, null, 4)}`);
		expect(many.summary).toMatchObject({ format: 'json', rows: 2 });
	});

	it('5. Records Path: a GeoJSON FeatureCollection gives one row per feature; data.items; a missing path is a clear error', async () => {
		const features = [1, 2, 3].map((id) => ({ type: 'Feature', id, geometry: { type: 'Point', coordinates: [id, -id] }, properties: { name: `p${id}`, 'key with "quotes"': null } }));
		const geojson = JSON.stringify({ type: 'FeatureCollection', name: 'points', features, bbox: [0, 0, 1, 1] }, null, 2);
		const geo = await load('points.geojson', geojson, { recordsPath: 'features' });
		expect(geo.summary).toMatchObject({ format: 'json', rows: 3, rowsRead: 3, detected: { recordsPath: 'features' } });
		expect(await records(geo.qualified, 'id')).toEqual(features);
		// Without the path, the collection is one row.
		const whole = await load('points.geojson', geojson);
		expect(whole.summary).toMatchObject({ rows: 1 });

		const dump = { meta: { page: 1, items: 'not these' }, data: { total: 2, items: [{ id: 1, v: 'a' }, { id: 2, v: 'b' }] } };
		const api = await load('dump.json', JSON.stringify(dump), { recordsPath: 'data.items' });
		expect(await records(api.qualified, 'id')).toEqual(dump.data.items);
		const ndjson = await load('dump.ndjson', `${JSON.stringify(dump)}\n${JSON.stringify({ data: { items: [{ id: 3, v: 'c' }] } })}\n`, { recordsPath: 'data.items' });
		expect(ndjson.summary).toMatchObject({ format: 'ndjson', rows: 3 });

		const missing = await load('dump.json', JSON.stringify(dump, null, 2), { recordsPath: 'data.rows' });
		expect(missing.error).toBeInstanceOf(FileFormatError);
		expect(missing.error!.message).toBe('dump.json: the records path "data.rows" is not in the file: "data" has no "rows" (its keys: "total", "items"; line 18)');
		expect(missing.exists).toBe(false);
		expect(missing.run).toEqual({ rows_read: 0, rows_written: 0, rejected: null });
	});

	it('5. Records Path on real GeoJSON (vega-datasets earthquakes.json, USGS): one row per feature, values as JSON.parse reads them', async () => {
		const path = join(__dirname, '..', '..', 'node_modules', 'vega-datasets', 'data', 'earthquakes.json');
		const text = readFileSync(path, 'utf8');
		const collection = JSON.parse(text) as { features: Array<{ id: string; properties: Record<string, unknown>; geometry: unknown }> };
		const result = await load('earthquakes.json', text, { recordsPath: 'features' });
		expect(result.summary).toMatchObject({ format: 'json', rows: collection.features.length, rejects: 0 });
		expect(result.summary!.columns.map((c) => [c.column, c.type])).toEqual([
			['type', 'text'],
			['properties', 'jsonb'],
			['geometry', 'jsonb'],
			['id', 'text'],
		]);
		const { rows } = await db.pool.query(`select id, properties, geometry from ${result.qualified}`);
		const byId = new Map(rows.map((r) => [r.id, r]));
		expect(byId.size).toBe(collection.features.length);
		for (const feature of collection.features) {
			expect(byId.get(feature.id)).toEqual({ id: feature.id, properties: feature.properties, geometry: feature.geometry });
		}
	});

	it('a truncated pretty object and text after a closing brace are errors with the line', async () => {
		const cut = await load('cut.json', '{\n  "a": 1,\n  "b": [1, 2');
		expect(cut.error!.message).toBe('cut.json: the JSON document is not closed: the file ends inside it (line 3); it may be truncated');
		const junk = await load('junk.json', '{\n  "a": 1\n}\n]');
		expect(junk.error!.message).toBe('junk.json: not valid JSON: unexpected "]" (line 4)');
		for (const failed of [cut, junk]) {
			expect(failed.exists).toBe(false);
			expect(failed.run).toEqual({ rows_read: 0, rows_written: 0, rejected: null });
		}
	});
});
