// One Node `http` server speaking Odoo's external API wire protocols:
//
//   POST /xmlrpc/2/common   version, authenticate, login            (int faultCodes)
//   POST /xmlrpc/2/object   execute_kw, execute
//   POST /xmlrpc/2/db       list, server_version, db_exist, list_lang
//   POST /xmlrpc/<service>  the legacy v1 endpoint (string faultCodes, rpc.py xmlrpc_1)
//   POST /jsonrpc           {"method":"call","params":{"service","method","args"}} — what n8n's
//                           built-in Odoo node uses; errors are HTTP 200 with an `error` member
//   POST /web/webclient/version_info   JSON-RPC version
//   GET  /web/version       {"version_info": [...], "version": "19.0"}
//   POST /json/2/<model>/<method>      JSON-2 (19.0+ only; 404 on older versions, like Odoo)
//
// Errors are encoded per protocol from one OdooException (see errors.ts). Failure injection
// (`failNext`) acts after the request body is read and parsed, so a rule can target one method.

import * as http from 'http';
import { AddressInfo } from 'net';
import { accessDenied, httpError, indexError, isOdooException, keyError, legacyFault, nameError, OdooException, typeError } from './errors';
import { callJson2, callKw, CallEnv } from './orm';
import { JSON2_FRAMES, PyFrame, XMLRPC_OBJECT_FRAMES } from './pyFormat';
import { SimUser } from './security';
import { Json, isJsonObject, RpcValue } from './types';
import { parseMethodCall, serializeFault, serializeResponse } from './xmlrpcCodec';

export interface VersionInfo {
  server_version: string;
  server_version_info: [number, number, number, string, number, string];
  server_serie: string;
  protocol_version: number;
}

export type Protocol = 'xmlrpc' | 'jsonrpc' | 'json2' | 'http';

/** What a failure rule can match on; every given key must equal the request's. */
export interface RequestMatch {
  protocol?: Protocol;
  /** XML-RPC/JSON-RPC service: common, object, db. */
  service?: string;
  /** RPC method: version, authenticate, or the ORM method (search_read, ...). */
  method?: string;
  model?: string;
}

export type FailureSpec =
  /** Answer with an HTTP error page instead of the RPC response (a proxy in front of Odoo). */
  | { kind: 'http500'; status?: number; retryAfter?: number; body?: string; match?: RequestMatch }
  /** Drop the TCP connection without answering (ECONNRESET / socket hang up). */
  | { kind: 'reset'; match?: RequestMatch }
  /** Answer with a protocol-level error: an XML-RPC fault, a JSON-RPC error, a JSON-2 status. */
  | { kind: 'fault'; faultCode?: 1 | 2 | 3 | 4; faultString?: string; match?: RequestMatch }
  /** Wait `ms` before serving the request normally (timeouts, slow servers). */
  | { kind: 'delay'; ms: number; match?: RequestMatch };

export interface SimStats {
  /** HTTP requests received, injected failures included. */
  requests: number;
  byProtocol: Record<string, number>;
  /** RPC method names: version, authenticate, search_read, fields_get, ... */
  byMethod: Record<string, number>;
  /** 'model/method' for ORM calls, e.g. 'account.move.line/search_read'. */
  byModelMethod: Record<string, number>;
  /** Error answers sent (faults, JSON-RPC errors, JSON-2 4xx/5xx), injected ones included. */
  errors: number;
  /** Failures injected by failNext. */
  injected: number;
  /** Records returned by read/search_read. */
  recordsReturned: number;
  bytesSent: number;
}

export function emptyStats(): SimStats {
  return { requests: 0, byProtocol: {}, byMethod: {}, byModelMethod: {}, errors: 0, injected: 0, recordsReturned: 0, bytesSent: 0 };
}

/** What the server needs from the simulator. */
export interface ServerBackend {
  readonly database: string;
  readonly versionInfo: VersionInfo;
  readonly stats: SimStats;
  /** uid, or false for a wrong login/secret; throws for an unknown database. */
  authenticate(db: Json, login: Json, secret: Json): number | false;
  /** The user behind (db, uid, password/API key), or AccessDenied. */
  checkUid(db: Json, uid: Json, secret: Json): SimUser;
  userByApiKey(key: string): SimUser | undefined;
  callEnv(user: SimUser): Omit<CallEnv, 'context'>;
  takeFailure(info: RequestMatch): FailureSpec | undefined;
  /** Bugs in the simulator itself (not Odoo errors) are kept here for test diagnostics. */
  internalErrors: Error[];
}

export interface RunningServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

// ----------------------------------------------------------------------------------------------

const bump = (rec: Record<string, number>, key: string): void => {
  rec[key] = (rec[key] ?? 0) + 1;
};

