/**
 * A byte-level CSV scanner: record and field boundaries, csv-parse's way for the files it accepts
 * (RFC 4180 quoting with doubled quotes, one kind of line ending, empty lines skipped), and
 * NotCopyable for what it cannot prove both csv-parse and PostgreSQL's COPY read the same way.
 * Used by the COPY path (csvCopy.ts) and to confirm the sniffer's dialect on the whole sample.
 */
import type { CsvDialect } from './types';

/** The file cannot take the COPY path (reason given); it is loaded by the checked reader. */
export class NotCopyable extends Error {
	constructor(reason: string) {
		super(reason);
		this.name = 'NotCopyable';
	}
}

const LF = 10;
const CR = 13;
export const QUOTED = 1;
export const ESCAPED = 2;
/** Byte classes of the unquoted scan: one table lookup per byte. */
const K_DELIMITER = 1;
const K_LF = 2;
const K_CR = 3;
const K_QUOTE = 4;
const K_NUL = 5;
/** A record longer than this is left to the checked reader (the carry-over would keep growing). */
const MAX_RECORD_BYTES = 16 << 20;
/**
 * How much of the next chunk is joined to a record cut by a chunk boundary (grown ×4 while the
 * record is longer). Small: the join is a copy made at every chunk boundary, garbage right after.
 */
const JOIN_BYTES = 4 << 10;

/** Where a record's fields are: offsets into the buffer given to onRecord, valid during the call. */
interface Fields {
	starts: Int32Array;
	ends: Int32Array;
	flags: Uint8Array;
}

/**
 * A record: its bytes are buf[start, contentEnd), its line end runs to `next`; `fieldCount` 0 is
 * an empty line (no record for csv-parse, an error for PostgreSQL: never sent).
 */
/** Told which buffer the records' offsets refer to, and how far its whole records reach. */
export interface Span {
	begin(buf: Buffer, start: number): void;
	end(buf: Buffer, used: number): void;
}

export type OnRecord = (buf: Buffer, start: number, contentEnd: number, next: number, fieldCount: number, line: number) => void;

/**
 * Splits CSV bytes into records and fields, csv-parse's way for the files it accepts (RFC 4180
 * quoting with doubled quotes, one kind of line ending, empty lines skipped), and refuses the rest.
 * Fed chunk by chunk; a record cut by a chunk boundary is scanned again with the next chunk.
 */
export class CsvScanner implements Fields {
	readonly starts: Int32Array;
	readonly ends: Int32Array;
	readonly flags: Uint8Array;
	/** Line feeds consumed so far (the line of a record's last byte is this + its own + 1). */
	line = 0;
	private readonly kinds = new Uint8Array(256);
	private readonly quote: number;
	private readonly delimiter: number;
	private readonly crlf: boolean;
	private carry: Buffer | null = null;

	constructor(dialect: Pick<CsvDialect, 'delimiter' | 'quote' | 'newline'>, width: number) {
		const delimiter = singleByte(dialect.delimiter, 'delimiter');
		this.delimiter = delimiter;
		this.quote = singleByte(dialect.quote, 'quote');
		if (delimiter === this.quote || [LF, CR].includes(delimiter) || [LF, CR].includes(this.quote)) throw new NotCopyable('the delimiter and quote cannot be told apart from line ends');
		if (dialect.newline === '\r') throw new NotCopyable('the file ends lines with CR alone');
		this.crlf = dialect.newline === '\r\n';
		this.kinds[delimiter] = K_DELIMITER;
		this.kinds[LF] = K_LF;
		this.kinds[CR] = K_CR;
		this.kinds[this.quote] = K_QUOTE;
		this.kinds[0] = K_NUL;
		// Fields past width + 1 are counted, not located: the row is bad whatever they hold.
		this.starts = new Int32Array(width + 1);
		this.ends = new Int32Array(width + 1);
		this.flags = new Uint8Array(width + 1);
	}

	/**
	 * Scans a chunk (`null` when no more bytes follow). For each buffer it reads — a record cut by
	 * the previous chunk joined with the start of this one, then the chunk itself — `span` is told
	 * where its records begin and, after them, how far whole records go (the rest waits for the
	 * next chunk). Only the cut record and a little of the chunk are copied, never the chunk: a
	 * 1 GB file must not leave 1 GB of copies for the garbage collector.
	 */
	push(chunk: Buffer | null, onRecord: OnRecord, span?: Span): void {
		if (chunk === null) {
			const rest = this.carry ?? Buffer.alloc(0);
			this.carry = null;
			span?.begin(rest, 0);
			const used = this.scan(rest, 0, true, onRecord);
			span?.end(rest, used);
			return;
		}
		let offset = 0;
		if (this.carry) {
			const carried = this.carry;
			this.carry = null;
			for (let take = Math.min(chunk.length, JOIN_BYTES); ; take = Math.min(chunk.length, take * 4)) {
				const joined = Buffer.concat([carried, chunk.subarray(0, take)]);
				span?.begin(joined, 0);
				// The carried record ends past `carried`: used > 0 means it is complete.
				const used = this.scan(joined, 0, false, onRecord);
				span?.end(joined, used);
				if (used > 0) {
					offset = used - carried.length;
					break;
				}
				if (take === chunk.length) {
					this.keep(joined, 0);
					return;
				}
			}
		}
		span?.begin(chunk, offset);
		const used = this.scan(chunk, offset, false, onRecord);
		span?.end(chunk, used);
		if (used < chunk.length) this.keep(chunk, used);
	}

