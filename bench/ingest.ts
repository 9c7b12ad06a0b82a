/**
 * npm run bench:ingest [-- --copies 101 --n8n-rows 100000 --gb 1 --parts abcde]
 *
 * In one run, the same large CSV — vega-datasets' birdstrikes.csv (10,000 real rows, 14 columns)
 * repeated --copies times (default 101 → 1,010,000 rows) — loaded:
 *   (a) by IPAI File Ingest's engine path, in its own process: sniff, sample and decide types,
 *       scan every row (bad rows, line numbers, compact _ipai_raw), stream the file's bytes into
 *       COPY … (FORMAT csv) of a new bronze table with its metadata columns and (connector, run)
 *       index, one transaction for the file;
 *   (b) by `psql \copy` of the very same file into a table with the same data columns and types
 *       (the limit: no scan in JS, no metadata columns, no index);
 *   (c) by n8n's built-in path in a real n8n 2.40.7 (Read/Write Files from Disk → Extract from
 *       File → Postgres insert; the workflow of ../shared/reference/baseline.md), on the first
 *       --n8n-rows rows only (default 100,000): it holds every row as an item and cannot load
 *       much more than ~250k rows of this shape;
 * plus (d) the 3-million-row flights-3m.parquet (zstd): through the engine path in its own
 * process; then its rows exported to CSV by PostgreSQL and loaded by `psql \copy` into a table
 * with the same columns (the limit); then through the node inside a real n8n, with n8n's default
 * settings and with LEAN_ENV, each next to the same n8n running a trivial workflow (its floor);
 * and (e) with
 * --gb > 0 (default 1) the node itself inside a real n8n (packed from the working tree, binary
 * data on the filesystem) loading a CSV of about that many GB, where the n8n process's peak RSS is
 * read from /proc (VmHWM) — with n8n's default settings and with LEAN_ENV, each next to the same
 * n8n running a trivial workflow and reading the same file without the node.
 * --parts picks a subset of a–e (the ratios need a, b and c).
 * Last line: `ingest csv/copy=<ratio> csv/n8n-builtin=<ratio> parquet/copy=<ratio>` (rows/s over
 * rows/s; parquet/copy: the node in n8n, the lower of its two settings, over psql \copy of the CSV).
 */
import { copyFileSync, readdirSync, readFileSync, rmSync, mkdtempSync, mkdirSync, openSync, writeSync, closeSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Pool } from 'pg';
import { parseArgs } from '../bin/args';
import { finishRun, startRun } from '../lib/lakehouse/runs';
import { localFileSource } from '../lib/sources/files/bytes';
import { ingestFile } from '../lib/sources/files/ingest';
import { N8nInstance, nodeOutput, parseExecuteOutput } from '../tooling/n8n/n8nRuntime';
import { packFromSources } from '../tooling/n8n/pack';
import { measure, mibToMb, reportedSeconds, row, withScratchDatabase } from './common';

const ROOT = resolve(__dirname, '..', '..');
/**
 * n8n settings of run (e). Binary data on the filesystem (n8n 2.x's default outside queue mode,
 * stated so the run does not depend on it): the file is streamed to disk by Read File and back by
 * the node, never held in memory. Successful executions are not saved (the summary item is all
 * there is anyway).
 */
const N8N_SETTINGS = { N8N_DEFAULT_BINARY_DATA_MODE: 'filesystem', EXECUTIONS_DATA_SAVE_ON_SUCCESS: 'none' };
/**
 * Memory settings for a small n8n (run (e) measures n8n with and without them): n8n 2.40.7 alone
 * (`n8n execute` of a trivial workflow) peaks at ~400 MiB with V8's defaults, most of it garbage V8
 * has no reason to collect yet; a 1 MiB young generation and a 192 MB old-space cap bring it to
 * ~270 MiB (its live heap after start-up is ~160 MB), and two glibc malloc arenas instead of one
 * per thread save ~10 MiB more.
 */
const LEAN_ENV = { NODE_OPTIONS: '--max-old-space-size=192 --max-semi-space-size=1', MALLOC_ARENA_MAX: '2' };
const DATA = join(ROOT, 'node_modules', 'vega-datasets', 'data');

