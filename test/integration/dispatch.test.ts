/** The dispatcher's claims against a real PostgreSQL: due ticks, once across dispatchers, invalid schedules, run-now names. */
import { Pool } from 'pg';
import { acceptDelivery, connectorOfExecution, extendUndelivered, markDelivered, markUndelivered } from '../../lib/lakehouse/delivery';
import { claimDueConnectors, requestedConnectors } from '../../lib/lakehouse/dispatch';
import { finishRun, registerConnector, startRun } from '../../lib/lakehouse/runs';
import { parseCron } from '../../lib/lakehouse/cron';
import { useScratchDatabase } from '../../tooling/helpers/database';

const db = useScratchDatabase();
const at = (iso: string) => new Date(iso);

/** A config each built-in type's pipeline can run (the database refuses a scheduled row without one). */
const RUNNABLE: Record<string, Record<string, unknown>> = { github: { repositories: ['acme/app'] }, file: { table: 'landing' } };

async function connector(type: string, name: string, schedule: string | null, enabled = true): Promise<string> {
	const client = await db.pool.connect();
	try {
		const id = await registerConnector(client, { connectorType: type, name, config: { note: name, ...RUNNABLE[type] } });
		await client.query('update ipai_connector_config set schedule = $2, is_enabled = $3 where id = $1', [id, schedule, enabled]);
		return id;
	} finally {
		client.release();
	}
}

beforeEach(async () => {
	await db.pool.query('delete from ipai_connector_dispatch');
	await db.pool.query('delete from ipai_connector_lease');
	await db.pool.query('delete from ipai_connector_state');
	await db.pool.query('delete from ipai_connector_run');
	await db.pool.query('delete from ipai_connector_config');
});

/** Time passes for the claims: deadlines, acceptances and heartbeats an hour earlier (runs keep their times). */
const anHourLater = () =>
	db.pool.query(`update ipai_connector_dispatch set claim_deadline = claim_deadline - interval '1 hour', accepted_at = accepted_at - interval '1 hour';
	               update ipai_connector_lease set heartbeat_at = heartbeat_at - interval '1 hour'`);
const runsOf = async (name: string) =>
	(await db.pool.query(`select r.status, r.error_message, r.metadata from ipai_connector_run r join ipai_connector_config c on c.id = r.connector_id where c.name = $1 order by r.started_at`, [name])).rows;

describe('cron: the latest tick at or before a time', () => {
	it.each([
		['*/15 * * * *', '2026-11-30T10:14:59Z', '2026-11-30T10:00:00.000Z'],
		['*/15 * * * *', '2026-11-30T10:15:00Z', '2026-11-30T10:15:00.000Z'],
		['0 2 * * *', '2026-11-30T01:59:00Z', '2026-11-29T02:00:00.000Z'],
		['0 9-17 * * MON-FRI', '2026-11-29T12:00:00Z', '2026-11-27T17:00:00.000Z'], // Sunday → Friday 17:00
		['0 0 1 1 *', '2026-11-30T00:00:00Z', '2026-01-01T00:00:00.000Z'],
		['30 4 31 2 *', '2026-11-30T00:00:00Z', null], // 31 February never comes
	])('%s at %s → %s', (expression, now, expected) => {
		expect(parseCron(expression).lastFireAtOrBefore(at(now))?.toISOString() ?? null).toBe(expected);
	});
});

