import { formatFindings, runSecurityLint } from '../../lib/lakehouse/securityLint';
import { useScratchDatabase } from '../helpers/database';

const db = useScratchDatabase();

describe('security lint over the migrated catalog', () => {
	it('finds nothing on the migrations as shipped', async () => {
		const findings = await runSecurityLint(db.pool);
		// On failure the message lists every offending object by name.
		expect(formatFindings(findings)).toBe('');
	});

	// Each case breaks one property inside a transaction that is rolled back, and the lint must
	// name the object it broke: a check that cannot fail would prove nothing.
	const cases: Array<{ rule: string; object: string; sql: string }> = [
		{
			rule: 'rls_disabled',
			object: 'ipai_gold_erp.no_rls',
			sql: 'create table ipai_gold_erp.no_rls (id int)',
		},
		{
			rule: 'rls_disabled',
			object: 'public.ipai_connector_run',
			sql: 'alter table public.ipai_connector_run disable row level security',
		},
		{
			rule: 'view_not_security_invoker',
			object: 'ipai_gold_core.definer_view',
			sql: 'create view ipai_gold_core.definer_view as select 1 as one',
		},
		{
			rule: 'materialized_view_exposed',
			object: 'ipai_gold_core.exposed_mv',
			sql: 'create materialized view ipai_gold_core.exposed_mv as select 1 as one; grant select on ipai_gold_core.exposed_mv to authenticated',
		},
		{
			rule: 'function_search_path_mutable',
			object: 'public.loose_fn()',
			sql: 'create function public.loose_fn() returns int language sql as $$ select 1 $$',
		},
		{
			rule: 'security_definer_executable_by_anon',
			object: 'ipai_meta.definer_fn()',
			sql: "create function ipai_meta.definer_fn() returns int language sql security definer set search_path = '' as $$ select 1 $$; grant execute on function ipai_meta.definer_fn() to anon",
		},
		{
			rule: 'anon_grant_without_policy',
			object: 'public.ipai_connector_config (select)',
			sql: 'grant select on public.ipai_connector_config to anon',
		},
		{
			rule: 'anon_grant_without_policy',
			object: 'ipai_bronze_core.anon_delete (delete)',
			sql: `create table ipai_bronze_core.anon_delete (id int); alter table ipai_bronze_core.anon_delete enable row level security;
			      create policy anon_read on ipai_bronze_core.anon_delete for select to anon using (true);
			      grant select, delete on ipai_bronze_core.anon_delete to anon`,
		},
		{
			rule: 'policy_auth_call_per_row',
			object: 'public.ipai_agent policy per_row',
			sql: "create policy per_row on public.ipai_agent for select to authenticated using (auth.uid() is not null)",
		},
	];

	it.each(cases)('names $object when $rule is broken', async ({ rule, object, sql }) => {
		const client = await db.pool.connect();
		try {
			await client.query('begin');
			await client.query(sql);
			const findings = await runSecurityLint(client);
			expect(findings).toContainEqual(expect.objectContaining({ rule, object }));
		} finally {
			await client.query('rollback');
			client.release();
		}
	});

	it('accepts an anon grant that a policy for anon uses', async () => {
		const client = await db.pool.connect();
		try {
			await client.query('begin');
			await client.query(`create table ipai_gold_core.public_facts (id int);
			  alter table ipai_gold_core.public_facts enable row level security;
			  create policy anon_read on ipai_gold_core.public_facts for select to anon using (true);
			  grant select on ipai_gold_core.public_facts to anon`);
			const findings = await runSecurityLint(client);
			expect(findings.filter((f) => f.object.startsWith('ipai_gold_core.public_facts'))).toEqual([]);
		} finally {
			await client.query('rollback');
			client.release();
		}
	});
});
