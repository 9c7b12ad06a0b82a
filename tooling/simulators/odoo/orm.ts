// The ORM methods reachable over the external API, and how arguments reach them.
//
// execute_kw(db, uid, pwd, model, method, args, kwargs) is odoo/api.py call_kw: the model must
// exist (else UserError "Object x doesn't exist", faultCode 2), the method must be public
// (else AccessError "Private methods ... cannot be called remotely") and exist (else
// AttributeError), `context` is popped from kwargs, non-@api.model methods take their ids from
// args[0], and the rest binds to the Python signature with Python's TypeError texts.
// JSON-2 binds named arguments only, with inspect.Signature.bind's texts, and maps binding
// problems to 422 and a missing model/method to 404 (addons/rpc/controllers/json2.py).
//
// Value encoding (BaseModel.read / _read_format, Field.convert_to_read):
//   many2one → [id, display_name] (or the bare id with load=None) or False; x2many → [ids];
//   char/text/html/selection/date/datetime/json/binary → False when empty; integer → 0,
//   float/monetary → 0.0 (a Python float, XML-RPC <double>); boolean → True/False;
//   datetime → 'YYYY-MM-DD HH:MM:SS' (UTC, seconds); `id` always first.

import { attributeError, httpError, indexError, OdooException, typeError, userError, valueError } from './errors';
import { compile, matchIds, parseDomain, withActiveTest } from './domain';
import { FieldDef, ModelDef } from './models';
import { sortedRows } from './order';
import { pyRepr } from './pyFormat';
import { checkAccess, mayAccess, modelAccessError, Operation, SimUser } from './security';
import { missingRecords, Store, Transaction, Vals } from './store';
import { Context, isJsonObject, Json, JsonObject, PyFloat, pyTruthy, Row, RpcStruct, RpcValue } from './types';

export interface CallEnv {
  store: Store;
  user: SimUser;
  context: Context;
  /** Run `fn` in a new transaction of this user, started and committed now (RPC writes). */
  transact<T>(fn: (tx: Transaction) => T): T;
  /** Called with the number of records a read returned (statistics). */
  countRecords?(n: number): void;
}

type Args = { [name: string]: Json };

interface Param {
  name: string;
  default?: Json;
}

interface MethodSpec {
  name: string;
  /** Python qualname of the class that defines it (for TypeError texts). */
  owner: string;
  apiModel: boolean;
  params: Param[];
  /** Extra keyword arguments forwarded elsewhere (search_read → _read_format(load=...)). */
  kwForward?: { to: string; names: string[] };
  access: Operation | null;
  onlyModels?: string[];
  sinceMajor?: number;
  untilMajor?: number;
  impl(env: CallEnv, def: ModelDef, ids: number[], a: Args): RpcValue;
}

const REQUIRED = Symbol('required');
const p = (name: string, def: Json | typeof REQUIRED = REQUIRED): Param => (def === REQUIRED ? { name } : { name, default: def });

// ----------------------------------------------------------------------------------------------
// Search and read

function activeTest(ctx: Context): boolean {
  return ctx.active_test === undefined ? true : pyTruthy(ctx.active_test);
}

function asInt(v: Json, what: string): number | null {
  if (v === null || v === false || v === undefined) return null;
  if (typeof v === 'number' && Number.isFinite(v)) return Math.trunc(v);
  if (typeof v === 'string' && /^\s*-?\d+\s*$/.test(v)) return parseInt(v, 10);
  throw typeError(`'${what}' must be an integer, not ${pyRepr(v)}`);
}

function asOrder(v: Json): string | null {
  if (v === null || v === false || v === undefined || v === '') return null;
  if (typeof v !== 'string') throw typeError(`order must be a string, not ${pyRepr(v)}`);
  return v;
}

