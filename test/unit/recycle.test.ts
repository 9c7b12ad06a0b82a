import { ChunkRecycler } from '../../lib/sources/files/recycle';

describe('ChunkRecycler', () => {
	it('reuses a buffer only once bytes of a later buffer have reached the kernel', () => {
		const recycler = new ChunkRecycler(16);
		const [a, b, c] = [recycler.take(), recycler.take(), recycler.take()];
		expect(new Set([a, b, c]).size).toBe(3);
		// Bytes of b flushed: a is free, b may still have bytes on their way, c is being read.
		recycler.flushed(b.subarray(4, 8));
		const d = recycler.take();
		expect(d).toBe(a);
		expect(recycler.take()).not.toBe(b);
		// A piece the recycler never lent (a copy, gzip output) frees nothing.
		recycler.flushed(Buffer.from('elsewhere'));
		expect([b, c, d]).not.toContain(recycler.take());
		expect(recycler).toMatchObject({ taken: 6, allocated: 5 });
	});

	it('stops tracking buffers nobody reports back, leaving them to the garbage collector', () => {
		const recycler = new ChunkRecycler(16);
		const lent = Array.from({ length: 40 }, () => recycler.take());
		// The first ones fell out of tracking: a late report of the newest frees only tracked ones.
		recycler.flushed(lent[39]);
		const reused = Array.from({ length: 39 }, () => recycler.take()).filter((buffer) => lent.includes(buffer));
		expect(reused.length).toBeGreaterThan(0);
		expect(reused.length).toBeLessThan(20);
		expect(reused).not.toContain(lent[0]);
	});

	it('takes back a buffer the reader did not fill (end of file)', () => {
		const recycler = new ChunkRecycler(16);
		const unused = recycler.take();
		recycler.giveBack(unused);
		expect(recycler.take()).toBe(unused);
		expect(recycler.allocated).toBe(1);
	});
});
