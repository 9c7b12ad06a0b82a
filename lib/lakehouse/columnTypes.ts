/**
 * The lakehouse's column types: what a value from a source is, what a column can hold, how a
 * column widens when new values no longer fit, and how a value is written for COPY. Every source
 * (files, Odoo, GitHub, n8n items) lands through these rules, so they live in one place.
 */

export type ColumnType =
	| 'boolean'
	| 'integer'
	| 'bigint'
	| 'numeric'
	| 'double'
	| 'date'
	| 'timestamp'
	| 'timestamptz'
	| 'jsonb'
	| 'text'
	| 'bigint[]'
	| 'text[]';

export const COLUMN_TYPES: readonly ColumnType[] = [
	'boolean', 'integer', 'bigint', 'numeric', 'double', 'date', 'timestamp', 'timestamptz', 'jsonb', 'text', 'bigint[]', 'text[]',
];

const SQL_NAMES: Record<ColumnType, string> = {
	boolean: 'boolean',
	integer: 'integer',
	bigint: 'bigint',
	numeric: 'numeric',
	double: 'double precision',
	date: 'date',
	timestamp: 'timestamp without time zone',
	timestamptz: 'timestamp with time zone',
	jsonb: 'jsonb',
	text: 'text',
	'bigint[]': 'bigint[]',
	'text[]': 'text[]',
};

export function sqlTypeName(type: ColumnType): string {
	return SQL_NAMES[type];
}

/** Maps a type as PostgreSQL's format_type() prints it back to ours (null for foreign types). */
export function fromSqlType(formatted: string): ColumnType | null {
	const normalized = formatted.replace(/\(.*?\)/g, '').trim();
	const aliases: Record<string, ColumnType> = {
		'character varying': 'text',
		character: 'text',
		real: 'double',
		smallint: 'integer',
		'numeric[]': 'text[]',
		'integer[]': 'bigint[]',
		'character varying[]': 'text[]',
		json: 'jsonb',
	};
	if (aliases[normalized]) return aliases[normalized];
	const match = (Object.entries(SQL_NAMES) as Array<[ColumnType, string]>).find(([, sql]) => sql === normalized);
	return match ? match[0] : null;
}

/**
 * The type a NEW column gets for values of an inferred type: integers start as bigint, since
 * widening a populated integer column later would rewrite the whole table.
 */
export function newColumnType(inferred: ColumnType): ColumnType {
	return inferred === 'integer' ? 'bigint' : inferred;
}

export function isColumnType(value: string): value is ColumnType {
	return (COLUMN_TYPES as readonly string[]).includes(value);
}

const INT32_MAX = 2_147_483_647;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const ISO_TIMESTAMPTZ = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}(:?\d{2})?)$/;
const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;

/**
 * The narrowest type that holds one value, or null when the value says nothing (null, undefined,
 * an empty array). Strings stay text except unambiguous ISO 8601 dates and zoned timestamps;
 * sources that know better (Odoo's fields_get, a file sniffer) declare their columns instead.
 */
export function inferValueType(value: unknown): ColumnType | null {
	switch (typeof value) {
		case 'boolean':
			return 'boolean';
		case 'number':
			if (Number.isSafeInteger(value)) return Math.abs(value) <= INT32_MAX ? 'integer' : 'bigint';
			return 'numeric'; // fractions, NaN, ±Infinity and integers past 2^53 (their exact digits are gone)
		case 'bigint':
			return value >= INT64_MIN && value <= INT64_MAX ? 'bigint' : 'numeric';
		case 'string':
			if (ISO_DATE.test(value) && isRealDate(value)) return 'date';
			if (ISO_TIMESTAMPTZ.test(value) && !Number.isNaN(Date.parse(value))) return 'timestamptz';
			return 'text';
		case 'object': {
			if (value === null) return null;
			if (value instanceof Date) return 'timestamptz';
			if (value instanceof ExactNumber) return 'numeric';
			if (Array.isArray(value)) return inferArrayType(value);
			return 'jsonb';
		}
		default:
			return value === undefined ? null : 'text';
	}
}

const TEXT_INTEGER = /^[+-]?(?:0|[1-9]\d*)$/;
const TEXT_DECIMAL = /^[+-]?(?:(?:0|[1-9]\d*)\.\d*|\.\d+)$/;
const TEXT_DOUBLE = /^(?:[+-]?(?:(?:0|[1-9]\d*)(?:\.\d*)?|\.\d+)[eE][+-]?\d+|NaN|[+-]?Infinity|[+-]?inf)$/;
const ISO_TIMESTAMP = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?$/;
const INT64_DIGITS = 19;

