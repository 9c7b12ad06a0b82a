/**
 * Kill -9 of a database sync at random moments — during CDC (changes flowing) and during a full
 * snapshot — against a real logical-replication server. The kill lands a random few milliseconds
 * after the sync has committed its first batch or page (watched in the lakehouse), so it falls in
 * the middle of the work however fast the machine is. After each kill: the slot's acknowledged
 * position is never ahead of what bronze committed. After the last: a sync to the end leaves
 * bronze equal to the source, each row once; a killed full snapshot resumes after its last page.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { Client } from 'pg';
import { listStreamStates } from '../../lib/lakehouse/streamState';
import { prng } from '../../tooling/helpers/prng';
import { useScratchDatabase } from '../../tooling/helpers/database';
import { useLogicalPostgres } from '../../tooling/helpers/logicalPostgres';
import { compareWithSource, settingsFor, syncOnce } from './fixtures/dbSource';

jest.setTimeout(600_000);
const lake = useScratchDatabase();
const pg = useLogicalPostgres();
const CHILD = join(__dirname, 'fixtures', 'dbSyncChild.ts');

/** The connector's first stream cursor as JSON text, or null before it has one. */
async function cursorText(connector: string): Promise<string | null> {
	const { rows } = await lake.pool.query(
		`select s.cursor::text as c from ipai_connector_state s join ipai_connector_config c on c.id = s.connector_id where c.name = $1 order by s.stream limit 1`,
		[connector],
	);
	return rows[0]?.c ?? null;
}

/**
 * Runs a sync in a child and kills it `delayMs` after its stream cursor first moves past `before`
 * (a batch or page committed). 'finished' when the child ended first.
 */
function runAndKill(connector: string, config: unknown, before: string | null, delayMs: number): Promise<'killed' | 'finished'> {
	return new Promise((resolve, reject) => {
		const child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', CHILD, lake.url, String(pg.server.port), connector, JSON.stringify(config)], { cwd: join(__dirname, '..', '..') });
		let exited = false;
		let stderr = '';
		child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
		const watch = async () => {
			while (!exited && (await cursorText(connector)) === before) await new Promise((r) => setTimeout(r, 5));
			if (!exited) setTimeout(() => child.kill('SIGKILL'), delayMs);
		};
		watch().catch(reject);
		child.on('exit', (code, signal) => {
			exited = true;
			if (signal === 'SIGKILL') resolve('killed');
			else if (code === 0) resolve('finished');
			else reject(new Error(`child exited ${code}: ${stderr}`));
		});
	});
}

async function source<T>(fn: (client: Client) => Promise<T>): Promise<T> {
	const client = new Client({ connectionString: pg.server.url('src') });
	await client.connect();
	try {
		return await fn(client);
	} finally {
		await client.end();
	}
}

const lsn = (text: string) => {
	const [hi, lo] = text.split('/');
	return (BigInt(`0x${hi}`) << 32n) | BigInt(`0x${lo}`);
};

/** A sync that is not skipped: waits out the lease of a killed run (1 s) by polling. */
async function syncToEnd(connector: string, config: unknown) {
	for (let attempt = 0; attempt < 60; attempt++) {
		const outcome = await syncOnce(lake.pool, settingsFor(pg.server.port, 'src'), connector, config, { leaseTimeoutSeconds: 1 });
		if (outcome.start.status === 'running') return outcome;
		await new Promise((resolve) => setTimeout(resolve, 250));
	}
	throw new Error('the connector stayed busy');
}

async function bronzeEqualsSource(connector: string, table: string) {
	const { rows } = await lake.pool.query(`select id from ipai_connector_config where name = $1`, [connector]);
	const diff = await compareWithSource({
		sourceUrl: pg.server.url('src'),
		lakehouseUrl: lake.url,
		source: table,
		bronze: `ipai_bronze_core.public_${table}`,
		connectorId: rows[0].id,
		key: 'id',
		columns: [{ name: 'v' }, { name: 'note' }],
	});
	const dup = await lake.pool.query(`select count(*) - count(distinct id) as d from ipai_bronze_core.public_${table}`);
	return { ...diff, duplicates: Number(dup.rows[0].d) };
}

