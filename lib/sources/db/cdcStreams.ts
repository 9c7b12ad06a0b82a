/**
 * CDC tables: one stream per table, all fed by one capture (a slot, a binlog reader). Each
 * table's cursor is `{ lsn }` — the source position its bronze table has applied — committed with
 * the page that applied it. The source is acknowledged up to the smallest committed position of
 * all the capture's tables, read back from the lakehouse, so the acknowledged position is never
 * ahead of bronze; a change a table already has (its position at or before the table's) is
 * skipped when a batch is read again after a crash.
 *
 * Per page, the last change of each key wins: inserts and updates merge by key, deletes set
 * `_ipai_deleted_at`, a truncate marks the connector's rows deleted and is audited. The initial
 * load is a full refresh read in the snapshot the capture was created with.
 */
import type { ClientBase, Pool } from 'pg';
import { writeAudit } from '../../lakehouse/audit';
import { sqlTypeName } from '../../lakehouse/columnTypes';
import type { Page } from '../../lakehouse/loader';
import { quoteIdent } from '../../lakehouse/sql';
import { getStreamState } from '../../lakehouse/streamState';
import { incrementalPages, runStream, type IncrementalCursor, type Stream, type StreamRun } from '../../lakehouse/stream';
import { columnNameFor, META, tableName } from '../../lakehouse/tables';
import { isUnchanged, type CdcChange, type CdcLag, type DbCdc, type DbReadView, type DbRow } from './engine';
import { dbPage, keepsRaw } from './rawRecord';
import type { DbTablePlan } from './streams';

export interface CdcCursor extends IncrementalCursor {
	/** The source position this table's bronze copy has applied. */
	lsn?: string;
}

export interface CdcRunOptions {
	pool: Pool;
	run: StreamRun;
	pageSize: number;
	/** Changes per batch read from the source (whole transactions). */
	batchChanges?: number;
	/** Keep reading for this long after catching up (a continuous sync); 0: stop once caught up. */
	followMs?: number;
	pollMs?: number;
	/** Told after each batch committed: the source commit times it held, and when it committed in bronze. */
	onBatch?: (batch: { changes: number; commitTimes: Date[]; committedAt: Date }) => void;
}

export interface CdcRunResult {
	rowsRead: number;
	rowsWritten: number;
	changes: number;
	truncates: number;
	initialLoads: string[];
	position: string | null;
	lag: CdcLag;
}

const keyText = (values: unknown[]) => JSON.stringify(values);

