/**
 * Real MariaDB servers for the MySQL/MariaDB source tests.
 *
 * - The shared server (MARIADB_URL, or 127.0.0.1:3306 as root without a password; binary log
 *   off) for full and incremental reads: each test file gets its own scratch database.
 * - A private server with the binary log on (ROW format), started from the installed binaries in
 *   a temporary data directory on a free port, once per test file, for CDC.
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createConnection, type Connection } from 'mysql2/promise';

export interface MariaDbAddress {
	host: string;
	port: number;
	user: string;
	password: string;
}

export function sharedServer(): MariaDbAddress {
	const url = new URL(process.env.MARIADB_URL ?? 'mysql://root@127.0.0.1:3306');
	return { host: url.hostname, port: Number(url.port || 3306), user: decodeURIComponent(url.username || 'root'), password: decodeURIComponent(url.password) };
}

export async function connectAdmin(server: MariaDbAddress, database?: string): Promise<Connection> {
	return createConnection({ host: server.host, port: server.port, user: server.user, password: server.password, database, multipleStatements: true, dateStrings: true, supportBigNumbers: true, bigNumberStrings: true });
}

export interface ScratchMariaDb {
	readonly server: MariaDbAddress;
	readonly database: string;
	/** An admin connection on the scratch database (closed after the file). */
	readonly admin: Connection;
}

/** Registers hooks that create a scratch database on `server()` before the file's tests and drop it after. */
export function useScratchMariaDb(server: () => MariaDbAddress = sharedServer): ScratchMariaDb {
	let admin: Connection | undefined;
	let address: MariaDbAddress | undefined;
	const database = `ipai_my_${randomBytes(5).toString('hex')}`;
	beforeAll(async () => {
		address = server();
		const bootstrap = await connectAdmin(address);
		await bootstrap.query(`create database \`${database}\``);
		await bootstrap.end();
		admin = await connectAdmin(address, database);
	}, 60_000);
	afterAll(async () => {
		await admin?.query(`drop database if exists \`${database}\``).catch(() => undefined);
		await admin?.end();
	}, 60_000);
	return {
		get server() {
			if (!address) throw new Error('scratch MariaDB database not created yet');
			return address;
		},
		database,
		get admin() {
			if (!admin) throw new Error('scratch MariaDB database not created yet');
			return admin;
		},
	};
}

export function freePort(): Promise<number> {
	return new Promise((resolve, reject) => {
		const server = createServer();
		server.unref();
		server.on('error', reject);
		server.listen(0, '127.0.0.1', () => {
			const { port } = server.address() as { port: number };
			server.close(() => resolve(port));
		});
	});
}

export interface PrivateMariaDb extends MariaDbAddress {
	dataDir: string;
	stop(): Promise<void>;
}

export interface PrivateServerOptions {
	/** Server options beyond the defaults, e.g. ['--binlog-format=ROW', '--log-bin=binlog']. */
	args?: string[];
}

const run = promisify(execFile);

/**
 * Starts a private `mariadbd` in a fresh data directory (root without a password on
 * 127.0.0.1) and waits until it answers. The binary log is on in ROW format with full row metadata unless args say otherwise.
 */
export async function startPrivateMariaDb(options: PrivateServerOptions = {}): Promise<PrivateMariaDb> {
	const dir = mkdtempSync(join(tmpdir(), 'ipai-mariadb-'));
	const dataDir = join(dir, 'data');
	await run('mariadb-install-db', [
		'--no-defaults', `--datadir=${dataDir}`, '--user=root', '--auth-root-authentication-method=normal', '--skip-test-db',
		'--innodb-log-file-size=8M',
	], { timeout: 120_000 });
	const port = await freePort();
	const args = options.args ?? ['--log-bin=binlog', '--binlog-format=ROW', '--binlog-row-metadata=FULL'];
	const child: ChildProcess = spawn('mariadbd', [
		'--no-defaults', `--datadir=${dataDir}`, `--port=${port}`, `--socket=${join(dir, 'sock')}`, '--bind-address=127.0.0.1',
		'--user=root', `--pid-file=${join(dir, 'pid')}`, `--log-error=${join(dir, 'error.log')}`, '--server-id=1',
		'--innodb-buffer-pool-size=32M', '--innodb-log-file-size=8M', ...args,
	], { stdio: 'ignore', detached: false });
	let exited = false;
	child.on('exit', () => (exited = true));
	const address = { host: '127.0.0.1', port, user: 'root', password: '' };
	const deadline = Date.now() + 90_000;
	for (;;) {
		if (exited) throw new Error(`mariadbd exited during startup; see ${join(dir, 'error.log')}`);
		try {
			const probe = await connectAdmin(address);
			await probe.end();
			break;
		} catch (error) {
			if (Date.now() > deadline) throw error;
			await new Promise((resolve) => setTimeout(resolve, 200));
		}
	}
	return {
		...address,
		dataDir,
		async stop() {
			if (!exited) {
				const gone = new Promise((resolve) => child.once('exit', resolve));
				child.kill('SIGKILL');
				await gone;
			}
			rmSync(dir, { recursive: true, force: true });
		},
	};
}

/** One private binlog server per test file (started before its tests, removed after). */
export function usePrivateMariaDb(options: PrivateServerOptions = {}): { readonly server: PrivateMariaDb } {
	let server: PrivateMariaDb | undefined;
	beforeAll(async () => {
		server = await startPrivateMariaDb(options);
	}, 180_000);
	afterAll(async () => {
		await server?.stop();
	}, 60_000);
	return {
		get server() {
			if (!server) throw new Error('private MariaDB not started yet');
			return server;
		},
	};
}