	/** Keeps an incomplete record for the next chunk (copied: the chunk must not stay pinned by it). */
	private keep(buf: Buffer, from: number): void {
		if (buf.length - from > MAX_RECORD_BYTES) throw new NotCopyable(`a record is longer than ${MAX_RECORD_BYTES >> 20} MiB`);
		this.carry = Buffer.from(buf.subarray(from));
	}

	/** Returns how many bytes were consumed (the start of the first incomplete record). */
	private scan(buf: Buffer, start: number, final: boolean, onRecord: OnRecord): number {
		const { kinds, starts, ends, flags, quote, crlf, delimiter } = this;
		const cap = starts.length;
		const n = buf.length;
		let pos = start;
		// Where the next quote, carriage return and NUL are (n: none), found by native search and
		// looked for again only once passed: most lines have none of the first and last, and one
		// carriage return right before the line feed (CRLF) or none (LF).
		let nextQuote = -1;
		let nextCr = -1;
		const nul = buf.indexOf(0, start);
		const nextNul = nul === -1 ? n : nul;
		record: while (pos < n) {
			// The common line, read with one comparison per byte: no quote, no NUL, and its only
			// carriage return (CRLF files) right before its line feed.
			const lf = buf.indexOf(LF, pos);
			if (lf !== -1) {
				if (nextQuote < pos) nextQuote = indexOr(buf, quote, pos, n);
				if (nextCr < pos) nextCr = indexOr(buf, CR, pos, n);
				const contentEnd = crlf ? lf - 1 : lf;
				if (nextQuote > lf && nextNul > lf && (crlf ? nextCr === lf - 1 && lf > pos : nextCr > lf)) {
					let field = 0;
					let start = pos;
					for (let i = pos; i < contentEnd; i++) {
						if (buf[i] === delimiter) {
							if (field < cap) {
								starts[field] = start;
								ends[field] = i;
								flags[field] = 0;
							}
							field++;
							start = i + 1;
						}
					}
					if (field < cap) {
						starts[field] = start;
						ends[field] = contentEnd;
						flags[field] = 0;
					}
					field++;
					this.line++;
					onRecord(buf, pos, contentEnd, lf + 1, field === 1 && contentEnd === pos ? 0 : field, this.line);
					pos = lf + 1;
					continue;
				}
			}
			let i = pos;
			let field = 0;
			let lines = 0;
			for (;;) {
				// i is at the start of a field.
				let flag = 0;
				let contentStart = i;
				let contentEnd: number;
				let kind: number;
				if (i < n && buf[i] === quote) {
					flag = QUOTED;
					contentStart = i + 1;
					let j = i + 1;
					for (;;) {
						if (j >= n) {
							if (!final) return pos;
							throw new NotCopyable('a quoted field is not closed at the end of the file');
						}
						const c = buf[j];
						if (c === quote) {
							if (j + 1 >= n && !final) return pos;
							if (j + 1 < n && buf[j + 1] === quote) {
								flag |= ESCAPED;
								j += 2;
								continue;
							}
							break;
						}
						if (c === LF) lines++;
						else if (c === 0) throw new NotCopyable('the file holds NUL bytes');
						j++;
					}
					contentEnd = j;
					i = j + 1;
					if (i >= n) {
						if (!final) return pos;
						kind = 0; // end of the file
					} else {
						kind = kinds[buf[i]];
						if (kind !== K_DELIMITER && kind !== K_LF && kind !== K_CR) throw new NotCopyable(`text follows a closing quote on line ${this.line + lines + 1}`);
					}
				} else {
					while (i < n && (kind = kinds[buf[i]]) === 0) i++;
					if (i >= n) {
						if (!final) return pos;
						kind = 0;
					}
					contentEnd = i;
					if (kind! === K_QUOTE) throw new NotCopyable(`a quote inside an unquoted field on line ${this.line + lines + 1}`);
					if (kind! === K_NUL) throw new NotCopyable('the file holds NUL bytes');
				}
				if (field < cap) {
					starts[field] = contentStart;
					ends[field] = contentEnd;
					flags[field] = flag;
				}
				field++;
				if (kind! === K_DELIMITER) {
					i++;
					continue;
				}
				// End of the record: a line end, or the end of the file.
				let next: number;
				let recordEnd = i;
				if (kind! === K_CR) {
					if (!this.crlf) throw new NotCopyable(`a carriage return outside quotes on line ${this.line + lines + 1} of a file with LF line ends`);
					if (i + 1 >= n) {
						if (!final) return pos;
						throw new NotCopyable('the file ends in a lone carriage return');
					}
					if (buf[i + 1] !== LF) throw new NotCopyable(`a carriage return outside quotes on line ${this.line + lines + 1}`);
					next = i + 2;
				} else if (kind! === K_LF) {
					if (this.crlf) throw new NotCopyable(`line ${this.line + lines + 1} ends in LF in a file with CRLF line ends`);
					next = i + 1;
				} else {
					next = n;
					recordEnd = n;
				}
				const line = this.line + lines + 1;
				this.line += lines + (kind! === 0 ? 0 : 1);
				onRecord(buf, pos, recordEnd, next, field === 1 && recordEnd === pos ? 0 : field, line);
				pos = next;
				continue record;
			}
		}
		return pos;
	}
}

function indexOr(buf: Buffer, byte: number, from: number, none: number): number {
	const at = buf.indexOf(byte, from);
	return at === -1 ? none : at;
}

function singleByte(value: string, what: string): number {
	if (value.length !== 1 || value.charCodeAt(0) > 127) throw new NotCopyable(`the ${what} ${JSON.stringify(value)} is not a single ASCII character`);
	return value.charCodeAt(0);
}

