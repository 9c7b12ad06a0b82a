/**
 * What a database engine (PostgreSQL, MySQL/MariaDB) provides to the database source: a
 * connection whose failures are classified for a person, discovery, a consistent snapshot read
 * by keyset pages, incremental pages in (cursor, key) order, change data capture whose position
 * is acknowledged only after the lakehouse committed it, and the mapping of its column types to
 * bronze's. The shared parts (config, streams, the run) live beside this file and never know
 * which engine they drive.
 */
import type { Readable } from 'node:stream';
import type { ColumnType } from '../../lakehouse/columnTypes';
import type { JsonScalar, PageRequest } from '../../lakehouse/stream';

export type DbEngineName = 'postgres' | 'mysql';

/** From the n8n credential (never from the connector config). */
export interface DbConnectionSettings {
	host: string;
	port: number;
	database: string;
	user: string;
	password: string;
	/** disable: plain TCP; require: TLS without verifying the certificate; verify-full: verified against `ca` (or the system's CAs). */
	ssl?: 'disable' | 'require' | 'verify-full';
	ca?: string;
	connectTimeoutSeconds?: number;
}

/**
 * Why a database source failed, for the message and the fix:
 * unreachable (host/port/TLS), login (user/password), database (it does not exist),
 * privilege (a missing grant or REPLICATION), config (the source is set up wrongly for the mode,
 * e.g. wal_level), schema (a table/column/key that is not there), type (a column type with no
 * mapping), slot (a replication slot that is gone, invalid or used by someone else).
 */
export type DbErrorKind = 'unreachable' | 'login' | 'database' | 'privilege' | 'config' | 'schema' | 'type' | 'slot';

export class DbSourceError extends Error {
	constructor(
		readonly kind: DbErrorKind,
		message: string,
		/** What to do about it, appended to the message. */
		readonly fix?: string,
	) {
		super(fix ? `${message}. ${fix}` : message);
		this.name = 'DbSourceError';
	}
}

export interface DbTableRef {
	schema: string;
	name: string;
}

export interface DbColumn {
	name: string;
	/** The type as the source names it (e.g. numeric(12,2), tinyint(1) unsigned). */
	sourceType: string;
	nullable: boolean;
	/** The bronze column type (mapType); null when the type has no mapping. */
	bronzeType: ColumnType | null;
}

export interface DbTableInfo extends DbTableRef {
	columns: DbColumn[];
	/** Primary key columns in key order; null when the table has none. */
	primaryKey: string[] | null;
	estimatedRows: number | null;
}

/** A row as it goes to bronze: column name → value already in the form its bronze type takes. */
export type DbRow = Record<string, unknown>;

const SOURCE_FORM = Symbol('ipai.db.sourceForm');

/**
 * Marks a row whose bronze values lost something of the source's (e.g. a MySQL zero date read as
 * NULL): `form` is the row with the source's own value of each such column, kept as its _ipai_raw
 * whatever the table's `raw` setting. A symbol, so it follows the row through spreads but never
 * becomes a column.
 */
export function keepSourceForm(row: DbRow, form: DbRow): void {
	(row as { [SOURCE_FORM]?: DbRow })[SOURCE_FORM] = form;
}

/** The row's source form when reading it lost something (keepSourceForm), else undefined. */
export function sourceFormOf(row: DbRow): DbRow | undefined {
	return (row as { [SOURCE_FORM]?: DbRow })[SOURCE_FORM];
}

/** Which rows of a table to read and how (the source's own column names). */
export interface TableRead {
	table: DbTableRef;
	columns: DbColumn[];
	key: string[];
	/** Cursor columns for an incremental read. */
	cursor?: string[];
	/**
	 * A table without a key: pages in the engine's physical order, each row carrying its position
	 * under this name (PostgreSQL: ctid), valid within one read view only.
	 */
	positionColumn?: string;
}

/**
 * What the text a reader selects for a column is, i.e. how the row read turns it into the row's
 * value: `text` stays that string, `boolean` is true/false, `json` is JSON text (the value is that
 * JSON), `json-array` a JSON array of text elements (a text[] or bigint[] column). A load that
 * merges the source's own text in SQL (copyFull.ts) gives each kind the same value from it.
 */
export type DbTextKind = 'text' | 'boolean' | 'json' | 'json-array';

/** A page of a full read as the source's COPY text (see DbReadView.copyPage). */
export interface DbCopyPage {
	/** The selected columns in order, with the kind of text each carries. */
	columns: Array<{ name: string; kind: DbTextKind }>;
	/** Starts the source's COPY: text format (tab-separated, \N for NULL, backslash escapes; UTF-8), in key order. */
	open(): Readable;
	/** The source's failures, said as for a row read (a table gone, a column gone, the server). */
	explain(error: unknown): Error;
}

