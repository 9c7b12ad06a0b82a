/**
 * Data quality expectations as gauges: for each enabled expectation, its latest evaluation (all
 * company rows of that evaluation together). Labels are the expectation's identity, so the series
 * count is bounded by the number of expectations, never by runs or rows.
 */
import type { Pool } from 'pg';
import type { MetricFamily, Sample } from './exposition';

interface ExpectationRow {
	target_table: string;
	name: string;
	kind: string;
	action: string;
	evaluated: string | null;
	failed: string | null;
	failing: boolean | null;
	evaluated_at: Date | null;
}

// The latest evaluation's rows sit within moments of each other; the hour bounds the index scan.
const EXPECTATIONS_SQL = `
	select e.target_table, e.name, e.kind, e.action, l.evaluated, l.failed, l.failing, l.evaluated_at
	  from public.ipai_dq_expectation e
	  left join lateral (
	        select r.evaluation_id, r.evaluated_at from public.ipai_dq_result r
	         where r.expectation_id = e.id order by r.evaluated_at desc limit 1) latest on true
	  left join lateral (
	        select sum(r.evaluated) as evaluated, sum(r.failed) as failed, bool_or(r.status <> 'pass') as failing, max(r.evaluated_at) as evaluated_at
	          from public.ipai_dq_result r
	         where r.expectation_id = e.id and r.evaluation_id = latest.evaluation_id
	           and r.evaluated_at between latest.evaluated_at - interval '1 hour' and latest.evaluated_at) l on true
	 where e.is_enabled
	 order by e.target_table, e.name`;

export async function readExpectations(pool: Pool): Promise<ExpectationRow[]> {
	return (await pool.query<ExpectationRow>(EXPECTATIONS_SQL)).rows;
}

export function dataQualityFamilies(rows: readonly ExpectationRow[]): MetricFamily[] {
	const failing: Sample[] = [];
	const failed: Sample[] = [];
	const evaluated: Sample[] = [];
	const at: Sample[] = [];
	for (const r of rows) {
		if (r.evaluated_at === null) continue; // never evaluated: nothing to say yet
		const labels = { table: r.target_table, expectation: r.name, kind: r.kind, action: r.action };
		failing.push({ labels, value: r.failing ? 1 : 0 });
		failed.push({ labels, value: Number(r.failed ?? 0) });
		evaluated.push({ labels, value: Number(r.evaluated ?? 0) });
		at.push({ labels, value: r.evaluated_at.getTime() / 1000 });
	}
	return [
		{
			name: 'ipai_dq_expectation_failing',
			type: 'gauge',
			help: 'Whether the latest evaluation of a data quality expectation failed (1) or passed (0).',
			samples: failing,
		},
		{
			name: 'ipai_dq_expectation_failed_rows',
			type: 'gauge',
			help: 'Rows (or checks, for table-level kinds) that failed the expectation at its latest evaluation.',
			samples: failed,
		},
		{
			name: 'ipai_dq_expectation_evaluated_rows',
			type: 'gauge',
			help: 'Rows (or checks, for table-level kinds) the expectation evaluated at its latest evaluation.',
			samples: evaluated,
		},
		{
			name: 'ipai_dq_expectation_last_evaluation_timestamp_seconds',
			type: 'gauge',
			help: 'Unix time of the expectation\'s latest evaluation.',
			unit: 'seconds',
			samples: at,
		},
	];
}
