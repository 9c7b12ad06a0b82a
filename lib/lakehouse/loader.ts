/**
 * The loader: consumes a stream of pages into one bronze table. Each page is ONE transaction:
 *
 *   prove the lease → create/evolve the table → COPY the rows (into a temporary staging table
 *   for a keyed stream, straight into the table for an append stream) → merge by key, updating
 *   only rows that changed → add the page's counts to the run → checkpoint the stream's cursor.
 *
 * So whatever instant a process dies, the lakehouse holds whole pages only, each row once, and a
 * cursor that never points past committed data; the source resumes from that cursor.
 */
import type { ClientBase, Pool, PoolClient } from 'pg';
import { newColumnType, type ColumnType } from './columnTypes';
import { ExactNumber, type SerializeStats } from './copyText';
import { inTransaction } from './connection';
import { copyRecords, type CopyPage } from './pageCopy';
import { addDrops, appendFromStaging, assertSameKey, holdsRowsOf, needsEvolution, PAGE_SETTINGS, recordExpectationFailure, upsertFromStaging } from './pageWrite';
import { Prefetcher } from './prefetch';
import { addRunCounts, holdLease } from './runs';
import { setStreamState } from './streamState';
import {
	columnNameFor,
	createTable,
	describeTable,
	evolveTable,
	SchemaError,
	tableName,
	type ColumnSpec,
	type SchemaChange,
	type TableRef,
	type TableShape,
} from './tables';
import { quoteIdent } from './sql';
import { enforcePageExpectations, rowExpectationsFor, type PageExpectations } from '../dq/enforce';

export type LoadRecord = Record<string, unknown>;

export interface Page {
	records: LoadRecord[];
	/** The stream position this page reaches; checkpointed with the page. Omit to keep the cursor. */
	cursor?: unknown;
	/** Replaces the stream's state object, committed with the page (e.g. files already loaded). */
	state?: Record<string, unknown>;
	/** When the page was read from the source (default: when it reached the loader). */
	extractedAt?: Date;
	/**
	 * The source's own form of each record (same order as records), kept as _ipai_raw when a
	 * source maps records before loading (e.g. Odoo's [id, name] pairs and False values). An
	 * entry left undefined leaves that row's _ipai_raw NULL (a table made with rawOptional).
	 */
	raws?: unknown[];
	/**
	 * Every field the records carry, when the source knows (a mapped source's columns): type
	 * inference then skips the values of declared fields instead of visiting each one.
	 */
	fields?: readonly string[];
	/**
	 * Runs inside the page's transaction after its rows are written, before the checkpoint: for
	 * what must commit or roll back with the page (e.g. a file's rejected rows).
	 */
	afterWrite?: (client: ClientBase) => Promise<void>;
	/** No key of the page was in an earlier page of the load (a full refresh from its start): if the
	 * table held no row of the connector when the load began, the page is COPYed straight in. */
	newKeys?: boolean;
}

export interface LoadOptions {
	connectorId: string;
	runId: string;
	stream: string;
	table: TableRef;
	/** What the rows come from, named on the rows data quality drops (a file's name); default: the stream. */
	origin?: string;
	/** Source fields that identify a record: merge by them. Omit for an append-only stream. */
	key?: string[];
	/** Declared field types (win over inference); other fields are inferred and evolve the table. */
	columns?: ColumnSpec[];
	onPage?: (progress: LoadProgress) => void;
	/**
	 * All pages in ONE transaction: the stream commits whole or not at all (e.g. one file whose
	 * bad row must leave nothing behind). Memory stays bounded — pages still stream through COPY —
	 * but the transaction, its locks and the lease row lock last until the stream ends.
	 */
	atomic?: boolean;
	/** The table, when this load creates it, lets _ipai_raw be NULL (TableOptions.rawOptional). */
	rawOptional?: boolean;
	/**
	 * Stage each page's rows on a second connection while the page before it merges and commits
	 * (keyed streams; not with `atomic`). Pages still commit one by one, in order, each with its
	 * cursor. Takes two of the pool's connections.
	 */
	overlap?: boolean;
}

export interface LoadProgress {
	pages: number;
	rowsRead: number;
	rowsWritten: number;
	/**
	 * Rows read that `drop` expectations sent to the reject table instead, by the expectation
	 * named on their reject row (absent: none). rowsRead counts them, rowsWritten does not.
	 */
	droppedBy?: Record<string, number>;
	schemaChanges: SchemaChange[];
	nulReplaced: number;
}

