// Self-tests of the Odoo stand-in: raw HTTP + hand-written XML-RPC bodies, as in Odoo's
// external API documentation; responses are read with a small decoder written here, independent
// of the stand-in's codec.
import * as net from 'node:net';
import fc from 'fast-check';
import { OdooStandin, startOdooStandin } from '../../../tooling/standins/odoo/server';

type V = null | boolean | number | string | V[] | { [k: string]: V } | { double: number } | { dt: string } | { b64: string };

// ---------------------------------------------------------------- independent client helpers

function esc(s: string) {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
/** JS -> XML-RPC, written by hand for the tests */
function x(v: V): string {
  if (v === null) return '<value><nil/></value>';
  if (typeof v === 'boolean') return `<value><boolean>${v ? 1 : 0}</boolean></value>`;
  if (typeof v === 'number') return Number.isInteger(v) ? `<value><int>${v}</int></value>` : `<value><double>${v}</double></value>`;
  if (typeof v === 'string') return `<value><string>${esc(v)}</string></value>`;
  if (Array.isArray(v)) return `<value><array><data>${v.map(x).join('')}</data></array></value>`;
  if ('double' in v && typeof v.double === 'number') return `<value><double>${v.double}</double></value>`;
  if ('dt' in v && typeof v.dt === 'string') return `<value><dateTime.iso8601>${v.dt}</dateTime.iso8601></value>`;
  if ('b64' in v && typeof v.b64 === 'string') return `<value><base64>${v.b64}</base64></value>`;
  return `<value><struct>${Object.entries(v).map(([k, y]) => `<member><name>${esc(k)}</name>${x(y as V)}</member>`).join('')}</struct></value>`;
}
function call(method: string, params: V[]): string {
  return `<?xml version="1.0"?><methodCall><methodName>${method}</methodName><params>${params.map((p) => `<param>${x(p)}</param>`).join('')}</params></methodCall>`;
}

/** XML-RPC response -> JS (doubles come back as {double}) */
function decode(xml: string): { fault?: { faultCode: number; faultString: string }; value?: unknown } {
  let i = 0;
  const unesc = (s: string) => s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&amp;/g, '&');
  const skipWs = () => {
    while (/\s/.test(xml[i] ?? '')) i++;
  };
  const expect = (tag: string) => {
    skipWs();
    if (!xml.startsWith(tag, i)) throw new Error(`expected ${tag} at ${i}: ${xml.slice(i, i + 40)}`);
    i += tag.length;
  };
  const until = (tag: string) => {
    const e = xml.indexOf(tag, i);
    const s = xml.slice(i, e);
    i = e + tag.length;
    return unesc(s);
  };
  const value = (): unknown => {
    expect('<value>');
    skipWs();
    const m = /^<([a-zA-Z0-9.]+)(\/?)>/.exec(xml.slice(i));
    if (!m) return until('</value>');
    i += m[0].length;
    let out: unknown;
    const t = m[1];
    if (m[2] === '/') out = null;
    else if (t === 'int' || t === 'i4') out = Number(until(`</${t}>`));
    else if (t === 'double') out = { double: Number(until('</double>')) };
    else if (t === 'boolean') out = until('</boolean>') === '1';
    else if (t === 'string') out = until('</string>');
    else if (t === 'base64') out = { b64: until('</base64>').trim() };
    else if (t === 'array') {
      expect('<data>');
      const arr: unknown[] = [];
      for (;;) {
        skipWs();
        if (xml.startsWith('</data>', i)) break;
        arr.push(value());
      }
      expect('</data>');
      expect('</array>');
      out = arr;
    } else if (t === 'struct') {
      const o: Record<string, unknown> = {};
      for (;;) {
        skipWs();
        if (xml.startsWith('</struct>', i)) break;
        expect('<member>');
        expect('<name>');
        const k = until('</name>');
        o[k] = value();
        expect('</member>');
      }
      expect('</struct>');
      out = o;
    } else throw new Error(`unexpected <${t}>`);
    expect('</value>');
    return out;
  };
  i = xml.indexOf('<methodResponse>') + '<methodResponse>'.length;
  skipWs();
  if (xml.startsWith('<fault>', i)) {
    i += 7;
    return { fault: value() as { faultCode: number; faultString: string } };
  }
  expect('<params>');
  expect('<param>');
  return { value: value() };
}

