/**
 * The COPY path of a full table: each keyset page leaves the source as its own COPY text (the
 * same text a row read selects, in the run's snapshot) and goes straight into a COPY into a
 * staging table of text columns in the lakehouse — no row becomes a JavaScript value. In the
 * page's transaction the lakehouse casts that text to the bronze types (and, for a table with
 * `raw: true`, builds _ipai_raw from it in SQL; otherwise it stays NULL: rawRecord.ts), giving
 * every column and _ipai_raw the values the row path gives the same row; then
 * the loaders' shared page step runs (data-quality expectations, merge by key only rewriting rows
 * that changed), the run's counts, and the cursor: the last key of the page, read from the staged
 * rows themselves. The cursor has the row path's shape, so either path resumes the other's run.
 *
 * Tables this path cannot take load through the row path (streams.ts): see `copyEligibility`,
 * PgReadView.copyPage, and the Fallback signal below (a page found unfit is rolled back and the row
 * path resumes from the cursor of the last page committed).
 */
import { pipeline } from 'node:stream/promises';
import type { ClientBase, Pool, PoolClient } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { sqlTypeName } from '../../lakehouse/columnTypes';
import type { LoadResult } from '../../lakehouse/loader';
import { addDrops, appendFromStaging, assertSameKey, holdsRowsOf, needsEvolution, PAGE_SETTINGS, recordExpectationFailure, upsertFromStaging } from '../../lakehouse/pageWrite';
import { addRunCounts, holdLease } from '../../lakehouse/runs';
import { quoteIdent, quoteLiteral } from '../../lakehouse/sql';
import { fullPageCursor, fullRefresh, parseIncrementalCursor, type JsonScalar, type StreamRun } from '../../lakehouse/stream';
import { getStreamState, setStreamState } from '../../lakehouse/streamState';
import { columnNameFor, createTable, describeTable, evolveTable, META, SchemaError, tableName, type SchemaChange } from '../../lakehouse/tables';
import { enforcePageExpectations, rowExpectationsFor } from '../../dq/enforce';
import type { DbCopyPage, DbReadView, DbTextKind } from './engine';
import { copyDirect, directReason, Fallback, finishDirect, prepareDirect, widenedColumns, type DirectPage } from './copyDirect';
import { keepsRaw } from './rawRecord';
import type { DbTablePlan } from './streams';

export interface CopyFullOptions {
	pool: Pool;
	run: StreamRun;
	pageSize: number;
	view: DbReadView;
	now?: () => Date;
}

/** What a COPY-path load did; `fallback` says why the rest of the table must go through the row path. */
export interface CopyFullResult {
	load: LoadResult;
	/** The refresh ended (every page committed). */
	ended: boolean;
	/** No refresh of the table had ended before this run (its first load: nothing to mark deleted). */
	firstLoad: boolean;
	/** Pages COPYed straight into bronze (copyDirect.ts) rather than staged and merged. */
	directPages: number;
	fallback?: string;
}

/**
 * Why this table cannot go through the COPY path (null: it can). Only full reads of keyed tables
 * by an engine that offers copyPage; a key read as plain text (copyPage says so), so that the
 * COPY's literal bound and the stored cursor are the row path's.
 */
export function copyEligibility(plan: DbTablePlan, view: DbReadView): string | null {
	if (!plan.key) return 'no key: the table loads as one append-only copy';
	if (!view.copyPage) return 'the engine has no COPY read';
	return null;
}

/**
 * Loads a full table page by page through the COPY path, resuming the refresh its stored cursor
 * left half done. Two pages are in flight: while one page merges, the next is already copied from
 * the source into its own transaction's staging table; it merges only once the page before it has
 * committed (so cursors commit in order and never pass a page that failed).
 */
