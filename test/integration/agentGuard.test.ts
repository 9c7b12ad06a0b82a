/**
 * Agent governance against a real PostgreSQL: an agent allowed only ipai_gold_erp reads nothing
 * else by any query text, every call is recorded, deactivation and budgets hold.
 */
import { randomBytes } from 'node:crypto';
import { Client, Pool } from 'pg';
import {
	AgentRefusedError,
	authorize,
	deactivateAgent,
	listAgents,
	logRun,
	query,
	registerAgent,
	updateAgent,
	type AgentGuard,
} from '../../lib/agents';
import { evaluateSlos } from '../../lib/slo/evaluate';
import { useScratchDatabase } from '../helpers/database';

const db = useScratchDatabase();
const tag = randomBytes(3).toString('hex');
const GUARD = `ipai_guard_${tag}`;
const GOLD = `gold_${tag}`; // allowed only ipai_gold_erp
const SLOW = `slow_${tag}`;
const SPEND = `spend_${tag}`;
const SECRET = `SECRET-${tag}`;

let guard: AgentGuard;
let guardPool: Pool;

function guardUrl(): string {
	const url = new URL(db.url);
	url.username = GUARD;
	url.password = '';
	return url.toString();
}

async function runsOf(code: string): Promise<{ status: string; error_message: string | null; input_summary: { sql?: string; tool?: string } }[]> {
	const { rows } = await db.pool.query(
		`select r.status, r.error_message, r.input_summary from public.ipai_agent_run r join public.ipai_agent a on a.id = r.agent_id
		  where a.code_name = $1 order by r.ended_at, r.id`,
		[code],
	);
	return rows;
}

async function expectNoLeak(sql: string): Promise<void> {
	let result: unknown;
	try {
		result = await query(guard, GOLD, sql, { userId: '00000000-0000-4000-8000-000000000001', sessionId: 'attack' });
	} catch (error) {
		expect(String((error as Error).message)).not.toContain(SECRET);
		// Refused by the guard, or stopped by PostgreSQL itself (privilege, syntax, read-only, …) —
		// never by a broken connection, which would prove nothing.
		const code = (error as { code?: string }).code;
		if (!(error instanceof AgentRefusedError)) {
			expect(code).toMatch(/^(42|25|0A|2F|55)/);
		}
		return;
	}
	// Allowed to run (e.g. a catalog view filtered by privilege) — then nothing secret came back.
	expect(JSON.stringify(result)).not.toContain(SECRET);
}

