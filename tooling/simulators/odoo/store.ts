// Tables, transactions and the clock.
//
// What is reproduced from Odoo/Postgres and why it matters to a connector:
//  - `create_date`/`write_date` come from `cr.now()`: the transaction's START time, cached for the
//    whole transaction (odoo/sql_db.py now(); models.py write()/_write_multi setdefault('write_date')).
//    A transaction that starts at t0 and commits at t0+10min publishes rows stamped t0: a sync that
//    ran in between and saved cursor t0+5min never sees them (the "late commit" pitfall).
//  - Those timestamps keep sub-second precision in the database but the API prints seconds
//    (Datetime.to_string), so a domain `write_date = '<printed value>'` misses rows written at
//    .5 s (odoo/odoo PR #30734). Stored values keep milliseconds; reads truncate.
//  - Uncommitted rows are invisible to every other reader (READ COMMITTED / REPEATABLE READ).
//  - Ids come from a sequence, allocated at INSERT time and never rolled back, so a late commit
//    also carries ids lower than rows already synced.
//  - Postgres returns rows that tie on ORDER BY in no guaranteed order; here ties come out in
//    heap order, and an UPDATE moves a row to the end of the heap (`__seq`), so offset paging over
//    a non-unique order (Odoo's default `_order`s often are) skips or repeats rows when data changes.
//  - Foreign keys act at the database level: ON DELETE SET NULL / CASCADE change referencing rows
//    WITHOUT touching their write_date; many2many relation rows disappear the same way.

import { OdooException, userError, valueError, validationError } from './errors';
import { FieldDef, ModelDef, ReadEnv, Registry } from './models';
import { pyRepr } from './pyFormat';
import { isJsonObject, Json, JsonObject, Row, StoredValue } from './types';

// ----------------------------------------------------------------------------------------------
// Clock

const pad = (n: number, w = 2): string => String(n).padStart(w, '0');

/** 'YYYY-MM-DD HH:MM:SS[.mmm]' naive UTC, the way Odoo stores datetimes (ms only when non-zero). */
export function toOdooDatetime(d: Date): string {
  const base = `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(
    d.getUTCMinutes(),
  )}:${pad(d.getUTCSeconds())}`;
  return d.getUTCMilliseconds() ? `${base}.${pad(d.getUTCMilliseconds(), 3)}` : base;
}

export function toOdooDate(d: Date): string {
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
}

/** Parse 'YYYY-MM-DD[ HH:MM:SS[.fff]]' (naive UTC) or an ISO string into a Date. */
export function parseOdooDatetime(s: string): Date {
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?)?(Z|[+-]\d{2}:?\d{2})?$/.exec(s.trim());
  if (!m) throw new Error(`not an Odoo date/datetime: ${s}`);
  if (m[8]) return new Date(s);
  const ms = m[7] ? Math.floor(Number(m[7].padEnd(6, '0')) / 1000) : 0;
  return new Date(Date.UTC(+m[1], +m[2] - 1, +m[3], +(m[4] ?? 0), +(m[5] ?? 0), +(m[6] ?? 0), ms));
}

/** The simulator's controllable "now". Tests move it; nothing reads the wall clock. */
export class Clock {
  private t: number;
  constructor(start: Date | string = '2025-03-31 09:00:00') {
    this.t = typeof start === 'string' ? parseOdooDatetime(start).getTime() : start.getTime();
  }
  now(): Date {
    return new Date(this.t);
  }
  set(d: Date | string): void {
    this.t = typeof d === 'string' ? parseOdooDatetime(d).getTime() : d.getTime();
  }
  advance(ms: number): void {
    this.t += ms;
  }
}

// ----------------------------------------------------------------------------------------------
// Store: committed data

export type Changes = Map<string, Map<number, Row | null>>;

export class Store implements ReadEnv {
  private readonly tables = new Map<string, Map<number, Row>>();
  private readonly nextIds = new Map<string, number>();
  /** (model.field) → target id → referencing ids; built lazily, maintained on commit. */
  private readonly indexes = new Map<string, Map<number, Set<number>>>();
  private readonly memos = new Map<string, unknown>();
  private readonly displayNames = new Map<string, string>();
  private heap = 0;
  /** Bumped on every commit; caches keyed on it. */
  version = 0;

  constructor(readonly registry: Registry) {
    for (const name of registry.models.keys()) {
      this.tables.set(name, new Map());
      this.nextIds.set(name, 1);
    }
  }

