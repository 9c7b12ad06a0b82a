/**
 * A security lint over the live catalog, in the spirit of Supabase's splinter. It holds every
 * object in an exposed schema (public and the ipai_* lakehouse layers) to the design's rules and
 * names each offender, so CI fails on the object rather than on a vague count.
 */
import type { Queryable } from './connection';
import { looksLikeSecret, secretKind } from './secrets';

export interface SecurityFinding {
	rule: string;
	object: string;
	detail: string;
}

const EXPOSED = `(n.nspname = 'public' or n.nspname ~ '^ipai_(bronze|silver|gold|platinum)_')`;
const OURS = `(${EXPOSED} or n.nspname = 'ipai_meta')`;
const NOT_EXTENSION_MEMBER = `not exists (select 1 from pg_depend d where d.objid = c.oid and d.deptype = 'e')`;

interface Rule {
	name: string;
	/** A query returning one `object` per offender; or check, for what SQL cannot judge. */
	sql?: string;
	check?: (client: Queryable) => Promise<string[]>;
	detail: string;
}

/** Roles of the product and of the API that must never rewrite history. */
const NON_OWNER_ROLES = `(values ('ipai_ingest'), ('ipai_transform'), ('ipai_read'), ('ipai_guard'), ('anon'), ('authenticated')) as w(role)`;
const AGENT_LOGINS = `(select c.login_name, c.agent_id from public.ipai_agent_credential c join pg_roles r on r.rolname = c.login_name where r.rolcanlogin)`;

