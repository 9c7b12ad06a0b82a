/**
 * Bronze table management: create a table from declared or inferred columns with the lakehouse's
 * metadata columns, add columns that appear, widen columns whose type no longer fits — each change
 * audited, nothing ever dropped — and mark rows whose keys vanished from the source as deleted.
 */
import type { ClientBase } from 'pg';
import { writeAudit } from './audit';
import { conversionExpression, fromSqlType, sqlTypeName, widen, type ColumnType } from './columnTypes';
import { createHash } from 'node:crypto';
import { MAX_IDENTIFIER_BYTES, qualifiedName, quoteIdent, quoteLiteral, RESERVED_WORDS, snakeWords } from './sql';

/** Metadata columns every bronze table carries (DESIGN.md, lakehouse contract). */
export const META = {
	connectorId: '_ipai_connector_id',
	runId: '_ipai_run_id',
	extractedAt: '_ipai_extracted_at',
	deletedAt: '_ipai_deleted_at',
	raw: '_ipai_raw',
} as const;
const META_PREFIX = '_ipai_';

export interface TableRef {
	schema: string;
	name: string;
}

export interface ColumnSpec {
	/** The source's field name; the column name is derived from it by columnNameFor(). */
	field: string;
	type: ColumnType;
}

export interface TableShape {
	/** Column name → type (null for a type this engine does not manage, left alone). */
	columns: Map<string, ColumnType | null>;
	/** Data columns of the primary key after _ipai_connector_id; null for an append table. */
	key: string[] | null;
	/** Column → the source field it was named for, where that differs from the column (its comment). */
	sources?: Map<string, string>;
	/** Column name → its type as PostgreSQL's format_type() prints it (e.g. `character varying(20)`). */
	sqlTypes?: Map<string, string>;
}

export interface SchemaChange {
	action: 'create_table' | 'add_column' | 'widen_column';
	table: string;
	column?: string;
	from?: ColumnType | null;
	to?: ColumnType;
}

export class SchemaError extends Error {}

/** The shape of a shortened name: `<prefix>_<8 hex digits of the full name's SHA-256>`. */
const SHORTENED = /_[0-9a-f]{8}$/;

/**
 * The column a source field lands in: the field's own name when PostgreSQL can hold it as is;
 * otherwise (too long, or holding NUL) its first bytes and a hash of the whole name. Injective by
 * construction: a name kept as is never has the shortened shape — a field that merely looks like
 * one (`…_0123abcd`) is shortened too — so a field can never take the column of a long field
 * named differently. Two shortened names share a column only if their 54-byte prefixes and 32-bit
 * hashes both match; evolveTable() and createTable() refuse that instead of merging them.
 */
export function columnNameFor(field: string): string {
	if (field.startsWith(META_PREFIX)) {
		throw new SchemaError(`Source field "${field}" uses the reserved prefix ${META_PREFIX}; rename it before loading`);
	}
	const keep = field.length > 0 && !field.includes('\u0000') && Buffer.byteLength(field, 'utf8') <= MAX_IDENTIFIER_BYTES && !SHORTENED.test(field);
	return keep ? field : shortened(field);
}

/** The same shortening as sql.ts's fitIdentifier for long names, so existing columns keep their names. */
function shortened(name: string): string {
	const hash = createHash('sha256').update(name).digest('hex').slice(0, 8);
	let prefix = name.replace(/\u0000/g, '');
	while (Buffer.byteLength(prefix, 'utf8') > MAX_IDENTIFIER_BYTES - 9) prefix = prefix.slice(0, -1);
	return `${prefix}_${hash}`;
}

/** Refuses two fields of one batch that would land in one column (a hash collision). */
function assertDistinctColumns(table: string, fields: string[]): void {
	const owner = new Map<string, string>();
	for (const field of fields) {
		const column = columnNameFor(field);
		const other = owner.get(column);
		if (other !== undefined && other !== field) {
			throw new SchemaError(`Source fields ${JSON.stringify(other)} and ${JSON.stringify(field)} would share column "${column}" of ${table}; rename one of them`);
		}
		owner.set(column, field);
	}
}

