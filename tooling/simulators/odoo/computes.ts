// Stored computed and related fields, recomputed inside the writing transaction.
//
// In Odoo a recomputed stored field is flushed with `_write_multi`, which also sets write_date
// ("set magic fields (already done by write(), but not for computed fields)", odoo/models.py).
// So registering a payment bumps the invoice's write_date (amount_residual, payment_state) and
// its journal items' (amount_residual, reconciled, matching_number); posting a move bumps its
// lines (parent_state, move_name are related stored fields). Values shown inside a many2one pair
// are NOT stored on the referencing row and change nothing there (renaming a partner does not
// touch its invoices' write_date). Transaction.setComputed only bumps when a value changed.

import { internalGroup } from './models';
import { Transaction, TxHooks } from './store';
import { Row, StoredValue } from './types';

const num = (v: StoredValue | undefined): number => (typeof v === 'number' ? v : 0);
const id = (v: StoredValue | undefined): number | null => (typeof v === 'number' ? v : null);

export function round(value: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round((value + Math.sign(value) * Number.EPSILON) * f) / f;
}

export const isZero = (v: number): boolean => Math.abs(v) < 0.005;

/** Move types whose receivable/payable line is a debit: money comes in (customer invoice, vendor refund). */
export const INBOUND_TYPES = new Set(['out_invoice', 'in_refund', 'out_receipt']);
export const INVOICE_TYPES = new Set(['out_invoice', 'out_refund', 'in_invoice', 'in_refund', 'out_receipt', 'in_receipt']);

function companyCurrency(tx: Transaction, companyId: number | null): number {
  const company = companyId === null ? undefined : tx.get('res.company', companyId);
  return id(company?.currency_id) ?? 1;
}

// ----------------------------------------------------------------------------------------------
// res.partner / product.category: names along the hierarchy

function descendants(tx: Transaction, model: string, parentField: string, ids: number[]): number[] {
  const out: number[] = [];
  const queue = [...ids];
  const seen = new Set<number>();
  while (queue.length) {
    const cur = queue.shift() as number;
    if (seen.has(cur)) continue;
    seen.add(cur);
    out.push(cur);
    queue.push(...tx.children(model, parentField, cur));
  }
  return out;
}

function recomputePartners(tx: Transaction, ids: number[]): void {
  for (const pid of descendants(tx, 'res.partner', 'parent_id', ids)) {
    const p = tx.get('res.partner', pid);
    if (!p) continue;
    const parent = id(p.parent_id) !== null ? tx.get('res.partner', p.parent_id as number) : undefined;
    const name = typeof p.name === 'string' ? p.name : '';
    let complete = name;
    if (parent && !p.is_company) {
      const label = name || (p.type && p.type !== 'contact' ? typeLabel(String(p.type)) : '');
      complete = `${String(parent.complete_name ?? parent.name ?? '')}, ${label}`;
    }
    const commercial = p.is_company || !parent ? pid : id(parent.commercial_partner_id) ?? id(p.parent_id);
    tx.setComputed('res.partner', pid, { complete_name: complete || null, commercial_partner_id: commercial });
  }
}

const typeLabel = (t: string): string =>
  ({ invoice: 'Invoice Address', delivery: 'Delivery Address', other: 'Other Address' })[t] ?? '';

function recomputeCategories(tx: Transaction, ids: number[]): void {
  for (const cid of descendants(tx, 'product.category', 'parent_id', ids)) {
    const c = tx.get('product.category', cid);
    if (!c) continue;
    const parent = id(c.parent_id) !== null ? tx.get('product.category', c.parent_id as number) : undefined;
    const complete = parent ? `${String(parent.complete_name ?? parent.name)} / ${String(c.name ?? '')}` : String(c.name ?? '');
    tx.setComputed('product.category', cid, { complete_name: complete });
  }
}

