/**
 * One file into one bronze table: open it (open.ts: compression, format, reader), read it as a stream of pages,
 * and load them through the engine's loader in ONE transaction (LoadOptions.atomic), so a file
 * lands whole or not at all — with its rejected rows and, for object storage, the state entry
 * that says it was loaded. Memory stays bounded: pages stream through COPY inside the transaction.
 */
import type { ClientBase, Pool } from 'pg';
import type { ColumnType } from '../../lakehouse/columnTypes';
import { copyCsvStream } from '../../lakehouse/copyLoad';
import { loadStream, type LoadResult, type Page } from '../../lakehouse/loader';
import { addRunRejects } from '../../lakehouse/runs';
import { quoteIdent, quoteLiteral } from '../../lakehouse/sql';
import { tableName, type SchemaChange, type TableRef } from '../../lakehouse/tables';
import { DEFAULT_SAMPLE_ROWS, repeatedHeaders } from './csv';
import { sniffDialect } from './csvSniff';
import { NotCopyable, planCsvCopy } from './csvCopy';
import { openBytes, parquetRanges, readerFor, type OpenedFile } from './open';
import { planParquetCopy } from './parquetCopy';
import { FileFormatError, type FileFormat, type FileSource, type ReadOptions, type Reject, type SourceColumn } from './types';

export const REJECT_TABLE: TableRef = { schema: 'ipai_bronze_core', name: 'ipai_load_reject' };

export interface IngestOptions extends ReadOptions {
	connectorId: string;
	runId: string;
	/** The connector stream whose state is committed with the file (object storage); default: the table. */
	stream?: string;
	table: TableRef;
	/** Merge by these columns (file or normalised names); omit to append. */
	key?: string[];
	/** Stream state to commit in the file's transaction (e.g. the list of files already loaded). */
	state?: Record<string, unknown>;
}

export interface FileSummary {
	file: string;
	format: FileFormat;
	table: string;
	rows: number;
	rowsRead: number;
	/**
	 * Rows of the file written to the reject table instead of the target — unreadable rows and rows
	 * a `drop` expectation refused; rowsRead counts them too (rows + rejects = rowsRead on append).
	 */
	rejects: number;
	/** Of the rejects, those refused by `drop` expectations, by expectation name (absent: none). */
	rejectsByExpectation?: Record<string, number>;
	/** CSV/TSV headers that repeat an earlier one, and the column each was given (a → a_2). */
	repeatedHeaders?: Array<{ header: string; position: number; column: string }>;
	bytes: number;
	durationMs: number;
	schemaChanges: SchemaChange[];
	columns: Array<{ source: string; column: string; type: ColumnType }>;
	detected: Record<string, unknown>;
}

/**
 * Loads one file; throws FileFormatError / BadRowError (nothing from the file committed).
 *
 * CSV, TSV (csvCopy.ts) and Parquet (parquetCopy.ts) go straight into COPY unless the file needs
 * the checked reader — then that attempt is rolled back, the file is opened again and read row by
 * row (the reason is in the summary's `detected.checkedBecause`). Other formats, and CSV with
 * rawRecord `full`, take the checked reader directly.
 */
export async function ingestFile(pool: Pool, source: FileSource, options: IngestOptions): Promise<FileSummary> {
	const started = Date.now();
	let bytes = { bytes: 0 };
	let opened = await openBytes(source, options, bytes);
	let checkedBecause: string | undefined;
	const copier = opened.format === 'parquet' ? copyParquetFile : (opened.format === 'csv' || opened.format === 'tsv') && (options.rawRecord ?? 'compact') === 'compact' ? copyFile : null;
	if (copier) {
		try {
			return await copier(pool, source, options, opened, bytes, started);
		} catch (error) {
			checkedBecause = notCopyableReason(error);
			if (checkedBecause === undefined) throw error;
		} finally {
			opened.stream.destroy();
		}
		bytes = { bytes: 0 };
		opened = await openBytes(source, options, bytes);
	}
	const { reader, cleanup } = await readerFor(source, options, opened, bytes);
	try {
		const key = keyColumns(source.name, reader.columns, options.key);
		let rejects = 0;
		const target = summaryTable(options.table);
		const renamed = reader.columns.filter((c) => c.column !== c.source);

		async function* pages(): AsyncGenerator<Page> {
			for await (const batch of reader.batches) {
				rejects += batch.rejects.length;
				const page: Page = { records: batch.records, raws: batch.raws };
				if (batch.rejects.length > 0) page.afterWrite = (client) => writeRejects(client, options, source.name, target, batch.rejects);
				yield page;
			}
			// The closing page: original column names as comments, and the state that records this
			// file as loaded — in the same transaction as the rows.
			yield {
				records: [],
				state: options.state,
				afterWrite: async (client) => {
					if (renamed.length > 0) await commentColumns(client, options.table, renamed);
					await countRejects(client, options.runId, rejects);
				},
			};
		}
		const result = await loadStream(pool, pages(), {
			connectorId: options.connectorId,
			runId: options.runId,
			stream: options.stream ?? `file:${options.table.schema}.${options.table.name}`,
			origin: source.name,
			table: options.table,
			key,
			columns: reader.columns.map((c) => ({ field: c.column, type: c.type })),
			atomic: true,
		});
		const detected = reader.format === 'csv' || reader.format === 'tsv' || reader.format === 'parquet' ? { ...reader.detected, path: 'checked', ...(checkedBecause ? { checkedBecause } : {}) } : reader.detected;
		const repeated = reader.format === 'csv' || reader.format === 'tsv' ? repeatedHeaders(reader.columns) : [];
		return {
			file: source.name,
			format: reader.format,
			table: target,
			rows: result.rowsWritten,
			rowsRead: result.rowsRead + rejects,
			...rejectCounts(rejects, result),
			...(repeated.length > 0 ? { repeatedHeaders: repeated } : {}),
			bytes: bytes.bytes,
			durationMs: Date.now() - started,
			schemaChanges: result.schemaChanges,
			columns: reader.columns.map(({ source: s, column, type }) => ({ source: s, column, type })),
			detected,
		};
	} finally {
		await cleanup();
	}
}

