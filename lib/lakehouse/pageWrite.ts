/**
 * What both load paths (pages, and a file's bytes straight into COPY) share once rows are staged:
 * the page transaction's settings, the key and shape checks, merging or appending staged rows into
 * the table, the counts of rows data quality dropped, and the record of a failed expectation.
 */
import { randomUUID } from 'node:crypto';
import type { ClientBase, Pool } from 'pg';
import { widen } from './columnTypes';
import { quoteIdent } from './sql';
import { columnNameFor, META, SchemaError, tableName, type ColumnSpec, type TableRef, type TableShape } from './tables';
import type { LoadProgress } from './loader';
import { recordRolledBackFailure } from '../dq/results';
import { ExpectationFailedError } from '../dq/types';

/**
 * Settings of every page transaction. UTC, so values without a zone and date → timestamptz
 * widenings mean the same on every server. synchronous_commit off: the commit does not wait for
 * its WAL to reach disk. If the *database server* crashes, the last pages committed this way may
 * be lost — but each page is lost together with its cursor checkpoint (same transaction, WAL
 * order), so the source simply re-reads them: no loss, no duplicate, no cursor ahead of data.
 * It only trades a re-read after a server crash for not waiting on an fsync per page.
 */
export const PAGE_SETTINGS = `set local timezone = 'UTC'; set local synchronous_commit = off`;

/** A stream must load by the key its table was made with. */
export function assertSameKey(table: TableRef, keyColumns: string[] | null, shape: TableShape): void {
	const wanted = keyColumns?.join(',') ?? '';
	const actual = shape.key?.join(',') ?? '';
	if (wanted !== actual) {
		throw new SchemaError(
			`${tableName(table)} is keyed by (${actual || 'nothing: append-only'}) but this stream loads by ` +
				`(${wanted || 'nothing: append-only'}); load into another table or use the same key`,
		);
	}
}

/** Whether the table lacks a column or cannot hold a column's type. */
export function needsEvolution(shape: TableShape, columns: ColumnSpec[]): boolean {
	return columns.some((c) => {
		const column = columnNameFor(c.field);
		if (!shape.columns.has(column)) return true;
		const current = shape.columns.get(column) ?? null;
		return current !== null && widen(current, c.type) !== current;
	});
}

/**
 * Merges a staging table into its target by (connector, key). Only rows whose data changed (or
 * that come back after being marked deleted) are rewritten: an unchanged re-sync costs no row
 * versions and does not count as written. With `arrivalOrder`, the staging rows may repeat a key
 * and the last to arrive wins. Returns the rows written.
 */
export async function upsertFromStaging(
	client: ClientBase,
	target: string,
	staging: string,
	dataColumns: string[],
	keyColumns: string[],
	arrivalOrder?: string,
): Promise<number> {
	const all = [...dataColumns, META.connectorId, META.runId, META.extractedAt, META.deletedAt, META.raw];
	const conflict = [META.connectorId, ...keyColumns.map(quoteIdent)];
	const updatable = all.filter((c) => !conflict.includes(c));
	const changed = [...dataColumns, META.raw].filter((c) => !conflict.includes(c));
	const source = arrivalOrder
		? `select distinct on (${conflict.join(', ')}) ${all.join(', ')} from ${staging} order by ${conflict.join(', ')}, ${arrivalOrder} desc`
		: `select ${all.join(', ')} from ${staging}`;
	const result = await client.query(
		`insert into ${target} as t (${all.join(', ')})
		 ${source}
		 on conflict (${conflict.join(', ')}) do update
		    set ${updatable.map((c) => `${c} = excluded.${c}`).join(', ')}
		  where (${changed.map((c) => `t.${c}`).join(', ')}) is distinct from (${changed.map((c) => `excluded.${c}`).join(', ')})
		     or t.${META.deletedAt} is not null`,
	);
	return result.rowCount ?? 0;
}

/**
 * Whether the table holds any row of the connector. While it holds none and a run holds the
 * connector's lease, a load whose pages cover disjoint keys only inserts: nothing to merge with.
 */
export async function holdsRowsOf(client: ClientBase, target: string, connectorId: string): Promise<boolean> {
	const { rows } = await client.query(`select exists (select 1 from ${target} where ${META.connectorId} = $1) as found`, [connectorId]);
	return rows[0].found;
}

/** An append page that was staged (to be checked): its remaining rows go into the table. */
export async function appendFromStaging(client: ClientBase, target: string, staging: string, dataColumns: string[]): Promise<number> {
	const all = [...dataColumns, META.connectorId, META.runId, META.extractedAt, META.deletedAt, META.raw];
	const result = await client.query(`insert into ${target} (${all.join(', ')}) select ${all.join(', ')} from ${staging}`);
	return result.rowCount ?? 0;
}

/** Adds a page's drops by expectation to the load's. */
export function addDrops(progress: LoadProgress, droppedBy: Record<string, number> | undefined): void {
	if (!droppedBy) return;
	for (const [name, n] of Object.entries(droppedBy)) {
		if (n === 0) continue;
		progress.droppedBy ??= {};
		progress.droppedBy[name] = (progress.droppedBy[name] ?? 0) + n;
	}
}

/** After a `fail` expectation rolled its page back: keeps what failed in the ledger (own transaction). */
export async function recordExpectationFailure(pool: Pool, error: unknown): Promise<void> {
	if (!(error instanceof ExpectationFailedError)) return;
	// The page's error names the expectation and its counts whether or not this record is kept.
	await recordRolledBackFailure(pool, error.outcomes, error.runId, randomUUID()).catch(() => undefined);
}
