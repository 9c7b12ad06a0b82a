// RPC services as dispatched by Odoo 17 odoo/http.py dispatch_rpc: `common`, `db`, `object`.
import { OdooError, accessDenied, userError } from './errors';
import { Ctx, Env, Registry } from './store';
import { nowMicros } from './model';
import { XValue, pyRepr } from './xmlrpc';

export interface RpcOptions {
  unknownModel: 'empty' | 'fault';
}

export interface CallInfo {
  db?: string;
  uid?: number;
  model?: string;
  /** model method for object calls (search_read, ...) */
  modelMethod?: string;
  args?: XValue[];
  kwargs?: Record<string, XValue>;
}

export const VERSION = {
  server_version: '17.0',
  server_version_info: [17, 0, 0, 'final', 0, ''] as XValue[],
  server_serie: '17.0',
  protocol_version: 1,
};

function typeError(msg: string): OdooError {
  return new OdooError('builtins.TypeError', msg);
}

/** Python-style binding of positional + keyword arguments against a signature. */
function bind(
  fname: string,
  sig: Array<[string, XValue | undefined]>, // [name, default]; undefined default = required
  args: XValue[],
  kwargs: Record<string, XValue>,
  extraKw: string[] = [],
): Record<string, XValue | undefined> {
  if (args.length > sig.length) {
    throw typeError(`${fname}() takes from 1 to ${sig.length + 1} positional arguments but ${args.length + 1} were given`);
  }
  const out: Record<string, XValue | undefined> = {};
  sig.forEach(([name], i) => {
    if (i < args.length) out[name] = args[i];
  });
  for (const [key, v] of Object.entries(kwargs)) {
    const known = sig.some(([n]) => n === key);
    if (!known && !extraKw.includes(key)) throw typeError(`${fname}() got an unexpected keyword argument '${key}'`);
    if (key in out) throw typeError(`${fname}() got multiple values for argument '${key}'`);
    out[key] = v;
  }
  for (const [name, def] of sig) {
    if (!(name in out)) {
      if (def === undefined) throw typeError(`${fname}() missing 1 required positional argument: '${name}'`);
      out[name] = def;
    }
  }
  return out;
}

function asIds(v: XValue | undefined): number[] {
  if (typeof v === 'number') return [v];
  if (v === false || v === null || v === undefined) return [];
  if (Array.isArray(v) && v.every((x) => typeof x === 'number')) return v as number[];
  throw typeError(`browse() expects ids, got ${pyRepr(v)}`);
}

function asInt(v: XValue | undefined, name: string): number | null {
  if (v === null || v === undefined || v === false) return null;
  if (typeof v === 'number' && Number.isInteger(v)) return v;
  throw typeError(`'${name}' must be an integer, got ${pyRepr(v)}`);
}

function asOrder(v: XValue | undefined): string | null {
  if (v === null || v === undefined || v === false || v === '') return null;
  if (typeof v === 'string') return v;
  throw typeError(`order must be a string, got ${pyRepr(v)}`);
}

export class Rpc {
  constructor(
    readonly registry: Registry,
    readonly options: RpcOptions,
  ) {}

  private database(name: XValue | undefined) {
    const db = typeof name === 'string' ? this.registry.dbs.get(name) : undefined;
    if (!db) {
      // odoo.registry(db) on a missing database: psycopg2 refuses the connection
      throw new OdooError(
        'psycopg2.OperationalError',
        `connection to server at "localhost" (127.0.0.1), port 5432 failed: FATAL:  database "${String(name)}" does not exist\n`,
      );
    }
    return db;
  }

  dispatch(service: string, method: string, params: XValue[], info: CallInfo): XValue {
    switch (service) {
      case 'common':
        return this.common(method, params);
      case 'db':
        return this.dbService(method, params);
      case 'object':
        return this.object(method, params, info);
      default:
        throw new OdooError('builtins.KeyError', pyRepr(service));
    }
  }

