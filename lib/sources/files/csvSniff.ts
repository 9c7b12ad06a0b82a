/**
 * The CSV dialect sniffer, in the spirit of DuckDB's: from a sample, the delimiter and quote on
 * which most rows agree with the header (never a one-column reading when the header splits by a
 * delimiter most rows agree with), the newline, and whether the first row is a header.
 */
import { parse as parseSync } from 'csv-parse/sync';
import { fitsType, inferTextType, widen, type ColumnType } from '../../lakehouse/columnTypes';
import { CsvScanner, NotCopyable } from './csvScanner';
import { FileFormatError, type CsvDialect, type CsvOptions } from './types';

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
export class LineFeeds {
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
export function quotedFields(text: string, delimiter: string, quote: string, count: number, fileStart: boolean): boolean[] {
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

export function isUtf8(bytes: Buffer, complete: boolean): boolean {
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
