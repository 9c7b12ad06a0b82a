/**
 * bench:db — the database source against the limit measured in the same run.
 *
 * full/copy: a full sync of a 1,000,000-row, 12-column PostgreSQL table into bronze (in a child
 * process, for its peak RSS) vs `psql \copy (select …) to stdout | psql \copy … from stdin` into a
 * table of the same columns. Higher is better; the goal is ≥ 0.6, peak RSS < 256 MB.
 * cdc_lag_p95_ms: 1,000 changes/s (inserts, updates, deletes) for 60 s while a CDC sync follows;
 * the lag of a transaction is from its commit at the source to the commit of its page in bronze.
 *
 * mysql_full/copy: the same 12-column shape on MariaDB (127.0.0.1:3306 or MARIADB_URL) against
 * `mariadb --batch` piped into `\copy` (bench/dbMysql.ts).
 *
 * Last line: `db full/copy=<ratio> cdc_lag_p95_ms=<n> mysql_full/copy=<ratio>`. Sizes: DB_BENCH_ROWS,
 * DB_BENCH_CDC_SECONDS, DB_BENCH_MYSQL_ROWS.
 */
import { execSync } from 'node:child_process';
import { Client, Pool } from 'pg';
import { runDbConnector } from '../lib/sources/db/sync';
import { PgEngine } from '../lib/sources/db/postgres/engine';
import { startLogicalPostgres } from '../tooling/helpers/logicalPostgres';
import { measure, reportedSeconds, withScratchDatabase } from './common';
import { measureMysqlFullCopy } from './dbMysql';

const ROWS = Number(process.env.DB_BENCH_ROWS ?? 1_000_000);
const CDC_SECONDS = Number(process.env.DB_BENCH_CDC_SECONDS ?? 60);
const COLUMNS = `id bigint primary key, qty int, amount numeric(12,2), price double precision, name text, code varchar(16),
	active boolean, day date, created_at timestamptz, updated_at timestamp, ref bigint, note text`;

const settings = (port: number) => ({ host: '127.0.0.1', port, database: 'src', user: 'postgres', password: '', ssl: 'disable' as const });

/** The child: one full sync, timed from inside (no interpreter start-up), under /usr/bin/time for its RSS. */
async function child(lakehouseUrl: string, port: number): Promise<void> {
	const pool = new Pool({ connectionString: lakehouseUrl, max: 4 });
	const engine = new PgEngine(settings(port));
	const started = process.hrtime.bigint();
	const outcome = await runDbConnector(pool, engine, { connectorName: 'bench', config: { engine: 'postgres', tables: [{ table: 'wide', mode: 'full' }] }, settings: settings(port) });
	const seconds = Number(process.hrtime.bigint() - started) / 1e9;
	await engine.close();
	await pool.end();
	if (outcome.error) throw outcome.error;
	const table = outcome.result!.tables[0];
	process.stdout.write(`IPAI_SECONDS=${seconds} rows=${outcome.result!.rowsRead} read=${table.read} direct_pages=${table.directPages ?? 0}/${table.pages}\n`);
}

function p95(values: number[]): number {
	const sorted = [...values].sort((a, b) => a - b);
	return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.95))];
}

