/**
 * The expectations the package seeds, each proven by a fixture that violates it: finance gold is
 * rebuilt from bronze Odoo rows by the real refresh (and P&L tampered after it, as a broken
 * transform would), bronze Odoo and GitHub pages go through the loader, and the volume anomaly
 * reads a ledger of runs. Before each violation the same expectation passes on clean data.
 */
import { randomUUID } from 'node:crypto';
import type { Pool } from 'pg';
import { evaluateExpectations } from '../../lib/dq/evaluate';
import { loadStream } from '../../lib/lakehouse/loader';
import { refreshMaterializedViews } from '../../lib/lakehouse/refresh';
import { finishRun, startRun } from '../../lib/lakehouse/runs';
import { runningConnector } from '../helpers/connector';
import { useScratchDatabase } from '../../tooling/helpers/database';

const db = useScratchDatabase();
jest.setTimeout(240_000);

const connector = randomUUID();
const run = randomUUID();

async function bronze(pool: Pool, table: string, row: Record<string, unknown>): Promise<void> {
	const columns = Object.keys(row);
	await pool.query(
		`insert into ipai_bronze_erp.${table} (${columns.join(', ')}, _ipai_connector_id, _ipai_run_id, _ipai_extracted_at, _ipai_raw)
		 values (${columns.map((_, i) => `$${i + 1}`).join(', ')}, '${connector}', '${run}', now(), '{}')`,
		Object.values(row),
	);
}

const move = (id: number, moveType: string, date: string) =>
	bronze(db.pool, 'odoo_account_move', { id, name: `M${id}`, move_type: moveType, state: 'posted', company_id: 1, date, company_id_name: 'Co' });
const line = (id: number, moveId: number, accountId: number, accountType: string, balance: number, residual = 0, date = '2026-11-03') =>
	bronze(db.pool, 'odoo_account_move_line', {
		id, move_id: moveId, account_id: accountId, account_type: accountType, parent_state: 'posted', company_id: 1, date,
		debit: Math.max(balance, 0), credit: Math.max(-balance, 0), balance, amount_residual: residual, company_currency_id_name: 'EUR',
	});

async function statusOf(name: string): Promise<{ status: string; failed: number; evaluated: number }> {
	await refreshMaterializedViews(db.pool, ['ipai_silver_erp', 'ipai_gold_erp']);
	const report = await evaluateExpectations(db.pool, { schemas: ['ipai_gold_erp', 'ipai_silver_erp'], names: [name] });
	expect(report.outcomes.length).toBeGreaterThan(0);
	const worst = report.outcomes.find((o) => o.failed > 0) ?? report.outcomes[0];
	expect(worst.status).not.toBe('error');
	return { status: worst.status, failed: worst.failed, evaluated: worst.evaluated };
}

