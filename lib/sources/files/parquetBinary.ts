/**
 * Parquet values in COPY's binary format, for a table whose columns have exactly the types the
 * file's columns map to: integers as int8, floats as float8, dates and timestamps as PostgreSQL's
 * own day and microsecond counts, strings as their UTF-8 bytes. The server then stores values
 * instead of parsing text (a third less of its CPU for a load like flights-3m.parquet, whose
 * timestamps and integers are most of it), and nothing needs escaping here.
 *
 * A binary value is read by the column type's receive function with no further check of what it
 * means, so an encoder exists only for a (Parquet column, column type) pair whose bytes mean the
 * same value as the text path's; for anything else (decimals, declared types, a column of
 * another type) the caller writes the text format. Dates and timestamps outside PostgreSQL's
 * range throw NotCopyable: their binary form could read as ±infinity, and the text path would
 * have been refused for them anyway.
 */
import { isUtf8 } from 'node:buffer';
import type { ColumnType } from '../../lakehouse/columnTypes';
import { NotCopyable } from './csvScanner';
import { float16, nanosText, Sink, uuidText, type Decoded, type Encoder, type SchemaElement } from './parquetValues';

/** COPY BINARY's 19-byte header (signature, flags, header extension length) and its trailer. */
export const BINARY_HEADER = Buffer.from('PGCOPY\n\xff\r\n\0\0\0\0\0\0\0\0\0', 'latin1');
export const BINARY_TRAILER = Buffer.from([0xff, 0xff]);

/** 2000-01-01, PostgreSQL's epoch, in days and microseconds since 1970-01-01. */
const PG_EPOCH_DAYS = 10_957;
const PG_EPOCH_MICROS = 946_684_800_000_000n;
const PG_EPOCH_MICROS_NUMBER = 946_684_800_000_000;
/** PostgreSQL's date and timestamp ranges relative to its epoch (IS_VALID_DATE, IS_VALID_TIMESTAMP). */
const DATE_MIN = -2_451_545;
const DATE_END = 2_145_031_949;
const TIMESTAMP_MIN = -211_813_488_000_000_000n;
const TIMESTAMP_END = 9_223_371_331_200_000_000n;

/**
 * A 64-bit big-endian integer from its two 32-bit halves, byte by byte: int32 arguments stay
 * small integers, where a double passed to Buffer's writers would be a heap allocation per value.
 */
function halves64(sink: Sink, high: number, low: number): void {
	sink.room(8);
	const buf = sink.buf;
	const p = sink.pos;
	buf[p] = high >>> 24;
	buf[p + 1] = high >>> 16;
	buf[p + 2] = high >>> 8;
	buf[p + 3] = high;
	buf[p + 4] = low >>> 24;
	buf[p + 5] = low >>> 16;
	buf[p + 6] = low >>> 8;
	buf[p + 7] = low;
	sink.pos = p + 8;
}

function int8(sink: Sink, value: number): void {
	halves64(sink, value < 0 ? -1 : 0, value | 0);
}

function uint8(sink: Sink, value: number): void {
	halves64(sink, 0, value | 0);
}

/** A signed INT64 column as int8: its halves in big-endian order. */
function int64(): Encoder {
	const halves = halvesOf();
	return (v, i, s) => {
		const h = halves(v);
		if (h === null) {
			s.room(8);
			s.pos = s.buf.writeBigInt64BE(v[i] as bigint, s.pos);
		}
		else halves64(s, h[2 * i + 1], h[2 * i]);
		return undefined;
	};
}

function float8(sink: Sink, value: number): void {
	sink.room(8);
	sink.pos = sink.buf.writeDoubleBE(value, sink.pos);
}

/**
 * INT64 values as 32-bit halves (little-endian, as Parquet and hyparquet's BigInt64Array hold
 * them): reading a BigInt64Array element makes a BigInt on the heap, and a page of them is
 * garbage that costs a full collection in a process whose heap is near its limit (n8n with lean
 * settings). Null for values that are not a BigInt64Array (then the BigInt path).
 */
function halvesOf(): (values: Decoded) => Int32Array | null {
	let last: Decoded | null = null;
	let view: Int32Array | null = null;
	return (values) => {
		if (values !== last) {
			last = values;
			view = values instanceof BigInt64Array ? new Int32Array(values.buffer, values.byteOffset, values.length * 2) : null;
		}
		return view;
	};
}

