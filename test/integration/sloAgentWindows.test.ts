/**
 * The agent SLIs' window counts (one scan of the agent ledger, each call counted under the shortest
 * window holding it, windows summed in the evaluator) against a plain count of the calls in
 * (now - window, now] per agent, over random agent ledgers and instants: calls and failed calls
 * for agent_failures (and its last-day count), timed calls and calls over the threshold for
 * agent_latency.
 */
import fc from 'fast-check';
import { evaluateSlos } from '../../lib/slo';
import { useScratchDatabase } from '../../tooling/helpers/database';
import { DAY, HOUR, resetAlerting } from './sloHelpers';

jest.setTimeout(300_000);

const db = useScratchDatabase();
beforeEach(async () => resetAlerting(db.pool));

const T0 = Date.UTC(2026, 2, 1);
const call = fc.record({
	agent: fc.integer({ min: 0, max: 1 }),
	// Over 9 days (the seeded period is 7), biased to the last hours where the short windows are.
	at: fc.oneof(fc.integer({ min: 0, max: 9 * DAY }), fc.integer({ min: 9 * DAY - 2 * HOUR, max: 9 * DAY })),
	status: fc.constantFrom('success', 'failed', 'refused', 'running'),
	latencyMs: fc.option(fc.oneof(fc.integer({ min: 0, max: 20_000 }), fc.constantFrom(4_999, 5_000, 5_001)), { nil: null }),
});

it('counts every window of the agent SLIs exactly as a plain count of the calls', async () => {
	await fc.assert(
		fc.asyncProperty(fc.array(call, { minLength: 1, maxLength: 60 }), fc.array(fc.integer({ min: 0, max: 9 * DAY + HOUR }), { minLength: 1, maxLength: 3 }), async (calls, instants) => {
			await resetAlerting(db.pool);
			const { rows: agents } = await db.pool.query<{ id: string }>(
				`insert into public.ipai_agent (code_name, display_name, agent_type) values ('a', 'a', 'claude'), ('b', 'b', 'claude') returning id`,
			);
			await db.pool.query(
				`insert into public.ipai_agent_run (agent_id, started_at, ended_at, status, latency_ms)
				 select a, t - interval '1 second', case when s = 'running' then null else t end, s, l
				   from unnest($1::uuid[], $2::timestamptz[], $3::text[], $4::int[]) as x(a, t, s, l)`,
				[calls.map((c) => agents[c.agent].id), calls.map((c) => new Date(T0 + c.at)), calls.map((c) => c.status), calls.map((c) => c.latencyMs)],
			);
			for (const at of instants) {
				const now = new Date(T0 + at);
				const result = await evaluateSlos(db.pool, { now, slos: ['agent-failures-per-day', 'agent-p95-latency'] });
				expect(result.statuses).toHaveLength(4);
				for (const status of result.statuses) {
					const latency = status.sliType === 'agent_latency';
					const windows = [
						{ seconds: status.periodSeconds, events: status.events, bad: status.badEvents },
						...(status.failures ? [{ seconds: 86_400, events: undefined, bad: status.failures.lastDay }] : []),
						...status.windows.flatMap((w) => [
							{ seconds: w.longSeconds, events: w.longEvents, bad: w.longBad },
							{ seconds: w.shortSeconds, events: w.shortEvents, bad: w.shortBad },
						]),
					];
					for (const w of windows) {
						const { rows } = await db.pool.query<{ events: number; bad: number }>(
							`select count(*) filter (where not $4 or latency_ms is not null)::int as events,
							        count(*) filter (where case when $4 then latency_ms > 5000 else status = 'failed' end)::int as bad
							   from public.ipai_agent_run
							  where agent_id = $1 and status in ('success', 'failed')
							    and ended_at > $2::timestamptz - make_interval(secs => $3) and ended_at <= $2`,
							[status.target.id, now, w.seconds, latency],
						);
						const expected = { seconds: w.seconds, events: w.events === undefined ? undefined : rows[0].events, bad: rows[0].bad };
						expect({ type: status.sliType, seconds: w.seconds, events: w.events, bad: w.bad }).toEqual({ type: status.sliType, ...expected });
					}
				}
			}
		}),
		{ numRuns: 30 },
	);
});