describe('seeded finance gold expectations', () => {
	beforeAll(async () => {
		for (const [id, type, name] of [[1, 'asset_receivable', 'Receivable'], [2, 'income', 'Sales'], [3, 'asset_cash', 'Bank'], [4, 'equity', 'Capital']] as const) {
			await bronze(db.pool, 'odoo_account_account', { id, code: String(id), name, account_type: type, company_id: 1 });
		}
		await move(1, 'out_invoice', '2026-11-03');
		await line(1, 1, 1, 'asset_receivable', 100, 100);
		await line(2, 1, 2, 'income', -100);
	});

	it('the balance sheet balances, to the cent (fail: an unbalanced refresh rolls back)', async () => {
		expect(await statusOf('balance_sheet_balances')).toMatchObject({ status: 'pass', failed: 0 });
		await move(2, 'entry', '2026-11-04');
		await line(3, 2, 3, 'asset_cash', 0.01, 0, '2026-11-04'); // one cent without its counterpart
		await expect(refreshMaterializedViews(db.pool, ['ipai_silver_erp', 'ipai_gold_erp'])).rejects.toThrow(
			/ipai_gold_erp\.account_balance_daily\.balance_sheet_balances \(custom_sql, action fail\) failed: 1 of/,
		);
		const { rows } = await db.pool.query(
			`select status, failed::int from public.ipai_dq_result where expectation_name = 'balance_sheet_balances' order by evaluated_at desc limit 1`,
		);
		expect(rows).toEqual([{ status: 'fail', failed: 1 }]);
		expect((await db.pool.query(`select 1 from ipai_gold_erp.account_balance_daily where date = '2026-11-04'`)).rows).toEqual([]);
		await line(8, 2, 4, 'equity', -0.01, 0, '2026-11-04'); // the counterpart arrives
		expect(await statusOf('balance_sheet_balances')).toMatchObject({ status: 'pass', failed: 0 });
	});

	it('no open item of an invoice has a negative residual', async () => {
		expect(await statusOf('no_negative_invoice_residual')).toMatchObject({ status: 'pass', failed: 0 });
		await line(4, 1, 1, 'asset_receivable', 0, -10);
		expect(await statusOf('no_negative_invoice_residual')).toMatchObject({ status: 'warn', failed: 1 });
	});

	it("every move line's account exists", async () => {
		expect(await statusOf('move_line_account_exists')).toMatchObject({ status: 'pass', failed: 0 });
		await line(5, 1, 999, 'asset_current', 0);
		expect(await statusOf('move_line_account_exists')).toMatchObject({ status: 'warn', failed: 1 });
	});

	it('DSO and DPO stay within bounds', async () => {
		expect(await statusOf('dso_dpo_within_bounds')).toMatchObject({ status: 'pass', failed: 0 });
		await move(3, 'entry', '2026-11-05');
		await line(6, 3, 1, 'asset_receivable', 100_000, 0, '2026-11-05'); // receivables far beyond a month of sales
		await line(7, 3, 4, 'equity', -100_000, 0, '2026-11-05');
		expect(await statusOf('dso_dpo_within_bounds')).toMatchObject({ status: 'warn', failed: 1 });
	});

	it('P&L totals equal the sum of their lines', async () => {
		expect(await statusOf('pnl_totals_equal_lines')).toMatchObject({ status: 'pass', failed: 0 });
		// A transform that loses a cent: the gold table no longer adds up to its lines.
		const tamper = `update ipai_gold_erp.profit_and_loss set amount = amount + 0.01`;
		const report = await (async () => {
			await refreshMaterializedViews(db.pool, ['ipai_silver_erp', 'ipai_gold_erp']);
			await db.pool.query(tamper);
			return evaluateExpectations(db.pool, { schemas: ['ipai_gold_erp'], names: ['pnl_totals_equal_lines'] });
		})();
		expect(report.outcomes.map((o) => [o.status, o.failed])).toEqual([['warn', 1]]);
		expect(report.outcomes[0].sample).toEqual([{ connector_id: connector, company_id: 1, month: '2026-11-01' }]);
	});
});

async function resultOf(runId: string, name: string): Promise<{ status: string; failed: number } | undefined> {
	const { rows } = await db.pool.query(`select status, failed from public.ipai_dq_result where run_id = $1 and expectation_name = $2`, [runId, name]);
	return rows[0] && { status: rows[0].status, failed: Number(rows[0].failed) };
}

