/**
 * The PostgreSQL engine of the database source: discovery from the catalog, a REPEATABLE READ
 * snapshot exported so that several table readers (each on its own connection) see one instant,
 * keyset pages by primary key, incremental pages in (cursor, key) order, and change data capture
 * through logical replication (cdc.ts).
 */
import type { Client } from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import type { JsonScalar, PageRequest } from '../../../lakehouse/stream';
import { quoteIdent, quoteLiteral } from '../../../lakehouse/sql';
import {
	DbSourceError,
	type CdcOptions,
	type DbCdc,
	type DbColumn,
	type DbConnectionSettings,
	type DbCopyPage,
	type DbEngine,
	type DbReadView,
	type DbRow,
	type DbTableInfo,
	type DbTableRef,
	type TableRead,
} from '../engine';
import { PgCdc } from './cdc';
import { classifyPgError, connectSource, sourceQuery } from './connect';
import { lookbackKind, pgColumnRead, type PgColumnRead, type PgTypeInfo } from './types';

export interface PgColumn extends DbColumn {
	type: PgTypeInfo;
}

export function qualified(table: DbTableRef): string {
	return `${quoteIdent(table.schema)}.${quoteIdent(table.name)}`;
}

export class PgEngine implements DbEngine {
	readonly name = 'postgres' as const;
	private meta: Client | null = null;
	/** Tables described so far, by qualified name. */
	readonly described = new Map<string, DbTableInfo>();

	constructor(readonly settings: DbConnectionSettings) {}

	/** The connection used for discovery and checks. */
	async metaClient(): Promise<Client> {
		if (!this.meta) this.meta = await connectSource(this.settings);
		return this.meta;
	}

	async query<T extends Record<string, unknown>>(text: string, values?: unknown[]): Promise<T[]> {
		return sourceQuery<T>(await this.metaClient(), this.settings, text, values);
	}

	async test(): Promise<void> {
		const rows = await this.query<{ can_connect: boolean }>(`select has_database_privilege(current_database(), 'CONNECT') as can_connect`);
		if (!rows[0]?.can_connect) throw new DbSourceError('privilege', `User "${this.settings.user}" may not connect to "${this.settings.database}"`, 'GRANT CONNECT ON DATABASE to this user');
	}

	defaultSchema(): string {
		return 'public';
	}

	async listSchemas(): Promise<string[]> {
		const rows = await this.query<{ name: string }>(
			`select nspname as name from pg_namespace
			  where nspname not like 'pg\\_%' and nspname <> 'information_schema' and has_schema_privilege(oid, 'USAGE')
			  order by 1`,
		);
		return rows.map((r) => r.name);
	}

	async listTables(schema: string): Promise<Array<DbTableRef & { estimatedRows: number | null }>> {
		const rows = await this.query<{ name: string; estimate: string | null }>(
			`select c.relname as name, nullif(c.reltuples, -1)::bigint::text as estimate
			   from pg_class c join pg_namespace n on n.oid = c.relnamespace
			  where n.nspname = $1 and c.relkind in ('r', 'p', 'v', 'm', 'f') and not c.relispartition
			  order by 1`,
			[schema],
		);
		return rows.map((r) => ({ schema, name: r.name, estimatedRows: r.estimate === null ? null : Number(r.estimate) }));
	}

