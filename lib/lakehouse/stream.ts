/**
 * The source contract: a source is a set of streams. A stream names its bronze table, its key and
 * declared columns, carries its partition as data (a repository, a source table), and reads
 * pages from the cursor and state committed with its last page. `runStream` loads those pages
 * through the loader, so a page and the cursor it reaches commit in one transaction, then runs
 * the stream's `afterLoad` (e.g. an inferred-delete scan, acknowledging a replication position).
 *
 * `incrementalPages` is the one incremental reader: it owns the stored cursor's shape, the
 * lookback window, the composite (cursor, key) ordering that never skips rows sharing a cursor
 * value, and a full refresh by key that resumes after the last committed page.
 */
import type { Pool } from 'pg';
import { loadStream, type LoadResult, type Page } from './loader';
import { getStreamState } from './streamState';
import type { ColumnSpec, TableRef } from './tables';

export type JsonScalar = string | number | boolean | null;

export interface StreamRun {
	connectorId: string;
	runId: string;
}

export interface StreamReadContext extends StreamRun {
	/** The cursor committed with the stream's last page (null on its first run). */
	cursor: unknown;
	/** The state object committed with the stream's last page ({} on its first run). */
	state: Record<string, unknown>;
}

export interface StreamAfterLoadContext extends StreamReadContext {
	result: LoadResult;
}

export interface Stream {
	/** What the stream is (e.g. a source table name); with the partition, its state key. */
	name: string;
	/** Which slice of the source this stream reads (e.g. { repository: 'acme/app' }), as data. */
	partition?: Readonly<Record<string, string>>;
	table: TableRef;
	/** Source fields that identify a record (merge by them); omit for an append-only stream. */
	key?: string[];
	/** Declared field types (win over inference). */
	columns?: ColumnSpec[];
	/** All pages in one transaction (a stream that cannot resume half way, e.g. an append-only full copy). */
	atomic?: boolean;
	/** The table, when the load creates it, lets _ipai_raw be NULL (TableOptions.rawOptional). */
	rawOptional?: boolean;
	/** Pages to load; each page's cursor/state is committed with its rows. */
	read(context: StreamReadContext): AsyncIterable<Page>;
	/** Runs once every page is committed (reads the state as the last page left it). */
	afterLoad?(context: StreamAfterLoadContext): Promise<void>;
}

/** Where a stream's cursor lives in ipai_connector_state: `name`, or `name:value/value` per partition field in key order. */
export function streamStateKey(stream: Pick<Stream, 'name' | 'partition'>): string {
	const partition = stream.partition ?? {};
	const fields = Object.keys(partition).sort();
	return fields.length === 0 ? stream.name : `${stream.name}:${fields.map((f) => partition[f]).join('/')}`;
}

export interface StreamLoadOptions {
	onPage?: (progress: LoadResult) => void;
}

/** Reads and loads one stream under a run: pages commit with their cursor; afterLoad runs after the last. */
export async function runStream(pool: Pool, run: StreamRun, stream: Stream, options: StreamLoadOptions = {}): Promise<LoadResult> {
	const key = streamStateKey(stream);
	const stored = await getStreamState(pool, run.connectorId, key);
	const context: StreamReadContext = { ...run, cursor: stored.cursor, state: stored.state };
	const result = await loadStream(pool, stream.read(context), {
		...run,
		stream: key,
		table: stream.table,
		key: stream.key,
		columns: stream.columns,
		atomic: stream.atomic,
		rawOptional: stream.rawOptional,
		onPage: options.onPage,
	});
	if (stream.afterLoad) {
		const after = await getStreamState(pool, run.connectorId, key);
		await stream.afterLoad({ ...run, cursor: after.cursor, state: after.state, result });
	}
	return result;
}

// --- The incremental helper ----------------------------------------------------------------

/** A row's place in (cursor, key) order. Values are JSON scalars (exact text for timestamps and big numbers). */
export interface Position {
	cursor: JsonScalar[];
	key: JsonScalar[];
}

/** The cursor an incremental or full stream commits with each page. */
export interface IncrementalCursor {
	/** The last (cursor, key) loaded by incremental reads. */
	position?: Position | null;
	/** A full refresh in progress: the last key committed, and the cursor to continue from once it ends. */
	full?: { after: JsonScalar[] | null; highWater: JsonScalar[] | null; startedAt: string } | null;
	/** When the last full refresh finished. */
	fullCompletedAt?: string;
	/**
	 * The first incremental pass reading the rows whose cursor is NULL (by key, before the others):
	 * the last key committed. Null or absent once that pass is over.
	 */
	nulls?: { after: JsonScalar[] | null } | null;
}

/**
 * What the source is asked for: one page, in key order (a full refresh), in key order among the
 * rows with a NULL in any cursor column (`null-cursor`), or in (cursor, key) order among the rows
 * whose cursor columns are all non-NULL (`cursor`: a NULL has no place in that order).
 */
export type PageRequest =
	| { order: 'key'; afterKey: JsonScalar[] | null; limit: number }
	| { order: 'null-cursor'; afterKey: JsonScalar[] | null; limit: number }
	| {
			order: 'cursor';
			/** Rows strictly after this position (later pages of a run). */
			after: Position | null;
			/** The first page of a run: rows whose cursor is at least this value minus the lookback. */
			from: JsonScalar[] | null;
			/** How far before `from` to start (late commits); the source applies it in its own type. */
			lookback: number;
			limit: number;
	  };