let s: OdooStandin;
let uid: number;
const DB = 'odoo';

async function post(path: string, body: string, method = 'POST') {
  const r = await fetch(s.url + path, { method, headers: { 'Content-Type': 'text/xml' }, body: method === 'POST' ? body : undefined });
  return { status: r.status, text: await r.text() };
}
async function rpc(service: string, method: string, params: V[]) {
  const r = await post(`/xmlrpc/2/${service}`, call(method, params));
  expect(r.status).toBe(200);
  return { ...decode(r.text), raw: r.text };
}
async function kw(model: string, method: string, args: V[], kwargs?: Record<string, V>, password = 'pw') {
  const params: V[] = [DB, uid, password, model, method, args];
  if (kwargs) params.push(kwargs);
  return rpc('object', 'execute_kw', params);
}
async function ok(model: string, method: string, args: V[], kwargs?: Record<string, V>): Promise<any> {
  const r = await kw(model, method, args, kwargs);
  if (r.fault) throw new Error(`unexpected fault ${r.fault.faultCode}: ${r.fault.faultString}`);
  return r.value;
}

beforeAll(async () => {
  s = await startOdooStandin();
  s.defineModel('res.country', { description: 'Country', fields: { name: { type: 'char', required: true }, code: { type: 'char' } }, order: 'name' });
  s.defineModel('res.partner.category', { description: 'Partner Tags', fields: { name: { type: 'char' } } });
  s.defineModel('res.partner', {
    description: 'Contact',
    order: 'name, id',
    fields: {
      name: { type: 'char', string: 'Name' },
      comment: { type: 'text', string: 'Notes' },
      active: { type: 'boolean' },
      is_company: { type: 'boolean' },
      country_id: { type: 'many2one', relation: 'res.country', string: 'Country' },
      category_id: { type: 'many2many', relation: 'res.partner.category', string: 'Tags' },
      child_ids: { type: 'one2many', relation: 'res.partner', relationField: 'parent_id' },
      parent_id: { type: 'many2one', relation: 'res.partner' },
      credit_limit: { type: 'float' },
      color: { type: 'integer' },
      date: { type: 'date' },
      last_seen: { type: 'datetime' },
      type: { type: 'selection', selection: [['contact', 'Contact'], ['invoice', 'Invoice Address']] },
      props: { type: 'json' },
      image: { type: 'binary' },
      upper_name: { type: 'char', store: false, compute: (r) => (typeof r.name === 'string' ? r.name.toUpperCase() : false) },
    },
  });
  s.defineModel('account.move', { description: 'Journal Entry', fields: { name: { type: 'char' } }, order: 'name desc, id desc' });
  uid = s.addUser({ login: 'admin', password: 'pw', apiKey: 'key-123' });
  s.addUser({ login: 'limited', password: 'lpw', deniedModels: ['account.move'] });
});
afterAll(async () => {
  await s.close();
});

describe('common service', () => {
  test('version() as documented', async () => {
    const r = await rpc('common', 'version', []);
    expect(r.value).toEqual({ server_version: '17.0', server_version_info: [17, 0, 0, 'final', 0, ''], server_serie: '17.0', protocol_version: 1 });
  });
  test('authenticate: uid, False on bad credentials, API key in the password slot, login()', async () => {
    expect((await rpc('common', 'authenticate', [DB, 'admin', 'pw', {}])).value).toBe(uid);
    const bad = await rpc('common', 'authenticate', [DB, 'admin', 'wrong', {}]);
    expect(bad.fault).toBeUndefined();
    expect(bad.raw).toContain('<boolean>0</boolean>');
    expect((await rpc('common', 'authenticate', [DB, 'admin', 'key-123', {}])).value).toBe(uid);
    expect((await rpc('common', 'login', [DB, 'admin', 'pw'])).value).toBe(uid);
  });
  test('unknown database is an application fault naming the database', async () => {
    const r = await rpc('common', 'authenticate', ['nope', 'admin', 'pw', {}]);
    expect(r.fault?.faultCode).toBe(1);
    expect(r.fault?.faultString).toMatch(/psycopg2\.OperationalError: .*database "nope" does not exist/);
    const o = await rpc('object', 'execute_kw', ['nope', uid, 'pw', 'res.partner', 'search', [[]]]);
    expect(o.fault?.faultCode).toBe(1);
  });
});

