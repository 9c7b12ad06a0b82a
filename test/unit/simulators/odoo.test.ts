// The Odoo simulator, exercised the way a connector uses Odoo: over real HTTP with the `xmlrpc`
// npm client (and plain fetch for JSON-2/JSON-RPC). Expected values are computed independently
// in the tests (plain JS filters over full reads), not by asking the simulator twice.

import * as http from 'http';
import * as xmlrpc from 'xmlrpc';
import { DemoCompany, OdooSimulator, RunningServer, seedDemoCompany } from '../../../tooling/simulators/odoo';

type Rec = Record<string, unknown> & { id: number };
type M2o = [number, string] | false;

interface XmlRpcError extends Error {
  faultCode?: number;
  faultString?: string;
  code?: string;
  res?: http.IncomingMessage;
}

function rpc(url: string): (method: string, params: unknown[]) => Promise<unknown> {
  const client = xmlrpc.createClient({ url });
  return (method, params) =>
    new Promise((resolve, reject) => {
      client.methodCall(method, params, (err: unknown, value: unknown) => (err ? reject(err) : resolve(value)));
    });
}

async function rpcError(p: Promise<unknown>): Promise<XmlRpcError> {
  try {
    await p;
  } catch (e) {
    return e as XmlRpcError;
  }
  throw new Error('expected the call to fail');
}

