/**
 * A full table's first load straight into bronze: while bronze holds no row of the connector in
 * the table (and no refresh is being resumed), every page is a disjoint key range of rows bronze
 * has never seen, so nothing is merged — the source's COPY text goes into a COPY of the bronze
 * table itself, which reads each value with its column's input function (what the staged path's
 * `text::type` casts call), and the metadata columns take the load DEFAULTs (copyLoad.ts), with
 * _ipai_raw NULL. Only for tables whose every column is read as plain text or a boolean, loaded by
 * their primary key (a page never repeats a key), without `raw: true` or row expectations.
 *
 * The page transaction is the staged path's: the rows, the run's counts and the cursor (the last
 * key, read from the COPY text as it passes) commit together, in page order, so a killed first
 * load resumes after its last committed page (through the staged path: a resume merges). The first
 * page creates the table in its transaction; the next page is copied only once it has committed.
 */
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ClientBase, Pool } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { inTransaction } from '../../lakehouse/connection';
import { ensureLoadDefaults, setLoadSettings } from '../../lakehouse/copyLoad';
import { holdsRowsOf, needsEvolution, PAGE_SETTINGS } from '../../lakehouse/pageWrite';
import { addRunCounts, holdLease } from '../../lakehouse/runs';
import { quoteIdent } from '../../lakehouse/sql';
import type { JsonScalar, StreamRun } from '../../lakehouse/stream';
import { setStreamState } from '../../lakehouse/streamState';
import { columnNameFor, createTable, describeTable, evolveTable, SchemaError, tableName, type SchemaChange, type TableShape } from '../../lakehouse/tables';
import { rowExpectationsFor } from '../../dq/enforce';
import type { DbCopyPage } from './engine';
import { keepsRaw } from './rawRecord';
import type { DbTablePlan } from './streams';

/** A page COPYed into bronze, waiting for the page before it to commit. */
export interface DirectPage {
	direct: true;
	rows: number;
	/** The page's last key as the source's text (the next page starts after it). */
	last: JsonScalar[] | null;
	/** The first page of the load (it proved the lease and made or evolved the table). */
	first: boolean;
	/** The first page created the table: the next page's COPY must wait for its commit. */
	creates: boolean;
	changes: SchemaChange[];
}

/** Thrown inside a page's transaction to roll it back when the row path must take the table over. */
export class Fallback extends Error {}

/** Bronze columns that no longer have their mapped type (the casts only know the mapped type). */
export function widenedColumns(plan: DbTablePlan, shape: TableShape): string[] {
	return plan.columns.filter((c) => shape.columns.get(columnNameFor(c.field)) !== c.type).map((c) => columnNameFor(c.field));
}

/** Why pages of this table cannot go straight into bronze, whatever bronze holds (null: they can). */
export function directReason(plan: DbTablePlan, columns: DbCopyPage['columns']): string | null {
	if (keepsRaw(plan)) return 'raw: true builds _ipai_raw from each row';
	if (!plan.key || plan.key.join(',') !== (plan.info.primaryKey ?? []).join(',')) return 'the key is not the primary key: a page may repeat a key';
	const converted = columns.filter((c) => c.kind !== 'text' && c.kind !== 'boolean');
	if (converted.length > 0) return `column(s) ${converted.map((c) => c.name).join(', ')} are converted in SQL`;
	return null;
}

/**
 * Whether bronze lets this load go straight in: no table yet (the first page makes it), or one
 * that holds no row of the connector, has each column's mapped type and no row expectations. Such
 * a table gets the load DEFAULTs here, in a short transaction of its own (an ALTER's exclusive
 * lock must not last a page); if that cannot be done, the staged path loads the table.
 */
export async function prepareDirect(pool: Pool, plan: DbTablePlan, run: StreamRun): Promise<boolean> {
	const client = await pool.connect();
	let shape: TableShape | null;
	try {
		shape = await describeTable(client, plan.target);
		if (!shape) return true;
		if (widenedColumns(plan, shape).filter((c) => shape!.columns.has(c)).length > 0) return false;
		if ((await holdsRowsOf(client, tableName(plan.target), run.connectorId)) || (await rowExpectationsFor(client, plan.target))) return false;
	} finally {
		client.release();
	}
	return inTransaction(pool, async (tx) => {
		await tx.query(`set local lock_timeout = '10s'`);
		await ensureLoadDefaults(tx, plan.target);
		return true;
	}).catch(() => false);
}