  get major(): number {
    return this.registry.major;
  }

  model(name: string): ModelDef {
    const def = this.registry.get(name);
    if (!def) throw new Error(`unknown model ${name}`);
    return def;
  }

  table(model: string): Map<number, Row> {
    const t = this.tables.get(model);
    if (!t) throw new Error(`unknown model ${model}`);
    return t;
  }

  row(model: string, id: number): Row | undefined {
    return this.tables.get(model)?.get(id);
  }

  private readonly blanks = new Map<string, Row>();

  /**
   * A row with every stored field at its default. Rows are cloned from it (`{...blank}`) so all
   * keys exist from the start: V8 keeps such objects in fast mode, while adding ~40 properties
   * through computed keys turns each row into a slow dictionary (10x slower to clone and read).
   */
  blankRow(model: string): Row {
    let blank = this.blanks.get(model);
    if (!blank) {
      const built: Row = { id: 0, __seq: 0 };
      for (const f of Object.values(this.model(model).fields)) {
        if (!f.store || f.name === 'id') continue;
        const d = f.default;
        built[f.name] = d === undefined ? null : d;
      }
      blank = { ...built };
      this.blanks.set(model, blank);
    }
    return blank;
  }

  /** Sequence semantics: allocated immediately, never given back on rollback. */
  allocateId(model: string): number {
    const id = this.nextIds.get(model) ?? 1;
    this.nextIds.set(model, id + 1);
    return id;
  }

  /** Make the next allocated id at least `id` (seeding with Odoo-like fixed ids). */
  reserveIds(model: string, next: number): void {
    this.nextIds.set(model, Math.max(this.nextIds.get(model) ?? 1, next));
  }

  children(model: string, field: string, id: number): number[] {
    const set = this.index(model, field).get(id);
    return set ? Array.from(set).sort((a, b) => a - b) : [];
  }

  index(model: string, field: string): Map<number, Set<number>> {
    const key = `${model}.${field}`;
    let idx = this.indexes.get(key);
    if (!idx) {
      idx = new Map();
      for (const row of this.table(model).values()) indexAdd(idx, row[field], row.id);
      this.indexes.set(key, idx);
    }
    return idx;
  }

  displayName(model: string, id: number): string {
    const key = `${model}:${id}`;
    let name = this.displayNames.get(key);
    if (name === undefined) {
      const row = this.row(model, id);
      const def = this.model(model);
      name = row ? this.registry.displayName(def, row, this) : `${model},${id}`;
      this.displayNames.set(key, name);
    }
    return name;
  }

  /** Value cached until the next commit (sorted views, compiled lookups). */
  memo<T>(key: string, compute: () => T): T {
    if (this.memos.has(key)) return this.memos.get(key) as T;
    const v = compute();
    if (this.memos.size > 64) this.memos.clear();
    this.memos.set(key, v);
    return v;
  }

  /** Apply a transaction's changes atomically. */
  apply(changes: Changes): void {
    for (const [model, rows] of changes) {
      const table = this.table(model);
      const idxs = Array.from(this.indexes.entries()).filter(([k]) => k.startsWith(model + '.') && k.indexOf('.', model.length + 1) === -1);
      for (const [id, row] of rows) {
        const old = table.get(id);
        for (const [key, idx] of idxs) {
          const field = key.slice(model.length + 1);
          if (old) indexRemove(idx, old[field], id);
          if (row) indexAdd(idx, row[field], id);
        }
        if (row) {
          row.__seq = ++this.heap; // an INSERT/UPDATE writes a new tuple at the end of the heap
          table.set(id, row);
        } else table.delete(id);
      }
    }
    this.bump();
  }

  /** Fast path for seeding large volumes: rows must be complete (every stored field present). */
  bulkInsert(model: string, rows: Row[]): void {
    const table = this.table(model);
    for (const row of rows) {
      row.__seq = ++this.heap;
      table.set(row.id, row);
      if (row.id >= (this.nextIds.get(model) ?? 1)) this.nextIds.set(model, row.id + 1);
    }
    for (const key of Array.from(this.indexes.keys())) if (key.startsWith(model + '.')) this.indexes.delete(key);
    this.bump();
  }

  private bump(): void {
    this.version++;
    this.memos.clear();
    this.displayNames.clear();
  }
}