/** POST raw bytes, for checking the exact wire format. */
function post(url: string, body: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: http.IncomingHttpHeaders; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'POST', headers: { 'Content-Type': 'text/xml', ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const DB = 'odoo';
const ADMIN_KEY = '6578616d706c65206a736f6e20617069206b6579';

describe('Odoo simulator — XML-RPC (Odoo 17.0)', () => {
  let sim: OdooSimulator;
  let demo: DemoCompany;
  let server: RunningServer;
  let common: (method: string, params: unknown[]) => Promise<unknown>;
  let object: (method: string, params: unknown[]) => Promise<unknown>;
  /** execute_kw as admin with the API key. */
  const kw = (model: string, method: string, args: unknown[], kwargs: Record<string, unknown> = {}): Promise<unknown> =>
    object('execute_kw', [DB, 2, ADMIN_KEY, model, method, args, kwargs]);
  const searchRead = async (model: string, domain: unknown[], kwargs: Record<string, unknown> = {}): Promise<Rec[]> =>
    (await kw(model, 'search_read', [domain], kwargs)) as Rec[];
  const ids = (recs: Rec[]): number[] => recs.map((r) => r.id).sort((a, b) => a - b);

  beforeAll(async () => {
    sim = new OdooSimulator();
    demo = seedDemoCompany(sim);
    server = await sim.start();
    common = rpc(`${server.url}/xmlrpc/2/common`);
    object = rpc(`${server.url}/xmlrpc/2/object`);
  });
  afterAll(async () => {
    await server.close();
    expect(sim.internalErrors).toEqual([]);
  });

  describe('common service', () => {
    test('version() is the configured server version', async () => {
      expect(await common('version', [])).toEqual({
        server_version: '17.0',
        server_version_info: [17, 0, 0, 'final', 0, ''],
        server_serie: '17.0',
        protocol_version: 1,
      });
    });

    test('authenticate returns the uid for a password or an API key, False (not a fault) otherwise', async () => {
      expect(await common('authenticate', [DB, 'admin', 'admin', {}])).toBe(2);
      expect(await common('authenticate', [DB, 'admin', ADMIN_KEY, {}])).toBe(2);
      expect(await common('authenticate', [DB, 'demo', 'demo', {}])).toBe(demo.users.demo.uid);
      expect(await common('authenticate', [DB, 'admin', 'wrong', {}])).toBe(false);
      expect(await common('authenticate', [DB, 'nobody', 'admin', {}])).toBe(false);
      expect(await common('authenticate', [DB, '__system__', '', {}])).toBe(false);
      expect(await common('login', [DB, 'admin', 'admin'])).toBe(2);
    });

    test('an unknown database is a faultCode 1 OperationalError, as Registry(db) fails in Odoo', async () => {
      const err = await rpcError(common('authenticate', ['nope', 'admin', 'admin', {}]));
      expect(err.faultCode).toBe(1);
      expect(err.faultString).toMatch(/^Traceback \(most recent call last\):\n/);
      expect(err.faultString).toMatch(/psycopg2\.OperationalError: .*FATAL: {2}database "nope" does not exist\n*$/);
    });
  });

  describe('search_read, paging and order', () => {
    test('positional and keyword forms give the same answer', async () => {
      const domain = [['move_type', '=', 'out_invoice']];
      const fields = ['name', 'amount_total'];
      const positional = await kw('account.move', 'search_read', [domain, fields, 2, 5, 'id asc']);
      const keywords = await kw('account.move', 'search_read', [], { domain, fields, offset: 2, limit: 5, order: 'id asc' });
      const mixed = await kw('account.move', 'search_read', [domain], { fields, offset: 2, limit: 5, order: 'id asc' });
      expect(keywords).toEqual(positional);
      expect(mixed).toEqual(positional);
      expect((positional as Rec[]).map((r) => Object.keys(r))).toEqual(Array(5).fill(['id', 'name', 'amount_total']));
    });

    test('offset/limit pages over `write_date asc, id asc` add up to one full read, in order', async () => {
      const all = await searchRead('account.move.line', [], { fields: ['write_date'], order: 'write_date asc, id asc' });
      const pages: Rec[] = [];
      for (let offset = 0; ; offset += 17) {
        const page = await searchRead('account.move.line', [], { fields: ['write_date'], order: 'write_date asc, id asc', offset, limit: 17 });
        pages.push(...page);
        if (page.length < 17) break;
      }
      expect(pages).toEqual(all);
      expect(all.length).toBe(sim.count('account.move.line'));
      for (let i = 1; i < all.length; i++) {
        const [a, b] = [all[i - 1], all[i]];
        expect(String(a.write_date) < String(b.write_date) || (a.write_date === b.write_date && a.id < b.id)).toBe(true);
      }
    });

    test("without `order`, account.move uses its _order 'date desc, name desc, invoice_date desc, id desc'", async () => {
      const moves = await searchRead('account.move', [['state', '=', 'posted']], { fields: ['date', 'name'] });
      for (let i = 1; i < moves.length; i++) {
        const [a, b] = [moves[i - 1], moves[i]];
        const ok = String(a.date) > String(b.date) || (a.date === b.date && String(a.name) >= String(b.name));
        expect(ok).toBe(true);
      }
    });

    test('many2one order follows the comodel _order; desc/asc and bad specs', async () => {
      const byPartner = await searchRead('account.move', [['partner_id', '!=', false]], { fields: ['partner_id'], order: 'partner_id, id' });
      const names = byPartner.map((r) => (r.partner_id as [number, string])[1]);
      expect(names).toEqual([...names].sort((a, b) => a.localeCompare(b, 'en')));
      const desc = await searchRead('res.partner', [], { fields: ['id'], order: 'id desc', limit: 3 });
      expect(desc.map((r) => r.id)).toEqual([...desc.map((r) => r.id)].sort((a, b) => b - a));
      const err = await rpcError(kw('res.partner', 'search_read', [[]], { order: 'name; drop table' }));
      expect(err.faultCode).toBe(1);
      expect(err.faultString).toContain('ValueError: Invalid "order" specified (name; drop table)');
      const err2 = await rpcError(kw('res.partner', 'search', [[]], { order: 'nope asc' }));
      expect(err2.faultString).toMatch(/ValueError: Invalid field 'nope' on model 'res.partner'\n$/);
    });

    test('search, search_count, read, name_search, limit 0 means no limit', async () => {
      const all = (await kw('res.partner', 'search', [[]])) as number[];
      expect(await kw('res.partner', 'search_count', [[]])).toBe(all.length);
      expect(((await kw('res.partner', 'search', [[]], { limit: 0 })) as number[]).length).toBe(all.length);
      expect(await kw('res.partner', 'search_count', [[]], { limit: 3 })).toBe(3);
      const read = (await kw('res.partner', 'read', [[all[1], all[0]], ['name']])) as Rec[];
      expect(read.map((r) => r.id)).toEqual([all[1], all[0]]);
      const found = (await kw('res.partner', 'name_search', ['azure'])) as Array<[number, string]>;
      expect(found.map((f) => f[1]).sort()).toEqual(['Azure Interior', 'Azure Interior, Brandon Freeman', 'Azure Interior, Colleen Diaz', 'Azure Interior, Invoice Address']);
    });
  });

  describe('domains', () => {
    let partners: Rec[];
    let moves: Rec[];
    beforeAll(async () => {
      partners = await searchRead('res.partner', [], { fields: ['name', 'parent_id', 'is_company', 'customer_rank', 'email', 'active', 'country_id'], context: { active_test: false } });
      moves = await searchRead('account.move', [], { fields: ['name', 'amount_total', 'partner_id', 'move_type', 'state', 'ref'] });
    });
    const pid = (r: Rec): number | false => (r.partner_id ? (r.partner_id as [number, string])[0] : false);
    const moveIds = (pred: (r: Rec) => boolean): number[] => ids(moves.filter(pred));
    const partnerIds = (pred: (r: Rec) => boolean): number[] => ids(partners.filter(pred));
    const searchMoves = async (domain: unknown[]): Promise<number[]> => ids(await searchRead('account.move', domain, { fields: ['id'] }));
    const searchPartners = async (domain: unknown[]): Promise<number[]> =>
      ids(await searchRead('res.partner', domain, { fields: ['id'], context: { active_test: false } }));

    test.each([
      ['=', 1000],
      ['!=', 1000],
      ['>', 1000],
      ['>=', 2500],
      ['<', 500],
      ['<=', 2500],
    ])('amount_total %s %d', async (op, value) => {
      const cmp: Record<string, (a: number) => boolean> = {
        '=': (a) => a === value,
        '!=': (a) => a !== value,
        '>': (a) => a > value,
        '>=': (a) => a >= value,
        '<': (a) => a < value,
        '<=': (a) => a <= value,
      };
      const expected = moveIds((r) => cmp[op](r.amount_total as number));
      expect(await searchMoves([['amount_total', op, value]])).toEqual(expected);
    });

    test('in / not in, with False standing for NULL', async () => {
      const some = [demo.customers[0], demo.customers[1]];
      expect(await searchMoves([['partner_id', 'in', some]])).toEqual(moveIds((r) => some.includes(pid(r) as number)));
      expect(await searchMoves([['partner_id', 'not in', some]])).toEqual(moveIds((r) => !some.includes(pid(r) as number)));
      expect(await searchMoves([['partner_id', 'in', [...some, false]]])).toEqual(moveIds((r) => pid(r) === false || some.includes(pid(r) as number)));
      expect(await searchMoves([['partner_id', 'not in', [false]]])).toEqual(moveIds((r) => pid(r) !== false));
      expect(await searchMoves([['id', 'in', []]])).toEqual([]);
    });

    test('= False and != False on a many2one and a char', async () => {
      expect(await searchMoves([['partner_id', '=', false]])).toEqual(moveIds((r) => pid(r) === false));
      expect(await searchMoves([['partner_id', '!=', false]])).toEqual(moveIds((r) => pid(r) !== false));
      expect(await searchMoves([['ref', '=', false]])).toEqual(moveIds((r) => r.ref === false));
      expect(await searchPartners([['email', '!=', false]])).toEqual(partnerIds((r) => r.email !== false));
    });

    test('like, ilike, =like, =ilike and their negations', async () => {
      const name = (r: Rec): string => String(r.name || '');
      expect(await searchPartners([['name', 'like', 'Wood']])).toEqual(partnerIds((r) => name(r).includes('Wood')));
      expect(await searchPartners([['name', 'like', 'wood']])).toEqual(partnerIds((r) => name(r).includes('wood')));
      expect(await searchPartners([['name', 'ilike', 'wood']])).toEqual(partnerIds((r) => name(r).toLowerCase().includes('wood')));
      expect(await searchPartners([['name', '=like', 'D%']])).toEqual(partnerIds((r) => name(r).startsWith('D')));
      expect(await searchPartners([['name', '=ilike', 'd%']])).toEqual(partnerIds((r) => name(r).toLowerCase().startsWith('d')));
      expect(await searchPartners([['name', '=like', 'Print Hous_']])).toEqual(partnerIds((r) => name(r) === 'Print House'));
      // Negative operators also match NULL, like Odoo's `OR name IS NULL`.
      expect(await searchPartners([['name', 'not ilike', 'a']])).toEqual(partnerIds((r) => r.name === false || !name(r).toLowerCase().includes('a')));
      expect(await searchPartners([['email', 'not like', 'example']])).toEqual(partnerIds((r) => r.email === false || !String(r.email).includes('example')));
    });

    test('child_of and parent_of walk parent_id', async () => {
      const azure = demo.customers[0];
      const children = partners.filter((p) => p.parent_id && (p.parent_id as [number, string])[0] === azure).map((p) => p.id);
      expect(children.length).toBe(3);
      expect(await searchPartners([['id', 'child_of', azure]])).toEqual([azure, ...children].sort((a, b) => a - b));
      expect(await searchPartners([['id', 'parent_of', children[0]]])).toEqual([azure, children[0]].sort((a, b) => a - b));
      expect(await searchMoves([['partner_id', 'child_of', [azure]]])).toEqual(moveIds((r) => [azure, ...children].includes(pid(r) as number)));
    });

    test('prefix operators | & ! and implicit AND', async () => {
      const inv = (r: Rec): boolean => r.move_type === 'out_invoice';
      const big = (r: Rec): boolean => (r.amount_total as number) > 1000;
      expect(await searchMoves([['move_type', '=', 'out_invoice'], ['amount_total', '>', 1000]])).toEqual(moveIds((r) => inv(r) && big(r)));
      expect(await searchMoves(['&', ['move_type', '=', 'out_invoice'], ['amount_total', '>', 1000]])).toEqual(moveIds((r) => inv(r) && big(r)));
      expect(await searchMoves(['|', ['move_type', '=', 'out_invoice'], ['amount_total', '>', 1000]])).toEqual(moveIds((r) => inv(r) || big(r)));
      expect(await searchMoves(['!', ['move_type', '=', 'out_invoice']])).toEqual(moveIds((r) => !inv(r)));
      expect(await searchMoves(['|', '!', ['move_type', '=', 'out_invoice'], '&', ['state', '=', 'draft'], ['amount_total', '<', 400]])).toEqual(
        moveIds((r) => !inv(r) || (r.state === 'draft' && (r.amount_total as number) < 400)),
      );
      const err = await rpcError(kw('account.move', 'search', [['|', ['state', '=', 'draft']]]));
      expect(err.faultCode).toBe(1);
      expect(err.faultString).toContain('is syntactically not correct');
    });

    test('dotted paths through many2one, any, =?', async () => {
      const us = partners.filter((p) => p.country_id && (p.country_id as [number, string])[1] === 'United States').map((p) => p.id);
      expect(await searchMoves([['partner_id.country_id.code', '=', 'US']])).toEqual(moveIds((r) => us.includes(pid(r) as number)));
      expect(await searchMoves([['partner_id.name', 'ilike', 'jackson']])).toEqual(await searchMoves([['partner_id', 'ilike', 'jackson']]));
      const revenueMoves = await searchMoves([['line_ids', 'any', [['account_id.code', '=', '400000']]]]);
      const lines = await searchRead('account.move.line', [['account_id', '=', demo.accounts['400000']]], { fields: ['move_id'] });
      expect(revenueMoves).toEqual([...new Set(lines.map((l) => (l.move_id as [number, string])[0]))].sort((a, b) => a - b));
      expect(await searchMoves([['partner_id', '=?', false]])).toEqual(ids(moves));
    });

    test('an unknown field or operator is a faultCode 1 ValueError', async () => {
      const err = await rpcError(kw('res.partner', 'search', [[['foo', '=', 1]]]));
      expect(err.faultCode).toBe(1);
      expect(err.faultString).toMatch(/\nValueError: Invalid field res\.partner\.foo in leaf \('foo', '=', 1\)\n$/);
      const err2 = await rpcError(kw('res.partner', 'search', [[['name', '~', 'x']]]));
      expect(err2.faultString).toMatch(/ValueError: Invalid leaf \('name', '~', 'x'\)\n$/);
    });
  });

  describe('active_test', () => {
    test('archived rows are hidden by default and returned with active_test False or an `active` leaf', async () => {
      const archived = demo.archivedPartners;
      const visible = ids(await searchRead('res.partner', [], { fields: ['id'] }));
      const everything = ids(await searchRead('res.partner', [], { fields: ['id'], context: { active_test: false } }));
      const viaDomain = ids(await searchRead('res.partner', [['active', 'in', [true, false]]], { fields: ['id'] }));
      const onlyArchived = ids(await searchRead('res.partner', [['active', '=', false]], { fields: ['id'] }));
      for (const a of archived) {
        expect(visible).not.toContain(a);
        expect(everything).toContain(a);
      }
      expect(viaDomain).toEqual(everything);
      expect(onlyArchived).toEqual(everything.filter((i) => !visible.includes(i)));
      // account.account in 17 has `deprecated`, not `active`: nothing is filtered.
      const accounts = await searchRead('account.account', [], { fields: ['code', 'deprecated'] });
      expect(accounts.find((a) => a.code === '650000')?.deprecated).toBe(true);
      const fields = (await kw('account.account', 'fields_get', [], { attributes: ['type'] })) as Record<string, unknown>;
      expect(fields.active).toBeUndefined();
      expect(await kw('product.product', 'search_count', [[]])).toBe(demo.products.length - demo.archivedProducts.length);
      expect(await kw('product.product', 'search_count', [[]], { context: { active_test: false, lang: 'de_DE' } })).toBe(demo.products.length);
    });
  });

  describe('value encoding', () => {
    test('many2one pairs, False for empty values, dates and datetimes as strings, floats as doubles', async () => {
      const [inv] = (await kw('account.move', 'read', [[demo.invoices[0]]], {
        fields: ['partner_id', 'invoice_date', 'write_date', 'amount_total', 'invoice_origin', 'narration', 'posted_before', 'line_ids', 'reversed_entry_id', 'payment_reference'],
      })) as Rec[];
      expect(inv.partner_id).toEqual([expect.any(Number), expect.any(String)]);
      const partnerName = ((await kw('res.partner', 'read', [[(inv.partner_id as [number, string])[0]], ['display_name']])) as Rec[])[0].display_name;
      expect((inv.partner_id as M2o as [number, string])[1]).toBe(partnerName);
      expect(inv.invoice_date).toMatch(/^\d{4}-\d{2}-\d{2}$/);
      expect(inv.write_date).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/);
      expect(typeof inv.amount_total).toBe('number');
      expect(inv.narration).toBe(false);
      expect(inv.payment_reference).toBe(false);
      expect(inv.reversed_entry_id).toBe(false);
      expect(inv.posted_before).toBe(true);
      expect(Array.isArray(inv.line_ids) && (inv.line_ids as number[]).every((x) => Number.isInteger(x))).toBe(true);
      const [bare] = (await kw('account.move', 'read', [[demo.invoices[0]], ['partner_id']], { load: '' })) as Rec[];
      expect(bare.partner_id).toBe((inv.partner_id as [number, string])[0]);
    });

    test('on the wire: <double>2500.0</double> for an integral monetary value, <int> ids, never <nil/>', async () => {
      const rent = ((await kw('account.move', 'search', [[['ref', '=', 'RENT-2025-01']]])) as number[])[0];
      const body =
        `<?xml version="1.0"?><methodCall><methodName>execute_kw</methodName><params>` +
        `<param><value><string>${DB}</string></value></param><param><value><int>2</int></value></param>` +
        `<param><value><string>admin</string></value></param><param><value>account.move</value></param>` +
        `<param><value>read</value></param><param><value><array><data><value><array><data><value><i4>${rent}</i4></value></data></array></value></data></array></value></param>` +
        `<param><value><struct><member><name>fields</name><value><array><data><value>amount_total</value><value>ref</value><value>partner_id</value><value>narration</value></data></array></value></member></struct></value></param>` +
        `</params></methodCall>`;
      const res = await post(`${server.url}/xmlrpc/2/object`, body);
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toMatch(/^text\/xml/);
      expect(res.text.startsWith('<?xml version="1.0"?>\n<methodResponse>\n<params>\n<param>\n')).toBe(true);
      expect(res.text).toContain('<name>amount_total</name>\n<value><double>2500.0</double></value>');
      expect(res.text).toContain(`<name>id</name>\n<value><int>${rent}</int></value>`);
      expect(res.text).toContain('<name>narration</name>\n<value><boolean>0</boolean></value>');
      expect(res.text).not.toContain('<nil');
    });

    test('fields_get with an attributes filter; inherited product fields are not stored', async () => {
      const fields = (await kw('account.move', 'fields_get', [], { attributes: ['type', 'string', 'store', 'relation', 'selection', 'required', 'readonly'] })) as Record<string, Record<string, unknown>>;
      expect(fields.partner_id).toEqual({ type: 'many2one', string: 'Partner', store: true, relation: 'res.partner', required: false, readonly: false });
      expect(fields.move_type.selection).toContainEqual(['out_invoice', 'Customer Invoice']);
      expect(fields.company_currency_id.store).toBe(false);
      expect(fields.write_date).toMatchObject({ type: 'datetime', store: true, readonly: true });
      const some = (await kw('account.move', 'fields_get', [['name', 'amount_total']], { attributes: ['type'] })) as Record<string, unknown>;
      expect(some).toEqual({ name: { type: 'char' }, amount_total: { type: 'monetary' } });
      const product = (await kw('product.product', 'fields_get', [], { attributes: ['store', 'type'] })) as Record<string, Record<string, unknown>>;
      expect(product.name).toEqual({ store: false, type: 'char' });
      expect(product.default_code).toEqual({ store: true, type: 'char' });
      expect(product.type).toBeDefined();
      const lines = (await kw('account.move.line', 'fields_get', [], { attributes: ['type'] })) as Record<string, Record<string, unknown>>;
      expect(lines.analytic_distribution.type).toBe('json');
      const models = await searchRead('ir.model', [['model', '=like', 'account.%']], { fields: ['model', 'name', 'transient'] });
      expect(models.map((m) => m.model)).toContain('account.move.line');
      expect(models.find((m) => m.model === 'account.move.line')).toMatchObject({ name: 'Journal Item', transient: false });
    });
  });

  describe('faults as Odoo sends them', () => {
    test('faultCode 1: a Python traceback ending in the exception line', async () => {
      const err = await rpcError(kw('res.partner', 'search_read', [[]], { fields: ['foo'] }));
      expect(err.faultCode).toBe(1);
      expect(err.faultString).toMatch(/^Traceback \(most recent call last\):\n {2}File ".*", line \d+, in /);
      expect(err.faultString).toMatch(/\nValueError: Invalid field 'foo' on model 'res.partner'\n$/);
      const method = await rpcError(kw('res.partner', 'frobnicate', [[]]));
      expect(method.faultString).toMatch(/AttributeError: The method 'frobnicate' does not exist on the model 'res.partner'\n$/);
      const typeErr = await rpcError(kw('res.partner', 'search', [[]], { count: true }));
      expect(typeErr.faultString).toMatch(/TypeError: BaseModel\.search\(\) got an unexpected keyword argument 'count'\n$/);
    });

    test('faultCode 2: UserError for an unknown model, MissingError for a deleted record', async () => {
      const err = await rpcError(kw('x.nope', 'search', [[]]));
      expect(err.faultCode).toBe(2);
      expect(err.faultString).toBe("Object x.nope doesn't exist");
      const missing = await rpcError(kw('res.partner', 'read', [[999999], ['name']]));
      expect(missing.faultCode).toBe(2);
      expect(missing.faultString).toBe('Record does not exist or has been deleted.\n(Record: res.partner(999999,), User: 2)');
    });

    test("faultCode 3: 'Access Denied' for a wrong password/API key or a failed login's uid", async () => {
      for (const [uid, secret] of [
        [2, 'wrong'],
        [false, 'admin'],
        [999, 'admin'],
      ] as Array<[number | boolean, string]>) {
        const err = await rpcError(object('execute_kw', [DB, uid, secret, 'res.partner', 'search', [[]]]));
        expect(err.faultCode).toBe(3);
        expect(err.faultString).toBe('Access Denied');
      }
    });

    test('faultCode 4: AccessError naming the model, the groups and what to do', async () => {
      const demoUser = demo.users.demo;
      const err = await rpcError(object('execute_kw', [DB, demoUser.uid, 'demo', 'account.move.line', 'search_read', [[]], { limit: 1 }]));
      expect(err.faultCode).toBe(4);
      expect(err.faultString).toBe(
        "You are not allowed to access 'Journal Item' (account.move.line) records.\n\nThis operation is allowed for the following groups:\n\t- Accounting / Billing\n\t- Accounting / Read-only\n\nContact your administrator to request access if necessary.",
      );
      expect(await object('execute_kw', [DB, demoUser.uid, 'demo', 'account.move', 'check_access_rights', ['read'], { raise_exception: false }])).toBe(false);
      expect(await object('execute_kw', [DB, demoUser.uid, 'demo', 'res.partner', 'search_count', [[]]])).toBeGreaterThan(0);
    });

    test('legacy /xmlrpc/object answers string fault codes', async () => {
      const legacy = rpc(`${server.url}/xmlrpc/object`);
      const err = await rpcError(legacy('execute_kw', [DB, demo.users.demo.uid, 'demo', 'account.move', 'search', [[]]]));
      expect(err.faultCode).toMatch(/^warning -- AccessError\n\nYou are not allowed to access 'Journal Entry'/);
    });
  });

  describe('transactions and timestamps', () => {
    test('a late commit publishes rows stamped with the transaction START, invisible until commit', async () => {
      sim.clock.set('2025-04-01 10:00:00');
      const tx = sim.begin();
      const lateId = tx.create('res.partner', { name: 'Late Committer' });
      tx.write('res.partner', demo.customers[1], { phone: '+33 1 00 00 00 00' });

      sim.clock.advance(10 * 60_000); // a sync runs 10 minutes later and sees nothing of it
      const during = await searchRead('res.partner', [['write_date', '>=', '2025-04-01 00:00:00']], { fields: ['write_date'] });
      expect(during.map((r) => r.id)).not.toContain(lateId);
      expect(during.map((r) => r.id)).not.toContain(demo.customers[1]);
      expect(await kw('res.partner', 'search_count', [[['name', '=', 'Late Committer']]])).toBe(0);
      const cursor = '2025-04-01 10:05:00'; // what a sync that ran now would keep as its cursor

      tx.commit();
      const after = await searchRead('res.partner', [['id', 'in', [lateId, demo.customers[1]]]], { fields: ['create_date', 'write_date', 'phone'] });
      expect(after.map((r) => r.write_date)).toEqual(['2025-04-01 10:00:00', '2025-04-01 10:00:00']);
      expect(after.find((r) => r.id === lateId)?.create_date).toBe('2025-04-01 10:00:00');
      // Incremental `write_date > cursor` misses both rows; an overlap window finds them.
      expect(await kw('res.partner', 'search_count', [[['write_date', '>', cursor]]])).toBe(0);
      expect(await kw('res.partner', 'search_count', [[['write_date', '>', '2025-04-01 09:55:00']]])).toBe(2);
    });

    test('sub-second write_dates print as seconds, so equality on the printed value misses them', async () => {
      sim.clock.set('2025-04-02 08:00:00.750');
      const id = sim.create('res.partner', { name: 'Half Second' });
      const [rec] = (await kw('res.partner', 'read', [[id], ['write_date']])) as Rec[];
      expect(rec.write_date).toBe('2025-04-02 08:00:00');
      expect(await kw('res.partner', 'search', [[['write_date', '=', rec.write_date]]])).toEqual([]);
      expect(await kw('res.partner', 'search', [[['write_date', '>=', rec.write_date]]])).toEqual([id]);
      expect(await kw('res.partner', 'search', [[['write_date', '<=', rec.write_date]]])).not.toContain(id);
    });

    test('an async transaction commits when its function resolves, and rolls back on error', async () => {
      sim.clock.set('2025-04-03 09:00:00');
      const id = await sim.transaction(async (tx) => {
        const created = tx.create('project.tags', { name: 'Async tag' });
        expect(await kw('project.tags', 'search_count', [[['id', '=', created]]])).toBe(0);
        return created;
      });
      expect(await kw('project.tags', 'search_count', [[['id', '=', id]]])).toBe(1);
      await expect(
        sim.transaction(async (tx) => {
          tx.create('project.tags', { name: 'Never' });
          throw new Error('boom');
        }),
      ).rejects.toThrow('boom');
      expect(await kw('project.tags', 'search_count', [[['name', '=', 'Never']]])).toBe(0);
      expect(sim.openTransactions).toBe(0);
    });

    test('registering a payment recomputes the invoice (stored computed fields) and bumps its write_date', async () => {
      const open = (await searchRead('account.move', [['move_type', '=', 'out_invoice'], ['state', '=', 'posted'], ['payment_state', '=', 'not_paid']], { fields: ['amount_residual', 'write_date', 'line_ids'], limit: 1, order: 'id asc' }))[0];
      sim.clock.set('2025-04-04 14:30:00');
      const residual = open.amount_residual as number;
      const paymentTx = sim.begin();
      sim.registerPayment({ invoiceId: open.id, amount: Math.round((residual / 2) * 100) / 100, date: '2025-04-04' }, paymentTx);
      sim.clock.advance(60_000);
      paymentTx.commit();
      const [inv] = (await kw('account.move', 'read', [[open.id], ['amount_residual', 'payment_state', 'write_date']])) as Rec[];
      expect(inv.payment_state).toBe('partial');
      expect(inv.amount_residual).toBeCloseTo(residual - Math.round((residual / 2) * 100) / 100, 2);
      expect(inv.write_date).toBe('2025-04-04 14:30:00');
      const receivable = await searchRead('account.move.line', [['move_id', '=', open.id], ['display_type', '=', 'payment_term']], { fields: ['write_date', 'amount_residual', 'matching_number'] });
      expect(receivable[0]).toMatchObject({ write_date: '2025-04-04 14:30:00', matching_number: expect.stringMatching(/^P\d+$/) });
      sim.registerPayment({ invoiceId: open.id, date: '2025-04-05' });
      const [paid] = (await kw('account.move', 'read', [[open.id], ['amount_residual', 'payment_state']])) as Rec[];
      expect(paid).toMatchObject({ amount_residual: 0, payment_state: 'paid' });
    });

    test('unlink is a hard delete; foreign keys SET NULL without touching write_date', async () => {
      sim.clock.set('2025-04-06 09:00:00');
      const partner = sim.create('res.partner', { name: 'To Be Deleted' });
      const project = sim.create('project.project', { name: 'Orphan project', partner_id: partner });
      const before = ((await kw('project.project', 'read', [[project], ['write_date', 'partner_id']])) as Rec[])[0];
      sim.clock.set('2025-04-07 09:00:00');
      const countBefore = (await kw('res.partner', 'search_count', [[]], { context: { active_test: false } })) as number;
      sim.unlink('res.partner', partner);
      expect(await kw('res.partner', 'search_count', [[]], { context: { active_test: false } })).toBe(countBefore - 1);
      expect(await kw('res.partner', 'search', [[['id', '=', partner]]], { context: { active_test: false } })).toEqual([]);
      const err = await rpcError(kw('res.partner', 'read', [[partner], ['name']]));
      expect(err.faultCode).toBe(2);
      const after = ((await kw('project.project', 'read', [[project], ['write_date', 'partner_id']])) as Rec[])[0];
      expect(after.partner_id).toBe(false);
      expect(after.write_date).toBe(before.write_date);
      // Deleting a move cascades to its lines.
      const draft = demo.draftBills[0];
      const lineIds = (await kw('account.move.line', 'search', [[['move_id', '=', draft]]])) as number[];
      expect(lineIds.length).toBeGreaterThan(0);
      sim.unlink('account.move', draft);
      expect(await kw('account.move.line', 'search_count', [[['id', 'in', lineIds]]])).toBe(0);
    });
  });

  describe('seeded demo company', () => {
    test('every move balances; totals tie out', async () => {
      const lines = await searchRead('account.move.line', [], { fields: ['move_id', 'debit', 'credit', 'balance', 'parent_state', 'account_id', 'amount_residual'] });
      const byMove = new Map<number, { debit: number; credit: number }>();
      for (const l of lines) {
        const id = (l.move_id as [number, string])[0];
        const agg = byMove.get(id) ?? { debit: 0, credit: 0 };
        agg.debit += l.debit as number;
        agg.credit += l.credit as number;
        byMove.set(id, agg);
        expect(l.balance).toBeCloseTo((l.debit as number) - (l.credit as number), 6);
      }
      expect(byMove.size).toBe(await kw('account.move', 'search_count', [[]]));
      for (const [, agg] of byMove) expect(agg.debit).toBeCloseTo(agg.credit, 2);
      // Open receivables on the receivable account equal the customer invoices' amount_residual
      // (company currency: amount_residual_signed).
      const receivable = lines.filter((l) => (l.account_id as [number, string])[0] === demo.accounts['121000'] && l.parent_state === 'posted');
      const openAr = receivable.reduce((a, l) => a + (l.amount_residual as number), 0);
      const invoices = await searchRead('account.move', [['move_type', 'in', ['out_invoice', 'out_refund']], ['state', '=', 'posted']], { fields: ['amount_residual_signed'] });
      expect(openAr).toBeCloseTo(invoices.reduce((a, m) => a + (m.amount_residual_signed as number), 0), 2);
    });

    test('the company has what the issue asks for', async () => {
      expect(demo.customers.length).toBeGreaterThanOrEqual(12);
      expect(demo.vendors.length).toBeGreaterThanOrEqual(6);
      expect(demo.products.length).toBeGreaterThanOrEqual(15);
      const states = await searchRead('account.move', [['move_type', '!=', 'entry']], { fields: ['move_type', 'state', 'payment_state', 'currency_id'] });
      const has = (pred: (r: Rec) => boolean): boolean => states.some(pred);
      expect(has((m) => m.move_type === 'out_invoice' && m.state === 'draft')).toBe(true);
      expect(has((m) => m.move_type === 'in_invoice' && m.state === 'posted')).toBe(true);
      expect(has((m) => m.move_type === 'out_refund')).toBe(true);
      expect(has((m) => m.payment_state === 'partial')).toBe(true);
      expect(has((m) => m.payment_state === 'paid')).toBe(true);
      expect(has((m) => m.payment_state === 'reversed')).toBe(true);
      expect(has((m) => (m.currency_id as [number, string])[1] === 'USD')).toBe(true);
      const journals = await searchRead('account.journal', [], { fields: ['type'] });
      expect(new Set(journals.map((j) => j.type))).toEqual(new Set(['sale', 'purchase', 'bank', 'cash', 'general']));
      const types = new Set((await searchRead('account.account', [], { fields: ['account_type'] })).map((a) => a.account_type));
      for (const t of ['asset_receivable', 'liability_payable', 'asset_cash', 'income', 'expense', 'liability_current', 'equity', 'equity_unaffected']) expect(types).toContain(t);
      expect(await kw('project.task', 'search_count', [[]])).toBeGreaterThan(10);
      expect(await kw('account.payment', 'search_count', [[]])).toBe(demo.payments.length + 2); // + the two registered above
    });

    test('seeding is deterministic', () => {
      const a = new OdooSimulator();
      const b = new OdooSimulator();
      seedDemoCompany(a);
      seedDemoCompany(b);
      for (const model of ['res.partner', 'account.move', 'account.move.line', 'project.task']) {
        expect(a.searchRead(model, [], { context: { active_test: false } })).toEqual(b.searchRead(model, [], { context: { active_test: false } }));
      }
    });
  });

  describe('fault injection and statistics', () => {
    test('http500/503 answers an error page once, then the server recovers', async () => {
      sim.failNext(1, { kind: 'http500', status: 503, retryAfter: 2 });
      const err = await rpcError(common('version', []));
      expect(err.res?.statusCode).toBe(503);
      expect(err.res?.headers['retry-after']).toBe('2');
      expect(await common('version', [])).toMatchObject({ server_version: '17.0' });
    });

    test('reset drops the connection; delay slows one call; fault answers a fault', async () => {
      sim.failNext(1, { kind: 'reset' });
      const reset = await rpcError(common('version', []));
      expect(reset.code === 'ECONNRESET' || /socket hang up/.test(reset.message)).toBe(true);
      sim.failNext(1, { kind: 'delay', ms: 150 });
      const t0 = Date.now();
      await common('version', []);
      expect(Date.now() - t0).toBeGreaterThanOrEqual(140);
      sim.failNext(1, { kind: 'fault', faultCode: 1 });
      const fault = await rpcError(kw('res.partner', 'search', [[]]));
      expect(fault.faultCode).toBe(1);
      expect(fault.faultString).toMatch(/SerializationFailure/);
    });

    test('match narrows a rule to one model/method; stats count RPC calls per method', async () => {
      sim.failNext(2, { kind: 'http500', status: 502, match: { method: 'search_read', model: 'account.move.line' } });
      sim.resetStats();
      expect(await common('version', [])).toBeTruthy();
      await searchRead('res.partner', [], { fields: ['id'], limit: 1 });
      expect((await rpcError(searchRead('account.move.line', [], { limit: 1 }))).res?.statusCode).toBe(502);
      expect((await rpcError(searchRead('account.move.line', [], { limit: 1 }))).res?.statusCode).toBe(502);
      expect(await searchRead('account.move.line', [], { fields: ['id'], limit: 1 })).toHaveLength(1);
      expect(sim.stats.byMethod).toEqual({ version: 1, search_read: 4 });
      expect(sim.stats.byModelMethod['account.move.line/search_read']).toBe(3);
      expect(sim.stats.injected).toBe(2);
      expect(sim.stats.requests).toBe(5);
      expect(sim.stats.recordsReturned).toBe(2);
    });
  });
});

describe('Odoo simulator — JSON-2 and /web/version (Odoo 19.0)', () => {
  let sim: OdooSimulator;
  let demo: DemoCompany;
  let server: RunningServer;
  const json2 = async (path: string, body: unknown, key = ADMIN_KEY, extra: Record<string, string> = {}): Promise<{ status: number; body: unknown }> => {
    const res = await fetch(`${server.url}/json/2/${path}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: `bearer ${key}`, 'X-Odoo-Database': DB, ...extra },
      body: JSON.stringify(body),
    });
    return { status: res.status, body: await res.json() };
  };

  beforeAll(async () => {
    sim = new OdooSimulator({ version: '19.0' });
    demo = seedDemoCompany(sim);
    server = await sim.start();
  });
  afterAll(async () => {
    await server.close();
    expect(sim.internalErrors).toEqual([]);
  });

  test('GET /web/version', async () => {
    const res = await fetch(`${server.url}/web/version`);
    expect(await res.json()).toEqual({ version_info: [19, 0, 0, 'final', 0, ''], version: '19.0' });
  });

  test('search_read with named arguments; read with ids; context.active_test', async () => {
    const res = await json2('res.partner/search_read', { domain: [['is_company', '=', true], ['name', '=ilike', 'wood%']], fields: ['name', 'country_id'], order: 'name asc', limit: 5, context: { lang: 'en_US' } });
    expect(res.status).toBe(200);
    expect(res.body).toEqual([{ id: demo.customers[6], name: 'Wood Corner', country_id: [expect.any(Number), 'Belgium'] }]);
    const read = await json2('res.partner/read', { ids: [demo.customers[3]], fields: ['name', 'active'], context: { active_test: false } });
    expect(read.body).toEqual([{ id: demo.customers[3], name: 'Lumber Inc', active: false }]);
    const count = await json2('res.partner/search_count', { domain: [], context: { active_test: false } });
    expect(count.body).toBe(sim.count('res.partner'));
    // 19: account.account has `active` (archived) instead of `deprecated`
    const accounts = await json2('account.account/search_read', { domain: [['code', '=', '650000']], fields: ['active'], context: { active_test: false } });
    expect(accounts.body).toEqual([{ id: demo.accounts['650000'], active: false }]);
  });

  test('401 Invalid apikey, with werkzeug.exceptions.Unauthorized', async () => {
    const res = await json2('res.partner/search', { domain: [] }, 'not-a-key');
    expect(res.status).toBe(401);
    expect(res.body).toMatchObject({ name: 'werkzeug.exceptions.Unauthorized', message: 'Invalid apikey', arguments: ['Invalid apikey', 401], context: {} });
    expect((res.body as { debug: string }).debug).toMatch(/^Traceback/);
  });

  test('403 AccessError, 404 unknown model/method, 422 bad arguments, 500 ValueError', async () => {
    const forbidden = await json2('account.move.line/search_read', { domain: [], limit: 1 }, 'demo-api-key-0000000000000000000000000');
    expect(forbidden.status).toBe(403);
    expect(forbidden.body).toMatchObject({ name: 'odoo.exceptions.AccessError', message: expect.stringMatching(/^You are not allowed to access 'Journal Item' \(account\.move\.line\) records\./) });
    const noModel = await json2('x.nope/search', { domain: [] });
    expect(noModel).toMatchObject({ status: 404, body: { name: 'werkzeug.exceptions.NotFound', message: "the model 'x.nope' does not exist", arguments: ["the model 'x.nope' does not exist", 404] } });
    const noMethod = await json2('res.partner/frobnicate', {});
    expect(noMethod).toMatchObject({ status: 404, body: { message: "The method 'frobnicate' does not exist on the model 'res.partner'" } });
    const badArg = await json2('res.partner/search', { domain: [], count: true });
    expect(badArg).toMatchObject({ status: 422, body: { name: 'werkzeug.exceptions.UnprocessableEntity', message: "got an unexpected keyword argument 'count'" } });
    const withIds = await json2('res.partner/search', { ids: [1], domain: [] });
    expect(withIds).toMatchObject({ status: 422, body: { message: 'cannot call res.partner.search with ids' } });
    const missing = await json2('res.partner/search', {});
    expect(missing).toMatchObject({ status: 422, body: { message: "missing a required argument: 'domain'" } });
    const invalid = await json2('res.partner/search_read', { domain: [], fields: ['foo'] });
    expect(invalid).toMatchObject({ status: 500, body: { name: 'builtins.ValueError', message: "Invalid field 'foo' on model 'res.partner'" } });
    const deleted = await json2('res.partner/read', { ids: [424242], fields: ['name'] });
    expect(deleted).toMatchObject({ status: 404, body: { name: 'odoo.exceptions.MissingError' } });
    const badJson = await fetch(`${server.url}/json/2/res.partner/search`, { method: 'POST', headers: { 'Content-Type': 'application/json', Authorization: `bearer ${ADMIN_KEY}` }, body: '{nope' });
    expect(badJson.status).toBe(400);
  });

  test('JSON-2 does not exist before 19.0', async () => {
    const old = new OdooSimulator({ version: '17.0' });
    const s = await old.start();
    try {
      const res = await fetch(`${s.url}/json/2/res.partner/search`, { method: 'POST', headers: { 'Content-Type': 'application/json', Authorization: `bearer ${ADMIN_KEY}` }, body: '{"domain": []}' });
      expect(res.status).toBe(404);
    } finally {
      await s.close();
    }
  });

  test('JSON-RPC /jsonrpc as n8n’s Odoo node calls it: login, then execute search_read positionally with limit 0', async () => {
    const call = async (service: string, method: string, args: unknown[]): Promise<Record<string, unknown>> => {
      const res = await fetch(`${server.url}/jsonrpc`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ jsonrpc: '2.0', method: 'call', params: { service, method, args }, id: 7 }) });
      expect(res.status).toBe(200);
      return (await res.json()) as Record<string, unknown>;
    };
    const login = await call('common', 'login', [DB, 'admin', 'admin']);
    expect(login).toEqual({ jsonrpc: '2.0', id: 7, result: 2 });
    const all = await call('object', 'execute', [DB, 2, 'admin', 'res.partner', 'search_read', [], ['name'], 0, 0]);
    expect((all.result as unknown[]).length).toBe(sim.search('res.partner').length);
    const denied = await call('object', 'execute', [DB, 2, 'bad', 'res.partner', 'search_read', [], ['name'], 0, 0]);
    expect(denied.error).toMatchObject({ code: 0, message: 'Odoo Server Error', data: { name: 'odoo.exceptions.AccessDenied', message: 'Access Denied', arguments: ['Access Denied'] } });
  });
});

describe('Odoo simulator — volume', () => {
  // Speed belongs to bench:odoo; this checks volume and paging correctness only.
  test('100,000 extra journal items seed and page over XML-RPC with one call per page', async () => {
    const sim = new OdooSimulator();
    const demo = seedDemoCompany(sim, { scale: 100_000 });
    expect(demo.extraLines).toBe(100_000);
    const server = await sim.start();
    try {
      const object = rpc(`${server.url}/xmlrpc/2/object`);
      const total = (await object('execute_kw', [DB, 2, 'admin', 'account.move.line', 'search_count', [[]]])) as number;
      expect(total).toBeGreaterThan(100_000);
      sim.resetStats();
      // One page far into the table.
      const page = (await object('execute_kw', [DB, 2, 'admin', 'account.move.line', 'search_read', [[['write_date', '>=', '2025-03-01 00:00:00']]], { fields: ['write_date', 'debit', 'credit', 'account_id', 'move_id'], order: 'write_date asc, id asc', offset: 20_000, limit: 1000 }])) as Rec[];
      expect(page).toHaveLength(1000);
      let seen = 0;
      let lastId = 0;
      let pages = 0;
      // keyset paging on id: bounded calls, every row exactly once
      for (;;) {
        const batch = (await object('execute_kw', [DB, 2, 'admin', 'account.move.line', 'search_read', [[['id', '>', lastId]]], { fields: ['id'], order: 'id asc', limit: 5000 }])) as Rec[];
        pages++;
        seen += batch.length;
        if (batch.length < 5000) break;
        lastId = batch[batch.length - 1].id;
      }
      expect(seen).toBe(total);
      expect(sim.stats.byMethod.search_read).toBe(pages + 1);
      expect(pages).toBe(Math.ceil((total + 1) / 5000));
    } finally {
      await server.close();
    }
  }, 60_000);
});
