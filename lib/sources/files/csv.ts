/**
 * CSV/TSV: a sniffer in the spirit of DuckDB's (dialect → column types → header, from a sample),
 * then a streaming reader (csv-parse) that checks each row against the decided schema.
 *
 * Types are decided from the first `sampleRows` rows (DuckDB's 20,480). A later value that does
 * not fit its column is a bad row — as in DuckDB — rather than a silent re-typing in the middle of
 * a file; an explicit column → type map overrides the sample. Across files, a wider type in a
 * later file widens the table (the engine's evolution).
 */
import type { Readable } from 'node:stream';
import { parse, type Options as CsvParseOptions } from 'csv-parse';
import { parse as parseSync } from 'csv-parse/sync';
import { fitsType, inferTextType, newColumnType, sqlTypeName, widen, type ColumnType } from '../../lakehouse/columnTypes';
import type { LoadRecord } from '../../lakehouse/loader';
import { CsvScanner, NotCopyable } from './csvScanner';
import { baseName, ColumnNamer } from './names';
import { BadRowError, FileFormatError, type CsvDialect, type CsvOptions, type FileReader, type ReadBatch, type ReadOptions, type Reject, type SourceColumn } from './types';

export const SAMPLE_BYTES = 1 << 20;
export const DEFAULT_SAMPLE_ROWS = 20_480;
/**
 * The compact _ipai_raw of a CSV/TSV row whose values its columns all give back exactly. The whole
 * record is always `(to_jsonb(row) - the _ipai_ columns) || _ipai_raw` (README, File Ingest).
 */
const EMPTY_RAW = Object.freeze({});
const DELIMITERS = [',', '\t', ';', '|'];
const QUOTES = ['"', "'"];

/** What the sniffer decided, as reported in the file's summary (`detected`). */
export function describeDialect(dialect: CsvDialect, sampleRows: number) {
	const newline = dialect.newline === '\r\n' ? 'CRLF' : dialect.newline === '\r' ? 'CR' : 'LF';
	const { delimiter, quote, header, encoding, bom } = dialect;
	return { delimiter, quote, header, encoding, bom, newline, sampleRows };
}

/** Sniffs the dialect from the first bytes of the (decompressed) file. */
export function sniffDialect(head: Buffer, complete: boolean, file: string, options: CsvOptions = {}, tsvHint = false): CsvDialect {
	const bom = head.length >= 3 && head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf;
	if (head.length >= 2 && ((head[0] === 0xff && head[1] === 0xfe) || (head[0] === 0xfe && head[1] === 0xff))) {
		throw new FileFormatError(file, 'the file is UTF-16 encoded; convert it to UTF-8 (or Latin-1) first');
	}
	const encoding = options.encoding ?? (isUtf8(head.subarray(bom ? 3 : 0), complete) ? 'utf-8' : 'latin1');
	let text = head.subarray(bom ? 3 : 0).toString(encoding === 'utf-8' ? 'utf8' : 'latin1');
	if (!complete) {
		// Only whole lines: the last one may be cut (a quoted newline inside it is rare in a sample).
		const cut = text.lastIndexOf('\n');
		if (cut > 0) text = text.slice(0, cut + 1);
	}
	if (text.trim().length === 0) throw new FileFormatError(file, 'the file is empty (no rows, no header)');
	// The first line end (the header's, as a rule) says how lines end: a line break inside a quoted
	// value further down must not decide it.
	const lf = text.indexOf('\n');
	const newline = lf > 0 && text[lf - 1] === '\r' ? '\r\n' : lf !== -1 ? '\n' : text.includes('\r') ? '\r' : '\n';

	const delimiters = options.delimiter !== undefined ? [options.delimiter] : tsvHint ? ['\t', ...DELIMITERS.filter((d) => d !== '\t')] : DELIMITERS;
	const quotes = options.quote !== undefined ? [options.quote] : QUOTES;
	// The contest is run on the first 64 KiB; its winner only has to prove itself on the whole
	// sample — every row as wide — by the byte scanner, or by csv-parse when the scanner cannot
	// tell (eight csv-parse passes over 1 MiB took ~0.4 s before a file's first row). Should the
	// winner fail there, the whole sample decides among all candidates, as it always did.
	let best: Candidate | null = null;
	if (text.length > PROBE_CHARS) {
		const cut = text.lastIndexOf('\n', PROBE_CHARS);
		const probe = cut > 0 ? dialectContest(text.slice(0, cut + 1), delimiters, quotes) : null;
		if (probe?.consistent) {
			const width = widthThroughout(text, probe.delimiter, probe.quote, newline);
			if (width === probe.columns) {
				// The header rule reads the first 1,001 rows, as from the whole sample.
				best = { ...probe, rows: parseSync(text, { delimiter: probe.delimiter, quote: probe.quote === '' ? false : probe.quote, escape: probe.quote === '' ? null : probe.quote, relax_column_count: true, skip_empty_lines: true, to: 1001 }) as string[][] };
			} else if (width === undefined) {
				const confirmed = dialectContest(text, [probe.delimiter], [probe.quote]);
				if (confirmed?.consistent && confirmed.columns === probe.columns) best = confirmed;
			}
		}
	}
	best ??= dialectContest(text, delimiters, quotes);
	if (!best) throw new FileFormatError(file, 'no delimiter and quote character read the first rows as CSV; set the delimiter and quote explicitly');
	const header = options.header ?? detectHeader(best.rows);
	return { delimiter: best.delimiter, quote: best.quote, header, encoding, bom, newline };
}

