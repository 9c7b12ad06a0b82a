/**
 * Writing and listing expectations. The database validates every definition when it is written
 * (trigger ipai_dq_expectation_validate); a refusal comes back as ExpectationRefusedError whose
 * message is the database's reason.
 */
import type { Pool } from 'pg';
import { EXPECTATION_COLUMNS, expectationFromRow, type Expectation, type ExpectationAction, type ExpectationKind } from './types';

export class ExpectationRefusedError extends Error {}

export interface ExpectationInput {
	targetTable: string;
	name: string;
	kind: ExpectationKind;
	args: Record<string, unknown>;
	action: ExpectationAction;
	enabled?: boolean;
	owner?: string | null;
	runbookUrl?: string | null;
	description?: string | null;
}

/** Creates the expectation, or replaces the one with the same target and name. */
export async function defineExpectation(pool: Pool, input: ExpectationInput): Promise<Expectation> {
	try {
		const { rows } = await pool.query(
			`insert into public.ipai_dq_expectation (target_table, name, kind, args, action, is_enabled, owner, runbook_url, description)
			 values ($1, $2, $3, $4, $5, $6, $7, $8, $9)
			 on conflict (target_table, name) do update
			    set kind = excluded.kind, args = excluded.args, action = excluded.action, is_enabled = excluded.is_enabled,
			        owner = excluded.owner, runbook_url = excluded.runbook_url, description = excluded.description,
			        accepted_schema = case when ipai_dq_expectation.kind = excluded.kind then ipai_dq_expectation.accepted_schema end
			 returning ${EXPECTATION_COLUMNS}`,
			[
				input.targetTable.trim(),
				input.name.trim(),
				input.kind,
				JSON.stringify(input.args ?? {}),
				input.action,
				input.enabled ?? true,
				input.owner ?? null,
				input.runbookUrl ?? null,
				input.description ?? null,
			],
		);
		return expectationFromRow(rows[0]);
	} catch (error) {
		const e = error as { code?: string; message?: string };
		// check_violation from the validation trigger or a table constraint: the reason is the message.
		if (e.code === '23514' || e.code === '23502') throw new ExpectationRefusedError(e.message ?? String(error));
		throw error;
	}
}

export async function setExpectationEnabled(pool: Pool, targetTable: string, name: string, enabled: boolean): Promise<Expectation> {
	const { rows } = await pool.query(
		`update public.ipai_dq_expectation set is_enabled = $3 where target_table = $1 and name = $2 returning ${EXPECTATION_COLUMNS}`,
		[targetTable, name, enabled],
	);
	if (rows.length === 0) throw new ExpectationRefusedError(`No expectation ${name} on ${targetTable}`);
	return expectationFromRow(rows[0]);
}

export async function deleteExpectation(pool: Pool, targetTable: string, name: string): Promise<boolean> {
	const { rowCount } = await pool.query(`delete from public.ipai_dq_expectation where target_table = $1 and name = $2`, [targetTable, name]);
	return (rowCount ?? 0) > 0;
}

export async function listExpectations(pool: Pool, filter: { targetTable?: string; schemas?: string[] } = {}): Promise<Expectation[]> {
	const { rows } = await pool.query(
		`select ${EXPECTATION_COLUMNS} from public.ipai_dq_expectation
		  where ($1::text is null or target_table = $1) and ($2::text[] is null or split_part(target_table, '.', 1) = any ($2))
		  order by target_table, name`,
		[filter.targetTable ?? null, filter.schemas?.length ? filter.schemas : null],
	);
	return rows.map(expectationFromRow);
}

/** Lakehouse tables and views an expectation can target (for the canvas dropdown). */
export async function listTargetTables(pool: Pool): Promise<string[]> {
	const { rows } = await pool.query<{ name: string }>(
		`select n.nspname || '.' || c.relname as name
		   from pg_class c join pg_namespace n on n.oid = c.relnamespace
		  where c.relkind in ('r', 'v', 'm', 'p') and n.nspname ~ '^ipai_(bronze|silver|gold|platinum)_'
		    and c.relname !~ '^build_'
		  order by 1`,
	);
	return rows.map((r) => r.name);
}

/** A target's columns and their types (for the canvas dropdown). */
export async function listTargetColumns(pool: Pool, targetTable: string): Promise<Array<{ name: string; type: string }>> {
	const { rows } = await pool.query<{ cols: Record<string, string> | null }>(`select ipai_meta.dq_columns($1) as cols`, [targetTable]);
	return Object.entries(rows[0]?.cols ?? {}).map(([name, type]) => ({ name, type }));
}
