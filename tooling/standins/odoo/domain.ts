// Domain evaluation and `order` parsing, following Odoo 17 odoo/osv/expression.py and
// BaseModel._order_to_sql / _check_qorder, evaluated in memory with PostgreSQL NULL semantics.
import { OdooError, userError, valueError } from './errors';
import { Field, Model, Row, datetimeText, isoBasicToOdoo, parseTimestampLiteral } from './model';
import { XDateTime, XValue, pyRepr } from './xmlrpc';

export interface DomainEnv {
  model(name: string): Model;
  /** every committed row of the model (archived included) */
  allRows(model: string): Row[];
  row(model: string, id: number): Row | undefined;
  displayName(model: Model, row: Row): string | false;
  /** related ids of an x2many (no active filtering) */
  x2manyIds(model: Model, field: Field, row: Row): number[];
  /** internal value of a field (computed for non-stored fields) */
  value(model: Model, field: Field, row: Row): unknown;
}

type Pred = (row: Row) => boolean;

const TERM_OPERATORS = new Set([
  '=', '!=', '<=', '<', '>', '>=', '=?', '=like', '=ilike', 'like', 'not like', 'ilike', 'not ilike',
  'in', 'not in', 'child_of', 'parent_of', 'any', 'not any',
]);
const NEGATIVE = new Set(['!=', 'not like', 'not ilike', 'not in']);
const NEGATE: Record<string, string> = { '!=': '=', 'not like': 'like', 'not ilike': 'ilike', 'not in': 'in' };

function pyTuple(leaf: XValue[]): string {
  return '(' + leaf.map((x) => pyRepr(x)).join(', ') + ')';
}

/** normalize_domain: implicit '&' between consecutive terms; leaves become tuples. */
function normalize(domain: XValue): XValue[] {
  if (domain === false || domain === null) return [];
  if (!Array.isArray(domain)) {
    throw new OdooError('builtins.AssertionError', "Domains to normalize must have a 'domain' form: a list or tuple of domain components");
  }
  if (domain.length === 0) return [];
  const arity: Record<string, number> = { '!': 1, '&': 2, '|': 2 };
  const result: XValue[] = [];
  let expected = 1;
  for (const token of domain) {
    if (expected === 0) {
      result.unshift('&');
      expected = 1;
    }
    if (Array.isArray(token)) expected -= 1;
    else expected += (typeof token === 'string' ? arity[token] ?? 0 : 0) - 1;
    result.push(token);
  }
  if (expected !== 0) {
    throw new OdooError('builtins.AssertionError', `This domain is syntactically not correct: ${pyRepr(domain)}`);
  }
  return result;
}

function likeRegex(pattern: string, ci: boolean, wrap: boolean): RegExp {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '\\' && i + 1 < pattern.length) re += pattern[++i].replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
    else if (c === '%') re += '.*';
    else if (c === '_') re += '.';
    else re += c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  }
  if (wrap) re = '.*' + re + '.*';
  return new RegExp('^' + re + '$', ci ? 'is' : 's');
}

const isNullish = (v: unknown) => v === null || v === undefined;

function textOf(f: Field, v: unknown): string {
  if (f.type === 'datetime') return datetimeText(v as number);
  if (f.type === 'boolean') return v ? 'true' : 'false';
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return String(v);
  return JSON.stringify(v);
}

function cmp(a: unknown, b: unknown): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  if (typeof a === 'boolean' && typeof b === 'boolean') return Number(a) - Number(b);
  const sa = String(a);
  const sb = String(b);
  return sa < sb ? -1 : sa > sb ? 1 : 0;
}