/**
 * 2^32, and a bound on the high half of microseconds below which they, and they minus the epoch
 * offset, are exact doubles: (2^53 - PG_EPOCH_MICROS) / 2^32.
 */
const TWO_32 = 4_294_967_296;
const EXACT_HIGH = 1_876_730;

/**
 * An INT64 timestamp column of `scale` microseconds per unit (1000: MILLIS): from the halves while
 * the microseconds are exact doubles (about years 1715 to 2225), else as BigInt.
 */
function int64Timestamp(scale: number, column: string): Encoder {
	const halves = halvesOf();
	const limit = Math.floor(EXACT_HIGH / scale);
	return (v, i, s) => {
		const h = halves(v);
		if (h !== null) {
			const high = h[2 * i + 1];
			if (high < limit && high >= -limit) {
				// Microseconds since 2000, exact as a double, split into halves here (see halves64).
				const value = (high * TWO_32 + (h[2 * i] >>> 0)) * scale - PG_EPOCH_MICROS_NUMBER;
				const upper = Math.floor(value / TWO_32);
				return void halves64(s, upper, (value - upper * TWO_32) | 0);
			}
		}
		return void timestamp(s, BigInt(v[i] as bigint) * BigInt(scale), column);
	};
}

/** PostgreSQL's epoch in microseconds as 32-bit halves, and bounds on the high half inside its timestamp range. */
const EPOCH_HIGH = 220_417;
const EPOCH_LOW = 993_517_568;
const TIMESTAMP_MIN_HIGH = Number(TIMESTAMP_MIN >> 32n);
const TIMESTAMP_END_HIGH = Number(TIMESTAMP_END >> 32n);

/**
 * An INT64 MICROS timestamp column: the epoch subtracted in 32-bit halves, with no double or
 * BigInt per value (values near the ends of PostgreSQL's range take the BigInt path, which checks them).
 */
function microsTimestamp(column: string): Encoder {
	const halves = halvesOf();
	return (v, i, s) => {
		const h = halves(v);
		if (h !== null) {
			const low = h[2 * i];
			// Borrow when low < EPOCH_LOW as unsigned numbers (flipping the sign bits compares them so).
			const high = h[2 * i + 1] - EPOCH_HIGH - ((low ^ 0x80000000) < (EPOCH_LOW ^ 0x80000000) ? 1 : 0);
			if (high > TIMESTAMP_MIN_HIGH && high < TIMESTAMP_END_HIGH) return void halves64(s, high, (low - EPOCH_LOW) | 0);
		}
		return void timestamp(s, v[i] as bigint, column);
	};
}

function timestamp(sink: Sink, micros: bigint, column: string): void {
	const value = micros - PG_EPOCH_MICROS;
	if (value < TIMESTAMP_MIN || value >= TIMESTAMP_END) throw new NotCopyable(`column ${column} has a timestamp outside PostgreSQL's range`);
	sink.room(8);
	sink.pos = sink.buf.writeBigInt64BE(value, sink.pos);
}

function date(sink: Sink, days: number, column: string): void {
	const value = days - PG_EPOCH_DAYS;
	if (value < DATE_MIN || value >= DATE_END) throw new NotCopyable(`column ${column} has a date outside PostgreSQL's range`);
	sink.room(4);
	sink.pos = sink.buf.writeInt32BE(value, sink.pos);
}

/** UTF-8 bytes as they are; NUL (not storable in PostgreSQL text) becomes U+FFFD, counted. */
function utf8(sink: Sink, bytes: Uint8Array, stats: { nulReplaced: number }): void {
	let from = 0;
	for (let nul = bytes.indexOf(0); nul >= 0; nul = bytes.indexOf(0, from)) {
		sink.room(nul - from + 3);
		sink.buf.set(bytes.subarray(from, nul), sink.pos);
		sink.pos += nul - from;
		sink.buf[sink.pos++] = 0xef;
		sink.buf[sink.pos++] = 0xbf;
		sink.buf[sink.pos++] = 0xbd;
		stats.nulReplaced++;
		from = nul + 1;
	}
	sink.room(bytes.length - from);
	sink.buf.set(from === 0 ? bytes : bytes.subarray(from), sink.pos);
	sink.pos += bytes.length - from;
}

/** Binary as PostgreSQL's bytea hex text (\x0a1b), as the text path writes it into a text column. */
function hex(sink: Sink, bytes: Uint8Array): void {
	sink.ascii(`\\x${Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex')}`);
}

