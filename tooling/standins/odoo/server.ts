// Odoo 17 external-API stand-in: HTTP server (XML-RPC /xmlrpc/2/*, optional JSON-RPC /jsonrpc)
// plus a control API for tests. Node 20 builtins only.
import * as http from 'node:http';
import { AddressInfo, Socket } from 'node:net';
import { OdooError } from './errors';
import { ModelSpec, Row, microsFromDate, nowMicros } from './model';
import { CallInfo, Rpc } from './rpc';
import { Ctx, Database, Env, Registry } from './store';
import {
  MarshalError,
  XBinary,
  XDateTime,
  XDouble,
  XValue,
  XmlRpcParseError,
  decodeMethodCall,
  encodeFault,
  encodeResponse,
  pyFloatRepr,
} from './xmlrpc';

export type { FieldSpec, FieldType, ModelSpec } from './model';
export { XBinary, XDateTime, XDouble } from './xmlrpc';
export type { XValue } from './xmlrpc';

export type Protocol = 'xmlrpc' | 'jsonrpc';

export interface OdooStandinOptions {
  /** default 0 = any free port */
  port?: number;
  /** default 127.0.0.1 */
  host?: string;
  /** default ['xmlrpc'] */
  protocols?: Protocol[];
  /** what fields_get answers for a model that does not exist; default 'empty' ({}) */
  unknownModel?: 'empty' | 'fault';
  /** delay before each HTTP answer; can be changed later through `latencyMs` */
  latencyMs?: number;
  /** database created at start (default 'odoo'); null = none */
  database?: string | null;
  /** how rows equal on every `order` term are ranked: by id (default) or randomly per call */
  tieBreak?: 'id' | 'random';
}

export interface CallRecord {
  at: Date;
  protocol: Protocol;
  service: string;
  /** RPC method: version / authenticate / execute_kw ... */
  method: string;
  db?: string;
  uid?: number;
  model?: string;
  /** model method of an object call: search_read, read, ... */
  modelMethod?: string;
  args: XValue[];
  kwargs?: Record<string, XValue>;
  /** number of rows/ids returned when the result is a list */
  rows?: number;
  result?: XValue;
  fault?: { faultCode: number; faultString: string; name: string; message: string };
}

export interface StoreOpts {
  at?: Date;
  db?: string;
  /** create_uid / write_uid; default 1 (OdooBot) */
  uid?: number;
}

export interface UserSpec {
  db?: string;
  login: string;
  password: string;
  apiKey?: string;
  name?: string;
  deniedModels?: string[];
  active?: boolean;
}

export interface Transaction {
  /** transaction start time (cr.now()) as a Date (microseconds kept internally) */
  readonly startedAt: Date;
  /** reserves the id now; the row becomes visible at commit() */
  create(model: string, values: Record<string, unknown>): number;
  write(model: string, ids: number[], values: Record<string, unknown>): void;
  unlink(model: string, ids: number[]): void;
  commit(): void;
  rollback(): void;
}

export interface OdooStandin {
  readonly url: string;
  readonly port: number;
  latencyMs: number;
  defineModel(name: string, spec: ModelSpec): void;
  addDatabase(name: string): void;
  addUser(spec: UserSpec): number;
  setDeniedModels(uid: number, models: string[], db?: string): void;
  create(model: string, values: Record<string, unknown>, opts?: StoreOpts): number;
  write(model: string, ids: number[], values: Record<string, unknown>, opts?: StoreOpts): void;
  unlink(model: string, ids: number[], opts?: { db?: string }): void;
  /** every row (archived included) as `read` would return it, sorted by id */
  records(model: string, opts?: { db?: string }): Array<Record<string, XValue>>;
  /** write_date / create_date with microseconds, for asserting on the precision the wire hides */
  timestamps(model: string, id: number, opts?: { db?: string }): { create_date: number; write_date: number } | undefined;
  begin(at?: Date, opts?: { db?: string; uid?: number }): Transaction;
  calls(): CallRecord[];
  resetCalls(): void;
  down(): Promise<void>;
  up(): Promise<void>;
  close(): Promise<void>;
}

function sleep(ms: number) {
  return new Promise((r) => setTimeout(r, ms));
}

