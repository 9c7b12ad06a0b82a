import { formatFindings, runSecurityLint } from '../../lib/lakehouse/securityLint';
import { useScratchDatabase } from '../../tooling/helpers/database';

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
		{
			rule: 'rls_disabled',
			object: 'ipai_meta.transform_table',
			sql: 'alter table ipai_meta.transform_table disable row level security',
		},
		{
			rule: 'ledger_history_writable',
			object: 'public.ipai_connector_run (delete by ipai_ingest)',
			sql: 'grant delete on public.ipai_connector_run to ipai_ingest',
		},
		{
			rule: 'ledger_history_writable',
			object: 'public.ipai_slo (update by ipai_ingest)',
			sql: 'grant update on public.ipai_slo to ipai_ingest',
		},
		{
			rule: 'audit_time_writable',
			object: 'public.ipai_audit_log.created_at (insert by ipai_ingest)',
			sql: 'grant insert (created_at) on public.ipai_audit_log to ipai_ingest',
		},
		{
			rule: 'records_trigger_missing',
			object: 'public.ipai_audit_log trigger ipai_audit_log_server_fields',
			sql: 'alter table public.ipai_audit_log disable trigger ipai_audit_log_server_fields',
		},
		{
			rule: 'records_trigger_missing',
			object: 'public.ipai_connector_run trigger ipai_connector_run_ended_is_history',
			sql: 'drop trigger ipai_connector_run_ended_is_history on public.ipai_connector_run',
		},
		{
			rule: 'agent_login_connect_elsewhere',
			object: 'ipai_agent_lint_probe → database postgres',
			sql: `create role ipai_agent_lint_probe login;
			      insert into public.ipai_agent (id, code_name, display_name, agent_type) values ('00000000-0000-4000-8000-00000000a9e1', 'lint_probe', 'Lint probe', 'custom');
			      insert into public.ipai_agent_credential (agent_id, login_name, password) values ('00000000-0000-4000-8000-00000000a9e1', 'ipai_agent_lint_probe', 'x')`,
		},
		{
			rule: 'agent_login_role_settings',
			object: 'ipai_agent_lint_probe: default_transaction_read_only=off',
			sql: `create role ipai_agent_lint_probe login;
			      alter role ipai_agent_lint_probe set default_transaction_read_only = off;
			      insert into public.ipai_agent (id, code_name, display_name, agent_type) values ('00000000-0000-4000-8000-00000000a9e1', 'lint_probe', 'Lint probe', 'custom');
			      insert into public.ipai_agent_credential (agent_id, login_name, password) values ('00000000-0000-4000-8000-00000000a9e1', 'ipai_agent_lint_probe', 'x')`,
		},
		{
			rule: 'agent_scope_not_two_part',
			object: 'three_part: ipai_gold_erp.profit_and_loss.x',
			sql: `insert into public.ipai_agent (code_name, display_name, agent_type, allowed_schemas) values ('three_part', 'x', 'custom', '{ipai_gold_erp.profit_and_loss.x}')`,
		},
		{
			rule: 'bronze_table_name_unusable',
			object: 'ipai_bronze_core."x""; drop table y"',
			sql: `create table ipai_bronze_core."x""; drop table y" (id int); select ipai_meta.secure_relation('ipai_bronze_core."x""; drop table y"')`,
		},
		{
			rule: 'bronze_column_hash_shaped_without_source',
			object: 'ipai_bronze_core.hashy.field_0123abcd',
			sql: `create table ipai_bronze_core.hashy (field_0123abcd int); select ipai_meta.secure_relation('ipai_bronze_core.hashy')`,
		},
		{
			rule: 'connector_config_secret',
			object: 'odoo/lint config.headers.Authorization (an Authorization header or Bearer token)',
			sql: `insert into public.ipai_connector_config (connector_type, name, config) values ('odoo', 'lint', '{"headers": {"Authorization": "Bearer abcdefghijklmnop"}}')`,
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
