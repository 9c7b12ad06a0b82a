/**
 * Data quality on the metrics endpoint: per enabled expectation, the latest evaluation (its
 * company rows summed), never an older one; expectations never evaluated yield no series. Checked
 * against the result rows written here and by `promtool check metrics`.
 */
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { renderMetrics } from '../../lib/observability/metrics';
import { useScratchDatabase } from '../../tooling/helpers/database';

jest.setTimeout(300_000);

const db = useScratchDatabase();

function sampleLines(body: string, name: string): string[] {
	return body.split('\n').filter((line) => line.startsWith(`${name}{`));
}

async function addResult(e: { id: string; target_table: string; name: string; kind: string; action: string }, evaluation: string, minutesAgo: number, status: string, evaluated: number, failed: number, companyId: number | null) {
	await db.pool.query(
		`insert into public.ipai_dq_result (expectation_id, evaluation_id, target_table, expectation_name, kind, action, company_id, status, evaluated, failed, evaluated_at)
		 values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, now() - make_interval(mins => $11))`,
		[e.id, evaluation, e.target_table, e.name, e.kind, e.action, companyId, status, evaluated, failed, minutesAgo],
	);
}

it('exports the latest evaluation of each expectation, summed over its company rows', async () => {
	const { rows: expectations } = await db.pool.query<{ id: string; target_table: string; name: string; kind: string; action: string }>(
		`select id, target_table, name, kind, action from public.ipai_dq_expectation where is_enabled order by target_table, name limit 2`,
	);
	expect(expectations).toHaveLength(2);
	const [failing, passing] = expectations;
	// An older failing evaluation must not show through a newer one.
	const old = randomUUID();
	await addResult(failing, old, 120, 'fail', 50, 40, 1);
	const latest = randomUUID();
	await addResult(failing, latest, 5, 'pass', 10, 0, 1);
	await addResult(failing, latest, 5, 'warn', 5, 3, 2);
	await addResult(passing, randomUUID(), 30, 'warn', 8, 8, null);
	await addResult(passing, randomUUID(), 10, 'pass', 9, 0, null);

	const { body, errors } = await renderMetrics(db.pool, { skipSlo: true });
	expect(errors).toEqual([]);
	const label = (e: typeof failing) => `table="${e.target_table}",expectation="${e.name}",kind="${e.kind}",action="${e.action}"`;
	expect(sampleLines(body, 'ipai_dq_expectation_failing').sort()).toEqual(
		[`ipai_dq_expectation_failing{${label(failing)}} 1`, `ipai_dq_expectation_failing{${label(passing)}} 0`].sort(),
	);
	expect(sampleLines(body, 'ipai_dq_expectation_failed_rows')).toEqual(expect.arrayContaining([`ipai_dq_expectation_failed_rows{${label(failing)}} 3`]));
	expect(sampleLines(body, 'ipai_dq_expectation_evaluated_rows')).toEqual(expect.arrayContaining([`ipai_dq_expectation_evaluated_rows{${label(failing)}} 15`]));
	// Expectations without any result (every other seeded one) export nothing.
	expect(sampleLines(body, 'ipai_dq_expectation_last_evaluation_timestamp_seconds')).toHaveLength(2);
	expect(body).toMatch(/ipai_metrics_source_up\{source="data_quality"\} 1/);

	const check = spawnSync('promtool', ['check', 'metrics'], { input: body, encoding: 'utf8' });
	if (check.error) throw new Error(`promtool is not installed (Debian package "prometheus"): ${check.error.message}`);
	expect(`${check.stdout}${check.stderr}`).toBe('');
});