describe('object service', () => {
  let countryBe: number;
  let tag: number;
  let agrolait: number;
  beforeAll(async () => {
    countryBe = s.create('res.country', { name: 'Belgium', code: 'BE' });
    tag = s.create('res.partner.category', { name: 'VIP' });
    agrolait = await ok('res.partner', 'create', [{ name: 'Agrolait', country_id: countryBe, category_id: [[6, 0, [tag]]], credit_limit: 1, color: 3, date: '2024-02-29', last_seen: '2024-03-01 10:11:12', type: 'invoice', props: { a: 1 }, image: { b64: 'aGVsbG8=' } }]);
    await ok('res.partner', 'create', [[{ name: 'Bob', is_company: true }, { name: 'carla', comment: 'x' }]]);
    s.create('res.partner', { name: 'Archived', active: false });
  });

  test('wrong password on execute_kw: faultCode 3 Access Denied', async () => {
    const r = await kw('res.partner', 'search', [[]], undefined, 'bad');
    expect(r.fault).toEqual({ faultCode: 3, faultString: 'Access Denied' });
  });

  test('values on the wire as Odoo sends them', async () => {
    const [rec] = await ok('res.partner', 'read', [[agrolait]], {
      fields: ['name', 'comment', 'country_id', 'category_id', 'credit_limit', 'color', 'date', 'last_seen', 'type', 'props', 'image', 'parent_id', 'display_name', 'upper_name', 'write_date', 'create_uid'],
    });
    expect(rec).toEqual({
      id: agrolait,
      name: 'Agrolait',
      comment: false,
      country_id: [countryBe, 'Belgium'],
      category_id: [tag],
      credit_limit: { double: 1 },
      color: 3,
      date: '2024-02-29',
      last_seen: '2024-03-01 10:11:12',
      type: 'invoice',
      props: { a: 1 },
      image: 'aGVsbG8=', // OdooMarshaller sends binary values as base64 <string>
      parent_id: false,
      display_name: 'Agrolait',
      upper_name: 'AGROLAIT',
      write_date: expect.stringMatching(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/),
      create_uid: [uid, 'admin'],
    });
    const [empty] = await ok('res.partner', 'search_read', [[['name', '=', 'Bob']]], { fields: ['credit_limit', 'color', 'date', 'country_id', 'category_id', 'type'] });
    // unset float/integer read as 0.0 / 0 (convert_to_record), other empties as false
    expect(empty).toMatchObject({ credit_limit: { double: 0 }, color: 0, date: false, country_id: false, category_id: [], type: false });
  });

  test('create returns an id for a dict and a list for a list', async () => {
    const one = await ok('res.partner', 'create', [{ name: 'Zed' }]);
    expect(typeof one).toBe('number');
    const many = await ok('res.partner', 'create', [[{ name: 'Y1' }, { name: 'Y2' }]]);
    expect(many).toEqual([one + 1, one + 2]);
    expect(await ok('res.partner', 'write', [[one], { comment: 'c' }])).toBe(true);
    expect(await ok('res.partner', 'unlink', [[one, one + 1, one + 2]])).toBe(true);
    const missing = await kw('res.partner', 'write', [[one], { comment: 'c' }]);
    expect(missing.fault?.faultCode).toBe(2);
    expect(missing.fault?.faultString).toContain('Record does not exist or has been deleted.');
  });

  test('positional and keyword forms of search_read are equivalent', async () => {
    const pos = await ok('res.partner', 'search_read', [[['is_company', '=', false]], ['name'], 1, 1, 'name asc']);
    const kwf = await ok('res.partner', 'search_read', [], { domain: [['is_company', '=', false]], fields: ['name'], offset: 1, limit: 1, order: 'name asc' });
    expect(pos).toEqual(kwf);
    expect(pos).toHaveLength(1);
    const dup = await kw('res.partner', 'search_read', [[]], { domain: [] });
    expect(dup.fault?.faultString).toContain("got multiple values for argument 'domain'");
    const unk = await kw('res.partner', 'search', [[]], { limitt: 1 });
    expect(unk.fault?.faultString).toContain("unexpected keyword argument 'limitt'");
  });

  test('active_test hides archived rows unless disabled; active in [True, False]', async () => {
    const names = async (d: V, ctx?: Record<string, V>) =>
      (await ok('res.partner', 'search_read', [d, ['name']], ctx ? { context: ctx } : undefined)).map((r: any) => r.name);
    expect(await names([])).not.toContain('Archived');
    expect(await names([], { active_test: false, lang: 'en_US' })).toContain('Archived');
    expect(await names([['active', 'in', [true, false]]])).toContain('Archived');
    expect(await names([['active', '=', false]])).toEqual(['Archived']);
  });

  test('domain operators and prefix notation', async () => {
    const ids = async (d: V) => (await ok('res.partner', 'search_read', [d, ['name']], { order: 'name' })).map((r: any) => r.name);
    expect(await ids([['name', '=', 'Bob']])).toEqual(['Bob']);
    expect(await ids([['name', 'ilike', 'AGRO']])).toEqual(['Agrolait']);
    expect(await ids([['name', 'like', 'AGRO']])).toEqual([]);
    expect(await ids([['name', '=like', 'B%']])).toEqual(['Bob']);
    expect(await ids([['name', '=ilike', 'c_rla']])).toEqual(['carla']);
    expect(await ids(['|', ['name', '=', 'Bob'], ['name', '=', 'carla']])).toEqual(['Bob', 'carla']);
    expect(await ids(['!', ['name', 'in', ['Bob', 'carla']]])).toEqual(['Agrolait']);
    expect(await ids([['name', 'not in', ['Bob']], ['comment', '=', false]])).toEqual(['Agrolait']);
    // != keeps NULLs (expression.py: "OR col IS NULL" for negative operators)
    expect(await ids([['comment', '!=', 'x']])).toEqual(['Agrolait', 'Bob']);
    expect(await ids([['color', '>', 2]])).toEqual(['Agrolait']);
    expect(await ids([['color', '<=', 2]])).toEqual([]); // NULL never compares
    expect(await ids([['country_id', '=', 'Belgium']])).toEqual(['Agrolait']); // name_search on m2o
    expect(await ids([['country_id.code', '=', 'BE']])).toEqual(['Agrolait']);
    expect(await ids([['category_id', 'in', [9999]]])).toEqual([]);
    expect(await ids([['date', '>=', '2024-02-29'], ['last_seen', '<', '2024-03-01 10:11:13']])).toEqual(['Agrolait']);
    // distribute_not: '!' negates the operator, so NULL colors stay out of both sides
    expect(await ids(['!', ['color', '>', 2]])).toEqual([]);
    expect(await ids(['!', '|', ['name', '=', 'Bob'], ['name', '=', 'carla']])).toEqual(['Agrolait']);
    const bad = await kw('res.partner', 'search', [[['name', '=']]]);
    expect(bad.fault?.faultCode).toBe(1);
    expect(bad.fault?.faultString).toContain("ValueError: Invalid leaf ('name', '=')");
  });

  test('invalid fields: fields list, domain, order', async () => {
    const f = await kw('res.partner', 'search_read', [[]], { fields: ['nope'] });
    expect(f.fault?.faultCode).toBe(1);
    expect(f.fault?.faultString).toMatch(/ValueError: Invalid field 'nope' on model 'res.partner'\n$/);
    const d = await kw('res.partner', 'search', [[['nope', '=', 1]]]);
    expect(d.fault?.faultString).toContain("ValueError: Invalid field res.partner.nope in leaf ('nope', '=', 1)");
    const o = await kw('res.partner', 'search', [[]], { order: 'nope asc' });
    expect(o.fault?.faultString).toContain("ValueError: Invalid field 'nope' on model 'res.partner'");
    const computed = await kw('res.partner', 'search', [[]], { order: 'upper_name' });
    expect(computed.fault?.faultString).toContain('ValueError: Cannot convert res.partner.upper_name to SQL because it is not stored');
    // a non-stored field without search method in a domain is ignored (logged by Odoo), not refused
    expect((await ok('res.partner', 'search', [[['upper_name', '=', 'NOBODY']]])).length).toBeGreaterThan(1);
    const syntax = await kw('res.partner', 'search', [[]], { order: 'name; drop table' });
    expect(syntax.fault?.faultCode).toBe(2);
    expect(syntax.fault?.faultString).toContain('Invalid "order" specified');
  });

  test('order, default _order, offset and limit', async () => {
    const a = s.create('account.move', { name: 'INV/1' });
    const b = s.create('account.move', { name: 'INV/2' });
    const c = s.create('account.move', { name: 'INV/2' });
    expect(await ok('account.move', 'search', [[]])).toEqual([c, b, a]); // name desc, id desc
    expect(await ok('account.move', 'search', [[]], { order: 'write_date asc, id asc' })).toEqual([a, b, c]);
    expect(await ok('account.move', 'search', [[], 1, 1, 'id asc'])).toEqual([b]);
    expect(await ok('account.move', 'search_count', [[['name', '=', 'INV/2']]])).toBe(2);
  });

  test('unknown model: fields_get {} and "Object ... doesn\'t exist" otherwise', async () => {
    const fg = await kw('x.nope', 'fields_get', [], { attributes: ['type'] });
    expect(fg.value).toEqual({});
    const se = await kw('x.nope', 'search', [[]]);
    expect(se.fault).toEqual({ faultCode: 2, faultString: "Object x.nope doesn't exist" });
  });

  test('fields_get with attributes filter lists stored, computed and magic fields', async () => {
    const fg = await ok('res.partner', 'fields_get', [], { attributes: ['type', 'store', 'relation'] });
    expect(fg.country_id).toEqual({ type: 'many2one', store: true, relation: 'res.country' });
    expect(fg.upper_name).toEqual({ type: 'char', store: false });
    expect(fg.write_date).toEqual({ type: 'datetime', store: true });
    expect(fg.display_name).toEqual({ type: 'char', store: false });
  });

  test('per-user ACL: faultCode 4 AccessError', async () => {
    const limited = (await rpc('common', 'authenticate', [DB, 'limited', 'lpw', {}])).value as number;
    const r = await rpc('object', 'execute_kw', [DB, limited, 'lpw', 'account.move', 'search_read', [[]]]);
    expect(r.fault?.faultCode).toBe(4);
    expect(r.fault?.faultString).toMatch(/^You are not allowed to access 'Journal Entry' \(account\.move\) records\./);
    const chk = await rpc('object', 'execute_kw', [DB, limited, 'lpw', 'account.move', 'check_access_rights', ['read'], { raise_exception: false }]);
    expect(chk.raw).toContain('<boolean>0</boolean>');
    expect((await ok('account.move', 'check_access_rights', ['read'], { raise_exception: false }))).toBe(true);
    const fg = await rpc('object', 'execute_kw', [DB, limited, 'lpw', 'account.move', 'fields_get', [], { attributes: ['readonly'] }]);
    expect((fg.value as any).name).toEqual({ readonly: true });
  });
});

