/**
 * The COPY path for CSV/TSV: the file's own bytes go to `COPY … FROM STDIN (FORMAT csv)` and
 * PostgreSQL does the casts; JavaScript only scans the bytes once — row boundaries, the fields of
 * typed columns — to keep the checked reader's promises:
 *
 * - the same sniffer, sample and column types (decideColumns), the same table;
 * - bad rows: a value that does not fit its column's type, or a row of another width, is found
 *   here with its line and column, so `fail` stops before COMMIT with the same message, and `skip`
 *   cuts the row out of the byte stream into the reject table;
 * - the metadata columns come from per-load DEFAULTs (copyCsvStream), so a row is sent as it is
 *   in the file plus one field: _ipai_raw in its compact lossless form (keepsText), `{}` unless a
 *   value's text is not what its typed column gives back.
 *
 * Whatever this scanner cannot prove it reads exactly as csv-parse and PostgreSQL both would
 * (a quote inside an unquoted field, text after a closing quote, mixed line endings, NUL bytes, a
 * declared jsonb column, a table column of another kind…) throws NotCopyable, and ingestFile
 * loads the file through the checked reader instead: nothing of this attempt is committed.
 */
import type { ColumnType } from '../../lakehouse/columnTypes';
import { fitsType, inferTextType, widen } from '../../lakehouse/columnTypes';
import type { CsvCopyOptions } from '../../lakehouse/copyLoad';
import type { TableShape } from '../../lakehouse/tables';
import { badValueReason, decideColumns, keepsText } from './csv';
import { describeDialect } from './csvSniff';
import { CsvScanner, ESCAPED, NotCopyable, QUOTED, type OnRecord } from './csvScanner';
import { BadRowError, type CsvDialect, type ReadOptions, type Reject, type SourceColumn } from './types';

export { NotCopyable };

/** Rejected rows wait in memory until the COPY ends; past this many the checked reader (paged) takes over. */
const MAX_HELD_REJECTS = 10_000;
const OUT_BYTES = 1 << 20;
/** Rows held back for their own _ipai_raw (pass-through mode) wait in memory up to this much. */
const MAX_LATER_BYTES = 32 << 20;

/** A field's text, quotes undone. */
function fieldText(buf: Buffer, start: number, end: number, flag: number, encoding: BufferEncoding, quote: string): string {
	const text = buf.toString(encoding, start, end);
	return flag & ESCAPED ? text.split(quote + quote).join(quote) : text;
}

const OK = 0;
const KEEP = 1;
const BAD = 2;
type Check = (buf: Buffer, start: number, end: number) => number;

/**
 * A byte-level check equivalent to fitsType(type, inferTextType(text)) plus keepsText(type, text),
 * for the types most files have many of; null for the others (checked on the decoded text).
 */
function byteCheck(type: ColumnType): Check | null {
	if (type === 'bigint' || type === 'integer') {
		const maxDigits = type === 'integer' ? 9 : 18; // 19 digits: compared exactly on the text
		return (buf, start, end) => {
			let i = start;
			const sign = buf[i];
			if (sign === 45 || sign === 43) i++;
			const digits = end - i;
			if (digits === 0 || digits > maxDigits) return digits === 19 && type === 'bigint' ? -1 : BAD;
			if (buf[i] === 48 && digits > 1) return BAD; // leading zeros: text
			for (let p = i; p < end; p++) {
				const d = buf[p] - 48;
				if (d < 0 || d > 9) return BAD;
			}
			return sign === 43 || (sign === 45 && buf[i] === 48) ? KEEP : OK;
		};
	}
	if (type === 'date') {
		return (buf, start, end) => {
			if (end - start !== 10 || buf[start + 4] !== 45 || buf[start + 7] !== 45) return BAD;
			let year = 0;
			let month = 0;
			let day = 0;
			for (let p = start; p < end; p++) {
				if (p === start + 4 || p === start + 7) continue;
				const d = buf[p] - 48;
				if (d < 0 || d > 9) return BAD;
				if (p < start + 4) year = year * 10 + d;
				else if (p < start + 7) month = month * 10 + d;
				else day = day * 10 + d;
			}
			if (month < 1 || month > 12 || day < 1) return BAD;
			const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
			const days = month === 2 ? (leap ? 29 : 28) : month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
			return day <= days ? OK : BAD;
		};
	}
	return null;
}