/** The key option (file or normalised names) as column names. */
function keyColumns(file: string, columns: SourceColumn[], key: string[] | undefined): string[] | undefined {
	const keyOf = new Map<string, string>();
	for (const c of columns) {
		// A repeated header names its first column (the others are a_2, … by their own names).
		if (!keyOf.has(c.source)) keyOf.set(c.source, c.column);
		keyOf.set(c.column, c.column);
	}
	return key?.map((k) => {
		const column = keyOf.get(k);
		if (!column) throw new FileFormatError(file, `key column "${k}" is not a column of the file (columns: ${columns.map((c) => c.source).join(', ')})`);
		return column;
	});
}

/**
 * Why a COPY attempt must give way to the checked reader, or undefined when the error is the
 * file's real outcome. PostgreSQL refusing a value (SQLSTATE class 22, e.g. invalid UTF-8 or a
 * date out of range; 23, a NULL key) is decided by the checked reader: it replaces or reports
 * exactly as it always did, with file, line and column.
 */
function notCopyableReason(error: unknown): string | undefined {
	if (error instanceof NotCopyable) return error.message;
	const code = (error as { code?: unknown })?.code;
	if (typeof code !== 'string') return undefined;
	if (/^2[23]/.test(code)) return `PostgreSQL refused a value (${code}: ${(error as Error).message})`;
	// The table's metadata DEFAULTs could not be set: readers held it for 10 s (55P03), the login
	// does not own it (42501), or the migrations (20261122000100_core.sql) are not applied (42883).
	if (['55P03', '42501', '42883'].includes(code)) return `the table's load defaults could not be set (${code}: ${(error as Error).message})`;
	return undefined;
}

async function copyFile(pool: Pool, source: FileSource, options: IngestOptions, opened: OpenedFile, bytes: { bytes: number }, started: number): Promise<FileSummary> {
	const file = source.name;
	const dialect = sniffDialect(opened.head, opened.complete, file, options.csv, opened.format === 'tsv');
	const plan = await planCsvCopy(opened.stream[Symbol.asyncIterator](), dialect, file, options, options.sampleRows ?? DEFAULT_SAMPLE_ROWS);
	const key = keyColumns(file, plan.columns, options.key);
	const target = summaryTable(options.table);
	const renamed = plan.columns.filter((c) => c.column !== c.source);
	const result = await copyCsvStream(pool, {
		connectorId: options.connectorId,
		runId: options.runId,
		stream: options.stream ?? `file:${options.table.schema}.${options.table.name}`,
		origin: file,
		table: options.table,
		key,
		state: options.state,
		...plan.load,
		tracker: opened.recycler,
		afterWrite: async (client) => {
			if (plan.rejects.length > 0) await writeRejects(client, options, file, target, plan.rejects);
			if (renamed.length > 0) await commentColumns(client, options.table, renamed);
			await countRejects(client, options.runId, plan.stats.rejects);
		},
	});
	const repeated = repeatedHeaders(plan.columns);
	return {
		file,
		format: dialect.delimiter === '\t' ? 'tsv' : 'csv',
		table: target,
		rows: result.rowsWritten,
		rowsRead: result.rowsRead + plan.stats.rejects,
		...rejectCounts(plan.stats.rejects, result),
		...(repeated.length > 0 ? { repeatedHeaders: repeated } : {}),
		bytes: bytes.bytes,
		durationMs: Date.now() - started,
		schemaChanges: result.schemaChanges,
		columns: plan.columns.map(({ source: s, column, type }) => ({ source: s, column, type })),
		detected: { ...plan.detected, path: 'copy' },
	};
}

/**
 * A file that failed while the workflow went on (n8n's Continue On Fail): an entry in the run's
 * metadata.failed_files, so the ledger shows it whether or not the run itself ends failed.
 * The message must already be free of secrets.
 */
