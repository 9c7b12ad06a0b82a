import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { getStreamState } from '../../lib/lakehouse/streamState';
import { qualifiedName } from '../../lib/lakehouse/sql';
import { useScratchDatabase } from '../../tooling/helpers/database';
import { LEASE_SECONDS, PAGE_SIZE, sync, tableFor, TOTAL_PAGES, type CrashMode } from './fixtures/crashSync';

const db = useScratchDatabase();
const CHILD = join(__dirname, 'fixtures', 'crashSync.ts');
const TRIALS = 24;

/** Starts the sync in a child process and SIGKILLs it after `delayMs` of loading. */
function runAndKill(connector: string, mode: CrashMode, delayMs: number): Promise<'killed' | 'finished'> {
	return new Promise((resolve, reject) => {
		const child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', CHILD, db.url, connector, mode], {
			stdio: ['ignore', 'pipe', 'pipe'],
		});
		let timer: NodeJS.Timeout | undefined;
		let stderr = '';
		child.stderr.on('data', (d) => (stderr += d));
		child.stdout.on('data', (d: Buffer) => {
			if (!timer && d.toString().includes('started')) timer = setTimeout(() => child.kill('SIGKILL'), delayMs);
		});
		child.on('exit', (code, signal) => {
			if (timer) clearTimeout(timer);
			if (signal === 'SIGKILL') resolve('killed');
			else if (code === 0) resolve('finished');
			else reject(new Error(`child failed (${code}): ${stderr}`));
		});
	});
}

interface Observed {
	cursor: number;
	rows: number;
	distinctIds: number;
	maxId: number;
	partialPages: number;
}

async function observe(connector: string, mode: CrashMode): Promise<Observed> {
	const { rows: ids } = await db.pool.query('select id from ipai_connector_config where name = $1', [connector]);
	const connectorId = ids[0]?.id;
	const state = connectorId ? await getStreamState(db.pool, connectorId, 'rows') : { cursor: null };
	const exists = await db.pool.query('select to_regclass($1) as t', [`ipai_bronze_core.crash_${mode}`]);
	if (!exists.rows[0].t || !connectorId) return { cursor: -1, rows: 0, distinctIds: 0, maxId: -1, partialPages: 0 };
	const table = tableFor(mode);
	const { rows } = await db.pool.query(
		`select count(*)::int as rows, count(distinct id)::int as distinct_ids, coalesce(max(id), -1)::int as max_id,
		        (select count(*)::int from (select page from ${qualifiedName(table.schema, table.name)}
		           where _ipai_connector_id = $1 group by page having count(*) <> $2) p) as partial_pages
		   from ${qualifiedName(table.schema, table.name)} where _ipai_connector_id = $1`,
		[connectorId, PAGE_SIZE],
	);
	return {
		cursor: typeof state.cursor === 'number' ? state.cursor : -1,
		rows: rows[0].rows,
		distinctIds: rows[0].distinct_ids,
		maxId: rows[0].max_id,
		partialPages: rows[0].partial_pages,
	};
}

function expectInvariants(o: Observed): void {
	// No partial page, no duplicate, and the cursor exactly at the end of the committed data.
	expect(o.partialPages).toBe(0);
	expect(o.distinctIds).toBe(o.rows);
	expect(o.rows).toBe((o.cursor + 1) * PAGE_SIZE);
	expect(o.maxId).toBe(o.rows - 1);
}

describe('a process killed at any instant leaves the lakehouse consistent', () => {
	let timeOfFullRun = 0;

	beforeAll(async () => {
		// Calibrate: how long a whole sync takes here, so kills land anywhere inside it.
		const t0 = Date.now();
		await sync(db.pool, 'calibration', 'merge');
		timeOfFullRun = Date.now() - t0;
	}, 120_000);

	it(`holds the invariants across ${TRIALS} random kills, and the next run completes to the exact count`, async () => {
		let killedMidway = 0;
		const trial = async (n: number) => {
			const mode = (['merge', 'append', 'overlap'] as const)[n % 3];
			const connector = `crash-${n}`;
			// Kill somewhere between the first statement and the end of a full run.
			const outcome = await runAndKill(connector, mode, Math.floor(Math.random() * timeOfFullRun * 1.2));
			const afterKill = await observe(connector, mode);
			expectInvariants(afterKill);
			if (outcome === 'killed' && afterKill.cursor < TOTAL_PAGES - 1) killedMidway++;

			if (n % 4 === 3) {
				// A crash after a crash: the resumed run is killed too.
				await new Promise((r) => setTimeout(r, LEASE_SECONDS * 1000 + 100));
				await runAndKill(connector, mode, Math.floor(Math.random() * timeOfFullRun));
				expectInvariants(await observe(connector, mode));
			}

			// The next run waits out the dead holder's lease, takes over, and completes exactly.
			await new Promise((r) => setTimeout(r, LEASE_SECONDS * 1000 + 100));
			expect(await sync(db.pool, connector, mode)).toBe('done');
			const final = await observe(connector, mode);
			expectInvariants(final);
			expect(final.rows).toBe(TOTAL_PAGES * PAGE_SIZE);
			expect(final.cursor).toBe(TOTAL_PAGES - 1);
			const runs = await db.pool.query(
				`select r.status from ipai_connector_run r join ipai_connector_config c on c.id = r.connector_id where c.name = $1`,
				[connector],
			);
			expect(runs.rows.filter((r) => r.status === 'running')).toEqual([]);
			expect(runs.rows.filter((r) => r.status === 'success').length).toBeGreaterThanOrEqual(1);
		};
		// Independent connectors, three at a time: the trials do not share state, only the server.
		for (let n = 0; n < TRIALS; n += 3) await Promise.all([n, n + 1, n + 2].filter((i) => i < TRIALS).map(trial));
		// The test is only meaningful if most kills interrupted a load in progress.
		expect(killedMidway).toBeGreaterThanOrEqual(TRIALS / 2);
	}, 600_000);
});