export type LoadResult = LoadProgress;

interface LoadContext {
	options: LoadOptions;
	/** Source field → column name, computed once per field rather than once per value. */
	columnNames: Map<string, string>;
	declared: Map<string, ColumnType>;
	keyColumns: string[] | null;
	shape: TableShape | null;
	stats: SerializeStats;
	/** Starts fetching the next page: called once this page's rows are all sent to the server. */
	requestNextPage?: () => void;
	/** The table was created by a page not yet committed: other sessions cannot see it. */
	creating?: boolean;
	/** The transaction every page joins (atomic streams); null: one transaction per page. */
	atomicClient?: PoolClient | null;
	/** Whether the table held rows of the connector when the load began (asked once, for newKeys pages). */
	heldRows?: boolean;
}

export async function loadStream(pool: Pool, pages: AsyncIterable<Page> | Iterable<Page>, options: LoadOptions): Promise<LoadResult> {
	const context: LoadContext = {
		options,
		columnNames: new Map(),
		declared: new Map((options.columns ?? []).map((c) => [columnNameFor(c.field), c.type])),
		keyColumns: options.key && options.key.length > 0 ? options.key.map(columnNameFor) : null,
		shape: null,
		stats: { nulReplaced: 0 },
	};
	const progress: LoadProgress = { pages: 0, rowsRead: 0, rowsWritten: 0, schemaChanges: [], nulReplaced: 0 };
	const prefetcher = new Prefetcher(pages, context.declared);
	context.requestNextPage = () => prefetcher.request();
	if (options.atomic) {
		context.atomicClient = await pool.connect();
		await context.atomicClient.query('begin').catch((error: unknown) => {
			context.atomicClient!.release(true);
			throw error;
		});
	}
	let committed = false;
	let failure: unknown;
	try {
		await loadPages(pool, context, prefetcher, progress);
		if (context.atomicClient) {
			await context.atomicClient.query('commit');
			committed = true;
		}
	} catch (error) {
		failure = error;
	} finally {
		await prefetcher.close();
		if (context.atomicClient) {
			let broken = false;
			if (!committed) await context.atomicClient.query('rollback').catch(() => (broken = true));
			context.atomicClient.release(broken);
			context.atomicClient = null;
		}
	}
	if (failure !== undefined) {
		await recordExpectationFailure(pool, failure);
		throw failure;
	}
	return progress;
}

type PageOutcome = { written: number; changes: SchemaChange[]; droppedBy?: Record<string, number> };

async function loadPages(pool: Pool, context: LoadContext, prefetcher: Prefetcher, progress: LoadProgress): Promise<void> {
	const count = (page: Page, result: PageOutcome) => {
		progress.pages++;
		progress.rowsRead += page.records.length;
		progress.rowsWritten += result.written;
		addDrops(progress, result.droppedBy);
		progress.schemaChanges.push(...result.changes);
		progress.nulReplaced = context.stats.nulReplaced;
		context.options.onPage?.({ ...progress, schemaChanges: [...progress.schemaChanges], ...(progress.droppedBy ? { droppedBy: { ...progress.droppedBy } } : {}) });
	};
	if (!context.options.overlap || context.atomicClient) {
		for (let next = await prefetcher.next(); next; next = await prefetcher.next()) count(next.page, await loadPage(pool, context, next.page, next.types));
		return;
	}
	// Two page transactions at a time: the next page is staged on a second connection while the
	// one before it merges and commits. Each still commits alone with its cursor, and only after
	// the page before it has committed, so the committed pages are always a prefix of the stream.
	let previous: { page: Page; done: Promise<PageOutcome> } | null = null;
	const settled = (p: Promise<unknown>) => p.then(
		() => undefined,
		() => undefined,
	);
	for (let next = await prefetcher.next(); next; next = await prefetcher.next()) {
		let staged!: () => void;
		const ready = new Promise<void>((resolve) => (staged = resolve));
		const after = previous ? previous.done.then(() => undefined) : Promise.resolve();
		// Awaited by the page once staged; a failure before then is not an unhandled rejection.
		after.catch(() => undefined);
		const done = loadPage(pool, context, next.page, next.types, { after, staged });
		// The next page starts once this one is past its DDL and staged (or over).
		await Promise.race([ready, settled(done)]);
		if (previous) {
			const result = await previous.done.catch(async (error: unknown) => {
				await settled(done);
				throw error;
			});
			count(previous.page, result);
		}
		previous = { page: next.page, done };
	}
	if (previous) count(previous.page, await previous.done);
}

