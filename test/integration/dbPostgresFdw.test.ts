/**
 * Mode fdw: the lakehouse reads the source through postgres_fdw (IMPORT FOREIGN SCHEMA into
 * ipai_fdw_staging) and merges inside the database; checked against the source itself.
 */
import { useScratchDatabase } from '../../tooling/helpers/database';
import { useLogicalPostgres } from '../../tooling/helpers/logicalPostgres';
import { compareWithSource, settingsFor, syncOnce } from './fixtures/dbSource';

jest.setTimeout(180_000);
const lake = useScratchDatabase();
const pg = useLogicalPostgres();

it('merges a source table into bronze inside the lakehouse, then applies updates and deletes', async () => {
	await pg.server.sql('create database src');
	await pg.server.sql(`create user fdwuser password 'fdw-Pass-1'; create table items (id int primary key, name text, price numeric(10,2)); grant select on items to fdwuser;
		insert into items select g, 'item ' || g, g * 1.5 from generate_series(1, 200) g`, 'src');
	const settings = settingsFor(pg.server.port, 'src', { user: 'fdwuser', password: 'fdw-Pass-1' });
	const config = { engine: 'postgres', tables: [{ table: 'items', mode: 'fdw' }] };
	const first = await syncOnce(lake.pool, settings, 'fdw', config, { fdw: settings });
	expect(first.error).toBeUndefined();
	expect(first.result!.tables[0]).toMatchObject({ rowsRead: 200, rowsWritten: 200 });
	await pg.server.sql(`update items set price = price + 1 where id <= 5; delete from items where id > 190`, 'src');
	const second = await syncOnce(lake.pool, settings, 'fdw', config, { fdw: settings });
	expect(second.result!.tables[0]).toMatchObject({ rowsRead: 190, rowsWritten: 5, deleted: 10 });
	const { rows } = await lake.pool.query(`select id from ipai_connector_config where name = 'fdw'`);
	const diff = await compareWithSource({ sourceUrl: pg.server.url('src'), lakehouseUrl: lake.url, source: 'items', bronze: 'ipai_bronze_core.public_items', connectorId: rows[0].id, key: 'id', columns: [{ name: 'name' }, { name: 'price' }] });
	expect(diff).toEqual({ missing: [], extra: [], different: [], sourceRows: 190 });
	const { rows: runs } = await lake.pool.query(`select error_message, metadata::text from ipai_connector_run`);
	expect(JSON.stringify(runs)).not.toContain('fdw-Pass-1');
});