/** search(): the matching rows, sorted, offset/limit applied (limit 0/None/False = no limit). */
export function searchRows(env: CallEnv, def: ModelDef, domain: Json, offset: Json, limit: Json, order: Json): Row[] {
  const node = withActiveTest(def, parseDomain(domain), activeTest(env.context));
  const pred = compile({ store: env.store, activeTest: activeTest(env.context) }, def, node);
  const off = Math.max(0, asInt(offset, 'offset') ?? 0);
  const lim = pyTruthy(limit) ? asInt(limit, 'limit') : null;
  const rows = sortedRows(env.store, def, asOrder(order));
  const out: Row[] = [];
  let seen = 0;
  for (const row of rows) {
    if (!pred(row)) continue;
    if (seen++ < off) continue;
    out.push(row);
    if (lim !== null && out.length >= lim) break;
  }
  return out;
}

function countRows(env: CallEnv, def: ModelDef, domain: Json, limit: Json): number {
  const node = parseDomain(domain);
  const n = matchIds({ store: env.store, activeTest: activeTest(env.context) }, def.name, node, activeTest(env.context)).size;
  const lim = pyTruthy(limit) ? asInt(limit, 'limit') : null;
  return lim === null ? n : Math.min(n, lim);
}

function fieldList(def: ModelDef, fields: Json): FieldDef[] {
  if (!pyTruthy(fields)) return Object.values(def.fields).filter((f) => f.name !== 'id');
  const names = Array.isArray(fields) ? fields : [fields];
  const out: FieldDef[] = [];
  for (const n of names) {
    if (n === 'id') continue;
    const f = typeof n === 'string' ? def.fields[n] : undefined;
    if (!f) throw valueError(`Invalid field ${pyRepr(n)} on model ${pyRepr(def.name)}`);
    if (!out.includes(f)) out.push(f);
  }
  return out;
}

function jsonToRpc(v: Json): RpcValue {
  if (v === null) return false;
  if (Array.isArray(v)) return v.map(jsonToRpc);
  if (typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, jsonToRpc(x)]));
  return v;
}

/** Field.convert_to_read for one cell. */
export function encodeField(store: Store, def: ModelDef, f: FieldDef, row: Row, classicLoad: boolean): RpcValue {
  const v = f.store && f.name !== 'display_name' ? row[f.name] ?? null : store.registry.value(def, f, row, store);
  switch (f.type) {
    case 'boolean':
      return v === true;
    case 'integer':
      return typeof v === 'number' ? v : 0;
    case 'float':
    case 'monetary':
      return new PyFloat(typeof v === 'number' ? v : 0);
    case 'datetime':
      return typeof v === 'string' ? v.slice(0, 19) : false;
    case 'many2one': {
      if (typeof v !== 'number') return false;
      if (!classicLoad) return v;
      if (!store.row(f.relation as string, v)) return false; // dangling: MissingError caught → False
      return [v, store.displayName(f.relation as string, v)];
    }
    case 'one2many':
    case 'many2many':
      return Array.isArray(v) ? [...v] : [];
    case 'json':
      return isJsonObject(v) ? jsonToRpc(v) : false;
    default:
      return typeof v === 'string' ? v : v === null ? false : String(v);
  }
}

export function readRows(env: CallEnv, def: ModelDef, rows: Row[], fields: Json, load: Json): RpcStruct[] {
  const list = fieldList(def, fields);
  const classic = load === undefined ? true : pyTruthy(load);
  env.countRecords?.(rows.length);
  return rows.map((row) => {
    const rec: RpcStruct = { id: row.id };
    for (const f of list) rec[f.name] = encodeField(env.store, def, f, row, classic);
    return rec;
  });
}

function browse(env: CallEnv, def: ModelDef, ids: number[]): Row[] {
  const rows = ids.map((id) => env.store.row(def.name, id));
  const missing = ids.filter((_id, i) => !rows[i]);
  if (missing.length) throw missingRecords(def.name, missing, env.user.uid);
  return rows as Row[];
}

// ----------------------------------------------------------------------------------------------
// fields_get

