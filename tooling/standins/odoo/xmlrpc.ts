// XML-RPC codec written from the XML-RPC specification (xmlrpc.com/spec) plus the
// extensions Python's xmlrpc.client accepts on input (<nil/>, <i8>, <i1>, <i2>,
// <float>), because Odoo parses requests with Python's xmlrpc.client.loads.

/** A value that must go on the wire as <double> even when it is integral (Odoo floats). */
export class XDouble {
  constructor(readonly value: number) {}
}
/** <dateTime.iso8601> as received (Python gives an xmlrpc.client.DateTime with the raw text). */
export class XDateTime {
  constructor(readonly raw: string) {}
}
/** <base64> as received or to send. */
export class XBinary {
  constructor(readonly base64: string) {}
}

export type XValue =
  | null
  | boolean
  | number
  | string
  | XDouble
  | XDateTime
  | XBinary
  | XValue[]
  | { [k: string]: XValue };

export class XmlRpcParseError extends Error {}

interface XNode {
  name: string;
  children: XNode[];
  text: string; // concatenated character data directly inside this element
}

const ENTITIES: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

function decodeEntities(s: string): string {
  return s.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[a-zA-Z]+);/g, (m, ent: string) => {
    if (ent[0] === '#') {
      const code = ent[1] === 'x' || ent[1] === 'X' ? parseInt(ent.slice(2), 16) : parseInt(ent.slice(1), 10);
      const allowed = code === 9 || code === 10 || code === 13 || (code >= 0x20 && code <= 0xd7ff) || (code >= 0xe000 && code <= 0xfffd) || (code >= 0x10000 && code <= 0x10ffff);
      if (!allowed) throw new XmlRpcParseError(`reference to invalid character number: ${m}`);
      return String.fromCodePoint(code);
    }
    const v = ENTITIES[ent];
    if (v === undefined) throw new XmlRpcParseError(`undefined entity: ${m}`);
    return v;
  });
}

/** Minimal well-formedness-checking XML parser: elements, attributes (ignored), text, CDATA, comments, PIs. */
export function parseXml(input: string): XNode {
  // XML 1.0: characters below 0x20 other than tab/LF/CR are not allowed; line ends become LF (§2.11)
  // eslint-disable-next-line no-control-regex
  const bad = /[\x00-\x08\x0b\x0c\x0e-\x1f]/.exec(input);
  if (bad) throw new XmlRpcParseError(`not well-formed (invalid token) at offset ${bad.index}`);
  const src = input.replace(/\r\n?/g, '\n');
  let i = 0;
  const n = src.length;
  const fail = (msg: string): never => {
    throw new XmlRpcParseError(`${msg} at offset ${i}`);
  };
  const skipMisc = () => {
    for (;;) {
      while (i < n && /\s/.test(src[i])) i++;
      if (src.startsWith('<?', i)) {
        const e = src.indexOf('?>', i);
        if (e < 0) fail('unterminated processing instruction');
        i = e + 2;
      } else if (src.startsWith('<!--', i)) {
        const e = src.indexOf('-->', i);
        if (e < 0) fail('unterminated comment');
        i = e + 3;
      } else if (src.startsWith('<!DOCTYPE', i)) {
        // Entity declarations are not supported (and Odoo gains nothing from them): refuse internal subsets.
        const e = src.indexOf('>', i);
        if (e < 0 || src.slice(i, e).includes('[')) fail('DOCTYPE with internal subset not accepted');
        i = e + 1;
      } else return;
    }
  };
  const readName = (): string => {
    const m = /^[A-Za-z_:][-A-Za-z0-9_.:]*/.exec(src.slice(i, i + 200));
    if (!m) return fail('expected a name');
    i += m[0].length;
    return m[0];
  };
  const parseElement = (): XNode => {
    if (src[i] !== '<') fail('expected <');
    i++;
    const name = readName();
    // attributes
    for (;;) {
      while (i < n && /\s/.test(src[i])) i++;
      if (src.startsWith('/>', i)) {
        i += 2;
        return { name, children: [], text: '' };
      }
      if (src[i] === '>') {
        i++;
        break;
      }
      readName();
      while (i < n && /\s/.test(src[i])) i++;
      if (src[i] !== '=') fail('expected =');
      i++;
      while (i < n && /\s/.test(src[i])) i++;
      const q = src[i];
      if (q !== '"' && q !== "'") fail('expected quoted attribute value');
      const e = src.indexOf(q, i + 1);
      if (e < 0) fail('unterminated attribute value');
      i = e + 1;
    }
    const node: XNode = { name, children: [], text: '' };
    for (;;) {
      if (i >= n) fail(`unclosed element <${name}>`);
      if (src.startsWith('</', i)) {
        i += 2;
        const close = readName();
        if (close !== name) fail(`mismatched tag: expected </${name}> got </${close}>`);
        while (i < n && /\s/.test(src[i])) i++;
        if (src[i] !== '>') fail('expected >');
        i++;
        return node;
      }
      if (src.startsWith('<!--', i)) {
        const e = src.indexOf('-->', i);
        if (e < 0) fail('unterminated comment');
        i = e + 3;
        continue;
      }
      if (src.startsWith('<![CDATA[', i)) {
        const e = src.indexOf(']]>', i);
        if (e < 0) fail('unterminated CDATA');
        node.text += src.slice(i + 9, e);
        i = e + 3;
        continue;
      }
      if (src.startsWith('<?', i)) {
        const e = src.indexOf('?>', i);
        if (e < 0) fail('unterminated processing instruction');
        i = e + 2;
        continue;
      }
      if (src[i] === '<') {
        node.children.push(parseElement());
        continue;
      }
      const e = src.indexOf('<', i);
      const end = e < 0 ? n : e;
      const raw = src.slice(i, end);
      if (raw.includes('>') && raw.includes(']]>')) fail("']]>' not allowed in text");
      node.text += decodeEntities(raw);
      i = end;
    }
  };
  skipMisc();
  const root = parseElement();
  skipMisc();
  if (i < n) fail('junk after document element');
  return root;
}