describe('seeded bronze expectations, at load', () => {
	it('Odoo: move lines belong to a move; write_date is not in the future', async () => {
		const r = await runningConnector(db.pool);
		const table = { schema: 'ipai_bronze_erp', name: 'odoo_account_move_line' };
		await loadStream(db.pool, [{ records: [{ id: 100, move_id: 1, write_date: '2026-01-01T00:00:00Z' }] }], { ...r, stream: 'l', table, key: ['id'] });
		expect(await resultOf(r.runId, 'move_line_keys_not_null')).toEqual({ status: 'pass', failed: 0 });
		expect(await resultOf(r.runId, 'write_date_not_in_future')).toEqual({ status: 'pass', failed: 0 });
		await loadStream(db.pool, [{ records: [{ id: 101, move_id: null, write_date: '2099-01-01T00:00:00Z' }] }], { ...r, stream: 'l', table, key: ['id'] });
		expect(await resultOf(r.runId, 'move_line_keys_not_null')).toEqual({ status: 'warn', failed: 1 });
		expect(await resultOf(r.runId, 'write_date_not_in_future')).toEqual({ status: 'warn', failed: 1 });

		const moves = { schema: 'ipai_bronze_erp', name: 'odoo_account_move' };
		await loadStream(db.pool, [{ records: [{ id: 100, write_date: '2099-01-01T00:00:00Z' }, { id: 101, write_date: '2020-01-01T00:00:00Z' }] }], { ...r, stream: 'm', table: moves, key: ['id'] });
		const { rows } = await db.pool.query(
			`select failed from public.ipai_dq_result where run_id = $1 and target_table = 'ipai_bronze_erp.odoo_account_move' and expectation_name = 'write_date_not_in_future'`,
			[r.runId],
		);
		expect(rows.map((x) => Number(x.failed))).toEqual([1]);
	});

	it("GitHub: run keys not null and unique; conclusion among GitHub's documented values", async () => {
		const r = await runningConnector(db.pool);
		const table = { schema: 'ipai_bronze_devops', name: 'github_workflow_runs' };
		const runRow = (id: number, extra: Record<string, unknown> = {}) => ({ id, repository_id: 7, workflow_id: 70, run_number: id, run_attempt: 1, status: 'completed', conclusion: 'success', ...extra });
		await loadStream(db.pool, [{ records: [runRow(1), runRow(2, { conclusion: null, status: 'in_progress' })] }], { ...r, stream: 'runs', table, key: ['id'] });
		for (const name of ['workflow_run_keys_not_null', 'workflow_run_number_unique', 'workflow_run_conclusion_documented']) {
			expect(await resultOf(r.runId, name)).toEqual({ status: 'pass', failed: 0 });
		}
		await loadStream(db.pool, [{ records: [runRow(3, { repository_id: null }), runRow(4, { run_number: 1 }), runRow(5, { conclusion: 'exploded' })] }], { ...r, stream: 'runs', table, key: ['id'] });
		expect(await resultOf(r.runId, 'workflow_run_keys_not_null')).toEqual({ status: 'warn', failed: 1 });
		expect(await resultOf(r.runId, 'workflow_run_number_unique')).toEqual({ status: 'warn', failed: 1 });
		expect(await resultOf(r.runId, 'workflow_run_conclusion_documented')).toEqual({ status: 'warn', failed: 1 });
	});

	it('Odoo move lines: a run writing a tenth of the usual rows is a volume anomaly', async () => {
		const name = `volume-${randomUUID()}`;
		const history = [1000, 980, 1020, 1010, 990, 1005];
		let connectorId = '';
		for (const rows of [...history, 1000]) {
			const started = await startRun(db.pool, { connector: { connectorType: 'odoo', name, config: {} } });
			if (started.status !== 'running') throw new Error('run not started');
			connectorId = started.connectorId;
			await finishRun(db.pool, started.runId, { rowsWritten: rows });
		}
		await db.pool.query(
			`insert into ipai_bronze_erp.odoo_account_move_line (id, _ipai_connector_id, _ipai_run_id, _ipai_extracted_at, _ipai_raw) values (900000, $1, $2, now(), '{}')`,
			[connectorId, randomUUID()],
		);
		const evaluate = async () =>
			(await evaluateExpectations(db.pool, { tables: ['ipai_bronze_erp.odoo_account_move_line'], names: ['move_line_volume'] })).outcomes.find(
				(o) => o.observed?.connector === name,
			)!;
		expect(await evaluate()).toMatchObject({ status: 'pass', failed: 0 });
		const started = await startRun(db.pool, { connector: { connectorType: 'odoo', name } });
		if (started.status !== 'running') throw new Error('run not started');
		await finishRun(db.pool, started.runId, { rowsWritten: 100 });
		const anomaly = await evaluate();
		expect(anomaly).toMatchObject({ status: 'warn', failed: 1 });
		expect(anomaly.message).toContain('wrote 100 rows');
	});
});
