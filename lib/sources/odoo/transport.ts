/**
 * How the connector talks to Odoo, behind one interface:
 *   - XML-RPC  /xmlrpc/2/common + /xmlrpc/2/object   (every version; deprecated from 19)
 *   - JSON-RPC /jsonrpc                               (the same calls as JSON: much cheaper to parse)
 *   - JSON-2   /json/2/<model>/<method>, bearer key  (Odoo 19+, the replacement of both)
 * All calls use keyword arguments (search_read(domain=…, fields=…)), which every protocol accepts,
 * so the sync logic is the same whatever the wire. Each transport owns its HTTP request: a timeout,
 * status codes, and faults mapped to OdooError; transient failures are retried by OdooClient.
 */
import http from 'node:http';
import https from 'node:https';
import { Readable } from 'node:stream';
import Deserializer from 'xmlrpc/lib/deserializer';
import { serializeMethodCall } from 'xmlrpc/lib/serializer';
import { fromOdooException, isNetworkError, lastLine, OdooError } from './errors';

export type Protocol = 'xmlrpc' | 'jsonrpc' | 'json2';

export interface OdooCredentials {
	url: string;
	database: string;
	login: string;
	/** Password or API key (Odoo 14+ accepts an API key wherever the password goes). */
	secret: string;
}

export interface VersionInfo {
	serverVersion: string;
	major: number;
}

export type Kwargs = Record<string, unknown>;

export interface OdooTransport {
	readonly protocol: Protocol;
	/** Set once known, so error messages can name the Odoo version. */
	serverVersion?: string;
	version(): Promise<VersionInfo>;
	/** The user id, or an OdooError of kind auth. */
	authenticate(): Promise<number>;
	call(model: string, method: string, kwargs: Kwargs): Promise<unknown>;
}

export interface HttpOptions {
	timeoutMs?: number;
}

interface HttpAnswer {
	status: number;
	headers: http.IncomingHttpHeaders;
	body: Buffer;
}

/** One POST (or GET) with a hard timeout; network failures become OdooError('unreachable'). */
function request(url: URL, method: string, headers: Record<string, string>, body: string | undefined, timeoutMs: number): Promise<HttpAnswer> {
	const client = url.protocol === 'https:' ? https : http;
	return new Promise((resolve, reject) => {
		const req = client.request(url, { method, headers: { ...headers, ...(body ? { 'Content-Length': String(Buffer.byteLength(body)) } : {}) } }, (res) => {
			const chunks: Buffer[] = [];
			res.on('data', (c: Buffer) => chunks.push(c));
			res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
			res.on('error', (e) => reject(networkError(url, e)));
		});
		req.setTimeout(timeoutMs, () => req.destroy(Object.assign(new Error(`no answer within ${timeoutMs} ms`), { code: 'ETIMEDOUT' })));
		req.on('error', (e) => reject(networkError(url, e)));
		if (body) req.write(body);
		req.end();
	});
}

function networkError(url: URL, error: Error): OdooError {
	const code = (error as { code?: string }).code;
	return new OdooError(
		isNetworkError(error) || code === 'ENOTFOUND' ? 'unreachable' : 'protocol',
		`Odoo at ${url.origin} is unreachable (${code ?? error.message}): check the URL and that the server is up`,
	);
}

function httpFailure(url: URL, answer: HttpAnswer, where: string): OdooError {
	const retryAfter = answer.headers['retry-after'];
	const kind = answer.status >= 500 || answer.status === 429 ? 'server' : answer.status === 404 ? 'invalid' : 'protocol';
	const text = answer.body.toString('utf8').slice(0, 200).replace(/\s+/g, ' ').trim();
	return new OdooError(kind, `Odoo at ${url.origin} answered HTTP ${answer.status} to ${where}${retryAfter ? ` (retry after ${retryAfter} s)` : ''}${text ? `: ${text}` : ''}`, {
		status: answer.status,
	});
}

function baseUrl(raw: string): URL {
	let url: URL;
	try {
		url = new URL(raw);
	} catch {
		throw new OdooError('protocol', `"${raw}" is not a valid Odoo URL (expected e.g. https://erp.example.com)`);
	}
	if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new OdooError('protocol', `The Odoo URL must start with http:// or https://`);
	url.search = '';
	url.hash = '';
	return url;
}

/** base + path, keeping a base path (Odoo behind a reverse proxy at /odoo) and never doubling '/'. */
const join = (base: URL, path: string) => new URL(`${base.pathname.replace(/\/+$/, '')}${path}`, base);

// --- XML-RPC ---------------------------------------------------------------------------------

export class XmlRpcTransport implements OdooTransport {
	serverVersion?: string;
	readonly protocol = 'xmlrpc' as const;
	private readonly base: URL;
	private uid: number | undefined;

