/**
 * Property tests of file ingest (fast-check), against PostgreSQL's own CSV reader as the oracle.
 *
 * CSV/TSV: random tables (integers up to 25 digits, decimals, booleans, dates, text with quotes,
 * delimiters, line breaks, backslashes and non-ASCII; NULLs and empty strings) rendered with a
 * random dialect (`,` `;` `\t` `|`, `"` or `'`, LF or CRLF, BOM, gzip, optional final line end)
 * and random ragged rows anywhere, including the first data rows. Invariants:
 *  - the generating delimiter is found (and the quote, when the file has one; LF/CRLF, BOM);
 *  - every good row lands with its values: each row rebuilt as text from its columns and
 *    _ipai_raw equals the generated row, NULL and '' kept apart;
 *  - the same bytes without the ragged rows, read by `COPY … (FORMAT csv)` with the same dialect
 *    into text columns, give the same rows (values, NULL vs '', count);
 *  - skip: the rejects are exactly the ragged rows (line, raw text, reason), and the run counts
 *    them (rows_read, metadata.rows_rejected); fail: the first ragged row is the error, nothing
 *    is written.
 * JSON/NDJSON: random records (nesting, big integers, unicode) rendered as an array, NDJSON,
 * pretty documents or under a records path, with random whitespace: every record lands and its
 * _ipai_raw equals the record.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { from as copyFrom } from 'pg-copy-streams';
import { localFileSource } from '../../lib/sources/files/bytes';
import { ingestFile } from '../../lib/sources/files/ingest';
import { BadRowError } from '../../lib/sources/files/types';
import { runningConnector } from '../helpers/connector';
import { useScratchDatabase } from '../../tooling/helpers/database';

jest.setTimeout(Number(process.env.PROPERTY_RUNS ?? 0) > 12 ? 3_600_000 : 180_000);
const db = useScratchDatabase();
const tmp = mkdtempSync(join(tmpdir(), 'ipai-files-prop-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

type Kind = 'int' | 'decimal' | 'bool' | 'date' | 'text';
type Cell = string | null;

interface Dialect {
	delimiter: string;
	quote: string;
	newline: '\n' | '\r\n';
	bom: boolean;
	gzip: boolean;
	finalNewline: boolean;
}

const TEXT_UNITS = ['a', 'b', 'Z', '0', '7', ' ', ',', ';', '\t', '|', '"', "'", '\n', '\r', '\\', '-', 'é', 'ß', '日', '😀', 'x'];
const text = fc.string({ unit: fc.constantFrom(...TEXT_UNITS), maxLength: 12 });
const valueOf: Record<Kind, fc.Arbitrary<string>> = {
	int: fc.oneof(fc.integer().map(String), fc.bigInt({ min: -(10n ** 25n), max: 10n ** 25n }).map(String)),
	decimal: fc.tuple(fc.integer({ min: -100000, max: 100000 }), fc.integer({ min: 0, max: 999 })).map(([i, f]) => `${i}.${String(f).padStart(3, '0')}`),
	bool: fc.constantFrom('true', 'false', 'TRUE', 'False'),
	date: fc.date({ min: new Date('1900-01-01T00:00:00Z'), max: new Date('2100-12-31T00:00:00Z'), noInvalidDate: true }).map((d) => d.toISOString().slice(0, 10)),
	text,
};
const cellOf = (kind: Kind): fc.Arbitrary<Cell> =>
	fc.oneof({ arbitrary: valueOf[kind], weight: 8 }, { arbitrary: fc.constant(null), weight: 1 }, { arbitrary: fc.constant(''), weight: 1 });

const dialect: fc.Arbitrary<Dialect> = fc.record({
	delimiter: fc.constantFrom(',', ';', '\t', '|'),
	quote: fc.constantFrom('"', "'"),
	newline: fc.constantFrom('\n' as const, '\r\n' as const),
	bom: fc.boolean(),
	gzip: fc.boolean(),
	finalNewline: fc.boolean(),
});

interface CsvCase {
	kinds: Kind[];
	names: string[];
	rows: Cell[][];
	/** Ragged rows: inserted before good row `at` (0: right after the header). */
	ragged: Array<{ at: number; fields: string[] }>;
	forceQuote: boolean[];
	dialect: Dialect;
	raw: 'compact' | 'full';
}

