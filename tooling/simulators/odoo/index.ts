// The Odoo simulator: a fresh Odoo database (base data of a new install) behind a real HTTP
// server speaking Odoo's external API, plus a TypeScript API for tests to change the data the
// way Odoo's own transactions would (timestamps, isolation, stored computed fields).
//
//   const sim = new OdooSimulator({ version: '17.0' });
//   seedDemoCompany(sim);
//   const server = await sim.start();               // server.url → http://127.0.0.1:<port>
//   ... XML-RPC at `${server.url}/xmlrpc/2/common`, `/xmlrpc/2/object`; JSON-2 when version ≥ 19
//   await server.close();

import * as accounting from './accounting';
import { accessDenied, typeError, unknownDatabase } from './errors';
import { OdooComputes } from './computes';
import { Registry } from './models';
import { CallEnv, readRows, searchRows } from './orm';
import { credentialMatches, DEFAULT_ADMIN_API_KEY, SimUser, UserInit } from './security';
import { emptyStats, FailureSpec, RequestMatch, RunningServer, ServerBackend, SimStats, startServer, VersionInfo } from './server';
import { Clock, parseOdooDatetime, Store, Transaction, Vals } from './store';
import { Context, Json, Row, RpcStruct } from './types';

export { seedDemoCompany } from './seed';
export type { DemoCompany, SeedOptions } from './seed';
export type { FailureSpec, RequestMatch, RunningServer, SimStats, VersionInfo } from './server';
export type { SimUser, UserInit } from './security';
export type { Transaction, Vals } from './store';
export type { InvoiceInput, InvoiceLineInput, EntryInput, EntryLineInput, PaymentInput } from './accounting';
export type { Row, RpcStruct, Json } from './types';
export { PyFloat } from './types';
export { DEFAULT_ADMIN_API_KEY } from './security';
export { Clock, toOdooDatetime, toOdooDate } from './store';

export interface OdooSimulatorOptions {
  /** '17.0' (default), '18.0', '19.0', 'saas~17.4'. Field names and JSON-2 availability follow it. */
  version?: string;
  /** Database name (default 'odoo'). */
  database?: string;
  /** Start of the simulated clock (default 2025-03-31 09:00:00 UTC). */
  now?: Date | string;
  /** Password of user `admin` (uid 2). */
  adminPassword?: string;
  /** API key of user `admin` (DEFAULT_ADMIN_API_KEY). */
  adminApiKey?: string;
}

export interface ReadOptions {
  fields?: string[];
  offset?: number;
  limit?: number;
  order?: string;
  context?: Context;
}

export function parseVersion(version: string): VersionInfo {
  const m = /^(saas~)?(\d+)\.(\d+)/.exec(version);
  if (!m) throw new Error(`unsupported Odoo version ${version}`);
  const [major, minor] = [Number(m[2]), Number(m[3])];
  return {
    server_version: version,
    server_version_info: [major, minor, 0, 'final', 0, ''],
    server_serie: m[1] ? `saas~${major}.${minor}` : `${major}.${minor}`,
    protocol_version: 1,
  };
}

const MODULE_OF: Record<string, string> = { res: 'base', ir: 'base', uom: 'uom', product: 'product', account: 'account', project: 'project' };

interface FailureRule {
  remaining: number;
  spec: FailureSpec;
}

export class OdooSimulator {
  readonly clock: Clock;
  readonly registry: Registry;
  readonly store: Store;
  readonly database: string;
  readonly versionInfo: VersionInfo;
  /** Request counters; `resetStats()` zeroes them. */
  stats: SimStats = emptyStats();
  /** Simulator bugs caught while serving (never Odoo errors). Tests may assert it stays empty. */
  readonly internalErrors: Error[] = [];
  readonly users = new Map<number, SimUser>();

  private readonly computes = new OdooComputes();
  private readonly failures: FailureRule[] = [];
  private readonly servers: RunningServer[] = [];
  private readonly openTx = new Set<Transaction>();

  constructor(opts: OdooSimulatorOptions = {}) {
    this.versionInfo = parseVersion(opts.version ?? '17.0');
    this.registry = new Registry(this.versionInfo.server_version_info[0]);
    this.store = new Store(this.registry);
    this.database = opts.database ?? 'odoo';
    this.clock = new Clock(opts.now ?? '2025-03-31 09:00:00');
    this.installBase(opts.adminPassword ?? 'admin', opts.adminApiKey ?? DEFAULT_ADMIN_API_KEY);
  }