export async function copyFullTable(plan: DbTablePlan, options: CopyFullOptions): Promise<CopyFullResult> {
	const { pool, run } = options;
	const now = options.now ?? (() => new Date());
	const limit = Math.max(1, Math.floor(options.pageSize));
	const stored = parseIncrementalCursor((await getStreamState(pool, run.connectorId, plan.stream)).cursor);
	const firstLoad = !stored.fullCompletedAt && !stored.position;
	const full = await fullRefresh(stored, plan.read.cursor ? () => options.view.maxCursor(plan.read) : undefined, now);
	const load: LoadResult = { pages: 0, rowsRead: 0, rowsWritten: 0, schemaChanges: [], nulReplaced: 0 };
	let after = full.after;
	// A refresh that starts while bronze holds no row of this connector only inserts: its pages
	// cover disjoint key ranges and the lease keeps every other run of the connector out.
	const fresh = { known: full.after !== null, value: false };
	let previous: Promise<PageOutcome> | null = null;
	let fallback: string | undefined;
	let failure: unknown;
	// Each page's outcome is counted once, by whoever waits for it first.
	const settled = new Map<Promise<PageOutcome>, Promise<boolean>>();
	const settle = (merging: Promise<PageOutcome>): Promise<boolean> => {
		if (!settled.has(merging)) settled.set(merging, count(merging));
		return settled.get(merging)!;
	};
	const count = async (merging: Promise<PageOutcome>): Promise<boolean> => {
		try {
			const outcome = await merging;
			load.pages++;
			load.rowsRead += outcome.rows;
			load.rowsWritten += outcome.written;
			load.schemaChanges.push(...outcome.changes);
			addDrops(load, outcome.droppedBy);
			if (outcome.direct) directPages++;
			return true;
		} catch (error) {
			if (error instanceof Fallback) fallback ??= error.message;
			else failure ??= error;
			return false;
		}
	};
	let ended = false;
	let directPages = 0;
	// A refresh that is not resumed may go straight into bronze (copyDirect.ts), decided at its first page.
	let direct: boolean | null = full.after === null ? null : false;
	for (;;) {
		const page = options.view.copyPage!(plan.read, after, limit);
		if (typeof page === 'string') {
			fallback ??= page;
			if (previous) await settle(previous);
			break;
		}
		const client = await pool.connect();
		let staged: Staged | DirectPage;
		try {
			direct ??= directReason(plan, page.columns) === null && (await prepareDirect(pool, plan, run));
			await client.query('begin');
			staged = direct ? await copyDirect(client, plan, page, { first: previous === null, run, extractedAt: now() }) : await stagePage(client, plan, page);
		} catch (error) {
			await release(client, false);
			if (previous) await settle(previous);
			failure ??= error;
			break;
		}
		const before = previous;
		const cursor = fullPageCursor(stored, full, staged.last ?? after, staged.rows < limit, now);
		const merging = (async (): Promise<PageOutcome> => {
			// The page before must have committed: this page's cursor follows it.
			const ok = before ? await settle(before) : true;
			if (!ok) {
				await release(client, false);
				throw new PageSkipped();
			}
			try {
				const outcome: PageOutcome = staged.direct ? await finishDirectPage(client, plan, staged, run, cursor) : await mergePage(client, plan, staged, options, cursor, fresh);
				await client.query('commit');
				await release(client, true);
				return outcome;
			} catch (error) {
				await release(client, false);
				throw error;
			}
		})();
		merging.catch(() => undefined);
		previous = merging;
		if (staged.rows < limit) {
			ended = await settle(merging);
			break;
		}
		after = staged.last;
		// The next page's COPY goes into the table this page creates: it must see it committed.
		if (staged.direct && staged.creates && !(await settle(merging))) break;
		// At most two pages in flight: this one merging, the next one copying.
		if (before && !(await settle(before))) {
			await settle(merging);
			break;
		}
	}
	if (failure !== undefined && !(failure instanceof PageSkipped)) {
		await recordExpectationFailure(pool, failure);
		throw failure;
	}
	return { load, ended: ended && fallback === undefined, firstLoad, directPages, ...(fallback !== undefined ? { fallback } : {}) };
}

/** A page not merged because the page before it failed (that failure is the one reported). */
class PageSkipped extends Error {}

/** Ends a page's transaction and gives its connection back (destroyed if the rollback failed). */
async function release(client: PoolClient, committed: boolean): Promise<void> {
	let broken = false;
	if (!committed) await client.query('rollback').catch(() => (broken = true));
	client.release(broken);
}

interface PageOutcome {
	rows: number;
	written: number;
	changes: SchemaChange[];
	droppedBy?: Record<string, number>;
	direct?: boolean;
}

interface Staged {
	direct: false;
	text: string;
	columns: Array<{ name: string; kind: DbTextKind; staged: string }>;
	rows: number;
	/** The page's last key as the source's text (the next page starts after it). */
	last: JsonScalar[] | null;
	/** Why the row path must take this page (it is rolled back), or null. */
	fallback: string | null;
}

