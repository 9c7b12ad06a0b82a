/**
 * Scratch databases for integration tests: each test file gets its own database on the real
 * PostgreSQL server (DATABASE_URL, or the local server on 127.0.0.1:5432), created before its
 * tests and dropped after, so files never see each other's data.
 */
import { randomBytes } from 'node:crypto';
import { Client, Pool, type ClientBase } from 'pg';
import { migrate } from '../../lib/lakehouse/migrate';

export function serverUrl(): string {
	return process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
}

export function urlForDatabase(name: string): string {
	const url = new URL(serverUrl());
	url.pathname = `/${name}`;
	return url.toString();
}

export async function withClient<T>(url: string, fn: (client: Client) => Promise<T>): Promise<T> {
	const client = new Client({ connectionString: url });
	await client.connect();
	try {
		return await fn(client);
	} finally {
		await client.end();
	}
}

export interface ScratchDatabase {
	name: string;
	url: string;
	drop(): Promise<void>;
}

export async function createScratchDatabase(prefix = 'ipai_test'): Promise<ScratchDatabase> {
	const name = `${prefix}_${randomBytes(5).toString('hex')}`;
	await withClient(serverUrl(), (c) => c.query(`create database "${name}"`));
	return {
		name,
		url: urlForDatabase(name),
		drop: () => withClient(serverUrl(), (c) => c.query(`drop database if exists "${name}" with (force)`)).then(() => undefined),
	};
}

export interface ScratchHandle {
	readonly url: string;
	readonly name: string;
	/** A pool on the scratch database (superuser, like the migration runner), closed after the file. */
	readonly pool: Pool;
}

/**
 * Registers beforeAll/afterAll hooks that create (and migrate, unless told not to) a scratch
 * database for the calling test file.
 */
export function useScratchDatabase(options: { migrated?: boolean } = {}): ScratchHandle {
	let scratch: ScratchDatabase | undefined;
	let pool: Pool | undefined;
	const handle = {
		get url() {
			if (!scratch) throw new Error('scratch database not created yet');
			return scratch.url;
		},
		get name() {
			if (!scratch) throw new Error('scratch database not created yet');
			return scratch.name;
		},
		get pool() {
			if (!pool) throw new Error('scratch database not created yet');
			return pool;
		},
	};
	beforeAll(async () => {
		scratch = await createScratchDatabase();
		if (options.migrated !== false) await migrate({ connection: { connectionString: scratch.url } });
		pool = new Pool({ connectionString: scratch.url, max: 30 });
		// An idle client cut off at teardown (the database is dropped with force) must not crash
		// the test file with an unhandled 'error' event.
		pool.on('error', () => undefined);
	}, 60_000);
	afterAll(async () => {
		await pool?.end();
		await scratch?.drop();
	}, 60_000);
	return handle;
}

/**
 * Runs fn as a database role the way PostgREST does for an API request: inside a transaction,
 * `set local role` plus the verified JWT's claims in `request.jwt.claims`; always rolled back.
 */
export async function asRole<T>(
	pool: Pool,
	role: string,
	claims: Record<string, unknown> | null,
	fn: (client: ClientBase) => Promise<T>,
): Promise<T> {
	const client = await pool.connect();
	try {
		await client.query('begin');
		await client.query(`set local role "${role.replace(/"/g, '""')}"`);
		if (claims) await client.query(`select set_config('request.jwt.claims', $1, true)`, [JSON.stringify(claims)]);
		return await fn(client);
	} finally {
		await client.query('rollback').catch(() => undefined);
		client.release();
	}
}
