// In-memory databases and the ORM methods the external API exposes (Odoo 17 odoo/models.py semantics).
import { DomainEnv, compileDomain, makeComparator, parseOrder } from './domain';
import { OdooError, valueError } from './errors';
import { Field, Model, ModelSpec, Row, buildModel, formatDatetime, scalarForWrite } from './model';
import { XDouble, XValue, pyRepr } from './xmlrpc';

export interface User {
  uid: number;
  login: string;
  password: string;
  apiKey?: string;
  deniedModels: Set<string>;
}

export class Database {
  readonly tables = new Map<string, Map<number, Row>>();
  readonly seq = new Map<string, number>();
  readonly users = new Map<number, User>();
  constructor(readonly name: string) {}

  table(model: string): Map<number, Row> {
    let t = this.tables.get(model);
    if (!t) {
      t = new Map();
      this.tables.set(model, t);
    }
    return t;
  }

  nextId(model: string): number {
    const n = (this.seq.get(model) ?? 0) + 1;
    this.seq.set(model, n);
    return n;
  }
}

export interface Ctx {
  active_test: boolean;
  lang?: string;
  [k: string]: unknown;
}

export class Registry {
  readonly models = new Map<string, Model>();
  readonly dbs = new Map<string, Database>();
  tieBreak: 'id' | 'random' = 'id';

  constructor() {
    this.define('res.users', {
      description: 'User',
      fields: {
        name: { type: 'char', string: 'Name', required: true },
        login: { type: 'char', string: 'Login', required: true },
        active: { type: 'boolean', string: 'Active', default: true },
      },
      order: 'name, login',
    });
  }

  define(name: string, spec: ModelSpec): Model {
    const m = buildModel(name, spec);
    this.models.set(name, m);
    return m;
  }

  addDatabase(name: string): Database {
    if (this.dbs.has(name)) return this.dbs.get(name)!;
    const db = new Database(name);
    this.dbs.set(name, db);
    // uid 1 is the superuser (OdooBot, archived) as in a fresh Odoo database.
    const env = new Env(this, db, 1, 0, { active_test: false }, true);
    env.create('res.users', [{ name: 'OdooBot', login: '__system__', active: false }]);
    return db;
  }
}

const ACL_HEADS: Record<string, string> = {
  read: "You are not allowed to access '%s' (%s) records.",
  write: "You are not allowed to modify '%s' (%s) records.",
  create: "You are not allowed to create '%s' (%s) records.",
  unlink: "You are not allowed to delete '%s' (%s) records.",
};

export type AccessMode = 'read' | 'write' | 'create' | 'unlink';

/** One transaction: a database, a user, the transaction start time (cr.now()) and a context. */
export class Env implements DomainEnv {
  constructor(
    readonly registry: Registry,
    readonly db: Database,
    readonly uid: number,
    /** cr.now() in microseconds: every create/write of the transaction is stamped with it */
    readonly now: number,
    readonly ctx: Ctx,
    readonly su: boolean,
  ) {}

  // ---- DomainEnv
  model(name: string): Model {
    const m = this.registry.models.get(name);
    if (!m) throw new OdooError('builtins.KeyError', pyRepr(name));
    return m;
  }
  allRows(model: string): Row[] {
    return [...this.db.table(model).values()];
  }
  row(model: string, id: number): Row | undefined {
    return this.db.table(model).get(id);
  }
  displayName(model: Model, row: Row): string | false {
    if (!model.recName) return `${model.name},${row.id}`;
    const v = this.value(model, model.fields.get(model.recName)!, row);
    if (v === null || v === undefined || v === false) return false;
    return String(v);
  }
  x2manyIds(_model: Model, field: Field, row: Row): number[] {
    if (field.type === 'many2many') return ((row[field.name] as number[] | undefined) ?? []).slice();
    if (field.type === 'one2many') return (this.inverseIndex(field).get(row.id) ?? []).slice();
    return [];
  }
  // one2many lookups: parent id -> child ids, built once per Env (an Env lives for one call; the
  // index is dropped whenever this Env writes)
  private inverse = new Map<string, Map<number, number[]>>();
  private inverseIndex(field: Field): Map<number, number[]> {
    const key = `${field.relation}.${field.relationField}`;
    let idx = this.inverse.get(key);
    if (!idx) {
      idx = new Map();
      for (const r of this.db.table(field.relation!).values()) {
        const p = r[field.relationField!];
        if (typeof p !== 'number') continue;
        const list = idx.get(p);
        if (list) list.push(r.id);
        else idx.set(p, [r.id]);
      }
      for (const list of idx.values()) list.sort((a, b) => a - b);
      this.inverse.set(key, idx);
    }
    return idx;
  }

