/**
 * The COPY path for Parquet: column chunks are read by byte ranges a window at a time, decoded
 * one page at a time with hyparquet's page decoders, and each value is written straight as COPY
 * text-format bytes — no JavaScript object per row, no whole row group or column chunk in memory.
 * Dictionary pages are encoded once, so a dictionary-encoded value costs a byte copy.
 *
 * Values are exact: integers of any width (UINT_64 and decimals through BigInt), decimals from
 * their unscaled integers, timestamps to the microsecond (PostgreSQL's precision; a nanosecond
 * remainder is kept in _ipai_raw), strings as their own UTF-8 bytes (PostgreSQL validates them).
 *
 * What this path does not handle (nested columns, BSON, INTERVAL, geospatial and variant
 * columns, column chunks in other files) throws NotCopyable before anything is written, and
 * ingestFile reads the file through the record reader (parquet.ts) instead.
 */
import { isUtf8 } from 'node:buffer';
import type { ColumnType } from '../../lakehouse/columnTypes';
import { widen } from '../../lakehouse/columnTypes';
import type { CsvCopyOptions } from '../../lakehouse/copyLoad';
import type { TableShape } from '../../lakehouse/tables';
import { NotCopyable } from './csvScanner';
import { loadHyparquet, openParquet, type ParquetFile, type RangeReader } from './parquet';
import { ChunkRecycler } from './recycle';
import { FileFormatError, type ReadOptions, type SourceColumn } from './types';

type SchemaTree = ParquetFile['tree'];
type SchemaElement = SchemaTree['element'];
type ColumnMetaData = NonNullable<ParquetFile['metadata']['row_groups'][number]['columns'][number]['meta_data']>;
type Decoded = ArrayLike<unknown>;

/** hyparquet's page-level decoders (its src/*.js modules; their signatures are in its types/). */
interface PageDecoders {
	readRleBitPackedHybrid(reader: { view: DataView; offset: number }, width: number, output: Int32Array | Uint8Array, length?: number): void;
	parquetHeader(reader: { view: DataView; offset: number }): PageHeader;
	readDataPage(bytes: Uint8Array, header: DataPageHeader, decoder: ColumnDecoder): DataPage;
	readDataPageV2(bytes: Uint8Array, header: PageHeader, decoder: ColumnDecoder): DataPage;
	decompressPage(bytes: Uint8Array, size: number, codec: string, compressors: unknown): Uint8Array;
	readPlain(reader: { view: DataView; offset: number }, type: string, count: number, fixedLength: number | undefined): Decoded;
}
interface DataPageHeader {
	num_values: number;
	encoding: string;
	definition_level_encoding?: string;
}
interface PageHeader {
	type: string;
	uncompressed_page_size: number;
	compressed_page_size: number;
	data_page_header?: DataPageHeader;
	dictionary_page_header?: { num_values: number };
	data_page_header_v2?: DataPageHeader & { num_rows: number; num_nulls: number };
}
interface DataPage {
	definitionLevels: ArrayLike<number> | undefined;
	dataPage: Decoded;
}
interface ColumnDecoder {
	pathInSchema: string[];
	type: string;
	element: SchemaElement;
	schemaPath: SchemaTree[];
	codec: string;
	parsers: unknown;
	compressors: unknown;
}

let decoders: PageDecoders | undefined;
function pageDecoders(): PageDecoders {
	// eslint-disable-next-line @typescript-eslint/no-require-imports
	const nodeRequire = require;
	decoders ??= {
		...(nodeRequire('hyparquet/src/column.js') as Pick<PageDecoders, 'parquetHeader'>),
		...(nodeRequire('hyparquet/src/datapage.js') as Pick<PageDecoders, 'readDataPage' | 'readDataPageV2' | 'decompressPage'>),
		...(nodeRequire('hyparquet/src/plain.js') as Pick<PageDecoders, 'readPlain'>),
		...(nodeRequire('hyparquet/src/encoding.js') as Pick<PageDecoders, 'readRleBitPackedHybrid'>),
	};
	return decoders;
}

