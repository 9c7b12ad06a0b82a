// Odoo search domains (odoo/osv/expression.py, 17.0), evaluated in memory with SQL's NULL rules.
//
// Reproduced:
//  - prefix notation with implicit AND (normalize_domain), TRUE/FALSE leaves (1,'=',1)/(0,'=',1);
//  - NOT pushed down onto leaves by operator negation (distribute_not), so `!(amount > 5)` becomes
//    `amount <= 5` and excludes NULLs, exactly like Odoo's SQL; operators without a negation keep
//    SQL NOT semantics (NULL stays excluded);
//  - `!=`, `not in`, `not like`, `not ilike` also match NULL (Odoo adds `OR field IS NULL`);
//    `= False` means IS NULL (and `= False` on a boolean also matches false);
//  - like/ilike wrap the value in %…% and keep `%`/`_` as wildcards; =like/=ilike use it as is;
//  - dotted paths (`partner_id.country_id.code`) are rewritten to `any` sub-searches (17.0 does
//    the same); many2one sub-searches ignore active_test, x2many ones honour it;
//  - string values on relational fields are matched against the comodel's display name;
//  - child_of / parent_of walk the comodel's `_parent_name` hierarchy.

import { assertionError, valueError } from './errors';
import { FieldDef, ModelDef } from './models';
import { pyRepr } from './pyFormat';
import { parseOdooDatetime, Store, toOdooDatetime } from './store';
import { Json, Row, StoredValue } from './types';

export type DomainNode =
  | { kind: 'and' | 'or'; children: DomainNode[] }
  | { kind: 'not'; child: DomainNode }
  | { kind: 'leaf'; left: string; op: string; right: Json; raw: Json[] }
  | { kind: 'const'; value: boolean };

export type Predicate = (row: Row) => boolean;

const OPERATORS = new Set([
  '=',
  '!=',
  '<=',
  '<',
  '>',
  '>=',
  '=?',
  '=like',
  '=ilike',
  'like',
  'not like',
  'ilike',
  'not ilike',
  'in',
  'not in',
  'child_of',
  'parent_of',
  'any',
  'not any',
]);

/** expression.py TERM_OPERATORS_NEGATION (17.0). */
const NEGATION: Record<string, string> = {
  '<': '>=',
  '>': '<=',
  '<=': '>',
  '>=': '<',
  '=': '!=',
  '!=': '=',
  in: 'not in',
  like: 'not like',
  ilike: 'not ilike',
  'not in': 'in',
  'not like': 'like',
  'not ilike': 'ilike',
  any: 'not any',
  'not any': 'any',
};

// ----------------------------------------------------------------------------------------------
// Parsing

/** normalize_domain + prefix parse. Throws ValueError/AssertionError like Odoo. */
export function parseDomain(domain: Json | undefined): DomainNode {
  if (domain === undefined || domain === null || domain === false || (Array.isArray(domain) && domain.length === 0)) {
    return { kind: 'const', value: true };
  }
  if (!Array.isArray(domain)) throw valueError(`Invalid domain: ${pyRepr(domain)}`);
  const tokens: Json[] = [];
  let expected = 1;
  const arity: Record<string, number> = { '!': 1, '&': 2, '|': 2 };
  for (const token of domain) {
    if (expected === 0) {
      tokens.unshift('&'); // implicit AND: [A, B] is ['&', A, B]
      expected = 1;
    }
    if (Array.isArray(token)) expected -= 1;
    else expected += (typeof token === 'string' ? arity[token] ?? 0 : 0) - 1;
    tokens.push(token);
  }
  if (expected !== 0) throw assertionError(`Domain ${pyRepr(domain)} is syntactically not correct.`);
  let pos = 0;
  const next = (): DomainNode => {
    const t = tokens[pos++];
    if (t === '&' || t === '|') {
      const a = next();
      const b = next();
      return { kind: t === '&' ? 'and' : 'or', children: [a, b] };
    }
    if (t === '!') return { kind: 'not', child: next() };
    return parseLeaf(t);
  };
  return next();
}

function parseLeaf(t: Json): DomainNode {
  if (!Array.isArray(t) || t.length !== 3) throw valueError(`Invalid leaf ${pyRepr(t)}`);
  const [left, rawOp, right] = t;
  if ((left === 1 || left === 0) && rawOp === '=' && right === 1) return { kind: 'const', value: left === 1 };
  if (typeof left !== 'string' || typeof rawOp !== 'string') throw valueError(`Invalid leaf ${pyRepr(t, true)}`);
  let op = rawOp.toLowerCase();
  if (op === '<>') op = '!=';
  if (!OPERATORS.has(op)) throw valueError(`Invalid leaf ${pyRepr(t, true)}`);
  return { kind: 'leaf', left, op, right, raw: t };
}