describe('writes and edge cases', () => {
  test('required, selection, x2many commands, restrict, missing ids, big integers, archived users', async () => {
    const t = await startOdooStandin();
    try {
      t.defineModel('t.tag', { description: 'Tag', fields: { name: { type: 'char' }, active: { type: 'boolean' } } });
      t.defineModel('t.order', {
        description: 'Order',
        fields: {
          name: { type: 'char', required: true },
          state: { type: 'selection', selection: ['draft', 'done'] },
          big: { type: 'integer' },
          when: { type: 'datetime' },
          tag_ids: { type: 'many2many', relation: 't.tag' },
          line_ids: { type: 'one2many', relation: 't.line', relationField: 'order_id' },
        },
      });
      t.defineModel('t.line', { description: 'Line', fields: { name: { type: 'char' }, order_id: { type: 'many2one', relation: 't.order', required: true } } });
      const u = t.addUser({ login: 'u', password: 'p' });
      t.addUser({ login: 'gone', password: 'p', active: false });
      const q = async (model: string, method: string, args: V[], kwargs: Record<string, V> = {}) => {
        const r = await fetch(t.url + '/xmlrpc/2/object', { method: 'POST', body: call('execute_kw', ['odoo', u, 'p', model, method, args, kwargs]) });
        return decode(await r.text()) as { fault?: { faultCode: number; faultString: string }; value?: any };
      };
      const req = await q('t.order', 'create', [{ state: 'draft' }]);
      expect(req.fault?.faultCode).toBe(2);
      expect(req.fault?.faultString).toContain('Field: Name (name)');
      const sel = await q('t.order', 'create', [{ name: 'o', state: 'nope' }]);
      expect(sel.fault?.faultString).toContain("ValueError: Wrong value for t.order.state: 'nope'");
      const t1 = t.create('t.tag', { name: 'a' });
      const t2 = t.create('t.tag', { name: 'b', active: false });
      const oid = (await q('t.order', 'create', [{ name: 'o', big: 3000000000, when: '2024-01-02', tag_ids: [[6, 0, [t1, t2]]], line_ids: [[0, 0, { name: 'l1' }], [0, 0, { name: 'l2' }]] }])).value as number;
      const [o] = (await q('t.order', 'read', [[oid, 999], ['big', 'when', 'tag_ids', 'line_ids']])).value;
      expect(o).toEqual({ id: oid, big: { double: 3000000000 }, when: '2024-01-02 00:00:00', tag_ids: [t1], line_ids: [1, 2] });
      const [o2] = (await q('t.order', 'read', [[oid], ['tag_ids']], { context: { active_test: false } })).value;
      expect(o2.tag_ids).toEqual([t1, t2]);
      await q('t.order', 'write', [[oid], { tag_ids: [[3, t1]], line_ids: [[2, 1]] }]);
      expect((await q('t.order', 'read', [[oid], ['tag_ids', 'line_ids']], { context: { active_test: false } })).value[0]).toMatchObject({ tag_ids: [t2], line_ids: [2] });
      const restrict = await q('t.order', 'unlink', [[oid]]);
      expect(restrict.fault?.faultCode).toBe(2);
      expect(restrict.fault?.faultString).toContain('another model requires the record being deleted');
      expect((await q('t.order', 'search', [[['when', '>=', '2024-01-02'], ['when', '<=', '2024-01-02']]])).value).toEqual([oid]);
      expect((await q('t.order', 'search', [[['state', '=?', false]]])).value).toEqual([oid]);
      expect((await q('t.order', 'search', [[['line_ids', 'any', [['name', '=', 'l2']]]]])).value).toEqual([oid]);
      expect((await q('t.order', 'search', [[['line_ids', 'not any', [['name', '=', 'l2']]]]])).value).toEqual([]);
      const auth = await fetch(t.url + '/xmlrpc/2/common', { method: 'POST', body: call('authenticate', ['odoo', 'gone', 'p', {}]) });
      expect(await auth.text()).toContain('<boolean>0</boolean>');
    } finally {
      await t.close();
    }
  });
});

