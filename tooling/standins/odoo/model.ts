// Model/field schema and value conversions, following Odoo 17's odoo/fields.py and odoo/models.py.
import { OdooError, valueError } from './errors';
import { XBinary, XDateTime, XValue, pyRepr } from './xmlrpc';

export type FieldType =
  | 'char'
  | 'text'
  | 'html'
  | 'integer'
  | 'float'
  | 'monetary'
  | 'boolean'
  | 'date'
  | 'datetime'
  | 'selection'
  | 'many2one'
  | 'one2many'
  | 'many2many'
  | 'binary'
  | 'json';

export type Row = { id: number; [field: string]: unknown };

export interface FieldSpec {
  type: FieldType;
  string?: string;
  help?: string;
  /** comodel of many2one / one2many / many2many */
  relation?: string;
  /** one2many: the many2one field on the comodel that points back */
  relationField?: string;
  selection?: Array<[string, string]> | string[];
  /** default true; false = non-stored computed field (listed by fields_get with store false) */
  store?: boolean;
  required?: boolean;
  readonly?: boolean;
  /** value for non-stored fields; receives the stored row (internal representation) */
  compute?: (row: Row) => unknown;
  /** create() default when the key is absent (an `active` boolean defaults to true as in Odoo) */
  default?: unknown;
}

export interface ModelSpec {
  description?: string;
  fields: Record<string, FieldSpec>;
  /** Odoo `_order`; default "id" */
  order?: string;
  /** Odoo `_rec_name`; default "name" when such a field exists */
  recName?: string;
}

export interface Field {
  name: string;
  model: string;
  type: FieldType;
  string: string;
  help?: string;
  relation?: string;
  relationField?: string;
  selection?: Array<[string, string]>;
  store: boolean;
  required: boolean;
  readonly: boolean;
  compute?: (row: Row) => unknown;
  default?: unknown;
  magic: boolean;
}

export interface Model {
  name: string;
  description: string;
  fields: Map<string, Field>;
  order: string;
  recName: string | null;
  activeName: string | null;
}

/** Field label like Odoo's default: "partner_id" -> "Partner", "date_due" -> "Date Due". */
function defaultLabel(name: string): string {
  let n = name;
  if (n.endsWith('_ids')) n = n.slice(0, -4);
  else if (n.endsWith('_id')) n = n.slice(0, -3);
  return n
    .split('_')
    .filter(Boolean)
    .map((w) => w[0].toUpperCase() + w.slice(1))
    .join(' ');
}

export function buildModel(name: string, spec: ModelSpec): Model {
  const fields = new Map<string, Field>();
  const add = (fname: string, f: FieldSpec, magic: boolean) => {
    if ((f.type === 'many2one' || f.type === 'many2many' || f.type === 'one2many') && !f.relation) {
      throw new Error(`${name}.${fname}: relational field needs relation`);
    }
    if (f.type === 'one2many' && !f.relationField) throw new Error(`${name}.${fname}: one2many needs relationField`);
    const selection = f.selection?.map((s) => (Array.isArray(s) ? s : ([s, s] as [string, string])));
    const store = f.store ?? true;
    fields.set(fname, {
      name: fname,
      model: name,
      type: f.type,
      string: f.string ?? defaultLabel(fname),
      help: f.help,
      relation: f.relation,
      relationField: f.relationField,
      selection,
      store: f.type === 'one2many' ? false : store,
      required: f.required ?? false,
      readonly: f.readonly ?? (magic || (!store && f.type !== 'one2many')),
      compute: f.compute,
      default: f.default,
      magic,
    });
  };
  add('id', { type: 'integer', string: 'ID' }, true);
  for (const [fname, f] of Object.entries(spec.fields)) {
    if (['id', 'display_name', 'create_uid', 'create_date', 'write_uid', 'write_date'].includes(fname)) {
      throw new Error(`${name}.${fname} is a magic field defined by the stand-in`);
    }
    add(fname, f, false);
  }
  add('display_name', { type: 'char', string: 'Display Name', store: false }, true);
  add('create_uid', { type: 'many2one', relation: 'res.users', string: 'Created by' }, true);
  add('create_date', { type: 'datetime', string: 'Created on' }, true);
  add('write_uid', { type: 'many2one', relation: 'res.users', string: 'Last Updated by' }, true);
  add('write_date', { type: 'datetime', string: 'Last Updated on' }, true);
  const recName = spec.recName ?? (spec.fields.name ? 'name' : null);
  if (recName && !fields.has(recName)) throw new Error(`${name}: recName ${recName} is not a field`);
  const active = spec.fields.active;
  return {
    name,
    description: spec.description ?? name,
    fields,
    order: spec.order ?? 'id',
    recName,
    activeName: active && active.type === 'boolean' ? 'active' : null,
  };
}

