/**
 * What every IPAI node does with the IPAI Lakehouse credential: turn it into engine connection
 * options, share one small pool per n8n process and credential (as n8n's own Postgres node does),
 * test it, and make errors safe to show.
 *
 * Why shared: a pool per execution multiplied connections by the worker's concurrency times the
 * nodes running at once, and grew with run time (a slow source keeps its pool open). One pool per
 * process and credential is sized by the process's concurrency (see poolSize), so a deployment needs
 * at most Σ over n8n processes of (concurrency + 1) × lakehouse credentials connections.
 */
import type {
	ICredentialDataDecryptedObject,
	ICredentialsDecrypted,
	ICredentialTestFunctions,
	IExecuteFunctions,
	ILoadOptionsFunctions,
	INode,
	INodeCredentialTestResult,
	INodePropertyOptions,
} from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';
import { createHash } from 'node:crypto';
import { Client, type Pool } from 'pg';
import { closeAgentPools } from '../../lib/agents/agentPools';
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
	/** How the pool reaches the lakehouse (e.g. for the agent guard, whose agents connect alike). */
	connection: ConnectionOptions;
	secrets: string[];
	close(): Promise<void>;
}

/**
 * The executions this n8n process runs at once: a worker's N8N_CONCURRENCY_PRODUCTION_LIMIT or
 * --concurrency (n8n's own precedence, default 10), a main's production limit, else 10.
 * IPAI_LAKEHOUSE_POOL_SIZE overrides the pool size outright.
 */
export function poolSize(env: NodeJS.ProcessEnv = process.env, argv: string[] = process.argv): number {
	const explicit = Number(env.IPAI_LAKEHOUSE_POOL_SIZE);
	if (Number.isInteger(explicit) && explicit > 0) return explicit;
	let concurrency = 10;
	const limit = Number(env.N8N_CONCURRENCY_PRODUCTION_LIMIT);
	if (Number.isInteger(limit) && limit > 0) concurrency = limit;
	else {
		const at = argv.findIndex((a) => a === '--concurrency' || a.startsWith('--concurrency='));
		const flag = at < 0 ? NaN : Number(argv[at].includes('=') ? argv[at].split('=')[1] : argv[at + 1]);
		if (Number.isInteger(flag) && flag > 0) concurrency = flag;
	}
	// One connection per running execution, plus one so an execution that needs a second
	// connection at once (a page transaction while the run ledger is written) always progresses.
	return concurrency + 1;
}

interface SharedPool {
	pool: Pool;
	sessions: number;
	idleTimer?: NodeJS.Timeout;
}

const POOLS = new Map<string, SharedPool>();
/** A pool no execution used for this long is closed (a rotated credential leaves its old pool behind). */
const POOL_IDLE_MS = 5 * 60_000;
let shuttingDown = false;

function endPool(key: string, shared: SharedPool): void {
	if (POOLS.get(key) === shared) POOLS.delete(key);
	clearTimeout(shared.idleTimer);
	void shared.pool.end().catch(() => undefined);
}

// n8n stops taking work on SIGTERM/SIGINT and waits for running executions; each pool closes as
// soon as no execution holds it (at once when idle), so shutdown leaves no connection behind.
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
	process.once(signal, () => {
		shuttingDown = true;
		for (const [key, shared] of POOLS) if (shared.sessions === 0) endPool(key, shared);
		// Agents' sessions: a call still running keeps its session until it releases it.
		void closeAgentPools();
	});
}

/** The number of shared pools open in this process (for tests and diagnostics). */
export function openPoolCount(): number {
	return POOLS.size;
}

/** The process's pool for these connection options, opened on first use. */
function sharedPool(options: ConnectionOptions): { key: string; shared: SharedPool } {
	// A digest, so the map keys hold no second copy of the password.
	const key = createHash('sha256').update(JSON.stringify(toPoolConfig(options), (_k, v) => (typeof v === 'function' ? undefined : v))).digest('hex');
	let shared = POOLS.get(key);
	if (!shared) {
		shared = { pool: openPool({ ...options, maxConnections: poolSize() }), sessions: 0 };
		POOLS.set(key, shared);
	}
	return { key, shared };
}

export async function openLakehouse(fn: IExecuteFunctions): Promise<LakehouseSession> {
	const credentials = await fn.getCredentials(LAKEHOUSE_CREDENTIAL);
	const options = connectionOptions(credentials);
	const secrets = [...secretsOf(options), String(credentials.supabaseServiceKey ?? '')].filter(Boolean);
	const { key, shared } = sharedPool(options);
	shared.sessions++;
	clearTimeout(shared.idleTimer);
	let closed = false;
	return {
		pool: shared.pool,
		connection: options,
		secrets,
		// Releases this execution's hold; the pool itself stays for the next execution.
		close: async () => {
			if (closed) return;
			closed = true;
			shared.sessions--;
			if (shared.sessions > 0) return;
			if (shuttingDown) return endPool(key, shared);
			shared.idleTimer = setTimeout(() => shared.sessions === 0 && endPool(key, shared), POOL_IDLE_MS);
			shared.idleTimer.unref();
		},
	};
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

/** A dropdown's pool: opened for the one lookup and closed after it, outside the execution pools. */
export async function withLakehousePool<T>(fn: ILoadOptionsFunctions, work: (pool: Pool) => Promise<T>): Promise<T> {
	const pool = openPool(connectionOptions(await fn.getCredentials(LAKEHOUSE_CREDENTIAL)));
	try {
		return await work(pool);
	} finally {
		await pool.end();
	}
}

/** The lakehouse schemas whose names match a regular expression, as dropdown options. */
export async function lakehouseSchemas(fn: ILoadOptionsFunctions, pattern: string): Promise<INodePropertyOptions[]> {
	return withLakehousePool(fn, async (pool) => {
		const { rows } = await pool.query<{ nspname: string }>('select nspname from pg_namespace where nspname ~ $1 order by 1', [pattern]);
		return rows.map((r) => ({ name: r.nspname, value: r.nspname }));
	});
}
