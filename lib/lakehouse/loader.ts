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
import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ClientBase, Pool, PoolClient } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import {
	copyFieldWriter,
	ExactNumber,
	copyJson,
	inferValueType,
	newColumnType,
	widen,
	type ColumnType,
	type SerializeStats,
} from './columnTypes';
import { inTransaction } from './connection';
import { addRunCounts, holdLease } from './runs';
import { setStreamState } from './streamState';
import {
	columnNameFor,
	createTable,
	describeTable,
	evolveTable,
	META,
	SchemaError,
	tableName,
	type ColumnSpec,
	type SchemaChange,
	type TableRef,
	type TableShape,
} from './tables';
import { quoteIdent, quoteLiteral } from './sql';
import { enforcePageExpectations, rowExpectationsFor, type PageExpectations } from '../dq/enforce';
import { recordRolledBackFailure } from '../dq/results';
import { ExpectationFailedError } from '../dq/types';

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
	 * source maps records before loading (e.g. Odoo's [id, name] pairs and False values).
	 */
	raws?: unknown[];
	/**
	 * Runs inside the page's transaction after its rows are written, before the checkpoint: for
	 * what must commit or roll back with the page (e.g. a file's rejected rows).
	 */
	afterWrite?: (client: ClientBase) => Promise<void>;
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
	/** The transaction every page joins (atomic streams); null: one transaction per page. */
	atomicClient?: PoolClient | null;
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

/** After a `fail` expectation rolled its page back: keeps what failed in the ledger (own transaction). */
async function recordExpectationFailure(pool: Pool, error: unknown): Promise<void> {
	if (!(error instanceof ExpectationFailedError)) return;
	// The page's error names the expectation and its counts whether or not this record is kept.
	await recordRolledBackFailure(pool, error.outcomes, error.runId, randomUUID()).catch(() => undefined);
}

async function loadPages(pool: Pool, context: LoadContext, prefetcher: Prefetcher, progress: LoadProgress): Promise<void> {
	for (let next = await prefetcher.next(); next; next = await prefetcher.next()) {
		const result = await loadPage(pool, context, next.page, next.types);
		progress.pages++;
		progress.rowsRead += next.page.records.length;
		progress.rowsWritten += result.written;
		addDrops(progress, result.droppedBy);
		progress.schemaChanges.push(...result.changes);
		progress.nulReplaced = context.stats.nulReplaced;
		context.options.onPage?.({ ...progress, schemaChanges: [...progress.schemaChanges], ...(progress.droppedBy ? { droppedBy: { ...progress.droppedBy } } : {}) });
	}
}

function addDrops(progress: LoadProgress, droppedBy: Record<string, number> | undefined): void {
	if (!droppedBy) return;
	for (const [name, n] of Object.entries(droppedBy)) {
		if (n === 0) continue;
		progress.droppedBy ??= {};
		progress.droppedBy[name] = (progress.droppedBy[name] ?? 0) + n;
	}
}

interface PrefetchedPage {
	page: Page;
	/** The page's field types, inferred while it was fetched (see inferPageTypes). */
	types: Map<string, ColumnType | null>;
}

/**
 * Reads one page ahead: while a page's transaction waits on the database, the source is already
 * producing the next one (an RPC in flight, a file being parsed) and its types are inferred, so
 * the two overlap instead of taking turns. The loader asks for the next page as soon as the
 * current page's rows are all sent (request()), while the server is still digesting them.
 * At most two pages are held at a time.
 */
class Prefetcher {
	private readonly iterator: AsyncIterator<Page> | Iterator<Page>;
	private readonly eager: boolean;
	private pending: Promise<PrefetchedPage | null> | null = null;

	constructor(
		pages: AsyncIterable<Page> | Iterable<Page>,
		private readonly declared: Map<string, ColumnType>,
	) {
		this.eager = Symbol.asyncIterator in pages;
		this.iterator = this.eager ? (pages as AsyncIterable<Page>)[Symbol.asyncIterator]() : (pages as Iterable<Page>)[Symbol.iterator]();
	}

	/** Starts fetching the next page unless that is already under way. */
	request(): void {
		if (this.pending) return;
		this.pending = new Promise<PrefetchedPage | null>((resolve, reject) =>
			setImmediate(() =>
				Promise.resolve(this.iterator.next()).then(
					(result) => resolve(result.done ? null : { page: result.value, types: inferPageTypes(result.value.records, this.declared) }),
					reject,
				),
			),
		);
		// A failure while prefetching surfaces when that page is awaited, not as an unhandled rejection.
		this.pending.catch(() => undefined);
	}

	async next(): Promise<PrefetchedPage | null> {
		this.request();
		const page = await this.pending!;
		this.pending = null;
		// An asynchronous source waits on I/O (an RPC, a download): keep its next request in
		// flight for the whole time this page is loaded. A synchronous one computes its page in a
		// single block, so it waits until this page's rows are sent (request() from the loader).
		if (page && this.eager) this.request();
		return page;
	}

	/** Lets the source release what it holds when loading stops early (an error in a page). */
	async close(): Promise<void> {
		await this.pending?.catch(() => undefined);
		await Promise.resolve(this.iterator.return?.()).catch(() => undefined);
	}
}

/**
 * The widest type each field's values need, for one page. Values that plainly fit the type seen
 * so far are skipped without a full inference (a number in a numeric field, a string in a text
 * field): this runs for every value of every load.
 */
function inferPageTypes(records: LoadRecord[], declared: Map<string, ColumnType>): Map<string, ColumnType | null> {
	const types = new Map<string, ColumnType | null>();
	const settled = new Set<string>();
	for (const record of records) {
		for (const field in record) {
			if (settled.has(field)) continue;
			const value = record[field];
			const current = types.get(field) ?? null;
			if (current === null && declared.size > 0) {
				const type = declared.get(columnNameFor(field));
				if (type) {
					types.set(field, type);
					settled.add(field);
					continue;
				}
			}
			if (value === null || value === undefined || plainlyFits(current, value)) {
				if (!types.has(field)) types.set(field, null);
				continue;
			}
			const type = widen(current, inferValueType(value));
			types.set(field, type);
			// text and jsonb absorb everything: no need to look at this field's other values.
			if (type === 'text' || type === 'jsonb') settled.add(field);
		}
	}
	return types;
}

function plainlyFits(type: ColumnType | null, value: unknown): boolean {
	switch (type) {
		case 'numeric':
			return typeof value === 'number' || typeof value === 'bigint' || value instanceof ExactNumber;
		case 'bigint':
			return Number.isSafeInteger(value);
		case 'boolean':
			return typeof value === 'boolean';
		default:
			return false;
	}
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

function needsEvolution(shape: TableShape, columns: ColumnSpec[]): boolean {
	return columns.some((c) => {
		const column = columnNameFor(c.field);
		if (!shape.columns.has(column)) return true;
		const current = shape.columns.get(column) ?? null;
		return current !== null && widen(current, c.type) !== current;
	});
}

async function loadPage(
	pool: Pool,
	context: LoadContext,
	page: Page,
	types: Map<string, ColumnType | null>,
): Promise<{ written: number; changes: SchemaChange[]; droppedBy?: Record<string, number> }> {
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
		await holdLease(client, options.connectorId, options.runId);
		const changes: SchemaChange[] = [];
		let written = 0;
		let droppedBy: Record<string, number> | undefined;

		if (records.length > 0) {
			if (!context.shape) context.shape = await describeTable(client, options.table);
			const columns = pageColumns(context, types);
			if (!context.shape) {
				const all = [...columns, ...declaredAbsent(context, columns)];
				changes.push(...(await createTable(client, options.table, all, options.key ?? null, ids)));
				context.shape = await describeTable(client, options.table);
				if (!context.shape) throw new SchemaError(`Could not create ${tableName(options.table)}`);
			}
			assertSameKey(context, context.shape);
			if (needsEvolution(context.shape, columns)) {
				const evolved = await evolveTable(client, options.table, columns, ids);
				changes.push(...evolved.changes);
				context.shape = evolved.shape;
			}
			// The loader's shared page step for data quality: with row-level expectations the page is
			// staged (an append too) and checked set-based before it reaches the table.
			const expectations = await rowExpectationsFor(client, options.table);
			if (context.keyColumns || expectations) {
				({ written, droppedBy } = await mergeRecords(client, context, columns, records, raws, extractedAt, expectations));
			} else {
				written = await copyRecords(client, context, tableName(options.table), columns, records, raws, extractedAt);
			}
		}

		if (page.afterWrite) await page.afterWrite(client);
		await addRunCounts(client, options.runId, page.records.length, written);
		if (page.cursor !== undefined || page.state !== undefined) {
			await setStreamState(client, options.connectorId, options.stream, { cursor: page.cursor, state: page.state, runId: options.runId });
		}
		return { written, changes, droppedBy };
	}).catch((error: unknown) => {
		// The transaction rolled back; forget cached table knowledge that may describe its DDL.
		context.shape = null;
		throw error;
	});
}

