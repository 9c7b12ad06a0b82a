/**
 * Kill -9 during the initial snapshot and during binlog CDC (reader in a child process, writers
 * committing all along): after every kill bronze has no duplicate, and the saved position is never
 * ahead of bronze — row 0's qty counts the workload transactions, so the first change to row 0
 * read from the saved position must be at most bronze's count + 1. After the last trial the
 * writers stop, a reader catches up, and bronze equals the source (the oracle).
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createConnection } from 'mysql2/promise';
import { getStreamState } from '../../lib/lakehouse/streamState';
import { finishRun } from '../../lib/lakehouse/runs';
import { qualifiedName } from '../../lib/lakehouse/sql';
import { MySqlBinlogCdc } from '../../lib/sources/db/mysql/binlog';
import { useScratchDatabase } from '../../tooling/helpers/database';
import { connectAdmin, usePrivateMariaDb } from '../helpers/mariadb';
import { prng } from '../../tooling/helpers/prng';
import { CRASH_LEASE_SECONDS, CRASH_TARGET } from './fixtures/mysqlCdcChild';
import type { CdcCursor } from './fixtures/mysqlCdcSync';
import { createWorkload, startWriter } from './fixtures/mysqlWriter';

jest.setTimeout(600_000);

const db = useScratchDatabase();
const mariadb = usePrivateMariaDb();
const CHILD = join(__dirname, 'fixtures', 'mysqlCdcChild.ts');
const DATABASE = 'crash';
const CONNECTOR = 'mysql-crash';
const TRIALS = 10;

interface Reader {
	/** Resolves once the child has loaded and waits for the go. */
	ready: Promise<void>;
	/** Lets it run; SIGKILLs it `delayMs` after its first committed page. */
	runAndKill(delayMs: number): Promise<'killed' | 'busy'>;
	/** Ends a reader that was never let run. */
	cancel(): Promise<void>;
}

/** Spawns a reader child that loads, then waits (loading overlaps the previous trial). */
function spawnReader(): Reader {
	const child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', CHILD, db.url, String(mariadb.server.port), DATABASE, CONNECTOR], { stdio: ['pipe', 'pipe', 'pipe'] });
	let stderr = '';
	let timer: NodeJS.Timeout | undefined;
	let delay = 0;
	let onReady: () => void = () => undefined;
	const ready = new Promise<void>((resolve) => (onReady = resolve));
	const exited = new Promise<'killed' | 'busy'>((resolve, reject) => {
		child.on('exit', (code, signal) => {
			if (timer) clearTimeout(timer);
			if (signal === 'SIGKILL') resolve('killed');
			else if (code === 0) resolve('busy');
			else reject(new Error(`CDC child failed (${code}): ${stderr}`));
		});
	});
	exited.catch(() => undefined);
	child.stderr.on('data', (d) => (stderr += d));
	child.stdout.on('data', (d: Buffer) => {
		const text = d.toString();
		if (text.includes('ready')) onReady();
		if (!timer && text.includes('page')) timer = setTimeout(() => child.kill('SIGKILL'), delay);
	});
	return {
		ready,
		async runAndKill(delayMs: number) {
			delay = delayMs;
			await ready;
			child.stdin.write('go\n');
			return exited;
		},
		async cancel() {
			child.kill('SIGKILL');
			await exited.catch(() => undefined);
		},
	};
}

const settings = () => ({ host: '127.0.0.1', port: mariadb.server.port, user: 'root', password: '', database: DATABASE });

async function connectorId(): Promise<string | null> {
	const { rows } = await db.pool.query('select id from ipai_connector_config where name = $1', [CONNECTOR]);
	return rows[0]?.id ?? null;
}

/** The first value of row 0's qty in the binlog after `position` (null: none yet). */
async function firstMarkerAfter(position: string): Promise<number | null> {
	const cdc = new MySqlBinlogCdc(settings(), { position, idleMs: 200 });
	await (await cdc.start([{ schema: DATABASE, name: 'items' }])).snapshot?.close();
	try {
		for (;;) {
			const batch = await cdc.read(2000);
			for (const change of batch.changes) if (change.op === 'upsert' && Number(change.row.id) === 0) return Number(change.row.qty);
			if (batch.position === null) return null;
		}
	} finally {
		await cdc.close();
	}
}