  get major(): number {
    return this.versionInfo.server_version_info[0];
  }

  // --- base data of a fresh database ---------------------------------------------------------

  private installBase(adminPassword: string, adminApiKey: string): void {
    const now = this.clock.now();
    const installedAt = new Date(Math.min(now.getTime(), parseOdooDatetime('2024-12-31 08:00:00').getTime()));
    const tx = new Transaction(this.store, this.computes, 1, installedAt);
    const eur = tx.create('res.currency', { name: 'EUR', full_name: 'Euro', symbol: '€', currency_unit_label: 'Euros', currency_subunit_label: 'Cents' });
    const usd = tx.create('res.currency', { name: 'USD', full_name: 'United States dollar', symbol: '$', position: 'before', currency_unit_label: 'Dollars', currency_subunit_label: 'Cents' });
    const gbp = tx.create('res.currency', { name: 'GBP', full_name: 'Pound sterling', symbol: '£', position: 'before', active: false });
    tx.setHidden('res.currency', eur, { __rate: 1 });
    tx.setHidden('res.currency', usd, { __rate: 1.08 });
    tx.setHidden('res.currency', gbp, { __rate: 0.85 });
    const countries: Array<[string, string, number, number]> = [
      ['Belgium', 'BE', 32, eur],
      ['France', 'FR', 33, eur],
      ['Germany', 'DE', 49, eur],
      ['Netherlands', 'NL', 31, eur],
      ['United Kingdom', 'GB', 44, gbp],
      ['United States', 'US', 1, usd],
    ];
    for (const [name, code, phone, cur] of countries) tx.create('res.country', { name, code, phone_code: phone, currency_id: cur });
    const companyPartner = tx.create('res.partner', { name: 'My Company', is_company: true });
    const botPartner = tx.create('res.partner', { name: 'OdooBot', active: false });
    const adminPartner = tx.create('res.partner', { name: 'Mitchell Admin', email: 'admin@yourcompany.example.com' });
    tx.create('res.company', { name: 'My Company', partner_id: companyPartner, currency_id: eur });
    tx.write('res.partner', [companyPartner, botPartner, adminPartner], { company_id: 1 });
    tx.create('res.users', { name: 'OdooBot', login: '__system__', partner_id: botPartner, active: false });
    tx.create('res.users', { name: 'Mitchell Admin', login: 'admin', partner_id: adminPartner, email: 'admin@yourcompany.example.com' });
    for (const [name, type, factor] of [
      ['Units', 'reference', 1],
      ['Dozens', 'bigger', 1 / 12],
      ['Hours', 'reference', 1],
      ['Days', 'bigger', 1 / 8],
    ] as Array<[string, string, number]>) {
      tx.create('uom.uom', { name, uom_type: type, factor });
    }
    const all = tx.create('product.category', { name: 'All' });
    tx.create('product.category', { name: 'Saleable', parent_id: all });
    for (const def of this.registry.models.values()) {
      const id = tx.create('ir.model', { model: def.name, name: def.description, order: def.order, info: def.description, transient: def.transient ?? false });
      tx.setHidden('ir.model', id, { __module: MODULE_OF[def.name.split('.')[0]] ?? 'base' });
    }
    tx.commit();
    this.users.set(1, { uid: 1, login: '__system__', name: 'OdooBot', password: null, apiKeys: [], active: false, readModels: 'all', writeModels: 'all' });
    this.users.set(2, { uid: 2, login: 'admin', name: 'Mitchell Admin', password: adminPassword, apiKeys: [adminApiKey], active: true, readModels: 'all', writeModels: 'all' });
  }

  // --- users ---------------------------------------------------------------------------------

  /** Create an internal user (res.users + partner). Restrict `readModels` to test AccessError. */
  addUser(init: UserInit): SimUser {
    const name = init.name ?? init.login;
    const uid = this.transaction((tx) => {
      const partner = tx.create('res.partner', { name, email: init.login.includes('@') ? init.login : null, company_id: 1 });
      return tx.create('res.users', { name, login: init.login, partner_id: partner, active: init.active ?? true });
    });
    const toSet = (v: 'all' | string[] | undefined, fallback: 'all' | Set<string>): 'all' | Set<string> =>
      v === undefined ? fallback : v === 'all' ? 'all' : new Set(v);
    const user: SimUser = {
      uid,
      login: init.login,
      name,
      password: init.password ?? null,
      apiKeys: init.apiKeys ?? [],
      active: init.active ?? true,
      readModels: toSet(init.readModels, 'all'),
      writeModels: toSet(init.writeModels, new Set()),
    };
    this.users.set(uid, user);
    return user;
  }