/**
 * COPYs a page from the source into bronze in the page's transaction (begun). The first page
 * proves the lease and creates or evolves the table first; a first page without rows makes no table.
 */
export async function copyDirect(client: ClientBase, plan: DbTablePlan, page: DbCopyPage, load: { first: boolean; run: StreamRun; extractedAt: Date }): Promise<DirectPage> {
	const { run } = load;
	// UTC before the COPY: its input functions read timestamps without a zone in the session's.
	await client.query(PAGE_SETTINGS);
	const changes: SchemaChange[] = [];
	let creates = false;
	if (load.first) {
		await holdLease(client, run.connectorId, run.runId);
		await client.query('savepoint ipai_direct_table');
		const ids = { connectorId: run.connectorId, runId: run.runId };
		const shape = await describeTable(client, plan.target);
		if (!shape) {
			changes.push(...(await createTable(client, plan.target, plan.columns, plan.key, ids, { rawOptional: true })));
			await ensureLoadDefaults(client, plan.target);
			creates = true;
		} else if (needsEvolution(shape, plan.columns)) {
			changes.push(...(await evolveTable(client, plan.target, plan.columns, ids)).changes);
		}
	}
	await setLoadSettings(client, { connectorId: run.connectorId, runId: run.runId, extractedAt: load.extractedAt, raw: '' });
	const names = page.columns.map((c) => c.name);
	const keyIndexes = plan.key!.map((k) => names.indexOf(k));
	const textKeys = plan.key!.filter((k) => plan.columns.find((c) => c.field === k)?.type === 'text').map((k) => names.indexOf(k));
	const watch = new RowWatch(textKeys);
	const copy = client.query(copyFrom(`copy ${tableName(plan.target)} (${names.map((n) => quoteIdent(columnNameFor(n))).join(', ')}) from stdin`));
	const source = page.open();
	let sourceFailed: unknown;
	source.once('error', (error) => (sourceFailed ??= error));
	await pipeline(source, watch, copy).catch((error: unknown) => {
		throw sourceFailed !== undefined ? page.explain(sourceFailed) : error;
	});
	const rows = copy.rowCount ?? 0;
	if (watch.emptyKey) throw new SchemaError(`A row of ${plan.stream} has no value for key field(s) ${plan.key!.join(', ')}`);
	if (rows === 0 && creates) {
		// As a page without records: no table made for nothing, only the cursor moves.
		await client.query('rollback to savepoint ipai_direct_table');
		return { direct: true, rows, last: null, first: load.first, creates: false, changes: [] };
	}
	const fields = watch.lastRow();
	return { direct: true, rows, last: fields && keyIndexes.map((i) => decodeCopyText(fields[i])), first: load.first, creates, changes };
}

/**
 * The rest of a direct page's transaction, once the page before it committed: its table still as
 * COPYed into (the COPY's lock makes a later change wait for this commit), the lease, the run's
 * counts and the cursor. A table that changed under the load hands it to the row path.
 */
export async function finishDirect(client: ClientBase, plan: DbTablePlan, page: DirectPage, run: StreamRun, cursor: unknown): Promise<void> {
	if (!page.first) await holdLease(client, run.connectorId, run.runId);
	if (page.rows > 0) {
		const shape = await describeTable(client, plan.target);
		const widened = shape ? widenedColumns(plan, shape) : [];
		if (widened.length > 0) throw new Fallback(`bronze column(s) ${widened.join(', ')} no longer have their mapped type`);
		if (await rowExpectationsFor(client, plan.target)) throw new Fallback('the table has row expectations');
	}
	await addRunCounts(client, run.runId, page.rows, page.rows);
	await setStreamState(client, run.connectorId, plan.stream, { cursor, runId: run.runId });
}

