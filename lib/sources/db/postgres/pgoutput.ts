/**
 * A decoder of PostgreSQL's logical replication protocol as the `pgoutput` plugin writes it
 * (protocol version 1, text-format tuples): Begin, Commit, Origin, Relation, Type, Insert,
 * Update, Delete, Truncate and Message. Reference: "Logical Replication Message Formats" in the
 * PostgreSQL documentation (protocol-logicalrep-message-formats). The messages come from
 * pg_logical_slot_peek_binary_changes, one bytea per message.
 */

/** Microseconds between the Unix epoch and PostgreSQL's epoch (2000-01-01). */
const PG_EPOCH_MICROS = 946_684_800_000_000n;

export interface RelationColumn {
	name: string;
	/** Part of the replica identity (the key sent with updates and deletes). */
	isKey: boolean;
	typeOid: number;
	typmod: number;
}

export interface Relation {
	relid: number;
	schema: string;
	name: string;
	/** d default, n nothing, f full, i index. */
	replicaIdentity: string;
	columns: RelationColumn[];
}

/** A tuple's values: text, null, or `unchanged` for a TOASTed value the update left as it was. */
export type TupleValue = string | null | { unchanged: true };
export const UNCHANGED: { unchanged: true } = Object.freeze({ unchanged: true });

export type PgOutputMessage =
	| { tag: 'begin'; finalLsn: string; commitTime: Date; xid: number }
	| { tag: 'commit'; flags: number; commitLsn: string; endLsn: string; commitTime: Date }
	| { tag: 'origin'; lsn: string; name: string }
	| { tag: 'relation'; relation: Relation }
	| { tag: 'type'; oid: number; schema: string; name: string }
	| { tag: 'insert'; relid: number; new: TupleValue[] }
	| { tag: 'update'; relid: number; old: TupleValue[] | null; oldKind: 'key' | 'old' | null; new: TupleValue[] }
	| { tag: 'delete'; relid: number; old: TupleValue[]; oldKind: 'key' | 'old' }
	| { tag: 'truncate'; relids: number[]; cascade: boolean; restartIdentity: boolean }
	| { tag: 'message'; transactional: boolean; lsn: string; prefix: string; content: Buffer };

export class PgOutputError extends Error {}

export function formatLsn(value: bigint): string {
	return `${(value >> 32n).toString(16).toUpperCase()}/${(value & 0xffffffffn).toString(16).toUpperCase()}`;
}

export function parseLsn(text: string): bigint {
	const match = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/.exec(text);
	if (!match) throw new PgOutputError(`"${text}" is not an LSN`);
	return (BigInt(`0x${match[1]}`) << 32n) | BigInt(`0x${match[2]}`);
}

export function compareLsn(a: string, b: string): number {
	const x = parseLsn(a);
	const y = parseLsn(b);
	return x < y ? -1 : x > y ? 1 : 0;
}

class Reader {
	private offset = 0;
	constructor(private readonly buffer: Buffer) {}
	byte(): number {
		this.need(1);
		return this.buffer.readUInt8(this.offset++);
	}
	int16(): number {
		this.need(2);
		const v = this.buffer.readInt16BE(this.offset);
		this.offset += 2;
		return v;
	}
	int32(): number {
		this.need(4);
		const v = this.buffer.readInt32BE(this.offset);
		this.offset += 4;
		return v;
	}
	uint32(): number {
		this.need(4);
		const v = this.buffer.readUInt32BE(this.offset);
		this.offset += 4;
		return v;
	}
	int64(): bigint {
		this.need(8);
		const v = this.buffer.readBigInt64BE(this.offset);
		this.offset += 8;
		return v;
	}
	lsn(): string {
		this.need(8);
		const v = this.buffer.readBigUInt64BE(this.offset);
		this.offset += 8;
		return formatLsn(v);
	}
	time(): Date {
		const micros = this.int64() + PG_EPOCH_MICROS;
		return new Date(Number(micros / 1000n));
	}
	string(): string {
		const end = this.buffer.indexOf(0, this.offset);
		if (end < 0) throw new PgOutputError('Unterminated string in a pgoutput message');
		const s = this.buffer.toString('utf8', this.offset, end);
		this.offset = end + 1;
		return s;
	}
	bytes(length: number): Buffer {
		this.need(length);
		const b = this.buffer.subarray(this.offset, this.offset + length);
		this.offset += length;
		return b;
	}
	rest(): Buffer {
		return this.buffer.subarray(this.offset);
	}
	done(): boolean {
		return this.offset === this.buffer.length;
	}
	private need(n: number): void {
		if (this.offset + n > this.buffer.length) throw new PgOutputError('Truncated pgoutput message');
	}
}