/** Leaves of a domain outside `any` sub-domains (what the active_test check looks at). */
export function topLevelFields(node: DomainNode): string[] {
  if (node.kind === 'leaf') return [node.left];
  if (node.kind === 'not') return topLevelFields(node.child);
  if (node.kind === 'and' || node.kind === 'or') return node.children.flatMap(topLevelFields);
  return [];
}

// ----------------------------------------------------------------------------------------------
// Compilation

export interface DomainEnv {
  store: Store;
  /** context.active_test (default true) for x2many sub-searches. */
  activeTest: boolean;
}

/** All ids of `model` matching `node` (with the model's active filter if `activeTest`). */
export function matchIds(env: DomainEnv, model: string, node: DomainNode, activeTest: boolean): Set<number> {
  const def = env.store.model(model);
  const pred = compile(env, def, withActiveTest(def, node, activeTest));
  const out = new Set<number>();
  for (const row of env.store.table(model).values()) if (pred(row)) out.add(row.id);
  return out;
}

/**
 * `_search`'s active_test rule (17.0): on a model with an `active` field, add `active = True`
 * unless the context says active_test=False or the domain already has a leaf on `active`.
 */
export function withActiveTest(def: ModelDef, node: DomainNode, activeTest: boolean): DomainNode {
  if (!activeTest || !def.activeName || topLevelFields(node).includes(def.activeName)) return node;
  const leaf: DomainNode = { kind: 'leaf', left: def.activeName, op: '=', right: true, raw: [def.activeName, '=', true] };
  return { kind: 'and', children: [leaf, node] };
}

export function compile(env: DomainEnv, def: ModelDef, node: DomainNode, negate = false): Predicate {
  switch (node.kind) {
    case 'const':
      return node.value !== negate ? () => true : () => false;
    case 'not':
      return compile(env, def, node.child, !negate);
    case 'and':
    case 'or': {
      const parts = node.children.map((c) => compile(env, def, c, negate));
      const isAnd = (node.kind === 'and') !== negate; // De Morgan
      return isAnd ? (r) => parts.every((p) => p(r)) : (r) => parts.some((p) => p(r));
    }
    case 'leaf':
      return compileLeaf(env, def, node, negate);
  }
}

function compileLeaf(env: DomainEnv, def: ModelDef, leaf: Extract<DomainNode, { kind: 'leaf' }>, negate: boolean): Predicate {
  const path = leaf.left.split('.');
  const field = def.fields[path[0]];
  if (!field) throw valueError(`Invalid field ${def.name}.${path[0]} in leaf ${pyRepr(leaf.raw, true)}`);

  let op = leaf.op;
  let right = leaf.right;
  if (op === '=?') {
    if (right === false || right === null) return negate ? () => false : () => true;
    op = '=';
  }

  if (path.length > 1) {
    if (!field.relation) throw valueError(`Invalid field ${def.name}.${leaf.left} in leaf ${pyRepr(leaf.raw, true)}`);
    // 17.0 rewrites `a.b op v` to `a any [(b, op, v)]`; NOT goes inside, onto the operator.
    const innerOp = negate ? NEGATION[op] : op;
    const inner: DomainNode =
      innerOp === undefined
        ? { kind: 'not', child: { kind: 'leaf', left: path.slice(1).join('.'), op, right, raw: leaf.raw } }
        : { kind: 'leaf', left: path.slice(1).join('.'), op: innerOp, right, raw: leaf.raw };
    return anyPredicate(env, def, field, inner, false);
  }

  if (negate) {
    const neg = NEGATION[op];
    if (neg) op = neg;
    else {
      // No negated operator: SQL `NOT (cond)`, which stays false when the column is NULL.
      const pos = compileLeaf(env, def, leaf, false);
      const getter = valueGetter(env, def, field);
      return (r) => !isEmpty(getter(r), field) && !pos(r);
    }
  }

  if (op === 'any' || op === 'not any') {
    if (!field.relation) throw valueError(`Invalid leaf ${pyRepr(leaf.raw, true)}: ${field.name} is not relational`);
    return anyPredicate(env, def, field, parseDomain(right), op === 'not any');
  }
  if (op === 'child_of' || op === 'parent_of') return hierarchyPredicate(env, def, field, op, right);

  if (field.type === 'many2one' || field.type === 'one2many' || field.type === 'many2many') {
    if (isNameValue(right)) right = Array.from(nameMatch(env, field.relation as string, op, right));
    if (typeof leaf.right === 'string' || (Array.isArray(leaf.right) && leaf.right.some((x) => typeof x === 'string'))) {
      // Name-matched: a positive operator became `in ids`, a negative one `not in ids`.
      op = op === '!=' || op === 'not like' || op === 'not ilike' || op === 'not in' ? 'not in' : 'in';
    }
    if (field.type !== 'many2one') return x2manyPredicate(env, def, field, op, right);
  }
  return scalarPredicate(valueGetter(env, def, field), field, op, right);
}

