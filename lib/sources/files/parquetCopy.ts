/**
 * The COPY path for Parquet: column chunks are read by byte ranges a window at a time, decoded
 * one page at a time with hyparquet's page decoders (parquetPages.ts), and each value is written
 * straight as COPY bytes — no JavaScript object per row, no whole row group or column chunk in
 * memory. Dictionary pages are encoded once, so a dictionary-encoded value costs a byte copy.
 * The format is COPY's binary one when the table's columns have exactly the file's types
 * (parquetBinary.ts: the server stores values instead of parsing text), its text format otherwise
 * (parquetValues.ts).
 *
 * Values are exact: integers of any width (UINT_64 and decimals through BigInt), decimals from
 * their unscaled integers, timestamps to the microsecond (PostgreSQL's precision; a nanosecond
 * remainder is kept in _ipai_raw), strings as their own UTF-8 bytes (PostgreSQL validates them).
 *
 * What this path does not handle (nested columns, BSON, INTERVAL, geospatial and variant
 * columns, column chunks in other files) throws NotCopyable before anything is written, and
 * ingestFile reads the file through the record reader (parquet.ts) instead.
 */
import { sqlTypeName, widen, type ColumnType } from '../../lakehouse/columnTypes';
import type { CopyFormat, CsvCopyOptions } from '../../lakehouse/copyLoad';
import { META, type TableShape } from '../../lakehouse/tables';
import { NotCopyable } from './csvScanner';
import { loadHyparquet, openParquet, type RangeReader } from './parquet';
import { BINARY_HEADER, BINARY_TRAILER, binaryEncoder } from './parquetBinary';
import { ColumnChunkReader, ColumnScratch, pageDecoders, type Cells, type ColumnEncoding } from './parquetPages';
import { encoderFor } from './parquetValues';
import { ChunkRecycler } from './recycle';
import { FileFormatError, type ReadOptions, type SourceColumn } from './types';