// --- Bytes out --------------------------------------------------------------------------------

/** A growing byte buffer. */
class Sink {
	buf: Buffer;
	pos = 0;
	constructor(size: number) {
		this.buf = Buffer.allocUnsafe(Math.max(64, size));
	}
	room(n: number): void {
		if (this.pos + n <= this.buf.length) return;
		const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
		this.buf.copy(next, 0, 0, this.pos);
		this.buf = next;
	}
	ascii(s: string): void {
		this.room(s.length);
		this.pos += this.buf.write(s, this.pos, 'latin1');
	}
}

const DIGITS = Buffer.from('0123456789');

/** A safe integer's decimal digits, without making a string. */
function writeInt(sink: Sink, value: number): void {
	sink.room(17);
	const buf = sink.buf;
	if (value < 0) {
		buf[sink.pos++] = 45;
		value = -value;
	}
	if (value < 10) {
		buf[sink.pos++] = DIGITS[value];
		return;
	}
	let digits = 0;
	for (let v = value; v > 0; v = Math.floor(v / 10)) digits++;
	let p = sink.pos + digits;
	sink.pos = p;
	for (let v = value; v > 0; v = Math.floor(v / 10)) buf[--p] = DIGITS[v % 10];
}

function writeBigInt(sink: Sink, value: bigint): void {
	if (value > -9007199254740992n && value < 9007199254740992n) writeInt(sink, Number(value));
	else sink.ascii(value.toString());
}

/** An unscaled integer with `scale` digits after the point, exactly (DECIMAL). */
function writeDecimal(sink: Sink, unscaled: bigint, scale: number): void {
	if (scale <= 0) return sink.ascii((unscaled * 10n ** BigInt(-scale)).toString());
	const negative = unscaled < 0n;
	const digits = (negative ? -unscaled : unscaled).toString().padStart(scale + 1, '0');
	sink.ascii(`${negative ? '-' : ''}${digits.slice(0, digits.length - scale)}.${digits.slice(digits.length - scale)}`);
}

/** Big-endian two's complement bytes as a BigInt (DECIMAL in a byte array). */
function signedBigEndian(bytes: Uint8Array): bigint {
	if (bytes.length === 0) return 0n;
	let value = 0n;
	for (let i = 0; i < bytes.length; i++) value = (value << 8n) | BigInt(bytes[i]);
	return bytes[0] & 0x80 ? value - (1n << BigInt(bytes.length * 8)) : value;
}

function pad(value: number, width: number): string {
	return String(value).padStart(width, '0');
}

/** Days since 1970-01-01 as [year, month, day] (proleptic Gregorian; Howard Hinnant's civil_from_days). */
function civil(days: number): [number, number, number] {
	const z = days + 719468;
	const era = Math.floor(z / 146097);
	const doe = z - era * 146097;
	const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
	const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
	const mp = Math.floor((5 * doy + 2) / 153);
	const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
	const month = mp < 10 ? mp + 3 : mp - 9;
	return [yoe + era * 400 + (month <= 2 ? 1 : 0), month, day];
}

/** PostgreSQL's date text: 4+ digit years, and years before 1 as "… BC" (year 0 is 1 BC). */
function dateText(days: number): { text: string; bc: boolean } {
	const [year, month, day] = civil(days);
	const bc = year < 1;
	return { text: `${pad(bc ? 1 - year : year, 4)}-${pad(month, 2)}-${pad(day, 2)}`, bc };
}

const MICROS_PER_DAY = 86_400_000_000;

