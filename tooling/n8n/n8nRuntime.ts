/**
 * A real n8n 2.x for end-to-end tests, benchmarks and the demo.
 *
 *   const rt = await ensureN8nInstalled();            // installs once into ~/.cache (outside the repo)
 *   const n8n = await N8nInstance.create();           // scratch Postgres DB + temp N8N_USER_FOLDER
 *   await n8n.installPackage('.pack/n8n-nodes-ipai-lakehouse-0.1.0.tgz');
 *   await n8n.importWorkflow(workflowJson);           // `n8n import:workflow`
 *   const run = await n8n.executeWorkflow(workflowJson.id);   // `n8n execute --id --rawOutput`
 *   await n8n.start({ queue: true, workers: 2 });     // optional: server (+ queue-mode workers)
 *   await n8n.dispose();                              // stops processes, drops DB, removes folder
 *
 * No jest imports: usable from jest, from `ts-node` scripts in bench/ and from the demo.
 *
 * Facts this module relies on (read from n8n@2.40.7's shipped dist/, see comments at each use):
 * - Community packages are loaded from `<N8N_USER_FOLDER>/.n8n/nodes/node_modules/{n8n-nodes-*,
 *   @scope/n8n-nodes-*}` (n8n/dist/modules/community-packages/community-packages.module.js →
 *   n8n-core scanDirectoryForPackages). Node type = `<package name>.<node name>`. Every command
 *   (start, worker, execute, export:nodes) loads them; they are read once at process start.
 * - n8n refuses to load nodes when NODE_ENV=test (LoadNodesAndCredentials.init throws
 *   "Not available in tests"), and jest sets NODE_ENV=test: we always pass NODE_ENV=production.
 * - Every `n8n execute`, `n8n start` and `n8n worker` starts a task-runner broker on
 *   N8N_RUNNERS_BROKER_PORT (default 5679): each process gets its own free port here, otherwise
 *   parallel instances (or a server + a CLI run) collide.
 * - In queue mode Redis keys/channels are namespaced per instance (QUEUE_BULL_PREFIX,
 *   N8N_REDIS_KEY_PREFIX) so concurrent test instances never pick up each other's jobs.
 */
import { spawn, spawnSync, type ChildProcess } from 'child_process';
import { randomBytes } from 'crypto';
import * as fs from 'fs';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import { Client } from 'pg';

export const N8N_VERSION = '2.40.7';

/** Fixed, test-only key: credentials imported in one CLI call must decrypt in the next one. */
const TEST_ENCRYPTION_KEY = 'ipai-lakehouse-e2e-test-key-not-a-secret';

/** The repository: found upwards from here, so it holds when this file is compiled elsewhere (.bench-build/). */
export const REPO_ROOT = (() => {
	for (let dir = __dirname; ; dir = path.dirname(dir)) {
		if (fs.existsSync(path.join(dir, 'scripts', 'n8n-runtime.sh'))) return dir;
		if (path.dirname(dir) === dir) throw new Error(`no repository above ${__dirname} (scripts/n8n-runtime.sh not found)`);
	}
})();
const RUNTIME_SCRIPT = path.join(REPO_ROOT, 'scripts', 'n8n-runtime.sh');

export interface N8nRuntime {
	/** Install directory (outside the repo). */
	home: string;
	/** Node 24 binary from the npm package `node`. */
	nodeBin: string;
	/** n8n's CLI entry point, run as `<nodeBin> <n8nBin> <command>`. */
	n8nBin: string;
}

/** Same default as scripts/n8n-runtime.sh (keep the two in sync). */
export function n8nHome(): string {
	return (
		process.env.IPAI_N8N_HOME ?? path.join(os.homedir(), '.cache', 'ipai-lakehouse', `n8n-${N8N_VERSION}`)
	);
}

function runtimePaths(home: string): N8nRuntime {
	return {
		home,
		nodeBin: path.join(home, 'node_modules', 'node', 'bin', 'node'),
		n8nBin: path.join(home, 'node_modules', 'n8n', 'bin', 'n8n'),
	};
}

/**
 * Environment for child processes without what npm/jest/ts-node put into ours:
 * - npm_* (when run via `npm run`): npm_config_local_prefix=<repo>, npm_config_ignore_scripts,
 *   npm_config_nodedir=/usr (Node 20 headers) would all leak into child npm/node-gyp calls.
 * - NODE_OPTIONS / TS_NODE_*: ts-node or a debugger hook must not be loaded into n8n.
 * - N8N_* / DB_* / EXECUTIONS_* / QUEUE_* / NODE_ENV: the instance is hermetic; pass settings
 *   through `options.env` instead.
 */
function cleanBaseEnv(): Record<string, string> {
	const env: Record<string, string> = {};
	for (const [key, value] of Object.entries(process.env)) {
		if (value === undefined) continue;
		if (/^(npm_|NODE_OPTIONS$|NODE_ENV$|TS_NODE_|JEST_WORKER_ID$|N8N_|DB_|EXECUTIONS_|QUEUE_)/i.test(key)) {
			continue;
		}
		env[key] = value;
	}
	return env;
}

let installPromise: Promise<N8nRuntime> | undefined;

/**
 * Makes sure n8n + Node 24 are installed (runs `scripts/n8n-runtime.sh install` when the marker
 * file is missing; the script itself takes a file lock, so parallel callers are safe).
 */
