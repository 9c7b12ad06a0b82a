/**
 * Parquet values as COPY bytes: each column's encoder writes a decoded value in PostgreSQL's
 * text format (escaped, exact) into a growing byte buffer. Values are exact: integers of any
 * width (UINT_64 and decimals through BigInt), decimals from their unscaled integers, timestamps
 * to the microsecond (PostgreSQL's precision; a nanosecond remainder is returned for _ipai_raw),
 * strings as their own UTF-8 bytes (PostgreSQL validates them).
 */
import { isUtf8 } from 'node:buffer';
import type { ParquetFile } from './parquet';

export type SchemaElement = ParquetFile['tree']['element'];
export type Decoded = ArrayLike<unknown>;

/** A growing byte buffer. */
export class Sink {
	buf: Buffer;
	pos = 0;
	constructor(size: number) {
		this.buf = Buffer.allocUnsafe(Math.max(64, size));
	}
	room(n: number): void {
		if (this.pos + n <= this.buf.length) return;
		const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
		this.buf.copy(next, 0, 0, this.pos);
		this.buf = next;
	}
	ascii(s: string): void {
		this.room(s.length);
		this.pos += this.buf.write(s, this.pos, 'latin1');
	}
}

const DIGITS = Buffer.from('0123456789');

/** A safe integer's decimal digits, without making a string. */
function writeInt(sink: Sink, value: number): void {
	sink.room(17);
	const buf = sink.buf;
	if (value < 0) {
		buf[sink.pos++] = 45;
		value = -value;
	}
	if (value < 10) {
		buf[sink.pos++] = DIGITS[value];
		return;
	}
	let digits = 0;
	for (let v = value; v > 0; v = Math.floor(v / 10)) digits++;
	let p = sink.pos + digits;
	sink.pos = p;
	for (let v = value; v > 0; v = Math.floor(v / 10)) buf[--p] = DIGITS[v % 10];
}

function writeBigInt(sink: Sink, value: bigint): void {
	if (value > -9007199254740992n && value < 9007199254740992n) writeInt(sink, Number(value));
	else sink.ascii(value.toString());
}

/** An unscaled integer with `scale` digits after the point, exactly (DECIMAL). */
function writeDecimal(sink: Sink, unscaled: bigint, scale: number): void {
	if (scale <= 0) return sink.ascii((unscaled * 10n ** BigInt(-scale)).toString());
	const negative = unscaled < 0n;
	const digits = (negative ? -unscaled : unscaled).toString().padStart(scale + 1, '0');
	sink.ascii(`${negative ? '-' : ''}${digits.slice(0, digits.length - scale)}.${digits.slice(digits.length - scale)}`);
}

/** Big-endian two's complement bytes as a BigInt (DECIMAL in a byte array). */
function signedBigEndian(bytes: Uint8Array): bigint {
	if (bytes.length === 0) return 0n;
	let value = 0n;
	for (let i = 0; i < bytes.length; i++) value = (value << 8n) | BigInt(bytes[i]);
	return bytes[0] & 0x80 ? value - (1n << BigInt(bytes.length * 8)) : value;
}

function pad(value: number, width: number): string {
	return String(value).padStart(width, '0');
}

/** Days since 1970-01-01 as [year, month, day] (proleptic Gregorian; Howard Hinnant's civil_from_days). */
function civil(days: number): [number, number, number] {
	const z = days + 719468;
	const era = Math.floor(z / 146097);
	const doe = z - era * 146097;
	const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
	const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
	const mp = Math.floor((5 * doy + 2) / 153);
	const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
	const month = mp < 10 ? mp + 3 : mp - 9;
	return [yoe + era * 400 + (month <= 2 ? 1 : 0), month, day];
}

/** PostgreSQL's date text: 4+ digit years, and years before 1 as "… BC" (year 0 is 1 BC). */
function dateText(days: number): { text: string; bc: boolean } {
	const [year, month, day] = civil(days);
	const bc = year < 1;
	return { text: `${pad(bc ? 1 - year : year, 4)}-${pad(month, 2)}-${pad(day, 2)}`, bc };
}

const MICROS_PER_DAY = 86_400_000_000;

