/**
 * What every IPAI node does with the IPAI Lakehouse credential: turn it into engine connection
 * options, open one pool per execution (closed when the execution's work is done), test it, and
 * make errors safe to show.
 */
import type {
	ICredentialDataDecryptedObject,
	ICredentialsDecrypted,
	ICredentialTestFunctions,
	IExecuteFunctions,
	INode,
	INodeCredentialTestResult,
} from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';
import { Client, type Pool } from 'pg';
import { openPool, parseSslMode, safeError, secretsOf, toPoolConfig, type ConnectionOptions } from '../../lib/lakehouse/connection';
import { pendingMigrations } from '../../lib/lakehouse/migrate';
import { keepHeadline } from './items';

export const LAKEHOUSE_CREDENTIAL = 'ipaiLakehouseApi';

export function connectionOptions(credentials: ICredentialDataDecryptedObject): ConnectionOptions {
	const ssl = parseSslMode(String(credentials.ssl || 'prefer'));
	const base = { ssl, caCertificate: (credentials.caCertificate as string) || undefined, applicationName: 'n8n IPAI lakehouse' };
	if (credentials.connectionMode === 'connectionString') {
		return { ...base, connectionString: String(credentials.connectionString ?? '') };
	}
	return {
		...base,
		host: String(credentials.host ?? ''),
		port: Number(credentials.port ?? 5432),
		database: String(credentials.database ?? ''),
		user: String(credentials.user ?? ''),
		password: String(credentials.password ?? ''),
	};
}

export interface LakehouseSession {
	pool: Pool;
	secrets: string[];
	close(): Promise<void>;
}

export async function openLakehouse(fn: IExecuteFunctions): Promise<LakehouseSession> {
	const credentials = await fn.getCredentials(LAKEHOUSE_CREDENTIAL);
	const options = connectionOptions(credentials);
	const secrets = [...secretsOf(options), String(credentials.supabaseServiceKey ?? '')].filter(Boolean);
	const pool = openPool(options);
	return { pool, secrets, close: () => pool.end().catch(() => undefined) };
}

/** An error a person can act on, with nothing secret in it, attached to the item that failed. */
export function nodeError(node: INode, error: unknown, itemIndex: number, secrets: string[]): NodeOperationError {
	const safe = safeError(error, secrets);
	const code = (safe as { code?: string }).code;
	const hint = code ? HINTS[code] : undefined;
	return keepHeadline(new NodeOperationError(node, safe, { itemIndex, description: hint }), safe.message);
}

const HINTS: Record<string, string> = {
	'28P01': 'The lakehouse user name or password is wrong: check the IPAI Lakehouse credential.',
	'3D000': 'The database does not exist: check the database name in the IPAI Lakehouse credential.',
	'42501': 'The lakehouse login lacks a privilege: grant it ipai_ingest (and ipai_transform for refreshes).',
	'42P01': 'A lakehouse table is missing: apply the migrations (npm run migrate) to this database.',
	'3F000': 'A lakehouse schema is missing: apply the migrations (npm run migrate) to this database.',
	ECONNREFUSED: 'Nothing answers at the lakehouse host and port: check the credential and that the server runs.',
	ENOTFOUND: 'The lakehouse host name does not resolve: check the credential.',
};

/** The credential test: connect, and say which migrations are missing (if any). */
export async function testLakehouseCredential(
	this: ICredentialTestFunctions,
	credential: ICredentialsDecrypted,
): Promise<INodeCredentialTestResult> {
	const data = credential.data ?? {};
	let options: ConnectionOptions;
	try {
		options = connectionOptions(data);
	} catch (error) {
		return { status: 'Error', message: (error as Error).message };
	}
	const secrets = secretsOf(options);
	const client = new Client(toPoolConfig(options));
	try {
		await client.connect();
		const pending = await pendingMigrations(client);
		if (pending.length > 0) {
			return {
				status: 'Error',
				message: `Connected, but ${pending.length} migration(s) are not applied: ${pending.join(', ')}. Run npm run migrate against this database.`,
			};
		}
		return { status: 'OK', message: 'Connected; all lakehouse migrations are applied' };
	} catch (error) {
		const safe = safeError(error, secrets) as Error & { code?: string };
		return { status: 'Error', message: `${safe.message}${safe.code && HINTS[safe.code] ? ` — ${HINTS[safe.code]}` : ''}` };
	} finally {
		await client.end().catch(() => undefined);
	}
}