	constructor(private readonly credentials: OdooCredentials, private readonly options: HttpOptions = {}) {
		this.base = baseUrl(credentials.url);
	}

	private async methodCall(service: 'common' | 'object', method: string, params: unknown[], context: { model?: string; method?: string }): Promise<unknown> {
		const url = join(this.base, `/xmlrpc/2/${service}`);
		const answer = await request(url, 'POST', { 'Content-Type': 'text/xml' }, serializeMethodCall(method, params, 'utf8'), this.options.timeoutMs ?? 120_000);
		if (answer.status !== 200) throw httpFailure(url, answer, context.model ? `${context.model}.${context.method}` : method);
		return new Promise((resolve, reject) => {
			new Deserializer('utf8').deserializeMethodResponse(Readable.from([answer.body]), (error, result) => {
				if (!error) return resolve(result);
				if (error.faultCode === undefined) return reject(new OdooError('protocol', `Odoo's answer to ${method} is not XML-RPC: ${error.message}`));
				reject(faultToError(Number(error.faultCode), String(error.faultString ?? ''), { ...context, database: this.credentials.database, version: this.serverVersion }));
			});
		});
	}

	async version(): Promise<VersionInfo> {
		return parseVersion(await this.methodCall('common', 'version', [], { method: 'version' }));
	}

	async authenticate(): Promise<number> {
		const { database, login, secret } = this.credentials;
		const uid = await this.methodCall('common', 'authenticate', [database, login, secret, {}], { method: 'authenticate' });
		// Odoo answers a wrong login or key with False, not a fault.
		if (typeof uid !== 'number' || uid <= 0) {
			throw new OdooError('auth', `Odoo rejected login "${login}" on database "${database}" (authenticate returned False): check the login and password or API key`);
		}
		this.uid = uid;
		return uid;
	}

	async call(model: string, method: string, kwargs: Kwargs): Promise<unknown> {
		const uid = this.uid ?? (await this.authenticate());
		const { database, secret } = this.credentials;
		return this.methodCall('object', 'execute_kw', [database, uid, secret, model, method, [], kwargs], { model, method });
	}
}

/** XML-RPC faultCode → OdooError (odoo/addons/base/controllers/rpc.py xmlrpc_handle_exception_int). */
function faultToError(code: number, faultString: string, context: { model?: string; method?: string; database?: string; version?: string }): OdooError {
	switch (code) {
		case 3:
			return fromOdooException('odoo.exceptions.AccessDenied', faultString, context);
		case 4:
			return fromOdooException('odoo.exceptions.AccessError', faultString, context);
		case 2:
			return fromOdooException('odoo.exceptions.UserError', faultString, context);
		default: {
			// faultCode 1: the full traceback; its last line is "<module>.<Class>: message".
			const last = lastLine(faultString);
			const cls = /^([\w.]+(?:Error|Exception|Denied|Warning))\b:?/.exec(last)?.[1] ?? 'Exception';
			return fromOdooException(cls, faultString, context);
		}
	}
}

// --- JSON-RPC (/jsonrpc) ------------------------------------------------------------------------

let rpcId = 0;

export class JsonRpcTransport implements OdooTransport {
	serverVersion?: string;
	readonly protocol = 'jsonrpc' as const;
	private readonly base: URL;
	private uid: number | undefined;

	constructor(private readonly credentials: OdooCredentials, private readonly options: HttpOptions = {}) {
		this.base = baseUrl(credentials.url);
	}

	private async rpc(service: 'common' | 'object', method: string, args: unknown[], context: { model?: string; method?: string }): Promise<unknown> {
		const url = join(this.base, '/jsonrpc');
		const body = JSON.stringify({ jsonrpc: '2.0', method: 'call', params: { service, method, args }, id: ++rpcId });
		const answer = await request(url, 'POST', { 'Content-Type': 'application/json' }, body, this.options.timeoutMs ?? 120_000);
		if (answer.status !== 200) throw httpFailure(url, answer, context.model ? `${context.model}.${context.method}` : method);
		let parsed: { result?: unknown; error?: { message?: string; data?: { name?: string; message?: string; debug?: string } } };
		try {
			parsed = JSON.parse(answer.body.toString('utf8'));
		} catch {
			throw new OdooError('protocol', `Odoo's answer to ${method} is not JSON-RPC`);
		}
		if (parsed.error) {
			const data = parsed.error.data ?? {};
			throw fromOdooException(data.name ?? 'Exception', data.message || data.debug || parsed.error.message || 'unknown error', {
				...context,
				database: this.credentials.database,
				version: this.serverVersion,
			});
		}
		return parsed.result;
	}

