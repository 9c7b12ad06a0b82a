/**
 * Gold DevOps over a small hand-built GitHub history, landed in bronze through the real loader
 * with the GitHub connector's stream declarations (GitHub's own object shapes), then refreshed by
 * the engine's refresh path. DORA figures are computed by hand below (all times UTC):
 *
 *   commits c1 03-03 10:00, c2 03-03 14:00, c3 03-04 09:00, c4 03-05 12:00, c5 03-11 08:00
 *   D1 production 03-03 16:00, success 16:30   ships c1 (6.5 h), c2 (2.5 h)
 *   D2 production 03-04 10:00, failure 10:20   restored by D3: 03-05 13:30 − 03-04 10:20 = 27 h 10 min
 *   D3 production 03-05 13:00, success 13:30   ships c3 (28.5 h), c4 (1.5 h)
 *   D4 production 03-11 09:00, success 09:15   ships c5 (1.25 h)
 *   D5 staging    03-04 11:00, success          (not production: ignored)
 *   week of 03-03: 2 deployments, 1 failed → CFR 1/3, median lead time of 6.5, 2.5, 28.5, 1.5 = 4.5 h,
 *                  time to restore 27.17 h;   week of 03-10: 1 deployment, CFR 0, lead 1.25 h
 */
import { loadStream } from '../../lib/lakehouse/loader';
import { refreshMaterializedViews } from '../../lib/lakehouse/refresh';
import { finishRun } from '../../lib/lakehouse/runs';
import { formatFindings, runSecurityLint } from '../../lib/lakehouse/securityLint';
import { BRONZE_SCHEMA, STREAM_SPECS, type StreamName } from '../../lib/sources/github/streams';
import { runningConnector } from '../helpers/connector';
import { asRole, useScratchDatabase } from '../../tooling/helpers/database';

const db = useScratchDatabase();
const REPO = { repository_id: 42, repo_full_name: 'acme/api' };
const GOLD = ['ipai_gold_devops.ci_status', 'ipai_gold_devops.dora_weekly', 'ipai_gold_devops.pr_cycle_time'];

const at = (s: string): string => `2025-${s.replace(' ', 'T')}:00Z`;

async function land(run: { connectorId: string; runId: string }, stream: StreamName, records: Array<Record<string, unknown>>): Promise<void> {
	const spec = STREAM_SPECS[stream];
	await loadStream(db.pool, [{ records }], { ...run, stream: `${stream}:acme/api`, table: { schema: BRONZE_SCHEMA, name: spec.table }, key: spec.key, columns: spec.columns });
}

const deployment = (id: number, environment: string, created: string) => ({
	id, ...REPO, sha: `sha${id}`, ref: 'main', task: 'deploy', environment, production_environment: environment === 'production',
	creator: { login: 'octo' }, payload: {}, created_at: at(created), updated_at: at(created),
});
let statusId = 9000;
const status = (deploymentId: number, state: string, created: string) => ({
	id: ++statusId, ...REPO, deployment_id: deploymentId, state, environment: 'production', creator: { login: 'bot' }, created_at: at(created), updated_at: at(created),
});
const commit = (sha: string, when: string) => ({
	...REPO, sha, branch: 'main', committed_at: at(when), commit: { message: `change ${sha}`, committer: { date: at(when) } }, author: { login: 'dev' }, parents: [],
});
const workflowRun = (id: number, branch: string, created: string, conclusion: string | null, attempt = 1) => ({
	id, ...REPO, workflow_id: 7, name: 'CI', head_branch: branch, head_sha: `h${id}`, event: 'push',
	status: conclusion === null ? 'in_progress' : 'completed', conclusion, run_number: id - 100, run_attempt: attempt,
	html_url: `https://github.com/acme/api/actions/runs/${id}`, created_at: at(created), updated_at: at(created), run_started_at: at(created),
	actor: { login: 'dev' }, pull_requests: [],
});

