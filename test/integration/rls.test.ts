import { asRole, useScratchDatabase } from '../../tooling/helpers/database';

const db = useScratchDatabase();

const ADMIN = { sub: '00000000-0000-0000-0000-00000000000a', role: 'authenticated', app_metadata: { ipai_role: 'admin' } };
const ANALYST_CO1 = {
	sub: '00000000-0000-0000-0000-0000000000b1',
	role: 'authenticated',
	app_metadata: { ipai_role: 'analyst', company_ids: [1] },
};
const ENGINEER = { sub: '00000000-0000-0000-0000-0000000000e1', role: 'authenticated', app_metadata: { ipai_role: 'data_engineer' } };
const PLAIN_USER = { sub: '00000000-0000-0000-0000-0000000000c1', role: 'authenticated', app_metadata: {} };
// user_metadata is editable by the user: it must grant nothing.
const SELF_PROMOTED = {
	sub: '00000000-0000-0000-0000-0000000000d1',
	role: 'authenticated',
	app_metadata: {},
	user_metadata: { ipai_role: 'admin' },
};

beforeAll(async () => {
	// A gold table, a bronze table and a silver table secured the same way migrations and the
	// loader secure theirs (ipai_meta.secure_relation), with rows for two companies.
	await db.pool.query(`
		create table ipai_gold_erp.rls_probe (company_id int not null, amount numeric not null);
		select ipai_meta.secure_relation('ipai_gold_erp.rls_probe');
		insert into ipai_gold_erp.rls_probe values (1, 100), (1, 50), (2, 999);
		create view ipai_gold_erp.rls_probe_totals as
		  select company_id, sum(amount) as total from ipai_gold_erp.rls_probe group by company_id;
		select ipai_meta.secure_relation('ipai_gold_erp.rls_probe_totals');
		create table ipai_bronze_erp.rls_probe_raw (id int primary key, payload jsonb);
		select ipai_meta.secure_relation('ipai_bronze_erp.rls_probe_raw');
		insert into ipai_bronze_erp.rls_probe_raw values (1, '{}');
		create table ipai_silver_erp.rls_probe_clean (id int primary key);
		select ipai_meta.secure_relation('ipai_silver_erp.rls_probe_clean');
		insert into ipai_silver_erp.rls_probe_clean values (1);
		insert into ipai_connector_config (id, connector_type, name, config)
		  values ('11111111-1111-1111-1111-111111111111', 'odoo', 'prod', '{}');
		insert into ipai_connector_run (connector_id, started_at, ended_at, status, rows_read, rows_written)
		  values ('11111111-1111-1111-1111-111111111111', now() - interval '1 hour', now(), 'success', 10, 10);
		insert into ipai_audit_log (event_type, entity_type, action) values ('connector_run', 'connector', 'finish');
	`);
});

const count = async (client: { query: (sql: string) => Promise<{ rows: Array<{ n: string }> }> }, table: string) =>
	Number((await client.query(`select count(*) as n from ${table}`)).rows[0].n);

describe('anon', () => {
	it('reads nothing: no table, view or control table', async () => {
		for (const table of ['ipai_gold_erp.rls_probe', 'ipai_gold_erp.rls_probe_totals', 'ipai_bronze_erp.rls_probe_raw',
			'public.ipai_connector_run', 'public.ipai_audit_log', 'public.ipai_connector_config']) {
			await expect(asRole(db.pool, 'anon', { role: 'anon' }, (c) => count(c, table))).rejects.toMatchObject({ code: '42501' });
		}
	});
});