/** A timestamp from microseconds since the epoch, as PostgreSQL reads it back exactly. */
function timestampText(micros: bigint, zoned: boolean): string {
	let days: number;
	let rest: number;
	if (micros > -9007199254740992n && micros < 9007199254740992n) {
		const m = Number(micros);
		days = Math.floor(m / MICROS_PER_DAY);
		rest = m - days * MICROS_PER_DAY;
	} else {
		let d = micros / 86_400_000_000n;
		if (micros < 0n && d * 86_400_000_000n !== micros) d -= 1n;
		days = Number(d);
		rest = Number(micros - d * 86_400_000_000n);
	}
	const { text, bc } = dateText(days);
	const seconds = Math.floor(rest / 1_000_000);
	const fraction = rest - seconds * 1_000_000;
	const time = `${pad(Math.floor(seconds / 3600), 2)}:${pad(Math.floor(seconds / 60) % 60, 2)}:${pad(seconds % 60, 2)}${fraction === 0 ? '' : `.${pad(fraction, 6)}`}`;
	return `${text} ${time}${zoned ? '+00' : ''}${bc ? ' BC' : ''}`;
}

/** The nanosecond timestamp as ISO 8601 text, for _ipai_raw when PostgreSQL keeps microseconds only. */
function nanosText(nanos: bigint): string {
	let micros = nanos / 1000n;
	let rest = nanos - micros * 1000n;
	if (rest < 0n) {
		micros -= 1n;
		rest += 1000n;
	}
	const base = timestampText(micros, false);
	const [date, time] = base.split(' ');
	const [hms, fraction = ''] = time.split('.');
	return `${date}T${hms}.${fraction.padEnd(6, '0')}${pad(Number(rest), 3)}Z${base.endsWith(' BC') ? ' BC' : ''}`;
}

/** Escapes for COPY text format; NUL (not storable in PostgreSQL text) becomes U+FFFD, counted. */
function writeText(sink: Sink, bytes: Uint8Array, stats: { nulReplaced: number }): void {
	sink.room(bytes.length);
	let buf = sink.buf;
	let p = sink.pos;
	for (let i = 0; i < bytes.length; i++) {
		const b = bytes[i];
		if (b > 13 && b !== 92) {
			buf[p++] = b;
			continue;
		}
		let escape = -1;
		if (b === 92) escape = 92;
		else if (b === 10) escape = 110;
		else if (b === 13) escape = 114;
		else if (b === 9) escape = 116;
		if (escape < 0 && b !== 0) {
			buf[p++] = b;
			continue;
		}
		sink.pos = p;
		sink.room(bytes.length - i + 3);
		buf = sink.buf;
		if (b === 0) {
			stats.nulReplaced++;
			buf[p++] = 0xef;
			buf[p++] = 0xbf;
			buf[p++] = 0xbd;
		} else {
			buf[p++] = 92;
			buf[p++] = escape;
		}
	}
	sink.pos = p;
}

/** Binary as PostgreSQL's bytea hex text (\x0a1b), itself escaped for COPY text: \\x0a1b. */
function writeHex(sink: Sink, bytes: Uint8Array): void {
	sink.ascii(`\\\\x${Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex')}`);
}

// --- Values ------------------------------------------------------------------------------------

/** Writes value i of a decoded array; returns the JSON for _ipai_raw when the column cannot hold it exactly. */
type Encoder = (values: Decoded, i: number, sink: Sink) => string | undefined;