describe('agent guard', () => {
	beforeAll(async () => {
		await db.pool.query(`create role ${GUARD} login; grant ipai_guard to ${GUARD}`);
		await db.pool.query(`
			create table ipai_gold_erp.agent_probe (id integer primary key, note text);
			insert into ipai_gold_erp.agent_probe select g, 'gold row ' || g from generate_series(1, 50) g;
			select ipai_meta.secure_relation('ipai_gold_erp.agent_probe');
			create table ipai_gold_core.other_probe (secret text);
			insert into ipai_gold_core.other_probe values ('${SECRET}');
			select ipai_meta.secure_relation('ipai_gold_core.other_probe');
			create table ipai_silver_erp.silver_probe (secret text);
			insert into ipai_silver_erp.silver_probe select '${SECRET}' from generate_series(1, 100);
			select ipai_meta.secure_relation('ipai_silver_erp.silver_probe');
			analyze ipai_silver_erp.silver_probe;
			create table ipai_bronze_erp.bronze_probe (secret text);
			insert into ipai_bronze_erp.bronze_probe values ('${SECRET}');
			select ipai_meta.secure_relation('ipai_bronze_erp.bronze_probe');
			create extension if not exists dblink with schema extensions;
			insert into public.ipai_audit_log (event_type, entity_type, action, details) values ('app_action', 'app', 'probe', '{"s": "${SECRET}"}');
		`);
		guardPool = new Pool({ connectionString: guardUrl(), max: 4 });
		guardPool.on('error', () => undefined);
		guard = { pool: guardPool, connection: { connectionString: guardUrl() } };
		await registerAgent(guardPool, {
			codeName: GOLD, displayName: 'Gold finance reader', agentType: 'claude',
			allowedTools: ['lakehouse_query', 'web_search'], allowedSchemas: ['ipai_gold_erp'], allowedOperations: ['read'],
			costBudgetUsd: 5, latencyBudgetMs: 5000, config: { max_rows: 20 },
		});
	});

	afterAll(async () => {
		await guardPool?.end();
		// Roles are cluster-wide: remove what this file created before the scratch database goes.
		const { rows } = await db.pool.query<{ login_name: string }>('select login_name from public.ipai_agent_credential');
		for (const role of [...rows.map((r) => r.login_name), GUARD]) {
			await db.pool.query(`drop owned by "${role}"; drop role if exists "${role}"`).catch(() => undefined);
		}
	});

	it('registers the agent as its own login: member of nothing, no CREATE, only its schema', async () => {
		const login = `ipai_agent_${GOLD}`;
		const { rows } = await db.pool.query(
			`select r.rolcanlogin, r.rolinherit, r.rolsuper, r.rolcreaterole, r.rolcreatedb, r.rolbypassrls,
			        (select count(*) from pg_auth_members m where m.member = r.oid)::int as memberships,
			        has_schema_privilege($1, 'ipai_gold_erp', 'usage') as gold_usage,
			        (select bool_or(has_schema_privilege($1, n.oid, 'create')) from pg_namespace n) as any_create,
			        (select array_agg(nspname::text order by nspname) from pg_namespace n where has_schema_privilege($1, n.oid, 'usage') and nspname like 'ipai%') as usable,
			        has_table_privilege($1, 'public.ipai_audit_log', 'select') as audit,
			        has_table_privilege($1, 'ipai_gold_erp.agent_probe', 'select') as probe
			   from pg_roles r where r.rolname = $1`,
			[login],
		);
		expect(rows[0]).toEqual({
			rolcanlogin: true, rolinherit: false, rolsuper: false, rolcreaterole: false, rolcreatedb: false, rolbypassrls: false,
			memberships: 0, gold_usage: true, any_create: false, usable: ['ipai_gold_erp'], audit: false, probe: true,
		});
		// Connector logins (ipai_ingest) neither read agent credentials nor change the registry.
		const ingest = await db.pool.query(
			`select has_table_privilege('ipai_ingest', 'public.ipai_agent_credential', 'select') as cred,
			        has_table_privilege('ipai_ingest', 'public.ipai_agent', 'update') as registry,
			        has_function_privilege('ipai_ingest', 'ipai_meta.agent_sync(uuid)', 'execute') as sync,
			        has_function_privilege('authenticated', 'ipai_meta.agent_sync(uuid)', 'execute') as api_sync`,
		);
		expect(ingest.rows[0]).toEqual({ cred: false, registry: false, sync: false, api_sync: false });
		const agents = await listAgents(guardPool);
		expect(agents.map((a) => a.codeName)).toContain(GOLD);
	});

	it('answers an allowed query with capped rows, and records it', async () => {
		const result = await query(guard, GOLD, 'select id, note from ipai_gold_erp.agent_probe order by id', { userId: '00000000-0000-4000-8000-000000000002', sessionId: 's1' });
		expect(result.rowCount).toBe(20);
		expect(result.truncated).toBe(true);
		expect(result.rows[0]).toEqual({ id: 1, note: 'gold row 1' });
		const small = await query(guard, GOLD, '/* leading comment */ (select count(*)::int as n from ipai_gold_erp.agent_probe)', { maxRows: 5 });
		expect(small.rows).toEqual([{ n: 50 }]);
		const { rows } = await db.pool.query(`select status, user_id, session_id, output_summary from public.ipai_agent_run where id = $1`, [result.runId]);
		expect(rows[0]).toEqual({ status: 'success', user_id: '00000000-0000-4000-8000-000000000002', session_id: 's1', output_summary: { rows: 20, truncated: true, columns: ['id', 'note'] } });
		const audit = await db.pool.query(`select count(*)::int as n from public.ipai_audit_log where details->>'run_id' = $1`, [result.runId]);
		expect(audit.rows[0].n).toBe(1);
	});

	it('reads the gold finance tables and functions of issue 7 where they exist', async () => {
		const { rows } = await db.pool.query(`select to_regclass('ipai_gold_erp.profit_and_loss') is not null as present`);
		if (!rows[0].present) return; // the ERP transforms are not in this tree
		await expect(query(guard, GOLD, 'select count(*)::int as n from ipai_gold_erp.profit_and_loss')).resolves.toMatchObject({ rows: [{ n: 0 }] });
		await expect(query(guard, GOLD, 'select * from ipai_gold_erp.balance_sheet(current_date)')).resolves.toMatchObject({ rowCount: 0 });
		await expect(query(guard, GOLD, 'select * from ipai_silver_erp.build_profit_and_loss')).rejects.toThrow(/permission denied/);
	});

	const attacks: [string, string][] = [
		['bronze, schema-qualified', 'select * from ipai_bronze_erp.bronze_probe'],
		['silver through UNION', 'select note from ipai_gold_erp.agent_probe union all select secret from ipai_silver_erp.silver_probe'],
		['other gold through a CTE', 'with x as (select * from ipai_gold_core.other_probe) select * from x'],
		['audit log in a sub-query', 'select (select string_agg(details::text, \',\') from public.ipai_audit_log) as a'],
		['agent credentials', 'select * from public.ipai_agent_credential'],
		['control tables', 'select * from public.ipai_agent_run'],
		['connector config', 'select * from public.ipai_connector_config'],
		['pg_read_file', "select pg_read_file('/etc/hostname')"],
		['lo_import', "select lo_import('/etc/hostname')"],
		['dblink', `select * from extensions.dblink('dbname=postgres user=postgres', 'select 1') as t(x int)`],
		['dblink unqualified', `select dblink_connect('dbname=postgres user=postgres')`],
		['query_to_xml', "select query_to_xml('select * from ipai_silver_erp.silver_probe', true, false, '')"],
		['table_to_xml', "select table_to_xml('ipai_bronze_erp.bronze_probe'::regclass, true, false, '')"],
		['set_config role none, then SQL text', "select set_config('role', 'none', true), query_to_xml('select * from ipai_silver_erp.silver_probe', true, false, '')"],
		['set_config role postgres', "select set_config('role', 'postgres', true), query_to_xml('select * from public.ipai_audit_log', true, false, '')"],
		['set_config role ipai_ingest', "select set_config('role', 'ipai_ingest', true), query_to_xml('select * from public.ipai_audit_log', true, false, '')"],
		['set_config session_authorization', "select set_config('session_authorization', 'postgres', true)"],
		['current_setting', "select current_setting('role') as r, current_user as u, session_user as s, query_to_xml('select * from ipai_gold_core.other_probe', true, false, '')"],
		['set role', 'set role postgres'],
		['reset role', 'reset role'],
		['set session authorization', 'set session authorization postgres'],
		['comment before set role', '/* hi */ -- there\n set role ipai_ingest'],
		['comment hiding a second statement', 'select 1 as x; -- harmless\n select * from ipai_silver_erp.silver_probe'],
		['multiple statements', 'select 1; select * from ipai_bronze_erp.bronze_probe'],
		['statement after block comment', 'select 1 /* ; */; select secret from ipai_gold_core.other_probe'],
		['unterminated comment', 'select 1 /* '],
		['close the wrapper', 'select 1) q, lateral (select secret from ipai_silver_erp.silver_probe'],
		['set search_path', 'set search_path = ipai_silver_erp'],
		['unqualified name', 'select * from silver_probe'],
		['search_path by set_config then SQL text', "select set_config('search_path', 'ipai_silver_erp, public', true), query_to_xml('select * from silver_probe', true, false, '')"],
		['ipai_meta functions', "select ipai_meta.agent_sync(id) from (values ('00000000-0000-0000-0000-000000000000'::uuid)) v(id)"],
		['pg_statistic', 'select * from pg_catalog.pg_statistic'],
		['pg_stats of silver', "select most_common_vals::text from pg_catalog.pg_stats where schemaname = 'ipai_silver_erp'"],
		['pg_authid', 'select rolname, rolpassword from pg_catalog.pg_authid'],
		['writing CTE', 'with d as (delete from ipai_gold_erp.agent_probe returning *) select * from d'],
		['select for update', 'select * from ipai_gold_erp.agent_probe for update'],
		['read-write by set_config', "select set_config('transaction_read_only', 'off', true)"],
		['DO', "do $$ begin perform 1; end $$"],
		['CALL', 'call pg_catalog.pg_sleep(0)'],
		['COPY', "copy ipai_silver_erp.silver_probe to program 'cat'"],
		['COMMIT', 'commit'],
		['ROLLBACK then select', 'rollback; select * from ipai_bronze_erp.bronze_probe'],
		['RESET ALL', 'reset all'],
	];

	it.each(attacks)('cannot escape: %s', async (_name, sql) => {
		const before = (await runsOf(GOLD)).length;
		await expectNoLeak(sql);
		const runs = await runsOf(GOLD);
		expect(runs.length).toBe(before + 1);
		expect(runs[runs.length - 1].input_summary.sql).toBe(sql);
	});

	it('refuses non-queries with a clear reason before touching the database', async () => {
		await expect(query(guard, GOLD, 'set role postgres')).rejects.toThrow(/may only run one read-only query.*"SET"/);
		const runs = await runsOf(GOLD);
		expect(runs[runs.length - 1]).toMatchObject({ status: 'refused' });
		await expect(query(guard, GOLD, 'select * from ipai_silver_erp.silver_probe')).rejects.toThrow(/permission denied for schema ipai_silver_erp/);
		const after = await runsOf(GOLD);
		expect(after[after.length - 1]).toMatchObject({ status: 'failed' });
	});

	it('a shared guard login with SET LOCAL ROLE would be escapable (why each agent has its own login)', async () => {
		// Demonstrates the attack the design avoids: the SET ROLE check uses the session user.
		const role = `ipai_setrole_${tag}`;
		await db.pool.query(`create role ${role} nologin noinherit; grant ${role} to ${GUARD}; grant usage on schema ipai_silver_erp to ${GUARD}; grant select on ipai_silver_erp.silver_probe to ${GUARD};
		                     create policy p_${tag} on ipai_silver_erp.silver_probe for select to ${GUARD} using (true)`);
		const c = new Client({ connectionString: guardUrl() });
		await c.connect();
		try {
			await c.query('begin read only');
			await c.query(`set local role ${role}`);
			const { rows } = await c.query(`select set_config('role', 'none', true), query_to_xml('select * from ipai_silver_erp.silver_probe limit 1', true, false, '')::text as x`);
			expect(rows[0].x).toContain(SECRET);
			await c.query('rollback');
		} finally {
			await c.end();
			await db.pool.query(`drop policy p_${tag} on ipai_silver_erp.silver_probe; revoke select on ipai_silver_erp.silver_probe from ${GUARD}; revoke usage on schema ipai_silver_erp from ${GUARD}; drop role ${role}`);
		}
		// The same text through the guard runs as the agent's own login and fails.
		await expect(query(guard, GOLD, `select set_config('role', 'none', true), query_to_xml('select * from ipai_silver_erp.silver_probe limit 1', true, false, '')::text as x`))
			.rejects.toThrow(/permission denied/);
	});

	it('authorizes tools, schemas and operations with reasons, and records refusals', async () => {
		await expect(authorize(guard, GOLD, { tool: 'web_search', operation: 'read', schema: 'ipai_gold_erp' })).resolves.toMatchObject({ allowed: true });
		await expect(authorize(guard, GOLD, { tool: 'shell', operation: 'read' })).resolves.toMatchObject({ allowed: false, code: 'tool_not_allowed', reason: expect.stringContaining('"shell"') });
		await expect(authorize(guard, GOLD, { operation: 'write', schema: 'ipai_gold_erp' })).resolves.toMatchObject({ allowed: false, code: 'operation_not_allowed' });
		await expect(authorize(guard, GOLD, { operation: 'read', schema: 'ipai_silver_erp' })).resolves.toMatchObject({ allowed: false, code: 'schema_not_allowed', reason: expect.stringContaining('ipai_silver_erp') });
		await expect(authorize(guard, 'nobody_here', { operation: 'read' })).resolves.toMatchObject({ allowed: false, code: 'unknown_agent' });
		const refused = (await runsOf(GOLD)).filter((r) => r.status === 'refused' && r.input_summary.tool !== 'query');
		expect(refused.length).toBe(3);
	});

	it('holds the per-run latency budget and the per-day cost budget', async () => {
		await registerAgent(guardPool, { codeName: SLOW, displayName: 'Slow', allowedSchemas: ['ipai_gold_erp'], latencyBudgetMs: 300, config: { daily_latency_budget_ms: 100_000 } });
		await expect(query(guard, SLOW, 'select pg_sleep(2) as s')).rejects.toThrow(/Over the latency budget of 300 ms/);
		// Lifting the timeout from inside the statement does not lift the budget.
		await expect(query(guard, SLOW, "select set_config('statement_timeout', '0', true) as t, pg_sleep(2) as s")).rejects.toThrow(/Over the latency budget of 300 ms/);
		let runs = await runsOf(SLOW);
		expect(runs.map((r) => r.status)).toEqual(['failed', 'failed']);

		await registerAgent(guardPool, { codeName: SPEND, displayName: 'Spender', allowedTools: ['llm'], allowedSchemas: ['ipai_gold_erp'], costBudgetUsd: 1, config: { max_run_cost_usd: 0.7 } });
		await expect(authorize(guard, SPEND, { tool: 'llm', operation: 'read', estimatedCostUsd: 0.9 })).resolves.toMatchObject({ allowed: false, code: 'run_cost_budget' });
		await expect(logRun(guard, SPEND, { tool: 'llm', status: 'success', costUsd: 0.6, tokensUsed: 1200, latencyMs: 800 }, { sessionId: 'b' })).resolves.toMatchObject({ status: 'success', overBudget: [] });
		await expect(logRun(guard, SPEND, { tool: 'llm', status: 'success', costUsd: 0.5, latencyMs: 100 })).resolves.toMatchObject({ status: 'failed', overBudget: ['daily_cost'] });
		await expect(authorize(guard, SPEND, { tool: 'llm', operation: 'read', estimatedCostUsd: 0.01 })).resolves.toMatchObject({ allowed: false, code: 'daily_cost_budget' });
		await expect(query(guard, SPEND, 'select 1 as one')).rejects.toMatchObject({ code: 'daily_cost_budget' });
		runs = await runsOf(SPEND);
		expect(runs.map((r) => r.status)).toEqual(['refused', 'success', 'failed', 'refused', 'refused']);
		const { rows } = await db.pool.query(
			`select u.calls, u.cost_usd::float8 as cost, u.refused, u.failed from public.ipai_agent_usage_day u join public.ipai_agent a on a.id = u.agent_id where a.code_name = $1`,
			[SPEND],
		);
		expect(rows[0]).toEqual({ calls: 5, cost: 1.1, refused: 3, failed: 1 });

		// Over-budget runs are failures, so the SLO monitor's agent SLOs count them (refusals, made
		// before any work, are not run failures and stay out of the failure SLO).
		const { statuses } = await evaluateSlos(db.pool, { slos: ['agent-failures-per-day'] });
		expect(statuses.find((st) => st.target.name === SPEND)).toMatchObject({ events: 2, badEvents: 1 });
		expect(statuses.find((st) => st.target.name === SLOW)).toMatchObject({ events: 2, badEvents: 2 });

		// Daily latency budget: the slow agent's total is lowered below what it used.
		await updateAgent(guardPool, { codeName: SLOW, config: { daily_latency_budget_ms: 100 } });
		await expect(query(guard, SLOW, 'select 1 as one')).rejects.toMatchObject({ code: 'daily_latency_budget' });
	});

	it('refuses a deactivated agent, whose login can no longer connect', async () => {
		await deactivateAgent(guardPool, GOLD);
		await expect(query(guard, GOLD, 'select * from ipai_gold_erp.agent_probe')).rejects.toBeInstanceOf(AgentRefusedError);
		await expect(authorize(guard, GOLD, { operation: 'read' })).resolves.toMatchObject({ allowed: false, code: 'inactive' });
		const { rows } = await db.pool.query(`select rolcanlogin, has_schema_privilege(rolname, 'ipai_gold_erp', 'usage') as usage from pg_roles where rolname = $1`, [`ipai_agent_${GOLD}`]);
		expect(rows[0]).toEqual({ rolcanlogin: false, usage: false });
		const runs = await runsOf(GOLD);
		expect(runs.slice(-2).map((r) => r.status)).toEqual(['refused', 'refused']);
		expect((await listAgents(guardPool)).map((a) => a.codeName)).not.toContain(GOLD);
		expect((await listAgents(guardPool, { includeInactive: true })).map((a) => a.codeName)).toContain(GOLD);
	});

	it('validates registrations with actionable errors', async () => {
		await expect(registerAgent(guardPool, { codeName: 'Bad Name', displayName: 'x' })).rejects.toThrow(/lower-case letters/);
		await expect(registerAgent(guardPool, { codeName: `x_${tag}`, displayName: 'x', allowedSchemas: ['public'] })).rejects.toThrow(/not a lakehouse data schema/);
		await expect(registerAgent(guardPool, { codeName: GOLD, displayName: 'again' })).rejects.toThrow(/already registered/);
	});
});
