/**
 * A database sync under a connector run: check every configured table against the source first
 * (so a bad table fails the run before anything is written), then load the full tables from one
 * snapshot shared by their readers, the incremental tables, the CDC tables through one capture,
 * and the FDW tables inside the lakehouse. The run's metadata gets per-table counts and, with CDC
 * tables, `replication = { lag_bytes, lag_seconds }`.
 */
import type { Pool } from 'pg';
import type { LoadResult } from '../../lakehouse/loader';
import { failRun, finishRun, startRun, type StartRunResult } from '../../lakehouse/runs';
import { markMissingAsDeleted } from '../../lakehouse/inferredDeletes';
import { addDrops } from '../../lakehouse/pageWrite';
import { runStream, type StreamRun } from '../../lakehouse/stream';
import { copyEligibility, copyFullTable } from './copyFull';
import { syncCdcTables, type CdcRunOptions, type CdcRunResult } from './cdcStreams';
import { DEFAULT_COPY_PAGE_SIZE, DEFAULT_PAGE_SIZE, parseDbConfig, replicationNames, type DbConnectorConfig } from './config';
import { DbSourceError, type DbConnectionSettings, type DbEngine, type DbReadView } from './engine';
import { syncFdwTables, type FdwOptions } from './fdw';
import { allowNullRaw, keepsRaw } from './rawRecord';
import { planTables, tableStream, type DbTablePlan } from './streams';

export interface DbSyncOptions {
	connectorName: string;
	config: DbConnectorConfig;
	run: StreamRun;
	/** Readers of one snapshot working at once (full tables). */
	concurrency?: number;
	cdc?: Pick<CdcRunOptions, 'batchChanges' | 'followMs' | 'pollMs' | 'onBatch'>;
	/** FDW tables: the source as the lakehouse server reaches it, and the password for the user mapping. */
	fdw?: FdwOptions;
	onTable?: (table: DbTableSummary) => void;
	now?: () => Date;
	/** Full tables through the source's COPY where they can (copyFull.ts; default); false: the row path always. */
	fullCopy?: boolean;
}

export interface DbTableSummary {
	table: string;
	target: string;
	mode: string;
	rowsRead: number;
	rowsWritten: number;
	pages: number;
	deleted: number;
	note?: string;
	/** Full keyed tables: read through the source's COPY, row by row, or COPY until a page the COPY path cannot take. */
	read?: 'copy' | 'rows' | 'copy+rows';
	/** Full tables read through COPY: pages COPYed straight into bronze (a first load: nothing to merge with). */
	directPages?: number;
	/** Incremental: rows with a NULL cursor at the source that this run could not read (each a warning too). */
	nullCursorRows?: number;
}

export interface DbSyncResult {
	tables: DbTableSummary[];
	rowsRead: number;
	rowsWritten: number;
	warnings: string[];
	replication?: { lag_bytes: number | null; lag_seconds: number | null; slot: string; position: string | null; changes: number; truncates: number };
}