describe('magic fields and transactions', () => {
  test('write_date is the transaction start, whole seconds on the wire, microseconds inside', async () => {
    const at = new Date('2024-05-01T10:00:00.750Z');
    const id = s.create('res.partner', { name: 'Tick' }, { at });
    const [r] = await ok('res.partner', 'read', [[id], ['write_date', 'create_date']]);
    expect(r).toEqual({ id, write_date: '2024-05-01 10:00:00', create_date: '2024-05-01 10:00:00' });
    // PostgreSQL compares the stored microseconds with the literal
    expect(await ok('res.partner', 'search', [[['write_date', '>', '2024-05-01 10:00:00']]])).toContain(id);
    expect(await ok('res.partner', 'search', [[['write_date', '=', '2024-05-01 10:00:00']]])).not.toContain(id);
    expect(s.timestamps('res.partner', id)?.write_date).toBe(at.getTime() * 1000);
  });

  test('late commit: visible only after commit, stamped with its older start time', async () => {
    const tx = s.begin(new Date('2024-01-01T00:00:00Z'));
    const id = tx.create('res.partner', { name: 'Late' });
    expect(await ok('res.partner', 'search', [[['name', '=', 'Late']]])).toEqual([]);
    tx.commit();
    const rows = await ok('res.partner', 'search_read', [[['name', '=', 'Late']], ['write_date']]);
    expect(rows).toEqual([{ id, write_date: '2024-01-01 00:00:00' }]);
    // a late write on an existing row moves its write_date backwards once committed
    const existing = await ok('res.partner', 'create', [{ name: 'Existing' }]);
    const tx2 = s.begin(new Date('2024-01-02T00:00:00Z'));
    tx2.write('res.partner', [existing], { comment: 'late' });
    expect((await ok('res.partner', 'read', [[existing], ['comment']]))[0].comment).toBe(false);
    tx2.commit();
    expect((await ok('res.partner', 'read', [[existing], ['comment', 'write_date']]))[0]).toEqual({ id: existing, comment: 'late', write_date: '2024-01-02 00:00:00' });
    const tx3 = s.begin();
    tx3.create('res.partner', { name: 'RolledBack' });
    tx3.rollback();
    expect(await ok('res.partner', 'search', [[['name', '=', 'RolledBack']]])).toEqual([]);
  });

  test('RPC write stamps write_date/write_uid; unlink of a referenced row nulls the reference without bumping it', async () => {
    const cty = s.create('res.country', { name: 'Gone' });
    const p = s.create('res.partner', { name: 'Ref', country_id: cty }, { at: new Date('2020-01-01T00:00:00Z') });
    await ok('res.country', 'unlink', [[cty]]);
    const [r] = await ok('res.partner', 'read', [[p], ['country_id', 'write_date']]);
    expect(r).toEqual({ id: p, country_id: false, write_date: '2020-01-01 00:00:00' });
    await ok('res.partner', 'write', [[p], { comment: 'now' }]);
    const [w] = await ok('res.partner', 'read', [[p], ['write_date', 'write_uid']]);
    expect(w.write_date > '2020-01-01 00:00:00').toBe(true);
    expect(w.write_uid).toEqual([uid, 'admin']);
  });
});