function textCheck(type: ColumnType, text: string): number {
	if (!fitsType(type, inferTextType(text))) return BAD;
	return keepsText(type, text) ? OK : KEEP;
}

/** Whether the table's column takes the file's CSV text with the meaning the checked path gives it. */
function takesText(tableType: ColumnType | null | undefined, fileType: ColumnType): boolean {
	if (tableType === undefined || tableType === null) return false; // missing, or a type the engine does not manage
	if (['jsonb', 'bigint[]', 'text[]'].includes(tableType) || ['jsonb', 'bigint[]', 'text[]'].includes(fileType)) return false;
	// The checked path writes booleans as true/false; the file may say TRUE: only a boolean column makes them equal.
	if (fileType === 'boolean') return tableType === 'boolean';
	return widen(tableType, fileType) === tableType;
}

export interface CopyPlan {
	columns: SourceColumn[];
	detected: Record<string, unknown>;
	/** CsvCopyOptions for the loader, bound to the file (its rows, rejects and dialect). */
	load: Pick<CsvCopyOptions, 'columns' | 'csv' | 'rows' | 'rowsCarryRaw' | 'moreRows'>;
	rejects: Reject[];
	/** Rows accepted and rows rejected, known once rows() has produced everything. */
	stats: { rows: number; rejects: number };
}

/**
 * Reads the header and the sample from `bytes` (decompressed), decides the columns as the checked
 * reader would, and returns the plan whose rows() streams the whole file (sample included) as
 * COPY data. Throws NotCopyable when the file needs the checked reader.
 */
