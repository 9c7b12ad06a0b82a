// Python-flavoured text formatting. Odoo's fault strings are Python `str()`/`repr()` output and
// tracebacks, and connectors pattern-match on them, so the simulator writes them the same way.

import { Json } from './types';

/** Python `repr()` of a str: single quotes unless the text contains one and no double quote. */
export function pyStrRepr(s: string): string {
  const quote = s.includes("'") && !s.includes('"') ? '"' : "'";
  let out = quote;
  for (const ch of s) {
    if (ch === '\\') out += '\\\\';
    else if (ch === quote) out += '\\' + ch;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else out += ch;
  }
  return out + quote;
}

/** Python `repr()` of a float: `100.0`, `0.1`, `1e+16`. */
export function pyFloatRepr(n: number): string {
  if (Number.isNaN(n)) return 'nan';
  if (!Number.isFinite(n)) return n > 0 ? 'inf' : '-inf';
  if (Number.isInteger(n) && Math.abs(n) < 1e16) return n.toFixed(1);
  const s = String(n);
  // JS switches to exponent notation at 1e21, Python at 1e16; normalise the exponent form.
  if (Math.abs(n) >= 1e16 && !s.includes('e')) return n.toExponential().replace(/\.?0+e/, 'e');
  return s;
}

/**
 * Python `repr()` of a decoded request value. JSON cannot tell 1 from 1.0, so integral numbers
 * print as ints (what a client sending `1` gets in Odoo too). `asTuple` prints a domain leaf the
 * way Odoo's normalize_leaf() hands it to error messages: `('foo', '=', 1)`.
 */
export function pyRepr(v: Json | undefined, asTuple = false): string {
  if (v === undefined || v === null) return 'None';
  if (v === true) return 'True';
  if (v === false) return 'False';
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : pyFloatRepr(v);
  if (typeof v === 'string') return pyStrRepr(v);
  if (Array.isArray(v)) {
    const inner = v.map((x) => pyRepr(x)).join(', ');
    if (asTuple) return v.length === 1 ? `(${inner},)` : `(${inner})`;
    return `[${inner}]`;
  }
  return `{${Object.entries(v)
    .map(([k, x]) => `${pyStrRepr(k)}: ${pyRepr(x)}`)
    .join(', ')}}`;
}

/** A stack frame line pair as Python's traceback module prints it. */
export interface PyFrame {
  file: string;
  line: number;
  func: string;
  code: string;
}

const ODOO = '/usr/lib/python3/dist-packages/odoo';

/** Frames every XML-RPC object call passes through in Odoo 17 (odoo/addons/base/controllers/rpc.py → odoo/service/model.py). */
export const XMLRPC_OBJECT_FRAMES: PyFrame[] = [
  { file: `${ODOO}/addons/base/controllers/rpc.py`, line: 150, func: '_xmlrpc_common', code: 'response = self._xmlrpc(service)' },
  { file: `${ODOO}/addons/base/controllers/rpc.py`, line: 130, func: '_xmlrpc', code: 'result = dispatch_rpc(service, method, params)' },
  { file: `${ODOO}/http.py`, line: 368, func: 'dispatch_rpc', code: 'return dispatch(method, params)' },
  { file: `${ODOO}/service/model.py`, line: 39, func: 'dispatch', code: 'res = execute_kw(db, uid, *params[3:])' },
  { file: `${ODOO}/service/model.py`, line: 61, func: 'execute_kw', code: 'return execute(db, uid, obj, method, *args, **kw or {})' },
  { file: `${ODOO}/service/model.py`, line: 68, func: 'execute', code: 'res = execute_cr(cr, uid, obj, method, *args, **kw)' },
  { file: `${ODOO}/service/model.py`, line: 52, func: 'execute_cr', code: 'result = retrying(partial(odoo.api.call_kw, recs, method, args, kw), env)' },
  { file: `${ODOO}/service/model.py`, line: 137, func: 'retrying', code: 'result = func()' },
  { file: `${ODOO}/api.py`, line: 468, func: 'call_kw', code: 'result = _call_kw_model(method, model, args, kwargs)' },
];

export const JSON2_FRAMES: PyFrame[] = [
  { file: `${ODOO}/http.py`, line: 2212, func: '_transactioning', code: 'return service_model.retrying(func, env=self.env)' },
  { file: `${ODOO}/service/model.py`, line: 176, func: 'retrying', code: 'result = func()' },
  { file: `${ODOO}/http.py`, line: 2177, func: '_serve_ir_http', code: "response = self.dispatcher.dispatch(rule.endpoint, args)" },
  { file: `${ODOO}/addons/rpc/controllers/json2.py`, line: 84, func: 'web_json_2_rpc', code: 'result = func(records, **kwargs)' },
];

/** `traceback.format_exception()` text: header, frames, then `Type: message`, newline-terminated. */
export function formatTraceback(frames: PyFrame[], exceptionLine: string): string {
  let out = 'Traceback (most recent call last):\n';
  for (const f of frames) out += `  File "${f.file}", line ${f.line}, in ${f.func}\n    ${f.code}\n`;
  return out + exceptionLine + '\n';
}
