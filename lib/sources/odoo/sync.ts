/**
 * Syncs Odoo models into bronze, incrementally by write_date.
 *
 * Why it pages the way it does (see ../../../../shared/reference/connectors.md §1.3 and the Odoo
 * simulator): write_date is the transaction's START time, stored with sub-second precision but
 * sent with whole seconds, and a long transaction can commit after a sync has passed its
 * write_date. So:
 *   - incremental reads use `write_date >= cursor − overlap` (never equality on write_date);
 *   - pages are ordered `write_date asc, id asc`; the next page starts again at the last page's
 *     last whole second (re-reading that second: merging by id makes it harmless), and a second
 *     holding more than a page of records is drained by id within [second, second + 1s);
 *   - the cursor checkpointed with each page is that page's last whole second, so it never runs
 *     ahead of loaded data;
 *   - a full sync pages by id with a high-water mark captured before it starts; killed midway it
 *     resumes after the last loaded id; at its end the cursor becomes that high-water mark.
 * `active_test: false` brings archived records along (archived is not deleted); `lang` is pinned.
 * Deletes: Odoo hard-deletes, so an id-only scan (same domain) marks vanished rows
 * `_ipai_deleted_at`, at a configurable cadence.
 */
import type { Pool } from 'pg';
import { markMissingAsDeleted } from '../../lakehouse/inferredDeletes';
import { loadStream, type LoadResult, type Page } from '../../lakehouse/loader';
import { getStreamState, setStreamState } from '../../lakehouse/streamState';
import type { TableRef } from '../../lakehouse/tables';
import { BronzeIndex, chunks, ID_BATCH } from './bronzeIndex';
import type { OdooClient } from './client';
import { OdooError } from './errors';
import { mapRecord, planColumns, planFields, type FieldSelection } from './fields';
import { tableNameFor, withPresetFields } from './presets';
import { fieldsOf, inOrder, type Domain } from './read';

export interface ModelSyncOptions extends FieldSelection {
	model: string;
	/** Extra filter, in Odoo's domain notation; deletes are inferred within it too. */
	domain?: Domain;
	mode?: 'incremental' | 'full';
	pageSize?: number;
	/** Page requests in flight ahead of the loader (default 2). */
	fetchAhead?: number;
	/** Local clock in ms (tests); only elapsed time is used, never compared with Odoo's. */
	clock?: () => number;
	/** How far before the cursor each incremental read starts (late commits). Default 600 s. */
	overlapSeconds?: number;
	lang?: string;
	/** Run the id-only delete scan when the last one is older than this; 0 = every run; null = never. */
	deleteScanEveryHours?: number | null;
	table?: TableRef;
	onProgress?: (progress: LoadResult & { model: string }) => void;
}

export interface ModelSyncResult {
	model: string;
	table: string;
	mode: 'incremental' | 'full';
	rowsRead: number;
	rowsWritten: number;
	/** Incremental runs: [id, write_date] pairs compared with bronze (only differing ones are read in full). */
	rowsChecked: number | null;
	pages: number;
	deleted: number | null;
	/** Rows marked deleted that Odoo has again, now live (and reloaded) in bronze. */
	restored: number;
	/** Id scans: ids Odoo has that bronze lacked (e.g. a create committed after the overlap window), now loaded. */
	repaired: number | null;
	cursor: string | null;
	schemaChanges: number;
	nulReplaced: number;
}

interface Cursor {
	write_date?: string;
	/** While a full sync is in progress: the last id loaded and the high-water mark to finish at. */
	full?: { after_id: number; high_water: string | null };
}

const DEFAULT_PAGE = 2000;
const DEFAULT_AHEAD = 2;
const DEFAULT_MODEL_CONCURRENCY = 2;
/** [id, write_date] pairs per light read of the incremental window (~60 bytes each as JSON). */
const LIGHT_PAGE = 50_000;

