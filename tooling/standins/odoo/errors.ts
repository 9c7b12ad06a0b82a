// Odoo exceptions as the RPC layer classifies them (odoo/addons/base/controllers/rpc.py,
// xmlrpc_handle_exception_int): RedirectWarning/UserError (incl. MissingError, ValidationError) -> 2,
// AccessError -> 4, AccessDenied -> 3, anything else -> 1 with the formatted Python traceback.

export type OdooExc =
  | 'odoo.exceptions.UserError'
  | 'odoo.exceptions.MissingError'
  | 'odoo.exceptions.ValidationError'
  | 'odoo.exceptions.AccessError'
  | 'odoo.exceptions.AccessDenied'
  | 'builtins.ValueError'
  | 'builtins.TypeError'
  | 'builtins.KeyError'
  | 'builtins.IndexError'
  | 'builtins.AttributeError'
  | 'builtins.NameError'
  | 'builtins.AssertionError'
  | 'builtins.Exception'
  | 'builtins.NotImplementedError'
  | 'builtins.OverflowError'
  | 'xml.parsers.expat.ExpatError'
  | 'psycopg2.OperationalError'
  | 'psycopg2.errors.InvalidDatetimeFormat'
  | 'psycopg2.errors.InvalidTextRepresentation';

export class OdooError extends Error {
  constructor(
    readonly exc: OdooExc,
    message: string,
  ) {
    super(message);
  }

  get faultCode(): number {
    switch (this.exc) {
      case 'odoo.exceptions.AccessError':
        return 4;
      case 'odoo.exceptions.AccessDenied':
        return 3;
      case 'odoo.exceptions.UserError':
      case 'odoo.exceptions.MissingError':
      case 'odoo.exceptions.ValidationError':
        return 2;
      default:
        return 1;
    }
  }

  /** Last line of a Python traceback: builtins are unqualified, others keep their module. */
  get pythonLine(): string {
    const cls = this.exc.startsWith('builtins.') ? this.exc.slice('builtins.'.length) : this.exc;
    return `${cls}: ${this.message}`;
  }

  /** A stand-in traceback: the frames are illustrative, the last line is the one Odoo 17 prints. */
  get traceback(): string {
    return (
      'Traceback (most recent call last):\n' +
      '  File "/usr/lib/python3/dist-packages/odoo/addons/base/controllers/rpc.py", line 150, in xmlrpc_2\n' +
      '    response = self._xmlrpc(service)\n' +
      '  File "/usr/lib/python3/dist-packages/odoo/service/model.py", line 156, in execute_cr\n' +
      '    result = retrying(partial(odoo.api.call_kw, recs, method, args, kw), env)\n' +
      `${this.pythonLine}\n`
    );
  }

  get faultString(): string {
    return this.faultCode === 1 ? this.traceback : this.message;
  }
}

export const userError = (m: string) => new OdooError('odoo.exceptions.UserError', m);
export const valueError = (m: string) => new OdooError('builtins.ValueError', m);
export const accessDenied = () => new OdooError('odoo.exceptions.AccessDenied', 'Access Denied');