interface Candidate {
	delimiter: string;
	quote: string;
	consistent: boolean;
	columns: number;
	share: number;
	rows: string[][];
}

const PROBE_CHARS = 64 * 1024;

/**
 * The one width every row of `text` has under this dialect, null when rows differ, undefined when
 * the byte scanner cannot read the text the way csv-parse would (then csv-parse decides).
 */
function widthThroughout(text: string, delimiter: string, quote: string, newline: CsvDialect['newline']): number | null | undefined {
	let width = -1;
	let uneven = false;
	try {
		const scanner = new CsvScanner({ delimiter, quote, newline }, 0);
		scanner.push(Buffer.from(text, 'utf8'), (_buf, _start, _end, _next, count) => {
			if (count === 0) return;
			if (width === -1) width = count;
			else if (count !== width) uneven = true;
		});
		scanner.push(null, () => undefined);
	} catch (error) {
		if (error instanceof NotCopyable) return undefined;
		throw error;
	}
	return uneven ? null : width;
}

/**
 * The delimiter and quote that read `text` best. A reading is judged by the first row (the header,
 * or the first record): `share` is the part of the rows exactly as wide as it. A reading that
 * splits the first row into several fields and on which at least half the rows agree with it
 * beats any one-column reading, so a ragged row (one field too many or too few) cannot make the
 * file a one-column TSV: it stays a row of the right dialect, for *Bad Rows* to handle. Among
 * such readings the one most rows agree with wins, then the one with more columns. Without one,
 * the old rule decides: every row as wide as the others, then the most columns.
 */
function dialectContest(text: string, delimiters: string[], quotes: string[]): Candidate | null {
	let best: Candidate | null = null;
	let bestScore: number[] = [];
	// A delimiter or quote that never occurs reads the text like any other that never occurs: only
	// the first of them (in order, which breaks ties) is tried.
	const absent = (c: string) => c !== '' && !text.includes(c);
	const tried = delimiters.filter((d, i) => !absent(d) || delimiters.findIndex(absent) === i);
	for (const delimiter of tried) {
		for (const quote of quotes.filter((q, i) => !absent(q) || quotes.findIndex(absent) === i)) {
			let rows: string[][];
			try {
				rows = parseSync(text, { delimiter, quote: quote === '' ? false : quote, escape: quote === '' ? null : quote, relax_column_count: true, skip_empty_lines: true }) as string[][];
			} catch {
				continue; // this quote/delimiter pair cannot read the sample
			}
			if (rows.length === 0) continue;
			const columns = rows[0].length;
			let agree = 0;
			for (const row of rows) if (row.length === columns) agree++;
			const share = agree / rows.length;
			const consistent = share === 1;
			// Higher is better, compared element by element.
			// Last: a quote that occurs in the text reads it better than one that does not (`'x'` is quoted).
			const quoted = quote !== '' && text.includes(quote) ? 1 : 0;
			// A reading that quotes nothing while another quote character opens or closes fields has
			// split quoted values apart; a stray row more or less must not let it win.
			const others = quotes.filter((q) => q !== quote && q !== '' && !absent(q));
			const enclosedElsewhere = !quoted && others.some((q) => rows.some((row) => row.some((f) => f.startsWith(q) || f.endsWith(q))));
			const score = [
				columns > 1 && share >= 0.5 ? 1 : 0,
				enclosedElsewhere ? 0 : 1,
				...(columns > 1 && share >= 0.5 ? [share, columns] : [consistent ? 1 : 0, columns, share]),
				quoted,
			];
			if (!best || compareScores(score, bestScore) > 0) {
				best = { delimiter, quote, consistent, columns, share, rows };
				bestScore = score;
			}
		}
	}
	return best;
}