function indexAdd(idx: Map<number, Set<number>>, v: StoredValue | undefined, id: number): void {
  if (typeof v !== 'number') return;
  let s = idx.get(v);
  if (!s) idx.set(v, (s = new Set()));
  s.add(id);
}

function indexRemove(idx: Map<number, Set<number>>, v: StoredValue | undefined, id: number): void {
  if (typeof v !== 'number') return;
  idx.get(v)?.delete(id);
}

// ----------------------------------------------------------------------------------------------
// Transactions

/** What create()/write() accept: stored values, JS Dates for date/datetime, [id, name] pairs. */
export type ValInput = Json | Date | undefined;
export type Vals = { [field: string]: ValInput };

/** Business rules run after public create/write/unlink (stored computed fields, related fields). */
export interface TxHooks {
  afterCreate(tx: Transaction, model: string, ids: number[]): void;
  afterWrite(tx: Transaction, model: string, ids: number[], fields: string[]): void;
  beforeUnlink(tx: Transaction, model: string, ids: number[]): void;
  afterUnlink(tx: Transaction, model: string, ids: number[], rows: Row[]): void;
}

const MAGIC = new Set(['id', 'create_date', 'write_date', 'create_uid', 'write_uid', 'display_name']);

export class Transaction {
  /** `cr.now()`: the transaction start, the create/write_date of everything it writes. */
  readonly now: string;
  private readonly overlay: Changes = new Map();
  private state: 'open' | 'committed' | 'rolled back' = 'open';

  constructor(
    private readonly store: Store,
    private readonly hooks: TxHooks,
    readonly uid: number,
    start: Date,
    private readonly onClose: (tx: Transaction) => void = () => undefined,
  ) {
    this.now = toOdooDatetime(start);
  }

  /** The model registry of the simulated version (field availability differs per version). */
  get registry(): Registry {
    return this.store.registry;
  }

  get isOpen(): boolean {
    return this.state === 'open';
  }

  private assertOpen(): void {
    if (this.state !== 'open') throw new Error(`transaction already ${this.state}`);
  }

  private layer(model: string): Map<number, Row | null> {
    let m = this.overlay.get(model);
    if (!m) this.overlay.set(model, (m = new Map()));
    return m;
  }

  /** The row as this transaction sees it (its own writes included). */
  get(model: string, id: number): Row | undefined {
    const own = this.overlay.get(model)?.get(id);
    if (own === null) return undefined;
    return own ?? this.store.row(model, id);
  }

  /** All ids visible to this transaction. */
  ids(model: string): number[] {
    const own = this.overlay.get(model);
    const ids = new Set<number>(this.store.table(model).keys());
    if (own) for (const [id, row] of own) row ? ids.add(id) : ids.delete(id);
    return Array.from(ids).sort((a, b) => a - b);
  }

  /** Rows whose many2one `field` equals `id`, as this transaction sees them. */
  children(model: string, field: string, id: number): number[] {
    const result = new Set(this.store.children(model, field, id));
    const own = this.overlay.get(model);
    if (own) {
      for (const [rid, row] of own) {
        if (row && row[field] === id) result.add(rid);
        else result.delete(rid);
      }
    }
    return Array.from(result).sort((a, b) => a - b);
  }

  private mutable(model: string, id: number): Row {
    const layer = this.layer(model);
    const own = layer.get(id);
    if (own) return own;
    const committed = own === null ? undefined : this.store.row(model, id);
    if (!committed) throw missing(model, [id], this.uid);
    const copy: Row = { ...committed };
    layer.set(id, copy);
    return copy;
  }

  create(model: string, vals: Vals): number {
    this.assertOpen();
    const def = this.store.model(model);
    const id = this.store.allocateId(model);
    const row: Row = { ...this.store.blankRow(model) };
    row.id = id;
    for (const [k, v] of Object.entries(row)) if (Array.isArray(v)) row[k] = [...v]; // no shared default lists
    row.create_date = this.now;
    row.write_date = this.now;
    row.create_uid = this.uid;
    row.write_uid = this.uid;
    const redirected = this.assign(def, row, vals);
    this.layer(model).set(id, row);
    this.writeRedirected(redirected);
    this.hooks.afterCreate(this, model, [id]);
    return id;
  }