describe('due connectors', () => {
	it('hands each tick out once: new connectors at once, then on their schedule; missed ticks collapse into one', async () => {
		const quarter = await connector('odoo', 'finance', '*/15 * * * *');
		await connector('github', 'devops', '0 * * * *');
		await connector('file', 'manual', null); // no schedule: only run on request
		await connector('file', 'paused', '* * * * *', false);

		const first = await claimDueConnectors(db.pool, { now: at('2026-11-30T10:07:00Z') });
		expect(first.map((d) => [d.connectorType, d.name, d.dueAt, d.reason])).toEqual([
			['github', 'devops', '2026-11-30T10:00:00.000Z', 'schedule'],
			['odoo', 'finance', '2026-11-30T10:00:00.000Z', 'schedule'],
		]);
		expect(first[1]).toMatchObject({ connectorId: quarter, config: { note: 'finance' }, schedule: '*/15 * * * *' });
		expect(await claimDueConnectors(db.pool, { now: at('2026-11-30T10:14:00Z') })).toEqual([]);
		expect((await claimDueConnectors(db.pool, { now: at('2026-11-30T10:15:00Z') })).map((d) => d.name)).toEqual(['finance']);
		// Down for three hours: one run per connector, for the latest tick.
		const late = await claimDueConnectors(db.pool, { now: at('2026-11-30T13:20:00Z') });
		expect(late.map((d) => [d.name, d.dueAt])).toEqual([
			['devops', '2026-11-30T13:00:00.000Z'],
			['finance', '2026-11-30T13:15:00.000Z'],
		]);
		expect((await claimDueConnectors(db.pool, { now: at('2026-11-30T13:30:00Z'), types: ['github'] }))).toEqual([]);
	});

	it('ten dispatchers on ten connections claim a tick exactly once between them', async () => {
		for (let i = 0; i < 5; i++) await connector('odoo', `c${i}`, '* * * * *');
		const pools = Array.from({ length: 10 }, () => new Pool({ connectionString: db.url, max: 1 }));
		try {
			const results = await Promise.all(pools.map((pool, i) => claimDueConnectors(pool, { now: at('2026-11-30T10:00:30Z'), dispatcher: `d${i}` })));
			const names = results.flat().map((d) => d.name).sort();
			expect(names).toEqual(['c0', 'c1', 'c2', 'c3', 'c4']);
			const { rows } = await db.pool.query('select count(distinct dispatched_by)::int as n, count(*)::int as claims from ipai_connector_dispatch');
			expect(rows[0].claims).toBe(5);
		} finally {
			await Promise.all(pools.map((p) => p.end()));
		}
	});

	it('reports a schedule that is not cron once, and again only after it changes', async () => {
		await connector('odoo', 'typo', '*/15 * * *');
		await connector('odoo', 'fine', '*/15 * * * *');
		const first = await claimDueConnectors(db.pool, { now: at('2026-11-30T10:00:00Z') });
		expect(first.map((d) => [d.name, d.reason])).toEqual([['typo', 'invalid_schedule'], ['fine', 'schedule']]);
		expect(first[0].error).toMatch(/odoo\/typo .*"\*\/15 \* \* \*" is not valid cron .*5-field/);
		expect(await claimDueConnectors(db.pool, { now: at('2026-11-30T10:05:00Z') })).toEqual([]);
		await db.pool.query(`update ipai_connector_config set schedule = '99 * * * *' where name = 'typo'`);
		expect((await claimDueConnectors(db.pool, { now: at('2026-11-30T10:06:00Z') })).map((d) => d.reason)).toEqual(['invalid_schedule']);
		await db.pool.query(`update ipai_connector_config set schedule = '*/5 * * * *' where name = 'typo'`);
		expect((await claimDueConnectors(db.pool, { now: at('2026-11-30T10:07:00Z') })).map((d) => [d.name, d.reason])).toEqual([['typo', 'schedule']]);
	});

	it('reports a valid schedule that never comes round, instead of silently never running it', async () => {
		await connector('odoo', 'leap', '0 0 31 2 *');
		const first = await claimDueConnectors(db.pool, { now: at('2026-11-30T10:00:00Z') });
		expect(first.map((d) => [d.name, d.reason])).toEqual([['leap', 'invalid_schedule']]);
		expect(first[0].error).toMatch(/"0 0 31 2 \*" never fires/);
		expect(await claimDueConnectors(db.pool, { now: at('2026-11-30T10:01:00Z') })).toEqual([]);
	});

	it('refuses to register a connector whose schedule is not cron', async () => {
		const client = await db.pool.connect();
		try {
			await expect(registerConnector(client, { connectorType: 'odoo', name: 'x', schedule: 'hourly' })).rejects.toThrow(/5-field/);
		} finally {
			client.release();
		}
	});
});