function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  422: 'Unprocessable Entity',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

function htmlPage(status: number): string {
  const text = STATUS_TEXT[status] ?? 'Error';
  return `<html>\r\n<head><title>${status} ${text}</title></head>\r\n<body>\r\n<center><h1>${status} ${text}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n`;
}

/** Exception for an injected `fault` failure, by XML-RPC fault code. */
function injectedException(code: 1 | 2 | 3 | 4, text?: string): OdooException {
  switch (code) {
    case 2:
      return new OdooException('odoo.exceptions', 'UserError', text ?? 'Injected user error', [text ?? 'Injected user error'], 2, 422);
    case 3:
      return accessDenied(text);
    case 4:
      return new OdooException('odoo.exceptions', 'AccessError', text ?? 'Injected access error', [text ?? 'Injected access error'], 4, 403);
    default: {
      // A transient database error is the typical faultCode 1 a retry helps with.
      const msg = text ?? 'could not serialize access due to concurrent update\n';
      return new OdooException('psycopg2.errors', 'SerializationFailure', msg, [msg], 1, 500);
    }
  }
}

function arity(fn: string, params: Json[], names: string[]): void {
  if (params.length < names.length) {
    const missing = names.slice(params.length).map((n) => `'${n}'`);
    throw typeError(`${fn}() missing ${missing.length} required positional argument${missing.length > 1 ? 's' : ''}: ${missing.join(' and ')}`);
  }
}

// ----------------------------------------------------------------------------------------------