/** Loads every CDC table: initial snapshots where needed, then batches until caught up (or followMs). */
export async function syncCdcTables(cdc: DbCdc, plans: DbTablePlan[], openSnapshot: () => Promise<DbReadView>, options: CdcRunOptions): Promise<CdcRunResult> {
	const result: CdcRunResult = { rowsRead: 0, rowsWritten: 0, changes: 0, truncates: 0, initialLoads: [], position: null, lag: { lagBytes: null, lagSeconds: null } };
	const add = (r: { rowsRead: number; rowsWritten: number }) => {
		result.rowsRead += r.rowsRead;
		result.rowsWritten += r.rowsWritten;
	};
	const stored = new Map<string, CdcCursor | null>();
	for (const plan of plans) stored.set(plan.stream, (await getStreamState(options.pool, options.run.connectorId, plan.stream)).cursor as CdcCursor | null);
	const start = await cdc.start(
		plans.map((p) => p.read.table),
		{ mustExist: [...stored.values()].some((c) => Boolean(c?.lsn)) },
	);
	let snapshot = start.snapshot;
	try {
		for (const plan of plans) {
			if (stored.get(plan.stream)?.lsn) continue;
			// A table added to an existing capture (or whose initial load was interrupted) is read in a
			// new snapshot and applies everything the capture still holds: replaying full row images
			// over newer data converges to the source once the capture has caught up.
			const from = start.created ? start.position : '0/0';
			snapshot ??= await openSnapshot();
			add(await runStream(options.pool, options.run, initialLoadStream(plan, snapshot, from, options.pageSize)));
			result.initialLoads.push(plan.stream);
		}
	} finally {
		await snapshot?.close();
	}

	const committedPosition = async (): Promise<string | null> => {
		let lowest: string | null = null;
		for (const plan of plans) {
			const lsn = ((await getStreamState(options.pool, options.run.connectorId, plan.stream)).cursor as CdcCursor | null)?.lsn;
			if (!lsn) return null;
			if (lowest === null || cdc.comparePositions(lsn, lowest) < 0) lowest = lsn;
		}
		return lowest;
	};
	const deadline = Date.now() + (options.followMs ?? 0);
	for (;;) {
		const committed = await committedPosition();
		if (committed && committed !== '0/0') await cdc.ack(committed);
		const batch = await cdc.read(options.batchChanges ?? 10_000);
		if (!batch.position) {
			if (Date.now() >= deadline) break;
			await new Promise((resolve) => setTimeout(resolve, options.pollMs ?? 100));
			continue;
		}
		for (const plan of plans) {
			const changes = batch.changes.filter((c) => c.table.schema === plan.read.table.schema && c.table.name === plan.read.table.name);
			const stream = changeStream(plan, changes, batch.position, cdc, options);
			add(await runStream(options.pool, options.run, stream));
			result.truncates += changes.filter((c) => c.op === 'truncate').length;
		}
		result.changes += batch.changes.length;
		result.position = batch.position;
		options.onBatch?.({ changes: batch.changes.length, commitTimes: batch.commitTimes, committedAt: new Date() });
	}
	const committed = await committedPosition();
	if (committed && committed !== '0/0') await cdc.ack(committed);
	result.lag = await cdc.lag();
	return result;
}

function initialLoadStream(plan: DbTablePlan, view: DbReadView, position: string, pageSize: number): Stream {
	return {
		name: plan.stream,
		table: plan.target,
		key: plan.key!,
		columns: plan.columns,
		rawOptional: true,
		async *read(context) {
			const pages = incrementalPages<DbRow>({
				mode: 'full',
				stored: context.cursor,
				pageSize,
				fetch: (request) => view.readPage(plan.read, request),
				keyOf: (row) => plan.read.key.map((k) => row[k] as string),
				toPage: (rows) => dbPage(rows, keepsRaw(plan)),
			});
			for await (const page of pages) {
				const cursor = page.cursor as CdcCursor;
				yield cursor.fullCompletedAt ? { ...page, cursor: { ...cursor, lsn: position } } : page;
			}
		},
	};
}

/** The pages applying one batch's changes of a table (split at truncates, which apply in order). */
function changeStream(plan: DbTablePlan, changes: CdcChange[], position: string, cdc: DbCdc, options: CdcRunOptions): Stream {
	return {
		name: plan.stream,
		table: plan.target,
		key: plan.key!,
		columns: plan.columns,
		rawOptional: true,
		async *read(context) {
			const applied = (context.cursor as CdcCursor | null)?.lsn;
			const fresh = applied ? changes.filter((c) => cdc.comparePositions(c.position, applied) > 0) : changes;
			const latest = new Map<string, DbRow>();
			let upserts = new Map<string, DbRow>();
			let deletes = new Map<string, DbRow>();
			const segment = (extra: Partial<Page>): Page => {
				const page: Page = { ...dbPage([...upserts.values()], keepsRaw(plan)), ...extra };
				const keys = [...deletes.values()];
				const truncate = extra.afterWrite;
				page.afterWrite = async (client) => {
					if (keys.length > 0) await markDeleted(client, plan, options.run, keys);
					if (truncate) await truncate(client);
				};
				upserts = new Map();
				deletes = new Map();
				return page;
			};
			for (const change of fresh) {
				if (change.op === 'truncate') {
					yield segment({ afterWrite: (client) => markTruncated(client, plan, options.run) });
					latest.clear();
					continue;
				}
				const source = change.op === 'upsert' ? change.row : change.key;
				const id = keyText(plan.read.key.map((k) => source[k]));
				if (change.op === 'delete') {
					upserts.delete(id);
					latest.delete(id);
					deletes.set(id, change.key);
				} else {
					const row = await fillUnchanged(change.row, latest.get(id), plan, options);
					deletes.delete(id);
					upserts.set(id, row);
					latest.set(id, row);
				}
			}
			yield segment({ cursor: { lsn: position } satisfies CdcCursor });
		},
	};
}