function recomputeAccounts(tx: Transaction, ids: number[]): void {
  for (const aid of ids) {
    const a = tx.get('account.account', aid);
    if (!a || typeof a.account_type !== 'string') continue;
    const group = internalGroup(a.account_type);
    tx.setComputed('account.account', aid, {
      internal_group: group,
      include_initial_balance: group !== 'income' && group !== 'expense' && a.account_type !== 'equity_unaffected',
    });
  }
}

// ----------------------------------------------------------------------------------------------
// account.move.line and account.move

/** Line fields derived from its own values, its move (related stored) and its account. */
function recomputeLine(tx: Transaction, lineId: number, creating: boolean, changed: string[]): void {
  const line = tx.get('account.move.line', lineId);
  if (!line) return;
  const move = id(line.move_id) !== null ? tx.get('account.move', line.move_id as number) : undefined;
  const account = id(line.account_id) !== null ? tx.get('account.account', line.account_id as number) : undefined;
  const vals: { [k: string]: StoredValue } = {};

  // 17.0 stores `balance` and derives debit/credit from it; accept either side being written.
  let balance = num(line.balance);
  const fromBalance = creating ? num(line.debit) === 0 && num(line.credit) === 0 : changed.includes('balance');
  if (fromBalance) {
    vals.debit = balance > 0 ? balance : 0;
    vals.credit = balance < 0 ? -balance : 0;
  } else {
    balance = round(num(line.debit) - num(line.credit));
    vals.balance = balance;
  }
  const companyCur = companyCurrency(tx, id(move?.company_id) ?? 1);
  if (id(line.currency_id) === null || id(line.currency_id) === companyCur) {
    vals.currency_id = companyCur;
    if (creating || changed.includes('debit') || changed.includes('credit') || changed.includes('balance')) vals.amount_currency = balance;
  }
  if (move) {
    vals.move_name = move.name ?? null;
    vals.date = move.date ?? null;
    vals.ref = move.ref ?? null;
    vals.parent_state = move.state ?? null;
    vals.journal_id = move.journal_id ?? null;
    vals.company_id = move.company_id ?? null;
    vals.company_currency_id = companyCur;
  }
  vals.account_type = account ? account.account_type ?? null : null;
  if (line.display_type === 'product') {
    const subtotal = round(num(line.quantity) * num(line.price_unit) * (1 - num(line.discount) / 100));
    const rate = (Array.isArray(line.tax_ids) ? line.tax_ids : []).reduce((acc, t) => acc + num(tx.get('account.tax', t)?.amount), 0);
    vals.price_subtotal = subtotal;
    vals.price_total = round(subtotal * (1 + rate / 100));
  }
  if (creating) {
    const reconcilable = account?.reconcile === true;
    const amountCurrency = 'amount_currency' in vals ? (vals.amount_currency as number) : num(line.amount_currency);
    vals.amount_residual = reconcilable ? balance : 0;
    vals.amount_residual_currency = reconcilable ? amountCurrency : 0;
    vals.reconciled = false;
    if (line.display_type === 'payment_term' && line.date_maturity === null) vals.date_maturity = move?.invoice_date_due ?? move?.date ?? null;
  }
  tx.setComputed('account.move.line', lineId, vals);
}