  write(model: string, ids: number | number[], vals: Vals): void {
    this.assertOpen();
    const def = this.store.model(model);
    const list = Array.isArray(ids) ? ids : [ids];
    const gone = list.filter((id) => !this.get(model, id));
    if (gone.length) throw missing(model, gone, this.uid);
    const fields = Object.keys(vals).filter((k) => !MAGIC.has(k));
    for (const id of list) {
      const row = this.mutable(model, id);
      this.writeRedirected(this.assign(def, row, vals));
      row.write_date = this.now;
      row.write_uid = this.uid;
    }
    this.hooks.afterWrite(this, model, list, fields);
  }

  archive(model: string, ids: number | number[]): void {
    this.setActive(model, ids, false);
  }

  unarchive(model: string, ids: number | number[]): void {
    this.setActive(model, ids, true);
  }

  private setActive(model: string, ids: number | number[], active: boolean): void {
    const def = this.store.model(model);
    if (!def.activeName) throw userError(`Model ${model} has no active field`);
    this.write(model, ids, { active });
  }

  /** Hard delete (Odoo CE keeps no tombstone), with the database's FK actions on referencing rows. */
  unlink(model: string, ids: number | number[]): void {
    this.assertOpen();
    const list = (Array.isArray(ids) ? ids : [ids]).filter((id) => this.get(model, id));
    if (!list.length) return;
    this.hooks.beforeUnlink(this, model, list);
    const rows = list.map((id) => this.get(model, id) as Row);
    const layer = this.layer(model);
    for (const id of list) layer.set(id, null);
    this.referentialActions(model, new Set(list));
    this.hooks.afterUnlink(this, model, list, rows);
  }

  private referentialActions(target: string, deleted: Set<number>): void {
    for (const def of this.store.registry.models.values()) {
      for (const f of Object.values(def.fields)) {
        if (!f.store || f.relation !== target || f.name === 'create_uid' || f.name === 'write_uid') continue;
        if (f.type === 'many2one') {
          const hits = this.ids(def.name).filter((rid) => {
            const v = this.get(def.name, rid)?.[f.name];
            return typeof v === 'number' && deleted.has(v);
          });
          if (!hits.length) continue;
          if (f.ondelete === 'cascade') this.unlink(def.name, hits);
          else if (f.ondelete === 'restrict') {
            throw validationError(
              `The operation cannot be completed: another model requires the record being deleted. If possible, archive it instead.\n\nModel: ${def.description} (${def.name}), Field: ${f.string} (${f.name})`,
            );
          } else for (const rid of hits) this.mutable(def.name, rid)[f.name] = null; // no write_date: the DB did it
        } else if (f.type === 'many2many') {
          for (const rid of this.ids(def.name)) {
            const v = this.get(def.name, rid)?.[f.name];
            if (Array.isArray(v) && v.some((x) => deleted.has(x))) this.mutable(def.name, rid)[f.name] = v.filter((x) => !deleted.has(x));
          }
        }
      }
    }
  }

  /**
   * Store recomputed stored fields (business logic, not user writes). Like Odoo's flush of
   * recomputed fields, it sets write_date/write_uid — only when a value actually changed.
   */
  setComputed(model: string, id: number, vals: { [field: string]: StoredValue }): boolean {
    this.assertOpen();
    const current = this.get(model, id);
    if (!current) return false;
    const changed = Object.entries(vals).filter(([k, v]) => !sameValue(current[k], v));
    if (!changed.length) return false;
    const row = this.mutable(model, id);
    for (const [k, v] of changed) row[k] = v;
    row.write_date = this.now;
    row.write_uid = this.uid;
    return true;
  }

  /** Set hidden (non-field) cells such as `__rate`; never touches write_date. */
  setHidden(model: string, id: number, vals: { [cell: string]: StoredValue }): void {
    const row = this.mutable(model, id);
    for (const [k, v] of Object.entries(vals)) row[k] = v;
  }

  commit(): void {
    this.assertOpen();
    this.store.apply(this.overlay);
    this.state = 'committed';
    this.onClose(this);
  }

  rollback(): void {
    if (this.state !== 'open') return;
    this.overlay.clear();
    this.state = 'rolled back';
    this.onClose(this);
  }

  // --- value assignment ---------------------------------------------------------------------

  private writeRedirected(list: Array<{ model: string; id: number; vals: Vals }>): void {
    for (const r of list) this.write(r.model, r.id, r.vals);
  }