function compareScores(a: number[], b: number[]): number {
	for (let i = 0; i < Math.max(a.length, b.length); i++) {
		const d = (a[i] ?? 0) - (b[i] ?? 0);
		if (d !== 0) return d;
	}
	return 0;
}

/**
 * DuckDB's rule: the first row is a header when its values do not fit the types of the rows below
 * it; when every column is text it cannot tell and assumes a header.
 */
function detectHeader(rows: string[][]): boolean {
	if (rows.length < 2) return true; // a lone row: a header-only file (reported as such later)
	const body = rows.slice(1, 1 + 1000);
	const width = rows[0].length;
	let anyTyped = false;
	for (let c = 0; c < width; c++) {
		let type: ColumnType | null = null;
		for (const row of body) type = widen(type, inferTextType(row[c] ?? ''));
		if (type === null || type === 'text') continue;
		anyTyped = true;
		if (!fitsType(type, inferTextType(rows[0][c] ?? ''))) return true;
	}
	return !anyTyped;
}

/**
 * The line a record ends on, from the bytes read so far: 1 + the line feeds before the record's
 * last byte (its own line end excluded). Asked in increasing order; chunks are let go once passed.
 */
class LineFeeds {
	private readonly chunks: Buffer[] = [];
	/** Byte offset where chunks[0] starts, and how far into it line feeds are counted. */
	private chunkStart = 0;
	private counted = 0;
	private feeds = 0;

	push(chunk: Buffer): void {
		this.chunks.push(chunk);
	}

	/** Bytes [start, end) as text (not yet passed by lineEndingAt). */
	text(start: number, end: number, encoding: BufferEncoding): string {
		const pieces: Buffer[] = [];
		let at = this.chunkStart;
		for (const chunk of this.chunks) {
			const from = Math.max(start, at);
			const to = Math.min(end, at + chunk.length);
			if (from < to) pieces.push(chunk.subarray(from - at, to - at));
			at += chunk.length;
			if (at >= end) break;
		}
		return (pieces.length === 1 ? pieces[0] : Buffer.concat(pieces)).toString(encoding);
	}

	lineEndingAt(bytes: number): number {
		this.countTo(bytes - 1);
		const last = this.byteAt(bytes - 1);
		this.countTo(bytes);
		return 1 + this.feeds - (last === 10 ? 1 : 0);
	}

	private byteAt(offset: number): number | undefined {
		let start = this.chunkStart;
		for (const chunk of this.chunks) {
			if (offset < start + chunk.length) return offset >= start ? chunk[offset - start] : undefined;
			start += chunk.length;
		}
		return undefined;
	}

	/** Counts line feeds up to (not including) byte `to`. */
	private countTo(to: number): void {
		while (this.chunks.length > 0 && this.counted < to) {
			const chunk = this.chunks[0];
			const from = this.counted - this.chunkStart;
			const end = Math.min(chunk.length, to - this.chunkStart);
			for (let i = chunk.indexOf(10, from); i !== -1 && i < end; i = chunk.indexOf(10, i + 1)) this.feeds++;
			this.counted = this.chunkStart + end;
			if (end === chunk.length) {
				this.chunks.shift();
				this.chunkStart += chunk.length;
			} else break;
		}
	}
}

/**
 * Which fields of a record csv-parse accepted were quoted, from its text (blank lines before it,
 * and a BOM at the start of the file, are skipped as csv-parse skipped them).
 */
