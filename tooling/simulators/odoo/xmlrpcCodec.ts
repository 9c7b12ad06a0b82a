// XML-RPC encoding, written here rather than borrowed from the `xmlrpc` npm package because Odoo's
// output has to be reproduced byte-for-byte where clients can notice:
//  - floats are always `<double>` (Python repr: 100.0), ints `<int>`; the npm serializer turns
//    100.0 into `<int>100</int>`;
//  - Odoo never sends `<nil/>` (OdooMarshaller(allow_none=False)); empty values are `False`;
//  - dates/datetimes are plain `<string>`s (OdooMarshaller.dump_date/dump_datetime);
//  - control characters other than \t \n \r are stripped from strings (rpc.py CONTROL_CHARACTERS);
//  - the layout is Python's xmlrpc.client.Marshaller with Odoo's `dumps()` envelope.
// The request parser accepts what real clients send: every scalar type, CDATA (the npm client wraps
// strings containing < or & in CDATA), an untyped <value> (a string), <nil/> and dateTime.iso8601.

import { Json, PyFloat, RpcValue } from './types';
import { pyFloatRepr } from './pyFormat';
import { OdooException } from './errors';

// ---------------------------------------------------------------------------------------------
// Response side

// eslint-disable-next-line no-control-regex
const CONTROL_CHARS = /[\x00-\x08\x0b\x0c\x0e-\x1f]/g;
// eslint-disable-next-line no-control-regex
const NEEDS_WORK = /[&<>\x00-\x08\x0b\x0c\x0e-\x1f]/;

function escapeXml(s: string): string {
  if (!NEEDS_WORK.test(s)) return s; // the common case: nothing to escape or strip
  return s.replace(CONTROL_CHARS, '').replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Python's Marshaller layout; string concatenation because responses reach hundreds of MB in volume tests. */
function dumpValue(v: RpcValue): string {
  if (typeof v === 'string') return '<value><string>' + escapeXml(v) + '</string></value>\n';
  if (typeof v === 'number') {
    return Number.isInteger(v) ? '<value><int>' + v + '</int></value>\n' : '<value><double>' + pyFloatRepr(v) + '</double></value>\n';
  }
  if (typeof v === 'boolean') return v ? '<value><boolean>1</boolean></value>\n' : '<value><boolean>0</boolean></value>\n';
  if (v instanceof PyFloat) return '<value><double>' + pyFloatRepr(v.value) + '</double></value>\n';
  let out: string;
  if (Array.isArray(v)) {
    out = '<value><array><data>\n';
    for (const item of v) out += dumpValue(item);
    return out + '</data></array></value>\n';
  }
  out = '<value><struct>\n';
  for (const k in v) out += '<member>\n<name>' + escapeXml(k) + '</name>\n' + dumpValue(v[k]) + '</member>\n';
  return out + '</struct></value>\n';
}

function envelope(body: string): string {
  // odoo/addons/base/controllers/rpc.py dumps(): the marshalled text already ends with "\n".
  return `<?xml version="1.0"?>\n<methodResponse>\n${body}\n</methodResponse>\n`;
}

export function serializeResponse(value: RpcValue): string {
  return envelope('<params>\n<param>\n' + dumpValue(value) + '</param>\n</params>\n');
}

export function serializeFault(faultCode: number | string, faultString: string): string {
  return envelope('<fault>\n' + dumpValue({ faultCode, faultString }) + '</fault>\n');
}

// ---------------------------------------------------------------------------------------------
// Request side

interface XmlElement {
  name: string;
  children: XmlNode[];
}
type XmlNode = XmlElement | string;

/** Raised for malformed XML; Odoo reports it as a faultCode 1 ExpatError traceback. */
export const expatError = (msg: string): OdooException =>
  new OdooException('xml.parsers.expat', 'ExpatError', msg, [msg], 1, 400);

function decodeEntities(s: string): string {
  return s.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|lt|gt|amp|quot|apos);/g, (_m, e: string) => {
    if (e === 'lt') return '<';
    if (e === 'gt') return '>';
    if (e === 'amp') return '&';
    if (e === 'quot') return '"';
    if (e === 'apos') return "'";
    const code = e.startsWith('#x') ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10);
    return String.fromCodePoint(code);
  });
}

function lineCol(text: string, pos: number): string {
  const before = text.slice(0, pos);
  const line = before.split('\n').length;
  const col = pos - (before.lastIndexOf('\n') + 1);
  return `line ${line}, column ${col}`;
}

