/**
 * Connections to a PostgreSQL source and what their failures mean for a person: unreachable,
 * login, database, missing privilege, a server set up wrongly for the mode, a slot problem.
 * Messages name the fix and never carry the password.
 */
import { Client, type ClientConfig } from 'pg';
import { redact } from '../../../lakehouse/secrets';
import { DbSourceError, type DbConnectionSettings } from '../engine';
import { READ_SESSION_OPTIONS } from './types';

/** Every value as PostgreSQL's text: the type mapping converts what needs converting. */
const TEXT_TYPES = { getTypeParser: () => (value: string) => value } as unknown as ClientConfig['types'];

export function clientConfig(settings: DbConnectionSettings, extra: Partial<ClientConfig> = {}): ClientConfig {
	const ssl = settings.ssl ?? 'disable';
	return {
		host: settings.host,
		port: settings.port,
		database: settings.database,
		user: settings.user,
		password: settings.password,
		ssl: ssl === 'disable' ? false : ssl === 'require' ? { rejectUnauthorized: false } : { rejectUnauthorized: true, ca: settings.ca || undefined },
		connectionTimeoutMillis: (settings.connectTimeoutSeconds ?? 15) * 1000,
		application_name: 'ipai-lakehouse-db-source',
		options: READ_SESSION_OPTIONS,
		types: TEXT_TYPES,
		...extra,
	};
}

export async function connectSource(settings: DbConnectionSettings, extra: Partial<ClientConfig> = {}): Promise<Client> {
	const client = new Client(clientConfig(settings, extra));
	// An idle client whose server goes away emits 'error'; without a listener that kills the process.
	client.on('error', () => undefined);
	try {
		await client.connect();
	} catch (error) {
		await client.end().catch(() => undefined);
		throw classifyPgError(error, settings);
	}
	return client;
}

const UNREACHABLE_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNRESET', 'EPIPE']);

/** Turns a pg/network error into a DbSourceError saying what failed and what to do. */
export function classifyPgError(error: unknown, settings: Pick<DbConnectionSettings, 'host' | 'port' | 'database' | 'user' | 'password'>): Error {
	if (error instanceof DbSourceError) return error;
	const e = error as { code?: string; message?: string };
	const message = redact(String(e?.message ?? error), settings.password ? [settings.password] : []);
	const where = `PostgreSQL at ${settings.host}:${settings.port}`;
	const code = e?.code ?? '';
	if (UNREACHABLE_CODES.has(code) || /timeout expired|Connection terminated|connect ETIMEDOUT|getaddrinfo/i.test(message)) {
		return new DbSourceError('unreachable', `Cannot reach ${where} (${code || message})`, 'Check the host and port, and that the server accepts TCP connections from n8n (listen_addresses, pg_hba.conf, firewall)');
	}
	if (/does not support SSL|SSL|self[- ]signed|certificate/i.test(message) && !code.match(/^[0-9A-Z]{5}$/)) {
		return new DbSourceError('unreachable', `TLS to ${where} failed: ${message}`, 'Match the credential\'s TLS setting to the server (disable, require, or verify-full with its CA certificate)');
	}
	if (code === '28P01' || (code === '28000' && /password|authentication/i.test(message))) {
		return new DbSourceError('login', `${where} refused the login of user "${settings.user}" (${message})`, 'Check the user and password of the IPAI PostgreSQL Source credential');
	}
	if (code === '28000') {
		return new DbSourceError('login', `${where} does not allow user "${settings.user}" to connect (${message})`, 'Add a pg_hba.conf entry for this user and n8n\'s address, then reload the server');
	}
	if (code === '3D000') {
		return new DbSourceError('database', `${where} has no database "${settings.database}"`, 'Check the database name of the credential');
	}
	if (code === '42501') {
		return new DbSourceError('privilege', `User "${settings.user}" lacks a privilege on ${where}: ${message}`, 'Grant it (e.g. GRANT SELECT ON the table, GRANT USAGE ON the schema), or use a user that has it');
	}
	if (code === '53300') {
		return new DbSourceError('unreachable', `${where} has no free connection slot (${message})`, 'Retry later or raise max_connections');
	}
	const out = new Error(`${where}: ${message}${code ? ` (SQLSTATE ${code})` : ''}`);
	return out;
}

/** Runs a query, turning failures into classified errors. */
export async function sourceQuery<T extends Record<string, unknown> = Record<string, unknown>>(
	client: Client,
	settings: DbConnectionSettings,
	text: string,
	values?: unknown[],
): Promise<T[]> {
	try {
		const result = await client.query(text, values);
		return result.rows as T[];
	} catch (error) {
		throw classifyPgError(error, settings);
	}
}