function quotedFields(text: string, delimiter: string, quote: string, count: number, fileStart: boolean): boolean[] {
	const quoted = new Array<boolean>(count).fill(false);
	let i = fileStart && text.charCodeAt(0) === 0xfeff ? 1 : 0;
	while (i < text.length && (text[i] === '\n' || text[i] === '\r')) i++;
	for (let f = 0; f < count && i <= text.length; f++) {
		if (quote !== '' && text[i] === quote) {
			quoted[f] = true;
			let j = i + 1;
			while (j < text.length) {
				if (text[j] === quote) {
					if (text[j + 1] === quote) j += 2;
					else break;
				} else j++;
			}
			i = j + 1;
			if (text.startsWith(delimiter, i)) i += delimiter.length;
		} else {
			const next = text.indexOf(delimiter, i);
			i = next === -1 ? text.length + 1 : next + delimiter.length;
		}
	}
	return quoted;
}

function isUtf8(bytes: Buffer, complete: boolean): boolean {
	// A multi-byte character may be cut at the end of a sample: drop up to 3 trailing bytes.
	let end = bytes.length;
	if (!complete) {
		for (let i = 0; i < 3 && end > 0 && (bytes[end - 1] & 0xc0) === 0x80; i++) end--;
		if (end > 0 && bytes[end - 1] >= 0xc0) end--;
	}
	try {
		new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(0, end));
		return true;
	} catch {
		return false;
	}
}

/**
 * The columns of a CSV/TSV file: normalised names, and types from the sampled rows (rows of
 * another width say nothing) unless declared. Shared by the checked reader and the COPY path, so
 * both decide the same table from the same file.
 */
export function decideColumns(names: string[], sample: Array<Array<string | null>>, options: ReadOptions, file: string): SourceColumn[] {
	const width = names.length;
	if (options.csv?.strictHeaders) assertUniqueHeaders(names, file);
	const namer = new ColumnNamer();
	const overrides = options.columnTypes ?? {};
	return names.map((source, i) => {
		const column = namer.fresh(source, i);
		const declared = overrides[source] ?? overrides[column];
		if (declared) return { source, column, type: declared, inferred: false };
		let type: ColumnType | null = null;
		for (const record of sample) {
			if (record.length !== width) continue;
			type = widen(type, inferTextType(record[i] ?? ''));
			if (type === 'text') break;
		}
		return { source, column, type: type === null ? 'text' : newColumnType(type), inferred: true };
	});
}

/**
 * Strict headers: every header names one column of its own. Headers that are equal, or become the
 * same column name (`a` and `A`, `Cost $` and `cost`), are an error naming the file and the headers.
 */
function assertUniqueHeaders(names: string[], file: string): void {
	const byBase = new Map<string, number[]>();
	names.forEach((name, i) => {
		const base = baseName(name, i);
		byBase.set(base, [...(byBase.get(base) ?? []), i]);
	});
	const clashes = [...byBase.values()].filter((positions) => positions.length > 1);
	if (clashes.length === 0) return;
	const described = clashes.map((positions) => {
		const headers = [...new Set(positions.map((p) => names[p]))];
		const where = `columns ${positions.map((p) => p + 1).join(', ')}`;
		return headers.length === 1 ? `the header ${JSON.stringify(headers[0])} appears ${positions.length} times (${where})` : `the headers ${headers.map((h) => JSON.stringify(h)).join(', ')} (${where}) would become the same column`;
	});
	throw new FileFormatError(file, `${described.join('; ')}. Strict headers are on: rename the headers in the file, or turn Strict Headers off to number the repeats (a, a_2, …)`);
}

/** Headers that share a name with an earlier header, and the column each was given instead. */
export function repeatedHeaders(columns: SourceColumn[]): Array<{ header: string; position: number; column: string }> {
	const result: Array<{ header: string; position: number; column: string }> = [];
	columns.forEach((c, i) => {
		if (c.column !== baseName(c.source, i)) result.push({ header: c.source, position: i + 1, column: c.column });
	});
	return result;
}

const CANONICAL_INTEGER = /^-?(?:0|[1-9]\d*)$/;
const CANONICAL_DECIMAL = /^-?(?:0|[1-9]\d*)(?:\.\d+)?$/;
const NEGATIVE_ZERO = /^-0(?:\.0*)?$/;
const CANONICAL_TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{0,5}[1-9])?$/;

