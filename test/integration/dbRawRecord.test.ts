/**
 * _ipai_raw of database-source bronze (docs/adr/0006-db-bronze-raw-optional.md): NULL by default,
 * the typed columns being the record; every row's record with `raw: true`. Checked on every load
 * path — full through COPY and row by row, incremental, CDC — before and after changes at the
 * source. Oracle: the source database itself (typed columns as PostgreSQL's own text, and the
 * record's fields as the source prints them).
 */
import { Client } from 'pg';
import { useScratchDatabase } from '../../tooling/helpers/database';
import { useLogicalPostgres } from '../../tooling/helpers/logicalPostgres';
import { compareWithSource, settingsFor, syncOnce, textRows } from './fixtures/dbSource';

jest.setTimeout(300_000);
const lake = useScratchDatabase();
const pg = useLogicalPostgres();
const settings = () => settingsFor(pg.server.port, 'src');
let source: Client;

beforeAll(async () => {
	await pg.server.sql('create database src');
	source = new Client({ connectionString: pg.server.url('src') });
	await source.connect();
}, 180_000);
afterAll(async () => {
	await source?.end();
});

const PATHS = [
	{ path: 'copy', table: { mode: 'full' }, extra: {} },
	{ path: 'rows', table: { mode: 'full' }, extra: { fullCopy: false } },
	{ path: 'inc', table: { mode: 'incremental', cursor: ['at'] }, extra: {} },
	{ path: 'cdc', table: { mode: 'cdc' }, extra: {} },
] as const;

async function syncAll(): Promise<void> {
	for (const raw of [false, true]) {
		for (const { path, table, extra } of PATHS) {
			const name = `kept_${path}_${raw}`;
			const config = { engine: 'postgres', pageSize: 2, tables: [{ table: 'kept', ...table, target: name, ...(raw ? { raw } : {}) }] };
			const outcome = await syncOnce(lake.pool, settings(), name, config, extra);
			if (outcome.error) throw outcome.error;
		}
	}
}

async function connectorId(name: string): Promise<string> {
	const { rows } = await lake.pool.query(`select id from ipai_connector_config where connector_type = 'db' and name = $1`, [name]);
	return rows[0].id;
}

/** Every path's bronze table equals the source in its typed columns; _ipai_raw is NULL, or (raw: true) the source row. */
async function expectSameAsSource(): Promise<void> {
	const sourceRecords = new Map(
		(await textRows(pg.server.url('src'), `select id::text as k, jsonb_build_object('id', id::text, 'v', v, 'tags', to_jsonb(tags))::text as record from kept`)).map((r) => [r.k, r.record]),
	);
	for (const raw of [false, true]) {
		for (const { path } of PATHS) {
			const name = `kept_${path}_${raw}`;
			const diff = await compareWithSource({
				sourceUrl: pg.server.url('src'),
				lakehouseUrl: lake.url,
				source: 'public.kept',
				bronze: `ipai_bronze_core.${name}`,
				connectorId: await connectorId(name),
				key: 'id',
				columns: [{ name: 'v' }, { name: 'n' }, { name: 'at' }, { name: 'tags' }],
			});
			expect({ name, ...diff }).toEqual({ name, missing: [], extra: [], different: [], sourceRows: sourceRecords.size });
			const { rows } = await lake.pool.query(
				`select id::text as k, jsonb_build_object('id', _ipai_raw -> 'id', 'v', _ipai_raw -> 'v', 'tags', _ipai_raw -> 'tags')::text as record,
				        _ipai_raw is null as empty
				   from ipai_bronze_core.${name} where _ipai_deleted_at is null`,
			);
			if (raw) expect({ name, records: new Map(rows.map((r) => [r.k, r.record])) }).toEqual({ name, records: sourceRecords });
			else expect({ name, kept: rows.filter((r) => !r.empty).map((r) => r.k) }).toEqual({ name, kept: [] });
		}
	}
}

it('is NULL by default and the source record with raw: true, on every load path, the typed columns equal to the source either way', async () => {
	await source.query(
		`create table kept (id int primary key, v text, n numeric, at timestamptz not null, tags text[]);
		 insert into kept select g, 'v' || g, g / 3.0, timestamptz '2024-01-01 00:00:00+00' + g * interval '1 minute', array['a' || g, null] from generate_series(1, 5) g`,
	);
	await syncAll();
	await expectSameAsSource();
	await source.query(
		`update kept set v = 'changed', at = at + interval '1 day' where id = 2;
		 insert into kept values (6, e'tab\\there', 1e-20, timestamptz '2024-03-01 00:00:00+00', '{}'), (7, null, null, timestamptz '2024-03-02 00:00:00+00', null)`,
	);
	await syncAll();
	await expectSameAsSource();
});

it('a table made with _ipai_raw NOT NULL lets it be NULL from its next sync on, and audits the change', async () => {
	await source.query(`create table older (id int primary key, v text); insert into older values (1, 'a'), (2, 'b')`);
	await lake.pool.query(`create table ipai_bronze_core.older (id integer not null, v text, _ipai_connector_id uuid not null, _ipai_run_id uuid not null,
		_ipai_extracted_at timestamptz not null, _ipai_deleted_at timestamptz, _ipai_raw jsonb not null, primary key (_ipai_connector_id, id))`);
	const outcome = await syncOnce(lake.pool, settings(), 'older', { engine: 'postgres', tables: [{ table: 'older', mode: 'full', target: 'older' }] });
	expect(outcome.error).toBeUndefined();
	const { rows } = await lake.pool.query(`select count(*)::int as n, count(_ipai_raw)::int as raws from ipai_bronze_core.older`);
	expect(rows[0]).toEqual({ n: 2, raws: 0 });
	const { rows: audit } = await lake.pool.query(`select details ->> 'table' as t from ipai_audit_log where event_type = 'schema_change' and action = 'raw_optional'`);
	expect(audit).toEqual([{ t: 'ipai_bronze_core.older' }]);
});
