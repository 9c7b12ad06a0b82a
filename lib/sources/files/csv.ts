/**
 * CSV/TSV: after the sniffer (csvSniff.ts: dialect → column types → header, from a sample), a
 * streaming reader (csv-parse) that checks each row against the decided schema.
 *
 * Types are decided from the first `sampleRows` rows (DuckDB's 20,480). A later value that does
 * not fit its column is a bad row — as in DuckDB — rather than a silent re-typing in the middle of
 * a file; an explicit column → type map overrides the sample. Across files, a wider type in a
 * later file widens the table (the engine's evolution).
 */
import type { Readable } from 'node:stream';
import { parse, type Options as CsvParseOptions } from 'csv-parse';
import { fitsType, inferTextType, newColumnType, sqlTypeName, widen, type ColumnType } from '../../lakehouse/columnTypes';
import type { LoadRecord } from '../../lakehouse/loader';
import { describeDialect, LineFeeds, quotedFields, sniffDialect } from './csvSniff';
import { baseName, ColumnNamer } from './names';
import { BadRowError, FileFormatError, type FileReader, type ReadBatch, type ReadOptions, type Reject, type SourceColumn } from './types';

export const SAMPLE_BYTES = 1 << 20;
export const DEFAULT_SAMPLE_ROWS = 20_480;
/**
 * The compact _ipai_raw of a CSV/TSV row whose values its columns all give back exactly. The whole
 * record is always `(to_jsonb(row) - the _ipai_ columns) || _ipai_raw` (README, File Ingest).
 */
const EMPTY_RAW = Object.freeze({});

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
