/**
 * ipai_dq_result: what each evaluation found. A load accumulates one row per run and expectation
 * (page after page); an evaluation outside a load writes one row per expectation (and company).
 * The run's metadata.dq is the summary of its rows, rewritten in the same transaction.
 */
import type { ClientBase, Pool } from 'pg';
import { inTransaction } from '../lakehouse/connection';
import { redactDeep } from '../lakehouse/secrets';
import { SAMPLE_SIZE, type ExpectationOutcome } from './types';

export function statusFor(action: string, failed: number): ExpectationOutcome['status'] {
	if (failed === 0) return 'pass';
	return action === 'warn' ? 'warn' : action === 'drop' ? 'dropped' : 'fail';
}

function rowsOf(outcomes: ExpectationOutcome[], secrets: readonly string[]) {
	return outcomes.map((o) => ({
		expectation_id: o.expectation.id,
		target_table: o.expectation.targetTable,
		expectation_name: o.expectation.name,
		kind: o.expectation.kind,
		action: o.expectation.action,
		company_id: o.companyId ?? null,
		status: o.status,
		evaluated: o.evaluated,
		failed: o.failed,
		failing_sample: redactDeep(o.sample.slice(0, SAMPLE_SIZE), secrets),
		observed: o.observed ? redactDeep(o.observed, secrets) : null,
		message: o.message || null,
	}));
}

const RECORDSET = `jsonb_to_recordset($1::jsonb) as x(expectation_id uuid, target_table text, expectation_name text, kind text, action text,
	company_id bigint, status text, evaluated bigint, failed bigint, failing_sample jsonb, observed jsonb, message text)`;

/** metadata.dq of a run, over its ipai_dq_result rows: totals and, per expectation, evaluated/failed/status. */
const RUN_SUMMARY = `jsonb_build_object(
		   'evaluated', coalesce(sum(evaluated), 0), 'failed', coalesce(sum(failed), 0),
		   'dropped', coalesce(sum(failed) filter (where status = 'dropped'), 0),
		   'warned', coalesce(sum(failed) filter (where status = 'warn'), 0),
		   'failed_expectations', coalesce(jsonb_agg(target_table || '.' || expectation_name) filter (where status = 'fail'), '[]'),
		   'expectations', coalesce(jsonb_object_agg(target_table || '.' || expectation_name,
		     jsonb_build_object('kind', kind, 'action', action, 'status', status, 'evaluated', evaluated, 'failed', failed)), '{}'))`;

export async function writeOutcomes(
	client: ClientBase,
	outcomes: ExpectationOutcome[],
	where: { runId: string | null; evaluationId: string; secrets?: readonly string[] },
): Promise<void> {
	if (outcomes.length === 0) return;
	const rows = JSON.stringify(rowsOf(outcomes, where.secrets ?? []));
	if (!where.runId) {
		await client.query(
			`insert into public.ipai_dq_result (expectation_id, run_id, evaluation_id, target_table, expectation_name, kind, action, company_id,
			        status, evaluated, failed, failing_sample, observed, message)
			 select expectation_id, null, $2, target_table, expectation_name, kind, action, company_id, status, evaluated, failed,
			        failing_sample, observed, message from ${RECORDSET}`,
			[rows, where.evaluationId],
		);
		return;
	}
	// One statement (a load writes this every page): the page's rows are folded into the run's, and
	// metadata.dq is recomputed from the run's rows as they stand after the fold — the rows just
	// written as RETURNING gives them, the run's other rows as they were.
	await client.query(
		`with written as (
		   insert into public.ipai_dq_result as r (expectation_id, run_id, evaluation_id, target_table, expectation_name, kind, action,
		          status, evaluated, failed, failing_sample, message)
		   select expectation_id, $2, $3, target_table, expectation_name, kind, action, status, evaluated, failed, failing_sample, message
		     from ${RECORDSET}
		   on conflict (run_id, expectation_id) where run_id is not null do update
		      set evaluated = r.evaluated + excluded.evaluated,
		          failed = r.failed + excluded.failed,
		          failing_sample = (select coalesce(jsonb_agg(e), '[]') from (select e from jsonb_array_elements(r.failing_sample || excluded.failing_sample) e limit ${SAMPLE_SIZE}) s),
		          status = case when r.failed + excluded.failed = 0 then 'pass' when excluded.status = 'pass' then r.status else excluded.status end,
		          message = coalesce(excluded.message, r.message),
		          action = excluded.action,
		          evaluated_at = now()
		   returning r.id, r.target_table, r.expectation_name, r.kind, r.action, r.status, r.evaluated, r.failed),
		 run_rows as (
		   select target_table, expectation_name, kind, action, status, evaluated, failed from written
		   union all
		   select target_table, expectation_name, kind, action, status, evaluated, failed
		     from public.ipai_dq_result where run_id = $2 and id not in (select id from written))
		 update public.ipai_connector_run
		    set metadata = coalesce(metadata, '{}') || jsonb_build_object('dq', (select ${RUN_SUMMARY} from run_rows))
		  where id = $2`,
		[rows, where.runId, where.evaluationId],
	);
}

/**
 * After a `fail` expectation rolled its page back: records what failed (its own transaction, so
 * the ledger keeps it) on the run that is about to be failed.
 */
export async function recordRolledBackFailure(
	pool: Pool,
	outcomes: ExpectationOutcome[],
	runId: string | null,
	evaluationId: string,
): Promise<void> {
	await inTransaction(pool, (client) => writeOutcomes(client, outcomes, { runId, evaluationId }));
}

export interface ResultFilter {
	targetTable?: string;
	expectationName?: string;
	runId?: string;
	status?: string[];
	since?: Date;
	limit?: number;
}

export async function listResults(pool: Pool, filter: ResultFilter = {}): Promise<Record<string, unknown>[]> {
	const { rows } = await pool.query(
		`select r.id, r.evaluated_at, r.target_table, r.expectation_name, r.kind, r.action, r.status, r.evaluated, r.failed,
		        r.failing_sample, r.observed, r.message, r.run_id, r.evaluation_id, r.company_id, e.runbook_url
		   from public.ipai_dq_result r left join public.ipai_dq_expectation e on e.id = r.expectation_id
		  where ($1::text is null or r.target_table = $1) and ($2::text is null or r.expectation_name = $2)
		    and ($3::uuid is null or r.run_id = $3) and ($4::text[] is null or r.status = any ($4))
		    and ($5::timestamptz is null or r.evaluated_at >= $5)
		  order by r.evaluated_at desc, r.id desc
		  limit $6`,
		[
			filter.targetTable ?? null,
			filter.expectationName ?? null,
			filter.runId ?? null,
			filter.status?.length ? filter.status : null,
			filter.since ?? null,
			Math.min(Math.max(filter.limit ?? 100, 1), 10_000),
		],
	);
	return rows;
}