	async describeTable(table: DbTableRef): Promise<DbTableInfo> {
		const rows = await this.query<{ oid: string | null; can_select: string | null }>(
			`select to_regclass($1)::oid::text as oid, case when to_regclass($1) is null then null else has_table_privilege(to_regclass($1), 'SELECT')::text end as can_select`,
			[qualified(table)],
		);
		if (!rows[0]?.oid) {
			throw new DbSourceError('schema', `Table ${table.schema}.${table.name} is not in the source database (renamed or dropped?)`, 'Update config.tables to its new name, or restore the table');
		}
		if (rows[0].can_select !== 'true') {
			throw new DbSourceError('privilege', `User "${this.settings.user}" may not read ${table.schema}.${table.name}`, `GRANT SELECT ON ${qualified(table)} TO ${quoteIdent(this.settings.user)}`);
		}
		const oid = rows[0].oid;
		const columns = await this.query<{ name: string; formatted: string; nullable: string; typname: string; typtype: string; elem_typname: string | null; elem_typtype: string | null }>(
			`select a.attname as name, format_type(a.atttypid, a.atttypmod) as formatted, (not a.attnotnull)::text as nullable,
			        coalesce(bt.typname, t.typname) as typname, coalesce(bt.typtype, t.typtype) as typtype,
			        et.typname as elem_typname, et.typtype as elem_typtype
			   from pg_attribute a
			   join pg_type t on t.oid = a.atttypid
			   left join pg_type bt on t.typtype = 'd' and bt.oid = t.typbasetype
			   left join pg_type et on coalesce(bt.typcategory, t.typcategory) = 'A' and et.oid = coalesce(bt.typelem, t.typelem)
			  where a.attrelid = $1::oid and a.attnum > 0 and not a.attisdropped
			  order by a.attnum`,
			[oid],
		);
		const key = await this.query<{ name: string }>(
			`select a.attname as name
			   from pg_index i cross join lateral unnest(i.indkey) with ordinality k(attnum, n)
			   join pg_attribute a on a.attrelid = i.indrelid and a.attnum = k.attnum
			  where i.indrelid = $1::oid and i.indisprimary
			  order by k.n`,
			[oid],
		);
		const estimate = await this.query<{ estimate: string | null }>(`select nullif(reltuples, -1)::bigint::text as estimate from pg_class where oid = $1::oid`, [oid]);
		const info: DbTableInfo = {
			...table,
			columns: columns.map((c): PgColumn => {
				const type: PgTypeInfo = {
					formatted: c.formatted,
					typname: c.typname,
					typtype: c.typtype,
					element: c.elem_typname ? { typname: c.elem_typname, typtype: c.elem_typtype ?? 'b' } : null,
				};
				return { name: c.name, sourceType: c.formatted, nullable: c.nullable === 'true', bronzeType: pgColumnRead(type).bronzeType, type };
			}),
			primaryKey: key.length > 0 ? key.map((k) => k.name) : null,
			estimatedRows: estimate[0]?.estimate ? Number(estimate[0].estimate) : null,
		};
		this.described.set(qualified(table), info);
		return info;
	}

	async openSnapshot(): Promise<PgReadView> {
		const client = await connectSource(this.settings);
		try {
			await client.query('begin isolation level repeatable read read only');
			const { rows } = await client.query<{ id: string }>('select pg_export_snapshot() as id');
			return new PgReadView(this, client, rows[0].id, true);
		} catch (error) {
			await client.end().catch(() => undefined);
			throw classifyPgError(error, this.settings);
		}
	}

	/** A read view on another connection that sees the exported snapshot `id` (a second table reader). */
	async importSnapshot(id: string): Promise<PgReadView> {
		const client = await connectSource(this.settings);
		try {
			await client.query('begin isolation level repeatable read read only');
			await client.query(`set transaction snapshot ${quoteLiteral(id)}`);
			return new PgReadView(this, client, id, true);
		} catch (error) {
			await client.end().catch(() => undefined);
			throw classifyPgError(error, this.settings);
		}
	}

	async openReader(): Promise<PgReadView> {
		return new PgReadView(this, await connectSource(this.settings), null, false);
	}

	cdc(options: CdcOptions): DbCdc {
		return new PgCdc(this, options);
	}

	async close(): Promise<void> {
		const meta = this.meta;
		this.meta = null;
		await meta?.end().catch(() => undefined);
	}
}

const KEY_PAGE = 50_000;

/** A row with a NULL in any of these columns (of the table aliased t). */
function anyNull(columns: string[]): string {
	return columns.length === 0 ? 'false' : columns.map((c) => `t.${quoteIdent(c)} is null`).join(' or ');
}

export class PgReadView implements DbReadView {
	private readonly plans = new Map<string, PgColumnRead>();

	constructor(
		private readonly engine: PgEngine,
		readonly client: Client,
		/** The exported snapshot this view reads in (null: each read sees the latest data). */
		readonly snapshotId: string | null,
		private readonly inTransaction: boolean,
	) {}

	async share(): Promise<DbReadView> {
		if (!this.snapshotId) return this.engine.openReader();
		return this.engine.importSnapshot(this.snapshotId);
	}

	private plan(column: DbColumn): PgColumnRead {
		let plan = this.plans.get(column.name);
		if (!plan) {
			const type = (column as PgColumn).type ?? { formatted: column.sourceType, typname: column.sourceType, typtype: 'b' };
			plan = pgColumnRead(type);
			if (!plan.bronzeType) {
				throw new DbSourceError('type', `Column "${column.name}" has type ${column.sourceType}, which has no bronze mapping`, 'Leave the column out of the sync (read the table through a view that casts it), or cast it to text in a view');
			}
			this.plans.set(column.name, plan);
		}
		return plan;
	}