/**
 * Whether a column of this type gives a value's text back exactly, as `to_jsonb()` prints the
 * typed value: then the row's compact _ipai_raw need not repeat it. Only forms known to
 * round-trip say yes: `5`, `1.50`, `2024-01-31`, `true`; `+5`, `.5`, `1e3`, `TRUE`,
 * `2024-01-31 10:00` and every timestamptz (printed in the reader's time zone) say no.
 */
export function keepsText(type: ColumnType, value: string): boolean {
	switch (type) {
		case 'text':
		case 'date':
			return true;
		case 'integer':
		case 'bigint':
			return CANONICAL_INTEGER.test(value) && value !== '-0';
		case 'double':
			return CANONICAL_INTEGER.test(value) && value.length <= 10 && value !== '-0';
		case 'numeric':
			return CANONICAL_DECIMAL.test(value) && !NEGATIVE_ZERO.test(value);
		case 'timestamp':
			return CANONICAL_TIMESTAMP.test(value);
		case 'boolean':
			return value === 'true' || value === 'false';
		default:
			return false;
	}
}

/** Why a value is a bad row: the same words whichever path found it. */
export function badValueReason(value: string, column: SourceColumn, sampled: number): string {
	return `${JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value)} is not a ${sqlTypeName(column.type)} value (the column's type ${
		column.inferred ? `was inferred from the first ${sampled} rows` : 'was declared'
	})`;
}

