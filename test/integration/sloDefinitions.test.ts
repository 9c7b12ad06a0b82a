/**
 * One bad SLO row must not stop alerting. The database refuses invalid params on write with the
 * same rules as the node (a differential property test: lib/slo/params.ts against the CHECK in
 * PostgreSQL over random params); a row stored before the check (or with the check bypassed) is
 * skipped at evaluation and reported once as a ticket naming it and the field, and every other
 * SLO still pages.
 */
import fc from 'fast-check';
import { deliverDue, paramsProblem, runEvaluation, upsertSlo, type MattermostTarget } from '../../lib/slo';
import { useScratchDatabase } from '../../tooling/helpers/database';
import { MattermostSimulator } from '../../tooling/simulators/mattermost/server';
import { addConnector, addRuns, DAY, HOUR, MINUTE, resetAlerting } from './sloHelpers';

jest.setTimeout(300_000);

const db = useScratchDatabase();
const T0 = Date.UTC(2026, 2, 1);
const BURST = T0 + 3 * DAY;
const HOOK = 'defshookkey0123456789abcde';
let sim: MattermostSimulator;
const hook = (): MattermostTarget => ({ mode: 'webhook', webhookUrl: `${sim.url}/hooks/${HOOK}` });

beforeAll(async () => {
	sim = await MattermostSimulator.start({ hooks: { [HOOK]: { channelId: 'defschannel000000000000001', channelName: 'alerts' } }, tokens: {} });
});
afterAll(async () => sim?.close());
beforeEach(async () => {
	await resetAlerting(db.pool);
	await db.pool.query(`delete from public.ipai_slo where code_name like 'bad-%' or code_name like 'prop-%'`);
	sim.posts.length = 0;
});

async function dbProblem(params: unknown): Promise<string | null> {
	const { rows } = await db.pool.query<{ p: string | null }>('select ipai_meta.slo_params_problem($1::jsonb) as p', [JSON.stringify(params)]);
	return rows[0].p;
}

describe('params are checked on write with the node rules', () => {
	it('refuses the rows of the report in plain SQL', async () => {
		await expect(
			db.pool.query(`insert into ipai_slo (code_name, sli_type, objective, period, params) values ('bad-x', 'connector_success', 0.99, '7 days', '{"min_events":-3}')`),
		).rejects.toThrow(/ipai_slo_params_valid_check/);
		await expect(
			db.pool.query(`insert into ipai_slo (code_name, sli_type, objective, period, params, is_enabled) values ('bad-y', 'connector_success', 0.99, '7 days', '{"page_repeat_interval":"often"}', false)`),
		).rejects.toThrow(/ipai_slo_params_valid_check/);
		await expect(
			db.pool.query(`insert into ipai_slo (code_name, sli_type, objective, period, params) values ('bad-z', 'connector_success', 0.99, '7 days', '{"min_event": 3}')`),
		).rejects.toThrow(/ipai_slo_params_valid_check/);
		expect(await dbProblem({ min_event: 3 })).toBe('params.min_event');
		await expect(upsertSlo(db.pool, { codeName: 'bad-z', sliType: 'connector_success', objective: 99, period: '7d', params: { min_event: 3 } })).rejects.toThrow(
			/params\.min_event is not a known parameter/,
		);
		// Every seeded SLO passes.
		const { rows } = await db.pool.query<{ code_name: string; p: string | null }>('select code_name, ipai_meta.slo_params_problem(params) as p from public.ipai_slo');
		expect(rows.filter((r) => r.p !== null)).toEqual([]);
	});

	it('agrees with lib/slo/params.ts on random params (null vs the offending field)', async () => {
		const duration = fc.oneof(
			fc.constantFrom('5m', '1h30m', '4 hours', '7 days', '0m', 'often', '', '12', '0', '1.5h', ' 2 d ', '5ms', '3w', '10 sec', 'h'),
			fc.double({ min: -10, max: 1e6, noNaN: true }),
			fc.integer({ min: -5, max: 100_000 }),
			fc.constant(null),
			fc.boolean(),
		);
		const number = fc.oneof(
			fc.double({ min: -5, max: 1e5, noNaN: true }),
			fc.integer({ min: -3, max: 50 }),
			fc.constantFrom('3', ' 4.5 ', '-1', 'x', '', '1e3', '0x10', null, true),
		);
		const windowArb = fc.record(
			{
				name: fc.string({ maxLength: 4 }),
				severity: fc.constantFrom('page', 'ticket', 'pager', null),
				budget_percent: fc.oneof(fc.double({ min: -1, max: 120, noNaN: true }), fc.constantFrom('5', 'x', null)),
				long: duration,
				short: duration,
			},
			{ requiredKeys: ['severity', 'budget_percent', 'long', 'short'] },
		);
		const paramsArb = fc.record(
			{
				min_events: number,
				min_bad_events: number,
				warn_fraction: number,
				max_failures_per_day: number,
				warning_runs: number,
				grace: duration,
				page_repeat_interval: duration,
				keep_firing_for: duration,
				absent_severity: fc.constantFrom('page', 'ticket', 'urgent', null, 3),
				agent_code_name: fc.oneof(fc.string({ maxLength: 5 }), fc.integer(), fc.constant(null)),
				alert_windows: fc.oneof(fc.array(fc.oneof(windowArb, fc.constant(3) as fc.Arbitrary<unknown>), { maxLength: 3 }), fc.constant('x'), fc.constant(null)),
				unknown_thing: fc.integer(),
			},
			{ requiredKeys: [] },
		);
		await fc.assert(
			fc.asyncProperty(paramsArb, async (params) => {
				const node = paramsProblem(params);
				const sql = await dbProblem(params);
				if (node === null) expect(sql).toBeNull();
				else expect(sql).not.toBeNull();
				// A single offending field is named the same way by both.
				const keys = Object.keys(params);
				if (node && keys.length === 1) expect(sql).toBe(node.field);
			}),
			{ numRuns: 600 },
		);
	});
});

