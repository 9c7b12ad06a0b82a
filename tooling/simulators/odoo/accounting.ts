// Accounting business operations used by the seed and by tests (not exposed over RPC): invoices
// and bills with tax lines, posting with Odoo 17's move numbering, payments that reconcile
// against the receivable/payable line, and reversals (credit notes).
//
// Reproduced Odoo 17 shapes:
//  - an invoice is one move: product lines (display_type 'product'), one tax line per tax
//    ('tax'), one receivable/payable line ('payment_term'); debits equal credits in company
//    currency; amount_currency carries the document currency (rate = units per company unit);
//  - names are assigned on posting: sale/bank/cash journals `CODE/YYYY/NNNNN`, others
//    `CODE/YYYY/MM/NNNN`; credit notes prefix the code with R, payments with P
//    (account_move.py _get_starting_sequence); drafts keep '/';
//  - a payment is an account.payment plus its own posted move (liquidity line on the bank
//    journal's default account, counterpart on receivable/payable) reconciled with the invoice;
//    the invoice's amount_residual/payment_state are stored computed fields, so its write_date
//    moves to the payment transaction's start;
//  - payments post straight to the bank account, so a fully paid invoice is 'paid' (not
//    'in_payment', which needs an outstanding account and a bank statement), and a refund that
//    reverses an invoice leaves it 'reversed'.

import { userError } from './errors';
import { INBOUND_TYPES, isZero, recomputeMove, round } from './computes';
import { Transaction } from './store';
import { JsonObject, Row, StoredValue } from './types';

const num = (v: StoredValue | undefined): number => (typeof v === 'number' ? v : 0);
const idOf = (v: StoredValue | undefined): number | null => (typeof v === 'number' ? v : null);
const pad = (n: number, w: number): string => String(n).padStart(w, '0');

export type InvoiceType = 'out_invoice' | 'out_refund' | 'in_invoice' | 'in_refund';

export interface InvoiceLineInput {
  productId?: number;
  name?: string;
  quantity?: number;
  priceUnit: number;
  discount?: number;
  taxIds?: number[];
  accountId?: number;
  analyticDistribution?: JsonObject;
}

export interface InvoiceInput {
  moveType: InvoiceType;
  partnerId: number;
  /** 'YYYY-MM-DD'; also the accounting date unless `date` is given. */
  invoiceDate: string;
  date?: string;
  /** Due date; default invoiceDate + dueDays (30). */
  dueDate?: string;
  dueDays?: number;
  journalId?: number;
  currencyId?: number;
  ref?: string;
  origin?: string;
  paymentReference?: string;
  invoiceUserId?: number;
  paymentTermId?: number;
  reversedEntryId?: number;
  lines: InvoiceLineInput[];
  /** Post right away (default true). */
  post?: boolean;
}

export interface EntryLineInput {
  accountId: number;
  debit?: number;
  credit?: number;
  name?: string;
  partnerId?: number;
  currencyId?: number;
  amountCurrency?: number;
}

export interface EntryInput {
  journalId: number;
  date: string;
  ref?: string;
  lines: EntryLineInput[];
  post?: boolean;
}

export interface PaymentInput {
  invoiceId: number;
  /** In the invoice currency; default: the whole amount due. */
  amount?: number;
  date: string;
  journalId?: number;
}

// ----------------------------------------------------------------------------------------------
// Lookups (small tables: a scan is fine)

export function findId(tx: Transaction, model: string, pred: (r: Row) => boolean): number | null {
  for (const i of tx.ids(model)) {
    const r = tx.get(model, i);
    if (r && pred(r)) return i;
  }
  return null;
}

function need(tx: Transaction, model: string, pred: (r: Row) => boolean, what: string): number {
  const found = findId(tx, model, pred);
  if (found === null) throw userError(`No ${what} found (${model})`);
  return found;
}

function rateOf(tx: Transaction, currencyId: number): number {
  const r = tx.get('res.currency', currencyId)?.__rate;
  return typeof r === 'number' && r > 0 ? r : 1;
}

function companyCurrencyId(tx: Transaction): number {
  return idOf(tx.get('res.company', 1)?.currency_id) ?? 1;
}

