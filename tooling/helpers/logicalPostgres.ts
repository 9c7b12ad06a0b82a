/**
 * A second PostgreSQL server with `wal_level = logical`, started from the installed binaries
 * (initdb, pg_ctl) in a temporary directory on a free port: the machine's main server runs
 * `wal_level = replica`, which logical replication cannot use. Used by the database-source tests
 * (one server per test file) and the bench. Trust authentication on 127.0.0.1 for the
 * superuser `postgres`; tests create their own users with passwords where they need a login.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';

const BIN = process.env.PG_BIN_DIR ?? '/usr/lib/postgresql/15/bin';

export interface LogicalPostgres {
	host: string;
	port: number;
	/** postgres://postgres@127.0.0.1:<port>/<database> */
	url(database?: string): string;
	/** Runs SQL as the superuser on a database (default postgres). */
	sql(text: string, database?: string): Promise<void>;
	stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
	return new Promise((resolve, reject) => {
		const server = createServer();
		server.unref();
		server.on('error', reject);
		server.listen(0, '127.0.0.1', () => {
			const address = server.address();
			server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
		});
	});
}

/** initdb refuses to run as root: run the server binaries as the owner of the main cluster then. */
function asServerUser(): { uid: number; gid: number } | null {
	if (process.getuid?.() !== 0) return null;
	const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres']).toString().trim());
	return { uid: id('-u'), gid: id('-g') };
}

function run(command: string, args: string[], user: { uid: number; gid: number } | null): void {
	const result = spawnSync(join(BIN, command), args, { uid: user?.uid, gid: user?.gid, encoding: 'utf8', timeout: 120_000 });
	if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed: ${result.stderr || result.stdout || result.error}`);
}

export async function startLogicalPostgres(settings: Record<string, string> = {}): Promise<LogicalPostgres> {
	const user = asServerUser();
	const dir = mkdtempSync(join(tmpdir(), 'ipai-pglogical-'));
	if (user) chownSync(dir, user.uid, user.gid);
	chmodSync(dir, 0o700);
	const data = join(dir, 'data');
	run('initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C.UTF-8', '--no-sync'], user);
	const port = await freePort();
	const conf = {
		listen_addresses: "'127.0.0.1'",
		port: String(port),
		unix_socket_directories: `'${dir}'`,
		wal_level: 'logical',
		max_replication_slots: '20',
		max_wal_senders: '20',
		fsync: 'off',
		shared_buffers: "'64MB'",
		max_connections: '60',
		...settings,
	};
	writeFileSync(join(data, 'postgresql.auto.conf'), Object.entries(conf).map(([k, v]) => `${k} = ${v}`).join('\n') + '\n');
	// Passwords are checked for TCP logins of users other than postgres (credential tests).
	writeFileSync(
		join(data, 'pg_hba.conf'),
		['local all all trust', 'host all postgres 127.0.0.1/32 trust', 'host replication postgres 127.0.0.1/32 trust', 'host all all 127.0.0.1/32 scram-sha-256', 'host replication all 127.0.0.1/32 scram-sha-256'].join('\n') + '\n',
	);
	if (user) {
		chownSync(join(data, 'postgresql.auto.conf'), user.uid, user.gid);
		chownSync(join(data, 'pg_hba.conf'), user.uid, user.gid);
	}
	run('pg_ctl', ['-D', data, '-l', join(dir, 'server.log'), '-w', '-t', '120', 'start'], user);
	const url = (database = 'postgres') => `postgres://postgres@127.0.0.1:${port}/${database}`;
	let stopped = false;
	return {
		host: '127.0.0.1',
		port,
		url,
		async sql(text: string, database?: string) {
			const client = new Client({ connectionString: url(database) });
			await client.connect();
			try {
				await client.query(text);
			} finally {
				await client.end();
			}
		},
		async stop() {
			if (stopped) return;
			stopped = true;
			if (existsSync(data) && statSync(data).isDirectory()) run('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop'], user);
			rmSync(dir, { recursive: true, force: true });
		},
	};
}

/** Jest's hooks, looked up at call time: the bench compiles this file without jest's types. */
type Hook = (fn: () => Promise<void>, timeout?: number) => void;
const hooks = globalThis as unknown as { beforeAll: Hook; afterAll: Hook };

/** Starts one server for the calling test file (beforeAll) and stops it after (afterAll). */
export function useLogicalPostgres(settings?: Record<string, string>): { readonly server: LogicalPostgres } {
	const { beforeAll, afterAll } = hooks;
	let server: LogicalPostgres | undefined;
	beforeAll(async () => {
		server = await startLogicalPostgres(settings);
	}, 180_000);
	afterAll(async () => {
		await server?.stop();
	}, 60_000);
	return {
		get server() {
			if (!server) throw new Error('The logical PostgreSQL server is not started yet (use it inside tests)');
			return server;
		},
	};
}
