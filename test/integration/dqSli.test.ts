/**
 * The data_quality SLI and its seeded SLOs, fed by the real enforcement and evaluation paths: a
 * `fail` expectation tripping in a load pages; a `warn` expectation failing on its last three
 * evaluations, or a volume anomaly, makes a ticket; a passing evaluation resolves. Messages name
 * the table, the expectation, failed/evaluated counts, a sample of keys and a runbook.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { defineExpectation } from '../../lib/dq/definitions';
import { evaluateExpectations } from '../../lib/dq/evaluate';
import { loadStream } from '../../lib/lakehouse/loader';
import { ALERT_RUNBOOKS, evaluateSlos, SEEDED_SLO_RUNBOOKS } from '../../lib/slo';
import { evaluationTime } from '../../lib/slo/evaluate';
import { runningConnector } from '../helpers/connector';
import { useScratchDatabase } from '../../tooling/helpers/database';

const db = useScratchDatabase();
jest.setTimeout(120_000);

const slos = ['dq-fail-expectations', 'dq-warn-expectations'];

describe('data_quality SLI', () => {
	beforeAll(async () => {
		// Only this file's expectations: the seeded ones would have no results and stay no_data anyway.
		await db.pool.query(`create table ipai_bronze_core.dq_sli (id bigint, amount numeric, _ipai_extracted_at timestamptz)`);
		await db.pool.query(`insert into ipai_bronze_core.dq_sli values (1, 1, now())`);
	});

	it('a fail expectation tripping in a load pages, naming table, expectation, counts, keys and runbook', async () => {
		const run = await runningConnector(db.pool);
		const table = { schema: 'ipai_bronze_core', name: 'dq_sli_load' };
		await loadStream(db.pool, [{ records: [{ id: 1, amount: 1 }] }], { ...run, stream: 's', table, key: ['id'] });
		await defineExpectation(db.pool, {
			targetTable: 'ipai_bronze_core.dq_sli_load', name: 'amount_positive', kind: 'range', args: { column: 'amount', min: 0 }, action: 'fail',
			runbookUrl: 'https://runbooks.example/amount',
		});
		await loadStream(db.pool, [{ records: [{ id: 2, amount: -3 }, { id: 3, amount: 4 }] }], { ...run, stream: 's', table, key: ['id'] }).catch(() => undefined);

		const result = await evaluateSlos(db.pool, { slos });
		const page = result.candidates.find((c) => c.labels.expectation === 'ipai_bronze_core.dq_sli_load.amount_positive');
		expect(page).toBeDefined();
		expect(page!.severity).toBe('page');
		expect(page!.annotations.title).toContain('ipai_bronze_core.dq_sli_load: expectation amount_positive (range, action fail) failed');
		expect(page!.annotations.summary).toContain('1 of 2 rows');
		expect(page!.annotations.summary).toContain('{"id":2}');
		expect(page!.annotations.runbookUrl).toBe('https://runbooks.example/amount');
		const status = result.statuses.find((s) => s.slo === 'dq-fail-expectations' && s.target.name === 'ipai_bronze_core.dq_sli_load.amount_positive')!;
		expect(status).toMatchObject({ status: 'page', events: 1, badEvents: 1, sli: 0 });
		// The warn SLO does not watch fail expectations.
		expect(result.statuses.some((s) => s.slo === 'dq-warn-expectations' && s.target.name.endsWith('amount_positive'))).toBe(false);
	});

	it('a warn expectation: one failure is recorded, three in a row make a ticket, a pass resolves', async () => {
		await defineExpectation(db.pool, { targetTable: 'ipai_bronze_core.dq_sli', name: 'enough_rows', kind: 'row_count', args: { min: 2 }, action: 'warn' });
		const ticketOf = async () =>
			(await evaluateSlos(db.pool, { slos })).candidates.find((c) => c.labels.expectation === 'ipai_bronze_core.dq_sli.enough_rows');
		await evaluateExpectations(db.pool, { tables: ['ipai_bronze_core.dq_sli'], names: ['enough_rows'] });
		expect(await ticketOf()).toBeUndefined();
		await evaluateExpectations(db.pool, { tables: ['ipai_bronze_core.dq_sli'], names: ['enough_rows'] });
		await evaluateExpectations(db.pool, { tables: ['ipai_bronze_core.dq_sli'], names: ['enough_rows'] });
		const ticket = await ticketOf();
		expect(ticket?.severity).toBe('ticket');
		expect(ticket!.annotations.summary).toContain('each of its last 3 evaluations failed');
		expect(ticket!.annotations.summary).toContain('1 of 1 checks');
		await db.pool.query(`insert into ipai_bronze_core.dq_sli values (2, 2, now())`);
		await evaluateExpectations(db.pool, { tables: ['ipai_bronze_core.dq_sli'], names: ['enough_rows'] });
		expect(await ticketOf()).toBeUndefined();
		const status = (await evaluateSlos(db.pool, { slos })).statuses.find((s) => s.target.name === 'ipai_bronze_core.dq_sli.enough_rows')!;
		expect(status).toMatchObject({ status: 'ok', events: 4, badEvents: 3, sli: 0.25 });
	});

	it('the evaluation instant is never before a row committed before it (JS Dates hold milliseconds, PostgreSQL microseconds)', async () => {
		await db.pool.query('create table ipai_bronze_core.dq_sli_clock (at timestamptz)');
		let before = 0;
		for (let i = 0; i < 300; i++) {
			const { rows } = await db.pool.query<{ at: string }>('insert into ipai_bronze_core.dq_sli_clock values (clock_timestamp()) returning at::text');
			const now = await evaluationTime(db.pool);
			const { rows: check } = await db.pool.query<{ after: boolean }>('select $1::timestamptz > $2::timestamptz as after', [rows[0].at, now]);
			if (check[0].after) before++;
		}
		expect(before).toBe(0);
	});

	it('ships the runbooks the alert and the seeded SLOs link', () => {
		const dir = join(__dirname, '..', '..', 'docs', 'runbooks');
		expect(existsSync(join(dir, `${ALERT_RUNBOOKS.DataQuality}.md`))).toBe(true);
		for (const slo of slos) {
			expect(SEEDED_SLO_RUNBOOKS).toContain(slo);
			expect(existsSync(join(dir, `${slo}.md`))).toBe(true);
		}
	});
});
