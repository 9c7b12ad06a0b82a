/**
 * Discovery and reads of a MySQL/MariaDB source: tables and columns from information_schema,
 * pages in key order (keyset, never OFFSET) or in (cursor, key) order, and read views — a
 * consistent snapshot (START TRANSACTION WITH CONSISTENT SNAPSHOT) or plain reads.
 *
 * Keys and cursors travel as JSON scalars in bronze form (exact text for big numbers and dates);
 * sqlLiteral turns them back into the source's own literals, so comparisons happen in the
 * column's type and collation (a bigint key is never compared as a double).
 */
import type { JsonScalar, PageRequest } from '../../../lakehouse/stream';
import { DbSourceError, keepSourceForm, type DbColumn, type DbReadView, type DbRow, type DbTableInfo, type DbTableRef, type TableRead } from '../engine';
import { classifyMySqlError, quoteMySqlIdent, type MySqlConnection } from './connection';
import {
	lostSourceValue,
	mapMySqlColumn,
	newNotes,
	selectExpression,
	valueConverter,
	type ConversionNotes,
	type MySqlColumnInfo,
	type MySqlColumnMapping,
} from './types';

const SYSTEM_SCHEMAS = ['mysql', 'information_schema', 'performance_schema', 'sys'];

export async function listSchemas(connection: MySqlConnection): Promise<string[]> {
	const [rows] = await connection.query(
		'SELECT SCHEMA_NAME AS name FROM information_schema.SCHEMATA WHERE SCHEMA_NAME NOT IN (?) ORDER BY SCHEMA_NAME',
		[SYSTEM_SCHEMAS],
	);
	return (rows as Array<{ name: string }>).map((r) => r.name);
}

export async function listTables(connection: MySqlConnection, schema: string): Promise<Array<DbTableRef & { estimatedRows: number | null }>> {
	const [rows] = await connection.query(
		"SELECT TABLE_NAME AS name, TABLE_ROWS AS estimated FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_TYPE IN ('BASE TABLE', 'SYSTEM VERSIONED') ORDER BY TABLE_NAME",
		[schema],
	);
	return (rows as Array<{ name: string; estimated: string | number | null }>).map((r) => ({
		schema,
		name: r.name,
		estimatedRows: r.estimated === null ? null : Number(r.estimated),
	}));
}

/** A table's columns as the source describes them, in ordinal order; a table that is gone is a 'schema' error. */
export async function describeMySqlColumns(connection: MySqlConnection, table: DbTableRef): Promise<{ columns: MySqlColumnInfo[]; primaryKey: string[] | null; estimatedRows: number | null }> {
	const [tables] = await connection.query('SELECT TABLE_ROWS AS estimated FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?', [table.schema, table.name]);
	const found = tables as Array<{ estimated: string | number | null }>;
	if (found.length === 0) {
		throw new DbSourceError('schema', `Table ${table.schema}.${table.name} does not exist at the source (dropped or renamed?)`, 'Update the table list of the connector, then sync again');
	}
	const [columns] = await connection.query(
		`SELECT c.COLUMN_NAME AS name, c.DATA_TYPE AS dataType, c.COLUMN_TYPE AS columnType, c.CHARACTER_SET_NAME AS charset,
		        c.IS_NULLABLE AS nullable, c.COLUMN_KEY AS columnKey
		   FROM information_schema.COLUMNS c WHERE c.TABLE_SCHEMA = ? AND c.TABLE_NAME = ? ORDER BY c.ORDINAL_POSITION`,
		[table.schema, table.name],
	);
	const jsonColumns = await jsonCheckedColumns(connection, table);
	const [keys] = await connection.query(
		"SELECT COLUMN_NAME AS name FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND INDEX_NAME = 'PRIMARY' ORDER BY SEQ_IN_INDEX",
		[table.schema, table.name],
	);
	const primaryKey = (keys as Array<{ name: string }>).map((k) => k.name);
	return {
		columns: (columns as Array<Record<string, string | null>>).map((c) => ({
			name: c.name!,
			dataType: c.dataType!,
			columnType: c.columnType!,
			charset: c.charset,
			nullable: c.nullable === 'YES',
			isJson: jsonColumns.has(c.name!),
		})),
		primaryKey: primaryKey.length > 0 ? primaryKey : null,
		estimatedRows: found[0].estimated === null ? null : Number(found[0].estimated),
	};
}