function uuidText(bytes: Uint8Array): string {
	const hex = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
	return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

function float16(bytes: Uint8Array): number {
	const bits = (bytes[1] << 8) | bytes[0];
	const sign = bits >> 15 ? -1 : 1;
	const exp = (bits >> 10) & 0x1f;
	const frac = bits & 0x3ff;
	if (exp === 0) return sign * 2 ** -14 * (frac / 1024);
	if (exp === 0x1f) return frac ? NaN : sign * Infinity;
	return sign * 2 ** (exp - 15) * (1 + frac / 1024);
}

/** A double as PostgreSQL's float8 input reads it back to the same value. */
function doubleText(value: number): string {
	if (Object.is(value, -0)) return '-0';
	return String(value); // shortest round-trip digits; NaN, Infinity, -Infinity are float8 input too
}

/** The encoder for a flat column, or the reason it has none (the record reader takes the file). */
function encoderFor(element: SchemaElement, stats: { nulReplaced: number }): Encoder | string {
	const logical = element.logical_type;
	const converted = element.converted_type as string | undefined;
	const physical = element.type;
	if (logical?.type === 'DECIMAL' || converted === 'DECIMAL') {
		const scale = (logical?.type === 'DECIMAL' ? logical.scale : element.scale) ?? 0;
		if (physical === 'INT32') return (v, i, s) => void writeDecimal(s, BigInt(v[i] as number), scale);
		if (physical === 'INT64') return (v, i, s) => void writeDecimal(s, v[i] as bigint, scale);
		return (v, i, s) => void writeDecimal(s, signedBigEndian(v[i] as Uint8Array), scale);
	}
	if (logical?.type === 'TIMESTAMP' || converted === 'TIMESTAMP_MILLIS' || converted === 'TIMESTAMP_MICROS' || physical === 'INT96') {
		const unit = logical?.type === 'TIMESTAMP' ? logical.unit : converted === 'TIMESTAMP_MILLIS' ? 'MILLIS' : converted === 'TIMESTAMP_MICROS' ? 'MICROS' : 'NANOS';
		const zoned = logical?.type === 'TIMESTAMP' ? logical.isAdjustedToUTC : true;
		if (physical === 'INT96') {
			return (v, i, s) => {
				const value = v[i] as bigint;
				const nanos = ((value >> 64n) - 2440588n) * 86_400_000_000_000n + (value & 0xffffffffffffffffn);
				return writeNanos(s, nanos, zoned);
			};
		}
		if (unit === 'MILLIS') return (v, i, s) => void s.ascii(timestampText(BigInt(v[i] as bigint) * 1000n, zoned));
		if (unit === 'MICROS') return (v, i, s) => void s.ascii(timestampText(v[i] as bigint, zoned));
		return (v, i, s) => writeNanos(s, v[i] as bigint, zoned);
	}
	if (logical?.type === 'DATE' || converted === 'DATE') {
		return (v, i, s) => {
			const { text, bc } = dateText(v[i] as number);
			s.ascii(bc ? `${text} BC` : text);
			return undefined;
		};
	}
	if (logical?.type === 'UUID') return (v, i, s) => void s.ascii(uuidText(v[i] as Uint8Array));
	if (logical?.type === 'FLOAT16') return (v, i, s) => void s.ascii(doubleText(float16(v[i] as Uint8Array)));
	for (const unsupported of ['BSON', 'INTERVAL', 'VARIANT', 'GEOMETRY', 'GEOGRAPHY', 'MAP', 'LIST']) {
		if (logical?.type === unsupported || converted === unsupported) return `column ${element.name} is ${unsupported}`;
	}
	const unsigned = (logical?.type === 'INTEGER' && !logical.isSigned) || converted === 'UINT_32' || converted === 'UINT_64' || converted === 'UINT_16' || converted === 'UINT_8';
	switch (physical) {
		case 'BOOLEAN':
			return (v, i, s) => void s.ascii(v[i] ? 'true' : 'false');
		case 'INT32':
			return unsigned ? (v, i, s) => void writeInt(s, (v[i] as number) >>> 0) : (v, i, s) => void writeInt(s, v[i] as number);
		case 'INT64':
			return unsigned ? (v, i, s) => void s.ascii(BigInt.asUintN(64, v[i] as bigint).toString()) : (v, i, s) => void writeBigInt(s, v[i] as bigint);
		case 'FLOAT':
		case 'DOUBLE':
			return (v, i, s) => void s.ascii(doubleText(v[i] as number));
		case 'BYTE_ARRAY': {
			const text = logical?.type === 'STRING' || logical?.type === 'ENUM' || logical?.type === 'JSON' || converted === 'UTF8' || converted === 'ENUM' || converted === 'JSON';
			if (text) return (v, i, s) => void writeText(s, v[i] as Uint8Array, stats);
			// No annotation: many writers store strings this way; bytes that are not UTF-8 are binary.
			return (v, i, s) => {
				const bytes = v[i] as Uint8Array;
				if (isUtf8(bytes)) writeText(s, bytes, stats);
				else writeHex(s, bytes);
				return undefined;
			};
		}
		case 'FIXED_LEN_BYTE_ARRAY':
			return (v, i, s) => void writeHex(s, v[i] as Uint8Array);
		default:
			return `column ${element.name} has the unknown type ${String(physical)}`;
	}
}

function writeNanos(sink: Sink, nanos: bigint, zoned: boolean): string | undefined {
	let micros = nanos / 1000n;
	if (nanos < 0n && micros * 1000n !== nanos) micros -= 1n;
	sink.ascii(timestampText(micros, zoned));
	return micros * 1000n === nanos ? undefined : JSON.stringify(nanosText(nanos));
}

// --- Pages ------------------------------------------------------------------------------------

/**
 * A page's values as COPY text: value j is bytes[start[j], start[j] + len[j]); row i is value
 * ix[i] (-1: NULL), or value i itself when ix is null (len -1: NULL). A dictionary-encoded page
 * shares its dictionary's values and has only its indexes.
 */
interface Cells {
	rows: number;
	ix: Int32Array | null;
	bytes: Buffer;
	start: Int32Array;
	len: Int32Array;
	/** _ipai_raw JSON of a value, where the column does not hold it exactly. */
	raw: Array<string | undefined> | null;
}

function encodeAll(values: Decoded, count: number, encode: Encoder, defs: ArrayLike<number> | undefined, maxDef: number): Cells {
	const sink = new Sink(count * 12);
	const start = new Int32Array(count);
	const len = new Int32Array(count);
	let raw: Array<string | undefined> | null = null;
	let k = 0;
	const nulls = defs !== undefined && defs.length > 0;
	for (let i = 0; i < count; i++) {
		if (nulls && defs[i] !== maxDef) {
			len[i] = -1;
			continue;
		}
		start[i] = sink.pos;
		const kept = encode(values, k++, sink);
		len[i] = sink.pos - start[i];
		if (kept !== undefined) (raw ??= new Array(count))[i] = kept;
	}
	return { rows: count, ix: null, bytes: sink.buf, start, len, raw };
}

function fromDictionary(dictionary: Cells, indexes: Decoded, count: number, defs: ArrayLike<number> | undefined, maxDef: number): Cells {
	const nulls = defs !== undefined && defs.length > 0;
	let ix: Int32Array;
	if (!nulls && indexes instanceof Int32Array && indexes.length === count) ix = indexes;
	else {
		ix = new Int32Array(count);
		let k = 0;
		for (let i = 0; i < count; i++) ix[i] = nulls && defs[i] !== maxDef ? -1 : (indexes[k++] as number);
	}
	for (let i = 0; i < count; i++) {
		if (ix[i] >= dictionary.rows) throw new Error(`dictionary index ${ix[i]} is past the dictionary's ${dictionary.rows} values`);
	}
	return { rows: count, ix, bytes: dictionary.bytes, start: dictionary.start, len: dictionary.len, raw: dictionary.raw };
}

/** Bytes of one column chunk read forward through a window of byte ranges. */
const WINDOW_BYTES = 1 << 20;

class ColumnChunkReader {
	private window: Uint8Array = new Uint8Array(0);
	private windowStart: number;
	private pos: number;
	private readonly end: number;
	private dictionary: Cells | null = null;
	private readonly decoder: ColumnDecoder;
	private readonly maxDef: number;

	constructor(
		private readonly ranges: RangeReader,
		meta: ColumnMetaData,
		column: SchemaTree,
		root: SchemaTree,
		compressors: unknown,
		private readonly encode: Encoder,
		private readonly pd: PageDecoders,
	) {
		this.pos = Number(meta.dictionary_page_offset || meta.data_page_offset);
		this.windowStart = this.pos;
		this.end = this.pos + Number(meta.total_compressed_size);
		this.decoder = { pathInSchema: meta.path_in_schema, type: meta.type, element: column.element, schemaPath: [root, column], codec: meta.codec, parsers: undefined, compressors };
		this.maxDef = column.element.repetition_type === 'REQUIRED' ? 0 : 1;
	}

	/** Makes [pos, pos + n) readable (n is capped at the chunk's end). */
	private async ensure(n: number): Promise<void> {
		const want = Math.min(this.end, this.pos + n);
		if (this.pos >= this.windowStart && want <= this.windowStart + this.window.length) return;
		const until = Math.min(this.end, Math.max(want, this.pos + WINDOW_BYTES));
		const bytes = await this.ranges.read(this.pos, until);
		if (bytes.length < until - this.pos) throw new Error(`a read of bytes ${this.pos}–${until} returned ${bytes.length} bytes: the file is shorter than its footer says`);
		// A window that owns its whole ArrayBuffer: the page header reader must not read past it.
		this.window = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? bytes : bytes.slice();
		this.windowStart = this.pos;
	}

	private async header(): Promise<PageHeader> {
		for (let want = 64 << 10; ; want *= 4) {
			await this.ensure(want);
			const offset = this.pos - this.windowStart;
			const reader = { view: new DataView(this.window.buffer, this.window.byteOffset + offset, this.window.length - offset), offset: 0 };
			try {
				const header = this.pd.parquetHeader(reader);
				this.pos += reader.offset;
				return header;
			} catch (error) {
				// A header cut by the window's end: read further, unless the chunk ends there.
				if (this.windowStart + this.window.length >= this.end) throw error;
			}
		}
	}

	/**
	 * A v1 dictionary-encoded page decoded into typed arrays (hyparquet's readDataPage fills plain
	 * arrays: most of the decoding time for the usual dictionary pages); null for other pages.
	 */
	private dictionaryPage(bytes: Uint8Array, daph: DataPageHeader): DataPage | null {
		if (!daph.encoding.endsWith('_DICTIONARY') || this.maxDef > 1 || (this.maxDef === 1 && daph.definition_level_encoding !== 'RLE')) return null;
		const reader = { view: new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength), offset: 0 };
		const count = daph.num_values;
		let defs: Uint8Array | undefined;
		let present = count;
		if (this.maxDef === 1) {
			defs = new Uint8Array(count);
			this.pd.readRleBitPackedHybrid(reader, 1, defs);
			for (let i = 0; i < count; i++) present -= 1 - defs[i];
			if (present === count) defs = undefined;
		}
		const bitWidth = reader.view.getUint8(reader.offset++);
		const indexes = new Int32Array(present);
		if (bitWidth > 0) this.pd.readRleBitPackedHybrid(reader, bitWidth, indexes, bytes.byteLength - reader.offset);
		return { definitionLevels: defs, dataPage: indexes };
	}

	/** The next data page's values, or null at the chunk's end. */
	async nextPage(): Promise<Cells | null> {
		while (this.pos < this.end) {
			const header = await this.header();
			await this.ensure(header.compressed_page_size);
			const offset = this.pos - this.windowStart;
			const compressed = this.window.subarray(offset, offset + header.compressed_page_size);
			if (compressed.length < header.compressed_page_size) throw new Error('a page runs past its column chunk');
			this.pos += header.compressed_page_size;
			const { type, codec, compressors, element } = this.decoder;
			if (header.type === 'DICTIONARY_PAGE') {
				const page = this.pd.decompressPage(compressed, header.uncompressed_page_size, codec, compressors);
				const count = header.dictionary_page_header!.num_values;
				const values = this.pd.readPlain({ view: new DataView(page.buffer, page.byteOffset, page.byteLength), offset: 0 }, type, count, element.type_length);
				this.dictionary = encodeAll(values, count, this.encode, undefined, 0);
				continue;
			}
			let page: DataPage;
			let daph: DataPageHeader;
			if (header.type === 'DATA_PAGE') {
				daph = header.data_page_header!;
				const bytes = this.pd.decompressPage(compressed, header.uncompressed_page_size, codec, compressors);
				page = (this.dictionary && this.dictionaryPage(bytes, daph)) || this.pd.readDataPage(bytes, daph, this.decoder);
			} else if (header.type === 'DATA_PAGE_V2') {
				daph = header.data_page_header_v2!;
				page = this.pd.readDataPageV2(compressed, header, this.decoder);
			} else continue; // index pages: nothing to load
			const count = daph.num_values;
			if (daph.encoding.endsWith('_DICTIONARY')) {
				if (!this.dictionary) throw new Error('a dictionary-encoded page comes before its dictionary');
				return fromDictionary(this.dictionary, page.dataPage, count, page.definitionLevels, this.maxDef);
			}
			return encodeAll(page.dataPage, count, this.encode, page.definitionLevels, this.maxDef);
		}
		return null;
	}
}

