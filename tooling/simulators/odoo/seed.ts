// A small, realistic company for tests and the quickstart demo, built the way it would have
// happened in Odoo: one transaction per business event, each at its own moment of Q1 2025, so
// create/write dates tell a plausible history (payments bump the invoices they settle).
// Deterministic: a seeded PRNG decides everything; the same options give the same database.
//
// `scale: N` appends N journal items (two-line entries in a 'BULK' journal) through the store's
// bulk path: 100,000 items seed in well under two seconds. They arrive in import batches of 20
// entries sharing one transaction timestamp, so write_date has many ties, like real imports.

import type { OdooSimulator } from './index';
import { SimUser } from './security';
import { toOdooDatetime } from './store';
import { round } from './computes';
import { Row } from './types';
import { prng } from '../../helpers/prng';

export interface SeedOptions {
  /** Extra journal items to generate for volume tests (even number recommended). */
  scale?: number;
  /** PRNG seed (default 42). */
  seed?: number;
}

export interface DemoCompany {
  companyId: number;
  currencies: { EUR: number; USD: number; GBP: number };
  /** Commercial customers (companies and individuals), archived ones included. */
  customers: number[];
  /** Contact persons / addresses under customer companies. */
  contacts: number[];
  vendors: number[];
  archivedPartners: number[];
  products: number[];
  archivedProducts: number[];
  /** Accounts by code, e.g. accounts['121000'] is Account Receivable. */
  accounts: Record<string, number>;
  /** Journals by code: INV, BILL, MISC, BNK1, CSH1, EXCH, BULK. */
  journals: Record<string, number>;
  taxes: { sale19: number; sale7: number; purchase19: number };
  paymentTerms: number[];
  /** Posted customer invoices (paid, partial, open, one reversed, one in USD). */
  invoices: number[];
  draftInvoices: number[];
  cancelledInvoices: number[];
  bills: number[];
  draftBills: number[];
  refunds: number[];
  /** Miscellaneous/cash entries (opening balance, cash expenses). */
  entries: number[];
  payments: number[];
  projects: number[];
  tasks: number[];
  users: { admin: SimUser; demo: SimUser; accountant: SimUser };
  /** Journal items added by `scale`. */
  extraLines: number;
}

const DAY = 86_400_000;
const Q1_START = Date.UTC(2025, 0, 2, 8, 0, 0);

