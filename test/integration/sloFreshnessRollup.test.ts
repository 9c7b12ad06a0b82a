/**
 * The freshness rollup (ipai_meta.connector_success_hourly, kept by statement triggers) and the
 * stale time the evaluator reads through it, against PostgreSQL's own answers over random ledgers:
 *   - after every random insert, burst, status change, move across hours and delete, the rollup
 *     equals the same summary computed from scratch from the ledger;
 *   - at random instants, periods and thresholds, the rollup-based stale time (whole hours from
 *     the rollup, edges from the runs) equals the direct query over every success, and the
 *     evaluator's connector_freshness statuses carry exactly that direct answer.
 */
import fc from 'fast-check';
import { evaluateSlos, round } from '../../lib/slo';
import { RAW_STALE_SQL, ROLLUP_MIN_GAP_SECONDS, ROLLUP_STALE_SQL } from '../../lib/slo/sli/connectorFreshness';
import { useScratchDatabase } from '../../tooling/helpers/database';
import { addConnector, DAY, HOUR, resetAlerting } from './sloHelpers';

jest.setTimeout(300_000);

const db = useScratchDatabase();

// Finished runs are frozen for every role; an owner's maintenance (the trigger disabled) may still
// correct or move them, and the rollup must follow.
beforeAll(async () => {
	await db.pool.query('alter table public.ipai_connector_run disable trigger ipai_connector_run_ended_is_history');
});
beforeEach(async () => resetAlerting(db.pool));

const T0 = Date.UTC(2026, 2, 1);
const STATUSES = ['success', 'failed', 'abandoned', 'skipped', 'running'] as const;
type Status = (typeof STATUSES)[number];

type Op =
	| { op: 'insert'; connector: number; runs: Array<{ at: number; status: Status }> }
	| { op: 'burst'; connector: number; at: number; everyMs: number; count: number }
	| { op: 'update'; connector: number; from: number; to: number; status: Status; shiftMs: number }
	| { op: 'delete'; connector: number; from: number; to: number };

// Instants over 3 days, biased to exact hour boundaries and their neighbours.
const instant = fc.oneof(
	fc.integer({ min: 0, max: 3 * DAY }),
	fc.integer({ min: 0, max: 72 }).chain((h) => fc.constantFrom(h * HOUR, h * HOUR - 1, h * HOUR + 1)),
);
const connector = fc.integer({ min: 0, max: 1 });
const opArb: fc.Arbitrary<Op> = fc.oneof(
	{ weight: 3, arbitrary: fc.record({ op: fc.constant('insert' as const), connector, runs: fc.array(fc.record({ at: instant, status: fc.constantFrom(...STATUSES) }), { minLength: 1, maxLength: 30 }) }) },
	// Successes close together: gaps on both sides of the rollup's 5-minute floor.
	{ weight: 2, arbitrary: fc.record({ op: fc.constant('burst' as const), connector, at: instant, everyMs: fc.integer({ min: 1_000, max: 1_800_000 }), count: fc.integer({ min: 2, max: 40 }) }) },
	{ weight: 2, arbitrary: fc.record({ op: fc.constant('update' as const), connector, from: instant, to: instant, status: fc.constantFrom(...STATUSES), shiftMs: fc.integer({ min: -2 * HOUR, max: 2 * HOUR }) }) },
	{ weight: 1, arbitrary: fc.record({ op: fc.constant('delete' as const), connector, from: instant, to: instant }) },
);

async function apply(ids: string[], o: Op): Promise<void> {
	const id = ids[o.connector];
	if (o.op === 'insert' || o.op === 'burst') {
		const runs = o.op === 'insert' ? o.runs : Array.from({ length: o.count }, (_, i) => ({ at: o.at + i * o.everyMs, status: 'success' as Status }));
		await db.pool.query(
			`insert into public.ipai_connector_run (connector_id, started_at, ended_at, status)
			 select $1, t - interval '10 seconds', case when s = 'running' then null else t end, s
			   from unnest($2::timestamptz[], $3::text[]) as x(t, s)`,
			[id, runs.map((r) => new Date(T0 + r.at)), runs.map((r) => r.status)],
		);
	} else if (o.op === 'update') {
		const [lo, hi] = [Math.min(o.from, o.to), Math.max(o.from, o.to)];
		await db.pool.query(
			`update public.ipai_connector_run
			    set status = $4,
			        started_at = least(started_at, started_at + make_interval(secs => $5 / 1000.0)),
			        ended_at = case when $4 = 'running' then null else coalesce(ended_at, started_at) + make_interval(secs => $5 / 1000.0) end
			  where connector_id = $1 and started_at >= $2 and started_at <= $3`,
			[id, new Date(T0 + lo), new Date(T0 + hi), o.status, o.shiftMs],
		);
	} else {
		const [lo, hi] = [Math.min(o.from, o.to), Math.max(o.from, o.to)];
		await db.pool.query(`delete from public.ipai_connector_run where connector_id = $1 and started_at >= $2 and started_at <= $3`, [id, new Date(T0 + lo), new Date(T0 + hi)]);
	}
}