async function worker(url: string, file: string, table: string): Promise<void> {
	const pool = new Pool({ connectionString: url, max: 2 });
	const run = await startRun(pool, { connector: { connectorType: 'bench', name: table }, leaseTimeoutSeconds: 3600 });
	if (run.status !== 'running') throw new Error('could not start a run');
	const started = process.hrtime.bigint();
	const summary = await ingestFile(pool, localFileSource(file), { connectorId: run.connectorId, runId: run.runId, table: { schema: 'ipai_bronze_core', name: table } });
	const seconds = Number(process.hrtime.bigint() - started) / 1e9;
	await finishRun(pool, run.runId);
	await pool.end();
	process.stdout.write(`IPAI_SECONDS=${seconds}\nIPAI_ROWS=${summary.rows}\n`);
}

/** birdstrikes.csv's data rows repeated: CRLF like the original, every line ends with one. */
function buildCsv(path: string, copies: number, limitRows = Infinity): number {
	const lines = readFileSync(join(DATA, 'birdstrikes.csv'), 'utf8').split('\r\n').filter((l) => l.length > 0);
	const header = lines[0];
	const body = `${lines.slice(1).join('\r\n')}\r\n`;
	const fd = openSync(path, 'w');
	writeSync(fd, `${header}\r\n`);
	let rows = 0;
	for (let i = 0; i < copies && rows < limitRows; i++) {
		if (rows + lines.length - 1 > limitRows) {
			const part = lines.slice(1, 1 + (limitRows - rows));
			writeSync(fd, `${part.join('\r\n')}\r\n`);
			rows += part.length;
		} else {
			writeSync(fd, body);
			rows += lines.length - 1;
		}
	}
	closeSync(fd);
	return rows;
}

/** Peak RSS (VmHWM) of processes whose command line contains `marker`, sampled until stop(). */
function watchPeakRss(marker: string): { stop: () => number } {
	let peakKb = 0;
	const sample = () => {
		for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
			try {
				if (!readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(marker)) continue;
				const hwm = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
				if (hwm) peakKb = Math.max(peakKb, Number(hwm[1]));
			} catch {
				// the process ended between listing and reading
			}
		}
	};
	const timer = setInterval(sample, 100);
	return {
		stop: () => {
			sample();
			clearInterval(timer);
			return peakKb / 1024;
		},
	};
}

async function n8nBuiltin(url: string, dir: string, file: string, rows: number): Promise<{ seconds: number; peakRssMib: number }> {
	const header = readFileSync(join(DATA, 'birdstrikes.csv'), 'utf8').split('\r\n')[0].split(',');
	const pool = new Pool({ connectionString: url });
	await pool.query('create schema if not exists bench');
	await pool.query(`create table bench.big_n8n (${header.map((h) => `"${h.replace(/"/g, '""')}" text`).join(', ')})`);
	await pool.end();
	const userFolder = join(dir, 'n8n-builtin');
	mkdirSync(userFolder, { recursive: true });
	const n8n = await N8nInstance.create({ userFolder, env: { N8N_RESTRICT_FILE_ACCESS_TO: dir } });
	try {
		const u = new URL(url);
		await n8n.importCredentials([
			{ id: 'pgbenchcred0001', name: 'bench-pg', type: 'postgres', data: { host: u.hostname, port: Number(u.port || 5432), database: u.pathname.slice(1), user: decodeURIComponent(u.username), password: decodeURIComponent(u.password), ssl: 'disable' } },
		]);
		const workflow = {
			id: 'wfbenchbig00001', name: 'bench big single', active: false, settings: {}, pinData: {},
			nodes: [
				{ parameters: {}, id: 'n1', name: 'Start', type: 'n8n-nodes-base.manualTrigger', typeVersion: 1, position: [0, 0] },
				{ parameters: { operation: 'read', fileSelector: file, options: {} }, id: 'n2', name: 'Read Files from Disk', type: 'n8n-nodes-base.readWriteFile', typeVersion: 1.1, position: [200, 0] },
				{ parameters: { operation: 'csv', binaryPropertyName: 'data', options: {} }, id: 'n3', name: 'Extract from File', type: 'n8n-nodes-base.extractFromFile', typeVersion: 1.1, position: [400, 0] },
				{
					parameters: {
						operation: 'insert', schema: { __rl: true, mode: 'name', value: 'bench' }, table: { __rl: true, mode: 'name', value: 'big_n8n' },
						columns: { mappingMode: 'autoMapInputData', value: {}, matchingColumns: [], schema: [], attemptToConvertTypes: false, convertFieldsToString: false },
						options: { queryBatching: 'single' },
					},
					id: 'n4', name: 'Postgres', type: 'n8n-nodes-base.postgres', typeVersion: 2.7, position: [600, 0], credentials: { postgres: { id: 'pgbenchcred0001', name: 'bench-pg' } },
				},
			],
			connections: {
				Start: { main: [[{ node: 'Read Files from Disk', type: 'main', index: 0 }]] },
				'Read Files from Disk': { main: [[{ node: 'Extract from File', type: 'main', index: 0 }]] },
				'Extract from File': { main: [[{ node: 'Postgres', type: 'main', index: 0 }]] },
			},
		};
		await n8n.importWorkflow(workflow);
		const watch = watchPeakRss('wfbenchbig00001');
		const started = process.hrtime.bigint();
		// Not executeWorkflow(): its --rawOutput JSON of 100k items is too big to capture whole; the
		// CLI still prints the execution (part of the peer's cost, as in baseline.md) and we count rows.
		const result = await n8n.cli(['execute', '--id', workflow.id], { timeoutMs: 30 * 60_000 });
		if (result.code !== 0) throw new Error(`n8n execute failed (${result.code}): ${result.stderr.slice(-2000)}`);
		const seconds = Number(process.hrtime.bigint() - started) / 1e9;
		const peakRssMib = watch.stop();
		const check = new Pool({ connectionString: url });
		const { rows: counted } = await check.query('select count(*)::int as n from bench.big_n8n');
		await check.end();
		if (counted[0].n !== rows) throw new Error(`n8n's built-in path loaded ${counted[0].n} of ${rows} rows`);
		return { seconds, peakRssMib };
	} finally {
		await n8n.dispose();
	}
}

