// ORDER BY, as Odoo 17 turns an `order` string into SQL (models.py _order_to_sql) and Postgres
// sorts it:
//  - syntax checked with Odoo's regex; a bad spec is `ValueError: Invalid "order" specified (...)`;
//  - an unknown field is `ValueError: Invalid field 'x' on model 'y'`;
//  - a many2one sorts by the comodel's own `_order` (e.g. partner_id by complete_name), `x.id`
//    by the raw id; booleans sort as COALESCE(field, false);
//  - NULLS LAST for ASC and NULLS FIRST for DESC (Postgres defaults) unless spelled out;
//  - rows equal on every term come out in heap order (`__seq`): an UPDATE moves a row to the end.
// A sorted view of the whole table is cached until the next commit, so paging through 100k rows
// sorts once, not once per page.

import { valueError } from './errors';
import { ModelDef } from './models';
import { pyRepr } from './pyFormat';
import { Store } from './store';
import { Row } from './types';

type Key = string | number | boolean | null;

interface SortColumn {
  get: (row: Row) => Key;
  desc: boolean;
  nullsFirst: boolean;
  collate: boolean;
}

const ORDER_RE = /^(\s*("?[a-z0-9_]+"?)(\.[a-z0-9_]+)?(\s+(desc|asc))?(\s+nulls\s+(first|last))?\s*(,|$))+$/i;
const collator = new Intl.Collator('en', { sensitivity: 'variant', numeric: false });

export function checkOrderSyntax(spec: string): void {
  if (!ORDER_RE.test(spec) || spec.trim().endsWith(',')) {
    throw valueError(
      `Invalid "order" specified (${spec}). A valid "order" specification is a comma-separated list of valid field names (optionally followed by asc/desc for the direction)`,
    );
  }
}

function columns(store: Store, def: ModelDef, spec: string, depth: number, reverse: boolean): SortColumn[] {
  checkOrderSyntax(spec);
  const out: SortColumn[] = [];
  for (const term of spec.split(',')) {
    const parts = term.trim().split(/\s+/);
    const [fieldPart, ...rest] = parts;
    const words = rest.map((w) => w.toLowerCase());
    let desc = words[0] === 'desc';
    if (reverse) desc = !desc;
    const nullsIdx = words.indexOf('nulls');
    const nullsFirst = nullsIdx >= 0 ? (words[nullsIdx + 1] === 'first') !== reverse : desc;
    const [rawName, prop] = fieldPart.replace(/"/g, '').split('.');
    const f = def.fields[rawName];
    if (!f) throw valueError(`Invalid field ${pyRepr(rawName)} on model ${pyRepr(def.name)}`);
    if (!f.sortable || f.type === 'one2many' || f.type === 'many2many') {
      throw valueError(`Cannot order ${def.name} by non-stored field ${pyRepr(rawName)}`);
    }
    const name = f.name;
    const getter = (row: Row): Key => {
      const v = f.compute ? f.compute(row, store) : row[name];
      return v === undefined || Array.isArray(v) || (typeof v === 'object' && v !== null) ? null : v;
    };
    if (f.type === 'many2one' && prop !== 'id' && depth < 3) {
      const comodel = store.model(f.relation as string);
      for (const sub of columns(store, comodel, comodel.order, depth + 1, desc)) {
        out.push({
          ...sub,
          get: (row) => {
            const target = getter(row);
            const targetRow = typeof target === 'number' ? store.row(comodel.name, target) : undefined;
            return targetRow ? sub.get(targetRow) : null;
          },
          nullsFirst: nullsIdx >= 0 ? nullsFirst : sub.desc,
        });
      }
      continue;
    }
    const isBool = f.type === 'boolean';
    out.push({
      get: isBool ? (row) => getter(row) === true : getter,
      desc,
      nullsFirst,
      collate: f.type === 'char' || f.type === 'text' || f.type === 'html' || f.type === 'selection',
    });
  }
  return out;
}

function compareKeys(a: Key, b: Key, col: SortColumn): number {
  if (a === null || b === null) {
    if (a === b) return 0;
    return (a === null) === col.nullsFirst ? -1 : 1; // NULL placement is independent of direction
  }
  let c: number;
  if (typeof a === 'number' && typeof b === 'number') c = a - b;
  else if (typeof a === 'boolean' || typeof b === 'boolean') c = Number(a) - Number(b);
  else if (col.collate) c = collator.compare(String(a), String(b));
  else c = String(a) < String(b) ? -1 : String(a) > String(b) ? 1 : 0;
  return col.desc ? -c : c;
}

/** All committed rows of `def` in `spec` order (default `_order`), cached until the next commit. */
export function sortedRows(store: Store, def: ModelDef, spec: string | null): Row[] {
  const order = spec && spec.trim() ? spec : def.order;
  return store.memo(`sorted:${def.name}:${order}`, () => {
    const cols = columns(store, def, order, 0, false);
    const rows = Array.from(store.table(def.name).values());
    const keyed = rows.map((row) => ({ row, keys: cols.map((c) => c.get(row)), seq: row.__seq ?? 0 }));
    keyed.sort((x, y) => {
      for (let i = 0; i < cols.length; i++) {
        const c = compareKeys(x.keys[i], y.keys[i], cols[i]);
        if (c !== 0) return c;
      }
      return x.seq - y.seq; // ties: heap order
    });
    return keyed.map((k) => k.row);
  });
}

/** Validate an order spec against a model without sorting (used before counting). */
export function validateOrder(store: Store, def: ModelDef, spec: string): void {
  columns(store, def, spec, 0, false);
}
