/**
 * A full table's first load straight into bronze (lib/sources/db/copyDirect.ts), against the
 * source database as the oracle: every row of bronze, as PostgreSQL's own COPY text, equals the
 * source's row read the same way. Also: which loads take the direct path and which do not, an
 * empty text key refused as on the row path, and SIGKILL during a first load (in the middle of
 * the first page's COPY, and after some pages committed) leaving whole pages with their cursor and
 * counts, from which the next run resumes to the source's rows.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { Client } from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import { decodeCopyText } from '../../lib/sources/db/copyDirect';
import { useScratchDatabase } from '../../tooling/helpers/database';
import { useLogicalPostgres } from '../../tooling/helpers/logicalPostgres';
import { settingsFor, syncOnce } from './fixtures/dbSource';

jest.setTimeout(300_000);
const lake = useScratchDatabase();
const pg = useLogicalPostgres();
const settings = () => settingsFor(pg.server.port, 'src');
const CHILD = join(__dirname, 'fixtures', 'dbSyncChild.ts');

/** The rows a query selects, as the COPY text lines a server prints for them (UTC, exact floats). */
async function copyLines(url: string, query: string): Promise<string[]> {
	const client = new Client({ connectionString: url });
	await client.connect();
	try {
		await client.query(`set timezone = 'UTC'; set extra_float_digits = 3; set datestyle = 'ISO, YMD'; set intervalstyle = 'iso_8601'`);
		const chunks: Buffer[] = [];
		const stream = client.query(copyTo(`copy (${query}) to stdout`));
		for await (const chunk of stream) chunks.push(chunk as Buffer);
		return Buffer.concat(chunks).toString('utf8').split('\n').filter((l) => l !== '').sort();
	} finally {
		await client.end();
	}
}

async function connectorId(name: string): Promise<string | undefined> {
	const { rows } = await lake.pool.query(`select id from ipai_connector_config where connector_type = 'db' and name = $1`, [name]);
	return rows[0]?.id;
}

/** Source rows and the connector's bronze rows, each column as its text, line by line. */
async function sourceAndBronze(table: string, connector: string, columns: Array<{ name: string; source?: string; bronze?: string }>) {
	const q = (n: string) => `"${n}"`;
	const source = await copyLines(pg.server.url('src'), `select ${columns.map((c) => c.source ?? `${q(c.name)}::text`).join(', ')} from ${table}`);
	const bronze = await copyLines(
		lake.url,
		`select ${columns.map((c) => c.bronze ?? `${q(c.name)}::text`).join(', ')} from ipai_bronze_core.public_${table} where _ipai_connector_id = '${await connectorId(connector)}'`,
	);
	return { source, bronze };
}

beforeAll(async () => {
	await pg.server.sql('create database src');
	await pg.server.sql(
		`create type tone as enum ('low', 'high');
		 create table plain (id bigint primary key, i int, s smallint, n numeric(20,4), big numeric, r real, d double precision, b boolean, day date,
		   ts timestamp, tstz timestamptz, t text, v varchar(30), c char(5), u uuid, bin bytea, span interval, clock time, net inet, e tone, cash money);
		 insert into plain select g, g * 7 - 100, (g % 300)::smallint, g / 3.0, (10::numeric ^ 30) + g, g / 9.0, g / 7.0, case when g % 3 = 0 then null else g % 2 = 0 end,
		   date '2000-02-29' + g, timestamp '2024-01-01 00:00:00.123456' + g * interval '37 minutes', timestamptz '1999-12-31 23:00:00+05' + g * interval '1 hour 1 second',
		   case g % 6 when 0 then E'tab\\there' when 1 then E'line\\nbreak\\r\\n' when 2 then E'back\\\\slash \\\\N' when 3 then 'é 日本 🎉' when 4 then '' else null end,
		   'v' || g, 'c' || (g % 10), md5(g::text)::uuid, decode(lpad(to_hex(g), 6, '0'), 'hex'), g * interval '1 day 3 seconds', time '00:00' + g * interval '1 minute',
		   ('10.0.' || (g % 250) || '.' || (g % 200))::inet, case when g % 2 = 0 then 'low' else 'high' end::tone, (g * 1.25)::money
		 from generate_series(1, 250) g;
		 update plain set n = 'NaN', r = 'Infinity', d = '-Infinity', day = 'infinity', ts = '-infinity', tstz = 'infinity' where id = 17;
		 create table texty (k text primary key, v int);
		 insert into texty values (E'a\\tb', 1), (E'a\\nb', 2), (E'a\\\\b', 3), ('a b', 4), ('é', 5), ('🎉', 6), (E'\\\\N', 7), ('z', 8), ('A', 9);
		 create table crashy (id int primary key, v int, note text);
		 insert into crashy select g, g * 3, repeat('n', g % 50) from generate_series(1, 60000) g;`,
		'src',
	);
}, 120_000);

