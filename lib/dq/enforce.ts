/**
 * Row-level expectations inside a load's page transaction (the loader's shared page step, so
 * every path — page merge, append, CSV COPY, Parquet/Arrow, database sources — passes through it):
 * the page's rows sit in a staging table; one statement flags the rows violating any expectation
 * of the target table, one aggregates counts and samples, then
 *   warn  → recorded;
 *   drop  → the flagged rows move to ipai_bronze_core.ipai_load_reject with the expectation's name
 *           and count in the run's metadata.rows_rejected (their rows_read already counts them);
 *   fail  → ExpectationFailedError: the page rolls back, the loader records the failure.
 * Nothing runs per row in JavaScript.
 */
import { randomUUID } from 'node:crypto';
import type { ClientBase, QueryResult } from 'pg';
import { quoteIdent, quoteLiteral } from '../lakehouse/sql';
import { addRunRejects } from '../lakehouse/runs';
import { META, type TableRef } from '../lakehouse/tables';
import { writeOutcomes, statusFor } from './results';
import { compileRowChecks, failingRowsQuery, summaryQuery, type RowCheckScope } from './rowChecks';
import { EXPECTATION_COLUMNS, ExpectationFailedError, expectationFromRow, ROW_KINDS, type Expectation, type ExpectationOutcome } from './types';

/**
 * A page's checks are small set-based queries over an unanalysed staging table: the planner's
 * guesses would make PostgreSQL JIT-compile them, which costs far more than running them. JIT is
 * turned off and restored around them in the same messages as the checks (no round trips of
 * their own): JIT_OFF saves the transaction's setting, JIT_RESTORE puts it back.
 */
const JIT_OFF = `select set_config('ipai.dq_saved_jit', current_setting('jit'), true), set_config('jit', 'off', true)`;
const JIT_RESTORE = `select set_config('jit', current_setting('ipai.dq_saved_jit'), true)`;

export interface PageExpectations {
	expectations: Expectation[];
	/** Column → PostgreSQL type of the target table. */
	columnTypes: Record<string, string>;
}

/** The enabled row-level expectations of a table (none: the load skips the whole step). */
export async function rowExpectationsFor(client: ClientBase, table: TableRef): Promise<PageExpectations | null> {
	const target = `${table.schema}.${table.name}`;
	// The column types once per query (an InitPlan), not once per expectation row.
	const { rows } = await client.query(
		`select ${EXPECTATION_COLUMNS}, (select ipai_meta.dq_columns($1)) as column_types
		   from public.ipai_dq_expectation
		  where target_table = $1 and is_enabled and kind = any ($2::text[])
		  order by name`,
		[target, ROW_KINDS],
	);
	if (rows.length === 0) return null;
	return { expectations: rows.map(expectationFromRow), columnTypes: rows[0].column_types ?? {} };
}

export interface EnforceOptions {
	table: TableRef;
	/** The quoted temporary table holding the page's rows (one per key for a merge). */
	staging: string;
	/** The quoted target table. */
	target: string;
	keyColumns: string[] | null;
	connectorId: string;
	runId: string;
	stream: string;
	/** Named as the source of dropped rows; default: the stream. */
	origin?: string;
	/** Rows staged, when known (else counted). */
	rows?: number;
}

export interface EnforceResult {
	evaluated: number;
	/** Rows moved to the reject table (a row violating several drop expectations counts once). */
	dropped: number;
	/**
	 * Those rows by the expectation_name their reject row carries (the first drop expectation
	 * they violate), so the counts add up to `dropped`.
	 */
	droppedBy: Record<string, number>;
	outcomes: ExpectationOutcome[];
}

/**
 * Enforces the table's row-level expectations over the staged page. Returns null when the table
 * has none. Throws ExpectationFailedError (outcomes attached, nothing written) when a `fail`
 * expectation has failing rows.
 */
