/**
 * An Odoo connection: picks the protocol (auto: JSON-2, then JSON-RPC, then XML-RPC, the first
 * the server speaks), logs in once, retries transient failures with exponential backoff, and
 * counts calls so a sync can report what it cost.
 */
import { OdooError } from './errors';
import {
	Json2Transport,
	JsonRpcTransport,
	XmlRpcTransport,
	type Kwargs,
	type OdooCredentials,
	type OdooTransport,
	type Protocol,
	type VersionInfo,
} from './transport';

export interface ClientOptions {
	/**
	 * auto: the first of JSON-2 (Odoo 19+), JSON-RPC (same calls as XML-RPC, far cheaper to parse)
	 * and XML-RPC that the server answers; a proxy may expose only some of them.
	 */
	protocol?: 'auto' | Protocol;
	/** Attempts for a transient failure (network, HTTP 5xx/429), including the first. */
	attempts?: number;
	backoffMs?: number;
	timeoutMs?: number;
	/** Waits between attempts; injectable so tests do not sleep. */
	sleep?: (ms: number) => Promise<void>;
	onRetry?: (error: OdooError, attempt: number) => void;
}

export class OdooClient {
	readonly calls = new Map<string, number>();

	private constructor(
		private readonly transport: OdooTransport,
		readonly version: VersionInfo,
		readonly uid: number,
		private readonly options: ClientOptions,
		/** The login, for messages ("user admin cannot see …"); never the secret. */
		readonly login: string,
		/** The protocols tried, in order, with why each was passed over (auto only). */
		readonly tried: string[] = [],
	) {}

	get protocol(): Protocol {
		return this.transport.protocol;
	}

	get totalCalls(): number {
		let total = 0;
		for (const n of this.calls.values()) total += n;
		return total;
	}

	static async connect(credentials: OdooCredentials, options: ClientOptions = {}): Promise<OdooClient> {
		const http = { timeoutMs: options.timeoutMs };
		const make = (protocol: Protocol): OdooTransport =>
			protocol === 'xmlrpc' ? new XmlRpcTransport(credentials, http) : protocol === 'json2' ? new Json2Transport(credentials, http) : new JsonRpcTransport(credentials, http);
		const requested = options.protocol ?? 'auto';
		const tried: string[] = [];
		let transport: OdooTransport | undefined;
		let version: VersionInfo | undefined;
		for (const protocol of requested === 'auto' ? AUTO_ORDER : [requested]) {
			const candidate = make(protocol);
			try {
				version = await withRetry(() => candidate.version(), options);
			} catch (error) {
				// Only "this endpoint is not Odoo's" moves on: an unreachable server, a proxy error
				// or a refused login would fail the same way on every protocol.
				if (!(error instanceof OdooError) || !PROTOCOL_ABSENT.has(error.kind)) throw error;
				if (requested !== 'auto') throw notSpoken(credentials.url, protocol, error.message);
				tried.push(`${PROTOCOL_NAMES[protocol]}: ${error.message}`);
				continue;
			}
			if (protocol === 'json2' && version.major < 19) {
				const why = `Odoo ${version.serverVersion} has no JSON-2 API (Odoo 19+)`;
				if (requested !== 'auto') throw notSpoken(credentials.url, protocol, why);
				tried.push(`${PROTOCOL_NAMES[protocol]}: ${why}`);
				continue;
			}
			transport = candidate;
			break;
		}
		if (!transport || !version) {
			throw new OdooError(
				'protocol',
				`${credentials.url} does not answer like Odoo on any protocol tried (${tried.join('; ')}): check the URL (the server's address, without /web or /odoo) and that it is an Odoo server`,
			);
		}
		transport.serverVersion = version.serverVersion;
		const uid = await withRetry(() => transport.authenticate(), options);
		return new OdooClient(transport, version, uid, options, credentials.login, tried);
	}

	async call<T = unknown>(model: string, method: string, kwargs: Kwargs): Promise<T> {
		const key = `${model}.${method}`;
		return withRetry(() => {
			this.calls.set(key, (this.calls.get(key) ?? 0) + 1);
			return this.transport.call(model, method, kwargs) as Promise<T>;
		}, this.options, { model, method, version: this.version.serverVersion });
	}
}

const AUTO_ORDER: Protocol[] = ['json2', 'jsonrpc', 'xmlrpc'];
const PROTOCOL_NAMES: Record<Protocol, string> = { json2: 'JSON-2', jsonrpc: 'JSON-RPC', xmlrpc: 'XML-RPC' };
/** What an endpoint that does not exist looks like: 404/405 (invalid) or an answer that is not Odoo's. */
const PROTOCOL_ABSENT = new Set(['invalid', 'protocol']);

function notSpoken(url: string, protocol: Protocol, why: string): OdooError {
	return new OdooError(
		'protocol',
		`${url} does not answer ${PROTOCOL_NAMES[protocol]} (${why}): choose Automatic (tries JSON-2, JSON-RPC, then XML-RPC) or the protocol this server speaks in the IPAI Odoo API credential`,
	);
}

/** The same answer Odoo gives for the version probe, through a given protocol (credential tests). */
export async function probe(credentials: OdooCredentials, protocol: Protocol, timeoutMs = 15_000): Promise<{ version: VersionInfo; uid: number }> {
	const http = { timeoutMs };
	const transport =
		protocol === 'xmlrpc' ? new XmlRpcTransport(credentials, http) : protocol === 'json2' ? new Json2Transport(credentials, http) : new JsonRpcTransport(credentials, http);
	const version = await transport.version();
	const uid = await transport.authenticate();
	return { version, uid };
}

async function withRetry<T>(fn: () => Promise<T>, options: ClientOptions, context: { model?: string; method?: string; version?: string } = {}): Promise<T> {
	const attempts = Math.max(1, options.attempts ?? 5);
	const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
	for (let attempt = 1; ; attempt++) {
		try {
			return await fn();
		} catch (error) {
			const odooError = error instanceof OdooError ? error : new OdooError('protocol', (error as Error).message ?? String(error), context);
			if (!odooError.transient || attempt >= attempts) {
				if (odooError.transient) odooError.message = `${odooError.message} (gave up after ${attempt} attempts)`;
				throw odooError;
			}
			options.onRetry?.(odooError, attempt);
			const base = (options.backoffMs ?? 500) * 2 ** (attempt - 1);
			await sleep(base + Math.floor(Math.random() * base * 0.2));
		}
	}
}