// ---- time: datetimes are kept as microseconds since the epoch (UTC), like PostgreSQL timestamps ----

const hrBase = BigInt(Date.now()) * 1000n - process.hrtime.bigint() / 1000n;
let lastNow = 0;
/** Current time in microseconds; strictly increasing so two transactions never share a start. */
export function nowMicros(): number {
  let t = Number(hrBase + process.hrtime.bigint() / 1000n);
  if (t <= lastNow) t = lastNow + 1;
  lastNow = t;
  return t;
}

export const microsFromDate = (d: Date) => d.getTime() * 1000;

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

/** Odoo's Datetime.to_string: "%Y-%m-%d %H:%M:%S" — whole seconds, UTC. */
export function formatDatetime(us: number): string {
  const d = new Date(Math.floor(us / 1e6) * 1000);
  return (
    `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ` +
    `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`
  );
}

/** PostgreSQL's timestamp::text (microseconds only when non-zero); used for LIKE on datetimes. */
export function datetimeText(us: number): string {
  const frac = ((us % 1e6) + 1e6) % 1e6;
  return formatDatetime(us) + (frac ? '.' + pad(frac, 6).replace(/0+$/, '') : '');
}

const DT_RE = /^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?)?$/;

function validDate(y: number, m: number, d: number): boolean {
  const t = new Date(Date.UTC(y, m - 1, d));
  return t.getUTCFullYear() === y && t.getUTCMonth() === m - 1 && t.getUTCDate() === d;
}

/** A timestamp literal as PostgreSQL reads it in a domain comparison (keeps fractional seconds). */
export function parseTimestampLiteral(s: string): number {
  const m = DT_RE.exec(s.trim());
  if (!m || !validDate(+m[1], +m[2], +m[3]) || +(m[4] ?? 0) > 23 || +(m[5] ?? 0) > 59 || +(m[6] ?? 0) > 59) {
    throw new OdooError('psycopg2.errors.InvalidDatetimeFormat', `invalid input syntax for type timestamp: "${s}"`);
  }
  const ms = Date.UTC(+m[1], +m[2] - 1, +m[3], +(m[4] ?? 0), +(m[5] ?? 0), +(m[6] ?? 0));
  const frac = m[7] ? Number(m[7].padEnd(6, '0')) : 0;
  return ms * 1000 + frac;
}

/** XML-RPC dateTime.iso8601 ("20240102T10:11:12") -> Odoo datetime string. */
export function isoBasicToOdoo(raw: string): string {
  const m = /^(\d{4})-?(\d{2})-?(\d{2})T(\d{2}):?(\d{2}):?(\d{2})/.exec(raw);
  if (!m) throw valueError(`time data ${pyRepr(raw)} does not match format '%Y%m%dT%H:%M:%S'`);
  return `${m[1]}-${m[2]}-${m[3]} ${m[4]}:${m[5]}:${m[6]}`;
}

/** Odoo's Datetime.to_datetime for written values: seconds precision, date-only -> midnight. */
export function datetimeForWrite(v: unknown, f: Field): number | null {
  if (v === false || v === null || v === undefined || v === '') return null;
  if (v instanceof Date) return microsFromDate(v);
  let s: string;
  if (v instanceof XDateTime) s = isoBasicToOdoo(v.raw);
  else if (typeof v === 'string') s = v;
  else throw valueError(`Wrong value for ${f.model}.${f.name}: ${pyRepr(v as XValue)}`);
  const m = /^(\d{4})-(\d{2})-(\d{2})(?: (\d{2}):(\d{2}):(\d{2}))?/.exec(s.slice(0, 19));
  if (!m || (s.length > 10 && !m[4]) || !validDate(+m[1], +m[2], +m[3])) {
    throw valueError(`time data ${pyRepr(s.slice(0, 19))} does not match format '%Y-%m-%d %H:%M:%S'`);
  }
  return Date.UTC(+m[1], +m[2] - 1, +m[3], +(m[4] ?? 0), +(m[5] ?? 0), +(m[6] ?? 0)) * 1000;
}