export async function syncDatabase(pool: Pool, engine: DbEngine, options: DbSyncOptions): Promise<DbSyncResult> {
	const config = options.config;
	const pageSize = Math.max(1, config.pageSize ?? DEFAULT_PAGE_SIZE);
	const plans = await planTables(engine, config, engine.defaultSchema());
	const result: DbSyncResult = { tables: [], rowsRead: 0, rowsWritten: 0, warnings: plans.flatMap((p) => (p.note ? [p.note] : [])) };
	const record = (plan: DbTablePlan, load: Pick<LoadResult, 'rowsRead' | 'rowsWritten' | 'pages'>, deleted: number, nullCursorRows?: number, read?: DbTableSummary['read'], directPages?: number) => {
		const summary: DbTableSummary = {
			table: plan.stream,
			target: `${plan.target.schema}.${plan.target.name}`,
			mode: plan.config.mode,
			rowsRead: load.rowsRead,
			rowsWritten: load.rowsWritten,
			pages: load.pages,
			deleted,
			note: plan.note,
			...(nullCursorRows ? { nullCursorRows } : {}),
			...(read ? { read } : {}),
			...(directPages ? { directPages } : {}),
		};
		result.tables.push(summary);
		result.rowsRead += load.rowsRead;
		result.rowsWritten += load.rowsWritten;
		options.onTable?.(summary);
	};
	const byMode = (mode: string) => plans.filter((p) => p.config.mode === mode);
	await refuseNullCursors(engine, byMode('incremental').filter((p) => p.config.nullCursor === 'fail' && p.nullableCursor));
	const cdcPlans = byMode('cdc');
	const names = replicationNames(options.connectorName, config);
	if (cdcPlans.length > 0) {
		// Before anything is written: a source that cannot capture fails the run with nothing loaded.
		const cdc = engine.cdc(names);
		try {
			await cdc.check(cdcPlans.map((p) => p.read.table));
		} finally {
			await cdc.close();
		}
	}
	if (byMode('fdw').length > 0 && !options.fdw) throw new Error('FDW tables need the source as the lakehouse server reaches it (host, port, password from the credential)');
	// Rows of a table without `raw: true` leave _ipai_raw NULL (rawRecord.ts): a table made before may not allow it yet.
	for (const plan of plans) if (!keepsRaw(plan)) await allowNullRaw(pool, plan.target, options.run);

	const full = byMode('full');
	if (full.length > 0) {
		const snapshot = await engine.openSnapshot();
		try {
			const readers: DbReadView[] = [snapshot];
			const concurrency = Math.min(full.length, Math.max(1, options.concurrency ?? 2));
			while (readers.length < concurrency) readers.push(await snapshot.share());
			let next = 0;
			await Promise.all(
				readers.map(async (view) => {
					while (next < full.length) {
						const plan = full[next++];
						const { load, deleted, read, directPages } = await loadFullTable(plan, { pool, run: options.run, pageSize, view, now: options.now }, options.fullCopy !== false, config.pageSize ?? DEFAULT_COPY_PAGE_SIZE);
						record(plan, load, deleted, undefined, read, directPages);
					}
				}),
			);
			await Promise.all(readers.slice(1).map((r) => r.close()));
		} finally {
			result.warnings.push(...(snapshot.warnings?.() ?? []));
			await snapshot.close();
		}
	}

	const incremental = byMode('incremental');
	if (incremental.length > 0) {
		const view = await engine.openReader();
		try {
			for (const plan of incremental) {
				let deleted = 0;
				let nullCursorRows = 0;
				const load = await runStream(
					pool,
					options.run,
					tableStream(plan, 'incremental', { pool, run: options.run, pageSize, view, deletes: 'never', now: options.now, onDeletes: (n) => (deleted += n), onNullCursorRows: (n) => (nullCursorRows = n) }),
				);
				if (nullCursorRows > 0) {
					// Rows committed with a NULL cursor while this run read: fail mode refuses them too.
					if (plan.config.nullCursor === 'fail') throw nullCursorError(plan, nullCursorRows);
					result.warnings.push(nullCursorWarning(plan, nullCursorRows));
				}
				record(plan, load, deleted, nullCursorRows);
			}
		} finally {
			result.warnings.push(...(view.warnings?.() ?? []));
			await view.close();
		}
	}

	if (cdcPlans.length > 0) {
		const cdc = engine.cdc(names);
		let outcome: CdcRunResult;
		try {
			outcome = await syncCdcTables(cdc, cdcPlans, () => engine.openSnapshot(), { pool, run: options.run, pageSize, ...options.cdc });
		} finally {
			result.warnings.push(...(cdc.warnings?.() ?? []));
			await cdc.close();
		}
		for (const plan of cdcPlans) record(plan, { rowsRead: 0, rowsWritten: 0, pages: 0 }, 0);
		result.rowsRead += outcome.rowsRead;
		result.rowsWritten += outcome.rowsWritten;
		result.replication = {
			lag_bytes: outcome.lag.lagBytes,
			lag_seconds: outcome.lag.lagSeconds,
			slot: names.slot,
			position: outcome.position,
			changes: outcome.changes,
			truncates: outcome.truncates,
		};
	}

	const fdw = byMode('fdw');
	if (fdw.length > 0) {
		for (const summary of await syncFdwTables(pool, fdw, options.run, options.fdw!)) {
			const plan = fdw.find((p) => p.stream === summary.table)!;
			record(plan, summary, summary.deleted);
		}
	}
	return result;
}

/**
 * One full table: through the COPY path when it can take the table, else (or from the page where
 * it finds it cannot) through the row path, which resumes from the cursor the COPY path left.
 * Rows gone from the source are marked deleted once a refresh ends (not on a table's first load).
 */
