/**
 * Gold and platinum connector operations over a hand-built run ledger (runs placed at known
 * distances from now), checked against figures computed by hand:
 *   connector "odoo/prod": last day 3 successes + 1 failure; 3 days ago 2 successes;
 *   10 days ago 1 success + 1 failure (outside 7 days, inside the previous week);
 *   connector "github/acme": no runs at all.
 *   1 day: 3/4 = 0.75; 7 days: 5/6 = 0.8333; previous 7 days: 1/2 = 0.5.
 */
import type { PoolClient } from 'pg';
import { registerConnector } from '../../lib/lakehouse/runs';
import { asRole, useScratchDatabase } from '../../tooling/helpers/database';

const db = useScratchDatabase();

describe('connector operations: gold success rate, freshness, rows per run; platinum run features', () => {
	let odoo: string;
	let github: string;

	beforeAll(async () => {
		const client: PoolClient = await db.pool.connect();
		try {
			odoo = await registerConnector(client, { connectorType: 'odoo', name: 'prod', config: {} });
			github = await registerConnector(client, { connectorType: 'github', name: 'acme', config: {} });
		} finally {
			client.release();
		}
		// [hours ago it started, minutes it took, status, rows written]
		const runs: Array<[number, number, string, number]> = [
			[20, 10, 'success', 100], [12, 20, 'success', 200], [2, 30, 'success', 300], [1, 5, 'failed', 0],
			[72, 10, 'success', 100], [73, 10, 'success', 100],
			[240, 10, 'success', 100], [241, 10, 'failed', 0],
		];
		for (const [hoursAgo, minutes, status, rows] of runs) {
			await db.pool.query(
				`insert into public.ipai_connector_run (connector_id, started_at, ended_at, status, rows_read, rows_written)
				 values ($1, now() - make_interval(hours => $2), now() - make_interval(hours => $2) + make_interval(mins => $3), $4, $5, $5)`,
				[odoo, hoursAgo, minutes, status, rows],
			);
		}
		await db.pool.query(
			`insert into public.ipai_connector_state (connector_id, stream, cursor) values
			   ($1, 'account.move', '{"write_date": "2025-03-31 10:00:00"}'), ($1, 'res.partner', '{"write_date": "2025-03-30 08:00:00"}'),
			   ($1, 'project.task', '{"full": {"after_id": 5}}')`,
			[odoo],
		);
	});

	it('gold success rate over 1 and 7 days', async () => {
		const { rows } = await db.pool.query(
			`select connector_name, finished_runs_1d, successful_runs_1d, success_rate_1d, finished_runs_7d, successful_runs_7d, success_rate_7d
			   from ipai_gold_core.connector_success_rate order by connector_name`,
		);
		expect(rows.map((r) => [r.connector_name, Number(r.finished_runs_1d), Number(r.successful_runs_1d), r.success_rate_1d, Number(r.finished_runs_7d), Number(r.successful_runs_7d), r.success_rate_7d])).toEqual([
			['acme', 0, 0, null, 0, 0, null],
			['prod', 4, 3, '0.7500', 6, 5, '0.8333'],
		]);
	});

	it('gold freshness: since the last success and since the newest source change in the cursors', async () => {
		const { rows } = await db.pool.query(
			`select connector_id, seconds_since_success, newest_source_change_at, seconds_since_source_change
			   from ipai_gold_core.connector_freshness order by connector_name`,
		);
		const [acme, prod] = rows;
		expect(acme).toMatchObject({ connector_id: github, seconds_since_success: null, newest_source_change_at: null });
		// The last success started 2 h ago and took 30 min: it ended 1 h 30 min ago.
		expect(Math.abs(Number(prod.seconds_since_success) - 5400)).toBeLessThan(60);
		expect((prod.newest_source_change_at as Date).toISOString()).toBe('2025-03-31T10:00:00.000Z'); // Odoo's naive UTC
		expect(Number(prod.seconds_since_source_change)).toBeGreaterThan(0);
	});

	it('gold rows per run', async () => {
		const { rows } = await db.pool.query(
			`select count(*)::int as runs, sum(rows_written)::int as rows_written, max(rows_written_per_second) as best
			   from ipai_gold_core.connector_run_rows where connector_id = $1`,
			[odoo],
		);
		// 100, 200, 300 and 100 rows in 10, 20, 30 and 10 minutes: 0.17 rows/s at best; the failed run 0.
		expect(rows[0]).toEqual({ runs: 8, rows_written: 900, best: '0.17' });
	});

	it('platinum run features: success trend, durations, volume z-score', async () => {
		const { rows } = await db.pool.query(
			`select connector_name, finished_runs_30d, success_rate_7d, success_rate_prev_7d, success_rate_trend,
			        median_duration_seconds, avg_rows_written, last_status, last_rows_written, last_rows_zscore
			   from ipai_platinum_core.connector_run_features`,
		);
		// Successful runs' rows: 100, 200, 300, 100, 100, 100 → mean 150; squared deviations 2,500 × 5 + 22,500
		// = 35,000, sample sd = √(35,000 / 5) = 83.67; the last run (failed, 0 rows): z = −150 / 83.67 = −1.79.
		// Durations of successful runs (min): 10, 20, 30, 10, 10, 10 → median 10 min = 600 s.
		expect(rows).toEqual([{
			connector_name: 'prod', finished_runs_30d: '8', success_rate_7d: '0.8333', success_rate_prev_7d: '0.5000', success_rate_trend: '0.3333',
			median_duration_seconds: '600.0', avg_rows_written: '150.0', last_status: 'failed', last_rows_written: 0, last_rows_zscore: '-1.79',
		}]);
	});

	it('only staff read operations data: analysts and anon do not', async () => {
		const analyst = { role: 'authenticated', app_metadata: { ipai_role: 'analyst', company_ids: [1] } };
		await asRole(db.pool, 'authenticated', analyst, async (c) => {
			expect((await c.query('select count(*)::int as n from ipai_gold_core.connector_success_rate')).rows[0].n).toBe(0);
			expect((await c.query('select count(*)::int as n from ipai_platinum_core.connector_run_features')).rows[0].n).toBe(0);
		});
		const engineer = { role: 'authenticated', app_metadata: { ipai_role: 'data_engineer' } };
		await asRole(db.pool, 'authenticated', engineer, async (c) => {
			expect((await c.query('select count(*)::int as n from ipai_gold_core.connector_success_rate')).rows[0].n).toBe(2);
		});
		await expect(asRole(db.pool, 'anon', { role: 'anon' }, (c) => c.query('select * from ipai_gold_core.connector_freshness'))).rejects.toThrow(/permission denied/);
	});
});