function isNameValue(v: Json): v is string | string[] {
  return typeof v === 'string' || (Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === 'string'));
}

type Getter = (r: Row) => StoredValue;

function valueGetter(env: DomainEnv, def: ModelDef, field: FieldDef): Getter {
  const name = field.name;
  if (field.store && name !== 'display_name') return (r) => (r[name] ?? null) as StoredValue;
  if (field.type === 'one2many') return (r) => env.store.children(field.relation as string, field.relationField as string, r.id);
  return (r) => env.store.registry.value(def, field, r, env.store);
}

function isEmpty(v: StoredValue, field: FieldDef): boolean {
  if (field.type === 'boolean') return false;
  return v === null || v === false || (Array.isArray(v) && v.length === 0);
}

// --- scalar leaves ----------------------------------------------------------------------------

function coerce(field: FieldDef, v: Json): StoredValue {
  if (v === null || v === false) return null;
  switch (field.type) {
    case 'integer':
    case 'float':
    case 'monetary':
    case 'many2one':
      return typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' && !Number.isNaN(Number(v)) ? Number(v) : (v as StoredValue);
    case 'boolean':
      return Boolean(v);
    case 'datetime':
      if (typeof v === 'string') {
        try {
          return toOdooDatetime(parseOdooDatetime(v)); // '2025-01-01' means midnight; '.5' means '.500'
        } catch {
          return v;
        }
      }
      return v as StoredValue;
    default:
      return Array.isArray(v) ? (v as StoredValue) : typeof v === 'object' ? null : v;
  }
}

function compareValues(a: StoredValue, b: StoredValue): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  if (typeof a === 'boolean' || typeof b === 'boolean') return Number(a) - Number(b);
  const sa = String(a);
  const sb = String(b);
  return sa < sb ? -1 : sa > sb ? 1 : 0;
}

/** SQL LIKE pattern → RegExp (`%` any run, `_` one char, `\` escapes). */
export function likeRegExp(pattern: string, insensitive: boolean): RegExp {
  let src = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '\\' && i + 1 < pattern.length) src += pattern[++i].replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    else if (c === '%') src += '.*';
    else if (c === '_') src += '.';
    else src += c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  }
  return new RegExp(`^${src}$`, insensitive ? 'is' : 's');
}

function scalarPredicate(get: Getter, field: FieldDef, op: string, right: Json): Predicate {
  const isBool = field.type === 'boolean';
  const nullish = (v: StoredValue): boolean => v === null || (isBool && v !== true);

  if (op === 'in' || op === 'not in') {
    const list = Array.isArray(right) ? right : [right];
    const withFalse = list.some((x) => x === false || x === null);
    const set = new Set(list.filter((x) => x !== false && x !== null).map((x) => coerce(field, x)));
    if (op === 'in') return (r) => (nullish(get(r)) ? withFalse || (isBool && set.has(false)) : set.has(get(r)));
    return (r) => (nullish(get(r)) ? !withFalse && !(isBool && set.has(false)) : !set.has(get(r)));
  }

  if (op.endsWith('like')) {
    const positive = !op.startsWith('not ');
    const base = positive ? op : op.slice(4);
    if (right === false || right === null) return positive ? (r) => nullish(get(r)) : (r) => !nullish(get(r));
    const raw = String(right);
    const re = likeRegExp(base.startsWith('=') ? raw : `%${raw}%`, base.endsWith('ilike'));
    return positive ? (r) => !nullish(get(r)) && re.test(String(get(r))) : (r) => nullish(get(r)) || !re.test(String(get(r)));
  }

  const value = coerce(field, right);
  if (op === '=') {
    if (value === null) return (r) => nullish(get(r));
    if (isBool) return value ? (r) => get(r) === true : (r) => get(r) !== true;
    return (r) => {
      const v = get(r);
      return v !== null && compareValues(v, value) === 0;
    };
  }
  if (op === '!=') {
    if (value === null) return (r) => !nullish(get(r));
    if (isBool) return value ? (r) => get(r) !== true : (r) => get(r) === true;
    return (r) => {
      const v = get(r);
      return v === null || compareValues(v, value) !== 0;
    };
  }
  if (value === null) return () => false; // `amount > False`: NULL comparison
  const test: (c: number) => boolean = op === '<' ? (c) => c < 0 : op === '<=' ? (c) => c <= 0 : op === '>' ? (c) => c > 0 : (c) => c >= 0;
  return (r) => {
    const v = get(r);
    return v !== null && test(compareValues(v, value));
  };
}

// --- relational leaves ------------------------------------------------------------------------