export interface IncrementalSpec<R> {
	/** `full` re-reads the whole source by key (resuming a refresh left half done); `incremental` reads by cursor. */
	mode: 'full' | 'incremental';
	/** The stored cursor (StreamReadContext.cursor). */
	stored: unknown;
	pageSize: number;
	/** Lookback in the cursor's own unit (seconds for time cursors); 0 for none. */
	lookback?: number;
	fetch(request: PageRequest): Promise<R[]>;
	keyOf(row: R): JsonScalar[];
	/** Incremental streams: the row's cursor value(s). */
	cursorOf?(row: R): JsonScalar[];
	/**
	 * Incremental streams whose cursor can be NULL: a stream's first run (no stored cursor) reads
	 * the NULL-cursor rows by key before the others, so it loads every row.
	 */
	nullCursorsFirst?: boolean;
	/** A full refresh of a stream with a cursor: the largest cursor before it starts (later changes are read by the next incremental run). */
	highWater?(): Promise<JsonScalar[] | null>;
	/** Turns rows into a page (without its cursor). */
	toPage(rows: R[]): Omit<Page, 'cursor'>;
	/** Now, for the timestamps in the cursor (tests). */
	now?: () => Date;
}

export class CursorError extends Error {}

/** Reads a stored cursor, refusing one that another kind of stream wrote (a changed config). */
export function parseIncrementalCursor(stored: unknown): IncrementalCursor {
	if (stored === null || stored === undefined) return {};
	if (typeof stored !== 'object' || Array.isArray(stored)) {
		throw new CursorError(`The stored cursor ${JSON.stringify(stored)} is not an incremental cursor; reset the stream's state to re-sync it`);
	}
	const cursor = stored as IncrementalCursor;
	const scalars = (v: unknown) => Array.isArray(v) && v.every((e) => e === null || ['string', 'number', 'boolean'].includes(typeof e));
	if (cursor.position && !(scalars(cursor.position.cursor) && scalars(cursor.position.key))) {
		throw new CursorError(`The stored cursor position ${JSON.stringify(cursor.position)} is malformed; reset the stream's state to re-sync it`);
	}
	return cursor;
}

type FullRefresh = NonNullable<IncrementalCursor['full']>;

/** The full refresh a stored cursor left half done (to resume after its last key), or a new one. */
export async function fullRefresh(stored: IncrementalCursor, highWater: (() => Promise<JsonScalar[] | null>) | undefined, now: () => Date): Promise<FullRefresh> {
	return stored.full ?? { after: null, highWater: highWater ? await highWater() : null, startedAt: now().toISOString() };
}

/**
 * The cursor a full-refresh page commits: the last key it loaded, or for the page that ends the
 * refresh, the position incremental reads continue from (the high-water mark taken before it began).
 */
export function fullPageCursor(stored: IncrementalCursor, full: FullRefresh, after: JsonScalar[] | null, last: boolean, now: () => Date): IncrementalCursor {
	if (!last) return { ...stored, full: { ...full, after } };
	const position: Position | null = full.highWater ? { cursor: full.highWater, key: [] } : (stored.position ?? null);
	return { position, full: null, fullCompletedAt: now().toISOString() };
}

/**
 * Pages of an incremental or full stream, each carrying the cursor it reaches:
 * - incremental: the first page starts at the stored cursor minus the lookback (re-reading late
 *   commits; merging by key makes that harmless), later pages strictly after the last (cursor, key)
 *   read, so rows sharing one cursor value are never skipped whatever the page size; on a stream's
 *   first run (with `nullCursorsFirst`) the rows whose cursor is NULL come first, by key;
 * - full: pages by key after the last committed key; a refresh interrupted by a crash resumes
 *   there; when it ends the cursor moves to the high-water mark taken before it began.
 */
export async function* incrementalPages<R>(spec: IncrementalSpec<R>): AsyncGenerator<Page> {
	const stored = parseIncrementalCursor(spec.stored);
	const now = spec.now ?? (() => new Date());
	const limit = Math.max(1, Math.floor(spec.pageSize));
	if (spec.mode === 'full' || stored.full) {
		const full = await fullRefresh(stored, spec.highWater, now);
		let after = full.after;
		for (;;) {
			const rows = await spec.fetch({ order: 'key', afterKey: after, limit });
			if (rows.length > 0) after = spec.keyOf(rows[rows.length - 1]);
			const last = rows.length < limit;
			yield { ...spec.toPage(rows), cursor: fullPageCursor(stored, full, after, last, now) };
			if (last) return;
		}
	}
	if (!spec.cursorOf) throw new CursorError('An incremental stream needs a cursor');
	let base: IncrementalCursor = stored;
	// No stored cursor at all: the stream's first run. A pass over NULL cursors left half done resumes.
	const firstRun = spec.stored === null || spec.stored === undefined;
	if (spec.nullCursorsFirst && (firstRun || stored.nulls)) {
		let afterKey = stored.nulls?.after ?? null;
		for (;;) {
			const rows = await spec.fetch({ order: 'null-cursor', afterKey, limit });
			if (rows.length > 0) afterKey = spec.keyOf(rows[rows.length - 1]);
			if (rows.length < limit) {
				base = { ...stored, position: stored.position ?? null, nulls: null };
				yield { ...spec.toPage(rows), cursor: base satisfies IncrementalCursor };
				break;
			}
			yield { ...spec.toPage(rows), cursor: { ...stored, nulls: { after: afterKey } } satisfies IncrementalCursor };
		}
	}
	let after: Position | null = null;
	const from = base.position?.cursor ?? null;
	for (;;) {
		const rows = await spec.fetch({ order: 'cursor', after, from: after ? null : from, lookback: spec.lookback ?? 0, limit });
		if (rows.length > 0) {
			const last = rows[rows.length - 1];
			after = { cursor: spec.cursorOf(last), key: spec.keyOf(last) };
		}
		const position = after ?? base.position ?? null;
		yield { ...spec.toPage(rows), cursor: { ...base, position } satisfies IncrementalCursor };
		if (rows.length < limit) return;
	}
}