/** MariaDB's JSON columns: text columns carrying a json_valid(`column`) check. */
async function jsonCheckedColumns(connection: MySqlConnection, table: DbTableRef): Promise<Set<string>> {
	try {
		const [rows] = await connection.query(
			'SELECT CHECK_CLAUSE AS clause FROM information_schema.CHECK_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = ? AND TABLE_NAME = ?',
			[table.schema, table.name],
		);
		const names = new Set<string>();
		for (const { clause } of rows as Array<{ clause: string }>) {
			const match = /^json_valid\(`((?:[^`]|``)+)`\)$/i.exec(clause.trim());
			if (match) names.add(match[1].replace(/``/g, '`'));
		}
		return names;
	} catch {
		return new Set(); // MySQL before 8.0.16 has no CHECK_CONSTRAINTS (and a real json type).
	}
}

export async function describeTable(connection: MySqlConnection, table: DbTableRef): Promise<DbTableInfo> {
	const described = await describeMySqlColumns(connection, table);
	const columns: DbColumn[] = described.columns.map((c) => ({
		name: c.name,
		sourceType: c.columnType,
		nullable: c.nullable,
		bronzeType: mapMySqlColumn(c)?.bronzeType ?? null,
	}));
	return { ...table, columns, primaryKey: described.primaryKey, estimatedRows: described.estimatedRows };
}

/** A table's columns with their mappings and converters (one per read, sharing its notes). */
export interface ColumnPlan {
	info: MySqlColumnInfo;
	mapping: MySqlColumnMapping;
	convert: (value: unknown) => unknown;
	/** The source's value when `convert` lost it (lostSourceValue); null: it never does. */
	lost: ((source: unknown, converted: unknown) => unknown) | null;
}

/** A source row (a query result or a binlog image) as it goes to bronze, with its source form where a value was lost. */
export function convertRow(plans: Map<string, ColumnPlan>, record: Record<string, unknown>, names: Iterable<string>): DbRow {
	const row: DbRow = {};
	let lost: DbRow | undefined;
	for (const name of names) {
		const plan = plans.get(name)!;
		const source = record[name] ?? null;
		const value = plan.convert(source);
		row[name] = value;
		if (plan.lost) {
			const kept = plan.lost(source, value);
			if (kept !== undefined) (lost ??= {})[name] = kept;
		}
	}
	if (lost) keepSourceForm(row, { ...row, ...lost });
	return row;
}

export function planColumns(table: DbTableRef, infos: MySqlColumnInfo[], notes: ConversionNotes): Map<string, ColumnPlan> {
	const plans = new Map<string, ColumnPlan>();
	for (const info of infos) {
		const mapping = mapMySqlColumn(info);
		if (!mapping) {
			throw new DbSourceError('type', `Column ${table.schema}.${table.name}.${info.name} has type ${info.columnType}, which has no bronze mapping`, 'Exclude the column from the table (a view over the table without it), or cast it in a view');
		}
		plans.set(info.name, { info, mapping, convert: valueConverter(info, mapping, notes), lost: lostSourceValue(mapping) });
	}
	return plans;
}

