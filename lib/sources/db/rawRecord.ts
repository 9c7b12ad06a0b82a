/**
 * A database source's _ipai_raw (docs/adr/0006-db-bronze-raw-optional.md). The bronze row's typed
 * columns are the source's record: each column has a type that holds the source's value exactly,
 * or the source's own text. So by default _ipai_raw stays NULL, and it is kept
 *   - for every row of a table configured with `raw: true` (the record as the row path makes it);
 *   - whatever the setting, for a row whose reading lost something of the source's (a value no
 *     bronze type can hold, e.g. a MySQL zero date read as NULL): its source form, the row with
 *     the source's own value of each such column (keepSourceForm in engine.ts).
 * Every load path (full by COPY or by rows, incremental, CDC, FDW) follows this rule, so a table's
 * rows are alike whichever path wrote them.
 */
import type { Pool } from 'pg';
import { writeAudit } from '../../lakehouse/audit';
import { inTransaction } from '../../lakehouse/connection';
import type { Page } from '../../lakehouse/loader';
import { META, tableName, type TableRef } from '../../lakehouse/tables';
import { DbSourceError, sourceFormOf, type DbRow } from './engine';

/** Whether every row of the table keeps its record in _ipai_raw (config.tables[].raw). */
export function keepsRaw(plan: { config: { raw?: boolean } }): boolean {
	return plan.config.raw === true;
}

/** The page of `rows` with each row's _ipai_raw: its source form, else the row itself when `raw`, else none (NULL). */
export function dbPage(rows: DbRow[], raw: boolean): Page {
	return { records: rows, raws: rows.map((row) => sourceFormOf(row) ?? (raw ? row : undefined)) };
}

/**
 * Lets the table's _ipai_raw be NULL unless it already may (a table created before database
 * sources left it NULL), in a short transaction of its own: ALTER takes an ACCESS EXCLUSIVE lock
 * that must not stay held for a whole load. Audited as a schema change.
 */
export async function allowNullRaw(pool: Pool, target: TableRef, context: { connectorId: string; runId: string }): Promise<void> {
	const table = tableName(target);
	const { rows } = await pool.query<{ required: boolean }>(
		`select a.attnotnull as required from pg_attribute a where a.attrelid = to_regclass($1) and a.attname = $2 and not a.attisdropped`,
		[table, META.raw],
	);
	if (!rows[0]?.required) return;
	await inTransaction(pool, async (client) => {
		await client.query(`alter table ${table} alter column ${META.raw} drop not null`);
		await writeAudit(client, {
			eventType: 'schema_change',
			entityType: 'table',
			entityId: context.connectorId,
			action: 'raw_optional',
			details: { table: `${target.schema}.${target.name}`, column: META.raw, run_id: context.runId },
		});
	}).catch((error: unknown) => {
		throw new DbSourceError(
			'privilege',
			`${table}.${META.raw} is NOT NULL and could not be made optional (${(error as Error).message})`,
			`As the table's owner run: alter table ${table} alter column ${META.raw} drop not null; or set raw: true on the table in the connector's config`,
		);
	});
}