function describe(def: ModelDef, f: FieldDef): RpcStruct {
  const d: RpcStruct = {
    type: f.type,
    string: f.string,
    name: f.name,
    store: f.store,
    readonly: f.readonly,
    required: f.required,
    searchable: true,
    sortable: f.sortable && f.type !== 'one2many' && f.type !== 'many2many',
    groupable: f.store && f.type !== 'one2many' && f.type !== 'binary',
    manual: false,
    company_dependent: f.companyDependent ?? false,
    change_default: false,
    exportable: true,
    depends: f.related ? [f.related] : [],
  };
  if (f.help) d.help = f.help;
  if (f.related) d.related = f.related;
  if (f.relation) {
    d.relation = f.relation;
    d.domain = [];
    d.context = {};
  }
  if (f.relationField) d.relation_field = f.relationField;
  if (f.selection) d.selection = f.selection.map(([k, l]) => [k, l]);
  if (f.type === 'char' || f.type === 'text' || f.type === 'html') d.translate = f.translate ?? false;
  if (f.type === 'monetary') d.currency_field = def.fields.currency_id ? 'currency_id' : 'company_currency_id';
  return d;
}

function fieldsGet(def: ModelDef, allfields: Json, attributes: Json): RpcStruct {
  const wanted = pyTruthy(allfields) && Array.isArray(allfields) ? new Set(allfields.filter((x): x is string => typeof x === 'string')) : null;
  const attrs = pyTruthy(attributes) && Array.isArray(attributes) ? new Set(attributes.filter((x): x is string => typeof x === 'string')) : null;
  const out: RpcStruct = {};
  for (const f of Object.values(def.fields)) {
    if (wanted && !wanted.has(f.name)) continue;
    const d = describe(def, f);
    out[f.name] = attrs ? Object.fromEntries(Object.entries(d).filter(([k]) => attrs.has(k))) : d;
  }
  return out;
}

// ----------------------------------------------------------------------------------------------
// Method table

/** name_search: `_rec_name` matched with `operator`, AND the extra domain; [[id, display_name]]. */
function nameSearch(env: CallEnv, def: ModelDef, name: Json, extra: Json, operator: Json, limit: Json): RpcValue {
  const op = typeof operator === 'string' ? operator : 'ilike';
  const domain: Json[] = Array.isArray(extra) ? [...extra] : [];
  if (typeof name === 'string' && name !== '' && def.recName) domain.unshift([def.recName, op, name]);
  return searchRows(env, def, domain, 0, limit, null).map((r) => [r.id, env.store.displayName(def.name, r.id)]);
}

function valsOf(v: Json): Vals {
  if (!isJsonObject(v)) throw valueError(`Invalid values ${pyRepr(v)}`);
  return v as JsonObject;
}