/** A small, strict XML reader: elements, text, CDATA, comments, declaration; attributes ignored. */
function parseXml(text: string): XmlElement {
  let pos = 0;
  const root: XmlElement = { name: '#document', children: [] };
  const stack: XmlElement[] = [root];
  const fail = (what: string): never => {
    throw expatError(`${what}: ${lineCol(text, pos)}`);
  };
  while (pos < text.length) {
    const lt = text.indexOf('<', pos);
    if (lt === -1) {
      const rest = text.slice(pos);
      if (rest.trim() !== '') fail('junk after document element');
      break;
    }
    if (lt > pos) {
      const chunk = text.slice(pos, lt);
      if (stack.length === 1) {
        if (chunk.trim() !== '') fail('syntax error');
      } else stack[stack.length - 1].children.push(decodeEntities(chunk));
    }
    pos = lt;
    if (text.startsWith('<?', pos)) {
      const end = text.indexOf('?>', pos);
      if (end === -1) fail('unclosed token');
      pos = end + 2;
    } else if (text.startsWith('<!--', pos)) {
      const end = text.indexOf('-->', pos);
      if (end === -1) fail('unclosed token');
      pos = end + 3;
    } else if (text.startsWith('<![CDATA[', pos)) {
      const end = text.indexOf(']]>', pos);
      if (end === -1) fail('unclosed CDATA section');
      if (stack.length === 1) fail('syntax error');
      stack[stack.length - 1].children.push(text.slice(pos + 9, end));
      pos = end + 3;
    } else if (text.startsWith('<!', pos)) {
      const end = text.indexOf('>', pos);
      if (end === -1) fail('unclosed token');
      pos = end + 1;
    } else if (text.startsWith('</', pos)) {
      const end = text.indexOf('>', pos);
      if (end === -1) fail('unclosed token');
      const name = text.slice(pos + 2, end).trim();
      const open = stack.pop();
      if (!open || open === root || open.name !== name) fail('mismatched tag');
      pos = end + 1;
    } else {
      const end = text.indexOf('>', pos);
      if (end === -1) fail('unclosed token');
      let inner = text.slice(pos + 1, end);
      const selfClosing = inner.endsWith('/');
      if (selfClosing) inner = inner.slice(0, -1);
      const name = inner.trim().split(/\s+/)[0];
      if (!name || !/^[A-Za-z_][\w.:-]*$/.test(name)) fail('not well-formed (invalid token)');
      if (stack.length === 1 && root.children.some((c) => typeof c !== 'string')) fail('junk after document element');
      const el: XmlElement = { name, children: [] };
      stack[stack.length - 1].children.push(el);
      if (!selfClosing) stack.push(el);
      pos = end + 1;
    }
  }
  if (stack.length !== 1) fail('no element found');
  const docEl = root.children.find((c): c is XmlElement => typeof c !== 'string');
  if (!docEl) throw expatError('no element found: line 1, column 0');
  return docEl;
}

const elements = (el: XmlElement): XmlElement[] => el.children.filter((c): c is XmlElement => typeof c !== 'string');
const textOf = (el: XmlElement): string => el.children.filter((c): c is string => typeof c === 'string').join('');

function decodeValue(valueEl: XmlElement): Json {
  const kids = elements(valueEl);
  if (kids.length === 0) return textOf(valueEl); // untyped <value>text</value> is a string
  const t = kids[0];
  const raw = textOf(t);
  switch (t.name) {
    case 'int':
    case 'i4':
    case 'i8': {
      const n = Number(raw.trim());
      if (!Number.isInteger(n)) throw valueErrorLiteral(raw);
      return n;
    }
    case 'boolean':
      if (raw.trim() === '1') return true;
      if (raw.trim() === '0') return false;
      throw new OdooException('builtins', 'TypeError', 'bad boolean value', ['bad boolean value'], 1, 500);
    case 'double':
      return Number(raw.trim());
    case 'string':
    case 'base64':
      return raw;
    case 'nil':
      return null;
    case 'dateTime.iso8601': {
      // Python's xmlrpc.client hands Odoo a datetime; as a domain value it behaves like the
      // 'YYYY-MM-DD HH:MM:SS' string Odoo itself uses, so that is what the ORM receives here.
      const m = /^(\d{4})-?(\d{2})-?(\d{2})T(\d{2}):?(\d{2}):?(\d{2})/.exec(raw.trim());
      if (!m) throw valueErrorLiteral(raw);
      return `${m[1]}-${m[2]}-${m[3]} ${m[4]}:${m[5]}:${m[6]}`;
    }
    case 'array': {
      const data = elements(t).find((e) => e.name === 'data');
      return data ? elements(data).filter((e) => e.name === 'value').map(decodeValue) : [];
    }
    case 'struct': {
      const obj: { [k: string]: Json } = {};
      for (const member of elements(t).filter((e) => e.name === 'member')) {
        const nameEl = elements(member).find((e) => e.name === 'name');
        const val = elements(member).find((e) => e.name === 'value');
        if (nameEl && val) obj[textOf(nameEl)] = decodeValue(val);
      }
      return obj;
    }
    default:
      throw new OdooException('builtins', 'TypeError', `unknown tag ${JSON.stringify(t.name)}`, [t.name], 1, 500);
  }
}

function valueErrorLiteral(raw: string): OdooException {
  const msg = `invalid literal for int() with base 10: '${raw}'`;
  return new OdooException('builtins', 'ValueError', msg, [msg], 1, 500);
}

export interface MethodCall {
  methodName: string;
  params: Json[];
}

export function parseMethodCall(xml: string): MethodCall {
  const doc = parseXml(xml);
  if (doc.name !== 'methodCall') throw expatError(`unexpected root element <${doc.name}>`);
  const nameEl = elements(doc).find((e) => e.name === 'methodName');
  if (!nameEl) throw expatError('methodName missing');
  const paramsEl = elements(doc).find((e) => e.name === 'params');
  const params: Json[] = [];
  if (paramsEl) {
    for (const p of elements(paramsEl).filter((e) => e.name === 'param')) {
      const v = elements(p).find((e) => e.name === 'value');
      if (v) params.push(decodeValue(v));
    }
  }
  return { methodName: textOf(nameEl).trim(), params };
}