interface N8nRun {
	seconds: number;
	peakRssMib: number;
	rows: number;
	/** The node's own load time (its summary's durationMs): n8n's start-up excluded. */
	nodeSeconds?: number;
	/** The summary's detected.path: copy, or checked (the record reader). */
	path?: string;
}

/** One n8n setting of run (e): the same n8n on nothing, reading the file, reading and loading it. */
interface N8nRuns {
	label: string;
	idle: N8nRun;
	readFile: N8nRun | null;
	load: N8nRun;
}

let packed: string | undefined;

/**
 * The node inside a real n8n, under n8n's default settings and under LEAN_ENV; for each, n8n's own
 * share: a trivial workflow, then Read File alone on `file` (unless `readAlone` is false), then
 * Read File → IPAI File Ingest on it, into tables `<tables>_<setting>`.
 */
async function nodeInN8n(url: string, dir: string, file: string, tables: string, readAlone = true): Promise<N8nRuns[]> {
	const tarball = (packed ??= packFromSources(dir));
	const u = new URL(url);
	const userFolder = join(dir, `n8n-node-${tables}`);
	mkdirSync(userFolder, { recursive: true });
	const n8n = await N8nInstance.create({ userFolder, env: { N8N_RESTRICT_FILE_ACCESS_TO: dir, ...N8N_SETTINGS } });
	try {
		await n8n.installPackage(tarball);
		await n8n.importCredentials([
			{
				id: 'lakehouseBench1', name: 'lakehouse lakehouseBench1', type: 'ipaiLakehouseApi',
				data: { connectionMode: 'fields', host: u.hostname, port: Number(u.port || 5432), database: u.pathname.slice(1), user: decodeURIComponent(u.username), password: decodeURIComponent(u.password), ssl: 'disable' },
			},
		]);
		const credentials = { ipaiLakehouseApi: { id: 'lakehouseBench1', name: 'lakehouse lakehouseBench1' } };
		/** Start → (Read File, unless `path` is null) → (Ingest into `table`, unless null). */
		const run = async (id: string, path: string | null, table: string | null, env: Record<string, string>): Promise<N8nRun> => {
			const nodes = [
				{ parameters: {}, id: 'n1', name: 'Start', type: 'n8n-nodes-base.manualTrigger', typeVersion: 1, position: [0, 0] },
				path
					? { parameters: { operation: 'read', fileSelector: path, options: {} }, id: 'n2', name: 'Read File', type: 'n8n-nodes-base.readWriteFile', typeVersion: 1.1, position: [200, 0] }
					: { parameters: {}, id: 'n2', name: 'Read File', type: 'n8n-nodes-base.noOp', typeVersion: 1, position: [200, 0], notes: 'nothing to read: n8n alone' },
				...(table ? [{ parameters: { source: 'binary', schema: 'ipai_bronze_core', table }, id: 'n3', name: 'Ingest', type: 'n8n-nodes-ipai-lakehouse.ipaiFileIngest', typeVersion: 1, position: [400, 0], credentials }] : []),
			];
			await n8n.importWorkflow({
				id, name: id, active: false, settings: {}, nodes,
				connections: { Start: { main: [[{ node: 'Read File', type: 'main', index: 0 }]] }, ...(table ? { 'Read File': { main: [[{ node: 'Ingest', type: 'main', index: 0 }]] } } : {}) },
			});
			const watch = watchPeakRss(id);
			const started = process.hrtime.bigint();
			const cli = await n8n.cli(['execute', '--id', id, '--rawOutput'], { timeoutMs: 60 * 60_000, env });
			// n8n 2.40.7 now and then dies of SIGSEGV while exiting, after the run has finished (seen
			// on the trivial workflow, under heavy machine load): a run whose JSON says it succeeded
			// counts, and the crash is said; anything else fails the benchmark.
			let result: ReturnType<typeof parseExecuteOutput> | undefined;
			try {
				result = parseExecuteOutput(cli.stdout);
			} catch {
				result = undefined;
			}
			if (cli.code !== 0 && !(cli.signal && result?.status === 'success' && result.finished)) {
				throw new Error(`n8n execute --id ${id} failed (exit ${cli.code ?? `by ${cli.signal}`}):\n${cli.stdout.slice(-3000)}\n${cli.stderr.slice(-2000)}`);
			}
			if (cli.code !== 0) process.stdout.write(`    (n8n died of ${cli.signal} while exiting after ${id} succeeded)\n`);
			const seconds = Number(process.hrtime.bigint() - started) / 1e9;
			const peakRssMib = watch.stop();
			if (!table) return { seconds, peakRssMib, rows: 0 };
			const check = new Pool({ connectionString: url });
			const { rows } = await check.query(`select count(*)::int as n from ipai_bronze_core.${table}`);
			await check.end();
			const summary = nodeOutput(result!, 'Ingest')[0] as { durationMs?: number; detected?: { path?: string } };
			return { seconds, peakRssMib, rows: rows[0].n as number, nodeSeconds: (summary.durationMs ?? NaN) / 1000, path: summary.detected?.path };
		};
		const settings: Array<[string, Record<string, string>]> = [['n8n defaults', {}], [Object.entries(LEAN_ENV).map(([k, v]) => `${k}="${v}"`).join(' '), LEAN_ENV]];
		const results: N8nRuns[] = [];
		const ids = tables.replace(/[^a-z0-9]/g, '').slice(0, 8).padEnd(8, '0');
		for (const [i, [label, env]] of settings.entries()) {
			const idle = await run(`wfidle${ids}${i}`, null, null, env);
			const readFile = readAlone ? await run(`wffile${ids}${i}`, file, null, env) : null;
			const load = await run(`wfnode${ids}${i}`, file, `${tables}_${i}`, env);
			results.push({ label, idle, readFile, load });
		}
		return results;
	} finally {
		await n8n.dispose();
	}
}