describe('DevOps transforms: CI status, DORA and PR cycle time over a hand-built GitHub history', () => {
	it('refreshes on an empty lakehouse with empty results', async () => {
		const refreshed = await refreshMaterializedViews(db.pool, ['ipai_gold_devops']);
		expect(refreshed.map((r) => [r.view, r.rowsWritten])).toEqual(GOLD.map((t) => [t, 0]));
	});

	it('computes CI status, the four DORA metrics and PR cycle time equal to the hand-computed figures', async () => {
		const run = await runningConnector(db.pool, 'github-acme');
		await land(run, 'repositories', [{ id: 42, full_name: 'acme/api', name: 'api', default_branch: 'main', visibility: 'private', archived: false, owner: { login: 'acme' }, created_at: at('01-01 00:00'), updated_at: at('03-11 09:00'), pushed_at: at('03-11 08:00') }]);
		await land(run, 'commits', [commit('c1', '03-03 10:00'), commit('c2', '03-03 14:00'), commit('c3', '03-04 09:00'), commit('c4', '03-05 12:00'), commit('c5', '03-11 08:00')]);
		await land(run, 'deployments', [
			deployment(1, 'production', '03-03 16:00'), deployment(2, 'production', '03-04 10:00'), deployment(3, 'production', '03-05 13:00'),
			deployment(4, 'production', '03-11 09:00'), deployment(5, 'staging', '03-04 11:00'),
		]);
		await land(run, 'deployment_statuses', [
			status(1, 'in_progress', '03-03 16:05'), status(1, 'success', '03-03 16:30'), status(1, 'inactive', '03-05 13:30'),
			status(2, 'failure', '03-04 10:20'),
			status(3, 'success', '03-05 13:30'),
			status(4, 'success', '03-11 09:15'),
			{ ...status(5, 'success', '03-04 11:10'), environment: 'staging' },
		]);
		await land(run, 'workflow_runs', [
			workflowRun(101, 'main', '03-11 08:05', 'failure', 2), workflowRun(102, 'main', '03-11 08:30', 'success'),
			workflowRun(103, 'feature-x', '03-10 12:00', 'failure'), workflowRun(104, 'feature-y', '03-11 10:00', null),
		]);
		const pr = (id: number, number: number, created: string, extra: Record<string, unknown>) => ({
			id, ...REPO, number, title: `PR ${number}`, state: 'closed', draft: false, user: { login: 'dev' },
			head: { ref: `feature-${number}` }, base: { ref: 'main' }, created_at: at(created), updated_at: at(created), closed_at: null, merged_at: null, ...extra,
		});
		await land(run, 'pull_requests', [
			pr(501, 1, '03-02 09:00', { closed_at: at('03-03 09:00'), merged_at: at('03-03 09:00') }),
			pr(502, 2, '03-04 08:00', { closed_at: at('03-04 12:00') }),
			pr(503, 3, '03-10 08:00', { state: 'open' }),
		]);
		await land(run, 'pull_request_reviews', [
			{ id: 801, ...REPO, pull_number: 1, pull_request_id: 501, state: 'COMMENTED', user: { login: 'rev' }, submitted_at: at('03-02 15:00') },
			{ id: 802, ...REPO, pull_number: 1, pull_request_id: 501, state: 'APPROVED', user: { login: 'rev' }, submitted_at: at('03-02 18:00') },
		]);
		await finishRun(db.pool, run.runId);

		const refreshed = await refreshMaterializedViews(db.pool, ['ipai_gold_devops']);
		expect(refreshed.map((r) => r.view)).toEqual(GOLD);

		const ci = await db.pool.query(`select branch, latest_run_id, conclusion, ci_state from ipai_gold_devops.ci_status order by branch`);
		expect(ci.rows.map((r) => [r.branch, Number(r.latest_run_id), r.conclusion, r.ci_state])).toEqual([
			['feature-x', 103, 'failure', 'failing'],
			['feature-y', 104, null, 'running'],
			['main', 102, 'success', 'passing'],
		]);

		const dora = await db.pool.query(
			`select week::text, deployments, failed_deployments, change_failure_rate, median_lead_time_hours, changes_deployed, median_time_to_restore_hours
			   from ipai_gold_devops.dora_weekly order by week`,
		);
		expect(dora.rows.map((r) => [r.week, Number(r.deployments), Number(r.failed_deployments), r.change_failure_rate, r.median_lead_time_hours, Number(r.changes_deployed), r.median_time_to_restore_hours])).toEqual([
			['2025-03-03', 2, 1, '0.3333', '4.50', 4, '27.17'],
			['2025-03-10', 1, 0, '0.0000', '1.25', 1, null],
		]);

		const prs = await db.pool.query(`select number, hours_to_first_review, cycle_time_hours from ipai_gold_devops.pr_cycle_time order by number`);
		expect(prs.rows.map((r) => [Number(r.number), r.hours_to_first_review, r.cycle_time_hours])).toEqual([
			[1, '6.00', '24.00'],
			[2, null, null],
			[3, null, null],
		]);

		// Readers: an analyst sees DevOps gold (no company scope there), anon nothing; the lint is clean.
		await asRole(db.pool, 'authenticated', { role: 'authenticated', app_metadata: { ipai_role: 'analyst', company_ids: [1] } }, async (c) => {
			expect((await c.query('select count(*)::int as n from ipai_gold_devops.dora_weekly')).rows[0].n).toBe(2);
			expect((await c.query('select count(*)::int as n from ipai_silver_devops.deployments')).rows[0].n).toBe(0);
		});
		await expect(asRole(db.pool, 'anon', { role: 'anon' }, (c) => c.query('select * from ipai_gold_devops.dora_weekly'))).rejects.toThrow(/permission denied/);
		expect(formatFindings(await runSecurityLint(db.pool))).toBe('');
	});
});