/** Values an update left unchanged and the log omitted (TOASTed values): from the previous image, else from bronze. */
async function fillUnchanged(row: DbRow, previous: DbRow | undefined, plan: DbTablePlan, options: CdcRunOptions): Promise<DbRow> {
	const missing = Object.keys(row).filter((k) => isUnchanged(row[k]));
	if (missing.length === 0) return row;
	const filled = { ...row };
	if (previous) {
		for (const k of missing) filled[k] = previous[k];
		return filled;
	}
	const select = missing.map((k) => {
		const type = plan.columns.find((c) => c.field === k)?.type;
		const column = quoteIdent(columnNameFor(k));
		return type === 'jsonb' || type === 'bigint[]' || type === 'text[]' ? `to_jsonb(${column}) as ${quoteIdent(k)}` : `${column}::text as ${quoteIdent(k)}`;
	});
	const keyMatch = plan.read.key.map((k, i) => `${quoteIdent(columnNameFor(k))} = $${i + 2}::${sqlTypeName(plan.columns.find((c) => c.field === k)!.type)}`);
	const { rows } = await options.pool.query(
		`select ${select.join(', ')} from ${tableName(plan.target)} where ${META.connectorId} = $1 and ${keyMatch.join(' and ')}`,
		[options.run.connectorId, ...plan.read.key.map((k) => String(row[k]))],
	);
	for (const k of missing) filled[k] = rows[0]?.[k] ?? null;
	return filled;
}

async function markDeleted(client: ClientBase, plan: DbTablePlan, run: StreamRun, keys: DbRow[]): Promise<void> {
	const { rows } = await client.query('select to_regclass($1) is not null as ok', [tableName(plan.target)]);
	if (!rows[0].ok) return;
	const columns = plan.read.key.map((k) => quoteIdent(columnNameFor(k)));
	const types = plan.read.key.map((k) => sqlTypeName(plan.columns.find((c) => c.field === k)!.type));
	const arrays = plan.read.key.map((k) => keys.map((row) => (row[k] === null || row[k] === undefined ? null : String(row[k]))));
	await client.query(
		`update ${tableName(plan.target)} t set ${META.deletedAt} = now(), ${META.runId} = $2
		  where t.${META.connectorId} = $1 and t.${META.deletedAt} is null
		    and (${columns.map((c) => `t.${c}`).join(', ')}) in (select ${types.map((type, i) => `u.k${i}::${type}`).join(', ')}
		                                                      from unnest(${arrays.map((_, i) => `$${i + 3}::text[]`).join(', ')}) u(${arrays.map((_, i) => `k${i}`).join(', ')}))`,
		[run.connectorId, run.runId, ...arrays],
	);
}

async function markTruncated(client: ClientBase, plan: DbTablePlan, run: StreamRun): Promise<void> {
	const { rows } = await client.query('select to_regclass($1) is not null as ok', [tableName(plan.target)]);
	let marked = 0;
	if (rows[0].ok) {
		const result = await client.query(
			`update ${tableName(plan.target)} set ${META.deletedAt} = now(), ${META.runId} = $2 where ${META.connectorId} = $1 and ${META.deletedAt} is null`,
			[run.connectorId, run.runId],
		);
		marked = result.rowCount ?? 0;
	}
	await writeAudit(client, {
		eventType: 'connector_run',
		entityType: 'connector',
		entityId: run.connectorId,
		action: 'source_truncate',
		details: { run_id: run.runId, table: tableName(plan.target), source_table: plan.stream, rows_marked_deleted: marked },
	});
}
