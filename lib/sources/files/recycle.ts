/**
 * A local file read into a few reused buffers instead of a new one per chunk.
 *
 * Why: a 1 GB file read in 1 MiB chunks makes 1,000 dead buffers. They live outside the V8 heap,
 * and V8 collects them only after ~64 MB of such "external" memory has piled up, so a process
 * streaming a big file sits ~60–70 MB above its floor for no reason (measured in n8n: bench
 * ingest (e)). Reusing the buffers keeps that garbage near zero.
 *
 * When a buffer may be reused: every layer between this reader and the PostgreSQL socket keeps
 * the bytes in order (peek, the byte counter, the CSV scanner, the COPY source, pg-copy-streams,
 * the socket) and whatever a layer keeps for longer it copies (the scanner's cut record, rows
 * held back, rejects). So once bytes of buffer N have reached the kernel, nothing refers to the
 * buffers lent before N any more. The COPY reports such bytes (CopyBufferTracker in the loader);
 * a reader whose bytes are never reported (gzip, a keyed load copying rows into buffers of its
 * own) just stops reusing: the buffers it lent are left to the garbage collector after
 * MAX_LENT, as without recycling.
 */
import { close, open, read } from 'node:fs';
import { Readable } from 'node:stream';
import type { CopyBufferTracker } from '../../lakehouse/copyLoad';

/** Buffers lent and not yet reported back that are still tracked; older ones are left to the GC. */
const MAX_LENT = 16;

export class ChunkRecycler implements CopyBufferTracker {
	/** Buffers handed out (reads), and of those how many were newly allocated: for tests and benchmarks. */
	taken = 0;
	allocated = 0;
	private readonly free: Buffer[] = [];
	/** Lent buffers, oldest first, with the order in which they were lent. */
	private readonly lent: Array<{ buffer: Buffer; seq: number }> = [];
	private readonly seqOf = new WeakMap<ArrayBufferLike, number>();
	/** The newest lent buffer whose bytes have reached the kernel. */
	private newestFlushed = 0;

	constructor(readonly chunkBytes: number) {}

	/** A buffer to read the next chunk into: one no longer referenced, or a new one. */
	take(): Buffer {
		while (this.lent.length > 0 && this.lent[0].seq < this.newestFlushed) this.free.push(this.lent.shift()!.buffer);
		let buffer = this.free.pop();
		if (!buffer) {
			// Slow = not from Node's shared pool: one ArrayBuffer per buffer, so bytes map back to it.
			buffer = Buffer.allocUnsafeSlow(this.chunkBytes);
			this.allocated++;
		}
		const seq = ++this.taken;
		this.seqOf.set(buffer.buffer, seq);
		this.lent.push({ buffer, seq });
		if (this.lent.length > MAX_LENT) this.lent.shift();
		return buffer;
	}

	/** A buffer the reader did not use after all (end of file). */
	giveBack(buffer: Buffer): void {
		const index = this.lent.findIndex((l) => l.buffer === buffer);
		if (index >= 0) this.lent.splice(index, 1);
		this.free.push(buffer);
	}

	flushed(piece: Buffer): void {
		const seq = this.seqOf.get(piece.buffer);
		if (seq !== undefined && seq > this.newestFlushed) this.newestFlushed = seq;
	}
}

/** A file's bytes, read chunk by chunk into the buffers of its `recycler`. */
export class RecyclingFileStream extends Readable {
	readonly recycler: ChunkRecycler;
	private fd: number | null = null;
	private reading = false;
	private closeAfterRead: (() => void) | null = null;

	constructor(
		private readonly path: string,
		chunkBytes = 1 << 20,
	) {
		super();
		this.recycler = new ChunkRecycler(chunkBytes);
	}

	_construct(callback: (error?: Error | null) => void): void {
		open(this.path, 'r', (error, fd) => {
			this.fd = error ? null : fd;
			callback(error);
		});
	}

	_read(): void {
		const buffer = this.recycler.take();
		this.reading = true;
		read(this.fd!, buffer, 0, buffer.length, null, (error, bytesRead) => {
			this.reading = false;
			if (this.closeAfterRead) return this.closeAfterRead();
			if (error) return void this.destroy(error);
			if (bytesRead === 0) {
				this.recycler.giveBack(buffer);
				return void this.push(null);
			}
			this.push(buffer.subarray(0, bytesRead));
		});
	}

	_destroy(error: Error | null, callback: (error?: Error | null) => void): void {
		const closeFile = (): void => {
			this.closeAfterRead = null;
			if (this.fd === null) return callback(error);
			const fd = this.fd;
			this.fd = null;
			close(fd, () => callback(error));
		};
		// Not while a read is in flight: the descriptor's number could be reused by then.
		if (this.reading) this.closeAfterRead = closeFile;
		else closeFile();
	}
}