export function compileDomain(env: DomainEnv, model: Model, domain: XValue): Pred {
  const tokens = normalize(domain ?? []);
  let pos = 0;
  // distribute_not: '!' is pushed down to the leaves (De Morgan) and a negated leaf takes the
  // opposite operator, so ['!', ('x', '>', 3)] means x <= 3 and leaves NULL rows out.
  const parse = (neg: boolean): Pred => {
    if (pos >= tokens.length) {
      throw new OdooError('builtins.AssertionError', `This domain is syntactically not correct: ${pyRepr(domain)}`);
    }
    const t = tokens[pos++];
    if (t === '!') return parse(!neg);
    if (t === '&' || t === '|') {
      const a = parse(neg);
      const b = parse(neg);
      const and = (t === '&') !== neg;
      return and ? (r) => a(r) && b(r) : (r) => a(r) || b(r);
    }
    return compileLeaf(env, model, t, neg);
  };
  if (tokens.length === 0) return () => true;
  const p = parse(false);
  if (pos !== tokens.length) {
    throw new OdooError('builtins.AssertionError', `This domain is syntactically not correct: ${pyRepr(domain)}`);
  }
  return p;
}

function invalidLeaf(token: XValue): OdooError {
  // normalize_domain turned list leaves into tuples; str() of a bare string has no quotes
  const text = Array.isArray(token) ? (token.length === 1 ? `(${pyRepr(token[0])},)` : pyTuple(token)) : typeof token === 'string' ? token : pyRepr(token);
  return valueError(`Invalid leaf ${text}`);
}

const TERM_OPERATORS_NEGATION: Record<string, string> = {
  '<': '>=', '>': '<=', '<=': '>', '>=': '<', '=': '!=', '!=': '=', in: 'not in', like: 'not like', ilike: 'not ilike',
  'not in': 'in', 'not like': 'like', 'not ilike': 'ilike', any: 'not any', 'not any': 'any',
};

function compileLeaf(env: DomainEnv, model: Model, token: XValue, neg: boolean): Pred {
  if (!Array.isArray(token) || token.length !== 3) throw invalidLeaf(token);
  const leaf = token as XValue[];
  const [left, rawOp, right] = leaf;
  // TRUE_LEAF (1, '=', 1) and FALSE_LEAF (0, '=', 1)
  if (left === 1 && rawOp === '=' && right === 1) return () => !neg;
  if (left === 0 && rawOp === '=' && right === 1) return () => neg;
  if (typeof left !== 'string' || typeof rawOp !== 'string') throw invalidLeaf(token);
  let op = rawOp.toLowerCase();
  if (op === '<>') op = '!=';
  if (op === '==') op = '=';
  if (!TERM_OPERATORS.has(op)) throw invalidLeaf(token);
  if (!neg) return compilePath(env, model, left, op, right, leaf);
  const negated = TERM_OPERATORS_NEGATION[op];
  if (negated) return compilePath(env, model, left, negated, right, leaf);
  // kept as SQL "NOT (leaf)": a NULL column stays unmatched either way
  const pos = compilePath(env, model, left, op, right, leaf);
  const field = model.fields.get(left.split('.')[0]);
  if (field && field.store && !left.includes('.') && field.type !== 'many2many' && field.type !== 'one2many') {
    return (r) => {
      const v = env.value(model, field, r);
      return v !== null && v !== undefined && !pos(r);
    };
  }
  return (r) => !pos(r);
}

