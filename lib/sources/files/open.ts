/**
 * Opening a file: compression and format from its first bytes (the name only where bytes cannot
 * tell), and the reader for that format — over a stream, or over byte ranges for Parquet.
 */
import type { Readable } from 'node:stream';
import { readArrow, ARROW_MAGIC } from './arrow';
import { counted, fileRanges, gunzip, isGzip, peek, spool } from './bytes';
import { readCsv, SAMPLE_BYTES } from './csv';
import { readJson } from './json';
import { RecyclingFileStream, type ChunkRecycler } from './recycle';
import { PARQUET_MAGIC, readParquet, type RangeReader } from './parquet';
import { FileFormatError, type FileFormat, type FileReader, type FileSource, type ReadOptions } from './types';

/** Format from the first bytes, with the name (extension) as a hint where bytes cannot tell. */
export function detectFormat(head: Buffer, name: string): FileFormat {
	const ext = name.toLowerCase().replace(/\?.*$/, '').replace(/\.gz$/, '').match(/\.([a-z0-9]+)$/)?.[1] ?? '';
	if (head.subarray(0, 4).equals(PARQUET_MAGIC) || ext === 'parquet' || ext === 'pq') return 'parquet';
	if (head.subarray(0, 6).equals(ARROW_MAGIC) || (head.length >= 4 && head.readUInt32LE(0) === 0xffffffff) || ['arrow', 'feather', 'ipc', 'arrows'].includes(ext)) return 'arrow';
	const text = head.subarray(0, 4096).toString('utf8').replace(/^\uFEFF/, '').trimStart();
	if (ext === 'ndjson' || ext === 'jsonl') return 'ndjson';
	if (text.startsWith('[')) return 'json';
	if (text.startsWith('{')) return firstValueOnOneLine(head.toString('utf8').replace(/^\uFEFF/, '').trimStart()) ? 'ndjson' : 'json';
	if (ext === 'json') return 'json';
	return ext === 'tsv' || ext === 'tab' ? 'tsv' : 'csv';
}

/**
 * Whether `text` (starting with an object) is NDJSON, read line by line: its first value ends on
 * the line it starts on and more follows. A value that spans lines (pretty-printed), does not end
 * within the sample, or is all there is, is a JSON document, read value by value (a records path
 * then streams from it): whitespace never decides how a record is read.
 */
function firstValueOnOneLine(text: string): boolean {
	let depth = 0;
	let inString = false;
	let escaped = false;
	for (let i = 0; i < text.length; i++) {
		const c = text.charCodeAt(i);
		if (c === 10) return false;
		if (inString) {
			if (escaped) escaped = false;
			else if (c === 92) escaped = true;
			else if (c === 34) inString = false;
		} else if (c === 34) inString = true;
		else if (c === 123 || c === 91) depth++;
		else if ((c === 125 || c === 93) && --depth === 0) return text.slice(i + 1).trim().length > 0;
	}
	return false;
}

/** A file's bytes, decompressed, with its first bytes and its format. */
export interface OpenedFile {
	stream: Readable;
	/** The first SAMPLE_BYTES of the decompressed bytes (all of them when `complete`). */
	head: Buffer;
	complete: boolean;
	format: FileFormat;
	gzip: boolean;
	/** The reader's buffer recycler when the COPY can hand its buffers back (plain bytes of a local file). */
	recycler?: ChunkRecycler;
}

export async function openBytes(source: FileSource, options: ReadOptions, byteCounter: { bytes: number }): Promise<OpenedFile> {
	const file = source.name;
	const raw = await source.open();
	let stream: Readable = counted(raw, byteCounter);
	const first = await peek(stream, 4);
	stream = first.stream;
	const gzip = options.compression === 'gzip' || ((options.compression ?? 'auto') === 'auto' && isGzip(first.head));
	if (options.compression === 'gzip' && !isGzip(first.head)) throw new FileFormatError(file, 'compression is set to gzip but the file is not gzip data');
	if (first.head.length === 0) throw new FileFormatError(file, 'the file is empty (0 bytes)');
	if (gzip) stream = gunzip(stream, file);
	const sampled = await peek(stream, SAMPLE_BYTES);
	stream = sampled.stream;
	const head = sampled.head;
	if (head.length === 0) throw new FileFormatError(file, 'the file is empty (it decompresses to 0 bytes)');
	const complete = head.length < SAMPLE_BYTES;
	const format = options.format && options.format !== 'auto' ? options.format : detectFormat(head, file.replace(/\.gz$/i, ''));
	return { stream, head, complete, format, gzip, recycler: raw instanceof RecyclingFileStream && !gzip ? raw.recycler : undefined };
}

export async function readerFor(source: FileSource, options: ReadOptions, opened: OpenedFile, byteCounter: { bytes: number }): Promise<{ reader: FileReader; cleanup: () => Promise<void> }> {
	const file = source.name;
	const { stream, head, complete, format } = opened;
	switch (format) {
		case 'csv':
		case 'tsv':
			return { reader: await readCsv(stream, head, complete, file, options, format === 'tsv'), cleanup: async () => void stream.destroy() };
		case 'json':
		case 'ndjson':
			return { reader: await readJson(stream, file, options, format === 'ndjson'), cleanup: async () => void stream.destroy() };
		case 'arrow':
			return { reader: await readArrow(stream, file, options), cleanup: async () => void stream.destroy() };
		case 'parquet': {
			const { ranges, cleanup } = await parquetRanges(source, opened, byteCounter);
			try {
				return { reader: await readParquet(ranges, file, options), cleanup };
			} catch (error) {
				await cleanup();
				throw error;
			}
		}
	}
}

/**
 * Random access to a Parquet file: the source's own byte ranges when it has them and the file is
 * not compressed as a whole; otherwise a temporary file (streamed to disk, never to memory).
 */
export async function parquetRanges(source: FileSource, opened: OpenedFile, byteCounter: { bytes: number }): Promise<{ ranges: RangeReader; cleanup: () => Promise<void> }> {
	const size = source.size;
	if (!opened.gzip && source.readRange && size !== undefined) {
		opened.stream.destroy();
		// The file's stored size, whatever the format-detection stream still counts as it winds down.
		Object.defineProperty(byteCounter, 'bytes', { get: () => size, set: () => undefined });
		return { ranges: { size, read: (s, e) => source.readRange!(s, e) }, cleanup: async () => undefined };
	}
	const spooled = await spool(opened.stream);
	const ranges = await fileRanges(spooled.path);
	return {
		ranges,
		cleanup: async () => {
			await ranges.close().catch(() => undefined);
			await spooled.remove();
		},
	};
}