  private common(method: string, params: XValue[]): XValue {
    switch (method) {
      case 'version':
        return { ...VERSION };
      case 'login': {
        if (params.length !== 3) throw typeError(`exp_login() takes 3 positional arguments but ${params.length} were given`);
        return this.authenticate(params[0], params[1], params[2]);
      }
      case 'authenticate': {
        if (params.length !== 4) {
          throw typeError(
            params.length < 4
              ? `exp_authenticate() missing ${4 - params.length} required positional argument(s)`
              : `exp_authenticate() takes 4 positional arguments but ${params.length} were given`,
          );
        }
        return this.authenticate(params[0], params[1], params[2]);
      }
      default:
        throw new OdooError('builtins.Exception', `Method not found: ${method}`);
    }
  }

  private dbService(method: string, params: XValue[]): XValue {
    if (method === 'list') return [...this.registry.dbs.keys()].sort();
    if (method === 'server_version') return VERSION.server_version;
    if (method === 'db_exist') return this.registry.dbs.has(String(params[0]));
    throw new OdooError('builtins.KeyError', pyRepr(`exp_${method}`));
  }

  /** Returns the uid or false; bad credentials are not a fault (exp_authenticate catches AccessDenied). */
  authenticate(dbName: XValue | undefined, login: XValue | undefined, password: XValue | undefined): number | false {
    const db = this.database(dbName);
    const resUsers = db.table('res.users');
    for (const user of db.users.values()) {
      const row = resUsers.get(user.uid);
      if (!row || row.active !== true || user.login !== login) continue;
      if (password === user.password || (user.apiKey !== undefined && password === user.apiKey)) return user.uid;
    }
    return false;
  }

  private check(dbName: XValue | undefined, uid: XValue | undefined, password: XValue | undefined) {
    const db = this.database(dbName);
    const n = typeof uid === 'number' ? uid : uid === false ? 0 : Number(uid);
    const user = db.users.get(n);
    const row = user ? db.table('res.users').get(n) : undefined;
    if (!user || !row || row.active !== true || !(password === user.password || (user.apiKey !== undefined && password === user.apiKey))) {
      throw accessDenied();
    }
    return { db, uid: n };
  }

  private object(method: string, params: XValue[], info: CallInfo): XValue {
    if (method !== 'execute' && method !== 'execute_kw') throw new OdooError('builtins.NameError', `Method not available ${method}`);
    if (params.length < 3) throw new OdooError('builtins.IndexError', 'tuple index out of range');
    const { db, uid } = this.check(params[0], params[1], params[2]);
    info.db = db.name;
    info.uid = uid;
    let modelName: XValue;
    let modelMethod: XValue;
    let args: XValue[];
    let kwargs: Record<string, XValue>;
    if (method === 'execute_kw') {
      if (params.length < 6) throw typeError(`execute_kw() missing ${6 - params.length} required positional argument(s)`);
      if (params.length > 7) throw typeError(`execute_kw() takes from 5 to 6 positional arguments but ${params.length - 1} were given`);
      [, , , modelName, modelMethod] = params;
      const a = params[5];
      if (!Array.isArray(a)) throw typeError(`execute_kw() argument after * must be an iterable, not ${pyRepr(a)}`);
      args = a;
      const kw = params[6];
      if (kw !== undefined && kw !== null && kw !== false && (typeof kw !== 'object' || Array.isArray(kw))) {
        throw typeError(`execute_kw() argument after ** must be a mapping, not ${Array.isArray(kw) ? 'list' : typeof kw}`);
      }
      kwargs = (kw as Record<string, XValue>) || {};
    } else {
      if (params.length < 5) throw typeError('execute() missing required positional arguments');
      [, , , modelName, modelMethod] = params;
      args = params.slice(5);
      kwargs = {};
    }
    if (typeof modelName !== 'string' || typeof modelMethod !== 'string') throw typeError('model and method must be strings');
    info.model = modelName;
    info.modelMethod = modelMethod;
    info.args = args;
    info.kwargs = kwargs;
    if (modelMethod.startsWith('_')) {
      throw new OdooError('odoo.exceptions.AccessError', `Private methods (such as ${modelMethod}) cannot be called remotely.`);
    }
    const model = this.registry.models.get(modelName);
    if (!model) {
      if (modelMethod === 'fields_get' && this.options.unknownModel === 'empty') return {};
      throw userError(`Object ${modelName} doesn't exist`);
    }
    const { context, ...kw } = kwargs;
    const ctx: Ctx = { active_test: true };
    if (context && typeof context === 'object' && !Array.isArray(context)) Object.assign(ctx, context);
    const env = new Env(this.registry, db, uid, nowMicros(), ctx, false);
    return this.callKw(env, modelName, modelMethod, args, kw);
  }