beforeAll(async () => {
	await pg.server.sql('create database src');
	await pg.server.sql(
		`create table ledger (id int primary key, v int, note text);
		 insert into ledger select g, g, 'n' || g from generate_series(1, 300) g;
		 create table snap (id int primary key, v int, note text);
		 insert into snap select g, g * 3, repeat('s', g % 40) from generate_series(1, 20000) g;`,
		'src',
	);
}, 120_000);

it('CDC: ten random kills never acknowledge past bronze, and the next sync converges to the source', async () => {
	const seed = Date.now() % 1_000_000;
	const random = prng(seed);
	const config = { engine: 'postgres', pageSize: 100, tables: [{ table: 'ledger', mode: 'cdc' }], slot: 'crash_slot', publication: 'crash_pub' };
	await syncToEnd('crashcdc', config);
	let killedMidway = 0;
	for (let trial = 0; trial < 10; trial++) {
		// (≥ 10 trials, as the acceptance asks; each spawns a child)
		// Changes in many small transactions, so the killed sync is in the middle of applying them.
		await source(async (client) => {
			for (let t = 0; t < 40; t++) {
				const id = 1 + Math.floor(random() * 400);
				const roll = random();
				const sql =
					roll < 0.5
						? `insert into ledger values (${id}, ${trial * 1000 + t}, 'i${trial}') on conflict (id) do update set v = excluded.v, note = excluded.note`
						: roll < 0.8
							? `update ledger set v = v + 1, note = 'u${trial}' where id between ${id} and ${id + 5}`
							: `delete from ledger where id = ${id}`;
				await client.query(sql);
			}
		});
		const outcome = await runAndKill('crashcdc', config, await cursorText('crashcdc'), Math.floor(random() * 40));
		if (outcome === 'killed') killedMidway++;
		const [state] = await listStreamStates(lake.pool, (await lake.pool.query(`select id from ipai_connector_config where name = 'crashcdc'`)).rows[0].id);
		const acked = await source(async (c) => (await c.query(`select confirmed_flush_lsn::text as l from pg_replication_slots where slot_name = 'crash_slot'`)).rows[0].l as string);
		expect({ seed, trial, ahead: lsn(acked) > lsn((state.cursor as { lsn: string }).lsn) }).toEqual({ seed, trial, ahead: false });
	}
	expect(killedMidway).toBeGreaterThanOrEqual(5);
	await syncToEnd('crashcdc', config);
	expect(await bronzeEqualsSource('crashcdc', 'ledger')).toMatchObject({ missing: [], extra: [], different: [], duplicates: 0 });
});

it('full snapshot: killed at random, it resumes after the last committed page and ends equal to the source', async () => {
	const random = prng(Date.now() % 1_000_000);
	const config = { engine: 'postgres', pageSize: 500, tables: [{ table: 'snap', mode: 'full' }] };
	let resumed = 0;
	for (let trial = 0; trial < 3; trial++) {
		const outcome = await runAndKill('crashfull', config, await cursorText('crashfull'), Math.floor(random() * 200));
		if (outcome !== 'killed') continue;
		const id = (await lake.pool.query(`select id from ipai_connector_config where name = 'crashfull'`)).rows[0]?.id;
		const states = id ? await listStreamStates(lake.pool, id) : [];
		const full = (states[0]?.cursor as { full?: { after: string[] } } | undefined)?.full;
		if (!full) continue;
		// The next run reads only the keys after the last committed page.
		const after = await source(async (c) => Number((await c.query(`select count(*) as n from snap where id > $1`, [full.after[0]])).rows[0].n));
		resumed++;
		const rest = await syncToEnd('crashfull', config);
		expect(rest.result!.rowsRead).toBe(after);
		await source((c) => c.query(`update snap set v = v + 1 where id % 997 = 0; delete from snap where id % 1999 = 0`));
	}
	expect(resumed).toBeGreaterThanOrEqual(1);
	await syncToEnd('crashfull', config);
	expect(await bronzeEqualsSource('crashfull', 'snap')).toMatchObject({ missing: [], extra: [], different: [], duplicates: 0 });
});