const METHODS: MethodSpec[] = [
  {
    name: 'search_read',
    owner: 'BaseModel',
    apiModel: true,
    params: [p('domain', null), p('fields', null), p('offset', 0), p('limit', null), p('order', null)],
    kwForward: { to: 'BaseModel._read_format', names: ['load'] },
    access: 'read',
    impl: (env, def, _ids, a) => readRows(env, def, searchRows(env, def, a.domain, a.offset, a.limit, a.order), a.fields, a.load),
  },
  {
    name: 'search',
    owner: 'BaseModel',
    apiModel: true,
    params: [p('domain'), p('offset', 0), p('limit', null), p('order', null)],
    access: 'read',
    impl: (env, def, _ids, a) => searchRows(env, def, a.domain, a.offset, a.limit, a.order).map((r) => r.id),
  },
  {
    name: 'search_count',
    owner: 'BaseModel',
    apiModel: true,
    params: [p('domain'), p('limit', null)],
    access: 'read',
    impl: (env, def, _ids, a) => countRows(env, def, a.domain, a.limit),
  },
  {
    name: 'read',
    owner: 'BaseModel',
    apiModel: false,
    params: [p('fields', null), p('load', '_classic_read')],
    access: 'read',
    impl: (env, def, ids, a) => {
      fieldList(def, a.fields); // invalid field names fail before missing records, as in Odoo
      return readRows(env, def, browse(env, def, ids), a.fields, a.load);
    },
  },
  {
    name: 'fields_get',
    owner: 'BaseModel',
    apiModel: true,
    params: [p('allfields', null), p('attributes', null)],
    access: null,
    impl: (_env, def, _ids, a) => fieldsGet(def, a.allfields, a.attributes),
  },
  // 17: name_search(name, args, operator, limit); 18 renamed `args` to `domain`.
  ...(['args', 'domain'] as const).map(
    (extraName, i): MethodSpec => ({
      name: 'name_search',
      owner: 'BaseModel',
      apiModel: true,
      params: [p('name', ''), p(extraName, null), p('operator', 'ilike'), p('limit', 100)],
      ...(i === 0 ? { untilMajor: 17 } : { sinceMajor: 18 }),
      access: 'read',
      impl: (env, def, _ids, a) => nameSearch(env, def, a.name, a[extraName], a.operator, a.limit),
    }),
  ),
  {
    name: 'check_access_rights',
    owner: 'BaseModel',
    apiModel: true,
    params: [p('operation'), p('raise_exception', true)],
    access: null,
    untilMajor: 18,
    impl: (env, def, _ids, a) => {
      const op = String(a.operation) as Operation;
      if (!['read', 'write', 'create', 'unlink'].includes(op)) throw valueError(`Invalid access mode ${pyRepr(a.operation)}`);
      if (mayAccess(env.user, def.name, op)) return true;
      if (pyTruthy(a.raise_exception)) throw modelAccessError(def, op);
      return false;
    },
  },
  {
    name: 'has_access',
    owner: 'BaseModel',
    apiModel: false,
    params: [p('operation')],
    access: null,
    sinceMajor: 18,
    impl: (env, def, _ids, a) => mayAccess(env.user, def.name, String(a.operation) as Operation),
  },
  {
    name: 'context_get',
    owner: 'Users',
    apiModel: true,
    params: [],
    access: null,
    onlyModels: ['res.users'],
    impl: (env) => {
      const row = env.store.row('res.users', env.user.uid);
      return { lang: typeof row?.lang === 'string' ? row.lang : 'en_US', tz: typeof row?.tz === 'string' ? row.tz : false, uid: env.user.uid };
    },
  },
  {
    name: 'create',
    owner: 'BaseModel',
    apiModel: true,
    params: [p('vals_list')],
    access: 'create',
    impl: (env, def, _ids, a) =>
      env.transact((tx) => {
        if (Array.isArray(a.vals_list)) return a.vals_list.map((v) => tx.create(def.name, valsOf(v)));
        return tx.create(def.name, valsOf(a.vals_list));
      }),
  },
  {
    name: 'write',
    owner: 'BaseModel',
    apiModel: false,
    params: [p('vals')],
    access: 'write',
    impl: (env, def, ids, a) =>
      env.transact((tx) => {
        tx.write(def.name, ids, valsOf(a.vals));
        return true;
      }),
  },
  {
    name: 'unlink',
    owner: 'BaseModel',
    apiModel: false,
    params: [],
    access: 'unlink',
    impl: (env, def, ids) =>
      env.transact((tx) => {
        tx.unlink(def.name, ids);
        return true;
      }),
  },
];

function methodFor(env: CallEnv, def: ModelDef, name: string): MethodSpec | undefined {
  const major = env.store.major;
  return METHODS.find(
    (m) =>
      m.name === name &&
      (!m.onlyModels || m.onlyModels.includes(def.name)) &&
      (m.sinceMajor === undefined || major >= m.sinceMajor) &&
      (m.untilMajor === undefined || major <= m.untilMajor),
  );
}

// ----------------------------------------------------------------------------------------------
// Argument binding with Python's messages

type BindStyle = 'call' | 'signature';