/**
 * Passes a page's COPY text through unchanged, keeping its last row; with `textKeys` (the indexes
 * of key fields that could be empty text) it also looks at every row for an empty one, which the
 * row path refuses.
 */
class RowWatch extends Transform {
	/** The bytes since the last newline that has bytes after it: the last row once the text ends. */
	private tail: Buffer[] = [];
	private tailEndsRow = true;
	/** The unfinished row at the end of the chunks scanned so far. */
	private partial: Buffer[] = [];
	emptyKey = false;

	constructor(private readonly textKeys: number[]) {
		super();
	}

	override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
		if (chunk.length > 0) {
			if (this.textKeys.length > 0 && !this.emptyKey) this.scan(chunk);
			// COPY text escapes newlines inside values: a newline byte only ends a row.
			const newline = chunk.length > 1 ? chunk.lastIndexOf(0x0a, chunk.length - 2) : -1;
			if (newline >= 0) this.tail = [chunk.subarray(newline + 1)];
			else if (this.tailEndsRow) this.tail = [chunk];
			else this.tail.push(chunk);
			this.tailEndsRow = chunk[chunk.length - 1] === 0x0a;
		}
		callback(null, chunk);
	}

	/** The last row's fields as COPY text (null: no row). */
	lastRow(): string[] | null {
		const text = Buffer.concat(this.tail).toString('utf8');
		if (text === '') return null;
		return (text.endsWith('\n') ? text.slice(0, -1) : text).split('\t');
	}

	private scan(chunk: Buffer): void {
		let start = 0;
		for (let end = chunk.indexOf(0x0a); end >= 0; end = chunk.indexOf(0x0a, start)) {
			let row = chunk.subarray(start, end);
			if (this.partial.length > 0) {
				row = Buffer.concat([...this.partial, row]);
				this.partial = [];
			}
			if (this.textKeys.some((i) => isEmptyField(row, i))) {
				this.emptyKey = true;
				return;
			}
			start = end + 1;
		}
		if (start < chunk.length) this.partial.push(chunk.subarray(start));
	}
}

/** Whether field `index` of a COPY text row is empty or NULL (\N). */
function isEmptyField(row: Buffer, index: number): boolean {
	let start = 0;
	for (let i = 0; i < index; i++) {
		const tab = row.indexOf(0x09, start);
		if (tab < 0) return false;
		start = tab + 1;
	}
	const tab = row.indexOf(0x09, start);
	const end = tab < 0 ? row.length : tab;
	return end === start || (end - start === 2 && row[start] === 0x5c && row[start + 1] === 0x4e);
}

const ESCAPES: Record<string, number> = { b: 8, f: 12, n: 10, r: 13, t: 9, v: 11 };

/** A field of COPY's text format as its value (\N: null), by PostgreSQL's rules for COPY FROM. */
export function decodeCopyText(field: string): string | null {
	if (field === '\\N') return null;
	if (!field.includes('\\')) return field;
	const input = Buffer.from(field, 'utf8');
	const output: number[] = [];
	for (let i = 0; i < input.length; i++) {
		const byte = input[i];
		if (byte !== 0x5c || i + 1 === input.length) {
			output.push(byte);
			continue;
		}
		const next = String.fromCharCode(input[++i]);
		if (next >= '0' && next <= '7') {
			let digits = next;
			while (digits.length < 3 && i + 1 < input.length && input[i + 1] >= 0x30 && input[i + 1] <= 0x37) digits += String.fromCharCode(input[++i]);
			output.push(parseInt(digits, 8) & 0xff);
		} else if (next === 'x' && i + 1 < input.length && /[0-9a-fA-F]/.test(String.fromCharCode(input[i + 1]))) {
			let digits = String.fromCharCode(input[++i]);
			if (i + 1 < input.length && /[0-9a-fA-F]/.test(String.fromCharCode(input[i + 1]))) digits += String.fromCharCode(input[++i]);
			output.push(parseInt(digits, 16));
		} else {
			output.push(ESCAPES[next] ?? input[i]);
		}
	}
	return Buffer.from(output).toString('utf8');
}