  /** Convert and assign `vals` onto `row`; returns writes to forward (product.product → template). */
  private assign(def: ModelDef, row: Row, vals: Vals): Array<{ model: string; id: number; vals: Vals }> {
    const redirected: Array<{ model: string; id: number; vals: Vals }> = [];
    const forward: Vals = {};
    for (const [name, raw] of Object.entries(vals)) {
      if (raw === undefined || MAGIC.has(name)) continue; // Odoo pops LOG_ACCESS_COLUMNS from vals
      const f = def.fields[name];
      if (!f) throw valueError(`Invalid field ${pyRepr(name)} on model ${pyRepr(def.name)}`);
      if (!f.store) {
        if (f.related?.startsWith('product_tmpl_id.')) forward[f.related.slice('product_tmpl_id.'.length)] = raw;
        continue; // non-stored computed fields without inverse ignore writes
      }
      row[name] = convertValue(def, f, raw, row[name] ?? null);
    }
    if (Object.keys(forward).length && typeof row.product_tmpl_id === 'number') {
      redirected.push({ model: 'product.template', id: row.product_tmpl_id, vals: forward });
    }
    return redirected;
  }
}

/** MissingError as Odoo 17 words it (models.py check_access / _read). */
function missing(model: string, ids: number[], uid: number): OdooException {
  const msg = `Record does not exist or has been deleted.\n(Record: ${model}(${ids.join(', ')}${ids.length === 1 ? ',' : ''}), User: ${uid})`;
  return new OdooException('odoo.exceptions', 'MissingError', msg, [msg], 2, 404);
}

export { missing as missingRecords };

function sameValue(a: StoredValue | undefined, b: StoredValue): boolean {
  if (a === b) return true;
  if (a === undefined) return b === null;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => x === b[i]);
  if (typeof a === 'number' && typeof b === 'number') return Math.abs(a - b) < 1e-9;
  if (isJsonObject(a) && isJsonObject(b)) return JSON.stringify(a) === JSON.stringify(b);
  return false;
}

/** Convert an input value to the cell representation of `f` (Odoo's convert_to_cache). */
export function convertValue(def: ModelDef, f: FieldDef, raw: ValInput, current: StoredValue): StoredValue {
  const v = raw === undefined ? null : raw;
  const empty = v === null || v === false;
  switch (f.type) {
    case 'boolean':
      return Boolean(v);
    case 'integer':
      return empty ? 0 : Math.trunc(Number(v));
    case 'float':
    case 'monetary':
      return empty ? 0 : Number(v);
    case 'char':
    case 'text':
    case 'html':
      return empty || v === '' ? null : String(v);
    case 'selection': {
      if (empty) return null;
      const s = String(v);
      if (f.selection && !f.selection.some(([k]) => k === s)) throw valueError(`Wrong value for ${def.name}.${f.name}: ${pyRepr(s)}`);
      return s;
    }
    case 'date':
      if (empty) return null;
      if (v instanceof Date) return toOdooDate(v);
      return String(v).slice(0, 10);
    case 'datetime':
      if (empty) return null;
      if (v instanceof Date) return toOdooDatetime(v);
      return toOdooDatetime(parseOdooDatetime(String(v)));
    case 'many2one':
      if (empty) return null;
      if (Array.isArray(v)) return Number(v[0]);
      return Number(v);
    case 'many2many':
    case 'one2many':
      return x2manyCommands(v, Array.isArray(current) ? current : []);
    case 'json':
      return empty ? null : isJsonObject(v) ? (v as JsonObject) : null;
    case 'binary':
      return empty ? null : String(v);
  }
}

/** Plain id lists, or Odoo's x2many commands (6 set, 4 link, 3 unlink, 5 clear). */
function x2manyCommands(v: ValInput, current: number[]): number[] {
  if (v === null || v === false || v === undefined) return [];
  if (!Array.isArray(v)) return [Number(v)];
  if (v.every((x) => typeof x === 'number')) return v as number[];
  let ids = [...current];
  for (const cmd of v) {
    if (!Array.isArray(cmd)) continue;
    const [op, id, arg] = cmd;
    if (op === 6 && Array.isArray(arg)) ids = arg.map(Number);
    else if (op === 4 && typeof id === 'number' && !ids.includes(id)) ids.push(id);
    else if ((op === 3 || op === 2) && typeof id === 'number') ids = ids.filter((x) => x !== id);
    else if (op === 5) ids = [];
  }
  return ids;
}
