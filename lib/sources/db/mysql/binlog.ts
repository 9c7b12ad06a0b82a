/**
 * Change data capture from the MySQL/MariaDB binary log (row events, read with @vlasky/zongji on
 * mysql2). The position is `<binlog file>:<offset> gtid=<domain-server-seq>`, always the end of a
 * whole transaction, so a reader resumed there replays nothing half and skips nothing. The binlog
 * keeps no consumer state: the position lives in the lakehouse, committed with the page that
 * holds the changes (ack() only records what was committed, for the lag).
 *
 * The initial snapshot is consistent with the start position: MariaDB (and Percona Server) give
 * the binlog position of a START TRANSACTION WITH CONSISTENT SNAPSHOT in the status variables
 * binlog_snapshot_file/_position; on other servers the snapshot is taken under a brief
 * FLUSH TABLES WITH READ LOCK.
 */
import { randomInt } from 'node:crypto';
import { DbSourceError, type CdcBatch, type CdcChange, type CdcLag, type DbCdc, type DbConnectionSettings, type DbReadView, type DbRow, type DbTableRef } from '../engine';
import { checkBinlogReady, classifyMySqlError, connectionOptions, openConnection, type MySqlConnection } from './connection';
import { convertRow, describeMySqlColumns, openReadView, planColumns, zeroDateWarnings, type ColumnPlan } from './readView';
import { comparePositions, formatPosition, masterPosition, parsePosition, snapshotPosition } from './binlogPosition';
import { newNotes } from './types';

interface Transaction {
	changes: CdcChange[];
	position: string;
	commitTime: Date;
}

interface ZongJiEvent {
	getEventName(): string;
	timestamp: number;
	nextPosition: number;
	gtid?: string;
	binlogName?: string;
	query?: string;
	schemaName?: string;
	tableMap?: Record<number, { parentSchema: string; tableName: string }>;
	tableId?: number;
	rows?: Array<Record<string, unknown> | { before: Record<string, unknown>; after: Record<string, unknown> }>;
}

interface ZongJiInstance {
	on(event: 'binlog', listener: (event: ZongJiEvent) => void): void;
	on(event: 'error', listener: (error: Error) => void): void;
	on(event: 'ready', listener: () => void): void;
	start(options: Record<string, unknown>): void;
	stop(): void;
	connection?: { pause(): void; resume(): void } | null;
}

type ZongJiClass = new (options: Record<string, unknown>) => ZongJiInstance;

/** @vlasky/zongji is an ES module: required on first use (Node ≥ 20.19; jest compiles it, see jest.config.js). */
function loadZongJi(): ZongJiClass {
	// eslint-disable-next-line @typescript-eslint/no-require-imports
	const nodeRequire = require;
	return (nodeRequire('@vlasky/zongji') as { default: ZongJiClass }).default;
}

export interface BinlogCdcOptions {
	/** Where to resume (the lowest position committed by the tables' streams); null: take the initial snapshot. */
	position?: string | null;
	/** Replica id the reader announces (unique per reader on one server; random by default). */
	serverId?: number;
	/** How long read() waits for changes when it is caught up with nothing new (ms). */
	idleMs?: number;
}

const tableId = (t: DbTableRef) => `${t.schema}.${t.name}`;

export class MySqlBinlogCdc implements DbCdc {
	private tables = new Map<string, { ref: DbTableRef; key: string[]; plans: Map<string, ColumnPlan> }>();
	private position: string | null;
	private acked: string | null;
	private zongji: ZongJiInstance | null = null;
	private ready: Transaction[] = [];
	private readyChanges = 0;
	private open: { changes: CdcChange[]; gtid?: string } | null = null;
	private file = '';
	/** The end of the last whole transaction (or standalone event) the reader has seen. */
	private readThrough: string | null = null;
	private failure: Error | null = null;
	private wake: (() => void) | null = null;
	private paused = false;
	private lastEventTime: Date | null = null;
	private unacked: Array<{ position: string; time: Date }> = [];
	private control: MySqlConnection | null = null;
	private readonly notes = newNotes();

	constructor(
		private readonly settings: DbConnectionSettings,
		private readonly options: BinlogCdcOptions = {},
	) {
		this.position = options.position ?? null;
		this.acked = null;
	}