/** Python's json.dumps-like output: floats keep a decimal point (1.0), as Odoo's JSON-RPC sends them. */
function toJson(v: XValue): string {
  if (v instanceof XDouble) {
    const s = pyFloatRepr(v.value);
    return s === 'nan' ? 'NaN' : s === 'inf' ? 'Infinity' : s === '-inf' ? '-Infinity' : s;
  }
  if (v instanceof XDateTime) return JSON.stringify(v.raw);
  if (v instanceof XBinary) return JSON.stringify(v.base64);
  if (Array.isArray(v)) return '[' + v.map(toJson).join(', ') + ']';
  if (v !== null && typeof v === 'object') {
    return '{' + Object.entries(v).map(([k, x]) => `${JSON.stringify(k)}: ${toJson(x)}`).join(', ') + '}';
  }
  return JSON.stringify(v);
}

/** Internal values from XValue-like JS input of the control API (Dates allowed). */
function controlValues(values: Record<string, unknown>): Record<string, XValue> {
  return values as Record<string, XValue>;
}

class Standin implements OdooStandin {
  readonly registry = new Registry();
  private readonly rpc: Rpc;
  private server: http.Server;
  private readonly sockets = new Set<Socket>();
  private log: CallRecord[] = [];
  private readonly protocols: Set<Protocol>;
  private readonly defaultDb: string | null;
  private listening = false;
  port = 0;
  latencyMs: number;

  constructor(private readonly options: OdooStandinOptions) {
    this.rpc = new Rpc(this.registry, { unknownModel: options.unknownModel ?? 'empty' });
    this.protocols = new Set(options.protocols ?? ['xmlrpc']);
    this.latencyMs = options.latencyMs ?? 0;
    this.registry.tieBreak = options.tieBreak ?? 'id';
    this.defaultDb = options.database === undefined ? 'odoo' : options.database;
    if (this.defaultDb) this.registry.addDatabase(this.defaultDb);
    this.server = this.makeServer();
  }

  get url(): string {
    return `http://${this.options.host ?? '127.0.0.1'}:${this.port}`;
  }

  private makeServer(): http.Server {
    const s = http.createServer((req, res) => {
      void this.handle(req, res).catch((e: unknown) => {
        res.statusCode = 500;
        res.end(String(e));
      });
    });
    s.on('connection', (sock: Socket) => {
      this.sockets.add(sock);
      sock.on('close', () => this.sockets.delete(sock));
    });
    return s;
  }

