/**
 * The claim / redelivery state machine against the real database, as fast-check sequences of
 * what happens in a queue-mode fleet: ticks, dispatches (by one of two dispatchers), deliveries
 * that run, deliveries lost with a dying dispatcher, deliveries delivered twice, pipelines whose
 * worker dies after accepting or in the middle of the run, and time passing beyond deadlines.
 * After the sequence, the fleet drains (time passes, dispatch, deliver everything).
 * Invariants:
 *  - never two concurrent runs: at every step, at most one `running` run per connector;
 *  - never twice: at most one run (not `skipped`) per claim;
 *  - at least once / no lost claim: after draining, every claim ever handed out is settled — a run
 *    of its connector (duplicate-delivery skips excluded) started at or after the claim was made.
 */
import fc from 'fast-check';
import { acceptDelivery } from '../../lib/lakehouse/delivery';
import { claimDueConnectors, type DispatchItem } from '../../lib/lakehouse/dispatch';
import { finishRun, registerConnector, startRun } from '../../lib/lakehouse/runs';
import { useScratchDatabase } from '../../tooling/helpers/database';

jest.setTimeout(600_000);
const db = useScratchDatabase();
const CONNECTORS = ['p1', 'p2', 'p3'];
const BASE = Date.parse('2026-11-30T10:00:30Z');

type Action =
	| { t: 'tick' }
	| { t: 'dispatch'; by: number }
	| { t: 'deliver'; i: number; outcome: 'finish' | 'dieAfterAccept' | 'dieRunning' }
	| { t: 'lose'; i: number }
	| { t: 'duplicate'; i: number }
	| { t: 'time' };

const action: fc.Arbitrary<Action> = fc.oneof(
	fc.constant({ t: 'tick' as const }),
	fc.record({ t: fc.constant('dispatch' as const), by: fc.integer({ min: 0, max: 1 }) }),
	fc.record({ t: fc.constant('deliver' as const), i: fc.nat(), outcome: fc.constantFrom('finish' as const, 'finish' as const, 'dieAfterAccept' as const, 'dieRunning' as const) }),
	fc.record({ t: fc.constant('lose' as const), i: fc.nat() }),
	fc.record({ t: fc.constant('duplicate' as const), i: fc.nat() }),
	fc.constant({ t: 'time' as const }),
);

beforeAll(async () => {
	const client = await db.pool.connect();
	try {
		for (const name of CONNECTORS) await registerConnector(client, { connectorType: 'odoo', name, config: {}, schedule: '* * * * *' });
	} finally {
		client.release();
	}
});

async function reset(): Promise<void> {
	await db.pool.query('delete from ipai_connector_dispatch; delete from ipai_connector_lease; delete from ipai_connector_run');
}

/** Time passes beyond every deadline, acceptance window and lease timeout (runs keep their times). */
const timePasses = () =>
	db.pool.query(`update ipai_connector_dispatch set claim_deadline = claim_deadline - interval '1 hour', accepted_at = accepted_at - interval '1 hour';
	               update ipai_connector_lease set heartbeat_at = heartbeat_at - interval '1 hour'`);

let executions = 0;
/** A pipeline execution: accept, start the run (under the lease), finish — or die on the way. */
async function deliver(item: DispatchItem, outcome: 'finish' | 'dieAfterAccept' | 'dieRunning'): Promise<void> {
	const accepted = await acceptDelivery(db.pool, item, { executionId: `e${++executions}`, worker: 'w' });
	if (accepted.status !== 'accepted' || outcome === 'dieAfterAccept') return;
	const run = await startRun(db.pool, { connector: { id: item.connectorId }, metadata: { claim_id: item.claimId } });
	if (run.status === 'running' && outcome === 'finish') await finishRun(db.pool, run.runId);
}

async function concurrentRuns(): Promise<number> {
	const { rows } = await db.pool.query(`select coalesce(max(n), 0)::int as n from (select count(*) as n from ipai_connector_run where status = 'running' group by connector_id) x`);
	return rows[0].n;
}

it('at least once, never twice, never two at a time', async () => {
	await fc.assert(
		fc.asyncProperty(fc.array(action, { minLength: 1, maxLength: 25 }), async (actions) => {
			await reset();
			let minute = 0;
			const queue: DispatchItem[] = [];
			const claims = new Map<string, string>(); // claim id → connector id
			const dispatch = async (by: number) => {
				const items = await claimDueConnectors(db.pool, { now: new Date(BASE + minute * 60_000), dispatcher: `d${by}`, maxDeliveries: 1000 });
				for (const item of items) {
					expect(item.reason === 'schedule' || item.reason === 'redelivery').toBe(true);
					claims.set(item.claimId!, item.connectorId);
					queue.push(item);
				}
			};
			for (const a of actions) {
				if (a.t === 'tick') minute++;
				else if (a.t === 'dispatch') await dispatch(a.by);
				else if (a.t === 'time') await timePasses();
				else if (queue.length > 0) {
					const i = a.i % queue.length;
					if (a.t === 'duplicate') queue.push(queue[i]);
					else {
						const [item] = queue.splice(i, 1);
						if (a.t === 'deliver') await deliver(item, a.outcome);
					}
				}
				expect(await concurrentRuns()).toBeLessThanOrEqual(1);
			}
			// Drain: no new ticks; deadlines pass, dispatchers hand out what is unsettled, every delivery runs.
			for (let round = 0; round < 3; round++) {
				await timePasses();
				await dispatch(0);
				while (queue.length > 0) {
					await deliver(queue.shift()!, 'finish');
					expect(await concurrentRuns()).toBeLessThanOrEqual(1);
				}
			}
			const twice = await db.pool.query(
				`select metadata ->> 'claim_id' as claim, count(*)::int as n from ipai_connector_run
				  where status <> 'skipped' and metadata ? 'claim_id' group by 1 having count(*) > 1`,
			);
			expect(twice.rows).toEqual([]);
			const unsettled = await db.pool.query(
				`select d.connector_id from ipai_connector_dispatch d
				  where d.claim_id is not null and not exists (
				        select 1 from ipai_connector_run r where r.connector_id = d.connector_id and r.started_at >= d.dispatched_at
				           and not (r.status = 'skipped' and r.metadata ->> 'reason' = 'duplicate_delivery'))`,
			);
			expect(unsettled.rows).toEqual([]);
			// Every claim handed out is either the connector's current one or was superseded by a later tick's.
			const current = new Set((await db.pool.query(`select claim_id from ipai_connector_dispatch`)).rows.map((r) => r.claim_id));
			for (const [claim, connector] of claims) {
				if (current.has(claim)) continue;
				const { rows } = await db.pool.query(`select 1 from ipai_connector_dispatch where connector_id = $1 and claim_id <> $2`, [connector, claim]);
				expect(rows).toHaveLength(1);
			}
		}),
		{ numRuns: 40 },
	);
});