  value(model: Model, field: Field, row: Row): unknown {
    if (field.name === 'display_name') return this.displayName(model, row);
    if (field.type === 'one2many') return this.x2manyIds(model, field, row);
    if (!field.store) return field.compute ? field.compute(row) : null;
    const v = row[field.name];
    return v === undefined ? (field.type === 'many2many' ? [] : null) : v;
  }

  // ---- access control (ir.model.access)
  hasAccess(model: Model, _mode: AccessMode): boolean {
    if (this.su) return true;
    const user = this.db.users.get(this.uid);
    return !user || !user.deniedModels.has(model.name);
  }
  checkAccess(model: Model, mode: AccessMode): void {
    if (this.hasAccess(model, mode)) return;
    const head = ACL_HEADS[mode].replace('%s', model.description).replace('%s', model.name);
    throw new OdooError(
      'odoo.exceptions.AccessError',
      `${head}\n\nNo group currently allows this operation.\n\nContact your administrator to request access if necessary.`,
    );
  }

  // ---- search
  private withActiveTest(model: Model, domain: XValue): XValue {
    const list = Array.isArray(domain) ? domain : domain;
    if (!model.activeName || this.ctx.active_test === false || !Array.isArray(list)) return domain;
    if (list.some((t) => Array.isArray(t) && t[0] === model.activeName)) return domain;
    return [[model.activeName, '=', true], ...list];
  }

  searchRows(modelName: string, domain: XValue, opts: { offset?: number; limit?: number | null; order?: string | null } = {}): Row[] {
    const model = this.model(modelName);
    this.checkAccess(model, 'read');
    const pred = compileDomain(this, model, this.withActiveTest(model, domain ?? []));
    const terms = parseOrder(model, opts.order || model.order);
    const rows = this.allRows(modelName).filter(pred);
    const byOrder = makeComparator(this, model, terms);
    const tie = new Map<number, number>();
    if (this.registry.tieBreak === 'random') for (const r of rows) tie.set(r.id, Math.random());
    rows.sort((a, b) => byOrder(a, b) || (this.registry.tieBreak === 'random' ? tie.get(a.id)! - tie.get(b.id)! : a.id - b.id));
    const offset = opts.offset || 0;
    const limit = opts.limit || undefined; // Odoo: limit None/0/False = no limit
    return rows.slice(offset, limit === undefined ? undefined : offset + limit);
  }

  // ---- read
  checkFieldNames(model: Model, fields: XValue | undefined | null): Field[] {
    if (fields === undefined || fields === null || fields === false || (Array.isArray(fields) && fields.length === 0)) {
      return [...model.fields.values()];
    }
    const list = Array.isArray(fields) ? fields : [fields];
    return list.map((f) => {
      const field = typeof f === 'string' ? model.fields.get(f) : undefined;
      if (!field) throw valueError(`Invalid field ${pyRepr(f)} on model ${pyRepr(model.name)}`);
      return field;
    });
  }

  /** convert_to_read of every requested field; `id` is always present. */
  readRows(model: Model, rows: Row[], fields: Field[]): Array<Record<string, XValue>> {
    return rows.map((row) => {
      const out: Record<string, XValue> = { id: row.id };
      for (const f of fields) out[f.name] = this.toRead(model, f, row);
      return out;
    });
  }

  private x2manyForRead(field: Field, ids: number[]): number[] {
    const comodel = this.model(field.relation!);
    let rows = ids.map((id) => this.row(comodel.name, id)).filter((r): r is Row => r !== undefined);
    if (comodel.activeName && this.ctx.active_test !== false) rows = rows.filter((r) => r[comodel.activeName!] === true);
    const cmp = makeComparator(this, comodel, parseOrder(comodel, comodel.order));
    return rows.sort((a, b) => cmp(a, b) || a.id - b.id).map((r) => r.id);
  }

