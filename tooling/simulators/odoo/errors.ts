// Odoo's exception classes and how each protocol reports them.
//
// XML-RPC /xmlrpc/2 (odoo/addons/base/controllers/rpc.py, xmlrpc_handle_exception_int):
//   RedirectWarning/UserError (incl. MissingError, ValidationError) → faultCode 2, faultString str(e)
//   AccessError → 4, AccessDenied → 3 (both str(e)), anything else → 1 with the full traceback.
// JSON-2 (Odoo 19, odoo/http.py Json2Dispatcher.handle_error): UserError subclasses use their
//   `http_status` (UserError 422, AccessError/AccessDenied 403, MissingError 404), werkzeug HTTP
//   exceptions their code, everything else 500; body = serialize_exception(e) =
//   {name, message, arguments, context, debug}.
// JSON-RPC /jsonrpc: HTTP 200, {"error": {"code": 200, "message": "Odoo Server Error", "data": serialize_exception(e)}}.

import { formatTraceback, PyFrame, pyStrRepr } from './pyFormat';
import { Json } from './types';

export class OdooException extends Error {
  constructor(
    /** Python module of the exception class: 'odoo.exceptions', 'builtins', 'werkzeug.exceptions', 'psycopg2'. */
    readonly pyModule: string,
    readonly pyClass: string,
    /** `str(e)`. */
    message: string,
    /** `e.args`. */
    readonly pyArgs: Json[],
    /** XML-RPC faultCode on /xmlrpc/2. */
    readonly faultCode: 1 | 2 | 3 | 4,
    /** HTTP status on JSON-2. */
    readonly httpStatus: number,
  ) {
    super(message);
    this.name = `${pyModule}.${pyClass}`;
  }

  /** `serialize_exception()`'s `name`: module-qualified, builtins included ("builtins.ValueError"). */
  get qualifiedName(): string {
    return `${this.pyModule}.${this.pyClass}`;
  }

  /** Last line of a Python traceback: builtins are printed bare, others module-qualified. */
  get exceptionLine(): string {
    const cls = this.pyModule === 'builtins' ? this.pyClass : this.qualifiedName;
    return this.message === '' ? cls : `${cls}: ${this.message}`;
  }

  traceback(frames: PyFrame[]): string {
    // AccessDenied suppresses its traceback in Odoo (exceptions.py: suppress_traceback()).
    if (this.pyClass === 'AccessDenied') return formatTraceback([], this.exceptionLine);
    return formatTraceback(frames, this.exceptionLine);
  }
}

// --- odoo.exceptions --------------------------------------------------------------------------

export const userError = (msg: string): OdooException =>
  new OdooException('odoo.exceptions', 'UserError', msg, [msg], 2, 422);

export const validationError = (msg: string): OdooException =>
  new OdooException('odoo.exceptions', 'ValidationError', msg, [msg], 2, 422);

export const missingError = (msg: string): OdooException =>
  new OdooException('odoo.exceptions', 'MissingError', msg, [msg], 2, 404);

export const accessError = (msg: string): OdooException =>
  new OdooException('odoo.exceptions', 'AccessError', msg, [msg], 4, 403);

/** Wrong password/API key on execute_kw. Odoo's default message is exactly 'Access Denied'. */
export const accessDenied = (msg = 'Access Denied'): OdooException =>
  new OdooException('odoo.exceptions', 'AccessDenied', msg, [msg], 3, 403);

// --- Python builtins (programming errors: faultCode 1, HTTP 500) ----------------------------

export const valueError = (msg: string): OdooException => new OdooException('builtins', 'ValueError', msg, [msg], 1, 500);
export const typeError = (msg: string): OdooException => new OdooException('builtins', 'TypeError', msg, [msg], 1, 500);
export const attributeError = (msg: string): OdooException =>
  new OdooException('builtins', 'AttributeError', msg, [msg], 1, 500);
export const indexError = (msg: string): OdooException => new OdooException('builtins', 'IndexError', msg, [msg], 1, 500);
export const assertionError = (msg: string): OdooException =>
  new OdooException('builtins', 'AssertionError', msg, [msg], 1, 500);
/** `str(KeyError(k))` is `repr(k)`: `KeyError: 'x.y'`. */
export const keyError = (key: string): OdooException =>
  new OdooException('builtins', 'KeyError', pyStrRepr(key), [key], 1, 500);
export const nameError = (msg: string): OdooException => new OdooException('builtins', 'NameError', msg, [msg], 1, 500);

/** What Odoo 17 answers when a call names a database Postgres does not have (Registry(db) fails to connect). */
export const unknownDatabase = (db: string): OdooException => {
  const msg = `connection to server on socket "/var/run/postgresql/.s.PGSQL.5432" failed: FATAL:  database ${JSON.stringify(db)} does not exist\n`;
  return new OdooException('psycopg2', 'OperationalError', msg, [msg], 1, 500);
};

// --- werkzeug HTTP exceptions (JSON-2 only; arguments are (description, code)) ---------------

export const httpError = (status: number, cls: string, description: string): OdooException =>
  new OdooException('werkzeug.exceptions', cls, description, [description, status], 1, status);

export const isOdooException = (e: unknown): e is OdooException => e instanceof OdooException;

/**
 * Legacy /xmlrpc/<service> (v1) fault: string faultCode, as xmlrpc_handle_exception_string does.
 * Returns [faultCode, faultString].
 */
export function legacyFault(e: OdooException, frames: PyFrame[]): [string, string] {
  switch (e.pyClass) {
    case 'MissingError':
      return ['warning -- MissingError\n\n' + e.message, ''];
    case 'AccessError':
      return ['warning -- AccessError\n\n' + e.message, ''];
    case 'AccessDenied':
      return ['AccessDenied', e.message];
    case 'UserError':
    case 'ValidationError':
      return ['warning -- UserError\n\n' + e.message, ''];
    default:
      return [e.message, e.traceback(frames)];
  }
}