/** Microseconds of a nanosecond count (rounded down), and the nanoseconds for _ipai_raw when some are cut. */
function nanos(sink: Sink, value: bigint, column: string): string | undefined {
	let micros = value / 1000n;
	if (value < 0n && micros * 1000n !== value) micros -= 1n;
	timestamp(sink, micros, column);
	return micros * 1000n === value ? undefined : JSON.stringify(nanosText(value));
}

/**
 * The binary encoder of a flat column whose table column has type `type` (the file column's own),
 * or null when the text format must be written (see the top of this file).
 */
export function binaryEncoder(element: SchemaElement, type: ColumnType, stats: { nulReplaced: number }): Encoder | null {
	const logical = element.logical_type;
	const converted = element.converted_type as string | undefined;
	const physical = element.type;
	const name = element.name;
	if (logical?.type === 'DECIMAL' || converted === 'DECIMAL') return null;
	if (logical?.type === 'TIMESTAMP' || converted === 'TIMESTAMP_MILLIS' || converted === 'TIMESTAMP_MICROS' || physical === 'INT96') {
		const unit = logical?.type === 'TIMESTAMP' ? logical.unit : converted === 'TIMESTAMP_MILLIS' ? 'MILLIS' : converted === 'TIMESTAMP_MICROS' ? 'MICROS' : 'NANOS';
		const zoned = logical?.type === 'TIMESTAMP' ? logical.isAdjustedToUTC : true;
		// Text without a zone means local time in a timestamptz column: only the file's own kind.
		if (type !== (zoned ? 'timestamptz' : 'timestamp')) return null;
		if (physical === 'INT96') {
			return (v, i, s) => {
				const value = v[i] as bigint;
				return nanos(s, ((value >> 64n) - 2440588n) * 86_400_000_000_000n + (value & 0xffffffffffffffffn), name);
			};
		}
		if (unit === 'MILLIS') return int64Timestamp(1000, name);
		if (unit === 'MICROS') return microsTimestamp(name);
		return (v, i, s) => nanos(s, v[i] as bigint, name);
	}
	if (logical?.type === 'DATE' || converted === 'DATE') return type === 'date' ? (v, i, s) => void date(s, v[i] as number, name) : null;
	if (logical?.type === 'UUID') return type === 'text' ? (v, i, s) => void s.ascii(uuidText(v[i] as Uint8Array)) : null;
	if (logical?.type === 'FLOAT16') return type === 'double' ? (v, i, s) => void float8(s, float16(v[i] as Uint8Array)) : null;
	const unsigned = (logical?.type === 'INTEGER' && !logical.isSigned) || converted === 'UINT_32' || converted === 'UINT_64' || converted === 'UINT_16' || converted === 'UINT_8';
	switch (physical) {
		case 'BOOLEAN':
			return type === 'boolean' ? (v, i, s) => void (s.room(1), (s.buf[s.pos++] = v[i] ? 1 : 0)) : null;
		case 'INT32':
			if (type !== 'bigint') return null;
			return unsigned ? (v, i, s) => void uint8(s, v[i] as number) : (v, i, s) => void int8(s, v[i] as number);
		case 'INT64':
			// Unsigned 64-bit values may not fit int8: the text path (numeric, or PostgreSQL's range check).
			if (type !== 'bigint' || unsigned) return null;
			return int64();
		case 'FLOAT':
		case 'DOUBLE':
			return type === 'double' ? (v, i, s) => void float8(s, v[i] as number) : null;
		case 'BYTE_ARRAY': {
			if (logical?.type === 'JSON' || converted === 'JSON') {
				// jsonb's binary form: a version byte (1), then the JSON text.
				return type === 'jsonb' ? (v, i, s) => void (s.room(1), (s.buf[s.pos++] = 1), utf8(s, v[i] as Uint8Array, stats)) : null;
			}
			if (type !== 'text') return null;
			if (logical?.type === 'STRING' || logical?.type === 'ENUM' || converted === 'UTF8' || converted === 'ENUM') return (v, i, s) => void utf8(s, v[i] as Uint8Array, stats);
			// No annotation: many writers store strings this way; bytes that are not UTF-8 are binary.
			return (v, i, s) => {
				const bytes = v[i] as Uint8Array;
				if (isUtf8(bytes)) utf8(s, bytes, stats);
				else hex(s, bytes);
				return undefined;
			};
		}
		case 'FIXED_LEN_BYTE_ARRAY':
			return type === 'text' ? (v, i, s) => void hex(s, v[i] as Uint8Array) : null;
		default:
			return null;
	}
}
