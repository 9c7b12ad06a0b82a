/**
 * MySQL/MariaDB column types → bronze column types, and each value in the form its bronze type
 * takes. Both read paths go through the same converter: query results (mysql2 with dateStrings,
 * exact big numbers and JSON as text, see QUERY_OPTIONS) and binlog row images (zongji with the
 * same options), so a row loaded by a snapshot and the same row replayed from the binlog land
 * identically.
 *
 *   tinyint(1)/bool                → boolean (MySQL's own boolean; any non-zero is true, and a
 *                                    value other than 0 or 1 stays as a number in _ipai_raw)
 *   tinyint…int, year, signed bigint → bigint; bigint unsigned → numeric (exact digits)
 *   decimal(p,s)                   → numeric, exact text
 *   float                          → double (the stored single-precision value, read as double)
 *   double                         → double
 *   date / datetime                → date / timestamp (no zone: the source's wall clock)
 *   timestamp                      → timestamptz (read with the session time zone at UTC)
 *   zero dates (0000-00-00, month or day 0) → NULL, counted per column in the run's notes; the
 *                                    row's _ipai_raw keeps the source text (lostSourceValue; in an
 *                                    incremental table's cursor column they fail the run instead:
 *                                    readView.ts)
 *   time                           → text ([-]HHH:MM:SS[.ffffff]: MySQL's range exceeds a day)
 *   json (MariaDB: longtext + json_valid check) → jsonb
 *   enum → text; set → text[]
 *   bit(n)                         → text of n binary digits (castable with ::bit(n))
 *   binary/varbinary/blob          → text in PostgreSQL's bytea hex form (\x…; castable with ::bytea)
 *   point…multipolygon             → text, WKT
 *   geometry, geometrycollection   → text, WKT from the server (full/incremental); CDC refuses them
 *                                    (the binlog image loses which collection type a value is)
 *   char/varchar/text, uuid, inet4/inet6 → text (as the server prints them)
 */
import { type ColumnType } from '../../../lakehouse/columnTypes';
import { RawJson } from '../../../lakehouse/copyText';

/** One column as information_schema.COLUMNS describes it (plus the JSON check MariaDB keeps apart). */
export interface MySqlColumnInfo {
	name: string;
	/** DATA_TYPE, e.g. 'bigint'. */
	dataType: string;
	/** COLUMN_TYPE, e.g. 'bigint(20) unsigned', "enum('a','b')". */
	columnType: string;
	charset: string | null;
	nullable: boolean;
	/** MariaDB's JSON is longtext with a json_valid() check; MySQL has a real json type. */
	isJson: boolean;
}

export type MySqlValueKind =
	| 'boolean' | 'integer' | 'bigint' | 'unsigned_bigint' | 'decimal' | 'float' | 'double'
	| 'date' | 'datetime' | 'timestamp' | 'time' | 'text' | 'json' | 'enum' | 'set' | 'bit' | 'binary'
	| 'geometry' | 'geometry_any' | 'uuid' | 'inet4' | 'inet6';

export interface MySqlColumnMapping {
	kind: MySqlValueKind;
	bronzeType: ColumnType;
	/** Bits of a bit(n) column. */
	bits?: number;
	/** WKT tag for a typed geometry column (POINT, LINESTRING…). */
	geometry?: string;
}

/** mysql2 options both read paths share, so query results and binlog images agree. */
export const QUERY_OPTIONS = {
	dateStrings: true,
	supportBigNumbers: true,
	bigNumberStrings: true,
	jsonStrings: true,
	decimalNumbers: false,
	timezone: 'Z',
} as const;

const INTEGERS = new Set(['tinyint', 'smallint', 'mediumint', 'int', 'integer', 'year']);
const TEXTS = new Set(['char', 'varchar', 'tinytext', 'text', 'mediumtext', 'longtext']);
const BINARIES = new Set(['binary', 'varbinary', 'tinyblob', 'blob', 'mediumblob', 'longblob']);
const GEOMETRIES: Record<string, string> = {
	point: 'POINT', linestring: 'LINESTRING', polygon: 'POLYGON',
	multipoint: 'MULTIPOINT', multilinestring: 'MULTILINESTRING', multipolygon: 'MULTIPOLYGON',
};

