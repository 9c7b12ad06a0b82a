/**
 * The hourly rollup of finished runs (ipai_meta.connector_run_hourly, kept by statement triggers)
 * against PostgreSQL's own aggregation of the ledger, over random inserts, status changes, moves
 * across hour boundaries and deletes; and the evaluator's window counts (rollup + raw edges)
 * against a plain count of the runs in (now - window, now] at random instants.
 */
import fc from 'fast-check';
import { evaluateSlos } from '../../lib/slo';
import { useScratchDatabase } from '../../tooling/helpers/database';
import { addConnector, DAY, HOUR, resetAlerting } from './sloHelpers';

jest.setTimeout(300_000);

const db = useScratchDatabase();

// Finished runs are frozen for every role; an owner's maintenance (the trigger disabled) may still
// correct or move them, and the rollup must follow. The property exercises exactly that.
beforeAll(async () => {
	await db.pool.query('alter table public.ipai_connector_run disable trigger ipai_connector_run_ended_is_history');
});
const T0 = Date.UTC(2026, 2, 1);
const STATUSES = ['success', 'failed', 'abandoned', 'skipped', 'running'] as const;

type Op =
	| { op: 'insert'; connector: number; runs: Array<{ at: number; status: (typeof STATUSES)[number] }> }
	| { op: 'update'; connector: number; from: number; to: number; status: (typeof STATUSES)[number]; shiftMs: number }
	| { op: 'delete'; connector: number; from: number; to: number };

// Instants over 3 days, biased to exact hour boundaries and their neighbours.
const instant = fc.oneof(
	fc.integer({ min: 0, max: 3 * DAY }),
	fc.integer({ min: 0, max: 72 }).chain((h) => fc.constantFrom(h * HOUR, h * HOUR - 1, h * HOUR + 1)),
);
const status = fc.constantFrom(...STATUSES);
const opArb: fc.Arbitrary<Op> = fc.oneof(
	{ weight: 3, arbitrary: fc.record({ op: fc.constant('insert' as const), connector: fc.integer({ min: 0, max: 1 }), runs: fc.array(fc.record({ at: instant, status }), { minLength: 1, maxLength: 30 }) }) },
	{ weight: 2, arbitrary: fc.record({ op: fc.constant('update' as const), connector: fc.integer({ min: 0, max: 1 }), from: instant, to: instant, status, shiftMs: fc.integer({ min: -2 * HOUR, max: 2 * HOUR }) }) },
	{ weight: 1, arbitrary: fc.record({ op: fc.constant('delete' as const), connector: fc.integer({ min: 0, max: 1 }), from: instant, to: instant }) },
);

async function apply(ids: string[], o: Op): Promise<void> {
	const id = ids[o.connector];
	if (o.op === 'insert') {
		await db.pool.query(
			`insert into public.ipai_connector_run (connector_id, started_at, ended_at, status)
			 select $1, t - interval '10 seconds', case when s = 'running' then null else t end, s
			   from unnest($2::timestamptz[], $3::text[]) as x(t, s)`,
			[id, o.runs.map((r) => new Date(T0 + r.at)), o.runs.map((r) => r.status)],
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

async function rollupMatchesLedger(): Promise<void> {
	const { rows } = await db.pool.query(
		`with truth as (
		   select connector_id, date_trunc('hour', ended_at, 'UTC') as hour, count(*) as finished, count(*) filter (where status <> 'success') as bad
		     from public.ipai_connector_run where status in ('success', 'failed', 'abandoned') group by 1, 2),
		 kept as (select connector_id, hour, finished, bad from ipai_meta.connector_run_hourly where finished <> 0 or bad <> 0)
		 (select 'missing' as side, * from truth except select 'missing', * from kept)
		 union all
		 (select 'extra', * from kept except select 'extra', * from truth)`,
	);
	expect(rows).toEqual([]);
}

beforeEach(async () => resetAlerting(db.pool));

it('keeps the rollup equal to the ledger through random inserts, updates, moves and deletes', async () => {
	await fc.assert(
		fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 12 }), async (ops) => {
			await resetAlerting(db.pool);
			const ids = [await addConnector(db.pool, { name: 'a', createdAt: new Date(T0 - DAY) }), await addConnector(db.pool, { name: 'b', createdAt: new Date(T0 - DAY) })];
			for (const o of ops) {
				await apply(ids, o);
				await rollupMatchesLedger();
			}
		}),
		{ numRuns: 40 },
	);
});

it('counts every window of the evaluator exactly as a plain count of the runs', async () => {
	await fc.assert(
		fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 8 }), fc.array(instant, { minLength: 1, maxLength: 4 }), async (ops, instants) => {
			await resetAlerting(db.pool);
			const ids = [await addConnector(db.pool, { name: 'a', createdAt: new Date(T0 - DAY) }), await addConnector(db.pool, { name: 'b', createdAt: new Date(T0 - DAY) })];
			for (const o of ops) await apply(ids, o);
			for (const at of instants) {
				const now = new Date(T0 + at);
				const result = await evaluateSlos(db.pool, { now, slos: ['connector-run-success'] });
				for (const status of result.statuses) {
					const windows = [
						{ seconds: status.periodSeconds, events: status.events, bad: status.badEvents },
						...status.windows.flatMap((w) => [
							{ seconds: w.longSeconds, events: w.longEvents, bad: w.longBad },
							{ seconds: w.shortSeconds, events: w.shortEvents, bad: w.shortBad },
						]),
					];
					for (const w of windows) {
						const { rows } = await db.pool.query<{ events: number; bad: number }>(
							`select count(*)::int as events, (count(*) filter (where status <> 'success'))::int as bad from public.ipai_connector_run
							  where connector_id = $1 and status in ('success', 'failed', 'abandoned')
							    and ended_at > $2::timestamptz - make_interval(secs => $3) and ended_at <= $2`,
							[status.target.id, now, w.seconds],
						);
						expect({ seconds: w.seconds, events: w.events, bad: w.bad }).toEqual({ seconds: w.seconds, ...rows[0] });
					}
				}
			}
		}),
		{ numRuns: 30 },
	);
});