export async function syncModel(pool: Pool, odoo: OdooClient, run: { connectorId: string; runId: string }, options: ModelSyncOptions): Promise<ModelSyncResult> {
	const model = options.model;
	const fieldsGet = await fieldsOf(odoo, model);
	const plans = planFields(fieldsGet, withPresetFields(model, fieldsGet, options));
	if (!plans.some((p) => p.field === 'write_date')) throw new OdooError('invalid', `Odoo model "${model}" has no write_date field, so it cannot be synced incrementally`, { model });
	const table = options.table ?? { schema: 'ipai_bronze_erp', name: tableNameFor(model) };
	const context = { active_test: false, lang: options.lang ?? 'en_US' };
	const fields = plans.map((p) => p.field);
	const pageSize = Math.max(1, options.pageSize ?? DEFAULT_PAGE);
	const ahead = Math.max(1, options.fetchAhead ?? DEFAULT_AHEAD);
	const domain = options.domain ?? [];

	const stored = await getStreamState(pool, run.connectorId, model);
	const cursor = (stored.cursor ?? {}) as Cursor;
	const resumeFull = cursor.full !== undefined;
	const mode: 'incremental' | 'full' = options.mode === 'full' || resumeFull || !cursor.write_date ? 'full' : 'incremental';
	let restored = 0;
	let checked = 0;
	const now = options.clock ?? Date.now;
	const runStarted = now();
	// write_date has whole seconds and is the transaction's start: a record written twice in one
	// second (or by a transaction that started in the same second as the copy bronze holds, and
	// committed later) shows the same write_date. So a copy is trusted only when it was read at
	// least the overlap window after its write_date on Odoo's clock — the window's own assumption
	// about how long a transaction stays open. `verified_through`: every copy whose write_date is
	// at or before it was read that late. Odoo's clock is bounded from below by what a read
	// returns (nothing newer than Odoo's now), so only elapsed local time is used, never
	// compared with Odoo's time directly.
	const overlapMs = (options.overlapSeconds ?? 600) * 1000;
	const verified = typeof stored.state.verified_through === 'string' ? stored.state.verified_through : null;
	let offset = typeof stored.state.clock_offset_ms === 'number' ? stored.state.clock_offset_ms : Number.NEGATIVE_INFINITY;
	const observe = (records: Array<Record<string, unknown>>) => {
		let newest = Number.NEGATIVE_INFINITY;
		for (const r of records) if (typeof r.write_date === 'string') newest = Math.max(newest, Date.parse(`${r.write_date.replace(' ', 'T')}Z`));
		if (Number.isFinite(newest)) offset = Math.max(offset, newest - now()); // Odoo's now ≥ newest at this instant
	};
	const recheck = (writeDate: string) => mode === 'incremental' && (verified === null || writeDate > verified);

	const read = (bound: Domain, order: string, limit: number, only = fields) =>
		odoo.call<Array<Record<string, unknown>>>(model, 'search_read', { domain: [...bound, ...domain], fields: only, order, limit, context });
	const searchIds = (bound: Domain, limit?: number) =>
		odoo.call<number[]>(model, 'search', { domain: [...bound, ...domain], order: 'id asc', ...(limit ? { limit } : {}), context });
	const bronze = new BronzeIndex(pool, table, run.connectorId);
	const columns = planColumns(plans);
	// mapRecord writes every planned column on every record, each with its declared type.
	const columnFields = columns.map((c) => c.field);
	const page = (records: Array<Record<string, unknown>>, next: Cursor | undefined): Page => ({
		records: records.map((r) => mapRecord(r, plans)),
		raws: records,
		fields: columnFields,
		cursor: next,
	});
	/** Full records of `ids` (domain not applied: they were chosen under it), in pages, fetched ahead. */
	const fullRecords = (ids: number[]) =>
		inOrder(chunks(ids, pageSize), ahead, (chunk) =>
			// The limit lets Odoo stop once it has every id of the chunk instead of scanning on.
			odoo.call<Array<Record<string, unknown>>>(model, 'search_read', { domain: [['id', 'in', chunk]], fields, order: 'id asc', limit: chunk.length, context }),
		);

	async function* fullPages(): AsyncGenerator<Page> {
		// The high-water mark comes first: whatever changes while the full sync runs is newer and
		// is read again by the next incremental run.
		const highWater = resumeFull
			? cursor.full!.high_water
			: await (async () => {
					const newest = await read([], 'write_date desc, id desc', 1, ['write_date']);
					observe(newest);
					return (newest[0]?.write_date as string | false | undefined) || null;
				})();
		let afterId = resumeFull ? cursor.full!.after_id : 0;
		// Counting restored rows costs a query per page: only when some row is marked deleted.
		const anyDeleted = await bronze.anyDeleted();
		// Ids come in light batches, so the pages of a batch can be fetched ahead of the loader.
		for (;;) {
			const ids = await searchIds([['id', '>', afterId]], ID_BATCH);
			const last = ids.length < ID_BATCH;
			let loadedPages = 0;
			const pages = Math.ceil(ids.length / pageSize);
			for await (const { input, output } of fullRecords(ids)) {
				loadedPages++;
				afterId = input[input.length - 1];
				if (anyDeleted) restored += await bronze.deletedAmong(input);
				const done = last && loadedPages === pages;
				yield page(output, done ? { write_date: highWater ?? undefined } : { full: { after_id: afterId, high_water: highWater } });
			}
			if (last) {
				if (ids.length === 0) yield { records: [], cursor: { write_date: highWater ?? undefined } };
				return;
			}
		}
	}

	/**
	 * One light page ([id, write_date]) of the incremental window: compared with bronze, and only
	 * the records that are new, changed (another write_date) or marked deleted are read in full.
	 * The cursor moves to the light page's last second with its last full page (or an empty one).
	 */
	async function* changedPages(light: Array<Record<string, unknown>>, next: Cursor): AsyncGenerator<Page> {
		checked += light.length;
		observe(light);
		const { changed, deleted } = await bronze.changedOf(light, recheck);
		restored += deleted;
		let sent = 0;
		const pages = Math.ceil(changed.length / pageSize);
		for await (const { output } of fullRecords(changed)) {
			sent++;
			yield page(output, sent === pages ? next : undefined);
		}
		if (pages === 0 && next.write_date !== cursor.write_date) yield { records: [], cursor: next };
	}

	async function* incrementalPages(): AsyncGenerator<Page> {
		let lower = shiftSeconds(cursor.write_date!, -(options.overlapSeconds ?? 600));
		const stamp = ['write_date'];
		for (;;) {
			const light = await read([['write_date', '>=', lower]], 'write_date asc, id asc', LIGHT_PAGE, stamp);
			if (light.length === 0) return;
			const first = secondOf(light[0]);
			const last = secondOf(light[light.length - 1]);
			if (light.length < LIGHT_PAGE) {
				yield* changedPages(light, { write_date: last });
				return;
			}
			if (first !== last) {
				yield* changedPages(light, { write_date: last });
				lower = last; // re-read the last second: it may continue on the next page
				continue;
			}
			// More than a light page of records share one second: drain that second by id.
			let afterId = 0;
			for (;;) {
				const inSecond = await read([['write_date', '>=', last], ['write_date', '<', shiftSeconds(last, 1)], ['id', '>', afterId]], 'id asc', LIGHT_PAGE, stamp);
				if (inSecond.length > 0) yield* changedPages(inSecond, { write_date: last });
				if (inSecond.length < LIGHT_PAGE) break;
				afterId = inSecond[inSecond.length - 1].id as number;
			}
			lower = shiftSeconds(last, 1);
		}
	}

	const loadOptions = {
		connectorId: run.connectorId,
		runId: run.runId,
		stream: model,
		table,
		key: ['id'],
		columns,
		// A page's rows are staged while the page before it merges: the server works on both.
		overlap: true,
		onPage: (p: LoadResult) => options.onProgress?.({ ...p, model }),
	};
	const loaded = await loadStream(pool, mode === 'full' ? fullPages() : incrementalPages(), loadOptions);
	let rowsRead = loaded.rowsRead;
	let rowsWritten = loaded.rowsWritten;
	let pages = loaded.pages;
	const schemaChanges = loaded.schemaChanges.length;
	let nulReplaced = loaded.nulReplaced;

	// The id scan: vanished ids are marked deleted, marked ids that are back are restored, and ids
	// Odoo has but bronze lacks (a create whose transaction committed after the overlap window had
	// passed it) are loaded now.
	let deleted: number | null = null;
	let repaired: number | null = null;
	const lastScan = typeof stored.state.delete_scan_at === 'string' ? Date.parse(stored.state.delete_scan_at) : 0;
	const every = options.deleteScanEveryHours === undefined ? 24 : options.deleteScanEveryHours;
	if (every !== null && (mode === 'full' || Date.now() - lastScan >= every * 3_600_000)) {
		const ids = await searchIds([]);
		const absent = await bronze.absentOf(ids);
		const marks = await markMissingAsDeleted(pool, { ...run, table, key: ['id'] }, ids.map((id) => [id]));
		deleted = marks.deleted;
		restored += marks.restored;
		async function* absentPages(): AsyncGenerator<Page> {
			for await (const { output } of fullRecords(absent)) yield page(output, undefined);
		}
		const scanLoad = absent.length > 0 ? await loadStream(pool, absentPages(), loadOptions) : null;
		repaired = absent.length;
		if (scanLoad) {
			rowsRead += scanLoad.rowsRead;
			rowsWritten += scanLoad.rowsWritten;
			pages += scanLoad.pages;
			nulReplaced += scanLoad.nulReplaced;
		}
		await setStreamState(pool, run.connectorId, model, { state: { ...stored.state, delete_scan_at: new Date().toISOString() }, runId: run.runId });
	}

	const current = await getStreamState(pool, run.connectorId, model);
	const final = current.cursor as Cursor | null;
	if (final?.write_date && !final.full && Number.isFinite(offset)) {
		// Everything read in this run was read after runStarted, when Odoo's clock was at least
		// runStarted + offset: copies written before that minus the window are now verified.
		const through = new Date(Math.floor((runStarted + offset - overlapMs) / 1000) * 1000).toISOString().slice(0, 19).replace('T', ' ');
		const next = { ...current.state, clock_offset_ms: offset, verified_through: verified !== null && verified > through ? verified : through };
		if (next.clock_offset_ms !== current.state.clock_offset_ms || next.verified_through !== current.state.verified_through) {
			await setStreamState(pool, run.connectorId, model, { state: next, runId: run.runId });
		}
	}
	return {
		model,
		table: `${table.schema}.${table.name}`,
		mode,
		rowsRead,
		rowsWritten,
		rowsChecked: mode === 'incremental' ? checked : null,
		pages,
		deleted,
		restored,
		repaired,
		cursor: final?.write_date ?? null,
		schemaChanges,
		nulReplaced,
	};
}

