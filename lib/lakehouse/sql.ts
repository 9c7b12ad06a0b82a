/**
 * The one place that turns outside strings into SQL text. Every identifier that comes from a
 * source (file headers, Odoo field names, GitHub keys, table names typed into a node) goes through
 * quoteIdent; values always travel as bind parameters, except in utility statements that cannot
 * take parameters (COMMENT ON), which use quoteLiteral.
 */
import { createHash } from 'node:crypto';

/** PostgreSQL's NAMEDATALEN - 1: longer names are silently truncated, so they could collide. */
export const MAX_IDENTIFIER_BYTES = 63;

export class IdentifierError extends Error {}

/** Quotes an identifier for SQL text. Refuses what PostgreSQL would mangle instead of guessing. */
export function quoteIdent(name: string): string {
	if (typeof name !== 'string' || name.length === 0) {
		throw new IdentifierError('An SQL identifier must be a non-empty string');
	}
	if (name.includes('\u0000')) {
		throw new IdentifierError(`SQL identifier ${JSON.stringify(name)} contains a NUL character`);
	}
	if (Buffer.byteLength(name, 'utf8') > MAX_IDENTIFIER_BYTES) {
		throw new IdentifierError(
			`SQL identifier ${JSON.stringify(name)} is longer than ${MAX_IDENTIFIER_BYTES} bytes; shorten it with fitIdentifier()`,
		);
	}
	return `"${name.replace(/"/g, '""')}"`;
}

/** schema.table, both quoted. */
export function qualifiedName(schema: string, name: string): string {
	return `${quoteIdent(schema)}.${quoteIdent(name)}`;
}

/** A string literal for statements that take no bind parameters (standard_conforming_strings on). */
export function quoteLiteral(value: string): string {
	if (value.includes('\u0000')) throw new IdentifierError('An SQL literal cannot contain a NUL character');
	return `'${value.replace(/'/g, "''")}'`;
}

/**
 * Makes a name fit PostgreSQL's identifier limit without losing uniqueness: a name that is too
 * long keeps its first bytes and gets a short hash of the whole name, so two long names that share
 * a prefix still map to different identifiers, and the same name always maps to the same one.
 */
export function fitIdentifier(name: string): string {
	const clean = name.replace(/\u0000/g, '');
	if (Buffer.byteLength(clean, 'utf8') <= MAX_IDENTIFIER_BYTES && clean.length > 0) return clean;
	const hash = createHash('sha256').update(name).digest('hex').slice(0, 8);
	let prefix = clean;
	while (Buffer.byteLength(prefix, 'utf8') > MAX_IDENTIFIER_BYTES - 9) prefix = prefix.slice(0, -1);
	return `${prefix}_${hash}`;
}

/** PostgreSQL's reserved key words (SQL Key Words appendix): a name that is one needs quotes everywhere. */
export const RESERVED_WORDS: ReadonlySet<string> = new Set(
	('all analyse analyze and any array as asc asymmetric authorization binary both case cast check collate collation column ' +
		'concurrently constraint create cross current_catalog current_date current_role current_schema current_time ' +
		'current_timestamp current_user default deferrable desc distinct do else end except false fetch for foreign freeze ' +
		'from full grant group having ilike in initially inner intersect into is isnull join lateral leading left like limit ' +
		'localtime localtimestamp natural not notnull null offset on only or order outer overlaps placing primary references ' +
		'returning right select session_user similar some symmetric system_user table tablesample then to trailing true union ' +
		'unique user using variadic verbose when where window with').split(' '),
);

/** A name as snake_case words: accents dropped, camelCase split, anything else folded to `_`. */
export function snakeWords(name: string): string {
	return name
		.normalize('NFKD')
		.replace(/[\u0300-\u036f]/g, '') // accents: "Año" → "Ano"
		.replace(/([a-z0-9])([A-Z])/g, '$1_$2')
		.replace(/([A-Z]+)([A-Z][a-z])/g, '$1_$2')
		.toLowerCase()
		.replace(/[^a-z0-9_]+/g, '_')
		.replace(/_+/g, '_')
		.replace(/^_+|_+$/g, '');
}