const PLAIN = ['id', 'i', 's', 'n', 'big', 'd', 'b', 'day', 'ts', 'tstz', 't', 'v', 'c', 'u', 'bin', 'span', 'clock', 'net', 'e'].map((name) => ({ name }));

describe('a first load straight into bronze', () => {
	it('takes every page straight in, and bronze holds each source row exactly, _ipai_raw NULL, with the ledger counts', async () => {
		const outcome = await syncOnce(lake.pool, settings(), 'direct_plain', { engine: 'postgres', pageSize: 40, tables: [{ table: 'plain', mode: 'full' }] });
		if (outcome.error) throw outcome.error;
		// 250 rows in pages of 40: six full pages, one of 10.
		expect(outcome.result!.tables[0]).toMatchObject({ read: 'copy', rowsRead: 250, rowsWritten: 250, pages: 7, directPages: 7 });
		const columns = [...PLAIN, { name: 'r', bronze: `"r"::real::text` }, { name: 'cash', source: `cash::numeric::text` }];
		const { source, bronze } = await sourceAndBronze('plain', 'direct_plain', columns);
		expect(source).toHaveLength(250);
		expect(bronze).toEqual(source);
		const { rows } = await lake.pool.query(
			`select count(*)::int as n, count(_ipai_raw)::int as raws, count(distinct _ipai_run_id)::int as runs, bool_and(_ipai_run_id = $2) as this_run,
			        count(_ipai_deleted_at)::int as deleted, bool_and(_ipai_extracted_at is not null) as extracted
			   from ipai_bronze_core.public_plain where _ipai_connector_id = $1`,
			[await connectorId('direct_plain'), outcome.start.status === 'running' ? outcome.start.runId : null],
		);
		expect(rows[0]).toEqual({ n: 250, raws: 0, runs: 1, this_run: true, deleted: 0, extracted: true });
		const { rows: run } = await lake.pool.query(`select rows_read::int, rows_written::int, status from ipai_connector_run where id = $1`, [outcome.start.status === 'running' ? outcome.start.runId : null]);
		expect(run[0]).toEqual({ rows_read: 250, rows_written: 250, status: 'success' });
	});

	it('resumes keyset pages from text keys with tabs, newlines, backslashes and non-ASCII, read from the COPY text', async () => {
		const outcome = await syncOnce(lake.pool, settings(), 'direct_texty', { engine: 'postgres', pageSize: 2, tables: [{ table: 'texty', mode: 'full' }] });
		if (outcome.error) throw outcome.error;
		expect(outcome.result!.tables[0]).toMatchObject({ read: 'copy', rowsRead: 9, pages: 5, directPages: 5 });
		const { source, bronze } = await sourceAndBronze('texty', 'direct_texty', [{ name: 'k' }, { name: 'v' }]);
		expect(bronze).toEqual(source);
	});

	it('refuses an empty text key as the row path does, committing nothing', async () => {
		await pg.server.sql(`create table blank (k text primary key, v int); insert into blank values ('a', 1), ('b', 2), ('', 3), ('c', 4)`, 'src');
		for (const [name, fullCopy] of [['blank_direct', true], ['blank_rows', false]] as const) {
			const outcome = await syncOnce(lake.pool, settings(), name, { engine: 'postgres', pageSize: 10, tables: [{ table: 'blank', mode: 'full', target: name }] }, { fullCopy });
			expect(outcome.error?.message).toMatch(/no value for key field/);
			const { rows } = await lake.pool.query(`select to_regclass($1) is null as absent`, [`ipai_bronze_core.${name}`]);
			expect(rows[0].absent).toBe(true);
		}
	});

	it('is not taken once bronze holds rows of the connector, nor with raw: true or a converted column', async () => {
		const config = { engine: 'postgres', pageSize: 100, tables: [{ table: 'plain', mode: 'full' }] };
		const again = await syncOnce(lake.pool, settings(), 'direct_plain', config);
		expect(again.result!.tables[0]).toMatchObject({ read: 'copy', rowsRead: 250, rowsWritten: 0 });
		expect(again.result!.tables[0].directPages).toBeUndefined();
		const raw = await syncOnce(lake.pool, settings(), 'direct_raw', { ...config, tables: [{ table: 'plain', mode: 'full', raw: true, target: 'plain_raw' }] });
		expect(raw.result!.tables[0]).toMatchObject({ read: 'copy', rowsRead: 250 });
		expect(raw.result!.tables[0].directPages).toBeUndefined();
		await pg.server.sql(`create table doc (id int primary key, body jsonb); insert into doc values (1, '{"a": 1}')`, 'src');
		const json = await syncOnce(lake.pool, settings(), 'direct_json', { ...config, tables: [{ table: 'doc', mode: 'full' }] });
		expect(json.result!.tables[0]).toMatchObject({ read: 'copy', rowsRead: 1 });
		expect(json.result!.tables[0].directPages).toBeUndefined();
		// Another connector's rows in the table do not matter: this connector has none.
		const other = await syncOnce(lake.pool, settings(), 'direct_plain_2', config);
		expect(other.result!.tables[0]).toMatchObject({ rowsRead: 250, rowsWritten: 250, directPages: 3 });
	});

	it('decodes every COPY text escape', () => {
		expect(decodeCopyText('\\N')).toBeNull();
		expect(decodeCopyText('a\\tb\\nc\\\\d\\re\\bf\\fg\\vh')).toBe('a\tb\nc\\d\re\bf\fg\vh');
		expect(decodeCopyText('\\101\\x42\\x4\\q é')).toBe('AB\u0004q é');
		expect(decodeCopyText('\\303\\251')).toBe('é');
	});
});