/**
 * Several models under one run, `concurrency` at a time (Odoo reads of one model overlap the
 * loads of another; page transactions still take the run's lease row one at a time). The first
 * failure stops new models from starting; the ones in flight finish (their pages are committed)
 * before it is thrown. Results come in the order of `models`. No heartbeat in between: it locks
 * the run row before the lease row, the reverse of a page transaction, and would deadlock with one.
 */
export async function syncModels(
	pool: Pool,
	odoo: OdooClient,
	run: { connectorId: string; runId: string },
	models: string[],
	options: Omit<ModelSyncOptions, 'model'> & { concurrency?: number },
): Promise<ModelSyncResult[]> {
	const results: Array<ModelSyncResult | undefined> = new Array(models.length);
	let next = 0;
	let failure: { error: unknown } | undefined;
	const worker = async (): Promise<void> => {
		while (!failure && next < models.length) {
			const index = next++;
			try {
				results[index] = await syncModel(pool, odoo, run, { ...options, model: models[index] });
			} catch (error) {
				failure ??= { error };
			}
		}
	};
	const width = Math.max(1, Math.min(options.concurrency ?? DEFAULT_MODEL_CONCURRENCY, models.length));
	await Promise.all(Array.from({ length: width }, worker));
	if (failure) throw failure.error;
	return results as ModelSyncResult[];
}

function secondOf(record: Record<string, unknown>): string {
	const value = record.write_date;
	if (typeof value !== 'string') throw new Error(`Record ${String(record.id)} has no write_date`);
	return value;
}

/** 'YYYY-MM-DD HH:MM:SS' (naive UTC, Odoo's format) shifted by whole seconds. */
export function shiftSeconds(odooDatetime: string, seconds: number): string {
	const date = new Date(`${odooDatetime.replace(' ', 'T')}Z`);
	if (Number.isNaN(date.getTime())) throw new Error(`"${odooDatetime}" is not an Odoo datetime`);
	return new Date(date.getTime() + seconds * 1000).toISOString().slice(0, 19).replace('T', ' ');
}