/**
 * The narrowest type that holds a value written as TEXT (a CSV/TSV field), or null for an empty
 * field. Unlike inferValueType, digits are numbers here: text formats have no other way to say so.
 * What DuckDB's sniffer would also keep as text stays text: numbers with leading zeros (zip codes,
 * ids like 007), booleans other than true/false, dates other than ISO 8601. Column types come from
 * folding these through widen(), so mixed formats (a date beside a number) meet at text.
 */
export function inferTextType(value: string): ColumnType | null {
	if (value.length === 0) return null;
	const first = value.charCodeAt(0);
	// Most text starts with a letter that no number, date or boolean can start with: decide fast.
	if (first > 57 /* '9' */ && first !== 73 /* I */ && first !== 78 /* N */ && first !== 105 /* i */) {
		const lower = value.length <= 5 ? value.toLowerCase() : '';
		return lower === 'true' || lower === 'false' ? 'boolean' : 'text';
	}
	if (TEXT_INTEGER.test(value)) {
		const digits = value.length - (first === 43 || first === 45 ? 1 : 0);
		if (digits <= 9) return 'integer';
		if (digits < INT64_DIGITS) return 'bigint';
		if (digits === INT64_DIGITS) {
			const n = BigInt(value);
			return n >= INT64_MIN && n <= INT64_MAX ? 'bigint' : 'numeric';
		}
		return 'numeric';
	}
	if (TEXT_DECIMAL.test(value)) return 'numeric';
	if (TEXT_DOUBLE.test(value)) return 'double';
	if (value.length >= 10 && value.charCodeAt(4) === 45 /* - */) {
		if (ISO_DATE.test(value)) return isRealDate(value) ? 'date' : 'text';
		if (ISO_TIMESTAMP.test(value)) return isRealDate(value.slice(0, 10)) ? 'timestamp' : 'text';
		if (ISO_TIMESTAMPTZ.test(value) && isRealDate(value.slice(0, 10)) && !Number.isNaN(Date.parse(value))) return 'timestamptz';
	}
	return 'text';
}

/** Whether a column of this type takes a value of that inferred type as it is (no widening). */
export function fitsType(column: ColumnType, value: ColumnType | null): boolean {
	return value === null || value === column || widen(column, value) === column;
}

/** A real calendar date (no 2023-02-30), checked with arithmetic: this runs for every date value. */
function isRealDate(value: string): boolean {
	const year = Number(value.slice(0, 4));
	const month = Number(value.slice(5, 7));
	const day = Number(value.slice(8, 10));
	if (month < 1 || month > 12 || day < 1) return false;
	const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
	const days = month === 2 ? (leap ? 29 : 28) : [4, 6, 9, 11].includes(month) ? 30 : 31;
	return day <= days;
}

function inferArrayType(values: unknown[]): ColumnType | null {
	if (values.length === 0) return null;
	if (values.every((v) => (typeof v === 'number' && Number.isSafeInteger(v)) || (typeof v === 'bigint' && v >= INT64_MIN && v <= INT64_MAX))) return 'bigint[]';
	if (values.every((v) => typeof v === 'string')) return 'text[]';
	return 'jsonb';
}

const NUMERIC_RANK: Partial<Record<ColumnType, number>> = { integer: 1, bigint: 2, numeric: 3 };
const TIME_RANK: Partial<Record<ColumnType, number>> = { date: 1, timestamp: 2, timestamptz: 3 };

/**
 * The type a column must become to hold both what it holds and a new value's type. The ladder
 * never loses information: integer → bigint → numeric (double joins numeric, since a double column
 * cannot hold bigints past 2^53 exactly), date → timestamp → timestamptz, arrays of different
 * element types → text[], and anything else meets at text — except that jsonb, once a column is
 * jsonb, absorbs everything (a scalar is a valid JSON value), and a text column stays text.
 */
export function widen(current: ColumnType | null, incoming: ColumnType | null): ColumnType | null {
	if (current === null) return incoming;
	if (incoming === null || current === incoming) return current;
	if (current === 'text') return 'text';
	if (current === 'jsonb') return 'jsonb';
	if (NUMERIC_RANK[current] && NUMERIC_RANK[incoming]) return NUMERIC_RANK[current]! >= NUMERIC_RANK[incoming]! ? current : incoming;
	if ((current === 'double' && NUMERIC_RANK[incoming]) || (incoming === 'double' && NUMERIC_RANK[current])) {
		return current === 'numeric' || incoming === 'numeric' || current === 'bigint' || incoming === 'bigint' ? 'numeric' : 'double';
	}
	if (TIME_RANK[current] && TIME_RANK[incoming]) return TIME_RANK[current]! >= TIME_RANK[incoming]! ? current : incoming;
	if (current.endsWith('[]') && incoming.endsWith('[]')) return 'text[]';
	if (incoming === 'jsonb' && (current.endsWith('[]'))) return 'jsonb';
	return 'text';
}

