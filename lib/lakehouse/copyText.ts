/**
 * Values written for PostgreSQL: each column type's text, COPY's text-format fields (escaped, \\N
 * for NULL) and _ipai_raw's JSON, exact for numbers a double cannot hold and without U+0000.
 */
import type { ColumnType } from './columnTypes';

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