function assertSameKey(context: LoadContext, shape: TableShape): void {
	const wanted = context.keyColumns?.join(',') ?? '';
	const actual = shape.key?.join(',') ?? '';
	if (wanted !== actual) {
		throw new SchemaError(
			`${tableName(context.options.table)} is keyed by (${actual || 'nothing: append-only'}) but this stream loads by ` +
				`(${wanted || 'nothing: append-only'}); load into another table or use the same key`,
		);
	}
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

async function mergeRecords(
	client: ClientBase,
	context: LoadContext,
	columns: ColumnSpec[],
	records: LoadRecord[],
	raws: unknown[] | undefined,
	extractedAt: Date,
	expectations: PageExpectations | null,
): Promise<{ written: number; droppedBy?: Record<string, number> }> {
	const { options } = context;
	const target = tableName(options.table);
	const staging = quoteIdent(`_ipai_stage_${process.pid}`);
	await client.query(`create temporary table ${staging} (like ${target}) on commit drop`);
	await copyRecords(client, context, staging, columns, records, raws, extractedAt);
	let droppedBy: Record<string, number> | undefined;
	if (expectations) {
		({ droppedBy } = (await enforcePageExpectations(
			client,
			{ table: options.table, staging, target, keyColumns: context.keyColumns, connectorId: options.connectorId, runId: options.runId, stream: options.stream, origin: options.origin, rows: records.length },
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

/**
 * Merges a staging table into its target by (connector, key). Only rows whose data changed (or
 * that come back after being marked deleted) are rewritten: an unchanged re-sync costs no row
 * versions and does not count as written. With `arrivalOrder`, the staging rows may repeat a key
 * and the last to arrive wins. Returns the rows written.
 */
async function upsertFromStaging(
	client: ClientBase,
	target: string,
	staging: string,
	dataColumns: string[],
	keyColumns: string[],
	arrivalOrder?: string,
): Promise<number> {
	const all = [...dataColumns, META.connectorId, META.runId, META.extractedAt, META.deletedAt, META.raw];
	const conflict = [META.connectorId, ...keyColumns.map(quoteIdent)];
	const updatable = all.filter((c) => !conflict.includes(c));
	const changed = [...dataColumns, META.raw].filter((c) => !conflict.includes(c));
	const source = arrivalOrder
		? `select distinct on (${conflict.join(', ')}) ${all.join(', ')} from ${staging} order by ${conflict.join(', ')}, ${arrivalOrder} desc`
		: `select ${all.join(', ')} from ${staging}`;
	const result = await client.query(
		`insert into ${target} as t (${all.join(', ')})
		 ${source}
		 on conflict (${conflict.join(', ')}) do update
		    set ${updatable.map((c) => `${c} = excluded.${c}`).join(', ')}
		  where (${changed.map((c) => `t.${c}`).join(', ')}) is distinct from (${changed.map((c) => `excluded.${c}`).join(', ')})
		     or t.${META.deletedAt} is not null`,
	);
	return result.rowCount ?? 0;
}

/** An append page that was staged (to be checked): its remaining rows go into the table. */
async function appendFromStaging(client: ClientBase, target: string, staging: string, dataColumns: string[]): Promise<number> {
	const all = [...dataColumns, META.connectorId, META.runId, META.extractedAt, META.deletedAt, META.raw];
	const result = await client.query(`insert into ${target} (${all.join(', ')}) select ${all.join(', ')} from ${staging}`);
	return result.rowCount ?? 0;
}

const CHUNK_BYTES = 256 * 1024;

/**
 * Settings of every page transaction. UTC, so values without a zone and date → timestamptz
 * widenings mean the same on every server. synchronous_commit off: the commit does not wait for
 * its WAL to reach disk. If the *database server* crashes, the last pages committed this way may
 * be lost — but each page is lost together with its cursor checkpoint (same transaction, WAL
 * order), so the source simply re-reads them: no loss, no duplicate, no cursor ahead of data.
 * It only trades a re-read after a server crash for not waiting on an fsync per page.
 */
const PAGE_SETTINGS = `set local timezone = 'UTC'; set local synchronous_commit = off`;

/** COPY … FROM STDIN (text format), rows batched into ~256 KB chunks to keep the pipe full. */
async function copyRecords(
	client: ClientBase,
	context: LoadContext,
	target: string,
	columns: ColumnSpec[],
	records: LoadRecord[],
	raws: unknown[] | undefined,
	extractedAt: Date,
): Promise<number> {
	const shape = context.shape!;
	const fields = columns.map((c) => c.field);
	const writers = columns.map((c) => copyFieldWriter(shape.columns.get(columnNameFor(c.field)) ?? c.type, context.stats));
	const meta = `${context.options.connectorId}\t${context.options.runId}\t${extractedAt.toISOString()}\t\\N\t`;
	const metaSuffix = fields.length > 0 ? `\t${meta}` : meta;
	const stats = context.stats;
	const columnList = [...columns.map((c) => quoteIdent(columnNameFor(c.field))), META.connectorId, META.runId, META.extractedAt, META.deletedAt, META.raw];

	// Rows are encoded straight into 256 KB buffers: no large intermediate strings to build,
	// flatten and copy again, which is where most of a load's garbage came from.
	function* chunks(): Generator<Buffer> {
		let buffer = Buffer.allocUnsafe(CHUNK_BYTES);
		let used = 0;
		for (let r = 0; r < records.length; r++) {
			const record = records[r];
			let line = '';
			for (let i = 0; i < fields.length; i++) {
				line += (i === 0 ? '' : '\t') + writers[i](record[fields[i]]);
			}
			line += metaSuffix + copyJson(raws ? raws[r] : record, stats) + '\n';
			if (used + line.length * 3 > CHUNK_BYTES) {
				if (used > 0) yield buffer.subarray(0, used);
				buffer = Buffer.allocUnsafe(Math.max(CHUNK_BYTES, line.length * 3));
				used = 0;
			}
			used += buffer.write(line, used);
		}
		// Every row is encoded; the server is still digesting the last chunks: fetch ahead now.
		context.requestNextPage?.();
		if (used > 0) yield buffer.subarray(0, used);
	}

	const copy = client.query(copyFrom(`copy ${target} (${columnList.join(', ')}) from stdin with (format text)`));
	// A shallow buffer keeps serialisation just ahead of the server, so little of a page is left
	// for the server to chew on alone after the last chunk is written.
	await pipeline(Readable.from(chunks(), { objectMode: true, highWaterMark: 2 }), copy);
	return records.length;
}

/**
 * Inferred deletes: given every key the source still has, marks the stream's other rows
 * `_ipai_deleted_at = now()` and clears the mark on rows that came back. One transaction, under
 * the run's lease.
 */
export async function markMissingAsDeleted(
	pool: Pool,
	options: { connectorId: string; runId: string; table: TableRef; key: string[] },
	liveKeys: AsyncIterable<unknown[]> | Iterable<unknown[]>,
): Promise<{ deleted: number; restored: number; live: number }> {
	return inTransaction(pool, async (client) => {
		await client.query(`set local timezone = 'UTC'`);
		await holdLease(client, options.connectorId, options.runId);
		const shape = await describeTable(client, options.table);
		if (!shape) return { deleted: 0, restored: 0, live: 0 };
		const keyColumns = options.key.map(columnNameFor);
		if ((shape.key ?? []).join(',') !== keyColumns.join(',')) {
			throw new SchemaError(`${tableName(options.table)} is not keyed by (${keyColumns.join(', ')})`);
		}
		const live = quoteIdent(`_ipai_live_${process.pid}`);
		const target = tableName(options.table);
		const quoted = keyColumns.map(quoteIdent);
		await client.query(`create temporary table ${live} on commit drop as select ${quoted.join(', ')} from ${target} with no data`);
		const stats: SerializeStats = { nulReplaced: 0 };
		const writers = keyColumns.map((k) => copyFieldWriter(shape.columns.get(k) ?? 'text', stats));
		let count = 0;
		async function* lines(): AsyncGenerator<string> {
			let chunk = '';
			for await (const key of liveKeys) {
				count++;
				chunk += key.map((v, i) => writers[i](v)).join('\t') + '\n';
				if (chunk.length >= 262_144) {
					yield chunk;
					chunk = '';
				}
			}
			if (chunk.length > 0) yield chunk;
		}
		await pipeline(Readable.from(lines()), client.query(copyFrom(`copy ${live} from stdin with (format text)`)));
		await client.query(`create index on ${live} (${quoted.join(', ')})`);
		await client.query(`analyze ${live}`);
		const match = quoted.map((k) => `l.${k} = t.${k}`).join(' and ');
		const deleted = await client.query(
			`update ${target} t set ${META.deletedAt} = now(), ${META.runId} = $2
			  where t.${META.connectorId} = $1 and t.${META.deletedAt} is null
			    and not exists (select 1 from ${live} l where ${match})`,
			[options.connectorId, options.runId],
		);
		const restored = await client.query(
			`update ${target} t set ${META.deletedAt} = null, ${META.runId} = $2
			  where t.${META.connectorId} = $1 and t.${META.deletedAt} is not null
			    and exists (select 1 from ${live} l where ${match})`,
			[options.connectorId, options.runId],
		);
		return { deleted: deleted.rowCount ?? 0, restored: restored.rowCount ?? 0, live: count };
	});
}

// --- Bulk CSV: a source's own bytes straight into COPY ------------------------------------------

/**
 * Told when bytes the COPY sent have reached the kernel (and with them everything sent before),
 * so the reader of those bytes can reuse its buffers (lib/sources/files/recycle.ts).
 */
export interface CopyBufferTracker {
	flushed(piece: Buffer): void;
}

/**
 * A load whose rows are already CSV text (a CSV/TSV file): the loader prepares the table and the
 * transaction, and the caller streams the rows through COPY … (FORMAT csv) without a JavaScript
 * object per row or value; PostgreSQL does the casts. The connector, run, extraction time and a
 * `{}` _ipai_raw come from column DEFAULTs that read transaction-local settings, folded once per
 * COPY (migration 20261130003000), so rows carry only their data (and _ipai_raw where it is not `{}`).
 */
export interface CsvCopyOptions {
	connectorId: string;
	runId: string;
	stream: string;
	table: TableRef;
	/** As LoadOptions.origin. */
	origin?: string;
	/** Merge by these columns (through a staging table); omit to append. */
	key?: string[];
	/** The file's columns in the order each CSV row carries them, with their types. */
	columns: ColumnSpec[];
	/** The CSV dialect of the rows (single-byte delimiter and quote) and their encoding. */
	csv: { delimiter: string; quote: string; encoding: 'UTF8' | 'LATIN1' };
	/** Stream state committed with the rows (e.g. the files already loaded). */
	state?: Record<string, unknown>;
	extractedAt?: Date;
	/**
	 * The rows, called once the table exists with `shape`: each row is the data fields in
	 * `columns` order, then — when rowsCarryRaw — the delimiter and the _ipai_raw field (JSON as a
	 * CSV field); otherwise _ipai_raw is `{}` (a per-load DEFAULT) and the rows can be the file's
	 * bytes as they are. Throwing aborts the COPY and rolls everything back.
	 */
	rows: (context: { shape: TableShape }) => AsyncIterable<Buffer> | Iterable<Buffer>;
	rowsCarryRaw: boolean;
	/** Rows that do carry _ipai_raw, COPYed after `rows` (append loads only: order is not kept). */
	moreRows?: () => AsyncIterable<Buffer> | Iterable<Buffer>;
	/** Runs in the transaction after the rows are written (e.g. rejected rows, column comments). */
	afterWrite?: (client: ClientBase) => Promise<void>;
	/** Follows the buffers of `rows` to the socket, for a reader that reuses them. */
	tracker?: CopyBufferTracker;
	/** Rows are COPY text format (tab-separated, \N for NULL, backslash escapes; UTF-8) instead of `csv`. */
	textFormat?: boolean;
}

/** The metadata DEFAULTs a COPY load relies on (see CsvCopyOptions). */
const LOAD_DEFAULTS: Array<{ column: string; setting: string; expression: string }> = [
	{ column: META.connectorId, setting: 'ipai.load_connector_id', expression: `ipai_meta.load_setting_uuid('ipai.load_connector_id')` },
	{ column: META.runId, setting: 'ipai.load_run_id', expression: `ipai_meta.load_setting_uuid('ipai.load_run_id')` },
	{ column: META.extractedAt, setting: 'ipai.load_extracted_at', expression: `ipai_meta.load_setting_timestamptz('ipai.load_extracted_at')` },
	{ column: META.raw, setting: 'ipai.load_raw', expression: `ipai_meta.load_setting_jsonb('ipai.load_raw')` },
];

/**
 * Gives the table the metadata DEFAULTs unless it has them. A table made before this path existed
 * gets them once, in a short transaction of its own: ALTER … SET DEFAULT takes an ACCESS EXCLUSIVE
 * lock, which must not stay held (blocking every reader) for a whole load. The DEFAULTs are inert
 * outside a COPY load: unset, they yield NULL and the NOT NULL columns refuse the row as before.
 */
async function ensureLoadDefaults(client: ClientBase, table: TableRef): Promise<void> {
	const { rows } = await client.query<{ attname: string; expr: string | null }>(
		`select a.attname, pg_get_expr(d.adbin, d.adrelid) as expr
		   from pg_attribute a left join pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum
		  where a.attrelid = to_regclass($1) and a.attname = any($2::text[]) and not a.attisdropped`,
		[tableName(table), LOAD_DEFAULTS.map((d) => d.column)],
	);
	const missing = LOAD_DEFAULTS.filter((d) => !rows.some((r) => r.attname === d.column && r.expr?.includes(`'${d.setting}'`)));
	if (missing.length === 0) return;
	await client.query(`alter table ${tableName(table)} ${missing.map((d) => `alter column ${quoteIdent(d.column)} set default ${d.expression}`).join(', ')}`);
}

/** Drops a table's non-unique indexes and returns the statements that create them again. */
async function dropSecondaryIndexes(client: ClientBase, table: TableRef): Promise<string[]> {
	const { rows } = await client.query<{ name: string; definition: string }>(
		`select format('%I.%I', n.nspname, c.relname) as name, pg_get_indexdef(i.indexrelid) as definition
		   from pg_index i join pg_class c on c.oid = i.indexrelid join pg_namespace n on n.oid = c.relnamespace
		  where i.indrelid = to_regclass($1) and not i.indisunique`,
		[tableName(table)],
	);
	for (const index of rows) await client.query(`drop index ${index.name}`);
	return rows.map((r) => r.definition);
}

/**
 * One COPY of CSV rows into a bronze table in ONE transaction: prove the lease, create or evolve
 * the table for `columns`, COPY (into a staging table and merge, for a keyed load), run
 * afterWrite, add the counts to the run, commit the state. A row PostgreSQL cannot cast fails the
 * COPY with its SQLSTATE (class 22/23) and nothing is committed.
 */
export async function copyCsvStream(pool: Pool, options: CsvCopyOptions): Promise<LoadResult> {
	const keyColumns = options.key && options.key.length > 0 ? options.key.map(columnNameFor) : null;
	const ids = { connectorId: options.connectorId, runId: options.runId };
	const extractedAt = options.extractedAt ?? new Date();
	await inTransaction(pool, async (client) => {
		// Waits at most this long for readers to let go (then the error says so and nothing changed).
		await client.query(`set local lock_timeout = '10s'`);
		if (await describeTable(client, options.table)) await ensureLoadDefaults(client, options.table);
	});
	return copyCsvInTransaction(pool, options, keyColumns, ids, extractedAt).catch(async (error: unknown) => {
		await recordExpectationFailure(pool, error);
		throw error;
	});
}

async function copyCsvInTransaction(
	pool: Pool,
	options: CsvCopyOptions,
	keyColumns: string[] | null,
	ids: { connectorId: string; runId: string },
	extractedAt: Date,
): Promise<LoadResult> {
	return inTransaction(pool, async (client) => {
		await client.query(PAGE_SETTINGS);
		await holdLease(client, options.connectorId, options.runId);
		const changes: SchemaChange[] = [];
		let shape = await describeTable(client, options.table);
		if (!shape) {
			changes.push(...(await createTable(client, options.table, options.columns, options.key ?? null, ids)));
			// Created in this transaction (or by a concurrent one just now): no reader to block.
			await ensureLoadDefaults(client, options.table);
			shape = await describeTable(client, options.table);
			if (!shape) throw new SchemaError(`Could not create ${tableName(options.table)}`);
		}
		const context = { options: { table: options.table }, keyColumns } as LoadContext;
		assertSameKey(context, shape);
		if (needsEvolution(shape, options.columns)) {
			const evolved = await evolveTable(client, options.table, options.columns, ids);
			changes.push(...evolved.changes);
			shape = evolved.shape;
		}
		await client.query(`select ${LOAD_DEFAULTS.map((d, i) => `set_config('${d.setting}', $${i + 1}, true)`).join(', ')}`, [
			options.connectorId,
			options.runId,
			extractedAt.toISOString(),
			'{}',
		]);
		if (keyColumns && !options.rowsCarryRaw) throw new SchemaError('A keyed CSV load must carry _ipai_raw on every row (rows keep their order in one COPY)');

		const { delimiter, quote, encoding } = options.csv;
		const data = options.columns.map((c) => quoteIdent(columnNameFor(c.field)));
		// PostgreSQL's CSV rule: an unquoted empty field is NULL, a quoted one ("") the empty string.
		// Only a text column can hold the empty string; FORCE_NULL makes "" NULL in the others (the
		// caller keeps the "" in _ipai_raw). Parquet writes COPY's text format, which has its own NULL.
		const forceNull = options.columns.filter((c) => c.type !== 'text').map((c) => quoteIdent(columnNameFor(c.field)));
		const copyOptions = options.textFormat
			? `format text, encoding 'UTF8'`
			: `format csv, delimiter ${quoteLiteral(delimiter)}, quote ${quoteLiteral(quote)}, escape ${quoteLiteral(quote)}, ` +
				`null '', encoding ${quoteLiteral(encoding)}${forceNull.length > 0 ? `, force_null (${forceNull.join(', ')})` : ''}`;
		const target = tableName(options.table);
		const staging = quoteIdent(`_ipai_stage_csv_${process.pid}`);
		// Data quality's shared page step: with row-level expectations an append is staged too.
		const expectations = await rowExpectationsFor(client, options.table);
		const staged = keyColumns !== null || expectations !== null;
		if (staged) {
			await client.query(`create temporary table ${staging} (like ${target} including defaults) on commit drop`);
		}
		if (keyColumns) {
			// Arrival order, so the last version of a key in the file wins (as page by page).
			await client.query(`alter table ${staging} add column _ipai_ordinal bigint generated always as identity`);
		}
		const copyRows = async (rows: AsyncIterable<Buffer> | Iterable<Buffer>, withRaw: boolean, tracker?: CopyBufferTracker): Promise<number> => {
			const columnList = withRaw ? [...data, META.raw] : data;
			const copy = client.query(copyFrom(`copy ${staged ? staging : target} (${columnList.join(', ')}) from stdin with (${copyOptions})`));
			// A few chunks of read-ahead: the caller scans the next chunk while the server parses this one.
			const source = Readable.from(rows, { objectMode: true, highWaterMark: 4 });
			if (tracker) {
				// Each piece is written to the COPY on its 'data' event. Whenever the COPY stream has
				// passed everything on and pg's socket (not in its typings) holds nothing unsent, the
				// last piece written is in the kernel: checked before the next piece is written, and
				// when the COPY drains after the socket was full. (Reporting the previous piece, not
				// this one, holds whichever 'data' listener runs first; the source starts flowing on
				// the next tick, after pipeline() below has piped it.)
				const socket = (client as unknown as { connection?: { stream?: { writableLength?: unknown } } }).connection?.stream;
				let last: Buffer | null = null;
				const reportIfSent = (): void => {
					if (last && copy.writableLength === 0 && socket?.writableLength === 0) tracker.flushed(last);
				};
				source.on('data', (piece: Buffer) => {
					reportIfSent();
					last = piece;
				});
				copy.on('drain', reportIfSent);
			}
			await pipeline(source, copy);
			return copy.rowCount ?? 0;
		};
		// A table created by this transaction is seen by no one else yet: its secondary indexes are
		// built after the rows are in (one sort) rather than entry by entry (measured: the
		// (connector, run) index costs COPY +65% CPU when filled row by row, +18% built after).
		const deferred = changes.some((c) => c.action === 'create_table') ? await dropSecondaryIndexes(client, options.table) : [];
		let copied = await copyRows(options.rows({ shape }), options.rowsCarryRaw, options.tracker);
		if (options.moreRows) copied += await copyRows(options.moreRows(), true);
		for (const definition of deferred) await client.query(definition);
		let written = copied;
		let droppedBy: Record<string, number> | undefined;
		if (expectations) {
			if (keyColumns) {
				// One row per key, as a page is, before the checks: an earlier version of a key is
				// replaced within the file, not a row of its own to check.
				const conflict = [META.connectorId, ...keyColumns.map(quoteIdent)];
				await client.query(
					`delete from ${staging} s using ${staging} later
					  where (${conflict.map((c) => `later.${c}`).join(', ')}) = (${conflict.map((c) => `s.${c}`).join(', ')})
					    and later._ipai_ordinal > s._ipai_ordinal`,
				);
			}
			({ droppedBy } = (await enforcePageExpectations(
				client,
				{ table: options.table, staging, target, keyColumns, connectorId: options.connectorId, runId: options.runId, stream: options.stream, origin: options.origin },
				expectations,
			))!);
		}
		if (keyColumns) {
			written = await upsertFromStaging(client, target, staging, data, keyColumns, '_ipai_ordinal');
		} else if (staged) {
			written = await appendFromStaging(client, target, staging, data);
		}
		if (staged) await client.query(`drop table ${staging}`);
		if (options.afterWrite) await options.afterWrite(client);
		await addRunCounts(client, options.runId, copied, written);
		const progress: LoadProgress = { pages: 1, rowsRead: copied, rowsWritten: written, schemaChanges: changes, nulReplaced: 0 };
		addDrops(progress, droppedBy);
		if (options.state !== undefined) {
			await setStreamState(client, options.connectorId, options.stream, { state: options.state, runId: options.runId });
		}
		return progress;
	});
}
