/**
 * The lakehouse's column types: what a value from a source is, what a column can hold, how a
 * column widens when new values no longer fit (how a value is written for COPY: copyText.ts). Every
 * source (files, Odoo, GitHub, databases, n8n items) lands through these rules, so they live in one place.
 */
import { ExactNumber } from './copyText';

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
