/**
 * PostgreSQL column types → bronze column types, and how each value is read. Every value is read
 * as PostgreSQL's own text (the session runs in UTC, ISO dates, ISO 8601 intervals, hex bytea,
 * extra_float_digits 3), so numbers, timestamps and their fractions arrive exact; only json,
 * booleans and arrays are converted in JavaScript; JSON text is kept as it is (RawJson).
 *
 *   smallint, integer              → integer        bigint, oid          → bigint
 *   numeric(p,s), money            → numeric (exact digits; money as its numeric amount)
 *   real, double precision         → double (shortest exact text, NaN and ±Infinity kept)
 *   boolean                        → boolean        date                 → date
 *   timestamp                      → timestamp      timestamptz          → timestamptz (UTC)
 *   json, jsonb                    → jsonb          composite types      → jsonb (to_jsonb)
 *   integer arrays                 → bigint[]       text-like arrays     → text[]
 *   other arrays                   → jsonb (to_jsonb)
 *   text, varchar, char, name, uuid, enums, time, timetz, interval (ISO 8601), bytea (\x hex),
 *   bit, varbit, inet, cidr, macaddr, xml, ranges, geometric types, PostGIS geometry/geography
 *   (hex EWKB, PostGIS's own text output)                 → text
 * Domains map as their base type. Anything else has no mapping: the column is reported by
 * discovery and a sync that includes it fails naming it.
 */
import { type ColumnType } from '../../../lakehouse/columnTypes';
import { RawJson } from '../../../lakehouse/copyText';
import { quoteIdent } from '../../../lakehouse/sql';
import type { DbTextKind } from '../engine';

/** What the catalog says about a column's type (domains already resolved to their base type). */
export interface PgTypeInfo {
	/** format_type() of the declared type, e.g. numeric(12,2) or my_domain. */
	formatted: string;
	/** pg_type.typname of the base type (e.g. int4, _int4 for an array). */
	typname: string;
	/** pg_type.typtype: b base, c composite, e enum, r range, m multirange, p pseudo, d domain (resolved). */
	typtype: string;
	/** For arrays: the element's typname and typtype. */
	element?: { typname: string; typtype: string } | null;
}

export interface PgColumnRead {
	bronzeType: ColumnType | null;
	/** The select expression for the column (as text, or as JSON text). */
	select: (quoted: string) => string;
	/** Converts the text PostgreSQL sends into the value bronze takes. */
	convert: (text: string) => unknown;
	/** What `convert` makes of the text, said as data (for a load that converts it in SQL). */
	kind: DbTextKind;
}

const asText = (quoted: string) => `${quoted}::text`;
const same = (text: string) => text;
const parseJson = (text: string) => JSON.parse(text);
const rawJson = (text: string) => new RawJson(text);

const BY_NAME: Record<string, ColumnType> = {
	int2: 'integer',
	int4: 'integer',
	int8: 'bigint',
	oid: 'bigint',
	numeric: 'numeric',
	float4: 'double',
	float8: 'double',
	bool: 'boolean',
	date: 'date',
	timestamp: 'timestamp',
	timestamptz: 'timestamptz',
};

const AS_TEXT = new Set([
	'text', 'varchar', 'bpchar', 'char', 'name', 'citext', 'uuid', 'time', 'timetz', 'interval', 'bytea', 'bit', 'varbit',
	'inet', 'cidr', 'macaddr', 'macaddr8', 'xml', 'tsvector', 'tsquery', 'point', 'line', 'lseg', 'box', 'path', 'polygon',
	'circle', 'pg_lsn', 'geometry', 'geography', 'txid_snapshot', 'pg_snapshot',
]);

const INTEGER_ELEMENTS = new Set(['int2', 'int4', 'int8', 'oid']);
const TEXT_ELEMENTS = new Set(['text', 'varchar', 'bpchar', 'char', 'name', 'citext', 'uuid']);

export function pgColumnRead(type: PgTypeInfo): PgColumnRead {
	const mapped = BY_NAME[type.typname];
	if (mapped === 'boolean') return { bronzeType: 'boolean', select: asText, convert: (t) => t === 'true' || t === 't', kind: 'boolean' };
	if (mapped) return { bronzeType: mapped, select: asText, convert: same, kind: 'text' };
	if (type.typname === 'money') return { bronzeType: 'numeric', select: (q) => `${q}::numeric::text`, convert: same, kind: 'text' };
	if (type.typname === 'json' || type.typname === 'jsonb') return { bronzeType: 'jsonb', select: asText, convert: rawJson, kind: 'json' };
	if (type.element) {
		const element = type.element;
		if (INTEGER_ELEMENTS.has(element.typname)) return { bronzeType: 'bigint[]', select: (q) => `to_jsonb(${q}::text[])::text`, convert: parseJson, kind: 'json-array' };
		if (TEXT_ELEMENTS.has(element.typname) || element.typtype === 'e') {
			return { bronzeType: 'text[]', select: (q) => `to_jsonb(${q}::text[])::text`, convert: parseJson, kind: 'json-array' };
		}
		return { bronzeType: 'jsonb', select: (q) => `to_jsonb(${q})::text`, convert: rawJson, kind: 'json' };
	}
	if (type.typtype === 'c') return { bronzeType: 'jsonb', select: (q) => `to_jsonb(${q})::text`, convert: rawJson, kind: 'json' };
	if (type.typtype === 'e' || type.typtype === 'r' || type.typtype === 'm' || AS_TEXT.has(type.typname)) {
		return { bronzeType: 'text', select: asText, convert: same, kind: 'text' };
	}
	return { bronzeType: null, select: asText, convert: same, kind: 'text' };
}

/** The expression comparing a parameter with a column: the parameter cast to the column's declared type. */
export function typedParameter(index: number, formatted: string): string {
	return `$${index}::${formatted}`;
}

export function columnSelect(read: PgColumnRead, column: string): string {
	return `${read.select(quoteIdent(column))} as ${quoteIdent(column)}`;
}

/** Session settings under which PostgreSQL's text output is what the mapping above expects (and a quoted literal means its text: COPY bounds). */
export const READ_SESSION_OPTIONS = '-c TimeZone=UTC -c DateStyle=ISO -c IntervalStyle=iso_8601 -c extra_float_digits=3 -c bytea_output=hex -c standard_conforming_strings=on';

/** Whether a cursor column's type takes a lookback as an interval of seconds (temporal) or a number. */
export function lookbackKind(typname: string): 'seconds' | 'number' | null {
	if (typname === 'timestamp' || typname === 'timestamptz' || typname === 'date') return 'seconds';
	if (['int2', 'int4', 'int8', 'numeric', 'float4', 'float8'].includes(typname)) return 'number';
	return null;
}