export function seedDemoCompany(sim: OdooSimulator, opts: SeedOptions = {}): DemoCompany {
  const rand = prng(opts.seed ?? 42);
  const pick = <T>(xs: T[]): T => xs[Math.floor(rand() * xs.length)];
  const int = (lo: number, hi: number): number => lo + Math.floor(rand() * (hi - lo + 1));
  const entryClock = sim.clock.now();
  let latest = 0;
  /** Move the clock to a business moment `day` days into the quarter (09:00–17:00, random seconds). */
  const at = (day: number): string => {
    const t = Q1_START + Math.floor(day) * DAY + 3_600_000 + int(0, 8 * 3600) * 1000;
    latest = Math.max(latest, t);
    sim.clock.set(new Date(t));
    return toOdooDatetime(new Date(t)).slice(0, 10);
  };
  const v17 = sim.major <= 17; // 18 split 'storable' off product.type

  // --- company, users ------------------------------------------------------------------------
  at(0);
  const countryId = (code: string): number => sim.search('res.country', [['code', '=', code]])[0];
  const company = sim.get('res.company', 1) as Row;
  sim.write('res.company', 1, { name: 'IPAI Demo GmbH', country_id: countryId('DE'), street: 'Torstraße 49', city: 'Berlin', zip: '10119', vat: 'DE123456789', email: 'info@ipai-demo.example.com', phone: '+49 30 1234567' });
  sim.write('res.partner', company.partner_id as number, { name: 'IPAI Demo GmbH', country_id: countryId('DE'), city: 'Berlin', vat: 'DE123456789' });
  const admin = sim.users.get(2) as SimUser;
  const readable = Array.from(sim.registry.models.keys()).filter((m) => !m.startsWith('account.'));
  const demo = sim.addUser({ login: 'demo', name: 'Marc Demo', password: 'demo', apiKeys: ['demo-api-key-0000000000000000000000000'], readModels: readable });
  const accountant = sim.addUser({ login: 'accountant@ipai-demo.example.com', name: 'Anna Accountant', password: 'accountant', apiKeys: ['accountant-api-key-00000000000000000'], readModels: 'all' });

  // --- partners ------------------------------------------------------------------------------
  const tags = ['VIP', 'Wholesale', 'Services'].map((name) => sim.create('res.partner.category', { name }));
  const customerSpecs: Array<[string, boolean, string, string]> = [
    ['Azure Interior', true, 'BE', 'Brussels'],
    ['Deco Addict', true, 'FR', 'Lyon'],
    ['Gemini Furniture', true, 'NL', 'Utrecht'],
    ['Lumber Inc', true, 'DE', 'Hamburg'],
    ['Ready Mat', true, 'DE', 'Munich'],
    ['The Jackson Group', true, 'US', 'Boston'],
    ['Wood Corner', true, 'BE', 'Ghent'],
    ['Nordlicht Handel GmbH', true, 'DE', 'Kiel'],
    ['Julia Becker', false, 'DE', 'Berlin'],
    ['Marc Dubois', false, 'FR', 'Paris'],
    ['Sofia Rossi', false, 'NL', 'Amsterdam'],
    ['Tom Baker', false, 'DE', 'Cologne'],
  ];
  const customers: number[] = [];
  for (const [name, isCompany, country, city] of customerSpecs) {
    at(rand() * 3);
    const slug = name.toLowerCase().replace(/[^a-z]+/g, '.').replace(/^\.|\.$/g, '');
    customers.push(
      sim.create('res.partner', {
        name,
        is_company: isCompany,
        country_id: countryId(country),
        city,
        email: `${isCompany ? 'info' : slug}@${isCompany ? slug : 'mail'}.example.com`,
        phone: `+${int(30, 49)} ${int(100, 999)} ${int(1000, 9999)}`,
        vat: isCompany && country !== 'US' ? `${country}${int(100000000, 999999999)}` : null,
        customer_rank: 1,
        company_id: null,
        category_id: isCompany && rand() < 0.5 ? [pick(tags)] : [],
        user_id: admin.uid,
        lang: country === 'DE' ? 'de_DE' : country === 'FR' ? 'fr_FR' : 'en_US',
      }),
    );
  }
  const contacts: number[] = [];
  const contactSpecs: Array<[number, string | null, string]> = [
    [0, 'Brandon Freeman', 'contact'],
    [0, 'Colleen Diaz', 'contact'],
    [0, null, 'invoice'],
    [1, 'Addison Olson', 'contact'],
    [1, 'Douglas Fletcher', 'contact'],
    [2, 'Edwin Hansen', 'contact'],
    [5, 'Jeff Lawson', 'contact'],
  ];
  for (const [parent, name, type] of contactSpecs) {
    at(3 + rand() * 2);
    contacts.push(sim.create('res.partner', { name, parent_id: customers[parent], type, email: name ? `${name.split(' ')[0].toLowerCase()}@example.com` : null, function: name ? pick(['Purchaser', 'CEO', 'Office Manager', 'Accountant']) : null }));
  }
  const vendorSpecs: Array<[string, string]> = [
    ['Office Supplies Co', 'DE'],
    ['CloudHost BV', 'NL'],
    ['Steel & Wood AG', 'DE'],
    ['Logistics Express', 'BE'],
    ['Print House', 'FR'],
    ['Old Supplier Ltd', 'GB'],
  ];
  const vendors = vendorSpecs.map(([name, country]) => {
    at(rand() * 4);
    return sim.create('res.partner', { name, is_company: true, country_id: countryId(country), supplier_rank: 1, email: `billing@${name.toLowerCase().replace(/[^a-z]+/g, '')}.example.com` });
  });

  // --- products ------------------------------------------------------------------------------
  at(1);
  const units = 1;
  const hours = sim.search('uom.uom', [['name', '=', 'Hours']])[0];
  const furniture = sim.create('product.category', { name: 'Furniture', parent_id: 2 });
  const services = sim.create('product.category', { name: 'Services', parent_id: 2 });
  const productSpecs: Array<[string, string, 'goods' | 'service' | 'consu', number, number]> = [
    ['FURN_0001', 'Office Chair', 'goods', 120, 70],
    ['FURN_0002', 'Standing Desk', 'goods', 450, 260],
    ['FURN_0003', 'Conference Table', 'goods', 980, 600],
    ['FURN_0004', 'Bookshelf', 'goods', 160, 90],
    ['FURN_0005', 'Drawer Unit', 'goods', 110, 55],
    ['FURN_0006', 'Desk Lamp', 'consu', 35, 15],
    ['FURN_0007', 'Whiteboard', 'goods', 75, 40],
    ['FURN_0008', 'Acoustic Panel', 'goods', 60, 25],
    ['SERV_0001', 'Installation', 'service', 65, 0],
    ['SERV_0002', 'Interior Design Consulting', 'service', 120, 0],
    ['SERV_0003', 'Maintenance Contract', 'service', 300, 0],
    ['SERV_0004', 'Delivery', 'service', 45, 0],
    ['OFF_0001', 'Printer Paper (box)', 'consu', 25, 18],
    ['FURN_0009', 'Ergonomic Footrest', 'goods', 29, 12],
    ['FURN_0010', 'Legacy Cabinet', 'goods', 199, 120],
  ];
  const products: number[] = [];
  for (const [code, name, kind, price, cost] of productSpecs) {
    const type = kind === 'service' ? 'service' : kind === 'goods' && v17 ? 'product' : 'consu';
    const tmplVals = v17
      ? { name, type, detailed_type: type, categ_id: kind === 'service' ? services : furniture, list_price: price, uom_id: kind === 'service' ? hours : units, uom_po_id: kind === 'service' ? hours : units, sale_ok: code !== 'OFF_0001' }
      : { name, type, is_storable: kind === 'goods', categ_id: kind === 'service' ? services : furniture, list_price: price, uom_id: kind === 'service' ? hours : units, sale_ok: code !== 'OFF_0001' };
    const pid = sim.transaction((tx) => {
      const tmpl = tx.create('product.template', tmplVals);
      const id = tx.create('product.product', { product_tmpl_id: tmpl, default_code: code, barcode: kind === 'service' ? null : `40${String(1000000000 + products.length * 7919).slice(0, 11)}` });
      tx.setHidden('product.product', id, { __cost: cost });
      return id;
    });
    products.push(pid);
  }
  const archivedProducts = products.slice(13);

  // --- accounting configuration --------------------------------------------------------------
  at(0);
  const accountSpecs: Array<[string, string, string, boolean?]> = [
    ['101401', 'Bank', 'asset_cash'],
    ['101402', 'Bank Suspense Account', 'asset_current'],
    ['101501', 'Cash', 'asset_cash'],
    ['110100', 'Stock Valuation', 'asset_current'],
    ['121000', 'Account Receivable', 'asset_receivable', true],
    ['131000', 'Tax Paid', 'asset_current'],
    ['150000', 'Fixed Assets', 'asset_fixed'],
    ['211000', 'Account Payable', 'liability_payable', true],
    ['251000', 'Tax Received', 'liability_current'],
    ['301000', 'Capital', 'equity'],
    ['999999', 'Undistributed Profits/Losses', 'equity_unaffected'],
    ['400000', 'Product Sales', 'income'],
    ['410000', 'Service Revenue', 'income'],
    ['441000', 'Foreign Exchange Gain', 'income_other'],
    ['500000', 'Cost of Goods Sold', 'expense_direct_cost'],
    ['600000', 'Expenses', 'expense'],
    ['610000', 'Rent', 'expense'],
    ['620000', 'Office Supplies', 'expense'],
    ['630000', 'Software & Hosting', 'expense'],
    ['641000', 'Foreign Exchange Loss', 'expense'],
    ['650000', 'Travel (old)', 'expense'],
  ];
  const accounts: Record<string, number> = {};
  sim.transaction((tx) => {
    for (const [code, name, type, reconcile] of accountSpecs) accounts[code] = tx.create('account.account', { code, name, account_type: type, reconcile: reconcile ?? false });
    // An old account nobody posts to any more: 17/18 flag it deprecated, 19 archives it.
    const hasDeprecated = sim.registry.get('account.account')?.fields.deprecated !== undefined;
    tx.write('account.account', accounts['650000'], hasDeprecated ? { deprecated: true } : { active: false });
  });
  const taxes = sim.transaction((tx) => {
    const sale19 = tx.create('account.tax', { name: '19%', amount: 19, type_tax_use: 'sale', sequence: 1 });
    const sale7 = tx.create('account.tax', { name: '7%', amount: 7, type_tax_use: 'sale', sequence: 2 });
    const purchase19 = tx.create('account.tax', { name: '19% (purchase)', amount: 19, type_tax_use: 'purchase', sequence: 3 });
    tx.setHidden('account.tax', sale19, { __account_id: accounts['251000'] });
    tx.setHidden('account.tax', sale7, { __account_id: accounts['251000'] });
    tx.setHidden('account.tax', purchase19, { __account_id: accounts['131000'] });
    return { sale19, sale7, purchase19 };
  });
  const paymentTerms = ['Immediate Payment', '15 Days', '30 Days'].map((name, i) => sim.create('account.payment.term', { name, sequence: i + 1 }));
  const journalSpecs: Array<[string, string, string, string | null, number]> = [
    ['INV', 'Customer Invoices', 'sale', '400000', 5],
    ['BILL', 'Vendor Bills', 'purchase', '600000', 6],
    ['MISC', 'Miscellaneous Operations', 'general', null, 7],
    ['EXCH', 'Exchange Difference', 'general', null, 9],
    ['BNK1', 'Bank', 'bank', '101401', 10],
    ['CSH1', 'Cash', 'cash', '101501', 11],
    ['BULK', 'Bulk Operations', 'general', null, 20],
  ];
  const journals: Record<string, number> = {};
  for (const [code, name, type, account, sequence] of journalSpecs) {
    journals[code] = sim.create('account.journal', { code, name, type, sequence, default_account_id: account ? accounts[account] : null, refund_sequence: type === 'sale' || type === 'purchase' });
  }

  // --- opening balance -----------------------------------------------------------------------
  const entries: number[] = [];
  const openingDate = at(0);
  entries.push(
    sim.createEntry({
      journalId: journals.MISC,
      date: openingDate,
      ref: 'Opening balance',
      lines: [
        { accountId: accounts['101401'], debit: 50_000, name: 'Share capital paid in' },
        { accountId: accounts['301000'], credit: 50_000, name: 'Share capital' },
      ],
    }),
  );
  const cashDate = at(1);
  entries.push(
    sim.createEntry({
      journalId: journals.CSH1,
      date: cashDate,
      ref: 'Cash float',
      lines: [
        { accountId: accounts['101501'], debit: 500, name: 'Cash float from bank' },
        { accountId: accounts['101401'], credit: 500, name: 'Cash float to till' },
      ],
    }),
  );

  // --- customer invoices and payments --------------------------------------------------------
  const sellable = products.slice(0, 12);
  const invoices: number[] = [];
  const paidLater: Array<{ id: number; day: number; fraction: number }> = [];
  const activeCustomers = customers.filter((_c, i) => i !== 11); // Tom Baker never bought
  for (let i = 0; i < 22; i++) {
    const day = 2 + i * 3.6 + rand();
    const invoiceDate = at(day);
    const customerIdx = i === 1 || i === 9 ? 3 : customers.indexOf(pick(activeCustomers)); // Lumber Inc buys early, then is archived
    const partner = customers[customerIdx];
    const usd = customerIdx === 5;
    const lines = Array.from({ length: int(1, 4) }, () => {
      const product = pick(sellable);
      const row = sim.get('product.product', product) as Row;
      const tmpl = sim.get('product.template', row.product_tmpl_id as number) as Row;
      const price = usd ? round((tmpl.list_price as number) * 1.08) : (tmpl.list_price as number);
      return { productId: product, quantity: int(1, 8), priceUnit: price, taxIds: [rand() < 0.15 ? taxes.sale7 : taxes.sale19], discount: rand() < 0.2 ? 10 : 0 };
    });
    const id = sim.createInvoice({
      moveType: 'out_invoice',
      partnerId: partner,
      invoiceDate,
      dueDays: pick([0, 15, 30]),
      currencyId: usd ? sim.search('res.currency', [['name', '=', 'USD']])[0] : undefined,
      invoiceUserId: pick([admin.uid, demo.uid]),
      paymentTermId: pick(paymentTerms),
      origin: `S${String(10000 + i * 7)}`,
      lines,
    });
    invoices.push(id);
    const r = rand();
    if (day < 70) paidLater.push({ id, day: Math.min(day + int(8, 35), 86), fraction: r < 0.65 ? 1 : r < 0.82 ? 0.5 : 0 });
  }
  // one invoice reversed by a credit note, before anyone paid it
  const reversedIdx = 4;
  const toReverse = invoices[reversedIdx];
  const refunds: number[] = [];
  const paymentsPlan = paidLater.filter((p) => p.id !== toReverse && p.fraction > 0).sort((a, b) => a.day - b.day);
  at(25);
  refunds.push(sim.reverseMove(toReverse, { date: at(25) }));
  const payments: number[] = [];
  for (const p of paymentsPlan) {
    const date = at(p.day);
    const due = (sim.get('account.move', p.id) as Row).amount_residual as number;
    payments.push(sim.registerPayment({ invoiceId: p.id, amount: p.fraction === 1 ? undefined : round(due * p.fraction), date }).paymentId);
  }
  const draftInvoices: number[] = [];
  for (let i = 0; i < 3; i++) {
    const invoiceDate = at(84 + i);
    draftInvoices.push(
      sim.createInvoice({ moveType: 'out_invoice', partnerId: customers[pick([0, 1, 2, 4, 5, 6, 7])], invoiceDate, post: false, lines: [{ productId: pick(sellable), quantity: int(1, 5), priceUnit: 120, taxIds: [taxes.sale19] }] }),
    );
  }
  const cancelledInvoices: number[] = [];
  at(40);
  const cancelled = sim.createInvoice({ moveType: 'out_invoice', partnerId: customers[6], invoiceDate: at(40), post: false, lines: [{ productId: sellable[2], quantity: 1, priceUnit: 980, taxIds: [taxes.sale19] }] });
  sim.cancelMove(cancelled);
  cancelledInvoices.push(cancelled);

  // --- vendor bills --------------------------------------------------------------------------
  const bills: number[] = [];
  const billPlan: Array<[number, string, number, number, number]> = [
    // vendor idx, expense account, amount, bill day, pay day (-1 = open)
    [1, '630000', 249, 3, 10],
    [0, '620000', 184.5, 6, 20],
    [2, '500000', 4200, 9, 38],
    [3, '600000', 390, 14, 30],
    [5, '600000', 75, 16, 25], // the old supplier, archived afterwards
    [1, '630000', 249, 33, 41],
    [4, '620000', 560, 37, 60],
    [2, '500000', 3150, 45, 75],
    [0, '620000', 96.2, 52, 66],
    [1, '630000', 249, 61, 70],
    [3, '600000', 410, 68, -1],
    [2, '500000', 2780, 80, -1],
  ];
  const billPayments: Array<[number, number]> = [];
  for (const [v, account, amount, day, payDay] of billPlan) {
    const date = at(day);
    const id = sim.createInvoice({ moveType: 'in_invoice', partnerId: vendors[v], invoiceDate: date, dueDays: 30, ref: `INV-${int(1000, 9999)}`, lines: [{ name: `Purchase ${account}`, priceUnit: amount, accountId: accounts[account], taxIds: [taxes.purchase19] }] });
    bills.push(id);
    if (payDay > 0) billPayments.push([id, payDay]);
  }
  // rent, monthly, paid immediately
  for (const month of [0, 1, 2]) {
    const date = at(month * 30 + 1);
    const id = sim.createInvoice({ moveType: 'in_invoice', partnerId: vendors[2], invoiceDate: date, dueDays: 0, ref: `RENT-2025-0${month + 1}`, lines: [{ name: 'Office rent', priceUnit: 2500, accountId: accounts['610000'] }] });
    bills.push(id);
    billPayments.push([id, month * 30 + 2]);
  }
  for (const [id, day] of billPayments.sort((a, b) => a[1] - b[1])) payments.push(sim.registerPayment({ invoiceId: id, date: at(day) }).paymentId);
  const draftBills = [sim.createInvoice({ moveType: 'in_invoice', partnerId: vendors[4], invoiceDate: at(87), post: false, lines: [{ name: 'Flyers', priceUnit: 310, accountId: accounts['620000'], taxIds: [taxes.purchase19] }] })];

  // --- cash expenses -------------------------------------------------------------------------
  for (const [day, amount, label] of [
    [12, 23.4, 'Coffee and milk'],
    [41, 61.9, 'Postage'],
    [73, 18.0, 'Parking'],
  ] as Array<[number, number, string]>) {
    entries.push(sim.createEntry({ journalId: journals.CSH1, date: at(day), ref: label, lines: [{ accountId: accounts['620000'], debit: amount, name: label }, { accountId: accounts['101501'], credit: amount, name: label }] }));
  }

  // --- archives (after the history that used them) -------------------------------------------
  at(79);
  const archivedPartners = [customers[3], customers[11], vendors[5]];
  sim.archive('res.partner', archivedPartners);
  sim.transaction((tx) => {
    for (const p of archivedProducts) {
      tx.archive('product.product', p);
      tx.archive('product.template', tx.get('product.product', p)?.product_tmpl_id as number);
    }
  });

  // --- projects ------------------------------------------------------------------------------
  at(5);
  const projectStages = ['To Do', 'In Progress', 'Done'].map((name, i) => sim.create('project.project.stage', { name, sequence: i + 1, fold: name === 'Done' }));
  const taskStages = ['New', 'In Progress', 'Done', 'Cancelled'].map((name, i) => sim.create('project.task.type', { name, sequence: i + 1, fold: name === 'Done' || name === 'Cancelled' }));
  const projectTags = ['Design', 'Urgent', 'Internal'].map((name, i) => sim.create('project.tags', { name, color: i + 1 }));
  const analytic = sim.create('account.analytic.account', { name: 'Office Fit-out Azure Interior', code: 'AZ-FIT', partner_id: customers[0], company_id: 1 });
  const projects = [
    sim.create('project.project', { name: 'Office Fit-out Azure Interior', partner_id: customers[0], user_id: admin.uid, company_id: 1, date_start: '2025-01-06', date: '2025-04-30', stage_id: projectStages[1], tag_ids: [projectTags[0]], ...(sim.major === 17 ? { analytic_account_id: analytic } : { account_id: analytic }) }),
    sim.create('project.project', { name: 'Website Redesign', user_id: demo.uid, company_id: 1, date_start: '2025-02-01', stage_id: projectStages[0], tag_ids: [projectTags[2]], privacy_visibility: 'employees' }),
    sim.create('project.project', { name: 'Showroom 2024', user_id: admin.uid, company_id: 1, date_start: '2024-09-01', date: '2024-12-20', stage_id: projectStages[2], last_update_status: 'done' }),
  ];
  const taskNames = [
    ['Site survey', 'Furniture layout', 'Order chairs', 'Order desks', 'Installation week 1', 'Installation week 2', 'Handover'],
    ['Wireframes', 'Visual design', 'CMS setup', 'Content migration', 'Go-live checklist'],
    ['Showroom teardown', 'Return samples', 'Final invoice'],
  ];
  const tasks: number[] = [];
  taskNames.forEach((names, p) => {
    names.forEach((name, i) => {
      at(6 + p * 20 + i * 4);
      const done = p === 2 || i < names.length / 3;
      tasks.push(
        sim.create('project.task', {
          name,
          project_id: projects[p],
          stage_id: done ? taskStages[2] : i === names.length - 1 ? taskStages[0] : taskStages[1],
          state: done ? '1_done' : '01_in_progress',
          user_ids: i % 2 ? [admin.uid] : [admin.uid, demo.uid],
          partner_id: p === 0 ? customers[0] : null,
          company_id: 1,
          priority: i === 0 ? '1' : '0',
          sequence: 10 + i,
          date_deadline: `2025-0${Math.min(3, 1 + Math.floor((6 + p * 20 + i * 4) / 30))}-${String(10 + i).padStart(2, '0')} 16:00:00`,
          date_end: done ? toOdooDatetime(sim.clock.now()) : null,
          allocated_hours: int(2, 40),
          effective_hours: done ? int(2, 40) : 0,
          tag_ids: i === 0 ? [projectTags[1]] : [],
        }),
      );
    });
  });
  at(30);
  tasks.push(sim.create('project.task', { name: 'Chair samples', project_id: projects[0], parent_id: tasks[2], stage_id: taskStages[2], state: '1_done', user_ids: [demo.uid], company_id: 1 }));
  tasks.push(sim.create('project.task', { name: 'Desk samples', project_id: projects[0], parent_id: tasks[3], stage_id: taskStages[1], user_ids: [demo.uid], company_id: 1 }));
  at(60);
  sim.archive('project.task', [tasks[9], tasks[14]]);
  sim.archive('project.project', projects[2]);

  // --- volume --------------------------------------------------------------------------------
  const extraLines = opts.scale ? bulkJournalItems(sim, Math.max(2, Math.floor(opts.scale)), journals.BULK, accounts, rand) : 0;

  // Leave the clock after everything seeded (or where the caller had it, if later).
  sim.clock.set(new Date(Math.max(entryClock.getTime(), latest + 3_600_000)));
  return {
    companyId: 1,
    currencies: {
      EUR: sim.search('res.currency', [['name', '=', 'EUR']])[0],
      USD: sim.search('res.currency', [['name', '=', 'USD']])[0],
      GBP: sim.search('res.currency', [['name', '=', 'GBP']], { context: { active_test: false } })[0],
    },
    customers,
    contacts,
    vendors,
    archivedPartners,
    products,
    archivedProducts,
    accounts,
    journals,
    taxes,
    paymentTerms,
    invoices: invoices.filter((i) => i !== toReverse).concat([toReverse]),
    draftInvoices,
    cancelledInvoices,
    bills,
    draftBills,
    refunds,
    entries,
    payments,
    projects,
    tasks,
    users: { admin, demo, accountant },
    extraLines,
  };
}

