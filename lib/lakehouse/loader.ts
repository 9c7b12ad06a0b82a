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
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ClientBase, Pool, PoolClient } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { newColumnType, type ColumnType } from './columnTypes';
import { copyFieldWriter, ExactNumber, copyJson, type SerializeStats } from './copyText';
import { inTransaction } from './connection';
import { addDrops, appendFromStaging, assertSameKey, needsEvolution, PAGE_SETTINGS, recordExpectationFailure, upsertFromStaging } from './pageWrite';
import { Prefetcher } from './prefetch';
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
				changes.push(...(await createTable(client, options.table, all, options.key ?? null, ids, { rawOptional: options.rawOptional })));
				context.shape = await describeTable(client, options.table);
				if (!context.shape) throw new SchemaError(`Could not create ${tableName(options.table)}`);
			}
			assertSameKey(context.options.table, context.keyColumns, context.shape);
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

const CHUNK_BYTES = 256 * 1024;

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
			let line = fields.length > 0 ? writers[0](record[fields[0]]) : '';
			for (let i = 1; i < fields.length; i++) line += '\t' + writers[i](record[fields[i]]);
			line += metaSuffix;
			// The raw record's JSON (most of a row's bytes) goes into the buffer on its own rather
			// than being concatenated into the line and copied once more when the line is flattened.
			const source = raws ? raws[r] : record;
			const raw = source === undefined ? '\\N' : copyJson(source, stats);
			const most = (line.length + raw.length + 1) * 3;
			if (used + most > CHUNK_BYTES) {
				if (used > 0) yield buffer.subarray(0, used);
				buffer = Buffer.allocUnsafe(Math.max(CHUNK_BYTES, most));
				used = 0;
			}
			used += buffer.write(line, used);
			used += buffer.write(raw, used);
			buffer[used++] = 0x0a; // newline
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