  private callKw(env: Env, model: string, method: string, args: XValue[], kw: Record<string, XValue>): XValue {
    switch (method) {
      case 'search': {
        const b = bind('search', [['domain', undefined], ['offset', 0], ['limit', null], ['order', null]], args, kw);
        return env
          .searchRows(model, b.domain ?? [], { offset: asInt(b.offset, 'offset') ?? 0, limit: asInt(b.limit, 'limit'), order: asOrder(b.order) })
          .map((r) => r.id);
      }
      case 'search_count': {
        const b = bind('search_count', [['domain', undefined], ['limit', null]], args, kw);
        return env.searchRows(model, b.domain ?? [], { limit: asInt(b.limit, 'limit') }).length;
      }
      case 'search_read': {
        const b = bind('search_read', [['domain', null], ['fields', null], ['offset', 0], ['limit', null], ['order', null]], args, kw, ['load']);
        const m = env.model(model);
        env.checkAccess(m, 'read');
        // search_fetch: the domain and order are compiled before the field names are checked
        const rows = env.searchRows(model, b.domain || [], {
          offset: asInt(b.offset, 'offset') ?? 0,
          limit: asInt(b.limit, 'limit'),
          order: asOrder(b.order),
        });
        return env.readRows(m, rows, env.checkFieldNames(m, b.fields));
      }
      case 'read': {
        if (args.length < 1) throw typeError('read() missing 1 required positional argument: ids');
        const b = bind('read', [['fields', null], ['load', '_classic_read']], args.slice(1), kw);
        return env.read(model, asIds(args[0]), b.fields);
      }
      case 'fields_get': {
        const b = bind('fields_get', [['allfields', null], ['attributes', null]], args, kw);
        return env.fieldsGet(model, b.allfields, b.attributes);
      }
      case 'create': {
        const b = bind('create', [['vals_list', undefined]], args, kw);
        const v = b.vals_list;
        if (Array.isArray(v)) return env.create(model, v as Array<Record<string, XValue>>);
        const [id] = env.create(model, [v as Record<string, XValue>]);
        return id;
      }
      case 'write': {
        if (args.length < 1) throw typeError('write() missing 1 required positional argument: ids');
        const b = bind('write', [['vals', undefined]], args.slice(1), kw);
        return env.write(model, asIds(args[0]), b.vals as Record<string, XValue>);
      }
      case 'unlink': {
        if (args.length < 1) throw typeError('unlink() missing 1 required positional argument: ids');
        bind('unlink', [], args.slice(1), kw);
        return env.unlink(model, asIds(args[0]));
      }
      case 'check_access_rights': {
        // the first call of the documentation's "Calling methods" section
        const b = bind('check_access_rights', [['operation', undefined], ['raise_exception', true]], args, kw);
        const op = b.operation;
        if (op !== 'read' && op !== 'write' && op !== 'create' && op !== 'unlink') {
          throw new OdooError('builtins.KeyError', pyRepr(op));
        }
        const m = env.model(model);
        if (b.raise_exception === false) return env.hasAccess(m, op);
        env.checkAccess(m, op);
        return true;
      }
      default:
        throw new OdooError('builtins.AttributeError', `The method '${method}' does not exist on the model '${model}'`);
    }
  }
}
