/**
 * Silver and gold ERP models over a fixture company built in the Odoo simulator, synced into
 * bronze by the real connector and refreshed by the engine's refresh path. Every statement is
 * compared with figures computed by hand below (EUR company, USD at Odoo's fixed rate 1.08):
 *
 *   2025-01-02  MISC  opening: Bank 10,000 / Capital 10,000
 *   2025-01-03  CSH1  cash float: Cash 200 / Bank 200
 *   2025-01-10  I1    Customer A  1,000 + 19% tax = 1,190, due 2025-02-09
 *   2025-01-15  B1    Vendor V    400 expenses + 19% = 476, due 2025-02-14
 *   2025-01-20  I2    Customer B  500 + 19% = 595, due 2025-02-19
 *   2025-02-01  P1    Customer A pays 500 of I1 (bank)              → I1 open 690
 *   2025-02-05  I3    Customer US USD 1,080 (= EUR 1,000), no tax, due 2025-03-07
 *   2025-02-10  B2    Vendor V    300 cost of revenue, no tax, due 2025-03-12
 *   2025-02-14  P3    we pay B1 in full, 476 (bank)
 *   2025-02-25  R2    credit note reversing I2 in full (reconciled with it)
 *   2025-03-01  P4    Customer US pays USD 540 (= EUR 500) of I3     → I3 open 500 (USD 540)
 *   2025-03-05  CSH1  cash expense: Expenses 50 / Cash 50
 *   2025-03-20  BNK1  690 received from Customer A, ref = I1's number, parked on Bank Suspense
 *                     (not yet reconciled: the reconciliation candidates' input)
 *   plus a draft invoice (never counted) and, for RLS, one invoice of a second company.
 */
import type { ClientBase, Pool } from 'pg';
import { refreshMaterializedViews } from '../../lib/lakehouse/refresh';
import { finishRun, startRun } from '../../lib/lakehouse/runs';
import { formatFindings, runSecurityLint } from '../../lib/lakehouse/securityLint';
import { fromSqlType } from '../../lib/lakehouse/columnTypes';
import { STREAM_SPECS } from '../../lib/sources/github/streams';
import { OdooClient, planColumns, planFields, presetOf, syncModel, tableNameFor, type FieldsGet } from '../../lib/sources/odoo';
import { DEFAULT_ADMIN_API_KEY, OdooSimulator, type RunningServer } from '../../tooling/simulators/odoo';
import { asRole, useScratchDatabase } from '../../tooling/helpers/database';

jest.setTimeout(120_000);

const db = useScratchDatabase();
const MODELS = ['res.currency', 'res.company', 'account.account', 'account.journal', 'res.partner', 'account.move', 'account.move.line', 'product.product', 'project.project', 'project.task'];
const GOLD_ERP = ['ipai_gold_erp.account_balance_daily', 'ipai_gold_erp.cash_flow', 'ipai_gold_erp.dso_dpo', 'ipai_gold_erp.open_items', 'ipai_gold_erp.profit_and_loss'];
const PLATINUM_ERP = ['ipai_platinum_erp.partner_payment_behaviour', 'ipai_platinum_erp.reconciliation_candidates'];
const PUBLISHED = [...GOLD_ERP, ...PLATINUM_ERP];
const LAYERS = ['ipai_gold_erp', 'ipai_platinum_erp'];

interface Fixture {
	accounts: Record<string, number>;
	journals: Record<string, number>;
	partners: Record<'customerA' | 'customerB' | 'customerUS' | 'vendor', number>;
	invoices: Record<'I1' | 'I2' | 'I3' | 'B1' | 'B2', number>;
}

