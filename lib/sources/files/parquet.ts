/**
 * Parquet via hyparquet (pure JS) + hyparquet-compressors (snappy, gzip, zstd, brotli, lz4):
 * the footer is read first, then one row group at a time through byte-range reads, so a file is
 * never held whole in memory — only the current row group's decoded columns. Column types come
 * from the file's schema, not from a sample; nested columns (structs, lists, maps) land as jsonb.
 */
import type { ColumnType } from '../../lakehouse/columnTypes';
import type { LoadRecord } from '../../lakehouse/loader';
import { ColumnNamer } from './names';
import { FileFormatError, type FileReader, type ReadBatch, type ReadOptions, type SourceColumn } from './types';

type Hyparquet = typeof import('hyparquet');
type SchemaTree = ReturnType<Hyparquet['parquetSchema']>;

// hyparquet and its compressors are ES modules only: loaded on first use (require() of ESM works
// from Node 20.19; n8n runs on Node 24), so nothing is loaded for users who never read Parquet.
// (jest compiles them to CommonJS: see jest.config.js.)
let modules: { hyparquet: Hyparquet; compressors: Record<string, unknown> } | undefined;
export function loadHyparquet(): NonNullable<typeof modules> {
	// eslint-disable-next-line @typescript-eslint/no-require-imports
	const nodeRequire = require;
	modules ??= {
		hyparquet: nodeRequire('hyparquet') as Hyparquet,
		compressors: (nodeRequire('hyparquet-compressors') as { compressors: Record<string, unknown> }).compressors,
	};
	return modules;
}

export const PARQUET_MAGIC = Buffer.from('PAR1');

export interface RangeReader {
	size: number;
	read(start: number, end: number): Promise<Uint8Array>;
}

/** Timestamps as ISO strings with their full precision (a JS Date would cut microseconds). */
function isoFromMicros(micros: bigint): string {
	const ms = micros / 1000n - (micros % 1000n < 0n ? 1n : 0n);
	const rest = Number(((micros % 1000n) + 1000n) % 1000n);
	const iso = new Date(Number(ms)).toISOString(); // …SS.mmmZ
	return rest === 0 ? iso : `${iso.slice(0, 23)}${String(rest).padStart(3, '0')}Z`;
}
const PARSERS = {
	timestampFromMilliseconds: (millis: bigint) => new Date(Number(millis)).toISOString(),
	timestampFromMicroseconds: isoFromMicros,
	timestampFromNanoseconds: (nanos: bigint) => isoFromMicros(nanos / 1000n),
	dateFromDays: (days: number) => new Date(days * 86_400_000).toISOString().slice(0, 10),
};

function columnType(node: SchemaTree): ColumnType {
	const e = node.element;
	const logical = e.logical_type?.type;
	if (node.children.length > 0 || logical === 'LIST' || logical === 'MAP' || e.converted_type === 'LIST' || e.converted_type === 'MAP' || e.repetition_type === 'REPEATED') {
		return 'jsonb';
	}
	if (logical === 'JSON' || e.converted_type === 'JSON' || logical === 'VARIANT' || logical === 'GEOMETRY' || logical === 'GEOGRAPHY') return 'jsonb';
	if (logical === 'DECIMAL' || e.converted_type === 'DECIMAL') return 'numeric';
	if (logical === 'FLOAT16') return 'double';
	if (e.logical_type?.type === 'INTEGER' && e.logical_type.bitWidth === 64 && !e.logical_type.isSigned) return 'numeric';
	if (logical === 'DATE' || e.converted_type === 'DATE') return 'date';
	if (logical === 'TIMESTAMP') return e.logical_type && 'isAdjustedToUTC' in e.logical_type && e.logical_type.isAdjustedToUTC ? 'timestamptz' : 'timestamp';
	if (e.converted_type === 'TIMESTAMP_MILLIS' || e.converted_type === 'TIMESTAMP_MICROS' || e.type === 'INT96') return 'timestamptz';
	switch (e.type) {
		case 'BOOLEAN':
			return 'boolean';
		case 'INT32':
		case 'INT64':
			return e.converted_type === 'UINT_64' ? 'numeric' : 'bigint';
		case 'FLOAT':
		case 'DOUBLE':
			return 'double';
		default:
			return 'text';
	}
}

/** Binary values (non-UTF-8 byte arrays) as PostgreSQL bytea hex text, e.g. \x0a1b. */
function hexOf(value: unknown): unknown {
	return value instanceof Uint8Array ? `\\x${Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('hex')}` : value;
}

export interface ParquetFile {
	metadata: Awaited<ReturnType<Hyparquet['parquetMetadataAsync']>>;
	tree: SchemaTree;
	columns: SourceColumn[];
	totalRows: number;
	detected: Record<string, unknown>;
	/** hyparquet's view of the file: byte ranges on demand. */
	asyncBuffer: { byteLength: number; slice(start: number, end?: number): Promise<ArrayBuffer> };
}

