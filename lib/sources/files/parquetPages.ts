/**
 * A Parquet column chunk read forward by byte ranges and decoded one page at a time with
 * hyparquet's page decoders, each page's values encoded once as COPY bytes (parquetValues.ts);
 * a dictionary page is encoded once, so a dictionary-encoded value costs a byte copy.
 */
import type { ParquetFile, RangeReader } from './parquet';
import type { Decoded, Encoder } from './parquetValues';
import { Sink } from './parquetValues';

type SchemaTree = ParquetFile['tree'];
type SchemaElement = SchemaTree['element'];
export type ColumnMetaData = NonNullable<ParquetFile['metadata']['row_groups'][number]['columns'][number]['meta_data']>;

/** hyparquet's page-level decoders (its src/*.js modules; their signatures are in its types/). */
export interface PageDecoders {
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
export function pageDecoders(): PageDecoders {
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

/**
 * A page's values as COPY bytes: value j is bytes[start[j], start[j] + len[j]); row i is value
 * ix[i] (-1: NULL), or value i itself when ix is null (len -1: NULL). In the binary format a
 * value's bytes start with their 4-byte length, as a COPY field does. A dictionary-encoded page
 * shares its dictionary's values and has only its indexes.
 */
export interface Cells {
	rows: number;
	ix: Int32Array | null;
	bytes: Buffer;
	start: Int32Array;
	len: Int32Array;
	/** _ipai_raw JSON of a value, where the column does not hold it exactly. */
	raw: Array<string | undefined> | null;
}

/** How a column's values are written: its encoder, and whether each value is length-prefixed (binary format). */
export interface ColumnEncoding {
	encode: Encoder;
	binary: boolean;
}

function encodeAll(values: Decoded, count: number, { encode, binary }: ColumnEncoding, defs: ArrayLike<number> | undefined, maxDef: number): Cells {
	const sink = new Sink(count * (binary ? 16 : 12));
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
		if (binary) {
			sink.room(4);
			sink.pos += 4;
		}
		const kept = encode(values, k++, sink);
		len[i] = sink.pos - start[i];
		if (binary) {
			// The field's length, big-endian (byte stores: Buffer's writers box their arguments).
			const n = len[i] - 4;
			const buf = sink.buf;
			const p = start[i];
			buf[p] = n >>> 24;
			buf[p + 1] = n >>> 16;
			buf[p + 2] = n >>> 8;
			buf[p + 3] = n;
		}
		if (kept !== undefined) (raw ??= new Array(count))[i] = kept;
	}
	return { rows: count, ix: null, bytes: sink.buf, start, len, raw };
}

/**
 * A column's decoding arrays, reused from page to page and row group to row group: a page is
 * consumed before the next is decoded. Allocated per page, they were most of what a load
 * allocates, and in a process whose heap is near its limit (n8n with lean settings) every few
 * megabytes allocated cost a full garbage collection of that heap.
 */
export class ColumnScratch {
	private defs = new Uint8Array(0);
	private indexes = new Int32Array(0);
	private ix = new Int32Array(0);

	take(kind: 'defs', n: number): Uint8Array;
	take(kind: 'indexes' | 'ix', n: number): Int32Array;
	take(kind: 'defs' | 'indexes' | 'ix', n: number): Uint8Array | Int32Array {
		if (kind === 'defs') {
			if (this.defs.length < n) this.defs = new Uint8Array(n);
			return this.defs.subarray(0, n);
		}
		if (this[kind].length < n) this[kind] = new Int32Array(n);
		return this[kind].subarray(0, n);
	}
}

function fromDictionary(dictionary: Cells, indexes: Decoded, count: number, defs: ArrayLike<number> | undefined, maxDef: number, scratch: ColumnScratch): Cells {
	const nulls = defs !== undefined && defs.length > 0;
	let ix: Int32Array;
	if (!nulls && indexes instanceof Int32Array && indexes.length === count) ix = indexes;
	else {
		ix = scratch.take('ix', count);
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

export class ColumnChunkReader {
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
		private readonly encoding: ColumnEncoding,
		private readonly pd: PageDecoders,
		private readonly scratch: ColumnScratch,
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
			defs = this.scratch.take('defs', count);
			this.pd.readRleBitPackedHybrid(reader, 1, defs);
			for (let i = 0; i < count; i++) present -= 1 - defs[i];
			if (present === count) defs = undefined;
		}
		const bitWidth = reader.view.getUint8(reader.offset++);
		const indexes = this.scratch.take('indexes', present);
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
				this.dictionary = encodeAll(values, count, this.encoding, undefined, 0);
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
				return fromDictionary(this.dictionary, page.dataPage, count, page.definitionLevels, this.maxDef, this.scratch);
			}
			return encodeAll(page.dataPage, count, this.encoding, page.definitionLevels, this.maxDef);
		}
		return null;
	}
}