function buildFixtureCompany(sim: OdooSimulator): Fixture {
	const eur = sim.search('res.currency', [['name', '=', 'EUR']])[0];
	const usd = sim.search('res.currency', [['name', '=', 'USD']], { context: { active_test: false } })[0];
	const accountSpecs: Array<[string, string, string, boolean?]> = [
		['101401', 'Bank', 'asset_cash'],
		['101402', 'Bank Suspense Account', 'asset_current'],
		['101501', 'Cash', 'asset_cash'],
		['121000', 'Account Receivable', 'asset_receivable', true],
		['131000', 'Tax Paid', 'asset_current'],
		['211000', 'Account Payable', 'liability_payable', true],
		['251000', 'Tax Received', 'liability_current'],
		['301000', 'Capital', 'equity'],
		['400000', 'Product Sales', 'income'],
		['500000', 'Cost of Goods Sold', 'expense_direct_cost'],
		['600000', 'Expenses', 'expense'],
	];
	const accounts: Record<string, number> = {};
	sim.transaction((tx) => {
		for (const [code, name, type, reconcile] of accountSpecs) accounts[code] = tx.create('account.account', { code, name, account_type: type, reconcile: reconcile ?? false });
	});
	const taxes = sim.transaction((tx) => {
		const sale19 = tx.create('account.tax', { name: '19%', amount: 19, type_tax_use: 'sale' });
		const purchase19 = tx.create('account.tax', { name: '19% (purchase)', amount: 19, type_tax_use: 'purchase' });
		tx.setHidden('account.tax', sale19, { __account_id: accounts['251000'] });
		tx.setHidden('account.tax', purchase19, { __account_id: accounts['131000'] });
		return { sale19, purchase19 };
	});
	const journals: Record<string, number> = {};
	for (const [code, name, type, account] of [
		['INV', 'Customer Invoices', 'sale', '400000'],
		['BILL', 'Vendor Bills', 'purchase', '600000'],
		['MISC', 'Miscellaneous Operations', 'general', null],
		['BNK1', 'Bank', 'bank', '101401'],
		['CSH1', 'Cash', 'cash', '101501'],
	] as Array<[string, string, string, string | null]>) {
		journals[code] = sim.create('account.journal', { code, name, type, default_account_id: account ? accounts[account] : null, refund_sequence: type === 'sale' || type === 'purchase' });
	}
	const partners = {
		customerA: sim.create('res.partner', { name: 'Customer A', is_company: true, customer_rank: 1 }),
		customerB: sim.create('res.partner', { name: 'Customer B', is_company: true, customer_rank: 1 }),
		customerUS: sim.create('res.partner', { name: 'Customer US', is_company: true, customer_rank: 1 }),
		vendor: sim.create('res.partner', { name: 'Vendor V', is_company: true, supplier_rank: 1 }),
	};
	expect(eur).toBe(1);

	sim.createEntry({ journalId: journals.MISC, date: '2025-01-02', ref: 'Opening balance', lines: [
		{ accountId: accounts['101401'], debit: 10_000 },
		{ accountId: accounts['301000'], credit: 10_000 },
	] });
	sim.createEntry({ journalId: journals.CSH1, date: '2025-01-03', ref: 'Cash float', lines: [
		{ accountId: accounts['101501'], debit: 200 },
		{ accountId: accounts['101401'], credit: 200 },
	] });
	const I1 = sim.createInvoice({ moveType: 'out_invoice', partnerId: partners.customerA, invoiceDate: '2025-01-10', paymentReference: 'INV-A-0001', lines: [{ name: 'Consulting', priceUnit: 1000, taxIds: [taxes.sale19] }] });
	const B1 = sim.createInvoice({ moveType: 'in_invoice', partnerId: partners.vendor, invoiceDate: '2025-01-15', lines: [{ name: 'Office rent', priceUnit: 400, taxIds: [taxes.purchase19] }] });
	const I2 = sim.createInvoice({ moveType: 'out_invoice', partnerId: partners.customerB, invoiceDate: '2025-01-20', lines: [{ name: 'Chairs', quantity: 2, priceUnit: 250, taxIds: [taxes.sale19] }] });
	sim.registerPayment({ invoiceId: I1, amount: 500, date: '2025-02-01' });
	const I3 = sim.createInvoice({ moveType: 'out_invoice', partnerId: partners.customerUS, invoiceDate: '2025-02-05', currencyId: usd, lines: [{ name: 'Desk', priceUnit: 1080 }] });
	const B2 = sim.createInvoice({ moveType: 'in_invoice', partnerId: partners.vendor, invoiceDate: '2025-02-10', lines: [{ name: 'Materials', priceUnit: 300, accountId: accounts['500000'] }] });
	sim.registerPayment({ invoiceId: B1, date: '2025-02-14' });
	sim.reverseMove(I2, { date: '2025-02-25' });
	sim.registerPayment({ invoiceId: I3, amount: 540, date: '2025-03-01' });
	sim.createEntry({ journalId: journals.CSH1, date: '2025-03-05', ref: 'Taxi', lines: [
		{ accountId: accounts['600000'], debit: 50 },
		{ accountId: accounts['101501'], credit: 50 },
	] });
	sim.createEntry({ journalId: journals.BNK1, date: '2025-03-20', ref: String(sim.get('account.move', I1)?.name), lines: [
		{ accountId: accounts['101401'], debit: 690, partnerId: partners.customerA },
		{ accountId: accounts['101402'], credit: 690, partnerId: partners.customerA },
	] });
	// Never posted: must not count anywhere.
	sim.createInvoice({ moveType: 'out_invoice', partnerId: partners.customerA, invoiceDate: '2025-03-10', post: false, lines: [{ name: 'Draft', priceUnit: 999 }] });

	// A second company with one invoice of 100 (no tax), for company-scoped RLS.
	sim.transaction((tx) => {
		const partner = tx.create('res.partner', { name: 'Second Co', is_company: true });
		return tx.create('res.company', { name: 'Second Co', partner_id: partner, currency_id: eur });
	});
	sim.transaction((tx) => {
		const id = sim.createInvoice({ moveType: 'out_invoice', partnerId: partners.customerA, invoiceDate: '2025-01-12', post: false, lines: [{ name: 'Other company', priceUnit: 100 }] }, tx);
		tx.write('account.move', id, { company_id: 2 });
		sim.postMove(id, tx);
	});
	return { accounts, journals, partners, invoices: { I1, I2, I3, B1, B2 } };
}