/** A JSON scalar key/cursor value in bronze form → a SQL literal of the column's own type. */
export function sqlLiteral(connection: MySqlConnection, plan: ColumnPlan, value: JsonScalar): string {
	if (value === null) return 'NULL';
	const s = String(value);
	switch (plan.mapping.kind) {
		case 'boolean':
			return value === true || s === 'true' || s === '1' ? '1' : '0';
		case 'integer':
		case 'bigint':
		case 'unsigned_bigint':
			if (!/^-?\d+$/.test(s)) throw new DbSourceError('schema', `Stored key/cursor value ${s} is not an integer for column ${plan.info.name}`, "Reset the stream's state to re-sync it");
			return s;
		case 'decimal':
			if (!/^-?\d+(\.\d+)?$/.test(s)) throw new DbSourceError('schema', `Stored key/cursor value ${s} is not a decimal for column ${plan.info.name}`, "Reset the stream's state to re-sync it");
			return s;
		case 'float':
		case 'double':
			return connection.escape(Number(value));
		case 'datetime':
			return connection.escape(s.replace('T', ' '));
		case 'timestamp':
			return connection.escape(s.replace('T', ' ').replace(/(Z|[+-]00(:?00)?)$/, ''));
		case 'binary':
			return `X'${s.replace(/^\\x/, '')}'`;
		default:
			return connection.escape(s);
	}
}

/** `(a, b) > (x, y)` spelled out, which every MySQL/MariaDB version plans as an index range. */
function rowAfter(columns: string[], literals: string[]): string {
	const terms: string[] = [];
	for (let i = 0; i < columns.length; i++) {
		const equal = columns.slice(0, i).map((c, j) => `${c} = ${literals[j]}`);
		terms.push([...equal, `${columns[i]} > ${literals[i]}`].join(' AND '));
	}
	return `(${terms.map((t) => `(${t})`).join(' OR ')})`;
}

export interface MySqlReadView extends DbReadView {
	/** Zero dates met so far (column → count), for the run's notes. */
	readonly notes: ConversionNotes;
}

/**
 * A read view on one connection. `start`: every read in one consistent-snapshot transaction
 * begun here; `joined`: the connection is already in one (the CDC start position's snapshot);
 * `none`: plain reads.
 */