export function dateForWrite(v: unknown, f: Field): string | null {
  if (v === false || v === null || v === undefined || v === '') return null;
  if (v instanceof Date) return v.toISOString().slice(0, 10);
  let s: string;
  if (v instanceof XDateTime) s = isoBasicToOdoo(v.raw);
  else if (typeof v === 'string') s = v;
  else throw valueError(`Wrong value for ${f.model}.${f.name}: ${pyRepr(v as XValue)}`);
  const d = s.slice(0, 10);
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(d);
  if (!m || !validDate(+m[1], +m[2], +m[3])) {
    throw valueError(`time data ${pyRepr(d)} does not match format '%Y-%m-%d'`);
  }
  return d;
}

/**
 * convert_to_column for a scalar (non-x2many) field: the internal value stored for a written value.
 * Integer/float write False as 0 (Odoo: int(value or 0) / float(value or 0.0)); booleans bool(value).
 */
export function scalarForWrite(f: Field, v: unknown): unknown {
  switch (f.type) {
    case 'char':
    case 'text':
    case 'html':
      if (v === false || v === null || v === undefined) return null;
      if (typeof v === 'string') return v;
      if (typeof v === 'number' || typeof v === 'boolean') return String(v);
      throw valueError(`Wrong value for ${f.model}.${f.name}: ${pyRepr(v as XValue)}`);
    case 'integer': {
      if (v === false || v === null || v === undefined) return 0;
      const n = typeof v === 'string' && /^[+-]?\d+$/.test(v.trim()) ? Number(v) : v;
      if (typeof n === 'boolean') return n ? 1 : 0;
      if (typeof n !== 'number' || !Number.isFinite(n)) {
        throw valueError(`invalid literal for int() with base 10: ${pyRepr(v as XValue)}`);
      }
      return Math.trunc(n);
    }
    case 'float':
    case 'monetary': {
      if (v === false || v === null || v === undefined) return 0;
      const n = typeof v === 'string' && v.trim() !== '' && !Number.isNaN(Number(v)) ? Number(v) : v;
      if (typeof n === 'boolean') return n ? 1 : 0;
      if (typeof n !== 'number') throw valueError(`could not convert string to float: ${pyRepr(v as XValue)}`);
      return n;
    }
    case 'boolean':
      return Boolean(v) && !(Array.isArray(v) && v.length === 0);
    case 'date':
      return dateForWrite(v, f);
    case 'datetime':
      return datetimeForWrite(v, f);
    case 'selection':
      if (v === false || v === null || v === undefined) return null;
      if (typeof v !== 'string' || !(f.selection ?? []).some(([k]) => k === v)) {
        throw valueError(`Wrong value for ${f.model}.${f.name}: ${pyRepr(v as XValue)}`);
      }
      return v;
    case 'many2one':
      if (v === false || v === null || v === undefined || v === 0) return null;
      if (typeof v === 'number' && Number.isInteger(v)) return v;
      if (Array.isArray(v) && typeof v[0] === 'number') return v[0];
      throw valueError(`Wrong value for ${f.model}.${f.name}: ${pyRepr(v as XValue)}`);
    case 'binary':
      if (v === false || v === null || v === undefined) return null;
      if (v instanceof XBinary) return v.base64;
      if (Buffer.isBuffer(v)) return v.toString('base64');
      if (typeof v === 'string') return v;
      throw valueError(`Wrong value for ${f.model}.${f.name}: ${pyRepr(v as XValue)}`);
    case 'json':
      if (v === false || v === null || v === undefined) return null;
      return JSON.parse(JSON.stringify(v));
    default:
      throw new Error(`not a scalar field: ${f.type}`);
  }
}