/** The mapping of a column, or null when its type has none (the caller names the column and the fix). */
export function mapMySqlColumn(column: MySqlColumnInfo): MySqlColumnMapping | null {
	const dataType = column.dataType.toLowerCase();
	const columnType = column.columnType.toLowerCase();
	const unsigned = /\bunsigned\b/.test(columnType);
	if (dataType === 'tinyint' && /^tinyint\(1\)/.test(columnType)) return { kind: 'boolean', bronzeType: 'boolean' };
	if (INTEGERS.has(dataType)) return { kind: 'integer', bronzeType: 'bigint' };
	if (dataType === 'bigint') return unsigned ? { kind: 'unsigned_bigint', bronzeType: 'numeric' } : { kind: 'bigint', bronzeType: 'bigint' };
	if (dataType === 'decimal' || dataType === 'numeric') return { kind: 'decimal', bronzeType: 'numeric' };
	if (dataType === 'float') return { kind: 'float', bronzeType: 'double' };
	if (dataType === 'double' || dataType === 'real') return { kind: 'double', bronzeType: 'double' };
	if (dataType === 'date') return { kind: 'date', bronzeType: 'date' };
	if (dataType === 'datetime') return { kind: 'datetime', bronzeType: 'timestamp' };
	if (dataType === 'timestamp') return { kind: 'timestamp', bronzeType: 'timestamptz' };
	if (dataType === 'time') return { kind: 'time', bronzeType: 'text' };
	if (dataType === 'json' || (column.isJson && TEXTS.has(dataType))) return { kind: 'json', bronzeType: 'jsonb' };
	if (TEXTS.has(dataType)) return { kind: 'text', bronzeType: 'text' };
	if (dataType === 'uuid' || dataType === 'inet4' || dataType === 'inet6') return { kind: dataType, bronzeType: 'text' };
	if (dataType === 'enum') return { kind: 'enum', bronzeType: 'text' };
	if (dataType === 'set') return { kind: 'set', bronzeType: 'text[]' };
	if (dataType === 'bit') return { kind: 'bit', bronzeType: 'text', bits: Number(/\((\d+)\)/.exec(columnType)?.[1] ?? 1) };
	if (BINARIES.has(dataType)) return { kind: 'binary', bronzeType: 'text' };
	if (GEOMETRIES[dataType]) return { kind: 'geometry', bronzeType: 'text', geometry: GEOMETRIES[dataType] };
	if (dataType === 'geometry' || dataType === 'geometrycollection') return { kind: 'geometry_any', bronzeType: 'text' };
	return null;
}

/** The SELECT expression that reads a column for its converter (most columns as they are). */
export function selectExpression(quotedColumn: string, mapping: MySqlColumnMapping): string {
	// float: the stored single-precision value exactly (the text protocol rounds it to 6 digits).
	if (mapping.kind === 'float') return `CAST(${quotedColumn} AS DOUBLE)`;
	if (mapping.kind === 'geometry_any') return `ST_AsText(${quotedColumn})`;
	return quotedColumn;
}

/** What a conversion noticed about a value (a zero date turned into NULL). */
export interface ConversionNotes {
	zeroDates: Map<string, number>;
}

export function newNotes(): ConversionNotes {
	return { zeroDates: new Map() };
}

export class MySqlValueError extends Error {}

/**
 * A converter from what mysql2 or zongji gives for one column to the bronze value. `charset`
 * decodes text that arrives as bytes (zongji under binlog_row_metadata=FULL leaves some
 * single-byte-charset text undecoded).
 */