/** Copies a page from the source into a staging table of text columns, in the page's transaction. */
async function stagePage(client: ClientBase, plan: DbTablePlan, page: DbCopyPage): Promise<Staged> {
	const text = quoteIdent(`_ipai_stage_db_${process.pid}`);
	const columns = page.columns.map((c, i) => ({ ...c, staged: `c${i}` }));
	await client.query(
		`create temporary table ${text} (${columns.map((c) => `${c.staged} text`).join(', ')}, _ipai_ordinal bigint generated always as identity) on commit drop`,
	);
	const copy = client.query(copyFrom(`copy ${text} (${columns.map((c) => c.staged).join(', ')}) from stdin`));
	const source = page.open();
	let sourceFailed: unknown;
	source.once('error', (error) => (sourceFailed ??= error));
	await pipeline(source, copy).catch((error: unknown) => {
		throw sourceFailed !== undefined ? page.explain(sourceFailed) : error;
	});
	const rows = copy.rowCount ?? 0;
	const byName = new Map(columns.map((c) => [c.name, c]));
	const keyStaged = plan.key!.map((k) => byName.get(k)!.staged);
	const arrays = columns.filter((c) => c.kind === 'json-array');
	const { rows: facts } = await client.query<{ last: string[] | null; empty_key: boolean | null; nested: boolean | null }>(
		`select (select array[${keyStaged.join(', ')}] from ${text} order by _ipai_ordinal desc limit 1) as last,
		        bool_or(${keyStaged.map((k) => `${k} is null or ${k} = ''`).join(' or ')}) as empty_key,
		        ${arrays.length > 0 ? `bool_or(${arrays.map((c) => `${c.staged} like '[[%'`).join(' or ')})` : 'false'} as nested
		   from ${text}`,
	);
	if (facts[0].empty_key) throw new SchemaError(`A row of ${plan.stream} has no value for key field(s) ${plan.key!.join(', ')}`);
	// The row path keeps a multidimensional array's inner arrays as JSON text elements, which no
	// cast of the staged text reproduces exactly: from this page on, the row path loads the table.
	const fallback = facts[0].nested ? 'an array column holds multidimensional arrays' : null;
	return { direct: false, text, columns, rows, last: facts[0].last, fallback };
}

/** Merges a staged page into bronze and commits its counts and cursor with it (see the file's comment). */
async function mergePage(
	client: ClientBase,
	plan: DbTablePlan,
	page: Staged,
	options: CopyFullOptions,
	cursor: unknown,
	fresh: { known: boolean; value: boolean },
): Promise<PageOutcome> {
	const { run } = options;
	if (page.fallback) throw new Fallback(page.fallback);
	await client.query(PAGE_SETTINGS);
	// A page's statements run once over a staging table the planner knows nothing about: JIT
	// compiling them would cost more than running them.
	await client.query(`set local jit = off`);
	await holdLease(client, run.connectorId, run.runId);
	if (page.rows === 0) {
		// As a page without records: no table made for nothing, only the cursor moves.
		await setStreamState(client, run.connectorId, plan.stream, { cursor, runId: run.runId });
		return { rows: 0, written: 0, changes: [] };
	}
	const changes: SchemaChange[] = [];
	const ids = { connectorId: run.connectorId, runId: run.runId };
	let shape = await describeTable(client, plan.target);
	if (!shape) {
		changes.push(...(await createTable(client, plan.target, plan.columns, plan.key, ids, { rawOptional: true })));
		shape = await describeTable(client, plan.target);
		if (!shape) throw new SchemaError(`Could not create ${tableName(plan.target)}`);
	}
	const keyColumns = plan.key!.map(columnNameFor);
	assertSameKey(plan.target, keyColumns, shape);
	if (needsEvolution(shape, plan.columns)) {
		const evolved = await evolveTable(client, plan.target, plan.columns, ids);
		changes.push(...evolved.changes);
		shape = evolved.shape;
	}
	// The row path writes a value as its column's *current* type takes it (e.g. a column widened
	// to text by earlier data holds JSON text of an array); the casts below only know the mapped type.
	const widened = widenedColumns(plan, shape);
	if (widened.length > 0) throw new Fallback(`bronze column(s) ${widened.join(', ')} no longer have their mapped type`);

	const { text, columns, rows } = page;
	const target = tableName(plan.target);
	const data = plan.columns.map((c) => quoteIdent(columnNameFor(c.field)));
	const extractedAt = (options.now?.() ?? new Date()).toISOString();
	const types = new Map(plan.columns.map((c) => [c.field, c.type]));
	const select =
		`select ${columns.map((c) => `${bronzeValue(`s.${c.staged}`, c.kind, types.get(c.name)!)} as ${quoteIdent(columnNameFor(c.name))}`).join(', ')},
		        ${quoteLiteral(run.connectorId)}::uuid as ${META.connectorId}, ${quoteLiteral(run.runId)}::uuid as ${META.runId},
		        ${quoteLiteral(extractedAt)}::timestamptz as ${META.extractedAt}, null::timestamptz as ${META.deletedAt},
		        ${keepsRaw(plan) ? 'to_jsonb(r)' : 'null::jsonb'} as ${META.raw}, s._ipai_ordinal
		   from ${text} s${keepsRaw(plan) ? ` cross join lateral (select ${columns.map((c) => `${rawValue(`s.${c.staged}`, c.kind)} as ${quoteIdent(c.name)}`).join(', ')}) r` : ''}`;
	// Data quality's shared page step checks (and may drop) staged rows of the table's own types.
	const expectations = await rowExpectationsFor(client, plan.target);
	const staged = quoteIdent(`_ipai_stage_dbt_${process.pid}`);
	let droppedBy: Record<string, number> | undefined;
	if (expectations) {
		await client.query(`create temporary table ${staged} on commit drop as ${select}`);
		({ droppedBy } = (await enforcePageExpectations(
			client,
			{ table: plan.target, staging: staged, target, keyColumns, connectorId: run.connectorId, runId: run.runId, stream: plan.stream, origin: plan.stream, rows },
			expectations,
		))!);
	} else {
		await client.query(`create temporary view ${staged} as ${select}`);
	}
	// A configured key need not be unique at the source: the last row of a key in the page wins, as in the row path.
	const unique = plan.key!.join(',') === (plan.info.primaryKey ?? []).join(',');
	if (!fresh.known) {
		fresh.known = true;
		fresh.value = !(await holdsRowsOf(client, target, run.connectorId));
	}
	// Nothing to merge with: a plain insert (a row already there would fail it on the primary key, never be lost).
	const written =
		fresh.value && unique
			? await appendFromStaging(client, target, staged, data)
			: await upsertFromStaging(client, target, staged, data, keyColumns, unique ? undefined : '_ipai_ordinal');
	await client.query(expectations ? `drop table ${staged}, ${text}` : `drop view ${staged}; drop table ${text}`);
	await addRunCounts(client, run.runId, rows, written);
	await setStreamState(client, run.connectorId, plan.stream, { cursor, runId: run.runId });
	return { rows, written, changes, droppedBy };
}

