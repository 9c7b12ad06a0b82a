/**
 * The bulk path: a source's own bytes (CSV, or COPY text a Parquet reader writes) straight into
 * one COPY of a bronze table, in ONE transaction with the table's creation or evolution, the
 * rows' checks, the run's counts and the stream's state. The metadata columns come from DEFAULTs
 * set for the transaction, so the bytes carry only the file's own fields (and _ipai_raw).
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ClientBase, Pool } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { inTransaction } from './connection';
import type { LoadOptions, LoadProgress, LoadResult } from './loader';
import { addDrops, appendFromStaging, assertSameKey, needsEvolution, PAGE_SETTINGS, recordExpectationFailure, upsertFromStaging } from './pageWrite';
import { addRunCounts, holdLease } from './runs';
import { quoteIdent, quoteLiteral } from './sql';
import { setStreamState } from './streamState';
import { columnNameFor, createTable, describeTable, evolveTable, META, SchemaError, tableName, type ColumnSpec, type SchemaChange, type TableRef, type TableShape } from './tables';
import { enforcePageExpectations, rowExpectationsFor } from '../dq/enforce';

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
 * COPY (migrations/20261122000100_core.sql), so rows carry only their data (and _ipai_raw where it is not `{}`).
 */
export interface CsvCopyOptions extends Pick<LoadOptions, 'connectorId' | 'runId' | 'stream' | 'table' | 'origin' | 'key'> {
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
	rows: (context: { shape: TableShape; format: CopyFormat }) => AsyncIterable<Buffer> | Iterable<Buffer>;
	rowsCarryRaw: boolean;
	/** Rows that do carry _ipai_raw, COPYed after `rows` (append loads only: order is not kept). */
	moreRows?: () => AsyncIterable<Buffer> | Iterable<Buffer>;
	/** Runs in the transaction after the rows are written (e.g. rejected rows, column comments). */
	afterWrite?: (client: ClientBase) => Promise<void>;
	/** Follows the buffers of `rows` to the socket, for a reader that reuses them. */
	tracker?: CopyBufferTracker;
	/**
	 * The rows' format once the table's shape is known, instead of `csv`: COPY's text format
	 * (tab-separated, \N for NULL, backslash escapes; UTF-8) or its binary format (for columns
	 * whose exact types the caller checked: a binary value is not parsed, only received).
	 */
	copyFormat?: (shape: TableShape) => 'text' | 'binary';
}

export type CopyFormat = 'csv' | 'text' | 'binary';

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
export async function ensureLoadDefaults(client: ClientBase, table: TableRef): Promise<void> {
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

/**
 * Sets the values the metadata DEFAULTs give every row COPYed in this transaction from now on
 * (`raw`: the _ipai_raw JSON text, or '' for NULL).
 */
export async function setLoadSettings(client: ClientBase, load: { connectorId: string; runId: string; extractedAt: Date; raw: string }): Promise<void> {
	await client.query(`select ${LOAD_DEFAULTS.map((d, i) => `set_config('${d.setting}', $${i + 1}, true)`).join(', ')}`, [
		load.connectorId,
		load.runId,
		load.extractedAt.toISOString(),
		load.raw,
	]);
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
		assertSameKey(options.table, keyColumns, shape);
		if (needsEvolution(shape, options.columns)) {
			const evolved = await evolveTable(client, options.table, options.columns, ids);
			changes.push(...evolved.changes);
			shape = evolved.shape;
		}
		await setLoadSettings(client, { ...ids, extractedAt, raw: '{}' });
		if (keyColumns && !options.rowsCarryRaw) throw new SchemaError('A keyed CSV load must carry _ipai_raw on every row (rows keep their order in one COPY)');

		const { delimiter, quote, encoding } = options.csv;
		const data = options.columns.map((c) => quoteIdent(columnNameFor(c.field)));
		// PostgreSQL's CSV rule: an unquoted empty field is NULL, a quoted one ("") the empty string.
		// Only a text column can hold the empty string; FORCE_NULL makes "" NULL in the others (the
		// caller keeps the "" in _ipai_raw). Parquet writes COPY's text or binary format, which have their own NULL.
		const forceNull = options.columns.filter((c) => c.type !== 'text').map((c) => quoteIdent(columnNameFor(c.field)));
		const format: CopyFormat = options.copyFormat?.(shape) ?? 'csv';
		const copyOptions =
			format === 'binary'
				? 'format binary'
				: format === 'text'
					? `format text, encoding 'UTF8'`
					: `format csv, delimiter ${quoteLiteral(delimiter)}, quote ${quoteLiteral(quote)}, escape ${quoteLiteral(quote)}, ` +
				`null '', encoding ${quoteLiteral(encoding)}${forceNull.length > 0 ? `, force_null (${forceNull.join(', ')})` : ''}`;
		// A binary text value is converted from the client encoding (the COPY has no ENCODING of its
		// own), and the rows are UTF-8 as in the text format.
		if (format === 'binary') await client.query(`set local client_encoding = 'UTF8'`);
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
		let copied = await copyRows(options.rows({ shape, format }), options.rowsCarryRaw, options.tracker);
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