async function main(): Promise<void> {
	const args = parseArgs(process.argv.slice(2), ['copies', 'n8n-rows', 'gb', 'worker', 'url', 'file', 'table', 'parts']);
	if (args.values.worker) return worker(args.values.url!, args.values.file!, args.values.table!);
	const copies = Number(args.values.copies ?? 101);
	const n8nRows = Number(args.values['n8n-rows'] ?? 100_000);
	const gb = Number(args.values.gb ?? 1);
	// --parts: a subset of a–e, to iterate on one measurement (the ratios need a, b and c).
	const parts = new Set((args.values.parts ?? 'abcde').split(''));

	const dir = mkdtempSync(join(tmpdir(), 'ipai-bench-ingest-'));
	try {
		await withScratchDatabase(async (url) => {
			const self = [process.execPath, __filename];
			const big = join(dir, 'birdstrikes-big.csv');
			const rows = buildCsv(big, copies);
			process.stdout.write(`CSV: birdstrikes.csv x${copies} = ${rows.toLocaleString('en-US')} rows, ${(statSync(big).size / 1e6).toFixed(0)} MB, 14 columns\n`);

			const engine = (file: string, table: string) => {
				const m = measure(self[0], [...self.slice(1), '--worker', 'x', '--url', url, '--file', file, '--table', table]);
				return { seconds: reportedSeconds(m.stdout), peakRssMib: m.peakRssMib, rows: Number(/IPAI_ROWS=(\d+)/.exec(m.stdout)![1]) };
			};
			let a: { seconds: number } | undefined;
			let b: { seconds: number } | undefined;
			let c: { seconds: number } | undefined;
			let sliceRows = 0;
			if (parts.has('a') || parts.has('b')) {
				const loaded = engine(big, 'bench_csv');
				if (loaded.rows !== rows) throw new Error(`engine loaded ${loaded.rows} of ${rows}`);
				a = loaded;
				process.stdout.write(`${row('(a) IPAI File Ingest engine path', rows, loaded.seconds, loaded.peakRssMib)}\n`);
			}
			if (parts.has('b')) {
				// (b) the same file, same data columns and types as the table (a) created.
				const pool = new Pool({ connectionString: url });
				const { rows: cols } = await pool.query<{ attname: string; t: string }>(
					`select attname, format_type(atttypid, atttypmod) as t from pg_attribute
					  where attrelid = 'ipai_bronze_core.bench_csv'::regclass and attnum > 0 and not attisdropped and attname not like '\\_ipai\\_%' order by attnum`,
				);
				await pool.query(`create table ipai_bronze_core.bench_copy (${cols.map((col) => `"${col.attname}" ${col.t}`).join(', ')})`);
				await pool.end();
				const copied = measure('psql', [url, '-v', 'ON_ERROR_STOP=1', '-c', `\\copy ipai_bronze_core.bench_copy from '${big}' with (format csv, header true)`]);
				b = copied;
				process.stdout.write(`${row('(b) psql \\copy, same columns (limit)', rows, copied.seconds, copied.peakRssMib)}\n`);
			}
			if (parts.has('c')) {
				const slice = join(dir, 'birdstrikes-slice.csv');
				sliceRows = buildCsv(slice, Math.ceil(n8nRows / 10_000), n8nRows);
				const builtin = await n8nBuiltin(url, dir, slice, sliceRows);
				c = builtin;
				process.stdout.write(`${row(`(c) n8n built-in, ${(sliceRows / 1000).toFixed(0)}k-row slice`, sliceRows, builtin.seconds, builtin.peakRssMib)}\n`);
			}
			let parquetRatio: number | undefined;
			if (parts.has('d')) {
				const flights = join(DATA, 'flights-3m.parquet');
				const d = engine(flights, 'bench_parquet');
				process.stdout.write(`${row('(d) flights-3m.parquet, engine path', d.rows, d.seconds, d.peakRssMib)}\n`);
				// The limit: the same rows as CSV (exported by PostgreSQL), loaded by psql \copy into a
				// table with the same data columns and types.
				const pool = new Pool({ connectionString: url });
				const { rows: cols } = await pool.query<{ attname: string; t: string }>(
					`select attname, format_type(atttypid, atttypmod) as t from pg_attribute
					  where attrelid = 'ipai_bronze_core.bench_parquet'::regclass and attnum > 0 and not attisdropped and attname not like '\\_ipai\\_%' order by attnum`,
				);
				await pool.query(`create table ipai_bronze_core.bench_parquet_copy (${cols.map((col) => `"${col.attname}" ${col.t}`).join(', ')})`);
				await pool.end();
				const csv = join(dir, 'flights-3m.csv');
				const list = cols.map((col) => `"${col.attname}"`).join(', ');
				measure('psql', [url, '-v', 'ON_ERROR_STOP=1', '-c', `\\copy (select ${list} from ipai_bronze_core.bench_parquet) to '${csv}' with (format csv, header true)`]);
				const copied = measure('psql', [url, '-v', 'ON_ERROR_STOP=1', '-c', `\\copy ipai_bronze_core.bench_parquet_copy (${list}) from '${csv}' with (format csv, header true)`]);
				rmSync(csv, { force: true });
				process.stdout.write(`${row('(d) psql \\copy of the same rows as CSV (limit)', d.rows, copied.seconds, copied.peakRssMib)}\n`);
				// n8n reads files only under `dir` (N8N_RESTRICT_FILE_ACCESS_TO).
				const inDir = join(dir, 'flights-3m.parquet');
				copyFileSync(flights, inDir);
				const runs = await nodeInN8n(url, dir, inDir, 'bench_pq', false);
				const ratios: number[] = [];
				for (const { label, idle, load } of runs) {
					if (load.rows !== d.rows) throw new Error(`the node in n8n (${label}) loaded ${load.rows} of ${d.rows} rows`);
					const over = mibToMb(load.peakRssMib - idle.peakRssMib);
					const ratio = copied.seconds / load.nodeSeconds!;
					ratios.push(ratio);
					process.stdout.write(`(d) n8n process peak RSS (VmHWM), ${label}:\n`);
					process.stdout.write(`${row('    n8n alone, trivial workflow', 0, idle.seconds, idle.peakRssMib)}\n`);
					process.stdout.write(`${row('    Read File -> node, flights-3m.parquet', load.rows, load.seconds, load.peakRssMib)}\n`);
					process.stdout.write(
						`    node's own load ${load.nodeSeconds!.toFixed(2)} s (${load.path} path) = ${ratio.toFixed(2)}x psql \\copy; ` +
							`peak RSS ${over.toFixed(0)} MB above n8n alone (goal <= 128: ${over <= 128 ? 'met' : 'NOT met'})\n`,
					);
				}
				parquetRatio = Math.min(...ratios);
				process.stdout.write(`goal: parquet/copy >= 0.5 (${parquetRatio >= 0.5 ? 'met' : 'NOT met'}; the lower of the two n8n settings; engine path alone ${(copied.seconds / d.seconds).toFixed(2)})\n`);
			}
			if (parts.has('e') && gb > 0) {
				const huge = join(dir, 'birdstrikes-gb.csv');
				const hugeRows = buildCsv(huge, Math.ceil((gb * 1e9) / (statSync(join(DATA, 'birdstrikes.csv')).size - 200)));
				const size = `${(statSync(huge).size / 1e9).toFixed(2)} GB CSV`;
				const runs = await nodeInN8n(url, dir, huge, 'bench_gb');
				for (const { label, idle, readFile, load } of runs) {
					if (load.rows !== hugeRows) throw new Error(`the node in n8n (${label}) loaded ${load.rows} of ${hugeRows}`);
					process.stdout.write(`(e) n8n process peak RSS (VmHWM), ${label}:\n`);
					process.stdout.write(`${row('    n8n alone, trivial workflow', 0, idle.seconds, idle.peakRssMib)}\n`);
					if (readFile) process.stdout.write(`${row(`    Read File alone, ${size}`, 0, readFile.seconds, readFile.peakRssMib)}\n`);
					process.stdout.write(`${row(`    Read File -> node, ${size}`, load.rows, load.seconds, load.peakRssMib)}\n`);
				}
				const mb = (mib: number) => mibToMb(mib).toFixed(0);
				const [plain, lean] = runs;
				process.stdout.write(
					`goal: n8n peak RSS < 300 MB for a 1 GB CSV: ${mibToMb(lean.load.peakRssMib) < 300 ? 'met' : 'NOT met'} with ${lean.label} (${mb(lean.load.peakRssMib)} MB; ` +
						`n8n alone ${mb(lean.idle.peakRssMib)} MB, reading the file without the node ${mb(lean.readFile!.peakRssMib)} MB); ` +
						`with n8n's defaults ${mb(plain.load.peakRssMib)} MB (n8n alone ${mb(plain.idle.peakRssMib)} MB, reading the file ${mb(plain.readFile!.peakRssMib)} MB)\n`,
				);
				rmSync(huge, { force: true });
			}

			if (a && b && c) {
				const copyRatio = rows / a.seconds / (rows / b.seconds);
				const n8nRatio = rows / a.seconds / (sliceRows / c.seconds);
				process.stdout.write(
					`(c) ran on ${sliceRows.toLocaleString('en-US')} rows because n8n holds every row as an item (~250k rows max); ratios compare rows/s.\n` +
						`(a)(d) time the load itself (process start-up excluded); (b)(c) are wall clock of the psql / n8n CLI process.\n` +
						`goals: csv/copy >= 0.70 (${copyRatio >= 0.7 ? 'met' : 'NOT met'}), csv/n8n-builtin >= 20 (${n8nRatio >= 20 ? 'met' : 'NOT met'})\n`,
				);
				process.stdout.write(`ingest csv/copy=${copyRatio.toFixed(2)} csv/n8n-builtin=${n8nRatio.toFixed(1)}${parquetRatio !== undefined ? ` parquet/copy=${parquetRatio.toFixed(2)}` : ''}\n`);
			} else if (parquetRatio !== undefined) {
				process.stdout.write(`ingest parquet/copy=${parquetRatio.toFixed(2)}\n`);
			}
		});
	} finally {
		rmSync(dir, { recursive: true, force: true });
	}
}

main().catch((error: Error) => {
	process.stderr.write(`${error.stack ?? error.message}\n`);
	process.exit(1);
});