	private columnOf(read: TableRead, name: string): PgColumn {
		const column = read.columns.find((c) => c.name === name) as PgColumn | undefined;
		if (!column) throw new DbSourceError('schema', `Column "${name}" is not in ${read.table.schema}.${read.table.name}`, 'Fix the key or cursor of this table in config.tables');
		return column;
	}

	/** The select list of a row read: each column as the text its mapping reads. */
	private selectList(read: TableRead): { plans: Array<readonly [string, PgColumnRead]>; select: string } {
		const plans = read.columns.map((c) => [c.name, this.plan(c)] as const);
		return { plans, select: plans.map(([name, plan]) => `${plan.select(`t.${quoteIdent(name)}`)} as ${quoteIdent(name)}`).join(', ') };
	}

	/**
	 * readPage's key-order page as COPY (query) TO STDOUT, in this view's snapshot. COPY takes no
	 * parameters, so the last key travels as literals cast to the key columns' declared types (the
	 * same comparison readPage makes with parameters). Only keys read as plain text qualify: their
	 * text is the value a row read's cursor holds, so both reads resume from each other's cursor.
	 */
	copyPage(read: TableRead, afterKey: JsonScalar[] | null, limit: number): DbCopyPage | string {
		if (read.positionColumn || read.key.length === 0) return 'a table without a key is read in physical order';
		const notText = read.key.filter((k) => this.plan(this.columnOf(read, k)).kind !== 'text');
		if (notText.length > 0) return `key column(s) ${notText.join(', ')} are not read as plain text`;
		const { plans, select } = this.selectList(read);
		const keys = read.key.map((k) => `t.${quoteIdent(k)}`);
		const where = afterKey
			? `(${keys.join(', ')}) > (${read.key.map((k, i) => `${quoteLiteral(String(afterKey[i]))}::${this.columnOf(read, k).type?.formatted ?? this.columnOf(read, k).sourceType}`).join(', ')})`
			: 'true';
		const text = `copy (select ${select} from ${qualified(read.table)} t where ${where} order by ${keys.join(', ')} limit ${Math.max(1, Math.floor(limit))}) to stdout`;
		return {
			columns: plans.map(([name, plan]) => ({ name, kind: plan.kind })),
			open: () => this.client.query(copyTo(text)),
			explain: (error) => this.explain(read.table, error),
		};
	}

	async readPage(read: TableRead, request: PageRequest): Promise<DbRow[]> {
		const { plans, select } = this.selectList(read);
		const values: unknown[] = [];
		const param = (value: JsonScalar, column: PgColumn) => {
			values.push(value);
			return `$${values.length}::${column.type?.formatted ?? column.sourceType}`;
		};
		const tuple = (names: string[]) => `(${names.map((n) => `t.${quoteIdent(n)}`).join(', ')})`;
		const bound = (names: string[], position: JsonScalar[], op: string) =>
			`${tuple(names)} ${op} (${names.map((n, i) => param(position[i], this.columnOf(read, n))).join(', ')})`;
		let where = 'true';
		let order: string[];
		let position = '';
		if (request.order === 'key' && read.positionColumn) {
			// No key: physical order within this view's snapshot (a TID range scan).
			position = `, t.ctid::text as ${quoteIdent(read.positionColumn)}`;
			order = [];
			if (request.afterKey) {
				values.push(request.afterKey[0]);
				where = `t.ctid > $${values.length}::tid`;
			}
		} else if (request.order === 'key' || request.order === 'null-cursor') {
			order = read.key;
			if (request.afterKey) where = bound(read.key, request.afterKey, '>');
			if (request.order === 'null-cursor') where += ` and (${anyNull(read.cursor ?? [])})`;
		} else {
			const cursor = read.cursor ?? [];
			order = [...cursor, ...read.key];
			if (request.after) where = bound(order, [...request.after.cursor, ...request.after.key], '>');
			else if (request.from) {
				const first = this.columnOf(read, cursor[0]);
				const kind = lookbackKind(first.type?.typname ?? '');
				if (request.lookback > 0 && kind) {
					const from = param(request.from[0], first);
					values.push(request.lookback);
					where = `t.${quoteIdent(cursor[0])} >= ${from} - ${kind === 'seconds' ? `make_interval(secs => $${values.length}::float8)` : `$${values.length}::numeric`}`;
				} else where = bound(cursor, request.from, '>=');
			}
			// Rows whose cursor is NULL have no place in cursor order: 'null-cursor' pages read them.
			where += cursor.map((c) => ` and t.${quoteIdent(c)} is not null`).join('');
		}
		values.push(request.limit);
		// Ordered by the table's columns (t.), not the text the select list makes of them.
		const orderBy = order.length > 0 ? order.map((n) => `t.${quoteIdent(n)}`).join(', ') : 't.ctid';
		const text = `select ${select}${position} from ${qualified(read.table)} t where ${where} order by ${orderBy} limit $${values.length}`;
		const rows = await this.run(read.table, text, values);
		for (const row of rows) {
			for (const [name, plan] of plans) {
				if (name === read.positionColumn) continue;
				const value = row[name];
				if (value !== null) row[name] = plan.convert(value as string);
			}
		}
		return rows;
	}