export function valueConverter(column: MySqlColumnInfo, mapping: MySqlColumnMapping, notes: ConversionNotes): (value: unknown) => unknown {
	const zero = (): null => {
		notes.zeroDates.set(column.name, (notes.zeroDates.get(column.name) ?? 0) + 1);
		return null;
	};
	const text = textDecoder(column.charset);
	switch (mapping.kind) {
		case 'boolean':
			return (v) => (v === null || v === undefined ? null : Number(v) !== 0);
		case 'integer':
			return (v) => (v === null || v === undefined ? null : typeof v === 'number' ? v : Number(v));
		case 'bigint':
		case 'unsigned_bigint':
		case 'decimal':
			return (v) => (v === null || v === undefined ? null : String(v));
		case 'float':
		case 'double':
			return (v) => (v === null || v === undefined ? null : Number(v));
		case 'date':
			return (v) => {
				if (v === null || v === undefined) return null;
				const s = String(v);
				return isZeroDate(s) ? zero() : s;
			};
		case 'datetime':
			return (v) => {
				if (v === null || v === undefined) return null;
				const s = String(v);
				return isZeroDate(s) ? zero() : s.replace(' ', 'T');
			};
		case 'timestamp':
			return (v) => {
				if (v === null || v === undefined) return null;
				const s = String(v);
				return isZeroDate(s) ? zero() : `${s.replace(' ', 'T')}Z`;
			};
		case 'time':
		case 'enum':
		case 'text':
			return (v) => (v === null || v === undefined ? null : text(v));
		case 'json':
			return (v) => {
				if (v === null || v === undefined) return null;
				// Kept as the source's text: numbers keep every digit (a JSON.parse would round them).
				const s = text(v);
				try {
					JSON.parse(s);
				} catch {
					throw new MySqlValueError(`Column ${column.name} holds text that is not JSON (${s.slice(0, 40)}…)`);
				}
				return new RawJson(s);
			};
		case 'set':
			return (v) => {
				if (v === null || v === undefined) return null;
				if (Array.isArray(v)) return v.map(String);
				const s = text(v);
				return s === '' ? [] : s.split(',');
			};
		case 'uuid':
			// Under binlog_row_metadata=FULL the binlog image is the 16 bytes in text order.
			return (v) => (v === null || v === undefined ? null : typeof v === 'string' ? v : toBuffer(v).toString('hex').replace(/^(.{8})(.{4})(.{4})(.{4})(.{12})$/, '$1-$2-$3-$4-$5'));
		case 'inet4':
			return (v) => (v === null || v === undefined ? null : typeof v === 'string' ? v : [...toBuffer(v)].join('.'));
		case 'inet6':
			return (v) => (v === null || v === undefined ? null : typeof v === 'string' ? v : inet6Text(toBuffer(v)));
		case 'bit':
			return (v) => (v === null || v === undefined ? null : bitText(v, mapping.bits ?? 1));
		case 'binary':
			return (v) => (v === null || v === undefined ? null : `\\x${toBuffer(v).toString('hex')}`);
		case 'geometry':
			return (v) => (v === null || v === undefined ? null : typeof v === 'string' ? v : geometryWkt(mapping.geometry!, v));
		case 'geometry_any':
			return (v) => {
				if (v === null || v === undefined) return null;
				if (typeof v === 'string' || Buffer.isBuffer(v)) return text(v);
				throw new MySqlValueError(`Column ${column.name} (${column.columnType}) cannot be read from the binlog; use a typed geometry column or exclude it`);
			};
	}
}

/**
 * For a column whose bronze value can lose the source's: the source's own value when it did (a
 * zero date read as NULL, a tinyint(1) other than 0 or 1 read as a boolean), else undefined.
 * Null for columns whose bronze value always holds the source's.
 */
export function lostSourceValue(mapping: MySqlColumnMapping): ((source: unknown, converted: unknown) => unknown) | null {
	switch (mapping.kind) {
		case 'date':
		case 'datetime':
		case 'timestamp':
			return (source, converted) => (converted === null && source !== null && source !== undefined ? String(source) : undefined);
		case 'boolean':
			return (source) => {
				if (source === null || source === undefined) return undefined;
				const n = Number(source);
				return n === 0 || n === 1 ? undefined : n;
			};
		default:
			return null;
	}
}

