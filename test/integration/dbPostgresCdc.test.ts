/**
 * CDC from PostgreSQL by logical replication (pgoutput), against a real server with
 * wal_level=logical: the initial snapshot consistent with the slot, inserts/updates/deletes/
 * truncates applied, the slot acknowledged only up to what bronze committed, lag on the run,
 * and the failures a person must act on. The pgoutput decoder is checked against PostgreSQL's
 * own test_decoding output for random changes.
 */
import fc from 'fast-check';
import { Client } from 'pg';
import { listRuns } from '../../lib/lakehouse/runQueries';
import { listStreamStates } from '../../lib/lakehouse/streamState';
import { DbSourceError } from '../../lib/sources/db/engine';
import { decodePgOutput, type Relation } from '../../lib/sources/db/postgres/pgoutput';
import { serverUrl, useScratchDatabase } from '../../tooling/helpers/database';
import { useLogicalPostgres } from '../../tooling/helpers/logicalPostgres';
import { compareWithSource, settingsFor, syncOnce } from './fixtures/dbSource';

jest.setTimeout(240_000);
const lake = useScratchDatabase();
const pg = useLogicalPostgres();
const settings = () => settingsFor(pg.server.port, 'src');
const config = { engine: 'postgres', pageSize: 50, tables: [{ table: 'accounts', mode: 'cdc' }], slot: 'ipai_test_slot', publication: 'ipai_test_pub' };

beforeAll(async () => {
	await pg.server.sql('create database src');
	await pg.server.sql(
		`create table accounts (id int primary key, owner text, balance numeric(14,2), tags text[], doc jsonb, big text);
		 insert into accounts select g, 'o' || g, g * 10.5, array['t' || g], jsonb_build_object('n', g), null from generate_series(1, 120) g;`,
		'src',
	);
}, 120_000);

async function slotLsn(): Promise<string | null> {
	const client = new Client({ connectionString: pg.server.url('src') });
	await client.connect();
	try {
		const { rows } = await client.query(`select confirmed_flush_lsn::text as lsn from pg_replication_slots where slot_name = 'ipai_test_slot'`);
		return rows[0]?.lsn ?? null;
	} finally {
		await client.end();
	}
}

const lsnValue = (lsn: string) => {
	const [hi, lo] = lsn.split('/');
	return (BigInt(`0x${hi}`) << 32n) | BigInt(`0x${lo}`);
};

async function sameAsSource() {
	const { rows } = await lake.pool.query(`select id from ipai_connector_config where connector_type = 'db' and name = 'bank'`);
	return compareWithSource({
		sourceUrl: pg.server.url('src'),
		lakehouseUrl: lake.url,
		source: 'accounts',
		bronze: 'ipai_bronze_core.public_accounts',
		connectorId: rows[0].id,
		key: 'id',
		columns: [{ name: 'owner' }, { name: 'balance' }, { name: 'tags' }, { name: 'doc' }, { name: 'big' }],
	});
}