export interface ParquetCopyPlan {
	columns: SourceColumn[];
	detected: Record<string, unknown>;
	load: Pick<CsvCopyOptions, 'columns' | 'rows' | 'rowsCarryRaw' | 'copyFormat' | 'tracker'>;
	/** Rows produced (known once rows() has run); nulReplaced: NUL characters replaced by U+FFFD; the COPY format written. */
	stats: { rows: number; nulReplaced: number; format?: CopyFormat };
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
const TEXT_NULL = Buffer.from('\\N');
const BINARY_NULL = Buffer.from([0xff, 0xff, 0xff, 0xff]);
/** _ipai_raw `{}` as the last field of a row: text, and binary (length 3: jsonb's version byte, then the text). */
const TEXT_EMPTY_RAW = Buffer.from('{}\n');
const BINARY_EMPTY_RAW = Buffer.from([0, 0, 0, 3, 1, 0x7b, 0x7d]);

/**
 * Reads the footer and decides the columns (as the record reader does); returns the plan whose
 * rows() streams every row group as COPY text or binary. Throws NotCopyable for what only the record
 * reader handles, FileFormatError for a file that is not readable Parquet.
 */
export async function planParquetCopy(reader: RangeReader, file: string, options: ReadOptions & { key?: string[] }): Promise<ParquetCopyPlan> {
	const parquet = await openParquet(reader, file, options);
	const { metadata, tree, columns } = parquet;
	const { compressors } = loadHyparquet();
	const pd = pageDecoders();
	const stats: ParquetCopyPlan['stats'] = { rows: 0, nulReplaced: 0 };
	const textEncoders = tree.children.map((child) => {
		if (child.children.length > 0 || child.element.repetition_type === 'REPEATED') throw new NotCopyable(`column ${child.element.name} is nested`);
		const encoder = encoderFor(child.element, stats);
		if (typeof encoder === 'string') throw new NotCopyable(encoder);
		return encoder;
	});
	const binaryEncoders = tree.children.map((child, i) => binaryEncoder(child.element, columns[i].type, stats));
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

	/** COPY's binary format when every column has a binary encoder and the table column exactly the file column's type. */
	const copyFormat = (shape: TableShape): 'text' | 'binary' => {
		const exact = (column: string, type: ColumnType) => shape.sqlTypes?.get(column) === sqlTypeName(type);
		const binary = columns.every((c, i) => binaryEncoders[i] !== null && exact(c.column, c.type)) && (!rowsCarryRaw || exact(META.raw, 'jsonb'));
		return binary ? 'binary' : 'text';
	};

	async function* rows(context: { shape: TableShape; format: CopyFormat }): AsyncGenerator<Buffer> {
		for (const c of columns) {
			const tableType = context.shape.columns.get(c.column);
			if (!takesText(tableType, c.type)) throw new NotCopyable(`column ${c.column} of the table is ${tableType ?? 'missing'}, the file's is ${c.type}`);
		}
		stats.format = context.format;
		const binary = context.format === 'binary';
		const encodings: ColumnEncoding[] = columns.map((_, i) => ({ encode: binary ? binaryEncoders[i]! : textEncoders[i], binary }));
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
		const width = columns.length;
		const last = width - 1;
		// Text: fields end in a tab, the row's last in a newline. Binary: a row starts with its field
		// count, each field with its length (included in a page's value bytes; -1 is NULL).
		const end = rowsCarryRaw ? 9 : 10;
		const fields = width + (rowsCarryRaw ? 1 : 0);
		const nullBytes = binary ? BINARY_NULL : TEXT_NULL;
		const emptyRaw = binary ? BINARY_EMPTY_RAW : TEXT_EMPTY_RAW;
		if (binary) {
			room(BINARY_HEADER.length);
			used += BINARY_HEADER.copy(out, used);
		}
		const scratches = columns.map(() => new ColumnScratch());
		let groupStart = 0;
		for (const group of metadata.row_groups) {
			const groupRows = Number(group.num_rows);
			const chunks = tree.children.map((child, c) => new ColumnChunkReader(reader, group.columns[c].meta_data!, child, tree, compressors, encodings[c], pd, scratches[c]));
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
						if (binary) {
							if (used + 2 > out.length) room(2);
							out[used++] = fields >> 8;
							out[used++] = fields & 0xff;
						}
						for (let c = 0; c < width; c++) {
							const page = pages[c]!;
							const i = at[c]++;
							const j = page.ix === null ? i : page.ix[i];
							const l = j < 0 ? -1 : page.len[j];
							const size = (l < 0 ? 4 : l) + 1; // at most: the value or a NULL, and a separator
							if (used + size > out.length) room(size);
							if (l < 0) {
								for (let p = 0; p < nullBytes.length; p++) out[used++] = nullBytes[p];
							} else if (l <= 24) {
								const src = page.bytes;
								for (let p = page.start[j], e = p + l; p < e; p++) out[used++] = src[p];
							} else {
								used += page.bytes.copy(out, used, page.start[j], page.start[j] + l);
							}
							if (!binary) out[used++] = c === last ? end : 9;
							if (page.raw !== null && j >= 0 && page.raw[j] !== undefined) raw = `${raw === null ? '' : `${raw},`}${rawKeys[c]}:${page.raw[j]}`;
						}
						if (rowsCarryRaw) {
							if (raw === null) {
								room(emptyRaw.length);
								used += emptyRaw.copy(out, used);
							} else if (binary) {
								const json = Buffer.from(`{${raw}}`);
								room(json.length + 5);
								used = out.writeInt32BE(json.length + 1, used);
								out[used++] = 1; // jsonb's version byte
								used += json.copy(out, used);
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
		if (binary) {
			room(BINARY_TRAILER.length);
			used += BINARY_TRAILER.copy(out, used);
		}
		if (used > 0) ready.push(out.subarray(0, used));
		yield* ready.splice(0);
	}

	return {
		columns,
		detected: parquet.detected,
		load: { columns: columns.map((c) => ({ field: c.column, type: c.type })), rows, rowsCarryRaw, copyFormat, tracker: recycler },
		stats,
		totalRows: parquet.totalRows,
	};
}