function tuple(reader: Reader): TupleValue[] {
	const count = reader.int16();
	const values: TupleValue[] = new Array(count);
	for (let i = 0; i < count; i++) {
		const kind = String.fromCharCode(reader.byte());
		if (kind === 'n') values[i] = null;
		else if (kind === 'u') values[i] = UNCHANGED;
		else if (kind === 't') values[i] = reader.bytes(reader.int32()).toString('utf8');
		else throw new PgOutputError(`Unsupported tuple value kind "${kind}" (binary tuples are not requested)`);
	}
	return values;
}

export function decodePgOutput(message: Buffer): PgOutputMessage {
	const reader = new Reader(message);
	const tag = String.fromCharCode(reader.byte());
	switch (tag) {
		case 'B':
			return { tag: 'begin', finalLsn: reader.lsn(), commitTime: reader.time(), xid: reader.uint32() };
		case 'C':
			return { tag: 'commit', flags: reader.byte(), commitLsn: reader.lsn(), endLsn: reader.lsn(), commitTime: reader.time() };
		case 'O':
			return { tag: 'origin', lsn: reader.lsn(), name: reader.string() };
		case 'R': {
			const relid = reader.uint32();
			const schema = reader.string();
			const name = reader.string();
			const replicaIdentity = String.fromCharCode(reader.byte());
			const count = reader.int16();
			const columns: RelationColumn[] = [];
			for (let i = 0; i < count; i++) {
				const flags = reader.byte();
				columns.push({ isKey: (flags & 1) === 1, name: reader.string(), typeOid: reader.uint32(), typmod: reader.int32() });
			}
			return { tag: 'relation', relation: { relid, schema, name, replicaIdentity, columns } };
		}
		case 'Y':
			return { tag: 'type', oid: reader.uint32(), schema: reader.string(), name: reader.string() };
		case 'I': {
			const relid = reader.uint32();
			const marker = String.fromCharCode(reader.byte());
			if (marker !== 'N') throw new PgOutputError(`Insert without a new tuple (marker "${marker}")`);
			return { tag: 'insert', relid, new: tuple(reader) };
		}
		case 'U': {
			const relid = reader.uint32();
			let marker = String.fromCharCode(reader.byte());
			let old: TupleValue[] | null = null;
			let oldKind: 'key' | 'old' | null = null;
			if (marker === 'K' || marker === 'O') {
				oldKind = marker === 'K' ? 'key' : 'old';
				old = tuple(reader);
				marker = String.fromCharCode(reader.byte());
			}
			if (marker !== 'N') throw new PgOutputError(`Update without a new tuple (marker "${marker}")`);
			return { tag: 'update', relid, old, oldKind, new: tuple(reader) };
		}
		case 'D': {
			const relid = reader.uint32();
			const marker = String.fromCharCode(reader.byte());
			if (marker !== 'K' && marker !== 'O') throw new PgOutputError(`Delete without an old tuple (marker "${marker}")`);
			return { tag: 'delete', relid, oldKind: marker === 'K' ? 'key' : 'old', old: tuple(reader) };
		}
		case 'T': {
			const count = reader.uint32();
			const options = reader.byte();
			const relids: number[] = [];
			for (let i = 0; i < count; i++) relids.push(reader.uint32());
			return { tag: 'truncate', relids, cascade: (options & 1) === 1, restartIdentity: (options & 2) === 2 };
		}
		case 'M': {
			const transactional = reader.byte() === 1;
			const lsn = reader.lsn();
			const prefix = reader.string();
			const length = reader.int32();
			return { tag: 'message', transactional, lsn, prefix, content: Buffer.from(reader.bytes(length)) };
		}
		default:
			throw new PgOutputError(`Unknown pgoutput message "${tag}"`);
	}
}