export async function ensureN8nInstalled(): Promise<N8nRuntime> {
	installPromise ??= (async () => {
		const home = n8nHome();
		const paths = runtimePaths(home);
		if (!fs.existsSync(path.join(home, '.ipai-install-complete'))) {
			const result = await runProcess('bash', [RUNTIME_SCRIPT, 'install'], {
				env: { ...cleanBaseEnv(), IPAI_N8N_HOME: home },
				timeoutMs: 20 * 60_000,
				// Progress goes to our stderr so a first, slow run is visibly alive.
				passStderr: true,
			});
			if (result.code !== 0) {
				throw new Error(`scripts/n8n-runtime.sh install failed (exit ${result.code}):\n${tail(result.stderr)}`);
			}
		}
		for (const file of [paths.nodeBin, paths.n8nBin]) {
			if (!fs.existsSync(file)) throw new Error(`n8n runtime incomplete: ${file} is missing`);
		}
		return paths;
	})();
	try {
		return await installPromise;
	} catch (error) {
		installPromise = undefined; // let a later call retry
		throw error;
	}
}

// ---------------------------------------------------------------------------------------------
// Small process / network helpers

export interface ProcessResult {
	code: number | null;
	signal: NodeJS.Signals | null;
	stdout: string;
	stderr: string;
	durationMs: number;
	timedOut: boolean;
}

interface RunOptions {
	env: Record<string, string>;
	cwd?: string;
	timeoutMs: number;
	passStderr?: boolean;
}

/** Runs a command in its own process group so a timeout kills it and all its children. */
function runProcess(command: string, args: string[], options: RunOptions): Promise<ProcessResult> {
	return new Promise((resolve, reject) => {
		const started = Date.now();
		const child = spawn(command, args, {
			cwd: options.cwd,
			env: options.env,
			detached: true,
			stdio: ['ignore', 'pipe', 'pipe'],
		});
		liveProcessGroups.add(child.pid!);
		const stdout: Buffer[] = [];
		const stderr: Buffer[] = [];
		child.stdout!.on('data', (chunk: Buffer) => stdout.push(chunk));
		child.stderr!.on('data', (chunk: Buffer) => {
			stderr.push(chunk);
			if (options.passStderr) process.stderr.write(chunk);
		});
		let timedOut = false;
		const timer = setTimeout(() => {
			timedOut = true;
			killGroup(child.pid!, 'SIGKILL');
		}, options.timeoutMs);
		child.on('error', (error) => {
			clearTimeout(timer);
			liveProcessGroups.delete(child.pid!);
			reject(error);
		});
		child.on('close', (code, signal) => {
			clearTimeout(timer);
			// The group leader is gone; anything it left behind in its group goes too.
			killGroup(child.pid!, 'SIGKILL');
			liveProcessGroups.delete(child.pid!);
			resolve({
				code,
				signal,
				stdout: Buffer.concat(stdout).toString('utf8'),
				stderr: Buffer.concat(stderr).toString('utf8'),
				durationMs: Date.now() - started,
				timedOut,
			});
		});
	});
}

function killGroup(pid: number, signal: NodeJS.Signals): boolean {
	try {
		process.kill(-pid, signal);
		return true;
	} catch {
		return false; // ESRCH: the group no longer exists
	}
}

function groupAlive(pid: number): boolean {
	try {
		process.kill(-pid, 0);
		return true;
	} catch {
		return false;
	}
}

/** A port that was free a moment ago (the OS picks it; tiny race accepted in tests). */
export function getFreePort(): Promise<number> {
	return new Promise((resolve, reject) => {
		const server = net.createServer();
		server.unref();
		server.on('error', reject);
		server.listen(0, '127.0.0.1', () => {
			const { port } = server.address() as net.AddressInfo;
			server.close(() => resolve(port));
		});
	});
}

const REGISTRY_LACKS_VERSION = /\b(ETARGET|E404)\b/;

/**
 * The package's manifest with its dependency tree pinned to the repository's package-lock.json:
 * direct dependencies at their locked versions (npm refuses an override of a direct dependency),
 * every other production package that occurs once in the lock through `overrides` (an override
 * applies to every copy of a name, so names locked at several versions are left to npm).
 */
function pinnedToLockfile(packageJson: Record<string, unknown>): Record<string, unknown> {
	const overrides = lockedProductionVersions();
	const dependencies = { ...(packageJson.dependencies as Record<string, string>) };
	for (const name of Object.keys(dependencies)) {
		if (!overrides[name]) continue;
		dependencies[name] = overrides[name];
		delete overrides[name];
	}
	return { ...packageJson, dependencies, overrides };
}

function lockedProductionVersions(): Record<string, string> {
	const lock = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package-lock.json'), 'utf8')) as {
		packages: Record<string, { version?: string; dev?: boolean; devOptional?: boolean; peer?: boolean; link?: boolean }>;
	};
	const versions = new Map<string, string[]>();
	for (const [where, entry] of Object.entries(lock.packages)) {
		if (!where.includes('node_modules/') || entry.dev || entry.devOptional || entry.peer || entry.link || !entry.version) continue;
		const name = where.slice(where.lastIndexOf('node_modules/') + 'node_modules/'.length);
		versions.set(name, [...(versions.get(name) ?? []), entry.version]);
	}
	return Object.fromEntries([...versions].filter(([, found]) => found.length === 1).map(([name, [version]]) => [name, version]));
}

function tail(text: string, lines = 40): string {
	return text.split('\n').slice(-lines).join('\n');
}

function sleep(ms: number): Promise<void> {
	return new Promise((resolve) => setTimeout(resolve, ms));
}

async function httpOk(url: string): Promise<boolean> {
	try {
		const res = await fetch(url, { signal: AbortSignal.timeout(2_000) });
		await res.arrayBuffer();
		return res.ok;
	} catch {
		return false;
	}
}

// ---------------------------------------------------------------------------------------------
// Safety net: processes and scratch databases left behind when the test process ends abruptly.