	async maxCursor(read: TableRead): Promise<JsonScalar[] | null> {
		const cursor = read.cursor ?? [];
		if (cursor.length === 0) return null;
		const rows = await this.run(
			read.table,
			`select ${cursor.map((c) => `t.${quoteIdent(c)}::text as ${quoteIdent(c)}`).join(', ')} from ${qualified(read.table)} t
			  where ${cursor.map((c) => `t.${quoteIdent(c)} is not null`).join(' and ')}
			  order by ${cursor.map((c) => `t.${quoteIdent(c)} desc`).join(', ')} limit 1`,
			[],
		);
		return rows.length === 0 ? null : cursor.map((c) => rows[0][c] as string);
	}

	async countNullCursor(read: TableRead): Promise<number> {
		const cursor = read.cursor ?? [];
		if (cursor.length === 0) return 0;
		const rows = await this.run(read.table, `select count(*)::text as n from ${qualified(read.table)} t where ${anyNull(cursor)}`, []);
		return Number(rows[0].n);
	}

	async *keys(read: Pick<TableRead, 'table' | 'key'>): AsyncIterable<unknown[]> {
		const names = read.key.map((k) => `t.${quoteIdent(k)}`);
		let after: string[] | null = null;
		for (;;) {
			const values: unknown[] = after ? [...after] : [];
			const where = after ? `(${names.join(', ')}) > (${names.map((_, i) => `$${i + 1}::text::${this.keyType(read, i)}`).join(', ')})` : 'true';
			values.push(KEY_PAGE);
			const rows = await this.run(read.table, `select ${names.map((n, i) => `${n}::text as ${quoteIdent(read.key[i])}`).join(', ')} from ${qualified(read.table)} t where ${where} order by ${names.join(', ')} limit $${values.length}`, values);
			for (const row of rows) yield read.key.map((k) => row[k]);
			if (rows.length < KEY_PAGE) return;
			after = read.key.map((k) => rows[rows.length - 1][k] as string);
		}
	}

	private keyType(read: Pick<TableRead, 'table' | 'key'>, index: number): string {
		const column = this.engine.described.get(qualified(read.table))?.columns.find((c) => c.name === read.key[index]) as PgColumn | undefined;
		return column?.type.formatted ?? 'text';
	}

	private async run(table: DbTableRef, text: string, values: unknown[]): Promise<DbRow[]> {
		try {
			return (await this.client.query(text, values)).rows;
		} catch (error) {
			throw this.explain(table, error);
		}
	}

	/** A failed read said for a person: a table or column gone, or the server's classified error. */
	private explain(table: DbTableRef, error: unknown): Error {
		const code = (error as { code?: string }).code;
		if (code === '42P01') {
			return new DbSourceError('schema', `Table ${table.schema}.${table.name} disappeared from the source during the sync (renamed or dropped?)`, 'Update config.tables to its new name, or restore the table; nothing of this page was written');
		}
		if (code === '42703') {
			return new DbSourceError('schema', `A column of ${table.schema}.${table.name} disappeared from the source during the sync: ${(error as Error).message}`, 'Run the sync again to pick up the new shape');
		}
		return classifyPgError(error, this.engine.settings);
	}

	async close(): Promise<void> {
		if (this.inTransaction) await this.client.query('rollback').catch(() => undefined);
		await this.client.end().catch(() => undefined);
	}
}