/** The columns a page needs: declared types, plus the inferred types of other fields. */
function pageColumns(context: LoadContext, types: Map<string, ColumnType | null>): ColumnSpec[] {
	return [...types].map(([field, type]) => {
		const column = columnOf(context, field);
		const declared = context.declared.get(column);
		if (declared) return { field, type: declared };
		const existing = context.shape?.columns.get(column);
		if (existing !== undefined) return { field, type: type ?? existing ?? 'text' };
		return { field, type: type === null ? 'text' : newColumnType(type) };
	});
}

function columnOf(context: LoadContext, field: string): string {
	let column = context.columnNames.get(field);
	if (column === undefined) {
		column = columnNameFor(field);
		context.columnNames.set(field, column);
	}
	return column;
}

/** Declared columns that a page does not carry: created with the table, never written as NULL. */
function declaredAbsent(context: LoadContext, columns: ColumnSpec[]): ColumnSpec[] {
	const present = new Set(columns.map((c) => columnNameFor(c.field)));
	return (context.options.columns ?? []).filter((c) => !present.has(columnNameFor(c.field)));
}

/**
 * With `order`, the page waits for the page before it to commit (order.after) before it proves the
 * lease and merges; meanwhile, when the table needs no change for it, its rows are already staged.
 * order.staged tells the loop it may start the next page: never before this page's DDL, which
 * would wait on the next page's lock while the next page waits on this commit.
 */
async function loadPage(
	pool: Pool,
	context: LoadContext,
	page: Page,
	types: Map<string, ColumnType | null>,
	order?: { after: Promise<void>; staged: () => void },
): Promise<PageOutcome> {
	const { options } = context;
	const unique = context.keyColumns ? lastPerKey(page, options.key!) : page;
	const records = unique.records;
	const raws = unique.raws;
	const extractedAt = page.extractedAt ?? new Date();
	const ids = { connectorId: options.connectorId, runId: options.runId };

	const transaction = <T>(fn: (client: ClientBase) => Promise<T>): Promise<T> =>
		context.atomicClient ? fn(context.atomicClient) : inTransaction(pool, fn);
	return transaction(async (client) => {
		await client.query(PAGE_SETTINGS);
		let staging: string | null = null;
		if (order) {
			const early =
				records.length > 0 && context.keyColumns !== null && context.shape !== null && !context.creating && !needsEvolution(context.shape, pageColumns(context, types));
			if (early) {
				assertSameKey(context.options.table, context.keyColumns, context.shape!);
				staging = await stageRecords(client, context, pageColumns(context, types), records, raws, extractedAt);
				order.staged();
			}
			await order.after;
		}
		await holdLease(client, options.connectorId, options.runId);
		const changes: SchemaChange[] = [];
		let written = 0;
		let droppedBy: Record<string, number> | undefined;

		if (records.length > 0) {
			if (!context.shape) context.shape = await describeTable(client, options.table);
			const columns = pageColumns(context, types);
			if (!context.shape) {
				const all = [...columns, ...declaredAbsent(context, columns)];
				changes.push(...(await createTable(client, options.table, all, options.key ?? null, ids, { rawOptional: options.rawOptional })));
				context.creating = true;
				context.shape = await describeTable(client, options.table);
				if (!context.shape) throw new SchemaError(`Could not create ${tableName(options.table)}`);
			}
			assertSameKey(context.options.table, context.keyColumns, context.shape);
			if (needsEvolution(context.shape, columns)) {
				const evolved = await evolveTable(client, options.table, columns, ids);
				changes.push(...evolved.changes);
				context.shape = evolved.shape;
			}
			order?.staged();
			// The loader's shared page step for data quality: with row-level expectations the page is
			// staged (an append too) and checked set-based before it reaches the table.
			const expectations = await rowExpectationsFor(client, options.table);
			const direct = context.keyColumns !== null && page.newKeys === true && !expectations && !order;
			if (direct) context.heldRows ??= await holdsRowsOf(client, tableName(options.table), options.connectorId);
			if (direct && !context.heldRows) written = await copyRecords(client, tableName(options.table), copyPage(context, columns, records, raws, extractedAt));
			else if (context.keyColumns || expectations) {
				staging ??= await stageRecords(client, context, columns, records, raws, extractedAt);
				({ written, droppedBy } = await mergeStaged(client, context, staging, columns, records.length, expectations));
			} else {
				written = await copyRecords(client, tableName(options.table), copyPage(context, columns, records, raws, extractedAt));
			}
		}

		order?.staged();
		if (page.afterWrite) await page.afterWrite(client);
		await addRunCounts(client, options.runId, page.records.length, written);
		if (page.cursor !== undefined || page.state !== undefined) {
			await setStreamState(client, options.connectorId, options.stream, { cursor: page.cursor, state: page.state, runId: options.runId });
		}
		return { written, changes, droppedBy };
	})
		.then((outcome) => {
			if (!context.atomicClient) context.creating = false;
			return outcome;
		})
		.catch((error: unknown) => {
			// The transaction rolled back; forget cached table knowledge that may describe its DDL.
			context.shape = null;
			context.creating = false;
			throw error;
		})
		.finally(() => order?.staged());
}