function compilePath(env: DomainEnv, model: Model, left: string, op: string, right: XValue, leaf: XValue[]): Pred {
  const dot = left.indexOf('.');
  const head = dot < 0 ? left : left.slice(0, dot);
  const rest = dot < 0 ? '' : left.slice(dot + 1);
  const field = model.fields.get(head);
  if (!field) throw valueError(`Invalid field ${model.name}.${head} in leaf ${pyTuple(leaf)}`);

  if (rest) {
    if (field.type !== 'many2one' && field.type !== 'many2many' && field.type !== 'one2many') {
      throw valueError(`Invalid field ${model.name}.${left} in leaf ${pyTuple(leaf)}`);
    }
    // Odoo 17 rewrites ('a.b', op, v) into ('a', 'any', [('b', op, v)]).
    const comodel = env.model(field.relation!);
    const sub = compilePath(env, comodel, rest, op, right, leaf);
    return (r) => relatedIds(env, model, field, r).some((id) => {
      const rr = env.row(comodel.name, id);
      return rr !== undefined && sub(rr);
    });
  }

  if (op === 'child_of' || op === 'parent_of') {
    throw new OdooError('builtins.NotImplementedError', `stand-in: operator ${op} is not implemented`);
  }
  if (op === 'any' || op === 'not any') {
    if (field.type !== 'many2one' && field.type !== 'many2many' && field.type !== 'one2many') {
      throw valueError(`Binary field ${model.name}.${head} does not support operator ${pyRepr(op)}`);
    }
    const comodel = env.model(field.relation!);
    const sub = compileDomain(env, comodel, right);
    const some: Pred = (r) => relatedIds(env, model, field, r).some((id) => {
      const rr = env.row(comodel.name, id);
      return rr !== undefined && sub(rr);
    });
    return op === 'any' ? some : (r) => !some(r);
  }
  if (op === '=?') {
    if (right === false || right === null) return () => true;
    op = '=';
  }

  if (head === 'display_name') {
    // _search_display_name: search on _rec_name
    if (!model.recName) return () => true;
    return compilePath(env, model, model.recName, op, right, leaf);
  }
  if (!field.store && field.type !== 'one2many') {
    // Odoo 17 logs "Non-stored field %s cannot be searched." and replaces the leaf with TRUE_LEAF.
    return () => true;
  }

  if (field.type === 'many2one' || field.type === 'many2many' || field.type === 'one2many') {
    return compileRelational(env, model, field, op, right);
  }
  return compileScalar(env, model, field, op, right);
}

function relatedIds(env: DomainEnv, model: Model, field: Field, r: Row): number[] {
  if (field.type === 'many2one') {
    const v = r[field.name];
    return typeof v === 'number' ? [v] : [];
  }
  return env.x2manyIds(model, field, r);
}

/** Convert a domain value to the internal representation of the field for comparison. */
function convertRight(field: Field, op: string, v: XValue): unknown {
  if (v === false || v === null) return null;
  switch (field.type) {
    case 'datetime': {
      let s: string;
      if (v instanceof XDateTime) s = isoBasicToOdoo(v.raw);
      else if (typeof v === 'string') s = v;
      else throw new OdooError('psycopg2.errors.InvalidDatetimeFormat', `invalid input syntax for type timestamp: ${pyRepr(v)}`);
      // expression.py: a date-only value on a datetime field spans the whole day
      if (s.length === 10) s += op === '>' || op === '<=' ? ' 23:59:59' : ' 00:00:00';
      return parseTimestampLiteral(s);
    }
    case 'date': {
      let s: string;
      if (v instanceof XDateTime) s = isoBasicToOdoo(v.raw);
      else if (typeof v === 'string') s = v;
      else throw new OdooError('psycopg2.errors.InvalidDatetimeFormat', `invalid input syntax for type date: ${pyRepr(v)}`);
      parseTimestampLiteral(s); // validates
      return s.trim().slice(0, 10);
    }
    case 'integer':
    case 'float':
    case 'monetary': {
      if (typeof v === 'number') return v;
      if (typeof v === 'boolean') return v ? 1 : 0;
      if (typeof v === 'string' && v.trim() !== '' && !Number.isNaN(Number(v))) return Number(v);
      throw new OdooError('psycopg2.errors.InvalidTextRepresentation', `invalid input syntax for type ${field.type === 'integer' ? 'integer' : 'numeric'}: ${JSON.stringify(String(v))}`);
    }
    case 'boolean':
      return Boolean(v);
    default:
      if (typeof v === 'string') return v;
      if (typeof v === 'number' || typeof v === 'boolean') return String(v);
      return JSON.stringify(v);
  }
}

