/**
 * A security lint over the live catalog, in the spirit of Supabase's splinter. It holds every
 * object in an exposed schema (public and the ipai_* lakehouse layers) to the design's rules and
 * names each offender, so CI fails on the object rather than on a vague count.
 */
import type { Queryable } from './connection';

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
	sql: string;
	detail: string;
}

const RULES: Rule[] = [
	{
		name: 'rls_disabled',
		detail: 'table in an exposed schema without row level security',
		sql: `select format('%I.%I', n.nspname, c.relname) as object
		        from pg_class c join pg_namespace n on n.oid = c.relnamespace
		       where c.relkind in ('r', 'p') and ${EXPOSED} and not c.relrowsecurity and ${NOT_EXTENSION_MEMBER}`,
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
		const { rows } = await client.query<{ object: string }>(rule.sql);
		for (const row of rows) findings.push({ rule: rule.name, object: row.object, detail: rule.detail });
	}
	return findings.sort((a, b) => a.rule.localeCompare(b.rule) || a.object.localeCompare(b.object));
}

export function formatFindings(findings: SecurityFinding[]): string {
	return findings.map((f) => `${f.rule}: ${f.object} — ${f.detail}`).join('\n');
}