/** A read view: every read through it sees the source at one instant. */
export interface DbReadView {
	/**
	 * A page of rows in key order, in key order among the rows with a NULL in any cursor column,
	 * or in (cursor, key) order among the rows without one (PageRequest from the incremental helper).
	 */
	readPage(read: TableRead, request: PageRequest): Promise<DbRow[]>;
	/** The largest cursor value among rows without a NULL cursor column now (a full refresh's high-water mark). */
	maxCursor(read: TableRead): Promise<JsonScalar[] | null>;
	/** How many rows have a NULL in any cursor column now (rows that (cursor, key) order cannot see). */
	countNullCursor(read: TableRead): Promise<number>;
	/** Every key the table has, streamed in pages (inferred deletes). */
	keys(read: Pick<TableRead, 'table' | 'key'>): AsyncIterable<unknown[]>;
	/**
	 * Engines that can: the `order: 'key'` page `readPage` would return, as the bytes of the
	 * source's own COPY of the same selected text, so no row becomes a JavaScript value. A string
	 * when this table cannot be read so (why, for the code's readers); never called with a
	 * positionColumn.
	 */
	copyPage?(read: TableRead, afterKey: JsonScalar[] | null, limit: number): DbCopyPage | string;
	/** Another view on its own connection that sees the same instant (a second table reader). */
	share(): Promise<DbReadView>;
	/** What reading changed about values, for the run's warnings (e.g. MySQL zero dates read as NULL). */
	warnings?(): string[];
	close(): Promise<void>;
}

/** A value an update left unchanged and the log does not carry (PostgreSQL: an unchanged TOASTed value). */
export const UNCHANGED_VALUE: Readonly<{ unchanged: true }> = Object.freeze({ unchanged: true as const });

export function isUnchanged(value: unknown): boolean {
	return value === UNCHANGED_VALUE;
}

/** A change read from the source's log. */
export type CdcChange = (
	| { op: 'upsert'; table: DbTableRef; row: DbRow }
	| { op: 'delete'; table: DbTableRef; key: DbRow }
	| { op: 'truncate'; table: DbTableRef }
) & {
	/** The position after this change's transaction: a table whose committed position is at or past it has it already. */
	position: string;
};

export interface CdcBatch {
	/** Whole source transactions, in commit order. */
	changes: CdcChange[];
	/** The position after the last transaction of the batch (to acknowledge once it committed); null: nothing new. */
	position: string | null;
	/** Commit times at the source of the batch's transactions, oldest first (for the lag). */
	commitTimes: Date[];
}

export interface CdcLag {
	lagBytes: number | null;
	lagSeconds: number | null;
}

/** Change data capture of a set of tables (PostgreSQL: a slot and a publication; MySQL: the binlog). */
export interface DbCdc {
	/** Checks, before anything is written, that the server and user can capture these tables (log settings, privileges, keys). */
	check(tables: DbTableRef[]): Promise<void>;
	/**
	 * Creates or reuses what the capture needs. When it had to be created, returns a read view
	 * consistent with the capture's start (the initial snapshot) and that start position. With
	 * `mustExist` (tables already follow it), a capture that is gone is an error naming the
	 * re-snapshot step, never silently recreated (the changes in between would be lost).
	 */
	start(tables: DbTableRef[], options: { mustExist: boolean }): Promise<{ created: boolean; position: string; snapshot: DbReadView | null }>;
	/** Up to about `maxChanges` changes after the acknowledged position (whole transactions). */
	read(maxChanges: number): Promise<CdcBatch>;
	/** Tells the source everything up to `position` is safely stored (it may free its log). */
	ack(position: string): Promise<void>;
	lag(): Promise<CdcLag>;
	/** Orders two positions (negative: a before b). */
	comparePositions(a: string, b: string): number;
	/** What reading changed about values, for the run's warnings. */
	warnings?(): string[];
	close(): Promise<void>;
}

export interface CdcOptions {
	/** PostgreSQL: the replication slot and publication names. */
	slot?: string;
	publication?: string;
}

export interface DbEngine {
	readonly name: DbEngineName;
	/** Connects and checks what a sync needs; throws a classified DbSourceError. */
	test(): Promise<void>;
	listSchemas(): Promise<string[]>;
	/** Where a table named without a schema lives (PostgreSQL: public; MySQL: the credential's database); null: nowhere. */
	defaultSchema(): string | null;
	listTables(schema: string): Promise<Array<DbTableRef & { estimatedRows: number | null }>>;
	/** A table's columns and key; a table that is gone (renamed) is a DbSourceError('schema'). */
	describeTable(table: DbTableRef): Promise<DbTableInfo>;
	/** A consistent read view shared by the table readers of one run. */
	openSnapshot(): Promise<DbReadView>;
	/** A read view without snapshot isolation across reads (incremental pages). */
	openReader(): Promise<DbReadView>;
	cdc(options: CdcOptions): DbCdc;
	close(): Promise<void>;
}
