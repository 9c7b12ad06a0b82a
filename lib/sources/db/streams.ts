/**
 * A database source is a set of streams, one per configured table. This module checks each
 * table against the source (it exists, its key and cursor columns exist, every column has a
 * bronze type) and builds its stream on the incremental helper of lib/lakehouse/stream.ts:
 *   full         keyset pages by key in one snapshot, resumable; at the end rows gone from the
 *                source are marked deleted (from the second full sync on);
 *   no key       a full copy appended in one transaction, the previous copy marked deleted;
 *   incremental  (cursor, key) pages with a lookback, optional periodic key scan for deletes.
 */
import type { Pool } from 'pg';
import type { Page } from '../../lakehouse/loader';
import { markMissingAsDeleted } from '../../lakehouse/inferredDeletes';
import { setStreamState } from '../../lakehouse/streamState';
import { incrementalPages, type IncrementalCursor, type JsonScalar, type Stream, type StreamRun } from '../../lakehouse/stream';
import { bronzeTableName, META, tableName, type ColumnSpec, type TableRef } from '../../lakehouse/tables';
import { DEFAULT_BRONZE_SCHEMA, sourceTableRef, type DbConnectorConfig, type DbTableConfig } from './config';
import { DbSourceError, type DbEngine, type DbReadView, type DbRow, type DbTableInfo, type TableRead } from './engine';
import { dbPage, keepsRaw } from './rawRecord';

export interface DbTablePlan {
	index: number;
	config: DbTableConfig;
	info: DbTableInfo;
	read: TableRead;
	/** Null: the table has no key; it loads append-only. */
	key: string[] | null;
	target: TableRef;
	columns: ColumnSpec[];
	/** The stream's name in ipai_connector_state. */
	stream: string;
	/** Said to the user with the run's result (e.g. append-only loads). */
	note?: string;
	/** A cursor column may hold NULL (those rows have no place in (cursor, key) order). */
	nullableCursor: boolean;
}

export async function planTables(engine: DbEngine, config: DbConnectorConfig, defaultSchema: string | null): Promise<DbTablePlan[]> {
	const plans: DbTablePlan[] = [];
	for (const [index, table] of config.tables.entries()) {
		const ref = sourceTableRef(table.table, defaultSchema);
		const info = await engine.describeTable(ref);
		const at = `config.tables[${index}] (${ref.schema}.${ref.name})`;
		const unmapped = info.columns.filter((c) => c.bronzeType === null);
		if (unmapped.length > 0) {
			throw new DbSourceError('type', `${at} has column(s) with no bronze mapping: ${unmapped.map((c) => `${c.name} ${c.sourceType}`).join(', ')}`, 'Sync a view of the table that casts them (e.g. to text) or leaves them out');
		}
		const names = new Set(info.columns.map((c) => c.name));
		for (const field of ['key', 'cursor'] as const) {
			const missing = (table[field] ?? []).filter((c) => !names.has(c));
			if (missing.length > 0) throw new DbSourceError('schema', `${at}.${field} names column(s) the table does not have: ${missing.join(', ')}`, `Pick from: ${[...names].join(', ')}`);
		}
		const key = table.key ?? info.primaryKey;
		if (!key && table.mode !== 'full') {
			throw new DbSourceError('schema', `${at} has no primary key, which mode ${table.mode} needs`, `Set config.tables[${index}].key to column(s) that identify a row, or use mode full (append-only)`);
		}
		plans.push({
			index,
			config: table,
			info,
			read: { table: ref, columns: info.columns, key: key ?? [], cursor: table.cursor },
			key,
			target: { schema: config.schema ?? DEFAULT_BRONZE_SCHEMA, name: bronzeTableName(table.target ?? `${ref.schema}_${ref.name}`) },
			columns: info.columns.map((c) => ({ field: c.name, type: c.bronzeType! })),
			stream: `${ref.schema}.${ref.name}`,
			note: key ? undefined : `${ref.schema}.${ref.name} has no primary key and no config key: each full sync appends a fresh copy in one transaction and marks the previous copy deleted`,
			nullableCursor: (table.cursor ?? []).some((c) => info.columns.find((col) => col.name === c)?.nullable !== false),
		});
	}
	return plans;
}

const keyOf = (plan: DbTablePlan) => (row: DbRow): JsonScalar[] => plan.read.key.map((k) => scalar(row[k]));
const cursorOf = (plan: DbTablePlan) => (row: DbRow): JsonScalar[] => (plan.read.cursor ?? []).map((c) => scalar(row[c]));

function scalar(value: unknown): JsonScalar {
	if (value === null || value === undefined) return null;
	if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return value;
	return JSON.stringify(value);
}