/**
 * `n` journal items as n/2 balanced two-line entries, inserted through the store's bulk path.
 * Row shapes are cloned from one entry created the normal way, so every stored field is present.
 */
function bulkJournalItems(sim: OdooSimulator, n: number, journalId: number, accounts: Record<string, number>, rand: () => number): number {
  const pairs: Array<[string, string]> = [
    ['600000', '101401'],
    ['101401', '400000'],
    ['620000', '101501'],
    ['121000', '410000'],
    ['500000', '110100'],
  ];
  sim.clock.set(new Date(Q1_START));
  const templateMove = sim.createEntry({
    journalId,
    date: '2025-01-02',
    ref: 'BULK template',
    lines: [
      { accountId: accounts['600000'], debit: 1, name: 'template' },
      { accountId: accounts['101401'], credit: 1, name: 'template' },
    ],
  });
  const store = sim.store;
  const moveTpl = store.row('account.move', templateMove) as Row;
  const [lineTplA, lineTplB] = store.children('account.move.line', 'move_id', templateMove).map((id) => store.row('account.move.line', id) as Row);
  const accountType = (id: number): string => String(store.row('account.account', id)?.account_type);
  const entries = Math.floor(n / 2);
  const moves: Row[] = [];
  const lines: Row[] = [];
  let moveId = store.allocateId('account.move');
  let lineId = store.allocateId('account.move.line');
  const span = Date.UTC(2025, 2, 30) - Q1_START;
  const perMonth = new Map<string, number>();
  for (let i = 0; i < entries; i++) {
    const batch = Math.floor(i / 20); // 20 entries per import transaction: same write_date
    const t = new Date(Q1_START + Math.floor((span * batch * 20) / entries) + (batch % 7) * 137);
    const stamp = toOdooDatetime(t);
    const date = stamp.slice(0, 10);
    const month = date.slice(0, 7);
    const seq = (perMonth.get(month) ?? 0) + 1;
    perMonth.set(month, seq);
    const name = `BULK/${date.slice(0, 4)}/${date.slice(5, 7)}/${String(seq).padStart(5, '0')}`;
    const amount = round(10 + rand() * 4990);
    // Clone-then-assign keeps V8's fast object shape (multi-spread literals do not, and cost 10x).
    const m: Row = { ...moveTpl };
    m.id = moveId;
    m.name = name;
    m.date = date;
    m.ref = `Import ${batch}`;
    m.create_date = m.write_date = stamp;
    m.amount_total = m.amount_total_signed = m.amount_total_in_currency_signed = amount;
    moves.push(m);
    const [debitCode, creditCode] = pairs[i % pairs.length];
    for (const [tpl, code, sign] of [
      [lineTplA, debitCode, 1],
      [lineTplB, creditCode, -1],
    ] as Array<[Row, string, number]>) {
      const l: Row = { ...tpl };
      const account = accounts[code];
      const reconcilable = code === '121000' || code === '211000';
      l.id = lineId++;
      l.move_id = moveId;
      l.move_name = name;
      l.date = date;
      l.ref = m.ref;
      l.create_date = l.write_date = stamp;
      l.account_id = account;
      l.account_type = accountType(account);
      l.name = `Bulk item ${l.id}`;
      l.debit = sign > 0 ? amount : 0;
      l.credit = sign > 0 ? 0 : amount;
      l.balance = l.amount_currency = sign * amount;
      l.amount_residual = l.amount_residual_currency = reconcilable ? sign * amount : 0;
      lines.push(l);
    }
    moveId++;
  }
  // The template entry was real; remove it so only the generated volume remains.
  sim.unlink('account.move', templateMove);
  store.reserveIds('account.move', moveId);
  store.reserveIds('account.move.line', lineId);
  store.bulkInsert('account.move', moves);
  store.bulkInsert('account.move.line', lines);
  return lines.length;
}
