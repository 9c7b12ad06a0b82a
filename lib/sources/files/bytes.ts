/**
 * Byte plumbing shared by every format: look at a stream's first bytes without losing them,
 * undo gzip (with a clear error when it is truncated), count bytes, spool a non-seekable stream to
 * a temporary file for formats that need random access (Parquet's footer comes last).
 */
import { createWriteStream, promises as fs, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { RecyclingFileStream } from './recycle';
import { FileFormatError, type FileSource } from './types';

export const GZIP_MAGIC = [0x1f, 0x8b];

/** Reads at least `bytes` bytes (or the whole stream if shorter) and returns them with a stream of ALL bytes. */
export async function peek(stream: Readable, bytes: number): Promise<{ head: Buffer; stream: Readable }> {
	const iterator = stream[Symbol.asyncIterator]();
	const chunks: Buffer[] = [];
	let length = 0;
	let done = false;
	while (length < bytes) {
		const next = await iterator.next();
		if (next.done) {
			done = true;
			break;
		}
		const chunk = Buffer.isBuffer(next.value) ? next.value : Buffer.from(next.value);
		chunks.push(chunk);
		length += chunk.length;
	}
	const head = Buffer.concat(chunks);
	async function* all(): AsyncGenerator<Buffer> {
		if (head.length > 0) yield head;
		if (done) return;
		for (let next = await iterator.next(); !next.done; next = await iterator.next()) {
			yield Buffer.isBuffer(next.value) ? next.value : Buffer.from(next.value);
		}
	}
	const rest = Readable.from(all(), { objectMode: false });
	rest.once('close', () => void iterator.return?.());
	return { head, stream: rest };
}

export function isGzip(head: Uint8Array): boolean {
	return head.length >= 2 && head[0] === GZIP_MAGIC[0] && head[1] === GZIP_MAGIC[1];
}

/** gunzip, with zlib's "unexpected end of file" turned into an error naming the file. */
export function gunzip(stream: Readable, file: string): Readable {
	const gunzipper = createGunzip();
	const out = new PassThrough({ highWaterMark: 1 << 20 });
	// Piped by hand, not with pipeline(): pipeline would destroy `out` with zlib's bare error first.
	stream.on('error', (error) => out.destroy(error));
	out.on('close', () => {
		if (!gunzipper.destroyed) gunzipper.destroy();
		if (!stream.destroyed) stream.destroy();
	});
	stream.pipe(gunzipper).pipe(out);
	gunzipper.on('error', (error: NodeJS.ErrnoException) => {
		const truncated = error.code === 'Z_BUF_ERROR' || /unexpected end of file/i.test(error.message);
		out.destroy(
			truncated
				? new FileFormatError(file, 'the gzip data is truncated (unexpected end of file): the file was cut short in transfer or storage')
				: error.code?.startsWith('Z_')
					? new FileFormatError(file, `the gzip data is corrupt (${error.message})`)
					: error,
		);
	});
	return out;
}

/** Counts the bytes that pass (the file's stored size, compressed or not). */
export function counted(stream: Readable, counter: { bytes: number }): Readable {
	const counting = new Transform({
		transform(chunk: Buffer, _encoding, callback) {
			counter.bytes += chunk.length;
			callback(null, chunk);
		},
	});
	stream.on('error', (error) => counting.destroy(error));
	// A reader that stops early (a bad row, the COPY giving way) destroys the streams it reads;
	// pipe() would leave the source open, and with it a file descriptor.
	counting.once('close', () => void (stream.destroyed || stream.destroy()));
	return stream.pipe(counting);
}

/** A local file as a FileSource (range reads for Parquet: with its size, nothing is spooled). */
export function localFileSource(path: string, name = path): FileSource {
	return {
		name,
		// Read when asked, so a missing file is still reported by open() with its own error.
		get size(): number | undefined {
			try {
				return statSync(path).size;
			} catch {
				return undefined;
			}
		},
		open: async () => new RecyclingFileStream(path),
		readRange: async (start, end) => {
			const handle = await fs.open(path, 'r');
			try {
				const buffer = Buffer.allocUnsafe(end - start);
				const { bytesRead } = await handle.read(buffer, 0, end - start, start);
				return buffer.subarray(0, bytesRead);
			} finally {
				await handle.close();
			}
		},
	};
}

/**
 * Writes a stream to a temporary file (streamed, never whole in memory) and returns its path and
 * a remover. For Parquet from a source without byte ranges (n8n binary data, gzip, plain HTTP).
 */
export async function spool(stream: Readable): Promise<{ path: string; size: number; remove: () => Promise<void> }> {
	const dir = await fs.mkdtemp(join(tmpdir(), 'ipai-file-'));
	const path = join(dir, 'spool');
	await pipeline(stream, createWriteStream(path));
	const { size } = await fs.stat(path);
	return { path, size, remove: () => fs.rm(dir, { recursive: true, force: true }) };
}

/** An open file handle as random-access reads (keeps one descriptor for the whole read). */
export async function fileRanges(path: string): Promise<{ size: number; read: (start: number, end: number) => Promise<Uint8Array>; close: () => Promise<void> }> {
	const handle = await fs.open(path, 'r');
	const { size } = await handle.stat();
	return {
		size,
		read: async (start, end) => {
			const buffer = Buffer.allocUnsafe(end - start);
			const { bytesRead } = await handle.read(buffer, 0, end - start, start);
			return buffer.subarray(0, bytesRead);
		},
		close: () => handle.close(),
	};
}