/** A timestamp from microseconds since the epoch, as PostgreSQL reads it back exactly. */
function timestampText(micros: bigint, zoned: boolean): string {
	let days: number;
	let rest: number;
	if (micros > -9007199254740992n && micros < 9007199254740992n) {
		const m = Number(micros);
		days = Math.floor(m / MICROS_PER_DAY);
		rest = m - days * MICROS_PER_DAY;
	} else {
		let d = micros / 86_400_000_000n;
		if (micros < 0n && d * 86_400_000_000n !== micros) d -= 1n;
		days = Number(d);
		rest = Number(micros - d * 86_400_000_000n);
	}
	const { text, bc } = dateText(days);
	const seconds = Math.floor(rest / 1_000_000);
	const fraction = rest - seconds * 1_000_000;
	const time = `${pad(Math.floor(seconds / 3600), 2)}:${pad(Math.floor(seconds / 60) % 60, 2)}:${pad(seconds % 60, 2)}${fraction === 0 ? '' : `.${pad(fraction, 6)}`}`;
	return `${text} ${time}${zoned ? '+00' : ''}${bc ? ' BC' : ''}`;
}

/** The nanosecond timestamp as ISO 8601 text, for _ipai_raw when PostgreSQL keeps microseconds only. */
export function nanosText(nanos: bigint): string {
	let micros = nanos / 1000n;
	let rest = nanos - micros * 1000n;
	if (rest < 0n) {
		micros -= 1n;
		rest += 1000n;
	}
	const base = timestampText(micros, false);
	const [date, time] = base.split(' ');
	const [hms, fraction = ''] = time.split('.');
	return `${date}T${hms}.${fraction.padEnd(6, '0')}${pad(Number(rest), 3)}Z${base.endsWith(' BC') ? ' BC' : ''}`;
}

/** Escapes for COPY text format; NUL (not storable in PostgreSQL text) becomes U+FFFD, counted. */
function writeText(sink: Sink, bytes: Uint8Array, stats: { nulReplaced: number }): void {
	sink.room(bytes.length);
	let buf = sink.buf;
	let p = sink.pos;
	for (let i = 0; i < bytes.length; i++) {
		const b = bytes[i];
		if (b > 13 && b !== 92) {
			buf[p++] = b;
			continue;
		}
		let escape = -1;
		if (b === 92) escape = 92;
		else if (b === 10) escape = 110;
		else if (b === 13) escape = 114;
		else if (b === 9) escape = 116;
		if (escape < 0 && b !== 0) {
			buf[p++] = b;
			continue;
		}
		sink.pos = p;
		sink.room(bytes.length - i + 3);
		buf = sink.buf;
		if (b === 0) {
			stats.nulReplaced++;
			buf[p++] = 0xef;
			buf[p++] = 0xbf;
			buf[p++] = 0xbd;
		} else {
			buf[p++] = 92;
			buf[p++] = escape;
		}
	}
	sink.pos = p;
}

/** Binary as PostgreSQL's bytea hex text (\x0a1b), itself escaped for COPY text: \\x0a1b. */
function writeHex(sink: Sink, bytes: Uint8Array): void {
	sink.ascii(`\\\\x${Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex')}`);
}

/** Writes value i of a decoded array; returns the JSON for _ipai_raw when the column cannot hold it exactly. */
export type Encoder = (values: Decoded, i: number, sink: Sink) => string | undefined;

