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
import { ColumnNamer } from './names';
import { BadRowError, FileFormatError, type CsvOptions, type FileReader, type ReadBatch, type ReadOptions, type Reject, type SourceColumn } from './types';

export const SAMPLE_BYTES = 1 << 20;
export const DEFAULT_SAMPLE_ROWS = 20_480;
const DELIMITERS = [',', '\t', ';', '|'];
const QUOTES = ['"', "'"];

export interface CsvDialect {
	delimiter: string;
	quote: string;
	header: boolean;
	encoding: 'utf-8' | 'latin1';
	bom: boolean;
	newline: '\n' | '\r\n' | '\r';
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
	const newline = text.includes('\r\n') ? '\r\n' : text.includes('\n') ? '\n' : text.includes('\r') ? '\r' : '\n';

	const delimiters = options.delimiter !== undefined ? [options.delimiter] : tsvHint ? ['\t', ...DELIMITERS.filter((d) => d !== '\t')] : DELIMITERS;
	const quotes = options.quote !== undefined ? [options.quote] : QUOTES;
	let best: { delimiter: string; quote: string; consistent: boolean; columns: number; share: number; rows: string[][] } | null = null;
	for (const delimiter of delimiters) {
		for (const quote of quotes) {
			let rows: string[][];
			try {
				rows = parseSync(text, { delimiter, quote: quote === '' ? false : quote, relax_column_count: true, skip_empty_lines: true }) as string[][];
			} catch {
				continue; // this quote/delimiter pair cannot read the sample
			}
			if (rows.length === 0) continue;
			const counts = new Map<number, number>();
			for (const row of rows) counts.set(row.length, (counts.get(row.length) ?? 0) + 1);
			const [columns, hits] = [...counts].sort((a, b) => b[1] - a[1] || b[0] - a[0])[0];
			const share = hits / rows.length;
			const consistent = share === 1;
			const better =
				!best ||
				(consistent && !best.consistent) ||
				(consistent === best.consistent && (columns > best.columns || (columns === best.columns && share > best.share)));
			if (better) best = { delimiter, quote, consistent, columns, share, rows };
		}
	}
	if (!best) throw new FileFormatError(file, 'no delimiter and quote character read the first rows as CSV; set the delimiter and quote explicitly');
	const header = options.header ?? detectHeader(best.rows);
	return { delimiter: best.delimiter, quote: best.quote, header, encoding, bom, newline };
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
	const parser = stream.pipe(parse(parserOptions));
	stream.on('error', (error) => parser.destroy(error));
	const parseRejects: Reject[] = [];
	if (skip) {
		parser.on('skip', (error: Error & { lines?: number; raw?: string }) => {
			parseRejects.push({ line: error.lines ?? null, column: null, reason: error.message, raw: error.raw ?? null });
		});
	}
	type Parsed = { record: string[]; info: { lines: number }; raw?: string };
	const rawLine = (row: Parsed, values: string[]): string => (row.raw !== undefined ? row.raw.replace(/\r?\n$|\r$/, '') : values.join(dialect.delimiter));
	const iterator = parser[Symbol.asyncIterator]() as AsyncIterator<Parsed>;
	const next = async (): Promise<Parsed | null> => {
		try {
			const result = await iterator.next();
			return result.done ? null : result.value;
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
		names = first.record.map((n) => n.trim());
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

	const namer = new ColumnNamer();
	const overrides = options.columnTypes ?? {};
	const columns: SourceColumn[] = names.map((source, i) => {
		const column = namer.name(source, i);
		const declared = overrides[source] ?? overrides[column];
		if (declared) return { source, column, type: declared, inferred: false };
		let type: ColumnType | null = null;
		for (const row of sample) {
			if (row.record.length !== width) continue;
			type = widen(type, inferTextType(row.record[i]));
			if (type === 'text') break;
		}
		return { source, column, type: type === null ? 'text' : newColumnType(type), inferred: true };
	});
	const keys = columns.map((c) => c.column);
	// What each column checks: nothing for text; the engine's type rules otherwise.
	const checks = columns.map((c) => (c.type === 'text' || c.type === 'jsonb' ? null : c.type));
	const pageRows = options.pageRows ?? 5_000;
	const sampled = sample.length;

	async function* batches(): AsyncGenerator<ReadBatch> {
		let records: LoadRecord[] = [];
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
			for (let i = 0; i < width; i++) {
				const value = values[i];
				if (value === '') {
					record[keys[i]] = null;
					continue;
				}
				const check = checks[i];
				if (check !== null && !fitsType(check, inferTextType(value))) {
					const reason = `${JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value)} is not a ${sqlTypeName(check)} value (the column's type ${
						columns[i].inferred ? `was inferred from the first ${sampled} rows` : 'was declared'
					})`;
					if (!skip) throw new BadRowError(file, row.info.lines, columns[i].source, reason);
					rejects.push({ line: row.info.lines, column: columns[i].source, reason, raw: rawLine(row, values) });
					return;
				}
				record[keys[i]] = check === 'boolean' ? value.toLowerCase() === 'true' : value;
			}
			records.push(record);
		};
		const flush = (): ReadBatch => {
			const batch = { records, rejects: parseRejects.length > 0 ? [...rejects, ...parseRejects.splice(0)] : rejects };
			records = [];
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
		detected: {
			delimiter: dialect.delimiter,
			quote: dialect.quote,
			header: dialect.header,
			encoding: dialect.encoding,
			bom: dialect.bom,
			newline: dialect.newline === '\r\n' ? 'CRLF' : dialect.newline === '\r' ? 'CR' : 'LF',
			sampleRows: sampled,
		},
		batches: batches(),
	};
}