async function loadFullTable(
	plan: DbTablePlan,
	options: { pool: Pool; run: StreamRun; pageSize: number; view: DbReadView; now?: () => Date },
	copy: boolean,
	copyPageSize: number,
): Promise<{ load: LoadResult; deleted: number; read?: DbTableSummary['read']; directPages?: number }> {
	let deleted = 0;
	const rowPath = () => runStream(options.pool, options.run, tableStream(plan, 'full', { ...options, deletes: 'after-full', onDeletes: (n) => (deleted += n) }));
	const keyed = plan.key ? ('rows' as const) : undefined;
	if (!copy || copyEligibility(plan, options.view) !== null) return { load: await rowPath(), deleted, read: keyed };
	const copied = await copyFullTable(plan, { ...options, pageSize: Math.max(1, copyPageSize) });
	if (copied.fallback) {
		const rest = await rowPath();
		const load = { ...rest, pages: copied.load.pages + rest.pages, rowsRead: copied.load.rowsRead + rest.rowsRead, rowsWritten: copied.load.rowsWritten + rest.rowsWritten, schemaChanges: [...copied.load.schemaChanges, ...rest.schemaChanges] };
		addDrops(load, copied.load.droppedBy);
		return { load, deleted, read: copied.load.pages > 0 ? 'copy+rows' : 'rows', directPages: copied.directPages };
	}
	if (copied.ended && !copied.firstLoad) {
		({ deleted } = await markMissingAsDeleted(options.pool, { ...options.run, table: plan.target, key: plan.key! }, options.view.keys(plan.read)));
	}
	return { load: copied.load, deleted, read: 'copy', directPages: copied.directPages };
}

/**
 * Tables whose config says `nullCursor: 'fail'` fail the run, before anything is written, while
 * the source has rows with a NULL cursor (which no incremental read after the first would see).
 */
async function refuseNullCursors(engine: DbEngine, plans: DbTablePlan[]): Promise<void> {
	if (plans.length === 0) return;
	const view = await engine.openReader();
	try {
		for (const plan of plans) {
			const count = await view.countNullCursor(plan.read);
			if (count > 0) throw nullCursorError(plan, count);
		}
	} finally {
		await view.close();
	}
}

function nullCursorError(plan: DbTablePlan, count: number): DbSourceError {
	return new DbSourceError(
		'config',
		`Table ${plan.stream} has ${count} row(s) whose cursor (${(plan.read.cursor ?? []).join(', ')}) is NULL, which incremental reads cannot see, and config.tables[${plan.index}].nullCursor is fail`,
		'Pick a non-null cursor column (or sync a view whose cursor is coalesce(...) of columns), use mode full, or set nullCursor to warn',
	);
}

function nullCursorWarning(plan: DbTablePlan, count: number): string {
	return (
		`${plan.stream}: ${count} row(s) have a NULL cursor (${(plan.read.cursor ?? []).join(', ')}): incremental reads after the first sync cannot see them, ` +
		`so those inserted or changed since then are missing or stale in bronze. Pick a non-null cursor (or a view with coalesce(...)), use mode full, ` +
		`or reset the stream's state (its next sync reads every row again)`
	);
}

/** Runs a db connector once under a run of its own: start (or skip), sync, finish or fail with the reason. */
export async function runDbConnector(
	pool: Pool,
	engine: DbEngine,
	options: { connectorName: string; config: unknown; settings: DbConnectionSettings; holder?: string; leaseTimeoutSeconds?: number } & Omit<DbSyncOptions, 'connectorName' | 'config' | 'run'>,
): Promise<{ start: StartRunResult; result?: DbSyncResult; error?: Error }> {
	const start = await startRun(pool, { connector: { connectorType: 'db', name: options.connectorName, initialConfig: options.config as Record<string, unknown> },
		holder: options.holder,
		leaseTimeoutSeconds: options.leaseTimeoutSeconds,
	});
	if (start.status !== 'running') return { start };
	const run = { connectorId: start.connectorId, runId: start.runId };
	try {
		const config = parseDbConfig(options.connectorName, options.config);
		const result = await syncDatabase(pool, engine, { ...options, connectorName: options.connectorName, config, run });
		await finishRun(pool, run.runId, { metadata: dbRunMetadata(result) });
		return { start, result };
	} catch (error) {
		await failRun(pool, run.runId, { error, secrets: [options.settings.password].filter(Boolean) });
		return { start, error: error as Error };
	}
}

/** What a db sync puts on its run row. */
export function dbRunMetadata(result: DbSyncResult): Record<string, unknown> {
	return {
		db: { tables: result.tables, warnings: result.warnings },
		...(result.replication ? { replication: result.replication } : {}),
	};
}