async function connectors(): Promise<string[]> {
	return [await addConnector(db.pool, { name: 'a', createdAt: new Date(T0 - DAY) }), await addConnector(db.pool, { name: 'b', createdAt: new Date(T0 - DAY) })];
}

async function rollupMatchesLedger(): Promise<void> {
	const { rows } = await db.pool.query(
		`with truth as (
		   select connector_id, hour, min(ended_at) as first_at, max(ended_at) as last_at, max(gap) as max_gap,
		          coalesce(array_agg(gap order by ended_at) filter (where gap > interval '5 minutes'), '{}') as long_gaps
		     from (select connector_id, date_trunc('hour', ended_at, 'UTC') as hour, ended_at,
		                  ended_at - lag(ended_at) over (partition by connector_id, date_trunc('hour', ended_at, 'UTC') order by ended_at) as gap
		             from public.ipai_connector_run where status = 'success') s
		    group by 1, 2),
		 kept as (select connector_id, hour, first_success_at, last_success_at, max_gap, long_gaps from ipai_meta.connector_success_hourly)
		 (select 'missing' as side, * from truth except select 'missing', * from kept)
		 union all
		 (select 'extra', * from kept except select 'extra', * from truth)`,
	);
	expect(rows).toEqual([]);
}

/** The direct answer: every success of the period (the query the rollup replaces). */
async function directStale(now: Date, ids: string[], thresholdSeconds: number, periodSeconds: number): Promise<number[]> {
	const { rows } = await db.pool.query<{ i: number; stale_seconds: string | null }>(RAW_STALE_SQL, [
		now, ids.map((_, i) => i), ids, ids.map(() => thresholdSeconds), ids.map(() => new Date(now.getTime() - periodSeconds * 1000)),
	]);
	return ids.map((_, i) => Number(rows.find((r) => Number(r.i) === i)?.stale_seconds ?? 0));
}

it('keeps the success rollup equal to the ledger through random inserts, bursts, updates, moves and deletes', async () => {
	await fc.assert(
		fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 10 }), async (ops) => {
			await resetAlerting(db.pool);
			const ids = await connectors();
			for (const o of ops) {
				await apply(ids, o);
				await rollupMatchesLedger();
			}
		}),
		{ numRuns: 30 },
	);
});

it('gives the stale time of the direct query over every success, through the SQL and through the evaluator', async () => {
	const probe = fc.record({
		at: instant,
		periodSeconds: fc.integer({ min: 600, max: 2 * 86_400 }),
		// Mostly thresholds a gap inside an hour can exceed; some only gaps across hours can; some
		// under the rollup's floor (the evaluator reads the runs for those).
		thresholdSeconds: fc.oneof(
			{ weight: 3, arbitrary: fc.integer({ min: ROLLUP_MIN_GAP_SECONDS, max: 1_800 }) },
			{ weight: 1, arbitrary: fc.integer({ min: ROLLUP_MIN_GAP_SECONDS, max: 6 * 3600 }) },
			{ weight: 1, arbitrary: fc.integer({ min: 1, max: ROLLUP_MIN_GAP_SECONDS - 1 }) },
		),
	});
	await fc.assert(
		fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 8 }), fc.array(probe, { minLength: 1, maxLength: 4 }), async (ops, probes) => {
			await resetAlerting(db.pool);
			const ids = await connectors();
			for (const o of ops) await apply(ids, o);
			for (const p of probes) {
				const now = new Date(T0 + p.at);
				const direct = await directStale(now, ids, p.thresholdSeconds, p.periodSeconds);
				const lastHour = Math.floor(now.getTime() / HOUR) * HOUR;
				const firstHour = Math.floor((now.getTime() - p.periodSeconds * 1000) / HOUR) * HOUR + HOUR;
				if (p.thresholdSeconds >= ROLLUP_MIN_GAP_SECONDS && firstHour < lastHour) {
					const { rows } = await db.pool.query<{ i: number; stale_seconds: string }>(ROLLUP_STALE_SQL, [
						now, new Date(lastHour), ids.map((_, i) => i), ids, ids.map(() => p.thresholdSeconds),
						ids.map(() => new Date(now.getTime() - p.periodSeconds * 1000)), ids.map(() => new Date(firstHour)),
					]);
					expect(ids.map((_, i) => Number(rows.find((r) => Number(r.i) === i)?.stale_seconds ?? 0))).toEqual(direct);
				}
				await db.pool.query(
					`update public.ipai_slo set period = make_interval(secs => $1), params = jsonb_build_object('max_age', $2::int, 'page_after', 2 * $2::int)
					  where code_name = 'connector-freshness'`,
					[p.periodSeconds, p.thresholdSeconds],
				);
				const result = await evaluateSlos(db.pool, { now, slos: ['connector-freshness'] });
				for (const [i, id] of ids.entries()) {
					const status = result.statuses.find((s) => s.target.id === id)!;
					expect(status.freshness?.staleSecondsInPeriod).toBe(Math.round(direct[i]));
					expect(status.errorBudgetRemaining).toBe(round(1 - direct[i] / ((1 - status.objective) * p.periodSeconds), 6));
				}
			}
		}),
		{ numRuns: 30 },
	);
});