it('loads the initial snapshot, then applies inserts, updates, deletes and truncates; acknowledges only what bronze holds', async () => {
	const first = await syncOnce(lake.pool, settings(), 'bank', config);
	expect(first.error).toBeUndefined();
	expect(await sameAsSource()).toEqual({ missing: [], extra: [], different: [], sourceRows: 120 });

	await pg.server.sql(
		`insert into accounts values (500, 'new', 1, '{}', '{"x": 1.50}', repeat('toast', 5000));
		 update accounts set balance = balance + 1 where id <= 10;
		 delete from accounts where id between 50 and 59;
		 update accounts set owner = 'renamed' where id = 500;`,
		'src',
	);
	const second = await syncOnce(lake.pool, settings(), 'bank', config);
	expect(second.error).toBeUndefined();
	expect(second.result!.replication).toMatchObject({ slot: 'ipai_test_slot', changes: 22, lag_seconds: 0 });
	expect(await sameAsSource()).toEqual({ missing: [], extra: [], different: [], sourceRows: 111 });
	// The TOASTed value the last update left unchanged (not in the log) kept its value.
	const { rows: big } = await lake.pool.query(`select length(big) as n, _ipai_deleted_at from ipai_bronze_core.public_accounts where id = 500`);
	expect(big[0]).toEqual({ n: 25000, _ipai_deleted_at: null });
	const { rows: gone } = await lake.pool.query(`select count(*)::int as n from ipai_bronze_core.public_accounts where _ipai_deleted_at is not null`);
	expect(gone[0].n).toBe(10);

	const states = await listStreamStates(lake.pool, second.start.connectorId);
	const applied = (states[0].cursor as { lsn: string }).lsn;
	expect(lsnValue((await slotLsn())!)).toBeLessThanOrEqual(lsnValue(applied));
	const [run] = await listRuns(lake.pool, { connectorName: 'bank' });
	expect(run.metadata).toMatchObject({ replication: { lag_bytes: expect.any(Number), lag_seconds: 0 } });

	await pg.server.sql(`truncate accounts; insert into accounts values (1, 'again', 0, null, null, null)`, 'src');
	const third = await syncOnce(lake.pool, settings(), 'bank', config);
	expect(third.error).toBeUndefined();
	expect(third.result!.replication!.truncates).toBe(1);
	expect(await sameAsSource()).toEqual({ missing: [], extra: [], different: [], sourceRows: 1 });
	const { rows: audit } = await lake.pool.query(`select details from ipai_audit_log where action = 'source_truncate'`);
	expect(audit[0].details).toMatchObject({ source_table: 'public.accounts', rows_marked_deleted: 111 });
});

describe('failures with their fix, a failed run and nothing written', () => {
	it('a slot used by someone else', async () => {
		const holder = new Client({ connectionString: pg.server.url('src'), replication: 'database' } as never);
		await holder.connect();
		holder.on('error', () => undefined);
		try {
			// A walsender streaming from the slot holds it.
			void holder.query(`START_REPLICATION SLOT ipai_test_slot LOGICAL 0/0 (proto_version '1', publication_names 'ipai_test_pub')`).catch(() => undefined);
			await new Promise((resolve) => setTimeout(resolve, 1000));
			const { error } = await syncOnce(lake.pool, settings(), 'bank', config);
			expect(error).toBeInstanceOf(DbSourceError);
			expect(error!.message).toMatch(/Replication slot "ipai_test_slot" is in use by another process.*own slot name \(config\.slot\)/);
		} finally {
			await holder.end().catch(() => undefined);
		}
	});

	it('a dropped slot names the re-snapshot step', async () => {
		const client = new Client({ connectionString: pg.server.url('src') });
		await client.connect();
		await client.query(`select pg_drop_replication_slot(slot_name) from pg_replication_slots where slot_name = 'ipai_test_slot' and not active`);
		await client.end();
		const { error } = await syncOnce(lake.pool, settings(), 'bank', config);
		expect(error!.message).toMatch(/Replication slot "ipai_test_slot" is gone.*Re-snapshot: reset the state/);
		const [run] = await listRuns(lake.pool, { connectorName: 'bank' });
		expect(run.status).toBe('failed');
	});

	it('wal_level not logical, and a user without REPLICATION', async () => {
		// The machine's main server runs wal_level=replica.
		const main = new URL(serverUrl());
		const { error } = await syncOnce(lake.pool, settingsFor(Number(main.port || 5432), lake.name, { host: main.hostname }), 'replica', {
			engine: 'postgres',
			tables: [{ table: 'ipai_connector_config', mode: 'cdc' }],
		});
		expect(error!.message).toMatch(/wal_level = replica; CDC needs logical.*Set wal_level = logical/);
		await pg.server.sql(`create user plain password 'plain-Pass-1'; grant select on accounts to plain`, 'src');
		const denied = await syncOnce(lake.pool, settingsFor(pg.server.port, 'src', { user: 'plain', password: 'plain-Pass-1' }), 'plain', config);
		expect(denied.error!.message).toMatch(/lacks the REPLICATION attribute.*ALTER ROLE "plain" REPLICATION/);
		const { rows } = await lake.pool.query(`select count(*)::int as n from ipai_connector_state s join ipai_connector_config c on c.id = s.connector_id where c.name in ('replica', 'plain')`);
		expect(rows[0].n).toBe(0);
	});
});