  toRead(model: Model, f: Field, row: Row): XValue {
    const v = this.value(model, f, row);
    switch (f.type) {
      case 'integer': {
        const n = typeof v === 'number' ? v : 0;
        return n > 2 ** 31 - 1 ? new XDouble(n) : n; // Odoo sends oversized ints as floats
      }
      case 'float':
      case 'monetary':
        return new XDouble(typeof v === 'number' ? v : 0);
      case 'boolean':
        return Boolean(v);
      case 'datetime':
        return typeof v === 'number' ? formatDatetime(v) : false;
      case 'many2one': {
        if (typeof v !== 'number') return false;
        const comodel = this.model(f.relation!);
        const r = this.row(comodel.name, v);
        return r ? [v, this.displayName(comodel, r)] : false;
      }
      case 'many2many':
      case 'one2many':
        return this.x2manyForRead(f, (v as number[]) ?? []);
      case 'json':
        return v === null || v === undefined ? false : (v as XValue);
      default:
        if (v === null || v === undefined || v === false) return false;
        return typeof v === 'string' ? v : String(v);
    }
  }

  read(modelName: string, ids: number[], fields: XValue | undefined): Array<Record<string, XValue>> {
    const model = this.model(modelName);
    this.checkAccess(model, 'read');
    const fs = this.checkFieldNames(model, fields);
    // _read_format silently drops records that do not exist (any more)
    const rows = ids.map((id) => this.row(modelName, id)).filter((r): r is Row => r !== undefined);
    return this.readRows(model, rows, fs);
  }

  // ---- create / write / unlink
  private missing(model: Model, ids: number[]): void {
    const missing = ids.filter((id) => !this.row(model.name, id));
    if (missing.length) {
      const recs = missing.length === 1 ? `${missing[0]},` : missing.slice(0, 6).join(', ');
      throw new OdooError(
        'odoo.exceptions.MissingError',
        `Record does not exist or has been deleted.\n(Record: ${model.name}(${recs}), User: ${this.uid})`,
      );
    }
  }

  private notNull(model: Model, f: Field): OdooError {
    return new OdooError(
      'odoo.exceptions.ValidationError',
      'The operation cannot be completed:\n' +
        '- Create/update: a mandatory field is not set.\n' +
        '- Delete: another model requires the record being deleted. If possible, archive it instead.\n\n' +
        `Model: ${model.description} (${model.name})\n` +
        `Field: ${f.string} (${f.name})\n`,
    );
  }

  /** x2many commands (Command.create/update/delete/unlink/link/clear/set) or a plain id list. */
  private x2manyCommands(f: Field, value: XValue): Array<[number, number, XValue]> {
    if (value === false || value === null) return [[5, 0, false]];
    if (!Array.isArray(value)) throw valueError(`Wrong value for ${f.model}.${f.name}: ${pyRepr(value)}`);
    if (value.every((x) => typeof x === 'number')) return [[6, 0, value]];
    return value.map((c) => {
      if (!Array.isArray(c) || typeof c[0] !== 'number') throw valueError(`Wrong value for ${f.model}.${f.name}: ${pyRepr(value)}`);
      return [c[0], (c[1] as number) ?? 0, (c[2] as XValue) ?? false];
    });
  }

  private applyX2many(_model: Model, f: Field, id: number, current: number[], value: XValue): number[] {
    const comodel = this.model(f.relation!);
    let ids = current.slice();
    for (const [cmd, cid, arg] of this.x2manyCommands(f, value)) {
      switch (cmd) {
        case 0: {
          const vals = { ...(arg as Record<string, XValue>) };
          if (f.type === 'one2many') vals[f.relationField!] = id;
          const [nid] = this.create(comodel.name, [vals]);
          if (!ids.includes(nid)) ids.push(nid);
          break;
        }
        case 1:
          this.write(comodel.name, [cid], arg as Record<string, XValue>);
          break;
        case 2:
          this.unlink(comodel.name, [cid]);
          ids = ids.filter((x) => x !== cid);
          break;
        case 3:
          if (f.type === 'one2many') this.write(comodel.name, [cid], { [f.relationField!]: false });
          ids = ids.filter((x) => x !== cid);
          break;
        case 4:
          if (f.type === 'one2many') this.write(comodel.name, [cid], { [f.relationField!]: id });
          if (!ids.includes(cid)) ids.push(cid);
          break;
        case 5:
          if (f.type === 'one2many') for (const x of ids) this.write(comodel.name, [x], { [f.relationField!]: false });
          ids = [];
          break;
        case 6: {
          const next = ((arg as number[]) ?? []).filter((x, i, a) => a.indexOf(x) === i);
          if (f.type === 'one2many') {
            for (const x of ids) if (!next.includes(x)) this.write(comodel.name, [x], { [f.relationField!]: false });
            for (const x of next) this.write(comodel.name, [x], { [f.relationField!]: id });
          }
          ids = next;
          break;
        }
        default:
          throw valueError(`Wrong value for ${f.model}.${f.name}: ${pyRepr(value)}`);
      }
    }
    return ids;
  }