export async function openReadView(
	connection: MySqlConnection,
	settings: { host: string; port: number; database: string; user: string },
	mode: 'start' | 'joined' | 'none',
	release: () => Promise<void>,
	notes: ConversionNotes = newNotes(),
): Promise<MySqlReadView> {
	const snapshot = mode !== 'none';
	if (mode === 'start') {
		await connection.query('SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ');
		await connection.query('START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY');
	}
	const plansByTable = new Map<string, Map<string, ColumnPlan>>();
	const plansFor = async (read: Pick<TableRead, 'table'>): Promise<Map<string, ColumnPlan>> => {
		const id = `${read.table.schema}.${read.table.name}`;
		let plans = plansByTable.get(id);
		if (!plans) {
			plans = planColumns(read.table, (await describeMySqlColumns(connection, read.table)).columns, notes);
			plansByTable.set(id, plans);
		}
		return plans;
	};
	const planOf = (plans: Map<string, ColumnPlan>, table: DbTableRef, name: string): ColumnPlan => {
		const plan = plans.get(name);
		if (!plan) throw new DbSourceError('schema', `Column ${name} is missing from ${table.schema}.${table.name} at the source (dropped or renamed?)`, 'Update the key or cursor of the table in the connector');
		return plan;
	};
	const query = async (sql: string): Promise<Array<Record<string, unknown>>> => {
		try {
			const [rows] = await connection.query({ sql, rowsAsArray: false });
			return rows as Array<Record<string, unknown>>;
		} catch (error) {
			throw classifyMySqlError(error, settings);
		}
	};
	const from = (table: DbTableRef) => `${quoteMySqlIdent(table.schema)}.${quoteMySqlIdent(table.name)}`;
	const toRow = convertRow;

	const view: MySqlReadView = {
		notes,
		async readPage(read: TableRead, request: PageRequest): Promise<DbRow[]> {
			const plans = await plansFor(read);
			const names = read.columns.length > 0 ? read.columns.map((c) => c.name) : [...plans.keys()];
			const select = names.map((n) => `${selectExpression(quoteMySqlIdent(n), planOf(plans, read.table, n).mapping)} AS ${quoteMySqlIdent(n)}`).join(', ');
			if (read.positionColumn && request.order === 'key') {
				// A table without a key: pages in the table's own order, the row's ordinal as its
				// position. Stable only within one snapshot, which is where the caller reads it.
				const offset = request.afterKey ? Number(request.afterKey[0]) : 0;
				const limit = Math.max(1, Math.floor(request.limit));
				const rows = await query(`SELECT ${select} FROM ${from(read.table)} LIMIT ${limit} OFFSET ${offset}`);
				return rows.map((r, i) => ({ ...toRow(plans, r, names), [read.positionColumn!]: String(offset + i + 1) }));
			}
			const keyPlans = read.key.map((k) => planOf(plans, read.table, k));
			const keyCols = read.key.map(quoteMySqlIdent);
			let where = '';
			let order: string[];
			if (request.order === 'key' || request.order === 'null-cursor') {
				order = keyCols;
				const terms: string[] = [];
				if (request.afterKey) terms.push(rowAfter(keyCols, request.afterKey.map((v, i) => sqlLiteral(connection, keyPlans[i], v))));
				if (request.order === 'null-cursor') terms.push(`(${anyNull(read)})`);
				if (terms.length > 0) where = `WHERE ${terms.join(' AND ')}`;
			} else {
				const cursor = read.cursor ?? [];
				if (cursor.length === 0) throw new DbSourceError('schema', `Table ${read.table.schema}.${read.table.name} has no cursor column`, 'Pick a cursor column for incremental mode');
				const cursorPlans = cursor.map((c) => planOf(plans, read.table, c));
				const cursorCols = cursor.map(quoteMySqlIdent);
				order = [...cursorCols, ...keyCols];
				// MySQL sorts NULL first; a NULL has no place in cursor order ('null-cursor' pages read those rows).
				const terms = cursorCols.map((c) => `${c} IS NOT NULL`);
				if (request.after) {
					const literals = [
						...request.after.cursor.map((v, i) => sqlLiteral(connection, cursorPlans[i], v)),
						...request.after.key.map((v, i) => sqlLiteral(connection, keyPlans[i], v)),
					];
					terms.push(rowAfter(order, literals));
				} else if (request.from) {
					terms.push(`${cursorCols[0]} >= ${lookbackLiteral(connection, cursorPlans[0], request.from[0], request.lookback)}`);
				}
				where = `WHERE ${terms.join(' AND ')}`;
			}
			const sql = `SELECT ${select} FROM ${from(read.table)} ${where} ORDER BY ${order.join(', ')} LIMIT ${Math.max(1, Math.floor(request.limit))}`;
			const rows = (await query(sql)).map((r) => toRow(plans, r, names));
			if (request.order === 'cursor') for (const row of rows) refuseZeroDateCursor(read, row);
			return rows;
		},
		async maxCursor(read: TableRead): Promise<JsonScalar[] | null> {
			const cursor = read.cursor ?? [];
			if (cursor.length === 0) return null;
			const plans = await plansFor(read);
			const cols = cursor.map(quoteMySqlIdent);
			const rows = await query(
				`SELECT ${cols.map((c, i) => `${selectExpression(c, planOf(plans, read.table, cursor[i]).mapping)} AS ${c}`).join(', ')} FROM ${from(read.table)}
				  WHERE ${cols.map((c) => `${c} IS NOT NULL`).join(' AND ')} ORDER BY ${cols.map((c) => `${c} DESC`).join(', ')} LIMIT 1`,
			);
			if (rows.length === 0) return null;
			const max = Object.fromEntries(cursor.map((c) => [c, plans.get(c)!.convert(rows[0][c])]));
			refuseZeroDateCursor(read, max);
			return cursor.map((c) => max[c] as JsonScalar);
		},
		async countNullCursor(read: TableRead): Promise<number> {
			if ((read.cursor ?? []).length === 0) return 0;
			const rows = await query(`SELECT CAST(COUNT(*) AS CHAR) AS n FROM ${from(read.table)} WHERE ${anyNull(read)}`);
			return Number(rows[0].n);
		},
		async *keys(read: Pick<TableRead, 'table' | 'key'>): AsyncIterable<unknown[]> {
			const plans = await plansFor(read);
			const keyPlans = read.key.map((k) => planOf(plans, read.table, k));
			const cols = read.key.map(quoteMySqlIdent);
			let after: JsonScalar[] | null = null;
			for (;;) {
				const where: string = after ? `WHERE ${rowAfter(cols, after.map((v, i) => sqlLiteral(connection, keyPlans[i], v)))}` : '';
				const rows = await query(`SELECT ${cols.join(', ')} FROM ${from(read.table)} ${where} ORDER BY ${cols.join(', ')} LIMIT 10000`);
				for (const r of rows) yield read.key.map((k) => plans.get(k)!.convert(r[k]));
				if (rows.length < 10_000) return;
				after = read.key.map((k) => plans.get(k)!.convert(rows[rows.length - 1][k]) as JsonScalar);
			}
		},
		warnings: () => zeroDateWarnings(notes),
		async share(): Promise<DbReadView> {
			// MariaDB cannot hand a snapshot to another connection: a shared view reads through this
			// one (queries queue on it), which sees the same instant.
			return { ...view, close: async () => undefined };
		},
		async close(): Promise<void> {
			if (snapshot) await connection.query('COMMIT').catch(() => undefined);
			await release();
		},
	};
	return view;
}