const RULES: Rule[] = [
	{
		name: 'rls_disabled',
		detail: 'table in an exposed or ipai_meta schema without row level security',
		sql: `select format('%I.%I', n.nspname, c.relname) as object
		        from pg_class c join pg_namespace n on n.oid = c.relnamespace
		       where c.relkind in ('r', 'p') and ${OURS} and not c.relrowsecurity and ${NOT_EXTENSION_MEMBER}`,
	},
	{
		name: 'ledger_history_writable',
		detail: 'a role other than the owner can delete run history or change SLO definitions (ledger and SLO changes go through their owners)',
		sql: `with checks(tbl, privilege) as (
		        values ('public.ipai_connector_run', 'delete'), ('public.ipai_connector_run', 'truncate'),
		               ('public.ipai_agent_run', 'delete'), ('public.ipai_agent_run', 'truncate'),
		               ('public.ipai_connector_config', 'delete'), ('public.ipai_connector_config', 'truncate'),
		               ('public.ipai_audit_log', 'update'), ('public.ipai_audit_log', 'delete'), ('public.ipai_audit_log', 'truncate'),
		               ('public.ipai_slo', 'insert'), ('public.ipai_slo', 'update'), ('public.ipai_slo', 'delete'), ('public.ipai_slo', 'truncate'))
		      select format('%s (%s by %s)', k.tbl, k.privilege, w.role) as object
		        from checks k cross join ${NON_OWNER_ROLES}
		       where to_regclass(k.tbl) is not null and exists (select 1 from pg_roles where rolname = w.role)
		         and has_table_privilege(w.role, k.tbl, k.privilege)`,
	},
	{
		name: 'audit_time_writable',
		detail: 'a role can choose an audit row\'s id or created_at (the server sets them)',
		sql: `select format('public.ipai_audit_log.%s (insert by %s)', col, w.role) as object
		        from (values ('id'), ('created_at')) as cols(col)
		        cross join (select role from ${NON_OWNER_ROLES} union all select 'service_role') w
		       where exists (select 1 from pg_roles where rolname = w.role)
		         and has_column_privilege(w.role, 'public.ipai_audit_log', col, 'insert')`,
	},
	{
		name: 'records_trigger_missing',
		detail: 'a trigger that keeps the records honest is missing or disabled',
		sql: `select format('%s trigger %s', t.tbl, t.trigger) as object
		        from (values ('public.ipai_connector_run', 'ipai_connector_run_ended_is_history'),
		                     ('public.ipai_agent_run', 'ipai_agent_run_ended_is_history'),
		                     ('public.ipai_audit_log', 'ipai_audit_log_server_fields'),
		                     ('public.ipai_audit_log', 'ipai_audit_log_no_update_delete'),
		                     ('public.ipai_audit_log', 'ipai_audit_log_no_truncate')) as t(tbl, trigger)
		       where not exists (select 1 from pg_trigger g where g.tgrelid = to_regclass(t.tbl) and g.tgname = t.trigger and g.tgenabled <> 'D')`,
	},
	{
		name: 'agent_login_connect_elsewhere',
		detail: 'an agent login may connect to another database on this server: revoke CONNECT there from PUBLIC (and the login), and limit agent logins in pg_hba.conf',
		sql: `select format('%I → database %I', a.login_name, d.datname) as object
		        from ${AGENT_LOGINS} a cross join pg_database d
		       where d.datallowconn and d.datname <> current_database()
		         and has_database_privilege(a.login_name, d.oid, 'connect')`,
	},
	{
		name: 'agent_login_role_settings',
		detail: 'an agent login carries role settings the guard did not give it (the next Authorize/Query resets them and refuses)',
		sql: `select format('%I: %s', a.login_name, cfg) as object
		        from ${AGENT_LOGINS} a
		        join pg_roles r on r.rolname = a.login_name
		        join pg_db_role_setting s on s.setrole = r.oid
		        cross join lateral unnest(s.setconfig) cfg
		       where s.setdatabase <> 0 or not (cfg = any (ipai_meta.agent_expected_settings(a.agent_id)))`,
	},
	{
		name: 'agent_scope_not_two_part',
		detail: 'an agent scope entry is not a lakehouse data schema or schema.relation',
		sql: `select format('%s: %s', a.code_name, e) as object
		        from public.ipai_agent a cross join unnest(a.allowed_schemas) e
		       where e !~ '^ipai_(bronze|silver|gold|platinum)_[a-z0-9_]+(\\.[A-Za-z0-9_]+)?$'`,
	},
	{
		name: 'bronze_table_name_unusable',
		detail: 'bronze table whose name needs quoting (Load Items and the sources name tables in snake_case)',
		sql: `select format('%I.%I', n.nspname, c.relname) as object
		        from pg_class c join pg_namespace n on n.oid = c.relnamespace
		       where c.relkind in ('r', 'p') and n.nspname ~ '^ipai_bronze_' and c.relname !~ '^[a-z_][a-z0-9_]*$'`,
	},
	{
		name: 'bronze_column_hash_shaped_without_source',
		detail: 'bronze column named like a shortened long name (…_<8 hex>) but recording no source field: two source fields may share it',
		sql: `select format('%I.%I.%I', n.nspname, c.relname, a.attname) as object
		        from pg_attribute a join pg_class c on c.oid = a.attrelid join pg_namespace n on n.oid = c.relnamespace
		       where c.relkind in ('r', 'p') and n.nspname ~ '^ipai_bronze_' and a.attnum > 0 and not a.attisdropped
		         and a.attname ~ '_[0-9a-f]{8}$' and coalesce(col_description(c.oid, a.attnum), '') !~ '^source field: '`,
	},
	{
		name: 'connector_config_secret',
		detail: 'connector config holds a value that looks like a secret (readable by platform staff): move it to the n8n credential or Vault (vault_secret_refs)',
		check: async (client) => {
			const { rows } = await client.query<{ connector_type: string; name: string; config: unknown }>(
				'select connector_type, name, config from public.ipai_connector_config order by connector_type, name',
			);
			const out: string[] = [];
			const walk = (value: unknown, path: string, owner: string) => {
				if (typeof value === 'string') {
					if (looksLikeSecret(value)) out.push(`${owner} ${path} (${secretKind(value)})`);
				} else if (value && typeof value === 'object') {
					for (const [k, v] of Object.entries(value)) walk(v, `${path}.${k}`, owner);
				}
			};
			for (const r of rows) walk(r.config, 'config', `${r.connector_type}/${r.name}`);
			return out;
		},
	},
	{
		name: 'view_not_security_invoker',
		detail: 'view runs with its owner\'s rights (set security_invoker = true)',
		sql: `select format('%I.%I', n.nspname, c.relname) as object
		        from pg_class c join pg_namespace n on n.oid = c.relnamespace
		       where c.relkind = 'v' and ${EXPOSED} and ${NOT_EXTENSION_MEMBER}
		         and not exists (select 1 from unnest(coalesce(c.reloptions, '{}')) o
		                          where o ~* '^security_invoker=(true|on|yes|1)$')`,
	},
	{
		name: 'materialized_view_exposed',
		detail: 'materialized view (no RLS possible) readable by anon or authenticated',
		sql: `select format('%I.%I', n.nspname, c.relname) as object
		        from pg_class c join pg_namespace n on n.oid = c.relnamespace
		       where c.relkind = 'm' and ${EXPOSED}
		         and (has_table_privilege('anon', c.oid, 'select') or has_table_privilege('authenticated', c.oid, 'select'))`,
	},
	{
		name: 'function_search_path_mutable',
		detail: 'function without a fixed search_path (set search_path = \'\')',
		sql: `select format('%I.%I(%s)', n.nspname, p.proname, pg_get_function_identity_arguments(p.oid)) as object
		        from pg_proc p join pg_namespace n on n.oid = p.pronamespace
		       where ${OURS} and p.prokind in ('f', 'p')
		         and not exists (select 1 from pg_depend d where d.objid = p.oid and d.deptype = 'e')
		         and not exists (select 1 from unnest(coalesce(p.proconfig, '{}')) cfg where cfg like 'search_path=%')`,
	},
	{
		name: 'security_definer_executable_by_anon',
		detail: 'SECURITY DEFINER function callable by anon',
		sql: `select format('%I.%I(%s)', n.nspname, p.proname, pg_get_function_identity_arguments(p.oid)) as object
		        from pg_proc p join pg_namespace n on n.oid = p.pronamespace
		       where ${OURS} and p.prosecdef
		         and not exists (select 1 from pg_depend d where d.objid = p.oid and d.deptype = 'e')
		         and has_function_privilege('anon', p.oid, 'execute')`,
	},
	{
		name: 'anon_grant_without_policy',
		detail: 'anon holds a privilege that no policy for anon uses',
		sql: `with privileges(privilege, command) as (
		        values ('select', 'r'), ('insert', 'a'), ('update', 'w'), ('delete', 'd'),
		               ('truncate', null), ('references', null), ('trigger', null))
		      select format('%I.%I (%s)', n.nspname, c.relname, p.privilege) as object
		        from pg_class c join pg_namespace n on n.oid = c.relnamespace cross join privileges p
		       where c.relkind in ('r', 'p', 'v', 'f') and ${EXPOSED}
		         and has_table_privilege('anon', c.oid, p.privilege)
		         and (c.relkind = 'v' or p.command is null or not exists (
		               select 1 from pg_policy pol
		                where pol.polrelid = c.oid and pol.polcmd in (p.command::"char", '*')
		                  and (pol.polroles @> array[0::oid] or pol.polroles @> array[(select oid from pg_roles where rolname = 'anon')])))`,
	},
	{
		name: 'policy_auth_call_per_row',
		detail: 'policy calls an auth/jwt function per row; wrap it as (select …) so it runs once per statement',
		sql: `select format('%I.%I policy %I', pol.schemaname, pol.tablename, pol.policyname) as object
		        from pg_policies pol
		       where (pol.schemaname = 'public' or pol.schemaname ~ '^ipai_')
		         and exists (
		           select 1 from regexp_matches(coalesce(pol.qual, '') || ' ' || coalesce(pol.with_check, ''),
		                                       '(\\S*)\\s*((auth\\.(uid|jwt|role|email))|(ipai_meta\\.jwt_\\w+))\\(\\)', 'g') m
		            where upper(m[1]) <> 'SELECT')`,
	},
];

export async function runSecurityLint(client: Queryable): Promise<SecurityFinding[]> {
	const findings: SecurityFinding[] = [];
	for (const rule of RULES) {
		const objects = rule.check ? await rule.check(client) : (await client.query<{ object: string }>(rule.sql!)).rows.map((r) => r.object);
		for (const object of objects) findings.push({ rule: rule.name, object, detail: rule.detail });
	}
	return findings.sort((a, b) => a.rule.localeCompare(b.rule) || a.object.localeCompare(b.object));
}

export function formatFindings(findings: SecurityFinding[]): string {
	return findings.map((f) => `${f.rule}: ${f.object} — ${f.detail}`).join('\n');
}