describe('the pgoutput decoder agrees with test_decoding', () => {
	it('for random inserts, updates and deletes', async () => {
		await pg.server.sql(`create table pairs (id int primary key, label text, amount numeric, flag boolean); create publication pairs_pub for table pairs`, 'src');
		await pg.server.sql(`select pg_create_logical_replication_slot('dec_out', 'pgoutput')`, 'src');
		await pg.server.sql(`select pg_create_logical_replication_slot('dec_text', 'test_decoding')`, 'src');
		const op = fc.oneof(
			fc.record({ kind: fc.constant('insert' as const), id: fc.integer({ min: 1, max: 30 }), label: fc.oneof(fc.string({ maxLength: 8 }), fc.constant(null)), amount: fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e6, max: 1e6 }), flag: fc.boolean() }),
			fc.record({ kind: fc.constant('delete' as const), id: fc.integer({ min: 1, max: 30 }) }),
		);
		const client = new Client({ connectionString: pg.server.url('src') });
		await client.connect();
		try {
			await fc.assert(
				fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 12 }), async (ops) => {
					for (const o of ops) {
						if (o.kind === 'insert') {
							await client.query(`insert into pairs values ($1, $2, $3, $4) on conflict (id) do update set label = excluded.label, amount = excluded.amount, flag = excluded.flag`, [o.id, o.label, o.amount, o.flag]);
						} else await client.query(`delete from pairs where id = $1`, [o.id]);
					}
					const text = (await client.query(`select data from pg_logical_slot_get_changes('dec_text', null, null, 'include-xids', '0')`)).rows.map((r) => r.data as string);
					const binary = (await client.query(`select data from pg_logical_slot_get_binary_changes('dec_out', null, null, 'proto_version', '1', 'publication_names', 'pairs_pub')`)).rows;
					const relations = new Map<number, Relation>();
					const decoded: string[] = [];
					for (const { data } of binary) {
						const m = decodePgOutput(data as Buffer);
						if (m.tag === 'relation') relations.set(m.relation.relid, m.relation);
						if (m.tag === 'begin') decoded.push('BEGIN');
						if (m.tag === 'commit') decoded.push('COMMIT');
						if (m.tag === 'insert' || m.tag === 'update' || m.tag === 'delete') {
							const rel = relations.get(m.relid)!;
							const tuple = m.tag === 'delete' ? m.old : m.new;
							const values = rel.columns
								.map((c, i) => [c, tuple[i]] as const)
								.filter(([c, v]) => m.tag !== 'delete' || c.isKey || v !== null)
								.map(([c, v]) => `${c.name}[${typeName(c.typeOid)}]:${v === null ? 'null' : quoteLike(c.typeOid, v as string)}`);
							decoded.push(`table ${rel.schema}.${rel.name}: ${m.tag.toUpperCase()}: ${values.join(' ')}`);
						}
					}
					expect(decoded).toEqual(text);
				}),
				{ numRuns: 40 },
			);
		} finally {
			await client.end();
		}
	});
});

/** test_decoding prints the type name and quotes text-like values. */
function typeName(oid: number): string {
	return ({ 23: 'integer', 25: 'text', 1700: 'numeric', 16: 'boolean' } as Record<number, string>)[oid] ?? String(oid);
}
function quoteLike(oid: number, value: string): string {
	if (oid === 16) return value === 't' ? 'true' : 'false';
	return oid === 25 ? `'${value.replace(/'/g, "''")}'` : value;
}