const liveProcessGroups = new Set<number>();
const scratchDatabases = new Map<string, { adminUrl: string; name: string }>();
const tempFolders = new Set<string>();
let safetyNetInstalled = false;

function installSafetyNet(): void {
	if (safetyNetInstalled) return;
	safetyNetInstalled = true;
	const cleanup = () => {
		for (const pid of liveProcessGroups) killGroup(pid, 'SIGKILL');
		liveProcessGroups.clear();
		// 'exit' handlers must be synchronous, hence psql instead of pg (best effort).
		for (const { adminUrl, name } of scratchDatabases.values()) {
			spawnSync('psql', [adminUrl, '-qc', `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`], {
				stdio: 'ignore',
				timeout: 10_000,
			});
		}
		scratchDatabases.clear();
		for (const folder of tempFolders) fs.rmSync(folder, { recursive: true, force: true });
		tempFolders.clear();
	};
	process.on('exit', cleanup);
	// n8n runs in its own process groups (so stop() can kill whole trees), which means a Ctrl-C
	// in the terminal does not reach it. Clean up on termination signals, then die of the signal
	// as we would have — but only when nobody else (e.g. jest) handles that signal already.
	for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
		if (process.listenerCount(signal) > 0) continue;
		process.once(signal, () => {
			cleanup();
			process.kill(process.pid, signal);
		});
	}
}

// ---------------------------------------------------------------------------------------------

export interface N8nInstanceOptions {
	/** N8N_USER_FOLDER (n8n keeps `.n8n/` inside it). Default: a fresh temp dir, removed in dispose(). */
	userFolder?: string;
	/**
	 * Postgres database for n8n itself, used as-is and never dropped. Default: a fresh scratch
	 * database `n8n_e2e_<random>` created through DATABASE_URL (or
	 * postgres://postgres@127.0.0.1:5432/postgres) and dropped in dispose().
	 */
	databaseUrl?: string;
	/** Server on which the scratch database is created (default DATABASE_URL or the local server). */
	adminDatabaseUrl?: string;
	/** Extra environment for every n8n process; wins over the defaults below. */
	env?: Record<string, string>;
	/** Port of the main server (N8N_PORT). Default: a free port. */
	port?: number;
	/** Redis for queue mode. Default: REDIS_URL or redis://127.0.0.1:6379. */
	redisUrl?: string;
}

export interface CliOptions {
	timeoutMs?: number;
	env?: Record<string, string>;
}

export interface StartOptions {
	/** EXECUTIONS_MODE=queue (implied by workers > 0). */
	queue?: boolean;
	/** Number of `n8n worker` processes (queue mode). */
	workers?: number;
	/** `n8n worker --concurrency` (default 10, n8n's default). */
	workerConcurrency?: number;
	timeoutMs?: number;
}

export interface InstalledPackage {
	name: string;
	version: string;
	/** Where n8n will load it from. */
	dir: string;
}

export interface OwnerAccount {
	email: string;
	password: string;
	firstName: string;
	lastName: string;
}

interface ServerProcess {
	name: string;
	child: ChildProcess;
	logFile: string;
	exited: Promise<void>;
}

/** Minimal shape of n8n's IRun as printed by `n8n execute --rawOutput`. */
export interface N8nRun {
	finished?: boolean;
	status?: string;
	mode?: string;
	data: {
		resultData: {
			runData: Record<string, Array<{ data?: { main?: Array<Array<{ json: Record<string, unknown> }> | null> } }>>;
			lastNodeExecuted?: string;
			error?: unknown;
		};
	};
}

export class N8nInstance {
	readonly instanceId = randomBytes(4).toString('hex');
	userFolder = '';
	port = 0;
	runtime!: N8nRuntime;
	/** Session cookie from setupOwner()/login(), for /rest calls. */
	private cookie: string | undefined;
	/** n8n ties the auth cookie to a `browser-id` header; we send the same one on every call. */
	private readonly browserId = randomBytes(16).toString('hex');
	private ownsUserFolder = false;
	private database!: { url: URL; scratch: boolean; adminUrl?: string };
	private servers: ServerProcess[] = [];
	private queueMode = false;
	/** Set once queue mode was used: dispose() then deletes this instance's Redis keys. */
	private usedRedis = false;
	private initPromise: Promise<void> | undefined;
	private disposed = false;

	constructor(private readonly options: N8nInstanceOptions = {}) {}

	static async create(options: N8nInstanceOptions = {}): Promise<N8nInstance> {
		const instance = new N8nInstance(options);
		await instance.init();
		return instance;
	}

	/** Idempotent; every public method calls it. */
	async init(): Promise<void> {
		this.initPromise ??= this.doInit();
		await this.initPromise;
	}

	private async doInit(): Promise<void> {
		installSafetyNet();
		this.runtime = await ensureN8nInstalled();
		if (this.options.userFolder) {
			this.userFolder = path.resolve(this.options.userFolder);
			fs.mkdirSync(this.userFolder, { recursive: true });
		} else {
			this.userFolder = fs.mkdtempSync(path.join(os.tmpdir(), 'n8n-e2e-'));
			this.ownsUserFolder = true;
			tempFolders.add(this.userFolder);
		}
		this.port = this.options.port ?? (await getFreePort());
		if (this.options.databaseUrl) {
			this.database = { url: new URL(this.options.databaseUrl), scratch: false };
		} else {
			const adminUrl = this.options.adminDatabaseUrl ?? process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
			const name = `n8n_e2e_${this.instanceId}`;
			const client = new Client({ connectionString: adminUrl });
			await client.connect();
			try {
				await client.query(`CREATE DATABASE "${name}"`);
			} finally {
				await client.end();
			}
			scratchDatabases.set(this.instanceId, { adminUrl, name });
			const url = new URL(adminUrl);
			url.pathname = `/${name}`;
			this.database = { url, scratch: true, adminUrl };
		}
	}