const csvCase: fc.Arbitrary<CsvCase> = fc
	.array(fc.constantFrom<Kind>('int', 'decimal', 'bool', 'date', 'text'), { minLength: 2, maxLength: 5 })
	.chain((kinds) =>
		fc.record({
			kinds: fc.constant(kinds),
			names: fc.constant(kinds.map((k, i) => `${k} ${i}${i % 2 ? ' Ü' : ''}`)),
			rows: fc.array(fc.tuple(...kinds.map(cellOf)), { minLength: 1, maxLength: 12 }),
			ragged: fc.array(
				fc.record({
					at: fc.nat(),
					fields: fc.integer({ min: 1, max: kinds.length + 2 }).filter((w) => w !== kinds.length).chain((w) => fc.array(fc.stringMatching(/^[a-z][a-z0-9]{0,5}$/), { minLength: w, maxLength: w })),
				}),
				{ maxLength: 3 },
			),
			forceQuote: fc.array(fc.boolean(), { minLength: 64, maxLength: 64 }),
			dialect,
			raw: fc.constantFrom<'compact' | 'full'>('compact', 'full'),
		}),
	)
	// At most as many ragged rows as good ones: the header's reading stays the majority's.
	.map((c) => ({ ...c, ragged: c.ragged.slice(0, c.rows.length).map((r) => ({ ...r, at: r.at % (c.rows.length + 1) })) }));