/** Keeps the last version of each record (a page may repeat one; the newest wins), with its raw form. */
function lastPerKey(page: Page, key: string[]): Page {
	const records = page.records;
	const byKey = new Map<string, number>();
	for (let i = 0; i < records.length; i++) {
		const record = records[i];
		const parts = key.map((field) => {
			const value = record[field];
			if (value === null || value === undefined || value === '') {
				throw new SchemaError(`Record ${i + 1} of the page has no value for key field "${field}"`);
			}
			return typeof value === 'object' && !(value instanceof ExactNumber) ? JSON.stringify(value) : String(value);
		});
		const id = parts.length === 1 ? parts[0] : JSON.stringify(parts);
		byKey.delete(id); // re-insert so the surviving order follows the last occurrence
		byKey.set(id, i);
	}
	if (byKey.size === records.length) return page;
	const kept = [...byKey.values()];
	return { ...page, records: kept.map((i) => records[i]), raws: page.raws && kept.map((i) => page.raws![i]) };
}

function copyPage(context: LoadContext, columns: ColumnSpec[], records: LoadRecord[], raws: unknown[] | undefined, extractedAt: Date): CopyPage {
	const { connectorId, runId } = context.options;
	return { connectorId, runId, shape: context.shape!, columns, records, raws, extractedAt, stats: context.stats, encoded: context.requestNextPage };
}

/** The page's rows in a temporary table of the target's shape (dropped with the transaction). */
async function stageRecords(client: ClientBase, context: LoadContext, columns: ColumnSpec[], records: LoadRecord[], raws: unknown[] | undefined, extractedAt: Date): Promise<string> {
	const staging = quoteIdent(`_ipai_stage_${process.pid}`);
	await client.query(`create temporary table ${staging} (like ${tableName(context.options.table)}) on commit drop`);
	await copyRecords(client, staging, copyPage(context, columns, records, raws, extractedAt));
	return staging;
}

async function mergeStaged(
	client: ClientBase,
	context: LoadContext,
	staging: string,
	columns: ColumnSpec[],
	rows: number,
	expectations: PageExpectations | null,
): Promise<{ written: number; droppedBy?: Record<string, number> }> {
	const { options } = context;
	const target = tableName(options.table);
	let droppedBy: Record<string, number> | undefined;
	if (expectations) {
		({ droppedBy } = (await enforcePageExpectations(
			client,
			{ table: options.table, staging, target, keyColumns: context.keyColumns, connectorId: options.connectorId, runId: options.runId, stream: options.stream, origin: options.origin, rows },
			expectations,
		))!);
	}

	const dataColumns = columns.map((c) => quoteIdent(columnNameFor(c.field)));
	const written = context.keyColumns
		? await upsertFromStaging(client, target, staging, dataColumns, context.keyColumns)
		: await appendFromStaging(client, target, staging, dataColumns);
	// Dropped now rather than at commit: an atomic stream merges many pages in one transaction.
	await client.query(`drop table ${staging}`);
	return { written, droppedBy };
}
