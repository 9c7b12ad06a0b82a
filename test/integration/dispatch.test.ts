/** The dispatcher's claims against a real PostgreSQL: due ticks, once across dispatchers, invalid schedules, run-now names. */
import { Pool } from 'pg';
import { claimDueConnectors, requestedConnectors } from '../../lib/lakehouse/dispatch';
import { registerConnector } from '../../lib/lakehouse/runs';
import { parseCron } from '../../lib/slo/cron';
import { useScratchDatabase } from '../helpers/database';

const db = useScratchDatabase();
const at = (iso: string) => new Date(iso);

async function connector(type: string, name: string, schedule: string | null, enabled = true): Promise<string> {
	const client = await db.pool.connect();
	try {
		const id = await registerConnector(client, { connectorType: type, name, config: { note: name } });
		await client.query('update ipai_connector_config set schedule = $2, is_enabled = $3 where id = $1', [id, schedule, enabled]);
		return id;
	} finally {
		client.release();
	}
}

beforeEach(async () => {
	await db.pool.query('delete from ipai_connector_dispatch');
	await db.pool.query('delete from ipai_connector_config');
});

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