  async listen(port: number): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, this.options.host ?? '127.0.0.1', () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    this.port = (this.server.address() as AddressInfo).port;
    this.listening = true;
  }

  private async readBody(req: http.IncomingMessage): Promise<string> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  }

  private notFound(res: http.ServerResponse) {
    res.writeHead(404, { 'Content-Type': 'text/html; charset=utf-8' });
    res.end(
      '<!doctype html>\n<html lang=en>\n<title>404 Not Found</title>\n<h1>Not Found</h1>\n' +
        '<p>The requested URL was not found on the server. If you entered the URL manually please check your spelling and try again.</p>\n',
    );
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const body = await this.readBody(req);
    if (this.latencyMs > 0) await sleep(this.latencyMs);
    const path = (req.url ?? '/').split('?')[0];
    const xm = /^\/xmlrpc\/2\/([^/]+)\/?$/.exec(path);
    if (xm && this.protocols.has('xmlrpc')) {
      if (req.method !== 'POST') {
        res.writeHead(405, { 'Content-Type': 'text/html; charset=utf-8', Allow: 'POST' });
        res.end('<!doctype html>\n<title>405 Method Not Allowed</title>\n<h1>Method Not Allowed</h1>\n');
        return;
      }
      res.writeHead(200, { 'Content-Type': 'text/xml; charset=utf-8' });
      res.end(this.handleXmlRpc(xm[1], body));
      return;
    }
    if (path === '/jsonrpc' && this.protocols.has('jsonrpc')) {
      if (req.method !== 'POST') {
        res.writeHead(405, { 'Content-Type': 'text/html; charset=utf-8', Allow: 'POST' });
        res.end('<!doctype html>\n<title>405 Method Not Allowed</title>\n<h1>Method Not Allowed</h1>\n');
        return;
      }
      this.handleJsonRpc(body, res);
      return;
    }
    this.notFound(res);
  }

  private run(protocol: Protocol, service: string, method: string, params: XValue[]): { result?: XValue; error?: OdooError } {
    const info: CallInfo = {};
    const rec: CallRecord = { at: new Date(), protocol, service, method, args: params };
    this.log.push(rec);
    try {
      const result = this.rpc.dispatch(service, method, params, info);
      Object.assign(rec, info);
      rec.args = info.args ?? params;
      rec.result = result;
      if (Array.isArray(result)) rec.rows = result.length;
      return { result };
    } catch (e) {
      Object.assign(rec, info);
      rec.args = info.args ?? params;
      const err = e instanceof OdooError ? e : new OdooError('builtins.Exception', e instanceof Error ? e.message : String(e));
      rec.fault = { faultCode: err.faultCode, faultString: err.faultString, name: err.exc, message: err.message };
      return { error: err };
    }
  }

  private handleXmlRpc(service: string, body: string): string {
    let call;
    try {
      call = decodeMethodCall(body);
    } catch (e) {
      const msg = e instanceof XmlRpcParseError ? e.message : String(e);
      const err = new OdooError('xml.parsers.expat.ExpatError', msg);
      this.log.push({ at: new Date(), protocol: 'xmlrpc', service, method: '', args: [], fault: { faultCode: 1, faultString: err.faultString, name: err.exc, message: msg } });
      return encodeFault(1, err.faultString);
    }
    const { result, error } = this.run('xmlrpc', service, call.methodName, call.params);
    if (error) return encodeFault(error.faultCode, error.faultString);
    try {
      return encodeResponse(result as XValue);
    } catch (e) {
      const err = new OdooError(e instanceof MarshalError && e.message.includes('int') ? 'builtins.OverflowError' : 'builtins.TypeError', (e as Error).message);
      return encodeFault(1, err.faultString);
    }
  }

  private handleJsonRpc(body: string, res: http.ServerResponse): void {
    let req: { id?: unknown; params?: { service?: unknown; method?: unknown; args?: unknown } };
    try {
      req = JSON.parse(body);
    } catch {
      res.writeHead(400, { 'Content-Type': 'text/html; charset=utf-8' });
      res.end('<!doctype html>\n<title>400 Bad Request</title>\n<h1>Bad Request</h1>\n<p>Invalid JSON data</p>\n');
      return;
    }
    const p = req.params ?? {};
    const id = req.id ?? null;
    const service = typeof p.service === 'string' ? p.service : '';
    const method = typeof p.method === 'string' ? p.method : '';
    const args = Array.isArray(p.args) ? (p.args as XValue[]) : [];
    const { result, error } = this.run('jsonrpc', service, method, args);
    let out: string;
    if (error) {
      const data = {
        name: error.exc,
        debug: error.traceback,
        message: error.message,
        arguments: [error.message],
        context: {},
      };
      out = `{"jsonrpc": "2.0", "id": ${JSON.stringify(id)}, "error": ${JSON.stringify({ code: 200, message: 'Odoo Server Error', data })}}`;
    } else {
      out = `{"jsonrpc": "2.0", "id": ${JSON.stringify(id)}, "result": ${toJson(result as XValue)}}`;
    }
    res.writeHead(200, { 'Content-Type': 'application/json; charset=utf-8' });
    res.end(out);
  }

  // ---------------------------------------------------------------- control API

  private db(name?: string): Database {
    const n = name ?? this.defaultDb ?? [...this.registry.dbs.keys()][0];
    const db = n === undefined ? undefined : this.registry.dbs.get(n);
    if (!db) throw new Error(`stand-in: no database ${String(n)}`);
    return db;
  }

  private env(opts: StoreOpts | undefined, now: number): Env {
    const ctx: Ctx = { active_test: false };
    return new Env(this.registry, this.db(opts?.db), opts?.uid ?? 1, now, ctx, true);
  }

  defineModel(name: string, spec: ModelSpec): void {
    this.registry.define(name, spec);
  }

  addDatabase(name: string): void {
    this.registry.addDatabase(name);
  }

  addUser(spec: UserSpec): number {
    const db = this.db(spec.db);
    const env = new Env(this.registry, db, 1, nowMicros(), { active_test: false }, true);
    const [uid] = env.create('res.users', [{ name: spec.name ?? spec.login, login: spec.login, active: spec.active ?? true }]);
    db.users.set(uid, {
      uid,
      login: spec.login,
      password: spec.password,
      apiKey: spec.apiKey,
      deniedModels: new Set(spec.deniedModels ?? []),
    });
    return uid;
  }

  setDeniedModels(uid: number, models: string[], db?: string): void {
    const u = this.db(db).users.get(uid);
    if (!u) throw new Error(`stand-in: no user ${uid}`);
    u.deniedModels = new Set(models);
  }

  create(model: string, values: Record<string, unknown>, opts?: StoreOpts): number {
    const env = this.env(opts, opts?.at ? microsFromDate(opts.at) : nowMicros());
    return env.create(model, [controlValues(values)])[0];
  }

  write(model: string, ids: number[], values: Record<string, unknown>, opts?: StoreOpts): void {
    const env = this.env(opts, opts?.at ? microsFromDate(opts.at) : nowMicros());
    env.write(model, ids, controlValues(values));
  }

  unlink(model: string, ids: number[], opts?: { db?: string }): void {
    this.env(opts, nowMicros()).unlink(model, ids);
  }

  records(model: string, opts?: { db?: string }): Array<Record<string, XValue>> {
    const env = this.env(opts, nowMicros());
    const m = env.model(model);
    const rows = env.allRows(model).sort((a, b) => a.id - b.id);
    return env.readRows(m, rows, [...m.fields.values()]);
  }

  timestamps(model: string, id: number, opts?: { db?: string }) {
    const r = this.db(opts?.db).table(model).get(id);
    return r ? { create_date: r.create_date as number, write_date: r.write_date as number } : undefined;
  }

  begin(at?: Date, opts?: { db?: string; uid?: number }): Transaction {
    const now = at ? microsFromDate(at) : nowMicros();
    const db = this.db(opts?.db);
    const env = () => new Env(this.registry, db, opts?.uid ?? 1, now, { active_test: false }, true);
    const ops: Array<() => void> = [];
    let open = true;
    const ensureOpen = () => {
      if (!open) throw new Error('stand-in: transaction already finished');
    };
    return {
      startedAt: new Date(Math.floor(now / 1000)),
      create: (model, values) => {
        ensureOpen();
        const e = env();
        const m = e.model(model);
        const id = db.nextId(model); // sequences are not transactional: the id is taken now
        const vals = controlValues(values);
        for (const key of Object.keys(vals)) {
          if (!m.fields.has(key)) throw new Error(`stand-in: invalid field ${key} on model ${model}`);
        }
        ops.push(() => {
          const e2 = env();
          e2.insertPrepared(m, e2.prepareCreate(m, vals, id));
        });
        return id;
      },
      write: (model, ids, values) => {
        ensureOpen();
        ops.push(() => env().write(model, ids, controlValues(values)));
      },
      unlink: (model, ids) => {
        ensureOpen();
        ops.push(() => env().unlink(model, ids));
      },
      commit: () => {
        ensureOpen();
        open = false;
        for (const op of ops) op();
      },
      rollback: () => {
        ensureOpen();
        open = false;
      },
    };
  }

  calls(): CallRecord[] {
    return this.log.slice();
  }

  resetCalls(): void {
    this.log = [];
  }

  async down(): Promise<void> {
    if (!this.listening) return;
    this.listening = false;
    const closed = new Promise<void>((r) => this.server.close(() => r()));
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    await closed;
  }

  async up(): Promise<void> {
    if (this.listening) return;
    this.server = this.makeServer();
    await this.listen(this.port);
  }

  async close(): Promise<void> {
    await this.down();
  }
}

export async function startOdooStandin(options: OdooStandinOptions = {}): Promise<OdooStandin> {
  const s = new Standin(options);
  await s.listen(options.port ?? 0);
  return s;
}

export type { Row };