export async function planCsvCopy(
	bytes: AsyncIterator<Buffer>,
	dialect: CsvDialect,
	file: string,
	options: ReadOptions & { key?: string[] },
	sampleRows: number,
): Promise<CopyPlan> {
	const encoding: BufferEncoding = dialect.encoding === 'utf-8' ? 'utf8' : 'latin1';
	// Header and sample: decoded, like the checked reader's; the bytes are held to be sent after.
	let names: string[] | null = null;
	const sample: string[][] = [];
	const held: Buffer[] = [];
	let first = true;
	let done = false;
	const probe = new CsvScanner(dialect, 1024);
	let width = 0;
	// Only the values that can still change a column's type are decoded: once a column reads as
	// text, its later sampled values are not (decideColumns stops at text too; '' stands in).
	// Declared types make every value count (for _ipai_raw), so nothing is skipped then.
	const declared = Object.keys(options.columnTypes ?? {}).length > 0;
	let settled: boolean[] = [];
	let types: Array<ColumnType | null> = [];
	const decode: OnRecord = (buf, _start, _end, _next, count) => {
		if (count === 0 || sample.length >= sampleRows) return;
		if (count > probe.starts.length) throw new NotCopyable('a sampled row has more than 1,024 fields');
		const values: string[] = new Array(count);
		const text = (f: number) => fieldText(buf, probe.starts[f], probe.ends[f], probe.flags[f], encoding, dialect.quote);
		if (names === null) {
			for (let f = 0; f < count; f++) values[f] = text(f);
			if (first && !dialect.header) {
				names = values.map((_, i) => `column${i}`);
				sample.push(values);
			} else names = values.map((n) => n.trim());
			width = names.length;
			settled = names.map(() => false);
			types = names.map(() => null);
			first = false;
			return;
		}
		// A row of another width says nothing about types (decideColumns skips it).
		if (count === width) {
			for (let f = 0; f < count; f++) {
				if (settled[f]) {
					values[f] = '';
					continue;
				}
				values[f] = text(f);
				types[f] = widen(types[f], inferTextType(values[f]));
				if (types[f] === 'text' && !declared) settled[f] = true;
			}
		}
		sample.push(values);
	};
	while (sample.length < sampleRows) {
		const next = await bytes.next();
		if (next.done) {
			probe.push(null, decode);
			done = true;
			break;
		}
		let chunk = next.value;
		if (held.length === 0 && dialect.bom && chunk[0] === 0xef && chunk[1] === 0xbb && chunk[2] === 0xbf) chunk = chunk.subarray(3);
		held.push(chunk);
		probe.push(chunk, decode);
	}
	if (names === null) throw new NotCopyable('no header row was read');
	if (sample.length === 0) throw new NotCopyable('the file has no data rows');
	const header: string[] = names;
	const columns = decideColumns(header, sample, options, file);
	const sampled = sample.length;
	const kinds = columns.map((c) => c.type);
	if (kinds.some((t) => t === 'jsonb' || t === 'bigint[]' || t === 'text[]')) throw new NotCopyable('a column is declared as jsonb or an array');
	const typed = columns.map((c, i) => ({ index: i, column: c, check: byteCheck(c.type) })).filter((t) => t.column.type !== 'text');
	// Rows go out as they are in the file (byte ranges of the chunks read, no copy) with _ipai_raw
	// from its per-load DEFAULT, `{}`; a row whose _ipai_raw is not `{}` is held back and sent
	// afterwards with it. When the sample already has such values (a timestamptz column, numbers
	// written `+5`…), or rows must keep their order (merge: the last version of a key wins), every
	// row is written out with its _ipai_raw instead.
	const sampleKeeps = sample.some((record) => record.length === width && typed.some(({ index, column }) => record[index] !== '' && fitsType(column.type, inferTextType(record[index])) && !keepsText(column.type, record[index])));
	const passThrough = !sampleKeeps && (options.key ?? []).length === 0;
	sample.length = 0;

	const keyNames = new Set(options.key ?? []);
	const keyIndexes = columns.map((c, i) => (keyNames.has(c.source) || keyNames.has(c.column) ? i : -1)).filter((i) => i >= 0);
	const rawKeys = columns.map((c) => JSON.stringify(c.column));
	const skip = options.onBadRow === 'skip';
	const rejects: Reject[] = [];
	const stats = { rows: 0, rejects: 0 };
	/** Rows held back in pass-through mode, with their _ipai_raw, sent by a second COPY. */
	const later: Buffer[] = [];
	let laterBytes = 0;

	async function* rows(context: { shape: TableShape }): AsyncGenerator<Buffer> {
		for (const c of columns) {
			const tableType = context.shape.columns.get(c.column);
			if (!takesText(tableType, c.type)) throw new NotCopyable(`column ${c.column} of the table is ${tableType ?? 'missing'}, the file's is ${c.type}`);
		}
		const scanner = new CsvScanner(dialect, width);
		const { starts, ends, flags } = scanner;
		const emptyRaw = Buffer.from(`${dialect.delimiter}{}\n`, 'latin1');
		let out = Buffer.allocUnsafe(OUT_BYTES);
		let used = 0;
		const ready: Buffer[] = [];
		let headerPending = dialect.header;
		/** Pass-through: where the bytes not yet sent begin in the buffer being scanned. */
		let from = 0;

		/** Leaves a record out of the pass-through bytes. */
		const cut = (buf: Buffer, start: number, next: number): void => {
			if (start > from) ready.push(buf.subarray(from, start));
			from = next;
		};
		const bad = (buf: Buffer, start: number, end: number, line: number, column: string | null, reason: string): void => {
			if (!skip) throw new BadRowError(file, line, column, reason);
			if (rejects.length >= MAX_HELD_REJECTS) throw new NotCopyable(`more than ${MAX_HELD_REJECTS} rows were rejected`);
			rejects.push({ line, column, reason, raw: buf.toString(encoding, start, end) });
			stats.rejects++;
		};
		const write = (target: Buffer[], buf: Buffer, start: number, end: number, raw: Buffer): void => {
			const need = end - start + raw.length;
			if (used + need > out.length) {
				if (used > 0) target.push(out.subarray(0, used));
				out = Buffer.allocUnsafe(Math.max(OUT_BYTES, need));
				used = 0;
			}
			used += buf.copy(out, used, start, end);
			used += raw.copy(out, used);
		};
		const onRecord: OnRecord = (buf, start, end, next, count, line) => {
			// Empty lines are skipped (as the sampler and the row reader do) and must not use up the header.
			if (count === 0) {
				if (passThrough) cut(buf, start, next);
				return;
			}
			if (headerPending) {
				headerPending = false;
				if (passThrough) cut(buf, start, next);
				return;
			}
			if (count !== width) {
				if (passThrough) cut(buf, start, next);
				return bad(buf, start, end, line, null, `expected ${width} fields, found ${count}`);
			}
			// PostgreSQL takes a lone \. as the end of the data: csv-parse reads it as a value.
			if (count === 1 && end - start === 2 && buf[start] === 92 && buf[start + 1] === 46) throw new NotCopyable(`line ${line} is a lone "\\."`);
			let kept: string | null = null;
			for (let t = 0; t < typed.length; t++) {
				const { index, column, check } = typed[t];
				const s = starts[index];
				const e = ends[index];
				if (s === e) {
					// Unquoted: NULL. Quoted (""), the empty string, which a typed column cannot hold:
					// FORCE_NULL makes it NULL there and _ipai_raw keeps the "" (as the checked reader does).
					if (flags[index] & QUOTED) kept = `${kept === null ? '' : `${kept},`}${rawKeys[index]}:""`;
					continue;
				}
				let verdict = check !== null && (flags[index] & ESCAPED) === 0 ? check(buf, s, e) : -1;
				let text: string | null = null;
				if (verdict === -1) {
					text = fieldText(buf, s, e, flags[index], encoding, dialect.quote);
					verdict = textCheck(column.type, text);
				}
				if (verdict === BAD) {
					if (passThrough) cut(buf, start, next);
					return bad(buf, start, end, line, column.source, badValueReason(text ?? buf.toString(encoding, s, e), column, sampled));
				}
				if (verdict === KEEP) {
					text ??= buf.toString(encoding, s, e);
					kept = `${kept === null ? '' : `${kept},`}${rawKeys[index]}:${JSON.stringify(text)}`;
				}
			}
			for (const k of keyIndexes) {
				if (starts[k] === ends[k]) throw new NotCopyable(`a row on line ${line} has no value for key column ${columns[k].source}`);
			}
			stats.rows++;
			if (passThrough && kept === null) return;
			const raw = kept === null ? emptyRaw : Buffer.from(`${dialect.delimiter}"${`{${kept}}`.replace(/"/g, '""')}"\n`, 'latin1');
			if (!passThrough) return write(ready, buf, start, end, raw);
			cut(buf, start, next);
			laterBytes += end - start + raw.length;
			if (laterBytes > MAX_LATER_BYTES) throw new NotCopyable(`more than ${MAX_LATER_BYTES >> 20} MiB of rows need their own _ipai_raw`);
			later.push(Buffer.concat([buf.subarray(start, end), raw]));
		};

		const span = {
			begin: (_buf: Buffer, start: number) => void (from = start),
			end: (buf: Buffer, scanned: number) => void (passThrough && scanned > from && ready.push(buf.subarray(from, scanned))),
		};
		const scan = (chunk: Buffer | null): void => scanner.push(chunk, onRecord, span);
		for (const chunk of held.splice(0)) {
			scan(chunk);
			yield* ready.splice(0);
		}
		if (!done) {
			for (let next = await bytes.next(); !next.done; next = await bytes.next()) {
				scan(next.value);
				yield* ready.splice(0);
			}
		}
		scan(null);
		if (used > 0) ready.push(out.subarray(0, used));
		yield* ready.splice(0);
	}

	return {
		columns,
		detected: describeDialect(dialect, sampled),
		load: {
			columns: columns.map((c) => ({ field: c.column, type: c.type })),
			csv: { delimiter: dialect.delimiter, quote: dialect.quote, encoding: dialect.encoding === 'utf-8' ? 'UTF8' : 'LATIN1' },
			rows,
			rowsCarryRaw: !passThrough,
			moreRows: passThrough ? () => later.splice(0) : undefined,
		},
		rejects,
		stats,
	};
}