export interface TableStreamOptions {
	pool: Pool;
	run: StreamRun;
	pageSize: number;
	/** The read view pages come from (a shared snapshot for full tables). */
	view: DbReadView;
	/** Whether a full keyed table marks rows the source no longer has as deleted when it ends. */
	deletes: 'after-full' | 'never';
	now?: () => Date;
	/** Told of rows marked deleted by a full refresh or key scan. */
	onDeletes?: (deleted: number) => void;
	/** Incremental: told how many rows have a NULL cursor after a run that could not read them. */
	onNullCursorRows?: (count: number) => void;
}

/** The stream of one full or incremental table. */
export function tableStream(plan: DbTablePlan, mode: 'full' | 'incremental', options: TableStreamOptions): Stream {
	const base = { name: plan.stream, table: plan.target, key: plan.key ?? undefined, columns: plan.columns, rawOptional: true };
	if (!plan.key) return appendCopyStream(plan, options, base);
	let firstLoad = false;
	let fullEnded = false;
	// Whether this run reads the NULL-cursor rows: a full refresh, or an incremental stream's first pass.
	let readsNullCursors = true;
	const nullCursorsFirst = mode === 'incremental' && plan.nullableCursor;
	return {
		...base,
		read(context) {
			const stored = (context.cursor ?? {}) as IncrementalCursor;
			firstLoad = !stored.fullCompletedAt && !stored.position;
			readsNullCursors = mode === 'full' || !!stored.full || context.cursor === null || context.cursor === undefined || !!stored.nulls;
			const pages = incrementalPages<DbRow>({
				mode,
				stored: context.cursor,
				pageSize: options.pageSize,
				lookback: plan.config.lookbackSeconds ?? 0,
				fetch: (request) => options.view.readPage(plan.read, request),
				keyOf: keyOf(plan),
				cursorOf: plan.read.cursor ? cursorOf(plan) : undefined,
				nullCursorsFirst,
				highWater: plan.read.cursor ? () => options.view.maxCursor(plan.read) : undefined,
				toPage: (rows) => dbPage(rows, keepsRaw(plan)),
				now: options.now,
			});
			// A refresh from its first key: each page's keys come after every earlier page's.
			const newKeys = mode === 'full' && !stored.full;
			return (async function* () {
				for await (const page of pages) {
					if ((page.cursor as IncrementalCursor).fullCompletedAt) fullEnded = true;
					yield newKeys ? { ...page, newKeys } : page;
				}
			})();
		},
		async afterLoad(context) {
			if (nullCursorsFirst && !readsNullCursors) options.onNullCursorRows?.(await options.view.countNullCursor(plan.read));
			const scanEvery = plan.config.deleteScanHours;
			const lastScan = typeof context.state.lastKeyScanAt === 'string' ? Date.parse(context.state.lastKeyScanAt) : null;
			const now = options.now?.() ?? new Date();
			const scanDue = mode === 'incremental' && scanEvery !== undefined && (lastScan === null || now.getTime() - lastScan >= scanEvery * 3_600_000);
			const afterFull = mode === 'full' && fullEnded && !firstLoad && options.deletes === 'after-full';
			if (!scanDue && !afterFull) return;
			const { deleted } = await markMissingAsDeleted(options.pool, { ...options.run, table: plan.target, key: plan.key! }, options.view.keys(plan.read));
			options.onDeletes?.(deleted);
			if (scanDue) await setStreamState(options.pool, options.run.connectorId, plan.stream, { state: { ...context.state, lastKeyScanAt: now.toISOString() }, runId: options.run.runId });
		},
	};
}

/**
 * A table without a key: the whole table in one transaction (nothing half-written, nothing to
 * resume), and the copy this run replaces marked deleted in that same transaction.
 */
function appendCopyStream(plan: DbTablePlan, options: TableStreamOptions, base: Omit<Stream, 'read'>): Stream {
	return {
		...base,
		atomic: true,
		async *read() {
			const ctid = '__ipai_position';
			let after: string | null = null;
			for (;;) {
				const rows = await options.view.readPage({ ...plan.read, key: [], cursor: undefined, positionColumn: ctid }, { order: 'key', afterKey: after === null ? null : [after], limit: options.pageSize });
				if (rows.length > 0) after = String(rows[rows.length - 1][ctid]);
				for (const row of rows) delete row[ctid];
				const last = rows.length < options.pageSize;
				const page: Page = { ...dbPage(rows, keepsRaw(plan)), cursor: last ? { fullCompletedAt: new Date().toISOString() } : undefined };
				if (last) {
					page.afterWrite = async (client) => {
						const { rows: exists } = await client.query('select to_regclass($1) is not null as ok', [tableName(plan.target)]);
						if (!exists[0].ok) return;
						const { rowCount } = await client.query(
							`update ${tableName(plan.target)} set ${META.deletedAt} = now() where ${META.connectorId} = $1 and ${META.runId} <> $2 and ${META.deletedAt} is null`,
							[options.run.connectorId, options.run.runId],
						);
						options.onDeletes?.(rowCount ?? 0);
					};
				}
				yield page;
				if (last) return;
			}
		},
	};
}