// --- The plan ---------------------------------------------------------------------------------

export interface ParquetCopyPlan {
	columns: SourceColumn[];
	detected: Record<string, unknown>;
	load: Pick<CsvCopyOptions, 'columns' | 'rows' | 'rowsCarryRaw' | 'textFormat' | 'tracker'>;
	/** Rows produced (known once rows() has run); nulReplaced: NUL characters replaced by U+FFFD. */
	stats: { rows: number; nulReplaced: number };
	totalRows: number;
}

/** Whether a table column of `tableType` takes the text written for a file column of `fileType` unchanged in meaning. */
function takesText(tableType: ColumnType | null | undefined, fileType: ColumnType): boolean {
	if (tableType === undefined || tableType === null) return false;
	if (tableType === fileType || tableType === 'text') return true;
	if (['jsonb', 'bigint[]', 'text[]'].includes(tableType) || ['jsonb', 'bigint[]', 'text[]'].includes(fileType)) return false;
	return widen(tableType, fileType) === tableType;
}

const OUT_BYTES = 1 << 20;

/**
 * Reads the footer and decides the columns (as the record reader does); returns the plan whose
 * rows() streams every row group as COPY text. Throws NotCopyable for what only the record
 * reader handles, FileFormatError for a file that is not readable Parquet.
 */