test(`${TRIALS} kills during the snapshot and the binlog capture lose and duplicate nothing`, async () => {
	const admin = await connectAdmin(mariadb.server);
	await admin.query(`CREATE DATABASE ${DATABASE}`);
	await admin.query(`USE ${DATABASE}`);
	await createWorkload(admin, 8_000);
	await admin.query("INSERT INTO items VALUES (0, 'marker', 0, 0, '2024-01-01')");
	const writerConnection = await createConnection(settings());
	const writer = startWriter(writerConnection, 11, { pauseMs: 3, marker: true });
	const random = prng(2026);
	const table = qualifiedName(CRASH_TARGET.schema, CRASH_TARGET.name);
	let killedInSnapshot = 0;
	let killedInCdc = 0;
	try {
		let next = spawnReader();
		for (let trial = 0; trial < TRIALS; trial++) {
			// The first trials die young — a few milliseconds after the first committed page of a
			// 27-page snapshot, so inside it however fast the machine is; later ones anywhere in a few seconds.
			const delay = trial < 2 ? Math.floor(random() * 40) : Math.floor(random() * 5000);
			const reader = next;
			const outcome = reader.runAndKill(delay);
			await reader.ready;
			next = spawnReader();
			const result = await outcome;
			const outcomeKilled = result === 'killed';
			const id = await connectorId();
			const state = id ? await getStreamState(db.pool, id, 'items') : null;
			const cursor = state?.cursor as CdcCursor | null;
			if (process.env.DEBUG_CRASH) console.log(trial, delay, result, JSON.stringify(cursor));
			if (outcomeKilled) {
				if (!cursor || cursor.snapshot) killedInSnapshot++;
				else killedInCdc++;
			}
			const exists = await db.pool.query('select to_regclass($1) is not null as ok', [`${CRASH_TARGET.schema}.${CRASH_TARGET.name}`]);
			if (exists.rows[0].ok) {
				const { rows } = await db.pool.query(`select count(*)::int as n, count(distinct id)::int as d from ${table}`);
				expect(rows[0].d).toBe(rows[0].n);
			}
			if (cursor && !cursor.snapshot) {
				const { rows } = await db.pool.query(`select qty::int as qty from ${table} where id = 0`);
				const next = await firstMarkerAfter(cursor.position);
				// Never ahead: the first marker change after the saved position is not past bronze + 1.
				if (next !== null) expect(next).toBeLessThanOrEqual(rows[0].qty + 1);
			}
			await new Promise((resolve) => setTimeout(resolve, CRASH_LEASE_SECONDS * 1000 + 200));
		}
		await next.cancel();
	} finally {
		await writer.stop();
		await writerConnection.end();
	}
	expect(killedInSnapshot).toBeGreaterThanOrEqual(1);
	expect(killedInCdc).toBeGreaterThanOrEqual(3);

	// Catch up in this process, then compare with the source.
	const { syncMySqlCdc } = await import('./fixtures/mysqlCdcSync');
	const { startRun } = await import('../../lib/lakehouse/runs');
	const started = await startRun(db.pool, { connector: { connectorType: 'test', name: CONNECTOR }, leaseTimeoutSeconds: 60 });
	if (started.status !== 'running') throw new Error(`final run not started: ${started.status}`);
	await syncMySqlCdc({ pool: db.pool, run: { connectorId: started.connectorId, runId: started.runId }, settings: settings(), source: { schema: DATABASE, name: 'items' }, target: CRASH_TARGET, stream: 'items', pageSize: 1000 });
	await finishRun(db.pool, started.runId);
	const [source] = await admin.query("SELECT CAST(id AS CHAR) id, name, CAST(qty AS CHAR) qty, CAST(price AS CHAR) price, DATE_FORMAT(updated, '%Y-%m-%d %H:%i:%s.%f') updated FROM items");
	const { rows: bronze } = await db.pool.query(
		`select id::text, name, qty::text, price::text, to_char(updated, 'YYYY-MM-DD HH24:MI:SS.US') as updated from ${table} where _ipai_deleted_at is null`,
	);
	const sourceSet = new Set((source as Array<Record<string, string>>).map((r) => JSON.stringify(r)));
	const bronzeSet = new Set(bronze.map((r) => JSON.stringify(r)));
	expect(bronze.length).toBe(sourceSet.size);
	expect([...sourceSet].filter((r) => !bronzeSet.has(r)).slice(0, 5)).toEqual([]);
	const { rows: dup } = await db.pool.query(`select count(*)::int as n, count(distinct id)::int as d from ${table}`);
	expect(dup[0].d).toBe(dup[0].n);
	await admin.end();
});