function only(node: XNode, name: string): XNode {
  const c = node.children.filter((x) => x.name === name);
  if (c.length !== 1) throw new XmlRpcParseError(`<${node.name}> must contain exactly one <${name}>`);
  return c[0];
}

const INT_RE = /^[+-]?[0-9]+$/;

export function decodeValue(v: XNode): XValue {
  if (v.name !== 'value') throw new XmlRpcParseError(`expected <value>, got <${v.name}>`);
  if (v.children.length === 0) return v.text; // untyped value = string (spec)
  if (v.children.length > 1) throw new XmlRpcParseError('<value> holds more than one element');
  const t = v.children[0];
  const text = t.text;
  switch (t.name) {
    case 'i4':
    case 'int':
    case 'i8':
    case 'i1':
    case 'i2':
    case 'biginteger': {
      const s = text.trim();
      if (!INT_RE.test(s)) throw new XmlRpcParseError(`bad integer value: ${JSON.stringify(text)}`);
      return Number(s);
    }
    case 'boolean': {
      if (text === '0') return false;
      if (text === '1') return true;
      throw new XmlRpcParseError('bad boolean value');
    }
    case 'double':
    case 'float':
    case 'bigdecimal': {
      const s = text.trim();
      if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(s) && !/^[+-]?(inf|nan)$/i.test(s)) {
        throw new XmlRpcParseError(`could not convert string to float: ${JSON.stringify(text)}`);
      }
      return Number(s);
    }
    case 'string':
      return text;
    case 'nil':
      return null;
    case 'dateTime.iso8601':
      return new XDateTime(text.trim());
    case 'base64':
      return new XBinary(text.replace(/\s+/g, ''));
    case 'array': {
      const data = only(t, 'data');
      return data.children.map((c) => decodeValue(c));
    }
    case 'struct': {
      const out: { [k: string]: XValue } = {};
      for (const m of t.children) {
        if (m.name !== 'member') throw new XmlRpcParseError(`unexpected <${m.name}> in <struct>`);
        const name = only(m, 'name').text;
        out[name] = decodeValue(only(m, 'value'));
      }
      return out;
    }
    default:
      throw new XmlRpcParseError(`unknown tag <${t.name}>`);
  }
}

export interface MethodCall {
  methodName: string;
  params: XValue[];
}

export function decodeMethodCall(xml: string): MethodCall {
  const root = parseXml(xml);
  if (root.name !== 'methodCall') throw new XmlRpcParseError(`expected <methodCall>, got <${root.name}>`);
  const methodName = only(root, 'methodName').text.trim();
  const paramsNodes = root.children.filter((c) => c.name === 'params');
  const params: XValue[] = [];
  if (paramsNodes.length > 1) throw new XmlRpcParseError('more than one <params>');
  if (paramsNodes.length === 1) {
    for (const p of paramsNodes[0].children) {
      if (p.name !== 'param') throw new XmlRpcParseError(`unexpected <${p.name}> in <params>`);
      params.push(decodeValue(only(p, 'value')));
    }
  }
  return { methodName, params };
}

/** For client-side use in tests and by anyone who wants to read a response. */
export function decodeMethodResponse(xml: string): { fault?: { faultCode: number; faultString: string }; value?: XValue } {
  const root = parseXml(xml);
  if (root.name !== 'methodResponse') throw new XmlRpcParseError(`expected <methodResponse>, got <${root.name}>`);
  const fault = root.children.find((c) => c.name === 'fault');
  if (fault) {
    const v = decodeValue(only(fault, 'value')) as { faultCode: number; faultString: string };
    return { fault: v };
  }
  const params = only(root, 'params');
  const param = only(params, 'param');
  return { value: decodeValue(only(param, 'value')) };
}

// Odoo's marshaller strips ASCII control characters except tab, LF, CR (CONTROL_CHARACTERS in rpc.py).
// eslint-disable-next-line no-control-regex
const CONTROL = /[\x00-\x08\x0b\x0c\x0e-\x1f]/g;