describe('properties', () => {
  // Invariant: any XML-legal text written through XML-RPC reads back identical (escaping of & < >,
  // non-ASCII, tabs/newlines); CR is excluded because XML parsers turn it into LF.
  test('char values round-trip through create/read', async () => {
    const xmlChar = fc.oneof(
      fc.constantFrom('&', '<', '>', '"', "'", '\t', '\n', ']]>', ' '),
      fc.string({ unit: 'binary', maxLength: 3 }).filter((t) => !/[\x00-\x1f\ufffe\uffff]/.test(t)),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(xmlChar, { maxLength: 12 }).map((a) => a.join('')), async (text) => {
        const id = await ok('res.partner.category', 'create', [{ name: text }]);
        const [r] = await ok('res.partner.category', 'read', [[id], ['name']]);
        expect(r.name).toBe(text);
      }),
      { numRuns: 60 },
    );
  });

  // Invariant (SQL three-valued logic as Odoo emits it): for integer x possibly NULL, a leaf and its
  // '!' never both match a row, and together they match exactly the non-NULL rows (for ops whose
  // negation is a comparison) — checked against a plain JS filter.
  test('comparison leaves and their negation follow PostgreSQL NULL semantics', async () => {
    const t = await startOdooStandin();
    try {
      t.defineModel('t.n', { fields: { x: { type: 'integer' } } });
      const u = t.addUser({ login: 'u', password: 'p' });
      const q = async (d: V) => {
        const r = await fetch(t.url + '/xmlrpc/2/object', { method: 'POST', body: call('execute_kw', ['odoo', u, 'p', 't.n', 'search', [d], { order: 'id' }]) });
        return decode(await r.text()).value as number[];
      };
      const rows: Array<{ id: number; x: number | null }> = [];
      for (const x of [null, -1, 0, 1, 2, 3, null, 5]) {
        const id = t.create('t.n', x === null ? {} : { x });
        rows.push({ id, x });
      }
      await fc.assert(
        fc.asyncProperty(fc.constantFrom('=', '!=', '<', '<=', '>', '>='), fc.integer({ min: -2, max: 6 }), async (op, v) => {
          const cmp: Record<string, (a: number) => boolean> = {
            '=': (a) => a === v, '!=': (a) => a !== v, '<': (a) => a < v, '<=': (a) => a <= v, '>': (a) => a > v, '>=': (a) => a >= v,
          };
          // '!=' is the one operator Odoo extends with "OR x IS NULL"
          const expected = rows.filter((r) => (r.x === null ? op === '!=' : cmp[op](r.x))).map((r) => r.id);
          expect(await q([['x', op, v]])).toEqual(expected);
          const negated = await q(['!', ['x', op, v]]);
          const negExpected = rows.filter((r) => (r.x === null ? op === '=' : !cmp[op](r.x))).map((r) => r.id);
          expect(negated).toEqual(negExpected);
        }),
        { numRuns: 40 },
      );
    } finally {
      await t.close();
    }
  });
});