export async function planParquetCopy(reader: RangeReader, file: string, options: ReadOptions & { key?: string[] }): Promise<ParquetCopyPlan> {
	const parquet = await openParquet(reader, file, options);
	const { metadata, tree, columns } = parquet;
	const { compressors } = loadHyparquet();
	const pd = pageDecoders();
	const stats = { rows: 0, nulReplaced: 0 };
	const encoders = tree.children.map((child) => {
		if (child.children.length > 0 || child.element.repetition_type === 'REPEATED') throw new NotCopyable(`column ${child.element.name} is nested`);
		const encoder = encoderFor(child.element, stats);
		if (typeof encoder === 'string') throw new NotCopyable(encoder);
		return encoder;
	});
	for (const group of metadata.row_groups) {
		if (group.columns.length !== columns.length) throw new NotCopyable('a row group does not have one column chunk per column');
		if (group.columns.some((c) => c.file_path || !c.meta_data)) throw new NotCopyable('a column chunk lives in another file');
	}
	const declared = Object.keys(options.columnTypes ?? {}).length > 0;
	if (declared && columns.some((c) => ['jsonb', 'bigint[]', 'text[]'].includes(c.type))) throw new NotCopyable('a column is declared as jsonb or an array');
	// Nanosecond timestamps may keep a remainder in _ipai_raw; a keyed load keeps rows in order.
	const mayKeep = tree.children.some((c) => c.element.type === 'INT96' || (c.element.logical_type?.type === 'TIMESTAMP' && c.element.logical_type.unit === 'NANOS'));
	const rowsCarryRaw = mayKeep || (options.key ?? []).length > 0;
	const rawKeys = columns.map((c) => JSON.stringify(c.column));

	const recycler = new ChunkRecycler(OUT_BYTES);

	async function* rows(context: { shape: TableShape }): AsyncGenerator<Buffer> {
		for (const c of columns) {
			const tableType = context.shape.columns.get(c.column);
			if (!takesText(tableType, c.type)) throw new NotCopyable(`column ${c.column} of the table is ${tableType ?? 'missing'}, the file's is ${c.type}`);
		}
		// Output buffers are reused once the COPY reports their bytes sent (recycle.ts): a file's
		// worth of dead 1 MiB buffers would otherwise pile up outside the V8 heap until a GC.
		let out = recycler.take();
		let used = 0;
		const ready: Buffer[] = [];
		const room = (n: number): void => {
			if (used + n <= out.length) return;
			if (used > 0) ready.push(out.subarray(0, used));
			out = n <= OUT_BYTES ? recycler.take() : Buffer.allocUnsafe(n);
			used = 0;
		};
		const emptyRaw = Buffer.from('\t{}\n');
		const width = columns.length;
		const last = width - 1;
		const end = rowsCarryRaw ? 9 : 10;
		let groupStart = 0;
		for (const group of metadata.row_groups) {
			const groupRows = Number(group.num_rows);
			const chunks = tree.children.map((child, c) => new ColumnChunkReader(reader, group.columns[c].meta_data!, child, tree, compressors, encoders[c], pd));
			const pages: Array<Cells | null> = new Array(width).fill(null);
			const at = new Int32Array(width);
			let left = groupRows;
			try {
				while (left > 0) {
					let n = left;
					for (let c = 0; c < width; c++) {
						while (!pages[c] || at[c] >= pages[c]!.rows) {
							pages[c] = await chunks[c].nextPage();
							at[c] = 0;
							if (!pages[c]) throw new Error(`column ${columns[c].source} ends ${left} rows before its row group`);
						}
						n = Math.min(n, pages[c]!.rows - at[c]);
					}
					for (let r = 0; r < n; r++) {
						let raw: string | null = null;
						for (let c = 0; c < width; c++) {
							const page = pages[c]!;
							const i = at[c]++;
							const j = page.ix === null ? i : page.ix[i];
							const l = j < 0 ? -1 : page.len[j];
							if (used + l + 4 > out.length) room(l + 4);
							if (l < 0) {
								out[used++] = 92; // \N
								out[used++] = 78;
							} else if (l <= 24) {
								const src = page.bytes;
								for (let p = page.start[j], e = p + l; p < e; p++) out[used++] = src[p];
							} else {
								used += page.bytes.copy(out, used, page.start[j], page.start[j] + l);
							}
							out[used++] = c === last ? end : 9;
							if (page.raw !== null && j >= 0 && page.raw[j] !== undefined) raw = `${raw === null ? '' : `${raw},`}${rawKeys[c]}:${page.raw[j]}`;
						}
						if (rowsCarryRaw) {
							if (raw === null) {
								room(3);
								used += emptyRaw.copy(out, used, 1);
							} else {
								const json = Buffer.from(`{${raw}}\n`.replace(/\\/g, '\\\\'));
								room(json.length);
								used += json.copy(out, used);
							}
						}
					}
					left -= n;
					stats.rows += n;
					yield* ready.splice(0);
				}
			} catch (error) {
				if (error instanceof NotCopyable) throw error;
				throw new FileFormatError(file, `row group at row ${groupStart} cannot be decoded (${(error as Error).message})`);
			}
			groupStart += groupRows;
		}
		if (used > 0) ready.push(out.subarray(0, used));
		yield* ready.splice(0);
	}

	return {
		columns,
		detected: parquet.detected,
		load: { columns: columns.map((c) => ({ field: c.column, type: c.type })), rows, rowsCarryRaw, textFormat: true, tracker: recycler },
		stats,
		totalRows: parquet.totalRows,
	};
}