/** Opens a CSV/TSV reader: sniffs, samples, decides types, then streams checked pages. */
export async function readCsv(stream: Readable, head: Buffer, complete: boolean, file: string, options: ReadOptions, tsv: boolean): Promise<FileReader> {
	const dialect = sniffDialect(head, complete, file, options.csv, tsv);
	const policy = options.onBadRow ?? 'fail';
	const skip = policy === 'skip';
	const parserOptions: CsvParseOptions = {
		delimiter: dialect.delimiter,
		quote: dialect.quote === '' ? false : dialect.quote,
		escape: dialect.quote === '' ? null : dialect.quote,
		encoding: dialect.encoding === 'utf-8' ? 'utf8' : 'latin1',
		bom: true,
		relax_column_count: true,
		skip_empty_lines: true,
		info: true,
		raw: skip,
		skip_records_with_error: skip,
	};
	// Line numbers are physical lines (line feeds), as the COPY path counts them: csv-parse's own
	// count also takes a carriage return inside quotes for a line.
	const lineFeeds = new LineFeeds();
	const encoding: BufferEncoding = dialect.encoding === 'utf-8' ? 'utf8' : 'latin1';
	let recordEnd = 0;
	stream.on('data', (chunk: Buffer) => lineFeeds.push(chunk));
	const parser = stream.pipe(parse(parserOptions));
	stream.on('error', (error) => parser.destroy(error));
	const parseRejects: Reject[] = [];
	if (skip) {
		parser.on('skip', (error: Error & { lines?: number; raw?: string }) => {
			parseRejects.push({ line: error.lines ?? null, column: null, reason: error.message, raw: error.raw ?? null });
		});
	}
	type Parsed = { record: Array<string | null>; info: { lines: number; bytes: number }; raw?: string };
	const rawLine = (row: Parsed, values: Array<string | null>): string => (row.raw !== undefined ? row.raw.replace(/\r?\n$|\r$/, '') : values.join(dialect.delimiter));
	const iterator = parser[Symbol.asyncIterator]() as AsyncIterator<Parsed>;
	const next = async (): Promise<Parsed | null> => {
		try {
			const result = await iterator.next();
			if (result.done) return null;
			const row = result.value;
			const start = recordEnd;
			recordEnd = row.info.bytes;
			// PostgreSQL's CSV rule: an unquoted empty field is NULL (null here), a quoted one ("")
			// the empty string. csv-parse gives '' for both: a record with an empty field is looked
			// at in the file's bytes (csv-parse's per-field cast costs ~8× the whole read).
			if (row.record.includes('')) {
				const quoted = quotedFields(lineFeeds.text(start, recordEnd, encoding), dialect.delimiter, dialect.quote, row.record.length, start === 0);
				for (let i = 0; i < row.record.length; i++) if (row.record[i] === '' && !quoted[i]) row.record[i] = null;
			}
			row.info.lines = lineFeeds.lineEndingAt(recordEnd);
			return row;
		} catch (error) {
			if (error instanceof FileFormatError) throw error;
			const e = error as Error & { code?: string; lines?: number };
			if (e.code?.startsWith('CSV_')) throw new BadRowError(file, e.lines ?? null, null, e.message);
			throw error;
		}
	};

	// Header
	let names: string[];
	let first: Parsed | null = await next();
	if (!first) throw new FileFormatError(file, 'the file is empty (no rows, no header)');
	if (dialect.header) {
		names = first.record.map((n) => (n ?? '').trim());
		first = null;
	} else {
		names = first.record.map((_, i) => `column${i}`);
	}
	const width = names.length;

	// Sample
	const sampleRows = options.sampleRows ?? DEFAULT_SAMPLE_ROWS;
	const sample: Parsed[] = [];
	if (first) sample.push(first);
	while (sample.length < sampleRows) {
		const row = await next();
		if (!row) break;
		sample.push(row);
	}
	if (sample.length === 0 && parseRejects.length === 0) {
		throw new FileFormatError(file, `the file has a header (${names.slice(0, 5).join(', ')}${names.length > 5 ? ', …' : ''}) but no data rows`);
	}

	const columns = decideColumns(names, sample.map((row) => row.record), options, file);
	const keys = columns.map((c) => c.column);
	// What each column checks: nothing for text; the engine's type rules otherwise.
	const checks = columns.map((c) => (c.type === 'text' || c.type === 'jsonb' ? null : c.type));
	const pageRows = options.pageRows ?? 5_000;
	const compact = (options.rawRecord ?? 'compact') === 'compact';
	const textColumn = columns.map((c) => c.type === 'text');
	const sampled = sample.length;

	async function* batches(): AsyncGenerator<ReadBatch> {
		let records: LoadRecord[] = [];
		let raws: unknown[] = [];
		let rejects: Reject[] = [];
		const take = (row: Parsed): void => {
			const values = row.record;
			if (values.length !== width) {
				const reason = `expected ${width} fields, found ${values.length}`;
				if (!skip) throw new BadRowError(file, row.info.lines, null, reason);
				rejects.push({ line: row.info.lines, column: null, reason, raw: rawLine(row, values) });
				return;
			}
			const record: LoadRecord = {};
			let kept: Record<string, string> | null = null;
			// Whole-record mode: every field as the file wrote it (null: unquoted empty).
			const full: Record<string, string | null> | null = compact ? null : {};
			for (let i = 0; i < width; i++) {
				const value = values[i];
				if (full) full[keys[i]] = value;
				if (value === null) {
					record[keys[i]] = null;
					continue;
				}
				if (value === '') {
					// A quoted empty field: the empty string. A typed column cannot hold it: NULL
					// there, and _ipai_raw keeps the "" (in either raw mode).
					if (textColumn[i]) record[keys[i]] = '';
					else {
						record[keys[i]] = null;
						(kept ??= {})[keys[i]] = '';
					}
					continue;
				}
				const check = checks[i];
				if (check !== null && !fitsType(check, inferTextType(value))) {
					const reason = badValueReason(value, columns[i], sampled);
					if (!skip) throw new BadRowError(file, row.info.lines, columns[i].source, reason);
					rejects.push({ line: row.info.lines, column: columns[i].source, reason, raw: rawLine(row, values) });
					return;
				}
				record[keys[i]] = check === 'boolean' ? value.toLowerCase() === 'true' : value;
				if (compact && check !== null && !keepsText(check, value)) (kept ??= {})[keys[i]] = value;
			}
			records.push(record);
			if (compact) raws.push(kept ?? EMPTY_RAW);
			else raws.push(full);
		};
		const flush = (): ReadBatch => {
			const batch: ReadBatch = { records, rejects: parseRejects.length > 0 ? [...rejects, ...parseRejects.splice(0)] : rejects, raws };
			records = [];
			raws = [];
			rejects = [];
			return batch;
		};
		for (const row of sample) {
			take(row);
			if (records.length >= pageRows) yield flush();
		}
		sample.length = 0; // the sample is written: let it go
		for (let row = await next(); row; row = await next()) {
			take(row);
			if (records.length >= pageRows) yield flush();
		}
		if (records.length > 0 || rejects.length > 0 || parseRejects.length > 0) yield flush();
	}

	return {
		format: dialect.delimiter === '\t' ? 'tsv' : 'csv',
		columns,
		detected: describeDialect(dialect, sampled),
		batches: batches(),
	};
}