/** MySQL's zero and partial dates (a 0 year, month or day), which no calendar has. */
export function isZeroDate(value: string): boolean {
	const year = value.slice(0, 4);
	const month = value.slice(5, 7);
	const day = value.slice(8, 10);
	return year === '0000' || month === '00' || day === '00';
}

function textDecoder(charset: string | null): (value: unknown) => string {
	const label = charset && /^latin1$/i.test(charset) ? 'windows-1252' : 'utf-8';
	const decoder = new TextDecoder(label);
	return (value) => (Buffer.isBuffer(value) || value instanceof Uint8Array ? decoder.decode(value) : String(value));
}

function toBuffer(value: unknown): Buffer {
	if (Buffer.isBuffer(value)) return value;
	if (value instanceof Uint8Array) return Buffer.from(value);
	return Buffer.from(String(value), 'binary');
}

/** bit(n) as n binary digits, most significant first (big-endian bytes, as MySQL sends them). */
function bitText(value: unknown, bits: number): string {
	let n = 0n;
	if (typeof value === 'number' || typeof value === 'bigint') n = BigInt(value);
	else for (const byte of toBuffer(value)) n = (n << 8n) | BigInt(byte);
	return n.toString(2).padStart(bits, '0');
}

interface XY {
	x: number;
	y: number;
}

/** WKT of a value mysql2/zongji parsed from WKB, for a column of a known geometry type. */
export function geometryWkt(type: string, value: unknown): string {
	const point = (p: XY) => `${formatCoordinate(p.x)} ${formatCoordinate(p.y)}`;
	const line = (points: XY[]) => `(${points.map(point).join(',')})`;
	const polygon = (rings: XY[][]) => `(${rings.map(line).join(',')})`;
	const empty = Array.isArray(value) && value.length === 0;
	if (empty) return `${type} EMPTY`;
	switch (type) {
		case 'POINT':
			return `POINT(${point(value as XY)})`;
		case 'LINESTRING':
			return `LINESTRING${line(value as XY[])}`;
		case 'POLYGON':
			return `POLYGON${polygon(value as XY[][])}`;
		case 'MULTIPOINT':
			return `MULTIPOINT(${(value as XY[]).map(point).join(',')})`;
		case 'MULTILINESTRING':
			return `MULTILINESTRING(${(value as XY[][]).map(line).join(',')})`;
		case 'MULTIPOLYGON':
			return `MULTIPOLYGON(${(value as XY[][][]).map(polygon).join(',')})`;
		default:
			throw new MySqlValueError(`No WKT writer for geometry type ${type}`);
	}
}

/** The shortest decimal that reads back as the same double (never an exponent WKT readers reject). */
function formatCoordinate(n: number): string {
	const s = String(n);
	if (!/e/i.test(s)) return s;
	return n.toFixed(20).replace(/\.?0+$/, '');
}

/** An IPv6 address as MariaDB prints it (RFC 5952: lowercase, longest zero run as ::, IPv4-mapped dotted). */
export function inet6Text(bytes: Buffer): string {
	const v4 = `${bytes[12]}.${bytes[13]}.${bytes[14]}.${bytes[15]}`;
	if (bytes.subarray(0, 10).every((b) => b === 0)) {
		if (bytes[10] === 0xff && bytes[11] === 0xff) return `::ffff:${v4}`;
		if (bytes[10] === 0 && bytes[11] === 0 && bytes.readUInt32BE(12) > 1) return `::${v4}`;
	}
	const groups = Array.from({ length: 8 }, (_, i) => bytes.readUInt16BE(i * 2));
	let best = -1;
	let bestLength = 1;
	for (let i = 0; i < 8; ) {
		if (groups[i] !== 0) {
			i++;
			continue;
		}
		let j = i;
		while (j < 8 && groups[j] === 0) j++;
		if (j - i > bestLength) [best, bestLength] = [i, j - i];
		i = j;
	}
	const hex = (g: number[]) => g.map((n) => n.toString(16)).join(':');
	return best < 0 ? hex(groups) : `${hex(groups.slice(0, best))}::${hex(groups.slice(best + bestLength))}`;
}