	async version(): Promise<VersionInfo> {
		return parseVersion(await this.rpc('common', 'version', [], { method: 'version' }));
	}

	async authenticate(): Promise<number> {
		const { database, login, secret } = this.credentials;
		const uid = await this.rpc('common', 'authenticate', [database, login, secret, {}], { method: 'authenticate' });
		if (typeof uid !== 'number' || uid <= 0) {
			throw new OdooError('auth', `Odoo rejected login "${login}" on database "${database}" (authenticate returned False): check the login and password or API key`);
		}
		this.uid = uid;
		return uid;
	}

	async call(model: string, method: string, kwargs: Kwargs): Promise<unknown> {
		const uid = this.uid ?? (await this.authenticate());
		const { database, secret } = this.credentials;
		return this.rpc('object', 'execute_kw', [database, uid, secret, model, method, [], kwargs], { model, method });
	}
}

// --- JSON-2 (Odoo 19+) ------------------------------------------------------------------------

export class Json2Transport implements OdooTransport {
	serverVersion?: string;
	readonly protocol = 'json2' as const;
	private readonly base: URL;

	constructor(private readonly credentials: OdooCredentials, private readonly options: HttpOptions = {}) {
		this.base = baseUrl(credentials.url);
	}

	async version(): Promise<VersionInfo> {
		const url = join(this.base, '/web/version');
		const answer = await request(url, 'GET', {}, undefined, this.options.timeoutMs ?? 30_000);
		if (answer.status !== 200) throw httpFailure(url, answer, 'web/version');
		let body: { version?: string; version_info?: unknown[] };
		try {
			body = JSON.parse(answer.body.toString('utf8'));
		} catch {
			throw new OdooError('protocol', `Odoo's answer to web/version is not JSON`);
		}
		return parseVersion({ server_version: body?.version, server_version_info: body?.version_info });
	}

	/** JSON-2 has no login step: the API key is checked on every call; this proves it works. */
	async authenticate(): Promise<number> {
		const context = (await this.call('res.users', 'context_get', {})) as { uid?: number } | null;
		return typeof context?.uid === 'number' ? context.uid : 0;
	}

	async call(model: string, method: string, kwargs: Kwargs): Promise<unknown> {
		const url = join(this.base, `/json/2/${encodeURIComponent(model)}/${encodeURIComponent(method)}`);
		const answer = await request(
			url,
			'POST',
			{
				'Content-Type': 'application/json',
				Authorization: `bearer ${this.credentials.secret}`,
				'X-Odoo-Database': this.credentials.database,
			},
			JSON.stringify(kwargs),
			this.options.timeoutMs ?? 120_000,
		);
		const text = answer.body.toString('utf8');
		if (answer.status === 200) {
			try {
				return JSON.parse(text);
			} catch {
				throw new OdooError('protocol', `Odoo's answer to ${model}.${method} is not JSON`);
			}
		}
		let error: { name?: string; message?: string; debug?: string } | undefined;
		try {
			error = JSON.parse(text);
		} catch {
			error = undefined;
		}
		if (answer.status === 401) {
			throw new OdooError('auth', `Odoo rejected the API key for database "${this.credentials.database}" (HTTP 401${error?.message ? `: ${error.message}` : ''}): check the API key in the IPAI Odoo API credential`, {
				model,
				method,
				status: 401,
			});
		}
		if (error?.name && answer.status < 502) {
			const mapped = fromOdooException(error.name, error.message || error.debug || '', { model, method, database: this.credentials.database, version: this.serverVersion });
			// werkzeug's NotFound: an unknown model or method.
			if (/NotFound/.test(error.name)) return Promise.reject(new OdooError('invalid', `Odoo has no ${model}.${method} (HTTP 404): is the model's module installed?`, { model, method, status: 404 }));
			return Promise.reject(mapped);
		}
		throw httpFailure(url, answer, `${model}.${method}`);
	}
}

export function parseVersion(raw: unknown): VersionInfo {
	const value = (raw ?? {}) as { server_version?: unknown; server_version_info?: unknown };
	const serverVersion = String(value.server_version ?? '');
	const info = Array.isArray(value.server_version_info) ? value.server_version_info : [];
	const majorFromInfo = typeof info[0] === 'number' ? info[0] : Number.NaN;
	// 'saas~17.4' → 17
	const major = Number.isFinite(majorFromInfo) ? majorFromInfo : Number(/(\d+)\./.exec(serverVersion)?.[1] ?? Number.NaN);
	if (!Number.isFinite(major)) throw new OdooError('protocol', `The server did not answer like Odoo (version: ${JSON.stringify(raw).slice(0, 100)})`);
	return { serverVersion, major };
}