/** account.move _compute_amount + _compute_payment_state (17.0), simplified to one currency rate. */
export function recomputeMove(tx: Transaction, moveId: number): void {
  const move = tx.get('account.move', moveId);
  if (!move) return;
  const lines = tx.children('account.move.line', 'move_id', moveId).map((l) => tx.get('account.move.line', l) as Row);
  const type = String(move.move_type);
  const isInvoice = INVOICE_TYPES.has(type);
  let untaxed = 0,
    untaxedCur = 0,
    tax = 0,
    taxCur = 0,
    residual = 0,
    residualCur = 0,
    total = 0,
    totalCur = 0;
  for (const l of lines) {
    if (isInvoice) {
      if (l.display_type === 'tax') {
        tax += num(l.balance);
        taxCur += num(l.amount_currency);
      } else if (l.display_type === 'product' || l.display_type === 'rounding') {
        untaxed += num(l.balance);
        untaxedCur += num(l.amount_currency);
      } else if (l.display_type === 'payment_term') {
        residual += num(l.amount_residual);
        residualCur += num(l.amount_residual_currency);
      }
    } else if (num(l.debit) > 0) {
      total += num(l.balance);
      totalCur += num(l.amount_currency);
    }
  }
  if (isInvoice) {
    total = untaxed + tax;
    totalCur = untaxedCur + taxCur;
  }
  // direction_sign: +1 for entries and outbound documents (vendor bill, customer refund), else -1.
  const sign = type === 'entry' || type === 'in_invoice' || type === 'out_refund' || type === 'in_receipt' ? 1 : -1;
  const amountTotal = round(sign * totalCur);
  const amountResidual = round(-sign * residualCur);
  let paymentState = 'not_paid';
  if (move.state === 'posted' && isInvoice) {
    if (isZero(amountResidual)) paymentState = move.__reversed === true ? 'reversed' : 'paid';
    else if (!isZero(amountResidual - Math.abs(amountTotal))) paymentState = 'partial';
  }
  const partner = id(move.partner_id) !== null ? tx.get('res.partner', move.partner_id as number) : undefined;
  tx.setComputed('account.move', moveId, {
    amount_untaxed: round(sign * untaxedCur),
    amount_tax: round(sign * taxCur),
    amount_total: amountTotal,
    amount_residual: amountResidual,
    amount_untaxed_signed: round(-untaxed),
    amount_tax_signed: round(-tax),
    amount_total_signed: type === 'entry' ? round(Math.abs(total)) : round(-total),
    amount_total_in_currency_signed: type === 'entry' ? Math.abs(amountTotal) : round(-(sign * amountTotal)),
    amount_residual_signed: round(residual),
    payment_state: paymentState,
    commercial_partner_id: partner ? id(partner.commercial_partner_id) ?? partner.id : null,
  });
}

const MOVE_RELATED = ['state', 'name', 'date', 'ref', 'journal_id', 'company_id'];

export class OdooComputes implements TxHooks {
  afterCreate(tx: Transaction, model: string, ids: number[]): void {
    this.after(tx, model, ids, null);
  }

  afterWrite(tx: Transaction, model: string, ids: number[], fields: string[]): void {
    this.after(tx, model, ids, fields);
  }

  beforeUnlink(): void {
    // Posted-entry protection is business logic the tests choose to bypass: unlink is a hard delete.
  }

  afterUnlink(tx: Transaction, model: string, _ids: number[], rows: Row[]): void {
    if (model === 'account.move.line') {
      for (const moveId of new Set(rows.map((r) => id(r.move_id)).filter((x): x is number => x !== null))) recomputeMove(tx, moveId);
    }
  }

  private after(tx: Transaction, model: string, ids: number[], fields: string[] | null): void {
    const touched = (...names: string[]): boolean => fields === null || names.some((n) => fields.includes(n));
    switch (model) {
      case 'res.partner':
        if (touched('name', 'parent_id', 'is_company', 'type')) recomputePartners(tx, ids);
        break;
      case 'product.category':
        if (touched('name', 'parent_id')) recomputeCategories(tx, ids);
        break;
      case 'account.account':
        if (touched('account_type')) recomputeAccounts(tx, ids);
        break;
      case 'account.move.line': {
        for (const l of ids) recomputeLine(tx, l, fields === null, fields ?? []);
        const moves = new Set(ids.map((l) => id(tx.get('account.move.line', l)?.move_id)).filter((x): x is number => x !== null));
        for (const m of moves) recomputeMove(tx, m);
        break;
      }
      case 'account.move':
        for (const m of ids) {
          if (fields !== null && touched(...MOVE_RELATED)) {
            for (const l of tx.children('account.move.line', 'move_id', m)) recomputeLine(tx, l, false, []);
          }
          recomputeMove(tx, m);
        }
        break;
    }
  }
}