export async function enforcePageExpectations(client: ClientBase, options: EnforceOptions, found?: PageExpectations | null): Promise<EnforceResult | null> {
	const page = found === undefined ? await rowExpectationsFor(client, options.table) : found;
	if (!page) return null;
	const { expectations } = page;
	const scope: RowCheckScope = {
		relation: options.staging,
		columnTypes: page.columnTypes,
		page: {
			target: options.target,
			staging: options.staging,
			keyColumns: options.keyColumns,
			connectorColumn: quoteIdent(META.connectorId),
			deletedColumn: quoteIdent(META.deletedAt),
		},
		sampleColumns: options.keyColumns ?? [],
	};
	const checks = compileRowChecks(expectations, {
		...scope,
		sampleColumns: options.keyColumns ?? [...new Set(expectations.flatMap((e) => columnNames(e)))],
	});
	const failing = quoteIdent(`_ipai_dq_failing_${process.pid}`);
	const evaluated =
		options.rows ?? Number((await client.query<{ n: string }>(`select count(*) as n from ${options.staging}`)).rows[0].n);
	// Nearly every page passes: counted in one statement, with no table to create and drop; the
	// failing rows are kept in a table only when some must move to the reject table.
	const { rows } = (
		(await client.query(`${JIT_OFF}; ${summaryQuery(`(${failingRowsQuery(checks, scope, false)}) f`, expectations.length)}; ${JIT_RESTORE}`)) as unknown as QueryResult[]
	)[1];
	const summary = rows[0];
	const outcomes: ExpectationOutcome[] = expectations.map((expectation, i) => {
		const failed = Number(summary[`failed_${i}`]);
		return {
			expectation,
			status: statusFor(expectation.action, failed),
			evaluated,
			failed,
			sample: summary[`sample_${i}`] ?? [],
			message: failed > 0 ? `${failed} of ${evaluated} rows of a page of stream ${options.stream}` : '',
		};
	});
	const failures = outcomes.filter((o) => o.status === 'fail');
	if (failures.length > 0) throw new ExpectationFailedError(failures, options.runId);

	let dropped = 0;
	const droppedBy: Record<string, number> = {};
	const drops = expectations.map((e, i) => ({ e, i })).filter(({ e, i }) => e.action === 'drop' && outcomes[i].failed > 0);
	if (drops.length > 0) {
		await client.query(`${JIT_OFF}; create temporary table ${failing} on commit drop as ${failingRowsQuery(checks, scope, true)}`);
		const flagged = drops.map(({ i }) => `f.f${i}`).join(' or ');
		const firstName = `case ${drops.map(({ e, i }) => `when f.f${i} then ${quoteLiteral(e.name)}`).join(' ')} end`;
		const reason = `concat_ws(', ', ${drops.map(({ e, i }) => `case when f.f${i} then ${quoteLiteral(`${e.name} (${e.kind})`)} end`).join(', ')})`;
		const data = `to_jsonb(s) - array[${['_ipai_connector_id', '_ipai_run_id', '_ipai_extracted_at', '_ipai_deleted_at', '_ipai_raw', '_ipai_ordinal'].map(quoteLiteral).join(', ')}]`;
		const { rows: moved } = await client.query<{ expectation_name: string; n: number }>(
			`with moved as (
			   insert into ipai_bronze_core.ipai_load_reject (connector_id, run_id, target_table, source_file, reason, raw_line, expectation_name)
			   select $1, $2, $3, $4, 'failed data quality expectation ' || ${reason}, (${data})::text, ${firstName}
			     from ${options.staging} s join ${failing} f on f._ipai_row_id = s.ctid
			    where ${flagged}
			   returning expectation_name)
			 select expectation_name, count(*)::int as n from moved group by expectation_name order by expectation_name`,
			[options.connectorId, options.runId, `${options.table.schema}.${options.table.name}`, options.origin ?? `stream ${options.stream}`],
		);
		for (const m of moved) droppedBy[m.expectation_name] = m.n;
		const deleted = await client.query(`delete from ${options.staging} s using ${failing} f where f._ipai_row_id = s.ctid and (${flagged})`);
		dropped = deleted.rowCount ?? 0;
		await addRunRejects(client, options.runId, dropped);
		// Dropped now rather than at commit: an atomic stream checks many pages in one transaction.
		await client.query(`drop table ${failing}; ${JIT_RESTORE}`);
	}
	await writeOutcomes(client, outcomes, { runId: options.runId, evaluationId: randomUUID() });
	return { evaluated, dropped, droppedBy, outcomes };
}

function columnNames(e: Expectation): string[] {
	if (Array.isArray(e.args.columns)) return e.args.columns.map(String);
	if (typeof e.args.column === 'string') return [e.args.column];
	return [];
}
