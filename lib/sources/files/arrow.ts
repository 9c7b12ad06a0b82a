/**
 * Arrow IPC (file "ARROW1" and stream formats, Feather v2) via apache-arrow's RecordBatchReader:
 * one record batch at a time from the byte stream. Types come from the Arrow schema.
 */
import type { Readable } from 'node:stream';
import type { DataType, Field } from 'apache-arrow';
import type { ColumnType } from '../../lakehouse/columnTypes';
import type { LoadRecord } from '../../lakehouse/loader';
import { ColumnNamer } from './names';
import { FileFormatError, type FileReader, type ReadBatch, type ReadOptions, type SourceColumn } from './types';

export const ARROW_MAGIC = Buffer.from('ARROW1');

type ArrowSdk = typeof import('apache-arrow');

function columnType(Type: ArrowSdk['Type'], type: DataType): ColumnType {
	switch (type.typeId) {
		case Type.Bool:
			return 'boolean';
		case Type.Int:
		case Type.Int8:
		case Type.Int16:
		case Type.Int32:
		case Type.Int64:
		case Type.Uint8:
		case Type.Uint16:
		case Type.Uint32:
			return 'bigint';
		case Type.Uint64:
		case Type.Decimal:
			return 'numeric';
		case Type.Float:
		case Type.Float16:
		case Type.Float32:
		case Type.Float64:
			return 'double';
		case Type.Date:
		case Type.DateDay:
		case Type.DateMillisecond:
			return 'date';
		case Type.Timestamp:
		case Type.TimestampSecond:
		case Type.TimestampMillisecond:
		case Type.TimestampMicrosecond:
		case Type.TimestampNanosecond:
			return (type as DataType & { timezone?: string | null }).timezone ? 'timestamptz' : 'timestamp';
		case Type.List:
		case Type.FixedSizeList:
		case Type.Struct:
		case Type.Map:
		case Type.Union:
		case Type.DenseUnion:
		case Type.SparseUnion:
			return 'jsonb';
		default:
			return 'text';
	}
}

/** An Arrow value as the loader takes it: dates as ISO text, nested values as plain JSON. */
function plainValue(value: unknown, type: ColumnType): unknown {
	if (value === null || value === undefined) return null;
	if (type === 'date') return new Date(value as number).toISOString().slice(0, 10);
	if (type === 'timestamp' || type === 'timestamptz') return typeof value === 'number' || typeof value === 'bigint' ? new Date(Number(value)).toISOString() : value;
	if (type === 'jsonb' && typeof value === 'object' && value !== null && 'toJSON' in value) return (value as { toJSON(): unknown }).toJSON();
	if (value instanceof Uint8Array) return `\\x${Buffer.from(value).toString('hex')}`;
	return value;
}

export async function readArrow(stream: Readable, file: string, options: ReadOptions): Promise<FileReader> {
	// Loaded here, not at the top: n8n loads every community node in every process, and
	// apache-arrow is the largest library of this package.
	const { RecordBatchReader, Type } = await import('apache-arrow');
	let reader: Awaited<ReturnType<ArrowSdk['RecordBatchReader']['from']>>;
	try {
		reader = await RecordBatchReader.from(stream as unknown as AsyncIterable<Uint8Array>);
		await reader.open();
	} catch (error) {
		throw new FileFormatError(file, `not a readable Arrow IPC file (${(error as Error).message})`);
	}
	const fields = reader.schema.fields as Field[];
	if (fields.length === 0) throw new FileFormatError(file, 'the Arrow file has no columns');
	const namer = new ColumnNamer();
	const overrides = options.columnTypes ?? {};
	const columns: SourceColumn[] = fields.map((field, i) => {
		const column = namer.name(field.name, i);
		return { source: field.name, column, type: overrides[field.name] ?? overrides[column] ?? columnType(Type, field.type), inferred: false };
	});
	const natural = fields.map((f) => columnType(Type, f.type));
	const pageRows = options.pageRows ?? 5_000;

	async function* batches(): AsyncGenerator<ReadBatch> {
		let rows = 0;
		try {
			for await (const batch of reader) {
				const vectors = fields.map((_, i) => batch.getChildAt(i));
				for (let start = 0; start < batch.numRows; start += pageRows) {
					const end = Math.min(batch.numRows, start + pageRows);
					const records: LoadRecord[] = new Array(end - start);
					for (let r = start; r < end; r++) {
						const record: LoadRecord = {};
						for (let c = 0; c < columns.length; c++) record[columns[c].column] = plainValue(vectors[c]?.get(r), natural[c]);
						records[r - start] = record;
					}
					rows += records.length;
					yield { records, rejects: [] };
				}
			}
		} catch (error) {
			if (error instanceof FileFormatError) throw error;
			throw new FileFormatError(file, `the Arrow data cannot be read after ${rows} rows (${(error as Error).message}); the file may be truncated`);
		}
		if (rows === 0) throw new FileFormatError(file, 'the Arrow file has no rows');
	}

	return { format: 'arrow', columns, detected: {}, batches: batches() };
}