function addDays(date: string, days: number): string {
  const d = new Date(`${date}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + days);
  return d.toISOString().slice(0, 10);
}

// ----------------------------------------------------------------------------------------------
// Posting and numbering

function sequencePrefix(tx: Transaction, move: Row): { prefix: string; monthly: boolean } {
  const journal = tx.get('account.journal', move.journal_id as number);
  if (!journal) throw userError('The journal of the entry is missing');
  let code = String(journal.code);
  const refund = move.move_type === 'out_refund' || move.move_type === 'in_refund';
  if (refund && journal.refund_sequence === true) code = `R${code}`;
  if (move.__payment === true) code = `P${code}`;
  const date = String(move.date);
  const monthly = !['sale', 'bank', 'cash'].includes(String(journal.type));
  return { prefix: monthly ? `${code}/${date.slice(0, 4)}/${date.slice(5, 7)}/` : `${code}/${date.slice(0, 4)}/`, monthly };
}

/** Next name in the journal's sequence, found from the names already used (as Odoo 17 does). */
function nextName(tx: Transaction, move: Row): string {
  const { prefix, monthly } = sequencePrefix(tx, move);
  let max = 0;
  for (const i of tx.children('account.move', 'journal_id', move.journal_id as number)) {
    const name = tx.get('account.move', i)?.name;
    if (typeof name === 'string' && name.startsWith(prefix)) max = Math.max(max, parseInt(name.slice(prefix.length), 10) || 0);
  }
  return prefix + pad(max + 1, monthly ? 4 : 5);
}

export function postMove(tx: Transaction, moveId: number): void {
  const move = tx.get('account.move', moveId);
  if (!move) throw userError(`Journal entry ${moveId} not found`);
  if (move.state === 'posted') return;
  const lines = tx.children('account.move.line', 'move_id', moveId).map((l) => tx.get('account.move.line', l) as Row);
  const debit = round(lines.reduce((a, l) => a + num(l.debit), 0));
  const credit = round(lines.reduce((a, l) => a + num(l.credit), 0));
  if (!isZero(debit - credit)) {
    throw userError(`The move (${String(move.name)}) is not balanced.\nThe total of debits equals ${debit} and the total of credits equals ${credit}.`);
  }
  const name = !move.name || move.name === '/' ? nextName(tx, move) : move.name;
  tx.write('account.move', moveId, { state: 'posted', name, posted_before: true });
}

export function cancelMove(tx: Transaction, moveId: number): void {
  tx.write('account.move', moveId, { state: 'cancel' });
}

export function resetToDraft(tx: Transaction, moveId: number): void {
  tx.write('account.move', moveId, { state: 'draft' });
}

// ----------------------------------------------------------------------------------------------
// Documents

export function createInvoice(tx: Transaction, input: InvoiceInput): number {
  const type = input.moveType;
  const inbound = INBOUND_TYPES.has(type);
  const customer = type.startsWith('out_');
  const journalId =
    input.journalId ?? need(tx, 'account.journal', (j) => j.type === (customer ? 'sale' : 'purchase') && j.active === true, 'journal');
  const currencyId = input.currencyId ?? companyCurrencyId(tx);
  const rate = currencyId === companyCurrencyId(tx) ? 1 : rateOf(tx, currencyId);
  const termAccount = need(tx, 'account.account', (a) => a.account_type === (customer ? 'asset_receivable' : 'liability_payable'), 'receivable/payable account');
  const defaultAccount =
    idOf(tx.get('account.journal', journalId)?.default_account_id) ??
    need(tx, 'account.account', (a) => a.account_type === (customer ? 'income' : 'expense'), 'income/expense account');
  const dueDate = input.dueDate ?? addDays(input.invoiceDate, input.dueDays ?? 30);

  const moveId = tx.create('account.move', {
    move_type: type,
    partner_id: input.partnerId,
    journal_id: journalId,
    currency_id: currencyId,
    date: input.date ?? input.invoiceDate,
    invoice_date: input.invoiceDate,
    invoice_date_due: dueDate,
    ref: input.ref,
    invoice_origin: input.origin,
    payment_reference: input.paymentReference,
    invoice_user_id: input.invoiceUserId,
    invoice_payment_term_id: input.paymentTermId,
    reversed_entry_id: input.reversedEntryId,
  });

  // Product lines are credits on customer invoices (revenue) and debits on vendor bills (expense).
  const productSign = inbound ? -1 : 1;
  const taxes = new Map<number, { base: number; baseCompany: number; amount: number }>();
  let sumCur = 0;
  let sumBal = 0;
  input.lines.forEach((l, i) => {
    const qty = l.quantity ?? 1;
    const subtotal = round(qty * l.priceUnit * (1 - (l.discount ?? 0) / 100));
    const amountCurrency = productSign * subtotal;
    const balance = round(amountCurrency / rate);
    sumCur += amountCurrency;
    sumBal += balance;
    const product = l.productId ? tx.get('product.product', l.productId) : undefined;
    tx.create('account.move.line', {
      move_id: moveId,
      sequence: 10 + i,
      display_type: 'product',
      product_id: l.productId,
      product_uom_id: product ? idOf(tx.get('product.template', product.product_tmpl_id as number)?.uom_id) : null,
      name: l.name ?? (product ? String(tx.get('product.template', product.product_tmpl_id as number)?.name ?? '') : ''),
      account_id: l.accountId ?? defaultAccount,
      partner_id: input.partnerId,
      quantity: qty,
      price_unit: l.priceUnit,
      discount: l.discount ?? 0,
      tax_ids: l.taxIds ?? [],
      currency_id: currencyId,
      amount_currency: amountCurrency,
      balance,
      analytic_distribution: l.analyticDistribution ?? null,
    });
    for (const t of l.taxIds ?? []) {
      const tax = tx.get('account.tax', t);
      const acc = taxes.get(t) ?? { base: 0, baseCompany: 0, amount: 0 };
      acc.base += subtotal;
      acc.baseCompany += Math.abs(balance);
      acc.amount += round((subtotal * num(tax?.amount)) / 100);
      taxes.set(t, acc);
    }
  });
  let seq = 100;
  for (const [taxId, t] of taxes) {
    const tax = tx.get('account.tax', taxId);
    const account =
      idOf(tax?.__account_id) ??
      need(tx, 'account.account', (a) => a.account_type === (customer ? 'liability_current' : 'asset_current'), 'tax account');
    const amountCurrency = productSign * round(t.amount);
    const balance = round(amountCurrency / rate);
    sumCur += amountCurrency;
    sumBal += balance;
    tx.create('account.move.line', {
      move_id: moveId,
      sequence: seq++,
      display_type: 'tax',
      name: String(tax?.name ?? 'Tax'),
      account_id: account,
      partner_id: input.partnerId,
      tax_line_id: taxId,
      tax_base_amount: round(t.baseCompany),
      currency_id: currencyId,
      amount_currency: amountCurrency,
      balance,
    });
  }
  // The receivable/payable line takes the exact opposite so the move balances in both currencies.
  tx.create('account.move.line', {
    move_id: moveId,
    sequence: seq,
    display_type: 'payment_term',
    name: input.paymentReference ?? '',
    account_id: termAccount,
    partner_id: input.partnerId,
    currency_id: currencyId,
    amount_currency: round(-sumCur),
    balance: round(-sumBal),
    date_maturity: dueDate,
  });
  if (input.post !== false) postMove(tx, moveId);
  return moveId;
}

export function createEntry(tx: Transaction, input: EntryInput): number {
  const moveId = tx.create('account.move', { move_type: 'entry', journal_id: input.journalId, date: input.date, ref: input.ref });
  input.lines.forEach((l, i) => {
    const balance = round((l.debit ?? 0) - (l.credit ?? 0));
    tx.create('account.move.line', {
      move_id: moveId,
      sequence: 10 + i,
      display_type: 'product',
      account_id: l.accountId,
      partner_id: l.partnerId,
      name: l.name ?? '',
      currency_id: l.currencyId,
      amount_currency: l.amountCurrency ?? balance,
      balance,
    });
  });
  if (input.post !== false) postMove(tx, moveId);
  return moveId;
}

// ----------------------------------------------------------------------------------------------
// Reconciliation

/**
 * Match a debit line against a credit line on the same receivable/payable account, for as much as
 * both have open. Partial matches get a 'P…' matching number; when everything in the group is
 * settled an account.full.reconcile is created and becomes the matching number.
 */
export function reconcile(tx: Transaction, lineA: number, lineB: number): void {
  const a = tx.get('account.move.line', lineA);
  const b = tx.get('account.move.line', lineB);
  if (!a || !b) throw userError('Journal items to reconcile are missing');
  const [deb, cred] = num(a.amount_residual) > 0 ? [a, b] : [b, a];
  const amount = round(Math.min(num(deb.amount_residual), -num(cred.amount_residual)));
  if (amount <= 0) return;
  const settle = (l: Row, delta: number): void => {
    const ratio = num(l.balance) === 0 ? 1 : num(l.amount_currency) / num(l.balance);
    const residual = round(num(l.amount_residual) + delta);
    const residualCur = isZero(residual) ? 0 : round(num(l.amount_residual_currency) + delta * ratio);
    tx.setComputed('account.move.line', l.id, { amount_residual: residual, amount_residual_currency: residualCur, reconciled: isZero(residual) });
  };
  settle(deb, -amount);
  settle(cred, amount);
  const group = [deb, cred].map((l) => l.matching_number).find((m): m is string => typeof m === 'string' && m.startsWith('P')) ?? `P${Math.min(deb.id, cred.id)}`;
  for (const l of [deb, cred]) {
    tx.setHidden('account.move.line', l.id, { __group: group });
    tx.setComputed('account.move.line', l.id, { matching_number: group });
  }
  // Everything matched together sits on the same receivable/payable account.
  const members = tx
    .children('account.move.line', 'account_id', deb.account_id as number)
    .map((i) => tx.get('account.move.line', i) as Row)
    .filter((l) => l.__group === group);
  if (members.every((l) => l.reconciled === true)) {
    const fullId = tx.create('account.full.reconcile', { name: 'TMP' });
    tx.setComputed('account.full.reconcile', fullId, { name: `A${fullId}` });
    for (const l of members) tx.setComputed('account.move.line', l.id, { full_reconcile_id: fullId, matching_number: `A${fullId}` });
  }
  const moves = new Set(members.map((l) => l.move_id as number).concat([deb.move_id as number, cred.move_id as number]));
  // A move reconciled against its own reversal is 'reversed', not 'paid'.
  const debMove = tx.get('account.move', deb.move_id as number);
  const credMove = tx.get('account.move', cred.move_id as number);
  if (debMove && credMove) {
    if (idOf(credMove.reversed_entry_id) === debMove.id) tx.setHidden('account.move', debMove.id, { __reversed: true });
    if (idOf(debMove.reversed_entry_id) === credMove.id) tx.setHidden('account.move', credMove.id, { __reversed: true });
  }
  for (const m of moves) recomputeMove(tx, m);
}

function openTermLines(tx: Transaction, moveId: number): Row[] {
  return tx
    .children('account.move.line', 'move_id', moveId)
    .map((l) => tx.get('account.move.line', l) as Row)
    .filter((l) => l.display_type === 'payment_term' && !isZero(num(l.amount_residual)));
}

export function registerPayment(tx: Transaction, input: PaymentInput): { paymentId: number; moveId: number } {
  const invoice = tx.get('account.move', input.invoiceId);
  if (!invoice || invoice.state !== 'posted') throw userError('You can only register payments for posted journal entries.');
  const terms = openTermLines(tx, invoice.id);
  if (!terms.length) throw userError("You can't register a payment because there is nothing left to pay on the selected journal items.");
  const inbound = INBOUND_TYPES.has(String(invoice.move_type));
  const customer = String(invoice.move_type).startsWith('out_');
  const currencyId = idOf(invoice.currency_id) ?? companyCurrencyId(tx);
  const rate = currencyId === companyCurrencyId(tx) ? 1 : rateOf(tx, currencyId);
  const due = Math.abs(terms.reduce((acc, l) => acc + num(l.amount_residual_currency), 0));
  const amount = round(Math.min(input.amount ?? due, due));
  const journalId = input.journalId ?? need(tx, 'account.journal', (j) => j.type === 'bank' && j.active === true, 'bank journal');
  const liquidityAccount =
    idOf(tx.get('account.journal', journalId)?.default_account_id) ?? need(tx, 'account.account', (a) => a.account_type === 'asset_cash', 'bank account');
  // Settling the last open amount uses the open balance itself, so no rounding difference is left.
  const openBalance = Math.abs(terms.reduce((acc, l) => acc + num(l.amount_residual), 0));
  const balance = isZero(amount - due) ? round(openBalance) : round(amount / rate);
  const dir = inbound ? 1 : -1; // inbound: money arrives on the bank account (debit)

  const moveId = tx.create('account.move', { move_type: 'entry', journal_id: journalId, date: input.date, partner_id: invoice.partner_id, currency_id: currencyId, ref: invoice.name });
  tx.setHidden('account.move', moveId, { __payment: true });
  const paymentVals: { [k: string]: StoredValue } = {
    move_id: moveId,
    date: input.date,
    amount,
    payment_type: inbound ? 'inbound' : 'outbound',
    partner_type: customer ? 'customer' : 'supplier',
    partner_id: invoice.partner_id ?? null,
    journal_id: journalId,
    currency_id: currencyId,
    destination_account_id: terms[0].account_id ?? null,
  };
  const paymentId = tx.create('account.payment', paymentVals);
  // 17: account.move.payment_id; 18+: origin_payment_id.
  const moveFields = tx.registry.get('account.move')?.fields ?? {};
  tx.write('account.move', moveId, moveFields.payment_id ? { payment_id: paymentId } : { origin_payment_id: paymentId });
  tx.create('account.move.line', {
    move_id: moveId,
    display_type: 'product',
    account_id: liquidityAccount,
    partner_id: invoice.partner_id,
    name: `Payment ${String(invoice.name)}`,
    currency_id: currencyId,
    amount_currency: dir * amount,
    balance: dir * balance,
    payment_id: paymentId,
  });
  const counterpart = tx.create('account.move.line', {
    move_id: moveId,
    display_type: 'payment_term',
    account_id: terms[0].account_id,
    partner_id: invoice.partner_id,
    name: `Payment ${String(invoice.name)}`,
    currency_id: currencyId,
    amount_currency: -dir * amount,
    balance: -dir * balance,
    date_maturity: input.date,
    payment_id: paymentId,
  });
  postMove(tx, moveId);
  // 17: the payment's state mirrors its move ('posted'); 18+ has its own workflow ('paid').
  tx.setComputed('account.payment', paymentId, {
    name: tx.get('account.move', moveId)?.name ?? null,
    state: tx.registry.major >= 18 ? 'paid' : 'posted',
  });
  for (const term of terms) reconcile(tx, counterpart, term.id);
  const settled = tx.get('account.move.line', counterpart)?.reconciled === true;
  tx.setHidden('account.payment', paymentId, { __invoice_ids: [invoice.id] });
  tx.setComputed('account.payment', paymentId, { is_reconciled: settled });
  return { paymentId, moveId };
}

/** Credit note / reversal of `moveId` (posted), reconciled with it by default. */
export function reverseMove(tx: Transaction, moveId: number, opts: { date: string; post?: boolean; reconcile?: boolean }): number {
  const move = tx.get('account.move', moveId);
  if (!move) throw userError(`Journal entry ${moveId} not found`);
  const reversedType: Record<string, string> = { out_invoice: 'out_refund', in_invoice: 'in_refund', out_refund: 'out_invoice', in_refund: 'in_invoice', entry: 'entry' };
  const newId = tx.create('account.move', {
    move_type: reversedType[String(move.move_type)] ?? 'entry',
    partner_id: move.partner_id,
    journal_id: move.journal_id,
    currency_id: move.currency_id,
    date: opts.date,
    invoice_date: move.invoice_date === null ? null : opts.date,
    invoice_date_due: move.invoice_date === null ? null : opts.date,
    ref: `Reversal of: ${String(move.name)}`,
    reversed_entry_id: moveId,
    invoice_payment_term_id: move.invoice_payment_term_id,
  });
  for (const lid of tx.children('account.move.line', 'move_id', moveId)) {
    const l = tx.get('account.move.line', lid) as Row;
    tx.create('account.move.line', {
      move_id: newId,
      sequence: num(l.sequence),
      display_type: l.display_type,
      product_id: l.product_id,
      product_uom_id: l.product_uom_id,
      name: l.name,
      account_id: l.account_id,
      partner_id: l.partner_id,
      quantity: l.quantity,
      price_unit: l.price_unit,
      discount: l.discount,
      tax_ids: l.tax_ids,
      tax_line_id: l.tax_line_id,
      tax_base_amount: l.tax_base_amount,
      currency_id: l.currency_id,
      amount_currency: -num(l.amount_currency),
      balance: -num(l.balance),
      date_maturity: l.display_type === 'payment_term' ? opts.date : null,
    });
  }
  if (opts.post !== false) {
    postMove(tx, newId);
    if (opts.reconcile !== false) {
      const mine = openTermLines(tx, newId);
      for (const theirs of openTermLines(tx, moveId)) for (const l of mine) reconcile(tx, l.id, theirs.id);
    }
  }
  return newId;
}