async function syncAll(pool: Pool, odoo: OdooClient): Promise<string> {
	const run = await startRun(pool, { connector: { connectorType: 'odoo', name: 'fixture' } });
	if (run.status !== 'running') throw new Error('expected a running run');
	for (const model of MODELS) await syncModel(pool, odoo, run, { model, deleteScanEveryHours: 0 });
	await finishRun(pool, run.runId);
	return run.connectorId;
}

const cents = (v: unknown): string => Number(v).toFixed(2);

/** fields_get as the connector asks for it, answered by a simulator of the given version. */
async function fieldsOf(sim: OdooSimulator, model: string): Promise<FieldsGet> {
	const server = await sim.start();
	try {
		const client = await OdooClient.connect({ url: server.url, database: 'odoo', login: 'admin', secret: DEFAULT_ADMIN_API_KEY });
		return await client.call<FieldsGet>(model, 'fields_get', { attributes: ['type', 'string', 'store', 'relation'] });
	} finally {
		await server.close();
	}
}

async function rows(sql: string, params: unknown[] = []): Promise<Array<Record<string, unknown>>> {
	return (await db.pool.query(sql, params)).rows;
}

describe('ERP transforms: silver and gold over a hand-computed fixture company', () => {
	let sim: OdooSimulator;
	let server: RunningServer;
	let fixture: Fixture;
	let odoo: OdooClient;

	beforeAll(async () => {
		sim = new OdooSimulator({ version: '17.0', now: '2025-03-31 09:00:00' });
		fixture = buildFixtureCompany(sim);
		server = await sim.start();
		odoo = await OdooClient.connect({ url: server.url, database: 'odoo', login: 'admin', secret: DEFAULT_ADMIN_API_KEY });
	});
	afterAll(async () => {
		await server.close();
		expect(sim.internalErrors).toEqual([]);
	});

	it('refreshes an empty lakehouse: every gold table is published, empty', async () => {
		const refreshed = await refreshMaterializedViews(db.pool, ['ipai_gold_erp', 'ipai_gold_core', 'ipai_platinum_erp', 'ipai_platinum_core']);
		expect(refreshed.filter((r) => r.kind === 'table').map((r) => r.view).sort()).toEqual(PUBLISHED);
		expect(refreshed.every((r) => r.rowsWritten === 0 || r.kind === undefined)).toBe(true);
		for (const t of PUBLISHED) expect((await rows(`select count(*)::int as n from ${t}`))[0].n).toBe(0);
		expect(await rows('select * from ipai_gold_erp.balance_sheet($1)', ['2025-03-31'])).toEqual([]);
		expect(await rows('select * from ipai_gold_erp.aged_balance($1)', ['2025-03-31'])).toEqual([]);
	});

	describe('after a sync and a refresh', () => {
		let connectorId: string;
		beforeAll(async () => {
			connectorId = await syncAll(db.pool, odoo);
			await refreshMaterializedViews(db.pool, LAYERS);
		});

		it('silver keeps posted, current journal items only', async () => {
			const moves = await rows(`select distinct move_name from ipai_silver_erp.journal_items where company_id = 1 order by 1`);
			expect(moves.length).toBe(13); // 2 entries + 5 invoices/bills + 3 payments + 1 credit note + cash expense + bank receipt
			const draft = await rows(`select count(*)::int as n from ipai_silver_erp.invoices where state = 'draft'`);
			expect(draft[0].n).toBe(1);
			const kinds = await rows(`select document_kind, count(*)::int as n from ipai_silver_erp.invoices where state = 'posted' and company_id = 1 group by 1 order by 1`);
			expect(kinds).toEqual([
				{ document_kind: 'customer_credit_note', n: 1 },
				{ document_kind: 'customer_invoice', n: 3 },
				{ document_kind: 'vendor_bill', n: 2 },
			]);
			const acc = await rows(`select account_code, account_group from ipai_silver_erp.accounts where account_code in ('121000', '500000', '301000') order by 1`);
			expect(acc).toEqual([
				{ account_code: '121000', account_group: 'asset' },
				{ account_code: '301000', account_group: 'equity' },
				{ account_code: '500000', account_group: 'expense' },
			]);
		});

		it('profit and loss by month and account group equals the hand-computed figures', async () => {
			const pnl = await rows(
				`select month::text, account_group, sum(amount) as amount from ipai_gold_erp.profit_and_loss
				  where company_id = 1 and connector_id = $1 group by 1, 2 order by 1, 2`,
				[connectorId],
			);
			expect(pnl.map((r) => [r.month, r.account_group, cents(r.amount)])).toEqual([
				['2025-01-01', 'expense', '-400.00'],  // B1 rent
				['2025-01-01', 'income', '1500.00'],   // I1 1,000 + I2 500
				['2025-02-01', 'expense', '-300.00'],  // B2 cost of revenue
				['2025-02-01', 'income', '500.00'],    // I3 USD 1,080 / 1.08 = 1,000 − credit note 500
				['2025-03-01', 'expense', '-50.00'],   // taxi
			]);
			const net = await rows(`select sum(amount) as net from ipai_gold_erp.profit_and_loss where company_id = 1`);
			expect(cents(net[0].net)).toBe('1250.00');
			const other = await rows(`select sum(amount) as net from ipai_gold_erp.profit_and_loss where company_id = 2`);
			expect(cents(other[0].net)).toBe('100.00');
		});

		it('the balance sheet balances as of any date and equals the hand-computed figures', async () => {
			const sheet = async (asOf: string) => {
				const r = await rows(
					`select section, coalesce(account_code, account_name) as line, amount from ipai_gold_erp.balance_sheet($1) where company_id = 1 order by 1, 2`,
					[asOf],
				);
				return r.map((x) => [x.section, x.line, cents(x.amount)]);
			};
			expect(await sheet('2025-03-31')).toEqual([
				['assets', '101401', '11014.00'], // 10,000 − 200 + 500 − 476 + 500 + 690
				['assets', '101402', '-690.00'],  // suspense, until the receipt is reconciled
				['assets', '101501', '150.00'],   // 200 − 50
				['assets', '121000', '1190.00'],  // I1 690 + I3 500 (I2 settled by its credit note)
				['assets', '131000', '76.00'],
				['equity', '301000', '10000.00'],
				['equity', 'Current Year Earnings', '1250.00'],
				['liabilities', '211000', '300.00'], // B2
				['liabilities', '251000', '190.00'], // 190 + 95 − 95
			]);
			expect(await sheet('2025-01-31')).toEqual([
				['assets', '101401', '9800.00'],
				['assets', '101501', '200.00'],
				['assets', '121000', '1785.00'],
				['assets', '131000', '76.00'],
				['equity', '301000', '10000.00'],
				['equity', 'Current Year Earnings', '1100.00'],
				['liabilities', '211000', '476.00'],
				['liabilities', '251000', '285.00'],
			]);
			for (const asOf of ['2025-01-31', '2025-02-28', '2025-03-31', '2026-06-30']) {
				const totals = await rows(
					`select company_id, sum(amount) filter (where section = 'assets') as assets,
					        sum(amount) filter (where section <> 'assets') as claims
					   from ipai_gold_erp.balance_sheet($1) group by company_id`,
					[asOf],
				);
				for (const t of totals) expect(cents(t.assets)).toBe(cents(t.claims));
			}
			// A year later, 2025's earnings are shown as unallocated earnings of earlier years.
			const nextYear = await rows(`select account_name, amount from ipai_gold_erp.balance_sheet('2026-06-30') where company_id = 1 and account_id is null`);
			expect(nextYear.map((r) => [r.account_name, cents(r.amount)])).toEqual([['Previous Years Unallocated Earnings', '1250.00']]);
		});

		it('cash flow by month from bank and cash journals equals the hand-computed figures', async () => {
			const flow = await rows(
				`select month::text, journal_code, inflow, outflow, net_change from ipai_gold_erp.cash_flow where company_id = 1 order by 1, 2`,
			);
			expect(flow.map((r) => [r.month, r.journal_code, cents(r.inflow), cents(r.outflow), cents(r.net_change)])).toEqual([
				['2025-01-01', 'CSH1', '200.00', '200.00', '0.00'],  // float: bank → cash
				['2025-02-01', 'BNK1', '500.00', '476.00', '24.00'], // P1 in, P3 out
				['2025-03-01', 'BNK1', '1190.00', '0.00', '1190.00'], // P4 USD 540 = EUR 500, receipt 690
				['2025-03-01', 'CSH1', '0.00', '50.00', '-50.00'],   // taxi
			]);
		});

		it('open items and aging buckets equal the hand-computed figures', async () => {
			const open = await rows(
				`select move_name, kind, partner_name, date_due::text, amount_open, document_currency, amount_open_currency
				   from ipai_gold_erp.open_items where company_id = 1 order by kind, date_due`,
			);
			expect(open.map((r) => [r.kind, r.partner_name, r.date_due, cents(r.amount_open), r.document_currency, cents(r.amount_open_currency)])).toEqual([
				['payable', 'Vendor V', '2025-03-12', '300.00', 'EUR', '300.00'],
				['receivable', 'Customer A', '2025-02-09', '690.00', 'EUR', '690.00'],
				['receivable', 'Customer US', '2025-03-07', '500.00', 'USD', '540.00'],
			]);
			const aged = async (asOf: string) =>
				(await rows(
					`select kind, partner_name, not_due, days_1_30, days_31_60, days_61_90, days_90_plus, total
					   from ipai_gold_erp.aged_balance($1) where company_id = 1 order by kind, partner_name`,
					[asOf],
				)).map((r) => [r.kind, r.partner_name, cents(r.not_due), cents(r.days_1_30), cents(r.days_31_60), cents(r.days_61_90), cents(r.days_90_plus), cents(r.total)]);
			expect(await aged('2025-03-31')).toEqual([
				['payable', 'Vendor V', '0.00', '300.00', '0.00', '0.00', '0.00', '300.00'],       // 19 days past due
				['receivable', 'Customer A', '0.00', '0.00', '690.00', '0.00', '0.00', '690.00'],  // 50 days
				['receivable', 'Customer US', '0.00', '500.00', '0.00', '0.00', '0.00', '500.00'], // 24 days
			]);
			expect(await aged('2025-06-15')).toEqual([
				['payable', 'Vendor V', '0.00', '0.00', '0.00', '0.00', '300.00', '300.00'],        // 95 days
				['receivable', 'Customer A', '0.00', '0.00', '0.00', '0.00', '690.00', '690.00'],   // 126 days
				['receivable', 'Customer US', '0.00', '0.00', '0.00', '0.00', '500.00', '500.00'],  // 100 days
			]);
			expect(await aged('2025-02-05')).toEqual([
				['receivable', 'Customer A', '690.00', '0.00', '0.00', '0.00', '0.00', '690.00'],
				['receivable', 'Customer US', '500.00', '0.00', '0.00', '0.00', '0.00', '500.00'],
			]);
		});

		it('DSO and DPO per month equal the hand-computed figures', async () => {
			const d = await rows(`select month::text, credit_sales, receivables_end, dso_days, credit_purchases, payables_end, dpo_days from ipai_gold_erp.dso_dpo where company_id = 1 order by 1`);
			expect(d.map((r) => [r.month, cents(r.credit_sales), cents(r.receivables_end), r.dso_days, cents(r.credit_purchases), cents(r.payables_end), r.dpo_days])).toEqual([
				['2025-01-01', '1785.00', '1785.00', '31.0', '476.00', '476.00', '31.0'],
				['2025-02-01', '405.00', '1690.00', '116.8', '300.00', '300.00', '28.0'], // 1,690 / 405 × 28
				['2025-03-01', '0.00', '1190.00', null, '0.00', '300.00', null],
			]);
		});

		it('reconciliation candidates rank the invoice the bank receipt pays first', async () => {
			const c = await rows(
				`select bank_amount, kind, open_move_name, partner_name, amount_score, partner_score, reference_score, score, candidate_rank
				   from ipai_platinum_erp.reconciliation_candidates where company_id = 1 order by candidate_rank`,
			);
			const i1 = String(sim.get('account.move', fixture.invoices.I1)?.name);
			expect(c.map((r) => [cents(r.bank_amount), r.kind, r.open_move_name, r.partner_name, r.candidate_rank])).toEqual([
				['690.00', 'receivable', i1, 'Customer A', '1'],
				['690.00', 'receivable', String(sim.get('account.move', fixture.invoices.I3)?.name), 'Customer US', '2'],
			]);
			// Same amount, same partner, the reference is I1's number: a perfect score.
			expect([c[0].amount_score, c[0].partner_score, c[0].reference_score, c[0].score].map(Number)).toEqual([1, 1, 1, 1]);
			// I3: 500 of 690 → 1 − 190/690; another partner; a similar number only.
			expect(Number(c[1].amount_score)).toBeCloseTo(1 - 190 / 690, 4);
			expect(Number(c[1].partner_score)).toBe(0);
			expect(Number(c[1].reference_score)).toBeGreaterThan(0);
			expect(Number(c[1].reference_score)).toBeLessThan(1);
			expect(Number(c[1].score)).toBeLessThan(Number(c[0].score));
		});

		it('partner payment behaviour equals the hand-computed figures', async () => {
			const b = await rows(
				`select partner_name, partner_role, invoice_count, paid_count, avg_days_late, open_balance, overdue_balance
				   from ipai_platinum_erp.partner_payment_behaviour where company_id = 1 order by partner_role, partner_name`,
			);
			expect(b.map((r) => [r.partner_name, r.partner_role, Number(r.invoice_count), Number(r.paid_count), r.avg_days_late, cents(r.open_balance)])).toEqual([
				['Customer A', 'customer', 1, 0, null, '690.00'],   // I1 partly paid
				['Customer B', 'customer', 1, 0, null, '0.00'],     // I2 settled by a credit note, not paid
				['Customer US', 'customer', 1, 0, null, '500.00'],  // I3 partly paid
				['Vendor V', 'vendor', 2, 1, '0.0', '300.00'],      // B1 paid on its due date; B2 open
			]);
		});

		it('a refresh after an incremental sync updates gold', async () => {
			sim.clock.advance(3_600_000);
			sim.registerPayment({ invoiceId: fixture.invoices.I1, date: '2025-04-02' }); // the remaining 690
			sim.clock.advance(60_000);
			const run = await startRun(db.pool, { connector: { connectorType: 'odoo', name: 'fixture' } });
			if (run.status !== 'running') throw new Error('expected a running run');
			for (const model of ['account.move', 'account.move.line']) {
				const result = await syncModel(db.pool, odoo, run, { model, deleteScanEveryHours: null });
				expect(result.mode).toBe('incremental');
			}
			await finishRun(db.pool, run.runId);
			const refreshed = await refreshMaterializedViews(db.pool, LAYERS);
			expect(refreshed.map((r) => r.view).sort()).toEqual(PUBLISHED);
			const open = await rows(`select partner_name from ipai_gold_erp.open_items where company_id = 1 and kind = 'receivable' order by 1`);
			expect(open).toEqual([{ partner_name: 'Customer US' }]);
			const april = await rows(`select inflow from ipai_gold_erp.cash_flow where company_id = 1 and month = '2025-04-01'`);
			expect(april.map((r) => cents(r.inflow))).toEqual(['690.00']);
			// Platinum too: I1 is now paid, 52 days after its due date (2025-02-09 → 2025-04-02).
			const a = await rows(`select paid_count, avg_days_late, open_balance from ipai_platinum_erp.partner_payment_behaviour where company_id = 1 and partner_name = 'Customer A'`);
			expect(a.map((r) => [Number(r.paid_count), r.avg_days_late, cents(r.open_balance)])).toEqual([[1, '52.0', '0.00']]);
			const candidates = await rows(`select open_move_name from ipai_platinum_erp.reconciliation_candidates where company_id = 1 order by candidate_rank`);
			expect(candidates.map((r) => r.open_move_name)).toEqual([String(sim.get('account.move', fixture.invoices.I3)?.name)]);
		});

		it('refreshes with the rights of ipai_transform (the group of the n8n login), not only as a superuser', async () => {
			const counts = await asRole(db.pool, 'ipai_transform', null, async (c) => {
				const published = await c.query('select relation, rows_written from ipai_meta.refresh_transform_tables($1::text[]) order by relation', [LAYERS]);
				return published.rows.map((r) => [r.relation, Number(r.rows_written) > 0]);
			});
			expect(counts).toEqual(PUBLISHED.map((t) => [t, true]));
			await expect(asRole(db.pool, 'ipai_read', null, (c) => c.query('select ipai_meta.refresh_transform_tables($1::text[])', [LAYERS]))).rejects.toThrow(/permission denied/);
		});

		it('readers keep seeing the previous gold contents, without waiting, while a refresh is in progress', async () => {
			const net = async (c: Pool | ClientBase) => cents((await c.query(`select sum(amount) as net from ipai_gold_erp.profit_and_loss where company_id = 1`)).rows[0].net);
			const before = await net(db.pool);
			const writer = await db.pool.connect();
			const reader = await db.pool.connect();
			try {
				await writer.query('begin');
				// The taxi expense disappears from Odoo (seen by this transaction only), then a refresh runs.
				await writer.query(`update ipai_bronze_erp.odoo_account_move_line set _ipai_deleted_at = now() where account_id = $1 and date = '2025-03-05'`, [fixture.accounts['600000']]);
				await writer.query('select * from ipai_meta.refresh_transform_tables($1::text[])', [['ipai_gold_erp']]);
				expect(await net(writer)).toBe(cents(Number(before) + 50));
				await reader.query(`set statement_timeout = '5s'`);
				expect(await net(reader)).toBe(before); // not blocked, not empty, not half-built
				await writer.query('rollback');
			} finally {
				writer.release();
				await reader.query('reset statement_timeout').catch(() => undefined);
				reader.release();
			}
			expect(await net(db.pool)).toBe(before);
		});

		it('RLS: an analyst of company 1 sees only company 1 in gold and nothing in silver; anon nothing', async () => {
			const analyst = { role: 'authenticated', app_metadata: { ipai_role: 'analyst', company_ids: [1] } };
			await asRole(db.pool, 'authenticated', analyst, async (c) => {
				for (const t of PUBLISHED.filter((x) => x !== 'ipai_platinum_erp.reconciliation_candidates')) {
					const companies = (await c.query(`select distinct company_id from ${t} order by 1`)).rows.map((r) => Number(r.company_id));
					expect(companies).toEqual([1]);
				}
				const sheet = (await c.query(`select distinct company_id from ipai_gold_erp.balance_sheet('2025-03-31')`)).rows;
				expect(sheet.map((r) => Number(r.company_id))).toEqual([1]);
				expect((await c.query('select count(*)::int as n from ipai_silver_erp.journal_items')).rows[0].n).toBe(0);
			});
			const admin = { role: 'authenticated', app_metadata: { ipai_role: 'admin' } }; // company scope applies to every non-admin role
			await asRole(db.pool, 'authenticated', admin, async (c) => {
				const companies = (await c.query(`select distinct company_id from ipai_gold_erp.profit_and_loss order by 1`)).rows.map((r) => Number(r.company_id));
				expect(companies).toEqual([1, 2]);
			});
			for (const t of [...PUBLISHED, 'ipai_silver_erp.journal_items']) {
				await expect(asRole(db.pool, 'anon', { role: 'anon' }, (c) => c.query(`select * from ${t}`))).rejects.toThrow(/permission denied/);
			}
			await expect(asRole(db.pool, 'anon', { role: 'anon' }, (c) => c.query(`select * from ipai_gold_erp.balance_sheet()`))).rejects.toThrow(/permission denied/);
		});
	});

	it('the bronze tables the migrations create have the types the connectors declare (Odoo 17, 18, 19; GitHub)', async () => {
		const columnsOf = async (schema: string, table: string) =>
			new Map((await rows(
				`select attname, format_type(atttypid, atttypmod) as t from pg_attribute
				  where attrelid = to_regclass(format('%I.%I', $1::text, $2::text)) and attnum > 0 and not attisdropped and attname not like '\\_ipai\\_%'`,
				[schema, table],
			)).map((r) => [String(r.attname), fromSqlType(String(r.t))]));
		const mismatches: string[] = [];
		let compared = 0;
		for (const version of ['17.0', '18.0', '19.0']) {
			const other = new OdooSimulator({ version });
			for (const model of MODELS) {
				const fieldsGet = await fieldsOf(other, model);
				const declared = planColumns(planFields(fieldsGet, { extraFields: presetOf(model)?.extraFields }));
				const created = await columnsOf('ipai_bronze_erp', tableNameFor(model));
				for (const c of declared) {
					if (created.has(c.field)) compared++;
					if (created.has(c.field) && created.get(c.field) !== c.type) mismatches.push(`${version} ${model}.${c.field}: ${c.type} vs ${created.get(c.field)}`);
				}
			}
		}
		for (const spec of Object.values(STREAM_SPECS)) {
			const created = await columnsOf('ipai_bronze_devops', spec.table);
			for (const c of spec.columns) {
				if (created.has(c.field)) compared++;
				if (created.has(c.field) && created.get(c.field) !== c.type) mismatches.push(`${spec.table}.${c.field}: ${c.type} vs ${created.get(c.field)}`);
			}
		}
		expect(mismatches).toEqual([]);
		expect(compared).toBeGreaterThan(300); // every pre-created column is one the connectors declare
	});

	it('scores references with pg_trgm where the server has it, and with the plain fallback otherwise', async () => {
		const plain = await rows(
			`select ipai_meta.reference_score_plain('Payment INV/2025/00001 thanks', 'INV/2025/00001', null) as contains,
			        ipai_meta.reference_score_plain('inv/2025/00001', 'INV/2025/00001', '') as same,
			        ipai_meta.reference_score_plain('transfer RF18 5390', 'INV/2025/00007', 'RF18 5390') as by_payment_reference,
			        ipai_meta.reference_score_plain('INV/2025/00002', 'INV/2025/00001', null) as other,
			        ipai_meta.reference_score_plain('', 'INV/2025/00001', null) as empty`,
		);
		expect(plain[0]).toEqual({ contains: '1', same: '1', by_payment_reference: '1', other: '0', empty: '0' });
		const trgm = (await rows(`select ipai_meta.has_extension('pg_trgm') as present`))[0].present;
		const bound = await rows(
			`select ipai_meta.reference_score('INV/2025/00001', 'INV/2025/00001', null) as same,
			        ipai_meta.reference_score('INV/2025/00002', 'INV/2025/00001', null) as near,
			        ipai_meta.reference_score('rent march', 'INV/2025/00001', null) as unrelated`,
		);
		if (trgm) {
			expect(Number(bound[0].same)).toBe(1);
			expect(Number(bound[0].near)).toBeGreaterThan(0.3);
			expect(Number(bound[0].near)).toBeLessThan(1);
			expect(Number(bound[0].unrelated)).toBeLessThan(0.1);
		} else {
			expect(bound[0]).toEqual({ same: '1', near: '0', unrelated: '0' });
		}
	});

	it('the security lint stays clean and every gold/platinum object has a semantic model (and vice versa)', async () => {
		expect(formatFindings(await runSecurityLint(db.pool))).toBe('');
		const catalog = await rows(
			`select n.nspname || '.' || c.relname as object from pg_class c join pg_namespace n on n.oid = c.relnamespace
			  where n.nspname ~ '^ipai_(gold|platinum)_' and c.relkind in ('r', 'p', 'v', 'm')
			 union
			 select n.nspname || '.' || p.proname from pg_proc p join pg_namespace n on n.oid = p.pronamespace
			  where n.nspname ~ '^ipai_(gold|platinum)_'
			 order by 1`,
		);
		const models = await rows(`select object_schema || '.' || object_name as object from public.ipai_semantic_model where is_active order by 1`);
		expect(models.map((m) => m.object)).toEqual(catalog.map((c) => c.object));
		// Every gold/platinum table is RLS-protected by a policy the semantic model names.
		const refs = await rows(
			`select m.object_schema || '.' || m.object_name as object, ref from public.ipai_semantic_model m, unnest(m.rls_policy_refs) ref`,
		);
		for (const r of refs) {
			const [schema, table, policy] = String(r.ref).split('.');
			const found = await rows(`select 1 from pg_policies where schemaname = $1 and tablename = $2 and policyname = $3`, [schema, table, policy]);
			expect([r.object, r.ref, found.length]).toEqual([r.object, r.ref, 1]);
		}
		const noPolicy = await rows(
			`select n.nspname || '.' || c.relname as object from pg_class c join pg_namespace n on n.oid = c.relnamespace
			  where n.nspname ~ '^ipai_(gold|platinum)_' and c.relkind in ('r', 'p') and (not c.relrowsecurity or not exists (select 1 from pg_policy p where p.polrelid = c.oid))`,
		);
		expect(noPolicy).toEqual([]);
	});
});