async function cdcLag(lakehouseUrl: string, port: number, sourceUrl: string): Promise<number> {
	const pool = new Pool({ connectionString: lakehouseUrl, max: 6 });
	pool.on('error', () => undefined);
	const writer = new Client({ connectionString: sourceUrl });
	await writer.connect();
	await writer.query(`create table churn (id int primary key, v int, note text); insert into churn select g, g, 'n' from generate_series(1, 10000) g`);
	const engine = new PgEngine(settings(port));
	const config = { engine: 'postgres', pageSize: 5000, tables: [{ table: 'churn', mode: 'cdc' }], slot: 'bench_slot', publication: 'bench_pub' };
	await runDbConnector(pool, engine, { connectorName: 'bench-cdc', config, settings: settings(port) });
	const lags: number[] = [];
	const follow = runDbConnector(pool, engine, {
		connectorName: 'bench-cdc',
		config,
		settings: settings(port),
		cdc: { followMs: (CDC_SECONDS + 3) * 1000, pollMs: 50, batchChanges: 5000, onBatch: (b) => b.commitTimes.forEach((t) => lags.push(b.committedAt.getTime() - t.getTime())) },
	});
	// 1,000 changes a second: every 100 ms a transaction of 100 (60% updates, 25% inserts, 15% deletes).
	let next = 10_001;
	const until = Date.now() + CDC_SECONDS * 1000;
	for (let tick = Date.now(); tick < until; tick += 100) {
		const statements: string[] = [];
		for (let i = 0; i < 100; i++) {
			const r = (tick / 100 + i * 7919) % 100;
			const id = 1 + Math.floor(((tick + i * 104729) % 9973) + 1);
			if (r < 60) statements.push(`update churn set v = v + 1 where id = ${id}`);
			else if (r < 85) statements.push(`insert into churn values (${next++}, 0, 'i')`);
			else statements.push(`delete from churn where id = ${next - 50}`);
		}
		await writer.query(`begin; ${statements.join('; ')}; commit`);
		const wait = tick + 100 - Date.now();
		if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
	}
	const outcome = await follow;
	if (outcome.error) throw outcome.error;
	await writer.end();
	await engine.close();
	await pool.end();
	return p95(lags);
}

async function main(): Promise<void> {
	if (process.argv[2] === 'child') return child(process.argv[3], Number(process.argv[4]));
	const server = await startLogicalPostgres({ shared_buffers: "'256MB'", max_wal_size: "'4GB'" });
	try {
		await server.sql('create database src');
		const sourceUrl = server.url('src');
		await server.sql(
			`create table wide (${COLUMNS});
			 insert into wide select g, g % 1000, (g % 100000) / 100.0, g / 7.0, 'name ' || g, 'c' || (g % 5000), g % 2 = 0,
			        date '2020-01-01' + (g % 2000), timestamptz '2024-01-01 00:00:00+00' + g * interval '1 second',
			        timestamp '2024-01-01' + g * interval '1 minute', g * 31, repeat('x', g % 30)
			   from generate_series(1, ${ROWS}) g`,
			'src',
		);
		await server.sql('vacuum analyze wide', 'src');
		await withScratchDatabase(async (lakehouseUrl) => {
			const admin = new Client({ connectionString: lakehouseUrl });
			await admin.connect();
			await admin.query(`create table public.copy_target (${COLUMNS.replace(' primary key', '')})`);
			await admin.end();
			const copyStarted = process.hrtime.bigint();
			execSync(`psql "${sourceUrl}" -qc "\\copy (select * from wide) to stdout" | psql "${lakehouseUrl}" -qc "\\copy public.copy_target from stdin"`, { stdio: 'inherit' });
			const copySeconds = Number(process.hrtime.bigint() - copyStarted) / 1e9;
			const ours = measure(process.execPath, [__filename, 'child', lakehouseUrl, String(server.port)]);
			const syncSeconds = reportedSeconds(ours.stdout);
			const ratio = copySeconds / syncSeconds;
			console.log(`limit  psql \\copy | psql \\copy   ${ROWS} rows  ${copySeconds.toFixed(2)} s`);
			const pages = /read=(\S+) direct_pages=(\S+)/.exec(ours.stdout);
			console.log(`ours   full sync into bronze      ${ROWS} rows  ${syncSeconds.toFixed(2)} s  peak RSS ${ours.peakRssMib.toFixed(0)} MiB  (read ${pages?.[1]}, pages straight into bronze ${pages?.[2]})`);
			const lagP95 = await cdcLag(lakehouseUrl, server.port, sourceUrl);
			console.log(`cdc    ${CDC_SECONDS} s at 1,000 changes/s: p95 commit-to-bronze lag ${lagP95} ms`);
			const mysql = await measureMysqlFullCopy(Number(process.env.DB_BENCH_MYSQL_ROWS ?? ROWS));
			console.log(`mysql  mariadb --batch | psql \\copy ${mysql.rows} rows  ${mysql.copySeconds.toFixed(2)} s; full sync ${mysql.syncSeconds.toFixed(2)} s`);
			console.log(`db full/copy=${ratio.toFixed(2)} cdc_lag_p95_ms=${Math.round(lagP95)} mysql_full/copy=${mysql.ratio.toFixed(2)}`);
		});
	} finally {
		await server.stop();
	}
}

main().catch((error) => {
	console.error(error);
	process.exit(1);
});