export function uuidText(bytes: Uint8Array): string {
	const hex = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
	return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export function float16(bytes: Uint8Array): number {
	const bits = (bytes[1] << 8) | bytes[0];
	const sign = bits >> 15 ? -1 : 1;
	const exp = (bits >> 10) & 0x1f;
	const frac = bits & 0x3ff;
	if (exp === 0) return sign * 2 ** -14 * (frac / 1024);
	if (exp === 0x1f) return frac ? NaN : sign * Infinity;
	return sign * 2 ** (exp - 15) * (1 + frac / 1024);
}

/** A double as PostgreSQL's float8 input reads it back to the same value. */
function doubleText(value: number): string {
	if (Object.is(value, -0)) return '-0';
	return String(value); // shortest round-trip digits; NaN, Infinity, -Infinity are float8 input too
}

/** The encoder for a flat column, or the reason it has none (the record reader takes the file). */
export function encoderFor(element: SchemaElement, stats: { nulReplaced: number }): Encoder | string {
	const logical = element.logical_type;
	const converted = element.converted_type as string | undefined;
	const physical = element.type;
	if (logical?.type === 'DECIMAL' || converted === 'DECIMAL') {
		const scale = (logical?.type === 'DECIMAL' ? logical.scale : element.scale) ?? 0;
		if (physical === 'INT32') return (v, i, s) => void writeDecimal(s, BigInt(v[i] as number), scale);
		if (physical === 'INT64') return (v, i, s) => void writeDecimal(s, v[i] as bigint, scale);
		return (v, i, s) => void writeDecimal(s, signedBigEndian(v[i] as Uint8Array), scale);
	}
	if (logical?.type === 'TIMESTAMP' || converted === 'TIMESTAMP_MILLIS' || converted === 'TIMESTAMP_MICROS' || physical === 'INT96') {
		const unit = logical?.type === 'TIMESTAMP' ? logical.unit : converted === 'TIMESTAMP_MILLIS' ? 'MILLIS' : converted === 'TIMESTAMP_MICROS' ? 'MICROS' : 'NANOS';
		const zoned = logical?.type === 'TIMESTAMP' ? logical.isAdjustedToUTC : true;
		if (physical === 'INT96') {
			return (v, i, s) => {
				const value = v[i] as bigint;
				const nanos = ((value >> 64n) - 2440588n) * 86_400_000_000_000n + (value & 0xffffffffffffffffn);
				return writeNanos(s, nanos, zoned);
			};
		}
		if (unit === 'MILLIS') return (v, i, s) => void s.ascii(timestampText(BigInt(v[i] as bigint) * 1000n, zoned));
		if (unit === 'MICROS') return (v, i, s) => void s.ascii(timestampText(v[i] as bigint, zoned));
		return (v, i, s) => writeNanos(s, v[i] as bigint, zoned);
	}
	if (logical?.type === 'DATE' || converted === 'DATE') {
		return (v, i, s) => {
			const { text, bc } = dateText(v[i] as number);
			s.ascii(bc ? `${text} BC` : text);
			return undefined;
		};
	}
	if (logical?.type === 'UUID') return (v, i, s) => void s.ascii(uuidText(v[i] as Uint8Array));
	if (logical?.type === 'FLOAT16') return (v, i, s) => void s.ascii(doubleText(float16(v[i] as Uint8Array)));
	for (const unsupported of ['BSON', 'INTERVAL', 'VARIANT', 'GEOMETRY', 'GEOGRAPHY', 'MAP', 'LIST']) {
		if (logical?.type === unsupported || converted === unsupported) return `column ${element.name} is ${unsupported}`;
	}
	const unsigned = (logical?.type === 'INTEGER' && !logical.isSigned) || converted === 'UINT_32' || converted === 'UINT_64' || converted === 'UINT_16' || converted === 'UINT_8';
	switch (physical) {
		case 'BOOLEAN':
			return (v, i, s) => void s.ascii(v[i] ? 'true' : 'false');
		case 'INT32':
			return unsigned ? (v, i, s) => void writeInt(s, (v[i] as number) >>> 0) : (v, i, s) => void writeInt(s, v[i] as number);
		case 'INT64':
			return unsigned ? (v, i, s) => void s.ascii(BigInt.asUintN(64, v[i] as bigint).toString()) : (v, i, s) => void writeBigInt(s, v[i] as bigint);
		case 'FLOAT':
		case 'DOUBLE':
			return (v, i, s) => void s.ascii(doubleText(v[i] as number));
		case 'BYTE_ARRAY': {
			const text = logical?.type === 'STRING' || logical?.type === 'ENUM' || logical?.type === 'JSON' || converted === 'UTF8' || converted === 'ENUM' || converted === 'JSON';
			if (text) return (v, i, s) => void writeText(s, v[i] as Uint8Array, stats);
			// No annotation: many writers store strings this way; bytes that are not UTF-8 are binary.
			return (v, i, s) => {
				const bytes = v[i] as Uint8Array;
				if (isUtf8(bytes)) writeText(s, bytes, stats);
				else writeHex(s, bytes);
				return undefined;
			};
		}
		case 'FIXED_LEN_BYTE_ARRAY':
			return (v, i, s) => void writeHex(s, v[i] as Uint8Array);
		default:
			return `column ${element.name} has the unknown type ${String(physical)}`;
	}
}

function writeNanos(sink: Sink, nanos: bigint, zoned: boolean): string | undefined {
	let micros = nanos / 1000n;
	if (nanos < 0n && micros * 1000n !== nanos) micros -= 1n;
	sink.ascii(timestampText(micros, zoned));
	return micros * 1000n === nanos ? undefined : JSON.stringify(nanosText(nanos));
}