describe('a bad stored row', () => {
	async function outage(name: string): Promise<void> {
		const id = await addConnector(db.pool, { name, schedule: '*/5 * * * *', createdAt: new Date(T0 - 30 * DAY) });
		await addRuns(db.pool, id, { from: T0, to: BURST, every: 5 * MINUTE });
		await addRuns(db.pool, id, { from: BURST, to: BURST + HOUR, every: 5 * MINUTE, status: () => 'failed' });
	}

	/** Rows written before the check existed: the constraint is NOT VALID, so bypass it as such a row would. */
	async function storeUnchecked(codeName: string, params: Record<string, unknown>, enabled = true): Promise<void> {
		await db.pool.query('alter table public.ipai_slo drop constraint ipai_slo_params_valid_check');
		try {
			await db.pool.query(
				`insert into public.ipai_slo (code_name, sli_type, objective, period, params, is_enabled) values ($1, 'connector_success', 0.99, '7 days', $2, $3)`,
				[codeName, JSON.stringify(params), enabled],
			);
		} finally {
			await db.pool.query(
				'alter table public.ipai_slo add constraint ipai_slo_params_valid_check check (ipai_meta.slo_params_problem(params) is null) not valid',
			);
		}
	}

	it('is skipped and ticketed once, naming the row and the field, while a real outage still pages', async () => {
		await outage('odoo-real');
		await storeUnchecked('bad-min-events', { min_events: -3 });
		const first = await runEvaluation(db.pool, { now: new Date(BURST + HOUR) });
		expect(first.invalidSlos).toEqual([expect.objectContaining({ codeName: 'bad-min-events', field: 'params.min_events' })]);
		expect(first.evaluatedSloIds).not.toContain(first.invalidSlos[0].sloId);
		await deliverDue(db.pool, hook(), { now: new Date(BURST + HOUR) });
		for (let m = 5; m <= 60; m += 5) {
			await runEvaluation(db.pool, { now: new Date(BURST + HOUR + m * MINUTE) });
			await deliverDue(db.pool, hook(), { now: new Date(BURST + HOUR + m * MINUTE) });
		}
		// Two days later the ticket has still been posted once (no daily repeat for this kind).
		await runEvaluation(db.pool, { now: new Date(BURST + 2 * DAY) });
		await deliverDue(db.pool, hook(), { now: new Date(BURST + 2 * DAY) });
		const titles = sim.posts.map((p) => p.message.split('\n')[0]);
		expect(titles.filter((t) => t.includes('[PAGE]') && t.includes('odoo/odoo-real is burning') && !t.includes('still firing'))).toHaveLength(1);
		const tickets = sim.posts.filter((p) => p.message.includes('bad-min-events'));
		expect(tickets).toHaveLength(1);
		expect(tickets[0].message).toContain('params.min_events');
		expect(tickets[0].message).toContain(first.invalidSlos[0].sloId);

		// Fixed: the ticket resolves.
		await db.pool.query(`update public.ipai_slo set params = '{}' where code_name = 'bad-min-events'`);
		const fixed = await runEvaluation(db.pool, { now: new Date(BURST + 2 * DAY + 5 * MINUTE) });
		expect(fixed.invalidSlos).toEqual([]);
		expect(fixed.alerts.find((a) => a.labels.alertname === 'SLODefinitionInvalid')?.state).toBe('resolved');
	});

	it('a disabled bad row is not parsed, even when evaluation names other SLOs', async () => {
		await outage('odoo-other');
		await storeUnchecked('bad-disabled', { page_repeat_interval: 'often' }, false);
		const result = await runEvaluation(db.pool, { now: new Date(BURST + HOUR), slos: ['connector-run-success'] });
		expect(result.invalidSlos).toEqual([]);
		expect(result.due.map((d) => `${d.kind}/${d.severity}`)).toEqual(['firing/page']);
		const all = await runEvaluation(db.pool, { now: new Date(BURST + HOUR + 5 * MINUTE) });
		expect(all.invalidSlos).toEqual([]);
	});
});