export async function recordFailedFile(pool: Pool, runId: string, failure: { file: string | null; item: number; error: string }): Promise<void> {
	await pool.query(
		`update public.ipai_connector_run
		    set metadata = coalesce(metadata, '{}') || jsonb_build_object('failed_files', coalesce(metadata->'failed_files', '[]') || jsonb_build_array($2::jsonb))
		  where id = $1`,
		[runId, JSON.stringify(failure)],
	);
}

/** The target table as summaries, rejects and messages name it: schema.table. */
function summaryTable(table: TableRef): string {
	return `${table.schema}.${table.name}`;
}

/**
 * Unreadable rows were read too, though never by the loader: the run counts them in rows_read and
 * metadata.rows_rejected (present, 0 or more, on every run that loaded a file; the loader adds the
 * rows `drop` expectations refused).
 */
async function countRejects(client: ClientBase, runId: string, rejects: number): Promise<void> {
	await addRunRejects(client, runId, rejects, rejects);
}

/** A summary's reject counts: the reader's unreadable rows plus the loader's expectation drops. */
function rejectCounts(unreadable: number, result: LoadResult): Pick<FileSummary, 'rejects' | 'rejectsByExpectation'> {
	const dropped = Object.values(result.droppedBy ?? {}).reduce((a, b) => a + b, 0);
	return { rejects: unreadable + dropped, ...(result.droppedBy ? { rejectsByExpectation: result.droppedBy } : {}) };
}

async function copyParquetFile(pool: Pool, source: FileSource, options: IngestOptions, opened: OpenedFile, bytes: { bytes: number }, started: number): Promise<FileSummary> {
	const file = source.name;
	const { ranges, cleanup } = await parquetRanges(source, opened, bytes);
	try {
		const plan = await planParquetCopy(ranges, file, options);
		const key = keyColumns(file, plan.columns, options.key);
		const renamed = plan.columns.filter((c) => c.column !== c.source);
		const result = await copyCsvStream(pool, {
			connectorId: options.connectorId,
			runId: options.runId,
			stream: options.stream ?? `file:${options.table.schema}.${options.table.name}`,
			origin: file,
			table: options.table,
			key,
			state: options.state,
			...plan.load,
			csv: { delimiter: '\t', quote: '"', encoding: 'UTF8' }, // unused: the rows are COPY text format
			afterWrite: async (client) => {
				// The footer's row count is the file's promise: loading fewer or more rows is a failure.
				if (plan.stats.rows !== plan.totalRows) throw new FileFormatError(file, `the footer says ${plan.totalRows} rows, the row groups hold ${plan.stats.rows}`);
				if (renamed.length > 0) await commentColumns(client, options.table, renamed);
			},
		});
		return {
			file,
			format: 'parquet',
			table: summaryTable(options.table),
			rows: result.rowsWritten,
			rowsRead: result.rowsRead,
			...rejectCounts(0, result),
			bytes: bytes.bytes,
			durationMs: Date.now() - started,
			schemaChanges: result.schemaChanges,
			columns: plan.columns.map(({ source: s, column, type }) => ({ source: s, column, type })),
			detected: { ...plan.detected, path: 'copy', copyFormat: plan.stats.format, ...(plan.stats.nulReplaced > 0 ? { nulReplaced: plan.stats.nulReplaced } : {}) },
		};
	} finally {
		await cleanup();
	}
}

async function writeRejects(client: ClientBase, options: IngestOptions, file: string, target: string, rejects: Reject[]): Promise<void> {
	await client.query(
		`insert into ${tableName(REJECT_TABLE)} (connector_id, run_id, target_table, source_file, line_number, column_name, reason, raw_line)
		 select $1, $2, $3, $4, r.line, r.col, r.reason, r.raw
		   from unnest($5::bigint[], $6::text[], $7::text[], $8::text[]) as r(line, col, reason, raw)`,
		[
			options.connectorId,
			options.runId,
			target,
			file,
			rejects.map((r) => r.line),
			rejects.map((r) => r.column),
			rejects.map((r) => r.reason.replace(/\u0000/g, '\uFFFD')),
			rejects.map((r) => (r.raw === null ? null : r.raw.replace(/\u0000/g, '\uFFFD'))),
		],
	);
}

/** Keeps each renamed column's name in the file as its comment (only for columns that exist). */
async function commentColumns(client: ClientBase, table: TableRef, renamed: Array<{ source: string; column: string }>): Promise<void> {
	const { rows } = await client.query<{ attname: string }>(
		`select attname from pg_attribute where attrelid = to_regclass($1) and attnum > 0 and not attisdropped`,
		[tableName(table)],
	);
	const existing = new Set(rows.map((r) => r.attname));
	for (const c of renamed) {
		if (!existing.has(c.column)) continue;
		await client.query(`comment on column ${tableName(table)}.${quoteIdent(c.column)} is ${quoteLiteral(`source field: ${c.source.replace(/\u0000/g, '')}`)}`);
	}
}