describe('connectors run on request', () => {
	it('returns the named ones and refuses unknown, ambiguous and disabled names with all problems at once', async () => {
		await connector('odoo', 'finance', null);
		await connector('odoo', 'shared', null);
		await connector('github', 'shared', null);
		await connector('file', 'paused', null, false);
		expect((await requestedConnectors(db.pool, ['finance', 'github/shared'])).map((d) => [d.connectorType, d.name, d.reason])).toEqual([
			['odoo', 'finance', 'requested'],
			['github', 'shared', 'requested'],
		]);
		await expect(requestedConnectors(db.pool, ['nope', 'shared', 'paused'])).rejects.toThrow(
			/no connector is named "nope"; "shared" names 2 connectors \(github\/shared, odoo\/shared\); write it as type\/name; connector file\/paused is disabled/,
		);
	});
});

describe('at least once, never twice: claims, deadlines and acceptance', () => {
	it('a claim no pipeline accepted is handed out again after its deadline, with the same claim id, until a run starts', async () => {
		await connector('odoo', 'o1', '* * * * *');
		const [first] = await claimDueConnectors(db.pool, { now: at('2026-11-30T10:00:10Z') });
		expect(first).toMatchObject({ name: 'o1', reason: 'schedule', delivery: 1, pipeline: { webhook: 'ipai/pipeline/odoo' } });
		// Before the deadline: nothing to redeliver.
		expect(await claimDueConnectors(db.pool, { now: at('2026-11-30T10:00:40Z') })).toEqual([]);
		await anHourLater();
		const [again] = await claimDueConnectors(db.pool, { now: at('2026-11-30T10:00:50Z') });
		expect(again).toMatchObject({ name: 'o1', reason: 'redelivery', claimId: first.claimId, delivery: 2, dueAt: first.dueAt });
		// Accepted and run: settled, never handed out again.
		const accepted = await acceptDelivery(db.pool, again, { executionId: 'e2' });
		expect(accepted.status).toBe('accepted');
		const run = await startRun(db.pool, { connector: { id: again.connectorId } });
		await finishRun(db.pool, run.runId);
		await anHourLater();
		expect(await claimDueConnectors(db.pool, { now: at('2026-11-30T10:00:55Z') })).toEqual([]);
		expect(await connectorOfExecution(db.pool, 'e2')).toEqual({ connectorId: again.connectorId, connector: 'odoo/o1' });
	});

	it('a second delivery of a claim is a skipped run, whether the first is still starting or already ran', async () => {
		await connector('odoo', 'o2', '* * * * *');
		const [item] = await claimDueConnectors(db.pool, { now: at('2026-11-30T10:00:10Z') });
		expect((await acceptDelivery(db.pool, item, { executionId: 'a', worker: 'w1' })).status).toBe('accepted');
		// Another execution (a redelivery racing the first) while the first has not started its run yet.
		const racing = await acceptDelivery(db.pool, item, { executionId: 'b', worker: 'w2' });
		expect(racing).toMatchObject({ status: 'duplicate', acceptedBy: 'w1' });
		// The same execution again (n8n re-running a stalled job) may go on.
		expect((await acceptDelivery(db.pool, item, { executionId: 'a' })).status).toBe('accepted');
		const run = await startRun(db.pool, { connector: { id: item.connectorId } });
		await finishRun(db.pool, run.runId);
		const late = await acceptDelivery(db.pool, item, { executionId: 'c' });
		expect(late.status).toBe('duplicate');
		expect((await runsOf('o2')).map((r) => [r.status, r.metadata.reason ?? null])).toEqual([
			['skipped', 'duplicate_delivery'],
			['success', null],
			['skipped', 'duplicate_delivery'],
		]);
	});

	it('a claim handed out maxDeliveries times without a run becomes a failed run saying so, reported once', async () => {
		await connector('odoo', 'o3', '0 0 1 1 *');
		await claimDueConnectors(db.pool, { now: at('2026-11-30T10:00:00Z'), maxDeliveries: 2 });
		await anHourLater();
		expect((await claimDueConnectors(db.pool, { now: at('2026-11-30T10:01:00Z'), maxDeliveries: 2 })).map((d) => d.reason)).toEqual(['redelivery']);
		await anHourLater();
		const [undelivered] = await claimDueConnectors(db.pool, { now: at('2026-11-30T10:02:00Z'), maxDeliveries: 2 });
		expect(undelivered).toMatchObject({ reason: 'undelivered', title: 'Connector odoo/o3 not delivered' });
		expect(undelivered.error).toMatch(/handed to its pipeline 2 times .* published/);
		const runs = await runsOf('o3');
		expect(runs.map((r) => r.status)).toEqual(['failed']);
		expect(runs[0].error_message).toBe(undelivered.error);
		await anHourLater();
		expect(await claimDueConnectors(db.pool, { now: at('2026-11-30T10:03:00Z'), maxDeliveries: 2 })).toEqual([]);
	});
});