/** A direct page's outcome once finished (copyDirect.ts): every row it read was written. */
async function finishDirectPage(client: ClientBase, plan: DbTablePlan, page: DirectPage, run: StreamRun, cursor: unknown): Promise<PageOutcome> {
	await finishDirect(client, plan, page, run, cursor);
	return { rows: page.rows, written: page.rows, changes: page.changes, direct: true };
}

/**
 * The column's value from the staged text, as the row path writes it: the text read into the
 * bronze type (the row path sends that same text through COPY), booleans from true/false, JSON
 * with a \u0000 escape (json, unlike jsonb, holds one) turned into U+FFFD as toJson does, a JSON
 * array of text elements as the array of those elements.
 */
function bronzeValue(staged: string, kind: DbTextKind, type: Parameters<typeof sqlTypeName>[0]): string {
	switch (kind) {
		case 'text':
			return type === 'text' ? staged : `${staged}::${sqlTypeName(type)}`;
		case 'boolean':
			return `${staged}::boolean`;
		case 'json':
			return jsonValue(staged);
		case 'json-array':
			return `case when ${staged} is not null then array(select e from jsonb_array_elements_text(${staged}::jsonb) with ordinality a(e, n) order by n)::${sqlTypeName(type)} end`;
	}
}

function jsonValue(staged: string): string {
	return `(case when strpos(${staged}, '\\u0000') > 0 then regexp_replace(${staged}, '(?<!\\\\)((?:\\\\\\\\)*)\\\\u0000', '\\1\\\\ufffd', 'g') else ${staged} end)::jsonb`;
}

/**
 * The field of the row _ipai_raw is made from (to_jsonb of that row) holding a column's value as
 * the row path's raw record does: text as a JSON string, a boolean, or the JSON itself.
 */
function rawValue(staged: string, kind: DbTextKind): string {
	switch (kind) {
		case 'text':
			return staged;
		case 'boolean':
			return `${staged}::boolean`;
		case 'json':
			return jsonValue(staged);
		case 'json-array':
			return `${staged}::jsonb`;
	}
}
