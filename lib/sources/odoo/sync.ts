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
import { loadStream, markMissingAsDeleted, type LoadResult, type Page } from '../../lakehouse/loader';
import { getStreamState, setStreamState } from '../../lakehouse/state';
import type { TableRef } from '../../lakehouse/tables';
import type { OdooClient } from './client';
import { mapRecord, planColumns, planFields, type FieldPlan, type FieldSelection, type FieldsGet } from './fields';
import { presetOf, tableNameFor, withPresetFields } from './presets';

export type Domain = unknown[];

export interface ModelSyncOptions extends FieldSelection {
	model: string;
	/** Extra filter, in Odoo's domain notation; deletes are inferred within it too. */
	domain?: Domain;
	mode?: 'incremental' | 'full';
	pageSize?: number;
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
	pages: number;
	deleted: number | null;
	restored: number | null;
	cursor: string | null;
	schemaChanges: number;
	nulReplaced: number;
}

interface Cursor {
	write_date?: string;
	/** While a full sync is in progress: the last id loaded and the high-water mark to finish at. */
	full?: { after_id: number; high_water: string | null };
}

const DEFAULT_PAGE = 1000;

export async function syncModel(pool: Pool, odoo: OdooClient, run: { connectorId: string; runId: string }, options: ModelSyncOptions): Promise<ModelSyncResult> {
	const model = options.model;
	const fieldsGet = await odoo.call<FieldsGet>(model, 'fields_get', { attributes: ['type', 'string', 'store', 'relation'] });
	const plans = planFields(fieldsGet, withPresetFields(model, fieldsGet, options));
	if (!plans.some((p) => p.field === 'write_date')) throw new Error(`${model} has no write_date field, so it cannot be synced incrementally`);
	const table = options.table ?? { schema: 'ipai_bronze_erp', name: tableNameFor(model) };
	const context = { active_test: false, lang: options.lang ?? 'en_US' };
	const fields = plans.map((p) => p.field);
	const pageSize = options.pageSize ?? DEFAULT_PAGE;
	const domain = options.domain ?? [];

	const stored = await getStreamState(pool, run.connectorId, model);
	const cursor = (stored.cursor ?? {}) as Cursor;
	const resumeFull = cursor.full !== undefined;
	const mode: 'incremental' | 'full' = options.mode === 'full' || resumeFull || !cursor.write_date ? 'full' : 'incremental';

	const read = (bound: Domain, order: string, limit: number) =>
		odoo.call<Array<Record<string, unknown>>>(model, 'search_read', { domain: [...bound, ...domain], fields, order, limit, context });
	const page = (records: Array<Record<string, unknown>>, next: Cursor, state?: Record<string, unknown>): Page => ({
		records: records.map((r) => mapRecord(r, plans)),
		raws: records,
		cursor: next,
		state,
	});

	async function* fullPages(): AsyncGenerator<Page> {
		// The high-water mark comes first: whatever changes while the full sync runs is newer and
		// is read again by the next incremental run.
		const highWater = resumeFull
			? cursor.full!.high_water
			: ((await read([], 'write_date desc, id desc', 1))[0]?.write_date as string | false | undefined) || null;
		let afterId = resumeFull ? cursor.full!.after_id : 0;
		for (;;) {
			const records = await read([['id', '>', afterId]], 'id asc', pageSize);
			if (records.length === 0) break;
			afterId = records[records.length - 1].id as number;
			const done = records.length < pageSize;
			yield page(records, done ? { write_date: highWater ?? undefined } : { full: { after_id: afterId, high_water: highWater } });
			if (done) return;
		}
		yield { records: [], cursor: { write_date: highWater ?? undefined } };
	}

	async function* incrementalPages(): AsyncGenerator<Page> {
		let lower = shiftSeconds(cursor.write_date!, -(options.overlapSeconds ?? 600));
		for (;;) {
			const records = await read([['write_date', '>=', lower]], 'write_date asc, id asc', pageSize);
			if (records.length === 0) return;
			const first = secondOf(records[0]);
			const last = secondOf(records[records.length - 1]);
			if (records.length < pageSize) {
				yield page(records, { write_date: last });
				return;
			}
			if (first !== last) {
				yield page(records, { write_date: last });
				lower = last; // re-read the last second: it may continue on the next page
				continue;
			}
			// More than a page of records share one second: drain that second by id.
			let afterId = 0;
			for (;;) {
				const inSecond = await read(
					[['write_date', '>=', last], ['write_date', '<', shiftSeconds(last, 1)], ['id', '>', afterId]],
					'id asc',
					pageSize,
				);
				if (inSecond.length > 0) yield page(inSecond, { write_date: last });
				if (inSecond.length < pageSize) break;
				afterId = inSecond[inSecond.length - 1].id as number;
			}
			lower = shiftSeconds(last, 1);
		}
	}

	const loaded = await loadStream(pool, mode === 'full' ? fullPages() : incrementalPages(), {
		connectorId: run.connectorId,
		runId: run.runId,
		stream: model,
		table,
		key: ['id'],
		columns: planColumns(plans),
		onPage: (p) => options.onProgress?.({ ...p, model }),
	});

	let deleted: number | null = null;
	let restored: number | null = null;
	const lastScan = typeof stored.state.delete_scan_at === 'string' ? Date.parse(stored.state.delete_scan_at) : 0;
	const every = options.deleteScanEveryHours === undefined ? 24 : options.deleteScanEveryHours;
	if (every !== null && (mode === 'full' || Date.now() - lastScan >= every * 3_600_000)) {
		const ids = await odoo.call<number[]>(model, 'search', { domain, context });
		const result = await markMissingAsDeleted(pool, { ...run, table, key: ['id'] }, ids.map((id) => [id]));
		({ deleted, restored } = result);
		await setStreamState(pool, run.connectorId, model, { state: { ...stored.state, delete_scan_at: new Date().toISOString() }, runId: run.runId });
	}

	const final = (await getStreamState(pool, run.connectorId, model)).cursor as Cursor | null;
	return {
		model,
		table: `${table.schema}.${table.name}`,
		mode,
		rowsRead: loaded.rowsRead,
		rowsWritten: loaded.rowsWritten,
		pages: loaded.pages,
		deleted,
		restored,
		cursor: final?.write_date ?? null,
		schemaChanges: loaded.schemaChanges.length,
		nulReplaced: loaded.nulReplaced,
	};
}

/** Records of a model, mapped, for "Emit records" (bounded: n8n holds every item in memory). */
export async function readRecords(
	odoo: OdooClient,
	options: FieldSelection & { model: string; domain?: Domain; limit: number; lang?: string; mapped?: boolean },
): Promise<Array<Record<string, unknown>>> {
	const fieldsGet = await odoo.call<FieldsGet>(options.model, 'fields_get', { attributes: ['type', 'string', 'store', 'relation'] });
	const plans = planFields(fieldsGet, { ...options, extraFields: options.extraFields ?? presetOf(options.model)?.extraFields });
	const records = await odoo.call<Array<Record<string, unknown>>>(options.model, 'search_read', {
		domain: options.domain ?? [],
		fields: plans.map((p) => p.field),
		order: 'id asc',
		limit: options.limit,
		context: { active_test: false, lang: options.lang ?? 'en_US' },
	});
	return options.mapped === false ? records : records.map((r) => mapRecord(r, plans));
}

export type { FieldPlan };

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