/** The USING expression that converts a column's existing values when it widens. */
export function conversionExpression(quotedColumn: string, from: ColumnType, to: ColumnType): string {
	if (to === 'jsonb') return `to_jsonb(${quotedColumn})`;
	if (to === 'text' && from === 'jsonb') return `${quotedColumn} #>> '{}'`;
	return `${quotedColumn}::${sqlTypeName(to)}`;
}

// --- Writing values for COPY (text format) ---------------------------------------------------

/** U+0000 cannot be stored in PostgreSQL text or jsonb; it is replaced by U+FFFD and counted. */
export const NUL_REPLACEMENT = '\uFFFD';

export interface SerializeStats {
	nulReplaced: number;
}

/**
 * A function that renders a value for a column of the given type as COPY text-format field
 * content (not yet escaped), or null for SQL NULL. Empty strings stay empty strings (not NULL).
 */
export function valueSerializer(type: ColumnType, stats: SerializeStats): (value: unknown) => string | null {
	const text = (s: string): string => {
		if (s.includes('\u0000')) {
			stats.nulReplaced++;
			return s.replace(/\u0000/g, NUL_REPLACEMENT);
		}
		return s;
	};
	switch (type) {
		case 'jsonb':
			return (value) => (value === null || value === undefined ? null : toJson(value, stats));
		case 'text':
			return (value) => {
				if (value === null || value === undefined) return null;
				if (typeof value === 'string') return text(value);
				if (value instanceof Date) return value.toISOString();
				if (typeof value === 'object') return toJson(value, stats);
				return String(value);
			};
		case 'bigint[]':
		case 'text[]':
			return (value) => {
				if (value === null || value === undefined) return null;
				if (!Array.isArray(value)) return `{${arrayElement(value, text)}}`;
				return `{${value.map((v) => arrayElement(v, text)).join(',')}}`;
			};
		case 'timestamp':
		case 'timestamptz':
		case 'date':
			return (value) => {
				if (value === null || value === undefined) return null;
				if (value instanceof Date) return value.toISOString();
				return text(String(value));
			};
		case 'integer':
		case 'bigint':
			return (value) => {
				if (value === null || value === undefined) return null;
				// String() is exact for safe integers; past 2^53 it rounds digits, so BigInt spells them out.
				if (typeof value === 'number' && Number.isInteger(value)) return Number.isSafeInteger(value) ? String(value) : BigInt(value).toString();
				return text(String(value));
			};
		default:
			return (value) => {
				if (value === null || value === undefined) return null;
				return typeof value === 'string' ? text(value) : String(value);
			};
	}
}