/** Spawns a sync and kills it once `when` says so (polled); 'finished' when it ended first. */
function runAndKill(connector: string, config: unknown, when: () => Promise<boolean>): Promise<'killed' | 'finished'> {
	return new Promise((resolve, reject) => {
		const child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', CHILD, lake.url, String(pg.server.port), connector, JSON.stringify(config)], { cwd: join(__dirname, '..', '..') });
		let exited = false;
		let stderr = '';
		child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
		const watch = async () => {
			while (!exited && !(await when())) await new Promise((r) => setTimeout(r, 2));
			if (!exited) child.kill('SIGKILL');
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

/** A bronze COPY of the connector's table in progress in the lakehouse. */
async function copying(): Promise<boolean> {
	const { rows } = await lake.pool.query(`select exists (select 1 from pg_stat_activity where datname = current_database() and query like 'copy %public_crashy% from stdin' and state = 'active') as busy`);
	return rows[0].busy;
}

async function stateOf(connector: string): Promise<{ after: string[] | null; run: { rows_read: number; rows_written: number } | null; bronze: number | null }> {
	const id = await connectorId(connector);
	if (!id) return { after: null, run: null, bronze: null };
	const { rows: state } = await lake.pool.query(`select cursor from ipai_connector_state where connector_id = $1`, [id]);
	const { rows: run } = await lake.pool.query(`select coalesce(rows_read, 0)::int as rows_read, coalesce(rows_written, 0)::int as rows_written from ipai_connector_run where connector_id = $1 order by started_at desc limit 1`, [id]);
	const { rows: table } = await lake.pool.query(`select to_regclass('ipai_bronze_core.public_crashy') is not null as made`);
	const bronze = table[0].made ? Number((await lake.pool.query(`select count(*) as n from ipai_bronze_core.public_crashy where _ipai_connector_id = $1`, [id])).rows[0].n) : null;
	return { after: state[0]?.cursor?.full?.after ?? null, run: run[0] ?? null, bronze };
}

/** The next sync that is not skipped (the killed run's lease lasts 1 s). */
async function syncToEnd(connector: string, config: unknown) {
	for (let attempt = 0; attempt < 60; attempt++) {
		const outcome = await syncOnce(lake.pool, settings(), connector, config, { leaseTimeoutSeconds: 1 });
		if (outcome.error) throw outcome.error;
		if (outcome.start.status === 'running') return outcome;
		await new Promise((resolve) => setTimeout(resolve, 250));
	}
	throw new Error('the connector stayed busy');
}

async function sourceCount(where: string): Promise<number> {
	return Number((await copyLines(pg.server.url('src'), `select count(*) from crashy where ${where}`))[0]);
}

describe('SIGKILL during a first load straight into bronze', () => {
	const columns = [{ name: 'id' }, { name: 'v' }, { name: 'note' }];

	it('in the first page: nothing is left, and the next run starts over straight into bronze', async () => {
		const config = { engine: 'postgres', pageSize: 60000, tables: [{ table: 'crashy', mode: 'full' }] };
		expect(await runAndKill('crash_first', config, copying)).toBe('killed');
		// The table was created in the page's transaction: it went with it.
		expect(await stateOf('crash_first')).toMatchObject({ after: null, bronze: null, run: { rows_read: 0, rows_written: 0 } });
		const next = await syncToEnd('crash_first', config);
		expect(next.result!.tables[0]).toMatchObject({ rowsRead: 60000, rowsWritten: 60000, directPages: 2 });
		const { source, bronze } = await sourceAndBronze('crashy', 'crash_first', columns);
		expect(bronze).toEqual(source);
	});

	it('after some pages: whole pages with their cursor and counts, and the next run resumes after them', async () => {
		const config = { engine: 'postgres', pageSize: 1500, tables: [{ table: 'crashy', mode: 'full', target: 'public_crashy' }] };
		// Killed during a COPY once a few pages have committed.
		let committed = false;
		const killed = await runAndKill('crash_later', config, async () => {
			committed ||= ((await stateOf('crash_later')).bronze ?? 0) >= 4500;
			return committed && (await copying());
		});
		expect(killed).toBe('killed');
		const state = await stateOf('crash_later');
		expect(state.after).not.toBeNull();
		const through = await sourceCount(`id <= ${Number(state.after![0])}`);
		expect(through % 1500).toBe(0);
		// Bronze holds exactly the committed pages, and the killed run counted exactly them.
		expect(state).toMatchObject({ bronze: through, run: { rows_read: through, rows_written: through } });
		const rest = await syncToEnd('crash_later', config);
		expect(rest.result!.tables[0]).toMatchObject({ rowsRead: 60000 - through, rowsWritten: 60000 - through });
		// A resumed refresh merges (bronze already holds rows of the connector).
		expect(rest.result!.tables[0].directPages).toBeUndefined();
		const { source, bronze } = await sourceAndBronze('crashy', 'crash_later', columns);
		expect(bronze).toEqual(source);
	});
});