/**
 * A cursor value read from a non-NULL column that converted to NULL is a zero date (0000-00-00, or
 * a 0 month or day). MySQL sorts it before every real date, but it has no place in a position the
 * next page could start after: read on as NULL, the page after it would silently come back empty
 * and the run end early. The table cannot be read by this cursor as it is: the run fails, naming
 * the fix; pages already committed stay, and the next run resumes from them.
 */
function refuseZeroDateCursor(read: TableRead, row: DbRow): void {
	for (const column of read.cursor ?? []) {
		if (row[column] !== null) continue;
		throw new DbSourceError(
			'config',
			`Table ${read.table.schema}.${read.table.name} has a zero date (0000-00-00, or a 0 month or day) in its cursor column ${column}, which no calendar orders, so incremental reads cannot resume after it`,
			`Set those values to a real date or NULL at the source (then nullCursor applies), sync a view whose cursor maps them to NULL, or use mode full`,
		);
	}
}

/** A row with a NULL in any cursor column. */
function anyNull(read: Pick<TableRead, 'cursor'>): string {
	const cursor = read.cursor ?? [];
	return cursor.length === 0 ? 'FALSE' : cursor.map((c) => `${quoteMySqlIdent(c)} IS NULL`).join(' OR ');
}

/** One warning per column whose zero dates (0000-00-00, month or day 0) were read as NULL. */
export function zeroDateWarnings(notes: ConversionNotes): string[] {
	return [...notes.zeroDates].map(([column, count]) => `${count} zero date(s) in column ${column} (0000-00-00, or a 0 month or day) were loaded as NULL: no calendar has them`);
}

/** `from - lookback` in the cursor's type: seconds for temporal cursors, units for numbers. */
function lookbackLiteral(connection: MySqlConnection, plan: ColumnPlan, from: JsonScalar, lookback: number): string {
	const literal = sqlLiteral(connection, plan, from);
	if (!lookback) return literal;
	const seconds = Math.max(0, Math.floor(lookback));
	if (['date', 'datetime', 'timestamp'].includes(plan.mapping.kind)) return `(${literal} - INTERVAL ${seconds} SECOND)`;
	return `(${literal} - ${Number(lookback)})`;
}
