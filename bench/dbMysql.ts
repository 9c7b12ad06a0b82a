/**
 * MySQL/MariaDB full sync into bronze against the limit measured in the same run: the source's own
 * export (`mariadb --batch`) piped into PostgreSQL's `\copy` into a table of the same columns.
 * A 12-column table of BENCH_ROWS rows (default 1,000,000) on the MariaDB at MARIADB_URL
 * (default 127.0.0.1:3306, root). Last line: `mysql_full/copy=<ratio>` (copy seconds / sync seconds;
 * 1 = as fast as the copy) with the sync's peak RSS.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { Pool } from 'pg';
import { createConnection } from 'mysql2/promise';
import { runDbConnector } from '../lib/sources/db/sync';
import { MySqlEngine } from '../lib/sources/db/mysql/engine';
import { withScratchDatabase } from './common';

const ROWS = Number(process.env.BENCH_ROWS ?? 1_000_000);
const source = new URL(process.env.MARIADB_URL ?? 'mysql://root@127.0.0.1:3306');
const server = { host: source.hostname, port: Number(source.port || 3306), user: decodeURIComponent(source.username || 'root'), password: decodeURIComponent(source.password) };

const COLUMNS = `id bigint PRIMARY KEY, a int, b bigint, c decimal(12,2), d double, e varchar(40), f varchar(100),
	g datetime(6), h date, i tinyint(1), j text, k timestamp(6) NULL`;
const PG_COLUMNS = `id bigint primary key, a integer, b bigint, c numeric(12,2), d double precision, e text, f text,
	g timestamp, h date, i boolean, j text, k timestamptz`;

function pipeline(command: string): Promise<void> {
	return new Promise((resolve, reject) => {
		const child = spawn('bash', ['-o', 'pipefail', '-c', command], { stdio: ['ignore', 'ignore', 'pipe'] });
		let stderr = '';
		child.stderr.on('data', (d) => (stderr += d));
		child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${command} failed (${code}): ${stderr}`))));
	});
}

export interface MysqlFullCopy {
	rows: number;
	copySeconds: number;
	syncSeconds: number;
	/** copy seconds / sync seconds (1: as fast as the copy). */
	ratio: number;
}

/** Builds the table, measures the copy limit and the full sync, and drops the table again. */
export async function measureMysqlFullCopy(rows = ROWS): Promise<MysqlFullCopy> {
	const database = `ipai_bench_my_${randomBytes(4).toString('hex')}`;
	const admin = await createConnection({ ...server, multipleStatements: true });
	await admin.query(`CREATE DATABASE ${database}; USE ${database}; SET SESSION time_zone = '+00:00'`);
	try {
		await admin.query(`CREATE TABLE t (${COLUMNS}) ENGINE=InnoDB`);
		for (let from = 1; from <= rows; from += 200_000) {
			const to = Math.min(rows, from + 199_999);
			await admin.query(`INSERT INTO t SELECT seq, seq % 1000, seq * 7919, (seq % 100000) / 100, seq / 7, CONCAT('name ', seq), REPEAT(CHAR(97 + seq % 26), 40 + seq % 60),
				'2024-01-01' + INTERVAL seq SECOND, '2020-01-01' + INTERVAL (seq % 3000) DAY, seq % 2, IF(seq % 10 = 0, NULL, CONCAT('note\\t', seq)),
				FROM_UNIXTIME(1700000000 + seq) FROM seq_${from}_to_${to}`);
		}
		return await withScratchDatabase(async (url) => {
			const pool = new Pool({ connectionString: url, max: 4 });
			// The scratch database is dropped WITH (FORCE) right after pool.end(), which may not have
			// closed every idle client yet: their termination is not a failure of the benchmark.
			pool.on('error', () => undefined);
			try {
				await pool.query(`create table copy_target (${PG_COLUMNS})`);
				const copyStarted = process.hrtime.bigint();
				const pass = server.password ? ` -p'${server.password.replace(/'/g, `'\\''`)}'` : '';
				await pipeline(
					`mariadb --batch --skip-column-names -h ${server.host} -P ${server.port} -u ${server.user}${pass} ${database} -e "SET time_zone = '+00:00'; SELECT * FROM t" | psql -q "${url}" -c "\\copy copy_target from stdin with (null 'NULL')"`,
				);
				const copySeconds = Number(process.hrtime.bigint() - copyStarted) / 1e9;

				const settings = { ...server, database, ssl: 'disable' as const };
				const engine = new MySqlEngine(settings);
				const syncStarted = process.hrtime.bigint();
				const { result, error } = await runDbConnector(pool, engine, {
					connectorName: 'bench-mysql',
					config: { engine: 'mysql', pageSize: 10_000, tables: [{ table: `${database}.t`, mode: 'full' }] },
					settings,
				});
				const syncSeconds = Number(process.hrtime.bigint() - syncStarted) / 1e9;
				await engine.close();
				if (error) throw error;
				if (result!.rowsRead !== rows) throw new Error(`the sync read ${result!.rowsRead} rows, the source has ${rows}`);
				return { rows, copySeconds, syncSeconds, ratio: copySeconds / syncSeconds };
			} finally {
				await pool.end();
			}
		});
	} finally {
		await admin.query(`DROP DATABASE IF EXISTS ${database}`);
		await admin.end();
	}
}

async function main(): Promise<void> {
	const measured = await measureMysqlFullCopy();
	const peakMb = (process.resourceUsage().maxRSS * 1024) / 1e6;
	process.stdout.write(`rows=${measured.rows} copy_s=${measured.copySeconds.toFixed(2)} sync_s=${measured.syncSeconds.toFixed(2)} peak_rss_mb=${peakMb.toFixed(0)}\n`);
	process.stdout.write(`mysql_full/copy=${measured.ratio.toFixed(2)}\n`);
}

if (require.main === module) {
	main().catch((error: Error) => {
		process.stderr.write(`${error.stack ?? error.message}\n`);
		process.exit(1);
	});
}