/**
 * A bronze table name that works unquoted, from what a person typed: snake_case letters, digits and
 * `_` (accents dropped, `a.b` → `a_b`, `x"; drop …` → `x_drop`), not a reserved word, within
 * PostgreSQL's identifier length. The rules of the file headers and the source presets; names
 * that already follow them are kept as they are.
 */
export function bronzeTableName(input: string): string {
	let s = snakeWords(String(input ?? '').trim());
	if (s === '') throw new SchemaError(`Table name ${JSON.stringify(input)} has no letters or digits; name the table in snake_case, e.g. crm_contacts`);
	if (/^[0-9]/.test(s)) s = `t_${s}`;
	if (RESERVED_WORDS.has(s)) s = `${s}_`;
	if (Buffer.byteLength(s, 'utf8') > MAX_IDENTIFIER_BYTES) s = shortened(s).replace(/_+/g, '_');
	return s;
}

export function tableName(ref: TableRef): string {
	return qualifiedName(ref.schema, ref.name);
}

export async function describeTable(client: ClientBase, ref: TableRef): Promise<TableShape | null> {
	const { rows } = await client.query<{ attname: string; type: string; in_key: number | null; source: string | null }>(
		`select a.attname, format_type(a.atttypid, a.atttypmod) as type,
		        array_position(i.indkey::int2[], a.attnum) as in_key,
		        substring(col_description(c.oid, a.attnum) from '^source field: (.*)$') as source
		   from pg_attribute a
		   join pg_class c on c.oid = a.attrelid
		   join pg_namespace n on n.oid = c.relnamespace
		   left join pg_index i on i.indrelid = c.oid and i.indisprimary
		  where n.nspname = $1 and c.relname = $2 and a.attnum > 0 and not a.attisdropped
		  order by a.attnum`,
		[ref.schema, ref.name],
	);
	if (rows.length === 0) return null;
	const columns = new Map<string, ColumnType | null>();
	const sources = new Map<string, string>();
	const sqlTypes = new Map<string, string>();
	const keyed: Array<{ name: string; position: number }> = [];
	for (const row of rows) {
		columns.set(row.attname, fromSqlType(row.type));
		sqlTypes.set(row.attname, row.type);
		if (row.source !== null) sources.set(row.attname, row.source);
		if (row.in_key !== null && row.attname !== META.connectorId) keyed.push({ name: row.attname, position: row.in_key });
	}
	keyed.sort((a, b) => a.position - b.position);
	return { columns, key: keyed.length > 0 ? keyed.map((k) => k.name) : null, sources, sqlTypes };
}

export interface TableOptions {
	/**
	 * _ipai_raw may be NULL: the source's typed columns are its record, so a row keeps a raw form
	 * only where they are not (database sources, docs/adr/0006-db-bronze-raw-optional.md).
	 */
	rawOptional?: boolean;
}

/**
 * Creates the table unless it exists, secured by its layer (ipai_meta.secure_relation). Creation
 * is serialised per table name, so two connectors sharing a table cannot race each other.
 */
export async function createTable(
	client: ClientBase,
	ref: TableRef,
	columns: ColumnSpec[],
	key: string[] | null,
	context: { connectorId: string; runId: string },
	options: TableOptions = {},
): Promise<SchemaChange[]> {
	await client.query('select pg_advisory_xact_lock(hashtext($1))', [`ipai_table:${ref.schema}.${ref.name}`]);
	if (await describeTable(client, ref)) return [];

	assertDistinctColumns(`${ref.schema}.${ref.name}`, columns.map((c) => c.field));
	const keyColumns = key?.map(columnNameFor) ?? [];
	const definitions = columns.map((c) => {
		const name = columnNameFor(c.field);
		return `${quoteIdent(name)} ${sqlTypeName(c.type)}${keyColumns.includes(name) ? ' not null' : ''}`;
	});
	for (const k of keyColumns) {
		if (!columns.some((c) => columnNameFor(c.field) === k)) throw new SchemaError(`Key column "${k}" has no declared or observed type`);
	}
	definitions.push(
		`${META.connectorId} uuid not null`,
		`${META.runId} uuid not null`,
		`${META.extractedAt} timestamptz not null`,
		`${META.deletedAt} timestamptz`,
		`${META.raw} jsonb${options.rawOptional ? '' : ' not null'}`,
	);
	if (keyColumns.length > 0) {
		definitions.push(`primary key (${[META.connectorId, ...keyColumns].map(quoteIdent).join(', ')})`);
	}
	const table = tableName(ref);
	await client.query(`create table ${table} (\n  ${definitions.join(',\n  ')}\n)`);
	if (keyColumns.length === 0) {
		await client.query(`create index on ${table} (${META.connectorId}, ${META.runId})`);
	}
	await client.query('select ipai_meta.secure_relation($1::regclass)', [`${table}`]);
	await commentOriginalNames(client, ref, columns);
	const change: SchemaChange = { action: 'create_table', table: `${ref.schema}.${ref.name}` };
	await auditChanges(client, [change], context, { key: keyColumns, columns: columns.map((c) => ({ column: columnNameFor(c.field), type: c.type })) });
	return [change];
}