/** Comodel ids whose display name matches `value` under `op` (the positive form is used). */
function nameMatch(env: DomainEnv, comodel: string, op: string, value: string | string[]): Set<number> {
  const def = env.store.model(comodel);
  const values = Array.isArray(value) ? value : [value];
  const base = positiveNameOperator(op);
  const tests = values.map((v): ((s: string) => boolean) => {
    if (base === '=') return (s) => s === v;
    const re = likeRegExp(base.startsWith('=') ? v : `%${v}%`, base.endsWith('ilike'));
    return (s) => re.test(s);
  });
  const recField = def.recName ? def.fields[def.recName] : undefined;
  const out = new Set<number>();
  for (const row of env.store.table(comodel).values()) {
    const names = [env.store.displayName(comodel, row.id)];
    if (recField?.store) {
      const rec = row[recField.name];
      if (typeof rec === 'string') names.push(rec);
    }
    if (tests.some((t) => names.some((n) => t(n)))) out.add(row.id);
  }
  return out;
}

/** '!=' / 'in' / 'not in' compare names exactly; 'not like' matches like 'like' and is negated later. */
function positiveNameOperator(op: string): string {
  if (op === '!=' || op === 'in' || op === 'not in' || op === '=') return '=';
  return op.startsWith('not ') ? op.slice(4) : op;
}

function anyPredicate(env: DomainEnv, def: ModelDef, field: FieldDef, sub: DomainNode, negated: boolean): Predicate {
  const comodel = field.relation as string;
  // 17.0: many2one sub-queries run with active_test=False; x2many ones with the caller's context.
  const ids = matchIds(env, comodel, sub, field.type === 'many2one' ? false : env.activeTest);
  if (field.type === 'many2one') {
    return negated ? (r) => typeof r[field.name] !== 'number' || !ids.has(r[field.name] as number) : (r) => ids.has(r[field.name] as number);
  }
  if (field.type === 'one2many') {
    const parents = new Set<number>();
    for (const id of ids) {
      const p = env.store.row(comodel, id)?.[field.relationField as string];
      if (typeof p === 'number') parents.add(p);
    }
    return negated ? (r) => !parents.has(r.id) : (r) => parents.has(r.id);
  }
  const get = valueGetter(env, def, field);
  const hit = (r: Row): boolean => {
    const v = get(r);
    return Array.isArray(v) && v.some((x) => ids.has(x));
  };
  return negated ? (r) => !hit(r) : hit;
}

function x2manyPredicate(env: DomainEnv, def: ModelDef, field: FieldDef, op: string, right: Json): Predicate {
  const get = valueGetter(env, def, field);
  const list = (r: Row): number[] => {
    const v = get(r);
    return Array.isArray(v) ? v : [];
  };
  if ((op === '=' || op === '!=') && (right === false || right === null)) {
    return op === '=' ? (r) => list(r).length === 0 : (r) => list(r).length > 0;
  }
  if (op === '=' || op === 'in' || op === '!=' || op === 'not in') {
    const wanted = new Set((Array.isArray(right) ? right : [right]).filter((x): x is number => typeof x === 'number'));
    const hit = (r: Row): boolean => list(r).some((x) => wanted.has(x));
    return op === '=' || op === 'in' ? hit : (r) => !hit(r);
  }
  throw valueError(`Invalid leaf ${pyRepr([field.name, op, right], true)}: operator not supported on ${field.type}`);
}

function hierarchyPredicate(env: DomainEnv, def: ModelDef, field: FieldDef, op: 'child_of' | 'parent_of', right: Json): Predicate {
  const comodel = field.name === 'id' ? def.name : field.relation;
  if (!comodel) throw valueError(`Invalid leaf ${pyRepr([field.name, op, right], true)}`);
  const co = env.store.model(comodel);
  let base: number[];
  if (isNameValue(right)) base = Array.from(nameMatch(env, comodel, 'ilike', right));
  else base = (Array.isArray(right) ? right : [right]).filter((x): x is number => typeof x === 'number');
  const ids = new Set<number>(base);
  const parentName = co.parentName;
  if (parentName) {
    if (op === 'child_of') {
      const idx = env.store.index(comodel, parentName);
      const queue = [...base];
      while (queue.length) {
        for (const child of idx.get(queue.pop() as number) ?? []) {
          if (!ids.has(child)) {
            ids.add(child);
            queue.push(child);
          }
        }
      }
    } else {
      for (const start of base) {
        let cur = env.store.row(comodel, start)?.[parentName];
        while (typeof cur === 'number' && !ids.has(cur)) {
          ids.add(cur);
          cur = env.store.row(comodel, cur)?.[parentName];
        }
      }
    }
  }
  if (field.name === 'id') return (r) => ids.has(r.id);
  if (field.type === 'many2one') return (r) => ids.has(r[field.name] as number);
  const get = valueGetter(env, def, field);
  return (r) => {
    const v = get(r);
    return Array.isArray(v) && v.some((x) => ids.has(x));
  };
}