  userByLogin(login: string): SimUser | undefined {
    return Array.from(this.users.values()).find((u) => u.login === login);
  }

  // --- transactions --------------------------------------------------------------------------

  /**
   * Open a transaction now. Everything it writes carries create/write_date = this instant (to the
   * millisecond; the API prints seconds) and stays invisible to RPC readers until `commit()`.
   */
  begin(opts: { uid?: number } = {}): Transaction {
    const tx = new Transaction(this.store, this.computes, opts.uid ?? 2, this.clock.now(), (t) => this.openTx.delete(t));
    this.openTx.add(tx);
    return tx;
  }

  /** Run `fn` in a transaction started now; commit when it returns (or resolves), roll back on error. */
  transaction<T>(fn: (tx: Transaction) => Promise<T>, opts?: { uid?: number }): Promise<T>;
  transaction<T>(fn: (tx: Transaction) => T, opts?: { uid?: number }): T;
  transaction<T>(fn: (tx: Transaction) => T | Promise<T>, opts: { uid?: number } = {}): T | Promise<T> {
    const tx = this.begin(opts);
    try {
      const out = fn(tx);
      if (out instanceof Promise) {
        return out.then(
          (v) => {
            if (tx.isOpen) tx.commit();
            return v;
          },
          (e: unknown) => {
            tx.rollback();
            throw e;
          },
        );
      }
      if (tx.isOpen) tx.commit();
      return out;
    } catch (e) {
      tx.rollback();
      throw e;
    }
  }

  /** Transactions begun and neither committed nor rolled back. */
  get openTransactions(): number {
    return this.openTx.size;
  }

  create(model: string, vals: Vals): number {
    return this.transaction((tx) => tx.create(model, vals));
  }

  write(model: string, ids: number | number[], vals: Vals): void {
    this.transaction((tx) => tx.write(model, ids, vals));
  }

  archive(model: string, ids: number | number[]): void {
    this.transaction((tx) => tx.archive(model, ids));
  }

  unarchive(model: string, ids: number | number[]): void {
    this.transaction((tx) => tx.unarchive(model, ids));
  }

  /** Hard delete (cascades and SET NULLs like the database's foreign keys). */
  unlink(model: string, ids: number | number[]): void {
    this.transaction((tx) => tx.unlink(model, ids));
  }

  // --- accounting helpers (each in its own transaction unless one is given) -----------------

  private inTx<T>(tx: Transaction | undefined, fn: (t: Transaction) => T): T {
    return tx ? fn(tx) : this.transaction(fn);
  }

  createInvoice(input: accounting.InvoiceInput, tx?: Transaction): number {
    return this.inTx(tx, (t) => accounting.createInvoice(t, input));
  }

  createEntry(input: accounting.EntryInput, tx?: Transaction): number {
    return this.inTx(tx, (t) => accounting.createEntry(t, input));
  }

  postMove(moveId: number, tx?: Transaction): void {
    this.inTx(tx, (t) => accounting.postMove(t, moveId));
  }

  cancelMove(moveId: number, tx?: Transaction): void {
    this.inTx(tx, (t) => accounting.cancelMove(t, moveId));
  }

  /** Register a payment and reconcile it: the invoice's residual, payment_state and write_date change. */
  registerPayment(input: accounting.PaymentInput, tx?: Transaction): { paymentId: number; moveId: number } {
    return this.inTx(tx, (t) => accounting.registerPayment(t, input));
  }

  reverseMove(moveId: number, opts: { date: string; post?: boolean; reconcile?: boolean }, tx?: Transaction): number {
    return this.inTx(tx, (t) => accounting.reverseMove(t, moveId, opts));
  }

  // --- reads without HTTP (superuser view of committed data, same encoding as the API) --------

  private adminEnv(context: Context = {}): CallEnv {
    const admin = this.users.get(2) as SimUser;
    return { store: this.store, user: admin, context, transact: (fn) => this.transaction(fn) };
  }