  /** Validates and converts values into a new row; returns it with the x2many values to apply after insert. */
  prepareCreate(model: Model, vals: Record<string, XValue>, id: number): { row: Row; post: Array<[Field, XValue]> } {
    const row: Row = { id };
    const post: Array<[Field, XValue]> = [];
    for (const [k, v] of Object.entries(vals)) {
      const f = model.fields.get(k);
      if (!f) throw valueError(`Invalid field ${pyRepr(k)} on model ${pyRepr(model.name)}`);
      if (k === 'id' || k === 'display_name' || (!f.store && f.type !== 'one2many')) continue;
      if (f.type === 'one2many') post.push([f, v]);
      else if (f.type === 'many2many') row[k] = this.applyX2many(model, f, id, [], v);
      else row[k] = scalarForWrite(f, v);
    }
    for (const f of model.fields.values()) {
      if (f.magic || !f.store || k(row, f.name)) continue;
      if (f.default !== undefined) row[f.name] = scalarForWrite(f, f.default);
      else if (f.name === model.activeName) row[f.name] = true;
    }
    // _prepare_create_values: setdefault of the log-access fields
    if (!k(row, 'create_uid')) row.create_uid = this.uid;
    if (!k(row, 'create_date')) row.create_date = this.now;
    if (!k(row, 'write_uid')) row.write_uid = this.uid;
    if (!k(row, 'write_date')) row.write_date = this.now;
    for (const f of model.fields.values()) {
      if (f.store && f.required && (row[f.name] === null || row[f.name] === undefined)) throw this.notNull(model, f);
    }
    return { row, post };
  }

  insertPrepared(model: Model, prepared: { row: Row; post: Array<[Field, XValue]> }): void {
    this.inverse.clear();
    this.db.table(model.name).set(prepared.row.id, prepared.row);
    for (const [f, v] of prepared.post) this.applyX2many(model, f, prepared.row.id, [], v);
  }

  create(modelName: string, valsList: Array<Record<string, XValue>>): number[] {
    const model = this.model(modelName);
    this.checkAccess(model, 'create');
    const ids: number[] = [];
    for (const vals of valsList) {
      if (typeof vals !== 'object' || vals === null || Array.isArray(vals)) {
        throw new OdooError('builtins.TypeError', `create() values must be dicts, got ${pyRepr(vals as XValue)}`);
      }
      const id = this.db.nextId(modelName);
      this.insertPrepared(model, this.prepareCreate(model, vals, id));
      ids.push(id);
    }
    return ids;
  }

  write(modelName: string, ids: number[], vals: Record<string, XValue>): true {
    const model = this.model(modelName);
    this.checkAccess(model, 'write');
    if (typeof vals !== 'object' || vals === null || Array.isArray(vals)) {
      throw new OdooError('builtins.AttributeError', `'${Array.isArray(vals) ? 'list' : typeof vals}' object has no attribute 'items'`);
    }
    for (const key of Object.keys(vals)) {
      if (!model.fields.has(key)) throw valueError(`Invalid field ${pyRepr(key)} on model ${pyRepr(model.name)}`);
    }
    this.missing(model, ids);
    for (const id of ids) {
      const row = this.row(modelName, id)!;
      const next: Row = { ...row };
      const post: Array<[Field, XValue]> = [];
      for (const [key, v] of Object.entries(vals)) {
        const f = model.fields.get(key)!;
        if (key === 'id' || key === 'display_name' || (!f.store && f.type !== 'one2many')) continue;
        if (f.type === 'one2many') post.push([f, v]);
        else if (f.type === 'many2many') next[key] = this.applyX2many(model, f, id, (row[key] as number[]) ?? [], v);
        else {
          next[key] = scalarForWrite(f, v);
          if (f.required && next[key] === null) throw this.notNull(model, f);
        }
      }
      // write(): vals.setdefault('write_uid', uid); vals.setdefault('write_date', cr.now())
      if (!('write_uid' in vals)) next.write_uid = this.uid;
      if (!('write_date' in vals)) next.write_date = this.now;
      this.db.table(modelName).set(id, next);
      this.inverse.clear();
      for (const [f, v] of post) this.applyX2many(model, f, id, this.x2manyIds(model, f, next), v);
    }
    return true;
  }