export function startServer(backend: ServerBackend, port = 0, host = '127.0.0.1'): Promise<RunningServer> {
  const send = (res: http.ServerResponse, status: number, type: string, body: string, headers: http.OutgoingHttpHeaders = {}): void => {
    const buf = Buffer.from(body, 'utf8');
    backend.stats.bytesSent += buf.length;
    if (status >= 400) backend.stats.errors++;
    res.writeHead(status, { 'Content-Type': type, 'Content-Length': buf.length, Server: 'Werkzeug/3.0.1 Python/3.12.3', ...headers });
    res.end(buf);
  };
  const sendXml = (res: http.ServerResponse, body: string): void => send(res, 200, 'text/xml; charset=utf-8', body);
  const sendJson = (res: http.ServerResponse, status: number, value: unknown): void => send(res, status, 'application/json; charset=utf-8', JSON.stringify(value));

  const internal = (e: unknown): OdooException => {
    if (isOdooException(e)) return e;
    const err = e instanceof Error ? e : new Error(String(e));
    backend.internalErrors.push(err);
    return new OdooException('builtins', 'Exception', err.message, [err.message], 1, 500);
  };

  /** Returns true when the request was answered (or dropped) by an injected failure. */
  const injectFailure = async (res: http.ServerResponse, info: RequestMatch, encodeFault: (e: OdooException) => void): Promise<boolean> => {
    const failure = backend.takeFailure(info);
    if (!failure) return false;
    backend.stats.injected++;
    switch (failure.kind) {
      case 'delay':
        await sleep(failure.ms);
        return false;
      case 'reset':
        res.socket?.destroy();
        return true;
      case 'http500': {
        const status = failure.status ?? 500;
        send(res, status, 'text/html', failure.body ?? htmlPage(status), failure.retryAfter !== undefined ? { 'Retry-After': String(failure.retryAfter) } : {});
        return true;
      }
      case 'fault':
        encodeFault(injectedException(failure.faultCode ?? 1, failure.faultString));
        return true;
    }
  };

  // --- XML-RPC -------------------------------------------------------------------------------

  const dispatchRpc = (service: string, method: string, params: Json[]): RpcValue => {
    if (service === 'common') {
      if (method === 'version') return { ...backend.versionInfo };
      if (method === 'authenticate') {
        arity('exp_authenticate', params, ['db', 'login', 'password', 'user_agent_env']);
        return backend.authenticate(params[0], params[1], params[2]);
      }
      if (method === 'login') {
        arity('exp_login', params, ['db', 'login', 'password']);
        return backend.authenticate(params[0], params[1], params[2]);
      }
      throw keyError(`exp_${method}`);
    }
    if (service === 'db') {
      if (method === 'list') return [backend.database];
      if (method === 'server_version') return backend.versionInfo.server_version;
      if (method === 'db_exist') return params[0] === backend.database;
      if (method === 'list_lang') return [['en_US', 'English (US)']];
      throw keyError(`exp_${method}`);
    }
    if (service === 'object') {
      // odoo/service/model.py dispatch: `db, uid, passwd = params[0], int(params[1]), params[2]`,
      // then the credentials are checked before anything else.
      if (params.length < 3) throw indexError('tuple index out of range');
      const user = backend.checkUid(params[0], params[1], params[2]);
      const env = backend.callEnv(user);
      if (method === 'execute_kw') {
        arity('execute_kw', params.slice(3), ['obj', 'method', 'args']);
        const args = params[5];
        return callKw(env, String(params[3]), String(params[4]), Array.isArray(args) ? args : [args], params[6] ?? {});
      }
      if (method === 'execute') {
        arity('execute', params.slice(3), ['obj', 'method']);
        return callKw(env, String(params[3]), String(params[4]), params.slice(5), {});
      }
      throw nameError(`Method not available ${method}`);
    }
    throw keyError(service);
  };

  const requestInfo = (protocol: Protocol, service: string, method: string, params: Json[]): RequestMatch => {
    const info: RequestMatch = { protocol, service, method };
    if (service === 'object' && (method === 'execute_kw' || method === 'execute')) {
      info.model = typeof params[3] === 'string' ? params[3] : undefined;
      info.method = typeof params[4] === 'string' ? params[4] : method;
    }
    return info;
  };

  const countCall = (info: RequestMatch): void => {
    if (info.method) bump(backend.stats.byMethod, info.method);
    if (info.model && info.method) bump(backend.stats.byModelMethod, `${info.model}/${info.method}`);
  };

  const handleXmlRpc = async (req: http.IncomingMessage, res: http.ServerResponse, service: string, legacy: boolean): Promise<void> => {
    bump(backend.stats.byProtocol, 'xmlrpc');
    if (req.method !== 'POST') return send(res, 405, 'text/html', htmlPage(405), { Allow: 'POST' });
    const body = await readBody(req);
    const frames: PyFrame[] = XMLRPC_OBJECT_FRAMES;
    const fault = (e: OdooException): void => {
      backend.stats.errors++;
      if (legacy) {
        const [code, text] = legacyFault(e, frames);
        return sendXml(res, serializeFault(code, text));
      }
      // rpc.py xmlrpc_handle_exception_int: UserError/AccessError/AccessDenied → str(e); others → traceback.
      const text = e.faultCode === 1 ? e.traceback(frames) : e.message;
      sendXml(res, serializeFault(e.faultCode, text));
    };
    let call;
    try {
      call = parseMethodCall(body);
    } catch (e) {
      return fault(internal(e));
    }
    const info = requestInfo('xmlrpc', service, call.methodName, call.params);
    countCall(info);
    if (await injectFailure(res, info, fault)) return;
    try {
      sendXml(res, serializeResponse(dispatchRpc(service, call.methodName, call.params)));
    } catch (e) {
      fault(internal(e));
    }
  };

  // --- JSON-RPC ------------------------------------------------------------------------------

  const jsonRpcError = (e: OdooException): Record<string, unknown> => ({
    code: backend.versionInfo.server_version_info[0] >= 19 ? 0 : 200,
    message: 'Odoo Server Error',
    data: { name: e.qualifiedName, debug: e.traceback(XMLRPC_OBJECT_FRAMES), message: e.message, arguments: e.pyArgs, context: {} },
  });

  const handleJsonRpc = async (req: http.IncomingMessage, res: http.ServerResponse, versionOnly: boolean): Promise<void> => {
    bump(backend.stats.byProtocol, 'jsonrpc');
    if (req.method !== 'POST') return send(res, 405, 'text/html', htmlPage(405), { Allow: 'POST' });
    const body = await readBody(req);
    let parsed: Json;
    try {
      parsed = JSON.parse(body) as Json;
    } catch {
      return sendJson(res, 400, { jsonrpc: '2.0', id: null, error: jsonRpcError(httpError(400, 'BadRequest', 'Invalid JSON data')) });
    }
    const envelope = isJsonObject(parsed) ? parsed : {};
    const id = envelope.id ?? null;
    const params = isJsonObject(envelope.params) ? envelope.params : {};
    const service = versionOnly ? 'common' : String(params.service ?? '');
    const method = versionOnly ? 'version' : String(params.method ?? '');
    const args = Array.isArray(params.args) ? params.args : [];
    const fail = (e: OdooException): void => {
      backend.stats.errors++;
      sendJson(res, 200, { jsonrpc: '2.0', id, error: jsonRpcError(e) });
    };
    const info = requestInfo('jsonrpc', service, method, args);
    countCall(info);
    if (await injectFailure(res, info, fail)) return;
    try {
      sendJson(res, 200, { jsonrpc: '2.0', id, result: dispatchRpc(service, method, args) });
    } catch (e) {
      fail(internal(e));
    }
  };

  // --- JSON-2 --------------------------------------------------------------------------------

  const json2Error = (res: http.ServerResponse, e: OdooException): void => {
    backend.stats.errors++;
    // Json2Dispatcher.handle_error → serialize_exception(e): HTTP exceptions use (description, code)
    // as arguments; `context` is getattr(e, 'context', {}), empty for the exceptions involved.
    sendJson(res, e.httpStatus, {
      name: e.qualifiedName,
      message: e.message,
      arguments: e.pyArgs,
      context: {},
      debug: e.traceback(JSON2_FRAMES),
    });
  };

  const handleJson2 = async (req: http.IncomingMessage, res: http.ServerResponse, path: string): Promise<void> => {
    bump(backend.stats.byProtocol, 'json2');
    if (backend.versionInfo.server_version_info[0] < 19) return send(res, 404, 'text/html; charset=utf-8', htmlPage(404));
    const m = /^\/json\/2\/([^/]+)\/([^/]+)$/.exec(path);
    if (!m) return json2Error(res, httpError(404, 'NotFound', 'Did you mean POST /json/2/<model>/<method>?'));
    const [model, method] = [decodeURIComponent(m[1]), decodeURIComponent(m[2])];
    if (req.method !== 'POST') return json2Error(res, httpError(405, 'MethodNotAllowed', 'The method is not allowed for the requested URL.'));
    const body = await readBody(req);
    const info: RequestMatch = { protocol: 'json2', method, model };
    countCall(info);
    const dbHeader = req.headers['x-odoo-database'];
    if (typeof dbHeader === 'string' && dbHeader !== backend.database) {
      return send(res, 404, 'text/html; charset=utf-8', htmlPage(404)); // no such database: no route
    }
    const auth = req.headers.authorization ?? '';
    const bearer = /^bearer\s+(.+)$/i.exec(auth.trim());
    const user = bearer ? backend.userByApiKey(bearer[1].trim()) : undefined;
    if (!user) return json2Error(res, httpError(401, 'Unauthorized', 'Invalid apikey'));
    let parsed: Json = {};
    if (body.trim() !== '') {
      const ct = req.headers['content-type'] ?? '';
      if (!/json/i.test(ct)) return json2Error(res, httpError(400, 'BadRequest', `Request inferred type is compatible with ['http'] but ${req.method} /json/2/${model}/${method} is type='json2'.`));
      try {
        parsed = JSON.parse(body) as Json;
      } catch (e) {
        return json2Error(res, httpError(400, 'BadRequest', `could not parse the body as json: ${(e as Error).message}`));
      }
      if (!isJsonObject(parsed)) return json2Error(res, httpError(400, 'BadRequest', 'could not parse the body, expecting a json object'));
    }
    const bodyObj = isJsonObject(parsed) ? parsed : {};
    if (await injectFailure(res, info, (e) => json2Error(res, e))) return;
    try {
      sendJson(res, 200, callJson2(backend.callEnv(user), model, method, bodyObj));
    } catch (e) {
      json2Error(res, internal(e));
    }
  };

  // --- routing -------------------------------------------------------------------------------

  const server = http.createServer((req, res) => {
    backend.stats.requests++;
    const path = (req.url ?? '/').split('?')[0];
    let handler: Promise<void>;
    const x2 = /^\/xmlrpc\/2\/([a-z_]+)$/.exec(path);
    const x1 = /^\/xmlrpc\/([a-z_]+)$/.exec(path);
    if (x2) handler = handleXmlRpc(req, res, x2[1], false);
    else if (x1) handler = handleXmlRpc(req, res, x1[1], true);
    else if (path === '/jsonrpc') handler = handleJsonRpc(req, res, false);
    else if (path === '/web/webclient/version_info') handler = handleJsonRpc(req, res, true);
    else if (path === '/json/2' || path.startsWith('/json/2/')) handler = handleJson2(req, res, path);
    else if (path === '/web/version' && req.method === 'GET') {
      bump(backend.stats.byProtocol, 'http');
      const v = backend.versionInfo;
      handler = Promise.resolve(sendJson(res, 200, { version_info: v.server_version_info, version: v.server_version }));
    } else {
      bump(backend.stats.byProtocol, 'http');
      handler = Promise.resolve(send(res, 404, 'text/html; charset=utf-8', htmlPage(404)));
    }
    handler.catch((e: unknown) => {
      backend.internalErrors.push(e instanceof Error ? e : new Error(String(e)));
      if (!res.headersSent) send(res, 500, 'text/html', htmlPage(500));
    });
  });
  server.keepAliveTimeout = 5000;

  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      const addr = server.address() as AddressInfo;
      resolve({
        url: `http://${host}:${addr.port}`,
        port: addr.port,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            server.closeAllConnections();
          }),
      });
    });
  });
}