describe('bad rows: a failed run every tick, a report once per change of the row', () => {
	it('a type with no pipeline', async () => {
		await connector('weird', 'orphan', '* * * * *');
		const first = await claimDueConnectors(db.pool, { now: at('2026-11-30T10:00:00Z') });
		expect(first).toEqual([expect.objectContaining({ reason: 'no_pipeline', title: 'No pipeline for connector weird/orphan' })]);
		expect(first[0].error).toMatch(/config\.pipeline_webhook/);
		for (const minute of ['01', '02', '03']) expect(await claimDueConnectors(db.pool, { now: at(`2026-11-30T10:${minute}:00Z`) })).toEqual([]);
		expect((await runsOf('orphan')).map((r) => [r.status, r.error_message])).toEqual(Array(4).fill(['failed', first[0].error]));
		// The row changes (still without a pipeline): news again.
		await db.pool.query(`update ipai_connector_config set config = '{"note": "still no pipeline"}' where name = 'orphan'`);
		expect((await claimDueConnectors(db.pool, { now: at('2026-11-30T10:04:00Z') })).map((d) => d.reason)).toEqual(['no_pipeline']);
		// Quiet for longer than the quiet period: reported again.
		await db.pool.query(`update ipai_connector_dispatch set problem_reported_at = now() - interval '25 hours'`);
		expect((await claimDueConnectors(db.pool, { now: at('2026-11-30T10:05:00Z') })).map((d) => d.reason)).toEqual(['no_pipeline']);
		// Given a pipeline: delivered, and a later problem is news at once.
		await db.pool.query(`update ipai_connector_config set config = '{"pipeline_webhook": "custom/orphan"}' where name = 'orphan'`);
		expect(await claimDueConnectors(db.pool, { now: at('2026-11-30T10:06:00Z') })).toEqual([
			expect.objectContaining({ reason: 'schedule', pipeline: { webhook: 'custom/orphan' } }),
		]);
	});

	it('a config its pipeline cannot use (a row from before validation): failed runs naming the fields, one report', async () => {
		await db.pool.query('alter table ipai_connector_config disable trigger ipai_connector_config_check');
		try {
			await db.pool.query(`insert into ipai_connector_config (connector_type, name, config, schedule) values ('file', 'empty', '{}', '* * * * *')`);
		} finally {
			await db.pool.query('alter table ipai_connector_config enable trigger ipai_connector_config_check');
		}
		const [report] = await claimDueConnectors(db.pool, { now: at('2026-11-30T10:00:00Z') });
		expect(report).toMatchObject({ reason: 'invalid_config', title: 'Connector file/empty has an invalid config' });
		expect(report.error).toBe('Connector file/empty cannot run: config.table is missing (the bronze table the files load into). Fix its row in ipai_connector_config.');
		expect(await claimDueConnectors(db.pool, { now: at('2026-11-30T10:01:00Z') })).toEqual([]);
		expect((await runsOf('empty')).map((r) => [r.status, r.error_message])).toEqual(Array(2).fill(['failed', report.error]));
	});

	it('"run now" of a row its pipeline cannot use: the pipeline records a failed run naming the missing fields', async () => {
		await connector('file', 'manual', null);
		await db.pool.query(`update ipai_connector_config set config = '{"onBadRow": "ignore"}' where name = 'manual'`);
		const [item] = await requestedConnectors(db.pool, ['manual']);
		const result = await acceptDelivery(db.pool, item, { executionId: 'x' });
		expect(result.status).toBe('invalid');
		const [run] = await runsOf('manual');
		expect(run.status).toBe('failed');
		expect(run.error_message).toBe(
			'Connector file/manual cannot run: config.table is missing (the bronze table the files load into); config.onBadRow must be one of fail, skip. Fix its row in ipai_connector_config.',
		);
	});
});