  /** search_read as the API would answer it (context.active_test defaults to true, as in Odoo). */
  searchRead(model: string, domain: Json = [], opts: ReadOptions = {}): RpcStruct[] {
    const env = this.adminEnv(opts.context);
    const def = this.store.model(model);
    const rows = searchRows(env, def, domain, opts.offset ?? 0, opts.limit ?? null, opts.order ?? null);
    return readRows(env, def, rows, opts.fields ?? null, '_classic_read');
  }

  search(model: string, domain: Json = [], opts: ReadOptions = {}): number[] {
    const def = this.store.model(model);
    return searchRows(this.adminEnv(opts.context), def, domain, opts.offset ?? 0, opts.limit ?? null, opts.order ?? null).map((r) => r.id);
  }

  /** The committed row as stored (hidden `__` cells included), or undefined. */
  get(model: string, id: number): Row | undefined {
    const row = this.store.row(model, id);
    return row ? { ...row } : undefined;
  }

  /** Number of committed rows of a model, archived ones included. */
  count(model: string): number {
    return this.store.table(model).size;
  }

  // --- HTTP server ---------------------------------------------------------------------------

  async start(port = 0, host = '127.0.0.1'): Promise<RunningServer> {
    const running = await startServer(this.backend(), port, host);
    const server: RunningServer = {
      ...running,
      close: async () => {
        const i = this.servers.indexOf(server);
        if (i >= 0) this.servers.splice(i, 1);
        await running.close();
      },
    };
    this.servers.push(server);
    return server;
  }

  /** Close every server started by this simulator. */
  async close(): Promise<void> {
    await Promise.all([...this.servers].map((s) => s.close()));
  }

  /**
   * Make the next `n` matching requests fail: `{kind: 'http500', status: 503}`, `{kind: 'reset'}`,
   * `{kind: 'fault', faultCode: 1}`, `{kind: 'delay', ms: 200}`; `match` narrows it, e.g.
   * `{method: 'search_read', model: 'account.move.line'}`.
   */
  failNext(n: number, spec: FailureSpec): void {
    if (n > 0) this.failures.push({ remaining: n, spec });
  }

  clearFailures(): void {
    this.failures.length = 0;
  }

  resetStats(): void {
    this.stats = emptyStats();
  }

  private backend(): ServerBackend {
    const sim = this;
    const checkDb = (db: Json): void => {
      if (typeof db !== 'string') throw typeError(`expected a database name, got ${JSON.stringify(db)}`);
      if (db !== sim.database) throw unknownDatabase(db);
    };
    return {
      get database() {
        return sim.database;
      },
      get versionInfo() {
        return sim.versionInfo;
      },
      get stats() {
        return sim.stats;
      },
      internalErrors: this.internalErrors,
      authenticate(db, login, secret) {
        checkDb(db);
        const user = typeof login === 'string' ? sim.userByLogin(login) : undefined;
        return user && user.active && credentialMatches(user, secret) ? user.uid : false;
      },
      checkUid(db, uid, secret) {
        checkDb(db);
        // service/model.py: int(params[1]) — False becomes 0, which no user has.
        const n = typeof uid === 'number' ? Math.trunc(uid) : typeof uid === 'string' && /^\d+$/.test(uid) ? Number(uid) : uid === false ? 0 : NaN;
        if (Number.isNaN(n)) throw typeError(`int() argument must be a string, a bytes-like object or a real number, not '${uid === null ? 'NoneType' : typeof uid}'`);
        const user = sim.users.get(n);
        if (!user || !user.active || !credentialMatches(user, secret)) throw accessDenied();
        return user;
      },
      userByApiKey(key) {
        return Array.from(sim.users.values()).find((u) => u.active && u.apiKeys.includes(key));
      },
      callEnv(user) {
        return {
          store: sim.store,
          user,
          transact: (fn) => sim.transaction(fn, { uid: user.uid }),
          countRecords: (n) => {
            sim.stats.recordsReturned += n;
          },
        };
      },
      takeFailure(info: RequestMatch) {
        for (let i = 0; i < sim.failures.length; i++) {
          const rule = sim.failures[i];
          const m = rule.spec.match ?? {};
          const ok = (Object.keys(m) as Array<keyof RequestMatch>).every((k) => m[k] === undefined || m[k] === info[k]);
          if (!ok) continue;
          if (--rule.remaining <= 0) sim.failures.splice(i, 1);
          return rule.spec;
        }
        return undefined;
      },
    };
  }
}