// eslint-disable-next-line no-control-regex
const NEEDS_ESCAPE = /[&<>\x00-\x08\x0b\x0c\x0e-\x1f]/;

function escapeXml(s: string): string {
  if (!NEEDS_ESCAPE.test(s)) return s;
  // Python's xmlrpc.client.escape replaces only &, <, >.
  return s.replace(CONTROL, '').replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Python repr() of a float, which is what xmlrpc.client writes inside <double>. */
export function pyFloatRepr(x: number): string {
  if (Number.isNaN(x)) return 'nan';
  if (x === Infinity) return 'inf';
  if (x === -Infinity) return '-inf';
  if (Number.isInteger(x) && Math.abs(x) < 1e16) return x.toFixed(1);
  const s = String(x);
  // JS writes 1e+21 / 1e-7; Python writes 1e+21 / 1e-07.
  return s.replace(/e([+-])(\d)$/, 'e$10$2');
}

const MAXINT = 2 ** 31 - 1;
const MININT = -(2 ** 31);

export class MarshalError extends Error {}

export function encodeValue(v: XValue | undefined, out: string[]): void {
  if (v === null || v === undefined) {
    // Odoo answers with allow_none=False.
    throw new MarshalError('cannot marshal None unless allow_none is enabled');
  }
  if (typeof v === 'boolean') {
    out.push(`<value><boolean>${v ? 1 : 0}</boolean></value>`);
  } else if (typeof v === 'number') {
    if (Number.isInteger(v)) {
      if (v > MAXINT || v < MININT) throw new MarshalError('int exceeds XML-RPC limits');
      out.push(`<value><int>${v}</int></value>`);
    } else out.push(`<value><double>${pyFloatRepr(v)}</double></value>`);
  } else if (typeof v === 'string') {
    out.push(`<value><string>${escapeXml(v)}</string></value>`);
  } else if (v instanceof XDouble) {
    out.push(`<value><double>${pyFloatRepr(v.value)}</double></value>`);
  } else if (v instanceof XDateTime) {
    out.push(`<value><dateTime.iso8601>${escapeXml(v.raw)}</dateTime.iso8601></value>`);
  } else if (v instanceof XBinary) {
    out.push(`<value><base64>\n${v.base64}\n</base64></value>`);
  } else if (Array.isArray(v)) {
    out.push('<value><array><data>\n');
    for (const x of v) {
      encodeValue(x, out);
      out.push('\n');
    }
    out.push('</data></array></value>');
  } else {
    out.push('<value><struct>\n');
    for (const [k, x] of Object.entries(v)) {
      out.push(`<member>\n<name>${escapeXml(k)}</name>\n`);
      encodeValue(x, out);
      out.push('\n</member>\n');
    }
    out.push('</struct></value>');
  }
}

export function encodeResponse(v: XValue): string {
  const out: string[] = ["<?xml version='1.0'?>\n<methodResponse>\n<params>\n<param>\n"];
  encodeValue(v, out);
  out.push('\n</param>\n</params>\n</methodResponse>\n');
  return out.join('');
}

export function encodeFault(faultCode: number, faultString: string): string {
  const out: string[] = ["<?xml version='1.0'?>\n<methodResponse>\n<fault>\n"];
  encodeValue({ faultCode, faultString }, out);
  out.push('\n</fault>\n</methodResponse>\n');
  return out.join('');
}

/** Client side (tests): build a <methodCall>. */
export function encodeCall(methodName: string, params: XValue[]): string {
  const out: string[] = [`<?xml version='1.0'?>\n<methodCall>\n<methodName>${escapeXml(methodName)}</methodName>\n<params>\n`];
  for (const p of params) {
    out.push('<param>\n');
    if (p === null) out.push('<value><nil/></value>');
    else encodeValue(p, out);
    out.push('\n</param>\n');
  }
  out.push('</params>\n</methodCall>\n');
  return out.join('');
}

/** Python repr() of a decoded value: Odoo error texts embed reprs (e.g. "Invalid field 'x' on model 'y'"). */
export function pyRepr(v: XValue | undefined): string {
  if (v === null || v === undefined) return 'None';
  if (v === true) return 'True';
  if (v === false) return 'False';
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : pyFloatRepr(v);
  if (typeof v === 'string') {
    const q = v.includes("'") && !v.includes('"') ? '"' : "'";
    let body = v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/\r/g, '\\r').replace(/\t/g, '\\t');
    if (q === "'") body = body.replace(/'/g, "\\'");
    return q + body + q;
  }
  if (v instanceof XDouble) return pyFloatRepr(v.value);
  if (v instanceof XDateTime) return `<DateTime '${v.raw}'>`;
  if (v instanceof XBinary) return `<xmlrpc.client.Binary>`;
  if (Array.isArray(v)) return '[' + v.map(pyRepr).join(', ') + ']';
  return '{' + Object.entries(v).map(([k, x]) => `${pyRepr(k)}: ${pyRepr(x)}`).join(', ') + '}';
}
