/**
 * Connections to the lakehouse: one pg.Pool per credential, SSL modes as libpq names them, and
 * errors that never carry a secret. Works against a direct Postgres/Supabase endpoint and
 * Supabase's session pooler; the engine never relies on session state between transactions, so
 * a transaction pooler (port 6543) also works except for COPY's temporary tables, which are
 * created and dropped inside the transaction that uses them.
 */
import { Pool, type ClientBase, type PoolClient, type PoolConfig } from 'pg';
import { urlSecrets } from './secrets';

/** Anything that runs a query: a pool, or one client inside a transaction. */
export type Queryable = Pool | ClientBase;

export type SslMode = 'disable' | 'allow' | 'prefer' | 'require' | 'verify-ca' | 'verify-full';

export interface ConnectionOptions {
	/** postgres://user:password@host:port/db?sslmode=… — fields below override its parts. */
	connectionString?: string;
	host?: string;
	port?: number;
	database?: string;
	user?: string;
	password?: string;
	ssl?: SslMode;
	/** PEM CA certificate for verify-ca / verify-full (Supabase's is downloadable per project). */
	caCertificate?: string;
	maxConnections?: number;
	applicationName?: string;
}

const SSL_MODES: readonly SslMode[] = ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full'];

export function toPoolConfig(options: ConnectionOptions): PoolConfig {
	let connectionString = options.connectionString?.trim() || undefined;
	let ssl: SslMode | undefined = options.ssl;
	if (connectionString) {
		// libpq's sslmode in the URL is honoured, but through our own mapping: pg's parser would
		// turn `require` into full verification, which fails against Supabase's pooler certificate.
		const url = parseUrl(connectionString);
		const urlMode = url.searchParams.get('sslmode');
		if (urlMode !== null) {
			if (!ssl) ssl = parseSslMode(urlMode);
			url.searchParams.delete('sslmode');
			connectionString = url.toString();
		}
	}
	const config: PoolConfig = {
		connectionString,
		host: options.host || undefined,
		port: options.port || undefined,
		database: options.database || undefined,
		user: options.user || undefined,
		password: options.password || undefined,
		max: options.maxConnections ?? 4,
		application_name: options.applicationName ?? 'n8n-nodes-ipai-lakehouse',
		idleTimeoutMillis: 10_000,
		connectionTimeoutMillis: 15_000,
	};
	switch (ssl ?? 'prefer') {
		case 'disable':
		case 'allow':
		case 'prefer':
			// pg has no opportunistic TLS: `prefer`/`allow` connect in clear like libpq does when the
			// server offers no TLS. Choose `require` or stricter for anything off this machine.
			config.ssl = false;
			break;
		case 'require':
			config.ssl = { rejectUnauthorized: false };
			break;
		case 'verify-ca':
			config.ssl = { rejectUnauthorized: true, ca: options.caCertificate, checkServerIdentity: () => undefined };
			break;
		case 'verify-full':
			config.ssl = { rejectUnauthorized: true, ca: options.caCertificate };
			break;
	}
	return config;
}

export function parseSslMode(value: string): SslMode {
	if ((SSL_MODES as readonly string[]).includes(value)) return value as SslMode;
	throw new Error(`Unknown SSL mode "${value}"; use one of ${SSL_MODES.join(', ')}`);
}

function parseUrl(connectionString: string): URL {
	try {
		return new URL(connectionString);
	} catch {
		// Never echo the string: it may hold a password.
		throw new Error('The connection string is not a valid postgres:// URL');
	}
}

/** Every secret a connection option set holds, as they could appear in a message. */
export function secretsOf(options: ConnectionOptions): string[] {
	const secrets = new Set<string>();
	if (options.password) secrets.add(options.password);
	if (options.connectionString) {
		secrets.add(options.connectionString);
		try {
			const url = new URL(options.connectionString);
			if (url.password) {
				secrets.add(url.password);
				secrets.add(decodeURIComponent(url.password));
			}
			for (const secret of urlSecrets(options.connectionString)) secrets.add(secret);
		} catch {
			// not a URL: the whole string is already listed
		}
	}
	return [...secrets].filter((s) => s.length > 0).sort((a, b) => b.length - a.length);
}

// Masking lives in secrets.ts; these names stay exported here for the modules that import them from the connection.
export { redact, safeError } from './secrets';

/** A pool whose idle-client errors are contained instead of crashing the n8n process. */
export function openPool(options: ConnectionOptions, extra: Pick<PoolConfig, 'maxLifetimeSeconds' | 'allowExitOnIdle'> = {}): Pool {
	const pool = new Pool({ ...toPoolConfig(options), ...extra });
	pool.on('error', () => {
		// An idle client lost its connection (server restart, pooler recycle). The pool discards
		// it and the next checkout reconnects; nothing is in flight, so nothing is lost.
	});
	return pool;
}

/** Runs fn inside BEGIN … COMMIT on one client; ROLLBACK on any error. */
export async function inTransaction<T>(pool: Pool, fn: (client: PoolClient) => Promise<T>): Promise<T> {
	const client = await pool.connect();
	let broken = false;
	try {
		await client.query('begin');
		const result = await fn(client);
		await client.query('commit');
		return result;
	} catch (error) {
		// A client whose rollback fails has lost its connection: destroy it, never reuse it.
		await client.query('rollback').catch(() => (broken = true));
		throw error;
	} finally {
		client.release(broken);
	}
}