/**
 * Adds missing columns and widens columns that cannot hold the incoming types. Takes the table's
 * lock and re-reads its shape first, so a concurrent loader's change is seen, not repeated.
 */
export async function evolveTable(
	client: ClientBase,
	ref: TableRef,
	needed: ColumnSpec[],
	context: { connectorId: string; runId: string },
): Promise<{ changes: SchemaChange[]; shape: TableShape }> {
	const table = tableName(ref);
	await client.query(`lock table ${table} in share row exclusive mode`);
	const shape = await describeTable(client, ref);
	if (!shape) throw new SchemaError(`Table ${ref.schema}.${ref.name} disappeared while loading`);

	const changes: SchemaChange[] = [];
	const added: ColumnSpec[] = [];
	assertDistinctColumns(`${ref.schema}.${ref.name}`, needed.map((c) => c.field));
	for (const spec of needed) {
		const column = columnNameFor(spec.field);
		// A comment the loader wrote (its field shortens to this column) names the column's owner;
		// other comments (a file header renamed to snake_case) say nothing about ownership.
		const recorded = shape.sources?.get(column);
		if (recorded !== undefined && recorded !== spec.field && !recorded.startsWith(META_PREFIX) && columnNameFor(recorded) === column) {
			throw new SchemaError(
				`Source field ${JSON.stringify(spec.field)} would land in column "${column}" of ${ref.schema}.${ref.name}, which holds source field ${JSON.stringify(recorded)}; rename one of them`,
			);
		}
		if (!shape.columns.has(column)) {
			await client.query(`alter table ${table} add column ${quoteIdent(column)} ${sqlTypeName(spec.type)}`);
			shape.columns.set(column, spec.type);
			shape.sqlTypes?.set(column, sqlTypeName(spec.type));
			added.push(spec);
			changes.push({ action: 'add_column', table: `${ref.schema}.${ref.name}`, column, to: spec.type });
			continue;
		}
		const current = shape.columns.get(column) ?? null;
		if (current === null) continue; // a type we do not manage: PostgreSQL casts on write or says why not
		const target = widen(current, spec.type);
		if (target && target !== current) {
			const q = quoteIdent(column);
			await client.query(
				`alter table ${table} alter column ${q} type ${sqlTypeName(target)} using ${conversionExpression(q, current, target)}`,
			);
			shape.columns.set(column, target);
			shape.sqlTypes?.set(column, sqlTypeName(target));
			changes.push({ action: 'widen_column', table: `${ref.schema}.${ref.name}`, column, from: current, to: target });
		}
	}
	if (added.length > 0) await commentOriginalNames(client, ref, added);
	if (changes.length > 0) await auditChanges(client, changes, context);
	return { changes, shape };
}

async function commentOriginalNames(client: ClientBase, ref: TableRef, columns: ColumnSpec[]): Promise<void> {
	for (const c of columns) {
		const name = columnNameFor(c.field);
		if (name !== c.field) {
			await client.query(`comment on column ${tableName(ref)}.${quoteIdent(name)} is ${quoteLiteral(`source field: ${c.field}`)}`);
		}
	}
}

async function auditChanges(
	client: ClientBase,
	changes: SchemaChange[],
	context: { connectorId: string; runId: string },
	extra: Record<string, unknown> = {},
): Promise<void> {
	for (const change of changes) {
		await writeAudit(client, {
			eventType: 'schema_change',
			entityType: 'table',
			entityId: context.connectorId,
			action: change.action,
			details: { ...change, ...extra, run_id: context.runId },
		});
	}
}