describe('queued deliveries', () => {
	it('a claim the main queued waits for its worker: not handed out again at the short deadline, but after the long one', async () => {
		await connector('odoo', 'q1', '* * * * *');
		await connector('odoo', 'q2', '* * * * *');
		const items = await claimDueConnectors(db.pool, { now: at('2026-11-30T10:00:10Z') });
		expect(await markDelivered(db.pool, [items.find((i) => i.name === 'q1')!.claimId!, 'not-a-uuid'])).toBe(1);
		// Five minutes later: past the short deadline, well before the long one.
		await db.pool.query(`update ipai_connector_dispatch set claim_deadline = claim_deadline - interval '5 minutes'`);
		// q2 was never queued (the dispatcher died first): handed out again; q1 is in the queue.
		expect((await claimDueConnectors(db.pool, { now: at('2026-11-30T10:00:50Z') })).map((i) => [i.name, i.reason])).toEqual([['q2', 'redelivery']]);
		await db.pool.query(`update ipai_connector_dispatch set claim_deadline = now() - interval '1 second' where delivered_at is not null`);
		expect((await claimDueConnectors(db.pool, { now: at('2026-11-30T10:00:55Z') })).map((i) => [i.name, i.reason])).toEqual([['q1', 'redelivery']]);
	});

	it('a delivery the main refused is handed out again at the next tick, not after the deadline; an accepted one never', async () => {
		await connector('odoo', 'r1', '* * * * *');
		await connector('odoo', 'r2', '* * * * *');
		const items = await claimDueConnectors(db.pool, { now: at('2026-11-30T10:00:10Z') });
		const claim = (name: string) => items.find((i) => i.name === name)!;
		await acceptDelivery(db.pool, claim('r2'), { executionId: 'e2' });
		expect(await markUndelivered(db.pool, [claim('r1').claimId!, claim('r2').claimId!, 'not-a-uuid'])).toBe(1);
		const again = await claimDueConnectors(db.pool, { now: at('2026-11-30T10:00:20Z') });
		expect(again.map((i) => [i.name, i.reason, i.claimId, i.delivery])).toEqual([['r1', 'redelivery', claim('r1').claimId, 2]]);
	});

	it('claims a live dispatcher has not delivered yet do not expire; a refused one stays due; another dispatcher extends none', async () => {
		for (const name of ['s1', 's2', 's3']) await connector('odoo', name, '* * * * *');
		const items = await claimDueConnectors(db.pool, { now: at('2026-11-30T10:00:10Z'), dispatcher: 'n8n execution 7' });
		const claim = (name: string) => items.find((i) => i.name === name)!.claimId!;
		// Past the deadline: s1 was refused by the main, s2 and s3 still wait for their batch.
		await db.pool.query(`update ipai_connector_dispatch set claim_deadline = now() - interval '1 second'`);
		await db.pool.query(`update ipai_connector_dispatch set claim_deadline = now() + interval '1 hour' where claim_id = $1`, [claim('s3')]);
		await db.pool.query(`update ipai_connector_dispatch set claim_deadline = now() + interval '5 seconds' where claim_id = $1`, [claim('s2')]);
		await markUndelivered(db.pool, [claim('s1')]);
		expect(await extendUndelivered(db.pool, 'n8n execution 7')).toBe(2);
		expect(await extendUndelivered(db.pool, 'n8n execution 8')).toBe(0);
		const { rows } = await db.pool.query<{ name: string; left: number }>(
			`select c.name, extract(epoch from d.claim_deadline - now())::int as left from ipai_connector_dispatch d join ipai_connector_config c on c.id = d.connector_id order by c.name`,
		);
		expect(rows.map((r) => [r.name, r.left <= 0 ? 'due' : r.left > 3000 ? 'hour' : r.left >= 115 ? '120 s' : r.left])).toEqual([['s1', 'due'], ['s2', '120 s'], ['s3', 'hour']]);
		expect((await claimDueConnectors(db.pool, { now: at('2026-11-30T10:00:20Z') })).map((i) => i.name)).toEqual(['s1']);
	});
});