function compileScalar(env: DomainEnv, model: Model, field: Field, op: string, right: XValue): Pred {
  const get = (r: Row) => env.value(model, field, r);
  const isBool = field.type === 'boolean';
  if (op === 'in' || op === 'not in') {
    const list = Array.isArray(right) ? right : [right];
    const hasNull = list.some((x) => x === false || x === null);
    const vals = list.filter((x) => x !== false && x !== null).map((x) => convertRight(field, '=', x));
    if (isBool) {
      // [True, False] is the documented way to include archived rows: False also matches NULL.
      const wantFalse = hasNull || vals.includes(false);
      const wantTrue = vals.includes(true);
      const pos: Pred = (r) => (get(r) === true ? wantTrue : wantFalse);
      return op === 'in' ? pos : (r) => !pos(r);
    }
    const hit = (v: unknown) => vals.some((x) => cmp(v, x) === 0);
    if (op === 'in') return (r) => (isNullish(get(r)) ? hasNull : hit(get(r)));
    // NOT IN adds "OR col IS NULL" unless False was in the list
    return (r) => (isNullish(get(r)) ? !hasNull : !hit(get(r)));
  }
  if (op === '=' || op === '!=') {
    if (right === false || right === null) {
      const isNull: Pred = isBool ? (r) => !get(r) : (r) => isNullish(get(r));
      return op === '=' ? isNull : (r) => !isNull(r);
    }
    const v = convertRight(field, op, right);
    if (op === '=') return (r) => !isNullish(get(r)) && cmp(get(r), v) === 0;
    return (r) => isNullish(get(r)) || cmp(get(r), v) !== 0;
  }
  if (op === '<' || op === '<=' || op === '>' || op === '>=') {
    const v = convertRight(field, op, right);
    if (v === null) return () => false;
    return (r) => {
      const x = get(r);
      if (isNullish(x)) return false;
      const c = cmp(x, v);
      return op === '<' ? c < 0 : op === '<=' ? c <= 0 : op === '>' ? c > 0 : c >= 0;
    };
  }
  // like family
  const ci = op.includes('ilike');
  const wrap = op === 'like' || op === 'ilike' || op === 'not like' || op === 'not ilike';
  const pattern = right === false || right === null ? '' : typeof right === 'string' ? right : String(convertRight(field, op, right));
  const re = likeRegex(pattern, ci, wrap);
  const matches: Pred = (r) => {
    const x = get(r);
    return !isNullish(x) && re.test(textOf(field, x));
  };
  if (NEGATIVE.has(op)) return (r) => isNullish(get(r)) || !matches(r);
  // (like, '') / (like, False) also matches NULL (expression.py add_null when value is empty)
  if (wrap && pattern === '') return () => true;
  return matches;
}

/** name_search on the comodel: ids whose display name matches `op value` (positive operator). */
function nameSearch(env: DomainEnv, comodel: Model, op: string, value: XValue): Set<number> {
  const recName = comodel.recName;
  if (!recName) return new Set();
  const f = comodel.fields.get(recName)!;
  const pred = compileScalar(env, comodel, f, op === '=' || op === 'in' ? (Array.isArray(value) ? 'in' : '=') : op, value);
  return new Set(env.allRows(comodel.name).filter(pred).map((r) => r.id));
}