	/** Checks, before anything is written, that the binlog can be captured for these tables. */
	async check(tables: DbTableRef[]): Promise<void> {
		const control = await this.controlConnection();
		const { rowMetadataFull } = await checkBinlogReady(control, this.settings.user);
		for (const ref of tables) await this.planTable(control, ref, rowMetadataFull);
	}

	/**
	 * The binlog keeps no consumer state, so every start takes a snapshot and its position (cheap:
	 * one transaction): tables without a committed position load from it, and the reader resumes
	 * from the lowest position the tables committed (given by ack() before the first read).
	 */
	async start(tables: DbTableRef[]): Promise<{ created: boolean; position: string; snapshot: DbReadView | null }> {
		await this.check(tables);
		const connection = await openConnection(this.settings);
		try {
			const position = await snapshotPosition(connection);
			this.position ??= position;
			const snapshot = await openReadView(connection, this.settings, 'joined', () => connection.end(), this.notes);
			return { created: true, position, snapshot };
		} catch (error) {
			await connection.end().catch(() => undefined);
			throw classifyMySqlError(error, this.settings);
		}
	}

	private async planTable(control: MySqlConnection, ref: DbTableRef, rowMetadataFull: boolean): Promise<void> {
		const described = await describeMySqlColumns(control, ref);
		if (!described.primaryKey) throw new DbSourceError('schema', `Table ${tableId(ref)} has no primary key, which change data capture needs`, 'Add a primary key, or sync the table in full mode');
		for (const column of described.columns) {
			if (['geometry', 'geometrycollection'].includes(column.dataType.toLowerCase())) {
				throw new DbSourceError('type', `Column ${tableId(ref)}.${column.name} is a generic ${column.dataType}, which the binlog cannot describe exactly`, 'Give it a specific type (POINT, POLYGON, …), or sync the table in full or incremental mode');
			}
			if (!rowMetadataFull && /^(enum|set)\(.*,.*'[^']*,[^']*'/.test(column.columnType) && /'[^']*,[^']*'/.test(column.columnType)) {
				throw new DbSourceError('config', `Column ${tableId(ref)}.${column.name} has enum values with commas, which the binlog carries only with full row metadata`, "Run SET GLOBAL binlog_row_metadata = 'FULL' (and set it in my.cnf)");
			}
		}
		this.tables.set(tableId(ref), { ref, key: described.primaryKey, plans: planColumns(ref, described.columns, this.notes) });
	}

	private async controlConnection(): Promise<MySqlConnection> {
		this.control ??= await openConnection(this.settings);
		return this.control;
	}

	async read(maxChanges: number): Promise<CdcBatch> {
		if (!this.position && !this.acked) throw new DbSourceError('config', 'Change data capture was read before start() or ack()');
		this.startReader();
		const target = await masterPosition(await this.controlConnection());
		const deadline = Date.now() + (this.options.idleMs ?? 1000);
		for (;;) {
			if (this.failure) throw this.failure;
			if (this.readyChanges >= maxChanges) break;
			// Caught up with the head as it was when read() began: return what there is, or wait
			// a little for something new rather than return nothing at once.
			const caughtUp = comparePositions(this.readThrough ?? this.position!, target) >= 0;
			if (caughtUp && this.ready.some((t) => t.changes.length > 0)) break;
			if (Date.now() >= deadline) break;
			await new Promise<void>((resolve) => {
				const timer = setTimeout(resolve, Math.max(1, Math.min(100, deadline - Date.now())));
				this.wake = () => {
					clearTimeout(timer);
					resolve();
				};
			});
			this.wake = null;
		}
		const batch: CdcBatch = { changes: [], position: null, commitTimes: [] };
		while (this.ready.length > 0 && (batch.changes.length === 0 || batch.changes.length + this.ready[0].changes.length <= maxChanges)) {
			const transaction = this.ready.shift()!;
			this.readyChanges -= transaction.changes.length;
			batch.changes.push(...transaction.changes);
			batch.position = transaction.position;
			batch.commitTimes.push(transaction.commitTime);
			this.unacked.push({ position: transaction.position, time: transaction.commitTime });
		}
		if (this.paused && this.readyChanges < 4 * Math.max(1000, maxChanges)) {
			this.paused = false;
			this.zongji?.connection?.resume();
		}
		return batch;
	}

	private startReader(): void {
		if (this.zongji) return;
		const ZongJi = loadZongJi();
		const start = parsePosition(this.acked ?? this.position!);
		this.position = formatPosition(start);
		this.file = start.file;
		const options = connectionOptions(this.settings);
		const zongji = new ZongJi({ ...options, database: undefined });
		this.zongji = zongji;
		zongji.on('error', (error) => this.fail(error));
		zongji.on('binlog', (event) => {
			try {
				this.onEvent(event);
			} catch (error) {
				this.fail(error as Error);
			}
		});
		const schemas: Record<string, string[]> = {};
		for (const { ref } of this.tables.values()) (schemas[ref.schema] ??= []).push(ref.name);
		zongji.start({
			serverId: this.options.serverId ?? randomInt(1 << 16, 2 ** 31),
			filename: start.file,
			position: start.offset,
			includeEvents: ['rotate', 'format', 'mariadbgtidlist', 'binlogcheckpoint', 'tablemap', 'writerows', 'updaterows', 'deleterows', 'xid', 'query', 'mariadbgtid'],
			includeSchema: schemas,
		});
	}

	private fail(error: Error): void {
		if (this.failure) return; // the first error is the cause; a reset connection follows it
		// An 'error' emitted where nobody listened reaches us wrapped (ERR_UNHANDLED_ERROR): unwrap it.
		const wrapped = error as Error & { code?: string; context?: unknown };
		if (wrapped.code === 'ERR_UNHANDLED_ERROR' && wrapped.context instanceof Error) error = wrapped.context;
		const e = error as Error & { errno?: number; code?: string };
		if (e.errno === 1236) {
			this.failure = new DbSourceError('slot', `The binlog position ${this.position} is no longer on the server (purged, or the server was reset): ${e.message}`, "Reset the stream's state so the table is snapshotted again, and keep binlogs longer (binlog_expire_logs_seconds) than the time between syncs");
		} else this.failure = classifyMySqlError(error, this.settings);
		this.wake?.();
	}

	private onEvent(event: ZongJiEvent): void {
		const name = event.getEventName();
		this.lastEventTime = new Date(event.timestamp);
		switch (name) {
			case 'rotate':
				if (event.binlogName) this.file = event.binlogName;
				return;
			case 'mariadbgtid':
				this.open = { changes: [], gtid: event.gtid };
				return;
			case 'writerows':
			case 'updaterows':
			case 'deleterows':
				this.onRows(name, event);
				return;
			case 'xid':
				this.commit(event);
				return;
			case 'query':
				this.onQuery(event);
				return;
			case 'format':
			case 'mariadbgtidlist':
			case 'binlogcheckpoint':
				// Between transactions: their end is a position as good as a commit's.
				if (!this.open) this.commit(event);
				return;
		}
	}

	private onRows(name: string, event: ZongJiEvent): void {
		const map = event.tableMap?.[event.tableId!];
		if (!map) return;
		const table = this.tables.get(`${map.parentSchema}.${map.tableName}`);
		if (!table) return;
		this.open ??= { changes: [] };
		const convert = (image: Record<string, unknown>): DbRow => convertRow(table.plans, image, table.plans.keys());
		const keyOf = (row: DbRow): DbRow => Object.fromEntries(table.key.map((k) => [k, row[k]]));
		const sameKey = (a: DbRow, b: DbRow) => table.key.every((k) => a[k] === b[k]);
		for (const image of event.rows ?? []) {
			if (name === 'writerows') this.open.changes.push({ op: 'upsert', table: table.ref, row: convert(image as Record<string, unknown>), position: '' });
			else if (name === 'deleterows') this.open.changes.push({ op: 'delete', table: table.ref, key: keyOf(convert(image as Record<string, unknown>)), position: '' });
			else {
				const { before, after } = image as { before: Record<string, unknown>; after: Record<string, unknown> };
				const old = convert(before);
				const row = convert(after);
				if (!sameKey(old, row)) this.open.changes.push({ op: 'delete', table: table.ref, key: keyOf(old), position: '' });
				this.open.changes.push({ op: 'upsert', table: table.ref, row, position: '' });
			}
		}
	}

	private onQuery(event: ZongJiEvent): void {
		const sql = (event.query ?? '').trim();
		if (/^BEGIN$/i.test(sql)) {
			this.open ??= { changes: [] };
			return;
		}
		if (/^(COMMIT|XA COMMIT)\b/i.test(sql)) {
			this.commit(event);
			return;
		}
		// A statement outside a row transaction (DDL): check what it does to the tables read.
		const schema = event.schemaName ?? '';
		for (const table of this.tables.values()) {
			if (!mentions(sql, schema, table.ref)) continue;
			if (/^TRUNCATE\b/i.test(sql)) {
				this.open ??= { changes: [] };
				this.open.changes.push({ op: 'truncate', table: table.ref, position: '' });
			} else if (/^(RENAME|DROP)\b/i.test(sql) || /^ALTER\s+TABLE\b[\s\S]*\bRENAME\b/i.test(sql)) {
				this.fail(new DbSourceError('schema', `Table ${tableId(table.ref)} was renamed or dropped at the source while it was being captured (${sql.slice(0, 120)})`, 'Update the table list of the connector and re-snapshot the table (reset its stream state)'));
				return;
			} else if (/^ALTER\b/i.test(sql)) {
				this.replan(table.ref);
			}
		}
		if (event.nextPosition > 0) this.commit(event);
	}

	/** A table changed shape: its columns are described again (new columns then reach bronze too). */
	private replan(ref: DbTableRef): void {
		const connection = this.control;
		if (!connection) return;
		this.zongji?.connection?.pause();
		describeMySqlColumns(connection, ref)
			.then((described) => {
				const table = this.tables.get(tableId(ref));
				if (table) table.plans = planColumns(ref, described.columns, this.notes);
				if (!this.paused) this.zongji?.connection?.resume();
			})
			.catch((error: Error) => this.fail(error));
	}

	private commit(event: ZongJiEvent): void {
		if (event.nextPosition <= 0) return;
		const position = formatPosition({ file: this.file, offset: event.nextPosition, gtid: this.open?.gtid ?? event.gtid });
		// The events the server replays from the start of a file when a reader resumes mid-file.
		if (comparePositions(position, this.readThrough ?? this.position!) <= 0) return;
		this.readThrough = position;
		const changes = (this.open?.changes ?? []).map((c) => ({ ...c, position }));
		this.open = null;
		this.ready.push({ changes, position, commitTime: new Date(event.timestamp) });
		this.readyChanges += changes.length;
		if (!this.paused && this.readyChanges > 50_000) {
			this.paused = true;
			this.zongji?.connection?.pause();
		}
		this.wake?.();
	}

	/** Before the first read: where to resume (the lowest position the tables committed). After: bookkeeping for the lag. */
	async ack(position: string): Promise<void> {
		if (!this.zongji || !this.acked || comparePositions(position, this.acked) > 0) this.acked = position;
		this.unacked = this.unacked.filter((u) => comparePositions(u.position, position) > 0);
	}

	async lag(): Promise<CdcLag> {
		const control = await this.controlConnection();
		const head = parsePosition(await masterPosition(control));
		const committed = this.acked ?? this.position;
		const from = committed ? parsePosition(committed) : head;
		const [logs] = await control.query('SHOW BINARY LOGS');
		let bytes = 0;
		let counting = false;
		for (const log of logs as Array<{ Log_name: string; File_size: number | string }>) {
			if (log.Log_name === from.file) counting = true;
			if (!counting) continue;
			const end = log.Log_name === head.file ? head.offset : Number(log.File_size);
			bytes += Math.max(0, end - (log.Log_name === from.file ? from.offset : 0));
			if (log.Log_name === head.file) break;
		}
		const oldest = this.unacked[0]?.time ?? (bytes > 0 ? this.lastEventTime : null);
		const seconds = bytes === 0 ? 0 : oldest ? Math.max(0, (Date.now() - oldest.getTime()) / 1000) : null;
		return { lagBytes: bytes, lagSeconds: seconds };
	}

	comparePositions(a: string, b: string): number {
		return comparePositions(a, b);
	}

	warnings(): string[] {
		return zeroDateWarnings(this.notes);
	}

	async close(): Promise<void> {
		this.zongji?.stop();
		this.zongji = null;
		await this.control?.end().catch(() => undefined);
		this.control = null;
	}
}

/** Whether a statement names the table (qualified, or unqualified in its own schema). */
function mentions(sql: string, schema: string, table: DbTableRef): boolean {
	const name = table.name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
	const db = table.schema.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
	const qualified = new RegExp(`\`?${db}\`?\\s*\\.\\s*\`?${name}\`?(?![\\w$])`, 'i');
	const bare = new RegExp(`(^|[\\s,(])\`?${name}\`?(?![\\w$.])`, 'i');
	return qualified.test(sql) || (schema === table.schema && bare.test(sql));
}