describe('authenticated', () => {
	it('an analyst reads only the gold rows of the companies in its claims, also through views', async () => {
		await asRole(db.pool, 'authenticated', ANALYST_CO1, async (c) => {
			const rows = (await c.query('select company_id, amount from ipai_gold_erp.rls_probe order by amount')).rows;
			expect(rows).toEqual([{ company_id: 1, amount: '50' }, { company_id: 1, amount: '100' }]);
			const totals = (await c.query('select company_id, total from ipai_gold_erp.rls_probe_totals')).rows;
			expect(totals).toEqual([{ company_id: 1, total: '150' }]);
		});
	});

	it('an admin reads every company', async () => {
		await asRole(db.pool, 'authenticated', ADMIN, async (c) => expect(await count(c, 'ipai_gold_erp.rls_probe')).toBe(3));
	});

	it('a user without a product role, or with one only in user_metadata, reads nothing', async () => {
		for (const claims of [PLAIN_USER, SELF_PROMOTED]) {
			await asRole(db.pool, 'authenticated', claims, async (c) => {
				expect(await count(c, 'ipai_gold_erp.rls_probe')).toBe(0);
				expect(await count(c, 'ipai_bronze_erp.rls_probe_raw')).toBe(0);
				expect(await count(c, 'public.ipai_connector_run')).toBe(0);
			});
		}
	});

	it('analysts do not see bronze, silver or the control plane; engineers do', async () => {
		await asRole(db.pool, 'authenticated', ANALYST_CO1, async (c) => {
			expect(await count(c, 'ipai_bronze_erp.rls_probe_raw')).toBe(0);
			expect(await count(c, 'ipai_silver_erp.rls_probe_clean')).toBe(0);
			expect(await count(c, 'public.ipai_connector_run')).toBe(0);
		});
		await asRole(db.pool, 'authenticated', ENGINEER, async (c) => {
			expect(await count(c, 'ipai_bronze_erp.rls_probe_raw')).toBe(1);
			expect(await count(c, 'ipai_silver_erp.rls_probe_clean')).toBe(1);
			expect(await count(c, 'public.ipai_connector_run')).toBe(1);
		});
	});

	it('cannot write anywhere', async () => {
		await expect(
			asRole(db.pool, 'authenticated', ADMIN, (c) => c.query('insert into ipai_gold_erp.rls_probe values (1, 1)')),
		).rejects.toMatchObject({ code: '42501' });
		await expect(
			asRole(db.pool, 'authenticated', ADMIN, (c) =>
				c.query(`insert into ipai_connector_config (connector_type, name, config) values ('x', 'y', '{}')`),
			),
		).rejects.toMatchObject({ code: '42501' });
	});
});

describe('service_role', () => {
	it('reads everything', async () => {
		await asRole(db.pool, 'service_role', { role: 'service_role' }, async (c) => {
			expect(await count(c, 'ipai_gold_erp.rls_probe')).toBe(3);
			expect(await count(c, 'ipai_bronze_erp.rls_probe_raw')).toBe(1);
			expect(await count(c, 'public.ipai_connector_run')).toBe(1);
			expect(await count(c, 'public.ipai_audit_log')).toBeGreaterThan(0);
		});
	});
});

describe('ipai_ingest', () => {
	it('writes bronze and the control tables it needs', async () => {
		await asRole(db.pool, 'ipai_ingest', null, async (c) => {
			await c.query(`insert into ipai_bronze_erp.rls_probe_raw values (2, '{"a":1}')`);
			await c.query(`create table ipai_bronze_core.landed (id int)`);
			await c.query(`select ipai_meta.secure_relation('ipai_bronze_core.landed')`);
			const run = await c.query(
				`insert into ipai_connector_run (connector_id, started_at, status) values ('11111111-1111-1111-1111-111111111111', now(), 'running') returning id`,
			);
			await c.query(
				`insert into ipai_connector_state (connector_id, stream, cursor, run_id) values ('11111111-1111-1111-1111-111111111111', 's', '"x"', $1)`,
				[run.rows[0].id],
			);
			await c.query(`insert into ipai_audit_log (event_type, entity_type, action) values ('connector_run', 'connector', 'start')`);
		});
	});

	it('cannot read gold or silver, nor change the agent registry', async () => {
		await expect(asRole(db.pool, 'ipai_ingest', null, (c) => count(c, 'ipai_gold_erp.rls_probe'))).rejects.toMatchObject({
			code: '42501',
		});
		await expect(
			asRole(db.pool, 'ipai_ingest', null, (c) => count(c, 'ipai_silver_erp.rls_probe_clean')),
		).rejects.toMatchObject({ code: '42501' });
		await expect(
			asRole(db.pool, 'ipai_ingest', null, (c) => c.query(`update ipai_agent set is_active = false`)),
		).rejects.toMatchObject({ code: '42501' });
	});
});