describe('protocol surface', () => {
  test('call log records service, method, model, args, kwargs and rows', async () => {
    s.resetCalls();
    await ok('res.partner', 'search_read', [[['name', '=', 'Bob']]], { fields: ['name'] });
    const [c] = s.calls();
    expect(c).toMatchObject({ service: 'object', method: 'execute_kw', model: 'res.partner', modelMethod: 'search_read', rows: 1, kwargs: { fields: ['name'] } });
    expect(c.args).toEqual([[['name', '=', 'Bob']]]);
  });

  test('XML-RPC codec: nil, i4, untyped strings, dateTime, malformed bodies', async () => {
    const body = `<?xml version="1.0"?><methodCall><methodName>execute_kw</methodName><params>
      <param><value>${DB}</value></param><param><value><i4>${uid}</i4></value></param><param><value>pw</value></param>
      <param><value>res.partner</value></param><param><value>search</value></param>
      <param><value><array><data><value><array><data><value><array><data><value>last_seen</value><value>&lt;=</value>
        <value><dateTime.iso8601>20240301T10:11:12</dateTime.iso8601></value></data></array></value></data></array></value></data></array></value></param>
      <param><value><struct><member><name>limit</name><value><nil/></value></member></struct></value></param>
      </params></methodCall>`;
    const r = await post('/xmlrpc/2/object', body);
    expect(decode(r.text).value).toHaveLength(1);
    const broken = await post('/xmlrpc/2/object', '<methodCall><methodName>x</methodName><params>');
    expect(decode(broken.text).fault?.faultCode).toBe(1);
  });

  test('HTTP: unknown paths 404, /jsonrpc 404 unless enabled, GET 405', async () => {
    expect((await post('/nope', '')).status).toBe(404);
    expect((await post('/jsonrpc', '{}')).status).toBe(404);
    expect((await post('/json/2/res.partner/search', '{}')).status).toBe(404);
    expect((await post('/xmlrpc/2/common', '', 'GET')).status).toBe(405);
  });

  test('JSON-RPC when enabled: results and errors as HTTP 200 error.data', async () => {
    const j = await startOdooStandin({ protocols: ['xmlrpc', 'jsonrpc'] });
    try {
      j.defineModel('res.partner', { fields: { name: { type: 'char' }, amount: { type: 'float' } } });
      const u = j.addUser({ login: 'a', password: 'p' });
      j.create('res.partner', { name: 'A', amount: 2 });
      const send = async (service: string, method: string, args: unknown[]) => {
        const r = await fetch(j.url + '/jsonrpc', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ jsonrpc: '2.0', method: 'call', params: { service, method, args }, id: 7 }) });
        return { status: r.status, text: await r.text() };
      };
      const login = await send('common', 'login', ['odoo', 'a', 'p']);
      expect(JSON.parse(login.text)).toEqual({ jsonrpc: '2.0', id: 7, result: u });
      const res = await send('object', 'execute', ['odoo', u, 'p', 'res.partner', 'search_read', [], ['name', 'amount']]);
      expect(res.text).toContain('"amount": 2.0');
      const err = await send('object', 'execute_kw', ['odoo', u, 'bad', 'res.partner', 'search', [[]]]);
      expect(err.status).toBe(200);
      expect(JSON.parse(err.text).error.data).toMatchObject({ name: 'odoo.exceptions.AccessDenied', message: 'Access Denied' });
    } finally {
      await j.close();
    }
  });

  test('down() refuses connections, up() serves again on the same port', async () => {
    const port = s.port;
    await s.down();
    const refused = await new Promise<string>((resolve) => {
      const c = net.connect(port, '127.0.0.1');
      c.on('connect', () => { c.destroy(); resolve('connected'); });
      c.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
    });
    expect(refused).toBe('ECONNREFUSED');
    await s.up();
    expect(s.port).toBe(port);
    expect((await rpc('common', 'version', [])).value).toMatchObject({ server_version: '17.0' });
  });
});