	private get redisUrl(): string {
		return this.options.redisUrl ?? process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
	}

	get baseUrl(): string {
		return `http://127.0.0.1:${this.port}`;
	}

	/** `<userFolder>/.n8n/nodes`: where community packages live. */
	get nodesDir(): string {
		return path.join(this.userFolder, '.n8n', 'nodes');
	}

	get logsDir(): string {
		return path.join(this.userFolder, 'logs');
	}

	/** Environment shared by all n8n processes of this instance (minus per-process ports); also for tools that run its CLI. */
	baseEnv(): Record<string, string> {
		const db = this.database.url;
		const redis = new URL(this.redisUrl);
		const env: Record<string, string> = {
			...cleanBaseEnv(),
			// Node 24 first on PATH: n8n spawns its JS task runner as plain `node`
			// (dist/task-runners/task-runner-process-js.js), which would otherwise be Node 20;
			// installPackage()'s npm runs on it too.
			PATH: `${path.dirname(this.runtime.nodeBin)}${path.delimiter}${process.env.PATH ?? ''}`,
			NODE_ENV: 'production',
			// Postgres (no sqlite: its native module is not built with --ignore-scripts).
			DB_TYPE: 'postgresdb',
			DB_POSTGRESDB_HOST: db.hostname || '127.0.0.1',
			DB_POSTGRESDB_PORT: db.port || '5432',
			DB_POSTGRESDB_DATABASE: decodeURIComponent(db.pathname.replace(/^\//, '')) || 'postgres',
			DB_POSTGRESDB_USER: decodeURIComponent(db.username) || 'postgres',
			DB_POSTGRESDB_PASSWORD: decodeURIComponent(db.password),
			N8N_USER_FOLDER: this.userFolder,
			N8N_ENCRYPTION_KEY: TEST_ENCRYPTION_KEY,
			// No phoning home (no internet here; these would only add timeouts and noise).
			N8N_DIAGNOSTICS_ENABLED: 'false',
			N8N_VERSION_NOTIFICATIONS_ENABLED: 'false',
			N8N_TEMPLATES_ENABLED: 'false',
			N8N_PERSONALIZATION_ENABLED: 'false',
			// Plain http on 127.0.0.1: the auth cookie must not be `Secure`.
			N8N_SECURE_COOKIE: 'false',
			N8N_HOST: '127.0.0.1',
			N8N_LISTEN_ADDRESS: '127.0.0.1',
			N8N_PORT: String(this.port),
			N8N_PROTOCOL: 'http',
			// (WEBHOOK_URL is deprecated in 2.x: n8n logs a deprecation notice for it.)
			N8N_WEBHOOK_URL: `${this.baseUrl}/`,
			N8N_RUNNERS_BROKER_LISTEN_ADDRESS: '127.0.0.1',
			// Tests stop servers often; don't wait n8n's default 30 s for in-flight work.
			N8N_GRACEFUL_SHUTDOWN_TIMEOUT: '10',
			EXECUTIONS_MODE: this.queueMode ? 'queue' : 'regular',
			QUEUE_BULL_REDIS_HOST: redis.hostname || '127.0.0.1',
			QUEUE_BULL_REDIS_PORT: redis.port || '6379',
			QUEUE_BULL_PREFIX: `bull_e2e_${this.instanceId}`,
			N8N_REDIS_KEY_PREFIX: `n8n_e2e_${this.instanceId}`,
		};
		// n8n 2.40 warns that manual (editor) executions will go to workers by default; opt in now
		// so queue-mode tests see the future behaviour. (CLI `execute` always runs in-process.)
		if (this.queueMode) env.OFFLOAD_MANUAL_EXECUTIONS_TO_WORKERS = 'true';
		if (redis.password) env.QUEUE_BULL_REDIS_PASSWORD = decodeURIComponent(redis.password);
		if (redis.pathname.length > 1) env.QUEUE_BULL_REDIS_DB = redis.pathname.slice(1);
		return { ...env, ...(this.options.env ?? {}) };
	}

	// -------------------------------------------------------------------------------------------
	// Community packages

	/**
	 * Installs a packed community package (`npm pack` tarball). The steps are n8n's own installer's (n8n 2.40.7 community-packages.service.js
	 * downloadPackage), so tests see what users who click *Install* get:
	 * - the tarball is unpacked into `.n8n/nodes/node_modules/<name>`;
	 * - devDependencies, peerDependencies and optionalDependencies are removed from its
	 *   package.json, so n8n's own `n8n-workflow` is the one the package loads;
	 * - `npm install --bin-links=false --install-strategy=shallow --ignore-scripts=true
	 *   --package-lock=false` runs inside that folder;
	 * - the version is recorded in `.n8n/nodes/package.json`, the ledger n8n writes.
	 * n8n reads the folder at process start: install before start(), or restart afterwards.
	 */
	async installPackage(tarballPath: string, cliOptions: { timeoutMs?: number } = {}): Promise<InstalledPackage> {
		await this.init();
		const tarball = path.resolve(tarballPath);
		const manifest = readPackageJsonFromTarball(tarball);
		const dir = path.join(this.nodesDir, 'node_modules', manifest.name);
		fs.rmSync(dir, { recursive: true, force: true });
		fs.mkdirSync(dir, { recursive: true });
		const untar = spawnSync('tar', ['-xzf', tarball, '-C', dir, '--strip-components=1'], { encoding: 'utf8' });
		if (untar.status !== 0) throw new Error(`cannot unpack ${tarball}: ${untar.stderr}`);
		const packageJsonPath = path.join(dir, 'package.json');
		const { devDependencies, peerDependencies, optionalDependencies, ...packageJson } = JSON.parse(
			fs.readFileSync(packageJsonPath, 'utf8'),
		) as Record<string, unknown>;
		fs.writeFileSync(packageJsonPath, JSON.stringify(packageJson, null, 2));
		const env = { ...this.baseEnv(), npm_config_update_notifier: 'false' };
		const npmInstall = () =>
			runProcess(
				'npm',
				[
					'install',
					'--audit=false',
					'--fund=false',
					'--bin-links=false',
					'--install-strategy=shallow',
					'--ignore-scripts=true',
					'--package-lock=false',
					'--loglevel=error',
				],
				{ cwd: dir, env, timeoutMs: cliOptions.timeoutMs ?? 5 * 60_000 },
			);
		let result = await npmInstall();
		if (result.code !== 0 && REGISTRY_LACKS_VERSION.test(result.stderr)) {
			// A registry mirror can list a release whose own dependencies it has not copied yet
			// (a fresh @aws-sdk/client-s3 asking for a middleware version that answers ETARGET).
			// That says nothing about this package, so install again with the dependency versions
			// the repository's lockfile pins: `npm ci` has just fetched each of them.
			process.stderr.write(
				`[n8n-runtime] the registry lacks a version npm picked; installing the versions package-lock.json pins\n${tail(result.stderr, 3)}\n`,
			);
			fs.writeFileSync(packageJsonPath, JSON.stringify(pinnedToLockfile(packageJson), null, 2));
			result = await npmInstall();
		}
		if (result.code !== 0) {
			throw new Error(`npm install of ${path.basename(tarball)} failed (exit ${result.code}):\n${tail(result.stderr)}`);
		}
		const ledger = path.join(this.nodesDir, 'package.json');
		const installed: { dependencies?: Record<string, string> } = fs.existsSync(ledger)
			? JSON.parse(fs.readFileSync(ledger, 'utf8'))
			: { name: 'installed-nodes', private: true };
		installed.dependencies = { ...installed.dependencies, [manifest.name]: manifest.version };
		fs.writeFileSync(ledger, JSON.stringify(installed, null, 2));
		return { name: manifest.name, version: manifest.version, dir };
	}

	// -------------------------------------------------------------------------------------------
	// CLI

	/**
	 * Runs `n8n <args>` against this instance's database and user folder, e.g.
	 * `['import:workflow', '--input', file]`, `['execute', '--id', id, '--rawOutput']`.
	 * n8n logs (info level) go to stdout too; see parseExecuteOutput().
	 * Works while the server runs (shared DB); in queue mode `execute` runs in-process anyway
	 * ("CLI command `execute` does not support queue mode. Falling back to regular mode.").
	 */
	async cli(args: string[], options: CliOptions = {}): Promise<ProcessResult> {
		await this.init();
		const env = {
			...this.baseEnv(),
			// execute/import start their own task-runner broker: never the server's port.
			N8N_RUNNERS_BROKER_PORT: String(await getFreePort()),
			...(options.env ?? {}),
		};
		return await runProcess(this.runtime.nodeBin, [this.runtime.n8nBin, ...args], {
			cwd: this.userFolder,
			env,
			timeoutMs: options.timeoutMs ?? 180_000,
		});
	}

	/** Like cli() but throws with the output tail when the exit code is not 0. */
	async cliOk(args: string[], options: CliOptions = {}): Promise<ProcessResult> {
		const result = await this.cli(args, options);
		if (result.code !== 0) {
			throw new Error(
				`n8n ${args[0]} failed (exit ${result.code ?? `by ${result.signal}`}${result.timedOut ? ', timed out' : ''}):\n` +
					`${tail(result.stdout, 20)}\n${tail(result.stderr, 20)}`,
			);
		}
		return result;
	}

	/**
	 * Node types this n8n loads, community packages included, e.g. 'n8n-nodes-base.manualTrigger',
	 * 'n8n-nodes-foo.myNode'. Uses `n8n export:nodes --output <file>` (n8n/dist/commands/export/
	 * nodes.js), which dumps LoadNodesAndCredentials.types.nodes after the same loaders as
	 * `start`, so it reflects what the server would offer. ~7 s (first call also runs migrations).
	 */
	async listNodeTypes(): Promise<string[]> {
		const descriptions = await this.exportNodeDescriptions();
		return [...new Set(descriptions.map((node) => node.name))].sort();
	}

	/**
	 * Same list from a running server: `GET /types/nodes.json` (generated by `n8n start` into its
	 * static cache, served only to a logged-in user — dist/server.js protectTypeFiles), so call
	 * setupOwner() or login() first. Milliseconds instead of seconds once the server is up.
	 */
	async listNodeTypesFromServer(): Promise<string[]> {
		const nodes = (await this.rest('GET', '/types/nodes.json')) as Array<{ name: string }>;
		return [...new Set(nodes.map((node) => node.name))].sort();
	}

	/** Full node descriptions (displayName, version, properties, credentials…). */
	async exportNodeDescriptions(): Promise<Array<{ name: string; version: number | number[]; displayName: string }>> {
		const file = path.join(this.userFolder, `nodes-${randomBytes(4).toString('hex')}.json`);
		try {
			await this.cliOk(['export:nodes', '--output', file]);
			return JSON.parse(fs.readFileSync(file, 'utf8'));
		} finally {
			fs.rmSync(file, { force: true });
		}
	}

	/** `n8n import:workflow` for one workflow object (it needs a stable `id`, at most 21 chars). */
	async importWorkflow(workflow: { id: string } & Record<string, unknown>): Promise<void> {
		await this.withJsonFile(workflow, (file) => this.cliOk(['import:workflow', '--input', file]));
	}

	/**
	 * `n8n import:credentials` for credential objects like
	 * `{ id, name, type, data: { plain: 'object' } }`: plain `data` is encrypted on import with this
	 * instance's key.
	 */
	async importCredentials(credentials: Array<Record<string, unknown>>): Promise<void> {
		await this.withJsonFile(credentials, (file) => this.cliOk(['import:credentials', '--input', file]));
	}

	/**
	 * `n8n execute --id <id> --rawOutput`: the workflow must start with a Manual Trigger (or
	 * Execute Workflow Trigger). Throws when n8n reports an execution error.
	 */
	async executeWorkflow(id: string, options: CliOptions = {}): Promise<N8nRun> {
		const result = await this.cli(['execute', '--id', id, '--rawOutput'], options);
		if (result.code !== 0) {
			throw new Error(
				`n8n execute --id ${id} failed (exit ${result.code ?? `by ${result.signal}`}${result.timedOut ? ', timed out' : ''}):\n` +
					`${tail(result.stdout, 60)}\n${tail(result.stderr, 20)}`,
			);
		}
		return parseExecuteOutput(result.stdout);
	}

	private async withJsonFile<T>(content: unknown, fn: (file: string) => Promise<T>): Promise<T> {
		await this.init();
		const file = path.join(this.userFolder, `import-${randomBytes(4).toString('hex')}.json`);
		fs.writeFileSync(file, JSON.stringify(content));
		try {
			return await fn(file);
		} finally {
			fs.rmSync(file, { force: true });
		}
	}

	// -------------------------------------------------------------------------------------------
	// Server

	/**
	 * Starts `n8n start` (and, in queue mode, `n8n worker` processes) and waits until they are
	 * ready. Each process runs in its own process group with its own task-runner broker port; logs
	 * go to `<userFolder>/logs/<name>.log`. Workers start after main, which has run the
	 * migrations by then, and answer on their own health port (QUEUE_HEALTH_CHECK_ACTIVE).
	 */
	async start(options: StartOptions = {}): Promise<void> {
		await this.init();
		if (this.servers.length > 0) throw new Error('n8n is already started; stop() first');
		const workers = options.workers ?? 0;
		this.queueMode = options.queue === true || workers > 0;
		if (this.queueMode) this.usedRedis = true;
		const timeoutMs = options.timeoutMs ?? 120_000;
		fs.mkdirSync(this.logsDir, { recursive: true });
		try {
			const main = await this.spawnServer('main', ['start'], {});
			// /healthz answers as soon as the HTTP server listens (before migrations);
			// /healthz/readiness once the DB is connected and migrated; /rest/settings only once
			// `start` has registered the REST controllers, i.e. the instance is usable.
			await this.waitFor(main, [`${this.baseUrl}/healthz`, `${this.baseUrl}/healthz/readiness`, `${this.baseUrl}/rest/settings`], timeoutMs);
			const pending: Array<Promise<void>> = [];
			for (let i = 1; i <= workers; i++) {
				const healthPort = await getFreePort();
				const worker = await this.spawnServer(
					`worker-${i}`,
					['worker', `--concurrency=${options.workerConcurrency ?? 10}`],
					{
						N8N_USER_FOLDER: this.workerUserFolder(i),
						QUEUE_HEALTH_CHECK_ACTIVE: 'true',
						QUEUE_HEALTH_CHECK_PORT: String(healthPort),
						N8N_WORKER_SERVER_ADDRESS: '127.0.0.1',
					},
				);
				pending.push(this.waitFor(worker, [`http://127.0.0.1:${healthPort}/healthz/readiness`], timeoutMs));
			}
			await Promise.all(pending);
		} catch (error) {
			await this.stop();
			throw error;
		}
	}

	/**
	 * Each worker gets its own N8N_USER_FOLDER, as on separate hosts: n8n's crash journal
	 * (`.n8n/crash.journal`, created by start/worker, removed on clean exit) would otherwise make
	 * every process after the first one log "Last session crashed" and sleep 10 s at startup.
	 * `.n8n/nodes` is a symlink to the main folder's, so workers load the same community
	 * packages (n8n requires them on main and every worker).
	 */
	private workerUserFolder(index: number): string {
		const folder = path.join(this.userFolder, 'workers', `worker-${index}`);
		fs.mkdirSync(path.join(folder, '.n8n'), { recursive: true });
		fs.mkdirSync(this.nodesDir, { recursive: true });
		const link = path.join(folder, '.n8n', 'nodes');
		if (!fs.existsSync(link)) fs.symlinkSync(this.nodesDir, link, 'dir');
		return folder;
	}

	private async spawnServer(name: string, args: string[], extraEnv: Record<string, string>): Promise<ServerProcess> {
		const logFile = path.join(this.logsDir, `${name}.log`);
		const fd = fs.openSync(logFile, 'a');
		const env = { ...this.baseEnv(), N8N_RUNNERS_BROKER_PORT: String(await getFreePort()), ...extraEnv };
		const child = spawn(this.runtime.nodeBin, [this.runtime.n8nBin, ...args], {
			cwd: this.userFolder,
			env,
			detached: true, // own process group: stop() kills n8n and its task runners together
			stdio: ['ignore', fd, fd],
		});
		fs.closeSync(fd);
		liveProcessGroups.add(child.pid!);
		const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
		const server = { name, child, logFile, exited };
		this.servers.push(server);
		return server;
	}

	private async waitFor(server: ServerProcess, urls: string[], timeoutMs: number): Promise<void> {
		const deadline = Date.now() + timeoutMs;
		for (const url of urls) {
			while (!(await httpOk(url))) {
				if (server.child.exitCode !== null || server.child.signalCode !== null) {
					throw new Error(`n8n ${server.name} exited during startup:\n${this.logTail(server.name)}`);
				}
				if (Date.now() > deadline) {
					throw new Error(`n8n ${server.name} not ready after ${timeoutMs} ms (${url}):\n${this.logTail(server.name)}`);
				}
				await sleep(250);
			}
		}
	}

	/** Running server processes (each leads its own process group: pid = pgid), main first. */
	get processes(): Array<{ name: string; pid: number }> {
		return this.servers.map((server) => ({ name: server.name, pid: server.child.pid! }));
	}

	/** Last lines of a server log ('main', 'worker-1', …). */
	logTail(name = 'main', lines = 40): string {
		try {
			return tail(fs.readFileSync(path.join(this.logsDir, `${name}.log`), 'utf8'), lines);
		} catch {
			return '(no log)';
		}
	}

	/** Stops all server processes: SIGTERM to each process group, SIGKILL after 15 s. */
	async stop(): Promise<void> {
		const servers = this.servers.reverse(); // workers first, then main
		this.servers = [];
		for (const server of servers) killGroup(server.child.pid!, 'SIGTERM');
		await Promise.all(
			servers.map(async (server) => {
				const pid = server.child.pid!;
				const deadline = Date.now() + 15_000;
				await Promise.race([server.exited, sleep(15_000)]);
				// The leader may be gone while a task runner of its group still winds down.
				while (groupAlive(pid) && Date.now() < deadline) await sleep(100);
				killGroup(pid, 'SIGKILL');
				liveProcessGroups.delete(pid);
			}),
		);
		this.cookie = undefined;
	}

	/** stop(), then drop the scratch database and remove the temp user folder (if we created them). */
	async dispose(): Promise<void> {
		if (this.disposed) return;
		this.disposed = true;
		if (!this.initPromise) return;
		await this.initPromise.catch(() => undefined);
		await this.stop();
		if (this.database?.scratch && this.database.adminUrl) {
			const client = new Client({ connectionString: this.database.adminUrl });
			await client.connect();
			try {
				const name = decodeURIComponent(this.database.url.pathname.slice(1));
				await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
			} finally {
				await client.end();
			}
			scratchDatabases.delete(this.instanceId);
		}
		if (this.usedRedis) await this.deleteRedisKeys();
		if (this.ownsUserFolder && this.userFolder) {
			fs.rmSync(this.userFolder, { recursive: true, force: true });
			tempFolders.delete(this.userFolder);
		}
	}

	/**
	 * Queue mode leaves Bull and cache keys behind (`bull_e2e_<id>:*`, `n8n_e2e_<id>:*`; in queue
	 * mode n8n's cache backend is Redis too). Uses the ioredis that n8n itself ships, so the repo
	 * needs no Redis client.
	 */
	private async deleteRedisKeys(): Promise<void> {
		// eslint-disable-next-line @typescript-eslint/no-require-imports
		const Redis = require(path.join(this.runtime.home, 'node_modules', 'ioredis'));
		const client = new Redis(this.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
		try {
			await client.connect();
			for (const prefix of [`bull_e2e_${this.instanceId}`, `n8n_e2e_${this.instanceId}`]) {
				let cursor = '0';
				do {
					const [next, keys] = (await client.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 500)) as [string, string[]];
					if (keys.length > 0) await client.del(...keys);
					cursor = next;
				} while (cursor !== '0');
			}
		} finally {
			client.disconnect();
		}
	}

	// -------------------------------------------------------------------------------------------
	// REST helpers (server must be started)
	//
	// What works headless in 2.40.7 (verified by the self-check):
	// - Owner: `POST /rest/owner/setup {email, firstName, lastName, password}` (skipAuth; only
	//   while no owner exists) returns the user and sets the `n8n-auth` cookie. Password rules:
	//   8–64 chars, a digit and an uppercase letter. Alternative without HTTP: env
	//   N8N_INSTANCE_OWNER_MANAGED_BY_ENV=true + N8N_INSTANCE_OWNER_EMAIL +
	//   N8N_INSTANCE_OWNER_PASSWORD_HASH (bcrypt) [+ _FIRST_NAME/_LAST_NAME] (owner loader in
	//   dist/instance-settings-loader/loaders/owner.instance-settings-loader.js).
	// - Login: `POST /rest/login {emailOrLdapLoginId, password}`.
	// - API key: `GET /rest/api-keys/scopes` lists the scopes the user may grant;
	//   `POST /rest/api-keys {label, scopes, expiresAt: null}` returns `rawApiKey` once. Use it
	//   as `X-N8N-API-KEY` on `/api/v1/...` (public API; there is no "run workflow" endpoint:
	//   trigger a Webhook node and poll `/api/v1/executions`).
	// The cookie is bound to the `browser-id` header sent at login, so every call sends ours.

	async setupOwner(owner: Partial<OwnerAccount> = {}): Promise<OwnerAccount> {
		const account: OwnerAccount = {
			email: owner.email ?? 'owner@example.com',
			password: owner.password ?? `E2e-${randomBytes(6).toString('hex')}-Pw1`,
			firstName: owner.firstName ?? 'E2E',
			lastName: owner.lastName ?? 'Owner',
		};
		await this.rest('POST', '/rest/owner/setup', account);
		// The session cookie set by owner setup is not always accepted afterwards, and a login right
		// after setup is sometimes refused (both seen when the CLI ran workflows in this user folder
		// before the server started): keep whichever session n8n accepts.
		// A refused login is asked again for a few seconds before falling back to the setup session.
		const setupCookie = this.cookie;
		const deadline = Date.now() + 10_000;
		for (;;) {
			try {
				await this.login(account.email, account.password);
				return account;
			} catch (error) {
				this.cookie = setupCookie;
				if (await this.rest('GET', '/rest/login').then(() => true, () => false)) return account;
				if (Date.now() > deadline) throw error;
				await sleep(250);
			}
		}
	}

	async login(email: string, password: string): Promise<void> {
		await this.rest('POST', '/rest/login', { emailOrLdapLoginId: email, password });
	}

	/**
	 * Waits until a production webhook answers. Activation (public API `/activate` or `/publish`)
	 * returns before main has registered the webhook (~0.1–0.2 s later; until then: 404 "not
	 * registered"). Probes with a CORS preflight (OPTIONS), which never starts an execution.
	 */
	async waitForWebhook(webhookPath: string, method = 'POST', timeoutMs = 15_000): Promise<void> {
		const deadline = Date.now() + timeoutMs;
		const url = `${this.baseUrl}/webhook/${webhookPath.replace(/^\//, '')}`;
		for (;;) {
			try {
				const res = await fetch(url, {
					method: 'OPTIONS',
					headers: { origin: this.baseUrl, 'access-control-request-method': method },
					signal: AbortSignal.timeout(2_000),
				});
				await res.arrayBuffer();
				if (res.ok) return;
			} catch {
				// not listening (yet)
			}
			if (Date.now() > deadline) throw new Error(`webhook ${method} ${url} not registered after ${timeoutMs} ms`);
			await sleep(100);
		}
	}

	/** Creates a public-API key for the logged-in user with every scope it may grant. */
	async createApiKey(label = 'e2e'): Promise<string> {
		const scopes = (await this.rest('GET', '/rest/api-keys/scopes')) as string[];
		const created = (await this.rest('POST', '/rest/api-keys', { label, scopes, expiresAt: null })) as {
			rawApiKey: string;
		};
		return created.rawApiKey;
	}

	/** Calls the internal REST API (`/rest/...`) with the session cookie; returns `data`. */
	async rest(method: string, urlPath: string, body?: unknown): Promise<unknown> {
		const headers: Record<string, string> = { 'browser-id': this.browserId };
		if (this.cookie) headers.cookie = this.cookie;
		if (body !== undefined) headers['content-type'] = 'application/json';
		const res = await fetch(`${this.baseUrl}${urlPath}`, {
			method,
			headers,
			body: body === undefined ? undefined : JSON.stringify(body),
		});
		const authCookie = res.headers.getSetCookie().find((c) => c.startsWith('n8n-auth='));
		if (authCookie) this.cookie = authCookie.split(';')[0];
		const text = await res.text();
		if (!res.ok) throw new Error(`${method} ${urlPath} → HTTP ${res.status}: ${text.slice(0, 500)}`);
		const json = text ? JSON.parse(text) : undefined;
		return json && typeof json === 'object' && 'data' in json ? json.data : json;
	}

	/** Calls the public API (`/api/v1/...`) with an API key from createApiKey(). */
	async publicApi(apiKey: string, method: string, urlPath: string, body?: unknown): Promise<unknown> {
		const headers: Record<string, string> = { 'x-n8n-api-key': apiKey, accept: 'application/json' };
		if (body !== undefined) headers['content-type'] = 'application/json';
		const res = await fetch(`${this.baseUrl}/api/v1${urlPath}`, {
			method,
			headers,
			body: body === undefined ? undefined : JSON.stringify(body),
		});
		const text = await res.text();
		if (!res.ok) throw new Error(`${method} /api/v1${urlPath} → HTTP ${res.status}: ${text.slice(0, 500)}`);
		return text ? JSON.parse(text) : undefined;
	}
}

/**
 * `n8n execute --rawOutput` prints n8n's own log lines (info level, same stdout) before the run
 * JSON, which is pretty-printed: it starts at a line that is exactly "{" and ends at the last
 * line that is exactly "}".
 */
export function parseExecuteOutput(stdout: string): N8nRun {
	const lines = stdout.split('\n');
	const start = lines.findIndex((line) => line === '{');
	let end = -1;
	for (let i = lines.length - 1; i > start; i--) {
		if (lines[i] === '}') {
			end = i;
			break;
		}
	}
	if (start < 0 || end < 0) throw new Error(`no run JSON in n8n execute output:\n${tail(stdout)}`);
	return JSON.parse(lines.slice(start, end + 1).join('\n')) as N8nRun;
}

/** The `json` of every item a node emitted on its first run and first output. */
export function nodeOutput(run: N8nRun, nodeName: string, output = 0): Array<Record<string, unknown>> {
	const runs = run.data.resultData.runData[nodeName];
	if (!runs || runs.length === 0) throw new Error(`node "${nodeName}" did not run`);
	return (runs[0].data?.main?.[output] ?? []).map((item) => item.json);
}

function readPackageJsonFromTarball(tarball: string): { name: string; version: string } {
	// npm pack tarballs keep everything under `package/`.
	const result = spawnSync('tar', ['-xzOf', tarball, 'package/package.json'], { encoding: 'utf8' });
	if (result.status !== 0) throw new Error(`cannot read package.json from ${tarball}: ${result.stderr}`);
	const manifest = JSON.parse(result.stdout) as { name: string; version: string };
	return { name: manifest.name, version: manifest.version };
}