function field(value: Cell, d: Dialect, force: boolean): string {
	if (value === null) return '';
	const needs = value === '' || /[\n\r"']/.test(value) || value.includes(d.delimiter);
	if (!needs && !force) return value;
	return d.quote + value.split(d.quote).join(d.quote + d.quote) + d.quote;
}

interface Rendered {
	bytes: Buffer;
	/** The file as text, without BOM or gzip. */
	plain: string;
	/** Each ragged row in file order: the line its record ends on, its text, its width. */
	raggedLines: Array<{ line: number; raw: string; width: number }>;
}

function render(c: CsvCase, withRagged = true): Rendered {
	const d = c.dialect;
	let q = 0;
	const line = (cells: Cell[]) => cells.map((v) => field(v, d, c.forceQuote[q++ % c.forceQuote.length])).join(d.delimiter);
	const records: Array<{ text: string; width?: number }> = [{ text: line(c.names) }];
	for (let i = 0; i <= c.rows.length; i++) {
		if (withRagged) for (const r of c.ragged.filter((x) => x.at === i)) records.push({ text: line(r.fields), width: r.fields.length });
		if (i < c.rows.length) records.push({ text: line(c.rows[i]) });
	}
	const raggedLines: Rendered['raggedLines'] = [];
	let lineNo = 0;
	for (const r of records) {
		lineNo += 1 + (r.text.match(/\n/g)?.length ?? 0);
		if (r.width !== undefined) raggedLines.push({ line: lineNo, raw: r.text, width: r.width });
	}
	const plain = records.map((r) => r.text).join(d.newline) + (d.finalNewline ? d.newline : '');
	let bytes = Buffer.from((d.bom ? '\uFEFF' : '') + plain, 'utf8');
	if (d.gzip) bytes = gzipSync(bytes);
	return { bytes, plain, raggedLines };
}

const sortRows = (rows: Cell[][]) => rows.map((r) => JSON.stringify(r)).sort();

/** PostgreSQL's COPY … (FORMAT csv) of the same bytes into text columns: the oracle. */
async function postgresReads(plain: string, d: Dialect, width: number): Promise<Cell[][]> {
	const client = await db.pool.connect();
	try {
		await client.query('begin');
		const columns = Array.from({ length: width }, (_, i) => `c${i}`);
		await client.query(`create temporary table oracle (ord serial, ${columns.map((c) => `${c} text`).join(', ')}) on commit drop`);
		const quote = d.quote.replace(/'/g, "''");
		const delimiter = d.delimiter === '\t' ? 'E\'\\t\'' : `'${d.delimiter}'`;
		const copy = client.query(copyFrom(`copy oracle (${columns.join(', ')}) from stdin with (format csv, header true, delimiter ${delimiter}, quote '${quote}', escape '${quote}', null '', encoding 'UTF8')`));
		await pipeline(Readable.from([Buffer.from(plain, 'utf8')]), copy);
		const { rows } = await client.query(`select ${columns.join(', ')} from oracle order by ord`);
		await client.query('commit');
		return rows.map((r) => columns.map((c) => r[c] as Cell));
	} finally {
		client.release();
	}
}

let files = 0;
async function ingest(bytes: Buffer, name: string, options: Record<string, unknown>) {
	const path = join(tmp, `${++files}-${name}`);
	writeFileSync(path, bytes);
	const { connectorId, runId } = await runningConnector(db.pool);
	const table = { schema: 'ipai_bronze_core', name: `prop_${files}` };
	const qualified = `${table.schema}.${table.name}`;
	const outcome = await ingestFile(db.pool, localFileSource(path, name), { connectorId, runId, table, ...options }).then(
		(summary) => ({ summary, error: undefined as Error | undefined }),
		(error: Error) => ({ summary: undefined, error }),
	);
	return { ...outcome, runId, qualified };
}

/** Each loaded row rebuilt as the file wrote it: _ipai_raw's text where it has one, else the column as text. */
async function loadedRows(qualified: string, columns: string[]): Promise<Cell[][]> {
	const select = columns.map((c) => `coalesce(t._ipai_raw->>'${c}', t.${c}::text)`).join(', ');
	const { rows } = await db.pool.query({ text: `select ${select} from ${qualified} t`, rowMode: 'array' });
	return rows as Cell[][];
}

/**
 * Runs per property: modest, so each stays well under 20 s on a busy machine (an ingest with its
 * run, table and oracle COPY costs ~0.1–1.5 s here). PROPERTY_RUNS=200 for a deeper search.
 */
const RUNS = Number(process.env.PROPERTY_RUNS ?? 12);

describe('CSV/TSV properties (oracle: PostgreSQL COPY … FORMAT csv)', () => {
	it('skip: the dialect is found, good rows land with their values, ragged rows are exactly the rejects', async () => {
		await fc.assert(
			fc.asyncProperty(csvCase, async (c) => {
				const file = render(c);
				const name = c.dialect.gzip ? 'case.csv.gz' : 'case.csv';
				const { summary, error, runId, qualified } = await ingest(file.bytes, name, { onBadRow: 'skip', rawRecord: c.raw });
				if (error) throw error;
				const hasQuote = file.plain.includes(c.dialect.quote);
				expect(summary!.detected).toMatchObject({
					delimiter: c.dialect.delimiter,
					...(hasQuote ? { quote: c.dialect.quote } : {}),
					header: true,
					bom: c.dialect.bom,
					...(file.plain.includes('\r\n') === (c.dialect.newline === '\r\n') ? { newline: c.dialect.newline === '\r\n' ? 'CRLF' : 'LF' } : {}),
				});
				expect(summary!.format).toBe(c.dialect.delimiter === '\t' ? 'tsv' : 'csv');
				const columns = summary!.columns.map((col) => col.column);
				expect(summary!.columns.map((col) => col.source)).toEqual(c.names);
				expect(summary).toMatchObject({ rows: c.rows.length, rejects: c.ragged.length, rowsRead: c.rows.length + c.ragged.length });

				const loaded = await loadedRows(qualified, columns);
				expect(sortRows(loaded)).toEqual(sortRows(c.rows));
				const oracle = await postgresReads(render(c, false).plain, c.dialect, c.kinds.length);
				expect(sortRows(loaded)).toEqual(sortRows(oracle));

				const rejects = await db.pool.query('select line_number::int as line, raw_line as raw, reason, target_table from ipai_bronze_core.ipai_load_reject where run_id = $1 order by line_number', [runId]);
				expect(rejects.rows).toEqual(file.raggedLines.map((r) => ({ line: r.line, raw: r.raw, reason: `expected ${c.kinds.length} fields, found ${r.width}`, target_table: qualified })));
				const run = await db.pool.query(`select rows_read::int, (metadata->>'rows_rejected')::int as rejected from ipai_connector_run where id = $1`, [runId]);
				expect(run.rows[0]).toEqual({ rows_read: c.rows.length + c.ragged.length, rejected: c.ragged.length });
			}),
			{ numRuns: RUNS },
		);
	});

	it('fail: the first ragged row is the error (file, line, widths) and nothing is written', async () => {
		await fc.assert(
			fc.asyncProperty(
				csvCase.filter((c) => c.ragged.length > 0),
				async (c) => {
					const file = render(c);
					const { error, runId, qualified } = await ingest(file.bytes, 'ragged.csv', { onBadRow: 'fail', rawRecord: c.raw });
					expect(error).toBeInstanceOf(BadRowError);
					const first = file.raggedLines[0];
					expect(error!.message).toBe(
						`ragged.csv, line ${first.line}: expected ${c.kinds.length} fields, found ${first.width}. Nothing from this file was loaded; fix the row, declare the column's type, or set bad rows to "skip".`,
					);
					expect((await db.pool.query('select to_regclass($1) as t', [qualified])).rows[0].t).toBeNull();
					const run = await db.pool.query(`select coalesce(rows_read, 0)::int as n, metadata ? 'rows_rejected' as counted from ipai_connector_run where id = $1`, [runId]);
					expect(run.rows[0]).toEqual({ n: 0, counted: false });
					const rejects = await db.pool.query('select count(*)::int as n from ipai_bronze_core.ipai_load_reject where run_id = $1', [runId]);
					expect(rejects.rows[0].n).toBe(0);
				},
			),
			{ numRuns: Math.ceil(RUNS / 2) },
		);
	});
});

// --- JSON / NDJSON ---------------------------------------------------------------------------

type Json = null | boolean | number | bigint | string | Json[] | { [key: string]: Json };

const jsonText = fc.string({ unit: fc.constantFrom('a', 'Z', ' ', '"', '\\', '\n', '\t', '{', '}', '[', ']', ',', ':', 'é', '日', '😀', '\u0001'), maxLength: 8 });
const jsonScalar: fc.Arbitrary<Json> = fc.oneof(
	fc.constant(null),
	fc.boolean(),
	fc.integer(),
	fc.bigInt({ min: -(10n ** 30n), max: 10n ** 30n }).filter((b) => b < -(2n ** 53n) || b > 2n ** 53n),
	fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e12, max: 1e12 }).filter((x) => !Object.is(x, -0)),
	jsonText,
);
const jsonValue: fc.Arbitrary<Json> = fc.letrec<{ value: Json }>((tie) => ({
	value: fc.oneof(
		{ depthSize: 'small', withCrossShrink: true },
		jsonScalar,
		fc.array(tie('value'), { maxLength: 3 }),
		fc.dictionary(fc.stringMatching(/^[a-z]{1,4}$/), tie('value'), { maxKeys: 3 }),
	),
})).value;
/** Records: the keys are column names already (lower case), so _ipai_raw holds them as they are. */
const jsonRecord = fc.record({ n: fc.oneof(fc.integer(), fc.bigInt({ min: -(10n ** 22n), max: 10n ** 22n })) }).chain((base) =>
	fc.dictionary(fc.stringMatching(/^k[a-z]{1,3}$/), jsonValue, { maxKeys: 4 }).map((rest) => ({ ...base, ...rest }) as { [key: string]: Json }),
);