function bind(spec: MethodSpec, method: string, positional: Json[], kwargs: Args, style: BindStyle): Args {
  const qual = `${spec.owner}.${method}()`;
  const fail = (callMsg: string, bindMsg: string): never => {
    throw style === 'call' ? typeError(`${qual} ${callMsg}`) : httpError(422, 'UnprocessableEntity', bindMsg);
  };
  const params = spec.params;
  const required = params.filter((x) => !('default' in x)).length;
  if (positional.length > params.length) {
    // Python counts `self` in both numbers.
    const takes = required === params.length ? `takes ${params.length + 1}` : `takes from ${required + 1} to ${params.length + 1}`;
    fail(`${takes} positional argument${params.length === 0 ? '' : 's'} but ${positional.length + 1} were given`, 'too many positional arguments');
  }
  const args: Args = {};
  positional.forEach((v, i) => (args[params[i].name] = v));
  for (const [k, v] of Object.entries(kwargs)) {
    const known = params.some((x) => x.name === k);
    if (!known) {
      if (spec.kwForward?.names.includes(k)) {
        args[k] = v;
        continue;
      }
      // **read_kwargs binds anything; the TypeError comes from the forwarded call (HTTP 500 on JSON-2).
      if (spec.kwForward) throw typeError(`${spec.kwForward.to}() got an unexpected keyword argument ${pyRepr(k)}`);
      fail(`got an unexpected keyword argument ${pyRepr(k)}`, `got an unexpected keyword argument ${pyRepr(k)}`);
    }
    if (k in args) fail(`got multiple values for argument ${pyRepr(k)}`, `multiple values for argument ${pyRepr(k)}`);
    args[k] = v;
  }
  const missing = params.filter((x) => !('default' in x) && !(x.name in args)).map((x) => pyRepr(x.name));
  if (missing.length) {
    fail(
      `missing ${missing.length} required positional argument${missing.length > 1 ? 's' : ''}: ${missing.join(' and ')}`,
      `missing a required argument: ${missing[0]}`,
    );
  }
  for (const x of params) if (!(x.name in args)) args[x.name] = x.default === undefined ? null : x.default;
  return args;
}

function normalizeIds(v: Json): number[] {
  if (v === null || v === false) return [];
  const list = Array.isArray(v) ? v : [v];
  return list.map((x) => {
    if (typeof x !== 'number' || !Number.isInteger(x)) throw typeError(`ids must be integers, not ${pyRepr(x)}`);
    return x;
  });
}

function privateMethod(method: string): OdooException | null {
  if (!method.startsWith('_')) return null;
  const msg = `Private methods (such as ${pyRepr(method)}) cannot be called remotely.`;
  return new OdooException('odoo.exceptions', 'AccessError', msg, [msg], 4, 403);
}

function run(env: CallEnv, spec: MethodSpec, def: ModelDef, ids: number[], args: Args): RpcValue {
  if (spec.access) checkAccess(env.user, def, spec.access);
  return spec.impl(env, def, ids, args);
}

/** execute_kw / execute (XML-RPC and JSON-RPC object service). */
export function callKw(env: Omit<CallEnv, 'context'>, model: string, method: string, args: Json[], kwargs: Json): RpcValue {
  const def = env.store.registry.get(model);
  if (!def) throw userError(`Object ${model} doesn't exist`);
  const priv = privateMethod(method);
  if (priv) throw priv;
  const kw: Args = isJsonObject(kwargs) ? { ...kwargs } : {};
  const context = isJsonObject(kw.context) ? kw.context : {};
  delete kw.context;
  const callEnv: CallEnv = { ...env, context };
  const spec = methodFor(callEnv, def, method);
  if (!spec) throw attributeError(`The method '${method}' does not exist on the model '${model}'`);
  let positional = args;
  let ids: number[] = [];
  if (!spec.apiModel) {
    if (args.length === 0) throw indexError('list index out of range');
    ids = normalizeIds(args[0]);
    positional = args.slice(1);
  }
  return run(callEnv, spec, def, ids, bind(spec, method, positional, kw, 'call'));
}

/** POST /json/2/<model>/<method> with a JSON object body (Odoo 19). */
export function callJson2(env: Omit<CallEnv, 'context'>, model: string, method: string, body: JsonObject): RpcValue {
  const def = env.store.registry.get(model);
  if (!def) throw httpError(404, 'NotFound', `the model ${pyRepr(model)} does not exist`);
  const priv = privateMethod(method);
  if (priv) throw httpError(404, 'NotFound', priv.message);
  const { ids: rawIds, context: rawContext, ...kwargs } = body;
  const context = isJsonObject(rawContext) ? rawContext : {};
  const callEnv: CallEnv = { ...env, context };
  const spec = methodFor(callEnv, def, method);
  if (!spec) throw httpError(404, 'NotFound', `The method '${method}' does not exist on the model '${model}'`);
  const ids = normalizeIds(rawIds ?? []);
  if (spec.apiModel && ids.length) throw httpError(422, 'UnprocessableEntity', `cannot call ${model}.${method} with ids`);
  return run(callEnv, spec, def, ids, bind(spec, method, [], kwargs, 'signature'));
}