  unlink(modelName: string, ids: number[]): true {
    const model = this.model(modelName);
    this.checkAccess(model, 'unlink');
    this.missing(model, ids);
    const gone = new Set(ids);
    // ondelete: required many2one = restrict, otherwise set null; many2many rows of the relation table go
    for (const other of this.registry.models.values()) {
      for (const f of other.fields.values()) {
        if (f.relation !== modelName || !f.store) continue;
        for (const r of this.db.table(other.name).values()) {
          if (f.type === 'many2one' && typeof r[f.name] === 'number' && gone.has(r[f.name] as number)) {
            if (other.name === modelName && gone.has(r.id)) continue;
            if (f.required) {
              throw new OdooError(
                'odoo.exceptions.ValidationError',
                'The operation cannot be completed: another model requires the record being deleted. If possible, archive it instead.\n\n' +
                  `Model: ${other.description} (${other.name}), Constraint: ${other.name.replace(/\./g, '_')}_${f.name}_fkey`,
              );
            }
          }
        }
      }
    }
    for (const other of this.registry.models.values()) {
      for (const f of other.fields.values()) {
        if (f.relation !== modelName || !f.store) continue;
        for (const r of this.db.table(other.name).values()) {
          // database-level ON DELETE: the referencing row's write_date does not move
          if (f.type === 'many2one' && typeof r[f.name] === 'number' && gone.has(r[f.name] as number)) r[f.name] = null;
          if (f.type === 'many2many' && Array.isArray(r[f.name])) r[f.name] = (r[f.name] as number[]).filter((x) => !gone.has(x));
        }
      }
    }
    for (const id of ids) this.db.table(modelName).delete(id);
    this.inverse.clear();
    return true;
  }

  fieldsGet(modelName: string, allfields: XValue | undefined, attributes: XValue | undefined): Record<string, XValue> {
    const model = this.model(modelName);
    // fields_get never raises on ACL: without write/create access every field is readonly
    const readonly = !(this.hasAccess(model, 'write') || this.hasAccess(model, 'create'));
    const wanted = Array.isArray(allfields) && allfields.length ? new Set(allfields as string[]) : null;
    const attrs = Array.isArray(attributes) && attributes.length ? new Set(attributes as string[]) : null;
    const out: Record<string, XValue> = {};
    for (const f of model.fields.values()) {
      if (wanted && !wanted.has(f.name)) continue;
      const d: Record<string, XValue> = {
        change_default: false,
        company_dependent: false,
        depends: f.store || f.type === 'one2many' ? [] : [],
        exportable: true,
        groupable: f.store,
        manual: false,
        name: f.name,
        readonly: readonly || f.readonly,
        required: f.required,
        searchable: f.store || f.type === 'one2many' || f.name === 'display_name',
        sortable: f.store && f.type !== 'many2many',
        store: f.store,
        string: f.string,
        type: f.type,
      };
      if (f.help) d.help = f.help;
      if (f.type === 'char' || f.type === 'text' || f.type === 'html') d.translate = false;
      if (f.type === 'many2one' || f.type === 'many2many' || f.type === 'one2many') {
        d.relation = f.relation!;
        d.context = {};
        d.domain = [];
      }
      if (f.type === 'one2many') d.relation_field = f.relationField!;
      if (f.type === 'selection') d.selection = (f.selection ?? []).map(([a, b]) => [a, b]);
      if (attrs) for (const key of Object.keys(d)) if (!attrs.has(key)) delete d[key];
      out[f.name] = d;
    }
    return out;
  }
}

function k(row: Row, name: string): boolean {
  return row[name] !== undefined;
}