/** JSON text with BigInts as exact number literals and random whitespace between tokens. */
function stringify(value: Json, space: () => string): string {
	if (typeof value === 'bigint') return value.toString();
	if (value === null || typeof value !== 'object') return JSON.stringify(value);
	if (Array.isArray(value)) return `[${space()}${value.map((v) => stringify(v, space)).join(`${space()},${space()}`)}${space()}]`;
	return `{${space()}${Object.entries(value).map(([k, v]) => `${JSON.stringify(k)}${space()}:${space()}${stringify(v, space)}`).join(`${space()},${space()}`)}${space()}}`;
}

describe('JSON and NDJSON properties', () => {
	it('every record lands once and its _ipai_raw is the record, whatever the layout and whitespace', async () => {
		await fc.assert(
			fc.asyncProperty(
				fc.array(jsonRecord, { minLength: 1, maxLength: 8 }),
				fc.constantFrom('array', 'ndjson', 'documents', 'path'),
				fc.array(fc.constantFrom('', ' ', '\n', '\t', '\r\n', '  \n  '), { minLength: 16, maxLength: 16 }),
				fc.boolean(),
				async (records, layout, spaces, gzip) => {
					let s = 0;
					const space = () => spaces[s++ % spaces.length];
					const oneLine = () => '';
					let body: string;
					let options: Record<string, unknown> = {};
					if (layout === 'array') body = `${space()}[${records.map((r) => space() + stringify(r, space)).join(',')}${space()}]${space()}`;
					else if (layout === 'ndjson') body = `${records.map((r) => stringify(r, oneLine)).join('\n')}\n`;
					else if (layout === 'documents') body = records.map((r) => `${stringify(r, space)}\n${space()}`).join('');
					else {
						body = stringify({ meta: { items: [1, 2] }, data: { total: records.length, items: records } } as unknown as Json, space);
						options = { recordsPath: 'data.items' };
					}
					// A pretty document whose first record sits on one line followed by more is NDJSON by
					// its look; it is still read record by record.
					const name = layout === 'ndjson' ? 'records.ndjson' : 'records.json';
					const bytes = gzip ? gzipSync(Buffer.from(body)) : Buffer.from(body);
					const { summary, error, qualified } = await ingest(bytes, name, options);
					if (error) throw new Error(`${error.message}\n${body}`);
					expect(summary).toMatchObject({ rows: records.length, rejects: 0 });
					const expected = await db.pool.query('select (x::jsonb)::text as j from unnest($1::text[]) x', [records.map((r) => stringify(r, oneLine))]);
					const loaded = await db.pool.query(`select _ipai_raw::text as j, n::text as n from ${qualified}`);
					expect(loaded.rows.map((r) => r.j).sort()).toEqual(expected.rows.map((r) => r.j).sort());
					expect(loaded.rows.map((r) => r.n).sort()).toEqual(records.map((r) => String(r.n)).sort());
				},
			),
			{ numRuns: RUNS },
		);
	});
});