function arrayElement(value: unknown, text: (s: string) => string): string {
	if (value === null || value === undefined) return 'NULL';
	const s = typeof value === 'string' ? text(value) : typeof value === 'object' && !(value instanceof ExactNumber) ? JSON.stringify(value) : String(value);
	return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/**
 * JSON text a source already holds (a database's json column): written to jsonb as it is, so
 * numbers keep every digit and a JSON null stays a JSON null. Inside another value (the raw
 * record) it serialises as its parsed value.
 */
export class RawJson {
	constructor(readonly text: string) {}
	toJSON(): unknown {
		return JSON.parse(this.text);
	}
}

/**
 * A number whose digits a double cannot hold (from the lossless JSON parser), kept as its JSON
 * text: written as that text to numeric columns and into jsonb. Like a BigInt, it serialises only
 * through toJson — JSON.stringify refuses it rather than writing it as an object or a rounded double.
 */
export class ExactNumber {
	constructor(readonly text: string) {}
	toString(): string {
		return this.text;
	}
	toJSON(): never {
		throw new TypeError('An ExactNumber serialises through toJson');
	}
}

/**
 * JSON text for a jsonb value. BigInt and ExactNumber values (from lossless parsers) are written
 * as exact number literals; NUL characters are replaced, since jsonb refuses \u0000.
 */
export function toJson(value: unknown, stats: SerializeStats): string {
	return withoutNul(jsonText(value), stats);
}

function jsonText(value: unknown): string {
	if (value instanceof RawJson) return rawJsonText(value);
	if (holdsRawJson(value)) return stringifyRecord(value as Record<string, unknown>);
	try {
		return JSON.stringify(value);
	} catch {
		return stringifyWithBigInt(value);
	}
}

function withoutNul(json: string, stats: SerializeStats): string {
	if (!json.includes('\\u0000')) return json;
	stats.nulReplaced++;
	return json.replace(/(?<!\\)((?:\\\\)*)\\u0000/g, '$1\\ufffd');
}

/**
 * A RawJson's text on one line: JSON allows raw tabs, newlines and CRs only as whitespace between
 * tokens (never inside a string), so they become spaces and the text stays the same JSON — and,
 * like JSON.stringify's output, needs no COPY escaping but for backslashes.
 */
function rawJsonText(value: RawJson): string {
	return /[\n\r\t]/.test(value.text) ? value.text.replace(/[\n\r\t]/g, ' ') : value.text;
}

/** A plain record with a RawJson among its values (a database row): see stringifyRecord. */
function holdsRawJson(value: unknown): boolean {
	if (value === null || typeof value !== 'object' || Array.isArray(value) || Object.getPrototypeOf(value) !== Object.prototype) return false;
	for (const key in value) if ((value as Record<string, unknown>)[key] instanceof RawJson) return true;
	return false;
}

/**
 * A record whose RawJson values go in as their own text, not re-parsed into JavaScript values
 * (which would round numbers beyond a double's digits and drop a -0 or 1.0's form).
 */
function stringifyRecord(record: Record<string, unknown>): string {
	const parts: string[] = [];
	for (const [key, value] of Object.entries(record)) {
		if (value === undefined || typeof value === 'function') continue;
		let json: string;
		if (value instanceof RawJson) json = rawJsonText(value);
		else {
			try {
				json = JSON.stringify(value);
			} catch {
				json = stringifyWithBigInt(value);
			}
		}
		parts.push(`${JSON.stringify(key)}:${json}`);
	}
	return `{${parts.join(',')}}`;
}

function stringifyWithBigInt(value: unknown): string {
	if (typeof value === 'bigint' || value instanceof ExactNumber) return value.toString();
	if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
	if (value instanceof Date) return JSON.stringify(value);
	if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? 'null' : stringifyWithBigInt(v))).join(',')}]`;
	const parts: string[] = [];
	for (const [k, v] of Object.entries(value)) {
		if (v === undefined || typeof v === 'function') continue;
		parts.push(`${JSON.stringify(k)}:${stringifyWithBigInt(v)}`);
	}
	return `{${parts.join(',')}}`;
}

/** Escapes a field for COPY … (FORMAT text): backslash, newline, carriage return and tab. */
export function escapeCopyText(field: string): string {
	if (!/[\\\n\r\t]/.test(field)) return field;
	return field.replace(/[\\\n\r\t]/g, (c) => (c === '\\' ? '\\\\' : c === '\n' ? '\\n' : c === '\r' ? '\\r' : '\\t'));
}

export const COPY_NULL = '\\N';

/**
 * A function that renders a value as a ready COPY text-format field for a column of the given
 * type: escaped, or \N for NULL. Numbers, booleans and dates need no escaping, so only strings
 * pay for the check — this runs once per value of every load.
 */
export function copyFieldWriter(type: ColumnType, stats: SerializeStats): (value: unknown) => string {
	const serialize = valueSerializer(type, stats);
	if (type === 'jsonb') {
		return (value) => {
			const json = serialize(value);
			return json === null ? COPY_NULL : escapeJsonForCopy(json);
		};
	}
	return (value) => {
		const text = serialize(value);
		if (text === null) return COPY_NULL;
		return typeof value === 'string' || typeof value === 'object' ? escapeCopyText(text) : text;
	};
}

/** The record as a ready COPY field of JSON text (the _ipai_raw column). */
export function copyJson(value: unknown, stats: SerializeStats): string {
	const json = jsonText(value);
	// Without a backslash there is neither an escaped NUL to replace nor anything to escape: one
	// scan instead of two for most records.
	return json.indexOf('\\') === -1 ? json : escapeJsonForCopy(withoutNul(json, stats));
}

/** JSON.stringify never emits raw newlines, CRs or tabs, so backslashes are all COPY needs doubled. */
function escapeJsonForCopy(json: string): string {
	return json.indexOf('\\') === -1 ? json : json.replace(/\\/g, '\\\\');
}