describe('records the ingest role cannot rewrite (issue 16, security and records 2)', () => {
	it.each([
		['delete a run', `delete from public.ipai_connector_run`],
		['truncate the ledger', `truncate public.ipai_connector_run`],
		['delete a connector (which would cascade to its SLOs)', `delete from public.ipai_connector_config`],
		['change an SLO', `update public.ipai_slo set is_enabled = false`],
		['change the agent-budget SLO', `update public.ipai_slo set objective = 0.01 where sli_type = 'agent_budget'`],
		['delete an SLO', `delete from public.ipai_slo`],
		['create an SLO', `insert into public.ipai_slo (code_name, sli_type, objective, period) values ('x', 'connector_success', 0.9, '7 days')`],
		['backdate an audit row', `insert into public.ipai_audit_log (event_type, entity_type, action, created_at) values ('connector_run', 'connector', 'finish', '2000-01-01')`],
		['choose an audit row id', `insert into public.ipai_audit_log (id, event_type, entity_type, action) values (gen_random_uuid(), 'connector_run', 'connector', 'finish')`],
	])('refuses: %s', async (_what, sql) => {
		await expect(asRole(db.pool, 'ipai_ingest', null, (c) => c.query(sql))).rejects.toMatchObject({ code: '42501' });
	});

	it('still reads SLOs (evaluation) and writes the runs it owns while they run', async () => {
		await asRole(db.pool, 'ipai_ingest', null, async (c) => {
			expect((await c.query(`select count(*)::int as n from public.ipai_slo`)).rows[0].n).toBeGreaterThan(0);
			const run = await c.query(
				`insert into ipai_connector_run (connector_id, started_at, status) values ('11111111-1111-1111-1111-111111111111', now(), 'running') returning id`,
			);
			await c.query(`update ipai_connector_run set rows_read = 5 where id = $1`, [run.rows[0].id]);
			await c.query(`update ipai_connector_run set status = 'success', ended_at = now() where id = $1`, [run.rows[0].id]);
		});
	});

	it('a finished run is history, for every role including the owner', async () => {
		for (const role of ['ipai_ingest', null]) {
			const attempt = async (c: import('pg').ClientBase) => c.query(`update ipai_connector_run set status = 'failed', error_message = 'rewritten' where status = 'success'`);
			const result = role ? asRole(db.pool, role, null, attempt) : db.pool.query(`update ipai_connector_run set status = 'failed' where status = 'success'`);
			await expect(result).rejects.toThrow(/has ended \(success\); a finished run cannot be changed/);
		}
	});

	it('the server sets an audit row\'s id and time, whoever inserts it', async () => {
		const { rows } = await db.pool.query(
			`insert into public.ipai_audit_log (id, event_type, entity_type, action, created_at)
			 values ('00000000-0000-0000-0000-000000000001', 'connector_run', 'connector', 'finish', '2000-01-01')
			 returning id::text, created_at > now() - interval '1 minute' as fresh`,
		);
		expect(rows[0].id).not.toBe('00000000-0000-0000-0000-000000000001');
		expect(rows[0].fresh).toBe(true);
	});

	it('ipai_slo_admin owns SLO definitions', async () => {
		await asRole(db.pool, 'ipai_slo_admin', null, async (c) => {
			await c.query(`insert into public.ipai_slo (code_name, sli_type, objective, period) values ('rls-probe', 'connector_success', 0.9, '7 days')`);
			await c.query(`update public.ipai_slo set objective = 0.95 where code_name = 'rls-probe'`);
			await c.query(`delete from public.ipai_slo where code_name = 'rls-probe'`);
		});
	});
});

describe('ipai_meta.transform_table (issue 16, security and records 6)', () => {
	it('has row level security, and only the transform role (and service_role) reads it', async () => {
		const { rows } = await db.pool.query(`select relrowsecurity from pg_class where oid = 'ipai_meta.transform_table'::regclass`);
		expect(rows[0].relrowsecurity).toBe(true);
		await asRole(db.pool, 'ipai_transform', null, async (c) => expect(await count(c, 'ipai_meta.transform_table')).toBeGreaterThan(0));
		for (const role of ['ipai_ingest', 'ipai_read', 'authenticated']) {
			await expect(asRole(db.pool, role, ADMIN, (c) => count(c, 'ipai_meta.transform_table'))).rejects.toMatchObject({ code: '42501' });
		}
	});
});

describe('ipai_read', () => {
	it('reads gold but not bronze', async () => {
		await asRole(db.pool, 'ipai_read', null, async (c) => expect(await count(c, 'ipai_gold_erp.rls_probe')).toBe(3));
		await expect(asRole(db.pool, 'ipai_read', null, (c) => count(c, 'ipai_bronze_erp.rls_probe_raw'))).rejects.toMatchObject({
			code: '42501',
		});
	});
});

describe('the audit log', () => {
	it.each([
		['ipai_ingest', 'update public.ipai_audit_log set action = $$x$$'],
		['ipai_ingest', 'delete from public.ipai_audit_log'],
		['ipai_ingest', 'truncate public.ipai_audit_log'],
		['service_role', 'delete from public.ipai_audit_log'],
	])('refuses %s: %s', async (role, sql) => {
		await expect(asRole(db.pool, role, null, (c) => c.query(sql))).rejects.toMatchObject({ code: '42501' });
	});

	it.each(['update public.ipai_audit_log set action = $$x$$', 'delete from public.ipai_audit_log', 'truncate public.ipai_audit_log'])(
		'refuses even its owner: %s',
		async (sql) => {
			const client = await db.pool.connect();
			try {
				await client.query('begin');
				await expect(client.query(sql)).rejects.toThrow(/ipai_audit_log is append-only/);
			} finally {
				await client.query('rollback');
				client.release();
			}
		},
	);
});