function compileRelational(env: DomainEnv, model: Model, field: Field, op: string, right: XValue): Pred {
  const comodel = env.model(field.relation!);
  const ids = (r: Row) => relatedIds(env, model, field, r);
  const negative = NEGATIVE.has(op);
  const posOp = negative ? NEGATE[op] : op;

  if ((op === '=' || op === '!=') && (right === false || right === null)) {
    const empty: Pred = (r) => ids(r).length === 0;
    return op === '=' ? empty : (r) => !empty(r);
  }
  const list = Array.isArray(right) ? right : [right];
  const textual = typeof right === 'string' || (Array.isArray(right) && right.some((x) => typeof x === 'string'));
  let target: Set<number>;
  let matchNull = false;
  if (posOp === 'like' || posOp === 'ilike' || posOp === '=like' || posOp === '=ilike' || textual) {
    if ((posOp === 'like' || posOp === 'ilike') && (right === false || right === '' || right === null)) {
      return negative ? (r) => ids(r).length === 0 : () => true;
    }
    target = nameSearch(env, comodel, posOp, right);
  } else if (posOp === '=' || posOp === 'in') {
    matchNull = list.some((x) => x === false || x === null);
    target = new Set(list.filter((x): x is number => typeof x === 'number'));
  } else if (field.type === 'many2one' && (op === '<' || op === '<=' || op === '>' || op === '>=')) {
    return compileScalar(env, model, { ...field, type: 'integer' }, op, right);
  } else {
    throw valueError(`Invalid operator ${pyRepr(op)} for ${model.name}.${field.name}`);
  }
  const pos: Pred = (r) => {
    const rel = ids(r);
    if (rel.length === 0) return matchNull;
    return rel.some((id) => target.has(id));
  };
  return negative ? (r) => !pos(r) : pos;
}

// ---------------------------------------------------------------- order

export interface OrderTerm {
  field: Field;
  desc: boolean;
  nullsFirst: boolean;
}

const ORDER_TERM = /^\s*("?)([a-z0-9_]+)\1(\.[a-z0-9_]+)?(:[a-z_]+)?(\s+(asc|desc))?(\s+nulls\s+(first|last))?\s*$/i;

export function parseOrder(model: Model, order: string): OrderTerm[] {
  const terms: OrderTerm[] = [];
  const invalid = () =>
    userError(
      `Invalid "order" specified (${order}). A valid "order" specification is a comma-separated list of valid field names (optionally followed by asc/desc for the direction)`,
    );
  for (const part of order.split(',')) {
    const m = ORDER_TERM.exec(part);
    if (!m) throw invalid();
    const fname = m[2];
    const field = model.fields.get(fname);
    if (!field) throw valueError(`Invalid field ${pyRepr(fname)} on model ${pyRepr(model.name)}`);
    // Odoo 17's _field_to_sql refuses fields without a column (non-stored computed, x2many);
    // Odoo <= 16 logged "cannot be sorted on field ... (not a column)" and skipped them instead.
    if (!field.store || field.type === 'many2many' || field.type === 'one2many') {
      throw valueError(`Cannot convert ${model.name}.${fname} to SQL because it is not stored`);
    }
    const desc = (m[6] ?? 'asc').toLowerCase() === 'desc';
    const nullsFirst = m[8] ? m[8].toLowerCase() === 'first' : desc; // PostgreSQL default
    terms.push({ field, desc, nullsFirst });
  }
  return terms;
}

export function makeComparator(env: DomainEnv, model: Model, terms: OrderTerm[], depth = 0): (a: Row, b: Row) => number {
  const parts = terms.map((t) => {
    if (t.field.type === 'many2one' && depth < 3) {
      // Odoo orders a many2one by the comodel's _order.
      const comodel = env.model(t.field.relation!);
      const sub = makeComparator(env, comodel, parseOrder(comodel, comodel.order), depth + 1);
      return { t, cmpVal: (x: number, y: number) => {
        const rx = env.row(comodel.name, x);
        const ry = env.row(comodel.name, y);
        if (!rx || !ry) return x - y;
        return sub(rx, ry) || x - y;
      } };
    }
    return { t, cmpVal: (x: unknown, y: unknown) => cmp(x, y) };
  });
  return (a, b) => {
    for (const { t, cmpVal } of parts) {
      let x = env.value(model, t.field, a);
      let y = env.value(model, t.field, b);
      if (t.field.type === 'boolean') {
        x = Boolean(x);
        y = Boolean(y);
      }
      const xn = isNullish(x);
      const yn = isNullish(y);
      if (xn && yn) continue;
      if (xn || yn) return xn === t.nullsFirst ? -1 : 1;
      const c = (cmpVal as (p: unknown, q: unknown) => number)(x, y);
      if (c !== 0) return t.desc ? -c : c;
    }
    return 0;
  };
}