/** Checks the magic bytes, reads the footer (two small range reads) and decides the columns. */
export async function openParquet(reader: RangeReader, file: string, options: ReadOptions): Promise<ParquetFile> {
	const { hyparquet } = loadHyparquet();
	if (reader.size < 12) throw new FileFormatError(file, `not a Parquet file: only ${reader.size} bytes (a Parquet file has a 4-byte header and an 8-byte footer at least)`);
	const [head, tail] = await Promise.all([reader.read(0, 4), reader.read(reader.size - 4, reader.size)]);
	if (!PARQUET_MAGIC.equals(Buffer.from(head)) || !PARQUET_MAGIC.equals(Buffer.from(tail))) {
		throw new FileFormatError(
			file,
			PARQUET_MAGIC.equals(Buffer.from(head))
				? 'the Parquet file is truncated: its footer (ending in "PAR1") is missing'
				: 'not a Parquet file: it does not start with "PAR1"',
		);
	}
	const asyncBuffer = {
		byteLength: reader.size,
		slice: async (start: number, end?: number): Promise<ArrayBuffer> => {
			const bytes = await reader.read(start, end ?? reader.size);
			return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
		},
	};
	let metadata: ParquetFile['metadata'];
	try {
		metadata = await hyparquet.parquetMetadataAsync(asyncBuffer, { parsers: PARSERS });
	} catch (error) {
		throw new FileFormatError(file, `the Parquet footer cannot be read (${(error as Error).message}); the file is corrupt or not Parquet`);
	}
	const tree = hyparquet.parquetSchema(metadata);
	const namer = new ColumnNamer();
	const overrides = options.columnTypes ?? {};
	const columns: SourceColumn[] = tree.children.map((child, i) => {
		const source = child.element.name;
		const column = namer.name(source, i);
		const declared = overrides[source] ?? overrides[column];
		return { source, column, type: declared ?? columnType(child), inferred: false };
	});
	const totalRows = Number(metadata.num_rows);
	if (totalRows === 0) throw new FileFormatError(file, 'the Parquet file has no rows');
	const detected = { rows: totalRows, rowGroups: metadata.row_groups.length, codecs: [...new Set(metadata.row_groups.flatMap((g) => g.columns.map((c) => c.meta_data?.codec)))] };
	return { metadata, tree, columns, totalRows, detected, asyncBuffer };
}

/**
 * The record reader: rows as objects, one row group at a time. For what the COPY path
 * (parquetCopy.ts) does not take: nested columns and the other types listed there.
 */
export async function readParquet(reader: RangeReader, file: string, options: ReadOptions): Promise<FileReader> {
	const { hyparquet, compressors } = loadHyparquet();
	const { metadata, tree, columns, totalRows, detected, asyncBuffer: file_ } = await openParquet(reader, file, options);
	const binary = tree.children.map((c) => c.element.type === 'BYTE_ARRAY' && columnType(c) === 'text' && !c.element.logical_type && !c.element.converted_type);
	const pageRows = options.pageRows ?? 5_000;

	async function* batches(): AsyncGenerator<ReadBatch> {
		let groupStart = 0;
		for (const group of metadata.row_groups) {
			const groupRows = Number(group.num_rows);
			if (groupRows === 0) continue;
			const data = new Map<string, unknown[]>();
			try {
				await hyparquet.parquetRead({
					file: file_,
					metadata,
					rowStart: groupStart,
					rowEnd: groupStart + groupRows,
					compressors: compressors as never,
					parsers: PARSERS,
					onChunk: ({ columnName, columnData, rowStart }) => {
						let column = data.get(columnName);
						if (!column) data.set(columnName, (column = new Array<unknown>(groupRows)));
						for (let i = 0; i < columnData.length; i++) {
							const at = rowStart - groupStart + i;
							if (at >= 0 && at < groupRows) column[at] = columnData[i];
						}
					},
				});
			} catch (error) {
				throw new FileFormatError(file, `row group at row ${groupStart} cannot be decoded (${(error as Error).message})`);
			}
			const arrays = columns.map((c) => data.get(c.source) ?? []);
			data.clear();
			for (let start = 0; start < groupRows; start += pageRows) {
				const end = Math.min(groupRows, start + pageRows);
				const records: LoadRecord[] = new Array(end - start);
				for (let r = start; r < end; r++) {
					const record: LoadRecord = {};
					for (let c = 0; c < columns.length; c++) {
						const value = arrays[c][r];
						record[columns[c].column] = value === undefined ? null : binary[c] ? hexOf(value) : value;
					}
					records[r - start] = record;
				}
				yield { records, rejects: [] };
			}
			groupStart += groupRows;
		}
	}

	return {
		format: 'parquet',
		columns,
		detected: { ...detected, rows: totalRows },
		batches: batches(),
	};
}
