/**
 * Agent governance against a real PostgreSQL: an agent allowed only ipai_gold_erp reads nothing
 * else by any query text, every call is recorded, deactivation and budgets hold.
 */
import { randomBytes } from 'node:crypto';
import { Client, Pool } from 'pg';
import {
	agentPoolSessions,
	AgentRefusedError,
	authorize,
	closeAgentPools,
	deactivateAgent,
	listAgents,
	logRun,
	query,
	registerAgent,
	syncAgent,
	updateAgent,
	type AgentGuard,
} from '../../lib/agents';
import { evaluateSlos } from '../../lib/slo/evaluate';
import { buildPost } from '../../lib/slo/mattermostPosts';
import { runEvaluation } from '../../lib/slo/alertState';
import { useScratchDatabase } from '../../tooling/helpers/database';

const db = useScratchDatabase();
const tag = randomBytes(3).toString('hex');
const GUARD = `ipai_guard_${tag}`;
const GOLD = `gold_${tag}`; // allowed only ipai_gold_erp
const SLOW = `slow_${tag}`;
const SPEND = `spend_${tag}`;
const SECRET = `SECRET-${tag}`;
const WARN = `warn_${tag}`;
const RACE = `race_${tag}`;
const RACE_LATENCY = `racelat_${tag}`;
const LOGS = `logs_${tag}`;
const RES = `res_${tag}`;
const QCAP = `qcap_${tag}`;
const VAULTED = `vaulted_${tag}`;
const FRESH = `fresh_${tag}`;

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
		await closeAgentPools();
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

	it('alerts through the SLO monitor when a daily budget stops calls: which agent, which budget, used vs limit, what to do', async () => {
		// SPEND (previous test) spent $1.10 of $1: one logged run pushed it over, two calls were refused.
		const result = await runEvaluation(db.pool, { slos: ['agent-budget'] });
		const spend = result.statuses.find((st) => st.target.name === SPEND)!;
		expect(spend.status).toBe('page');
		expect(spend.budgets!.find((b) => b.kind === 'daily_cost')).toMatchObject({ state: 'exhausted', limit: 1, used: 1.1, events: 3, severities: ['page', 'ticket'] });
		// One per-run cost refusal is below params.min_run_events (3): no alert for that budget.
		expect(spend.budgets!.find((b) => b.kind === 'run_cost')).toMatchObject({ state: 'ok', limit: 0.7, used: 0.9, events: 1 });
		// 4 calls stopped by a budget (the refusals and the over-budget run) out of 5.
		expect(spend).toMatchObject({ events: 5, badEvents: 4 });

		const due = result.due.filter((d) => d.payload.labels.agent === SPEND);
		expect(due.map((d) => `${d.kind}/${d.severity}/${d.payload.labels.budget}`)).toEqual(['firing/page/daily_cost']); // the ticket is muted by the page
		const post = buildPost(due[0]);
		expect(post.text).toContain(`agent ${SPEND}: daily cost budget spent, calls refused`);
		expect(post.text).toContain(`Agent ${SPEND} has used $1.1 of its daily cost budget of $1`);
		expect(post.text).toMatch(/3 calls refused today/);
		const fields = Object.fromEntries(post.attachments[0].fields.map((f) => [f.title, f.value]));
		expect(fields.Budget).toMatch(/^daily cost: \$1\.1 of \$1 \(UTC \d{4}-\d\d-\d\d\)$/);
		expect(fields['What to do']).toMatch(/raise the daily cost budget \(cost_budget_usd\) with IPAI Agent Guard › Register or Update/);
		expect(fields['Burn rate']).toBeUndefined();
		expect(post.priority).toEqual({ priority: 'urgent', requested_ack: true });

		// Refusals for permissions are not budget events: GOLD was refused many times above.
		const gold = result.statuses.find((st) => st.target.name === GOLD)!;
		const { rows } = await db.pool.query(
			`select count(*)::int as n from public.ipai_agent_run r join public.ipai_agent a on a.id = r.agent_id where a.code_name = $1 and r.status = 'refused'`,
			[GOLD],
		);
		expect(rows[0].n).toBeGreaterThan(5);
		expect(gold).toMatchObject({ status: 'ok', badEvents: 0 });
		expect(gold.budgets!.every((b) => b.state === 'ok' && b.events === 0)).toBe(true);
		// Two per-run latency breaches of SLOW stay under the run-budget threshold.
		expect(result.statuses.find((st) => st.target.name === SLOW)!.budgets!.find((b) => b.kind === 'run_latency')).toMatchObject({ state: 'ok', events: 2, limit: 300 });

		// Raising the budget above the spend resolves the alert (the refusals were against $1).
		await updateAgent(guardPool, { codeName: SPEND, costBudgetUsd: 5 });
		const after = await runEvaluation(db.pool, { slos: ['agent-budget'] });
		expect(after.statuses.find((st) => st.target.name === SPEND)).toMatchObject({ status: 'ok' });
		expect(after.alerts.filter((a) => a.labels.agent === SPEND && a.state === 'firing')).toEqual([]);
	});

	it('opens tickets at 80% of a daily budget and for repeated per-run budget breaches', async () => {
		await registerAgent(guardPool, { codeName: WARN, displayName: 'Warn', allowedTools: ['llm'], allowedSchemas: ['ipai_gold_erp'], costBudgetUsd: 1, config: { max_run_cost_usd: 0.9 } });
		await expect(logRun(guard, WARN, { tool: 'llm', status: 'success', costUsd: 0.85, latencyMs: 10 })).resolves.toMatchObject({ status: 'success' });
		for (let i = 0; i < 3; i++) {
			await expect(authorize(guard, WARN, { tool: 'llm', operation: 'read', estimatedCostUsd: 0.95 })).resolves.toMatchObject({ allowed: false, code: 'run_cost_budget', budget: { kind: 'run_cost', limit: 0.9, used: 0.95 } });
		}
		const result = await runEvaluation(db.pool, { slos: ['agent-budget'] });
		const warn = result.statuses.find((st) => st.target.name === WARN)!;
		expect(warn.status).toBe('ticket');
		expect(warn.budgets).toEqual(expect.arrayContaining([
			expect.objectContaining({ kind: 'daily_cost', state: 'warning', used: 0.85, limit: 1, severities: ['ticket'] }),
			expect.objectContaining({ kind: 'run_cost', state: 'breaking', used: 0.95, limit: 0.9, events: 3, severities: ['ticket'] }),
		]));
		const due = result.due.filter((d) => d.payload.labels.agent === WARN).map((d) => buildPost(d).text).sort();
		expect(due).toHaveLength(2);
		expect(due[0]).toContain(`agent ${WARN}: 3 calls over its per-run cost budget in 1h`);
		expect(due[0]).toContain('broke its per-run cost budget of $0.9 in the last 1h (the largest cost $0.95)');
		expect(due[1]).toContain(`agent ${WARN}: 85% of its daily cost budget used`);
	});

	it('holds a daily budget under concurrency: of 25 simultaneous calls on separate connections exactly the 10 that fit pass', async () => {
		const wide = new Pool({ connectionString: guardUrl(), max: 30 });
		wide.on('error', () => undefined);
		const g: AgentGuard = { pool: wide, connection: guard.connection };
		try {
			await registerAgent(guardPool, { codeName: RACE, displayName: 'Race', allowedTools: ['llm'], allowedSchemas: ['ipai_gold_erp'], costBudgetUsd: 1 });
			await registerAgent(guardPool, { codeName: RACE_LATENCY, displayName: 'Race latency', allowedTools: ['llm'], allowedSchemas: ['ipai_gold_erp'], latencyBudgetMs: 300, config: { daily_latency_budget_ms: 1000 } });
			// 25 open connections first, so the calls below really run side by side.
			const clients = await Promise.all(Array.from({ length: 25 }, () => wide.connect()));
			clients.forEach((c) => c.release());

			const results = await Promise.all(Array.from({ length: 25 }, (_, i) => authorize(g, RACE, { tool: 'llm', operation: 'read', estimatedCostUsd: 0.1 }, { sessionId: `race-${i}` })));
			const allowed = results.filter((r) => r.allowed);
			expect(allowed).toHaveLength(10);
			expect(results.filter((r) => !r.allowed).map((r) => r.code)).toEqual(Array(15).fill('daily_cost_budget'));
			const usage = async (code: string) =>
				(await db.pool.query(
					`select u.cost_usd::float8 as cost, u.reserved_cost_usd::float8 as reserved_cost, u.latency_ms::int as latency, u.reserved_latency_ms::int as reserved_latency,
					        u.open_reservations as open, u.refused from public.ipai_agent_usage_day u join public.ipai_agent a on a.id = u.agent_id where a.code_name = $1`,
					[code],
				)).rows[0];
			expect(await usage(RACE)).toMatchObject({ cost: 0, reserved_cost: 1, open: 10, refused: 15 });

			// Each call reports back with its reservation: the actual cost replaces the hold.
			const logs = await Promise.all(allowed.map((r) => logRun(g, RACE, { tool: 'llm', status: 'success', costUsd: 0.08, latencyMs: 40, reservationId: r.reservationId })));
			expect(logs.map((l) => l.status)).toEqual(Array(10).fill('success'));
			expect(await usage(RACE)).toMatchObject({ cost: 0.8, reserved_cost: 0, open: 0 });
			// $0.20 left: of 5 calls at $0.05, 4 fit.
			const more = await Promise.all(Array.from({ length: 5 }, () => authorize(g, RACE, { tool: 'llm', operation: 'read', estimatedCostUsd: 0.05 })));
			expect(more.filter((r) => r.allowed)).toHaveLength(4);

			// The daily latency budget the same way: 1,000 ms holds three calls of 300 ms.
			const lat = await Promise.all(Array.from({ length: 10 }, () => authorize(g, RACE_LATENCY, { tool: 'llm', operation: 'read' })));
			expect(lat.filter((r) => r.allowed)).toHaveLength(3);
			expect(lat.filter((r) => !r.allowed).every((r) => r.code === 'daily_latency_budget' && /daily latency budget of 1000 ms/.test(r.reason!))).toBe(true);
			expect(await usage(RACE_LATENCY)).toMatchObject({ reserved_latency: 900, open: 3 });
		} finally {
			await wide.end();
		}
	});

	it('decides "over the daily budget" in Log under a lock: of 10 simultaneous logs of $0.15 against $1 exactly 6 succeed', async () => {
		const wide = new Pool({ connectionString: guardUrl(), max: 12 });
		wide.on('error', () => undefined);
		try {
			await registerAgent(guardPool, { codeName: LOGS, displayName: 'Logs', allowedTools: ['llm'], allowedSchemas: ['ipai_gold_erp'], costBudgetUsd: 1 });
			const g: AgentGuard = { pool: wide, connection: guard.connection };
			const logs = await Promise.all(Array.from({ length: 10 }, () => logRun(g, LOGS, { tool: 'llm', status: 'success', costUsd: 0.15, latencyMs: 5 })));
			expect(logs.filter((l) => l.status === 'success')).toHaveLength(6);
			expect(logs.filter((l) => l.status === 'failed').every((l) => l.overBudget.join() === 'daily_cost')).toBe(true);
		} finally {
			await wide.end();
		}
	});

	it('settles a reservation when its call is logged (failed calls release it), expires unlogged ones, and refuses another agent\'s', async () => {
		await registerAgent(guardPool, { codeName: RES, displayName: 'Reserver', allowedTools: ['llm'], allowedSchemas: ['ipai_gold_erp'], costBudgetUsd: 1 });
		const reservation = async (id: string) => (await db.pool.query('select cost_usd::float8 as cost, release, run_id from public.ipai_agent_reservation where id = $1', [id])).rows[0];
		const a = await authorize(guard, RES, { tool: 'llm', operation: 'read', estimatedCostUsd: 0.5 });
		expect(a).toMatchObject({ allowed: true, reservationId: expect.any(String) });
		expect(await reservation(a.reservationId!)).toMatchObject({ cost: 0.5, release: null });
		// Another agent cannot settle it.
		await expect(logRun(guard, LOGS, { tool: 'llm', status: 'failed', costUsd: 0, reservationId: a.reservationId })).rejects.toThrow(/is not one of agent/);
		const failed = await logRun(guard, RES, { tool: 'llm', status: 'failed', costUsd: 0, errorMessage: 'upstream 500', reservationId: a.reservationId });
		expect(await reservation(a.reservationId!)).toMatchObject({ release: 'settled', run_id: failed.runId });
		// Settled twice is a no-op, not a double release.
		await logRun(guard, RES, { tool: 'llm', status: 'success', costUsd: 0.1, reservationId: a.reservationId });
		const { rows } = await db.pool.query(
			`select u.cost_usd::float8 as cost, u.reserved_cost_usd::float8 as reserved from public.ipai_agent_usage_day u join public.ipai_agent a on a.id = u.agent_id where a.code_name = $1`,
			[RES],
		);
		expect(rows[0]).toEqual({ cost: 0.1, reserved: 0 });

		// A call that never reports back holds its estimate until the reservation expires.
		const b = await authorize(guard, RES, { tool: 'llm', operation: 'read', estimatedCostUsd: 0.8 });
		expect(b.allowed).toBe(true);
		await expect(authorize(guard, RES, { tool: 'llm', operation: 'read', estimatedCostUsd: 0.8 })).resolves.toMatchObject({
			allowed: false, code: 'daily_cost_budget', reason: expect.stringContaining('$0.8 is held by calls in progress'),
		});
		await db.pool.query(`update public.ipai_agent_reservation set expires_at = now() - interval '1 second' where id = $1`, [b.reservationId]);
		await expect(authorize(guard, RES, { tool: 'llm', operation: 'read', estimatedCostUsd: 0.8 })).resolves.toMatchObject({ allowed: true });
		expect(await reservation(b.reservationId!)).toMatchObject({ release: 'expired' });
	});

	it('caps a query\'s statement timeout at what is left of the daily latency budget, then refuses', async () => {
		await registerAgent(guardPool, { codeName: QCAP, displayName: 'Capped', allowedSchemas: ['ipai_gold_erp'], latencyBudgetMs: 5000, config: { daily_latency_budget_ms: 1500 } });
		const started = Date.now();
		await expect(query(guard, QCAP, 'select pg_sleep(4) as s')).rejects.toThrow(/Over what was left of the daily latency budget: 1500 ms of 1500 ms/);
		expect(Date.now() - started).toBeLessThan(3500);
		await expect(query(guard, QCAP, 'select 1 as one')).rejects.toMatchObject({ code: 'daily_latency_budget', budget: { kind: 'daily_latency', limit: 1500 } });
		const runs = await db.pool.query(
			`select r.status, r.metadata -> 'over_budget' as over from public.ipai_agent_run r join public.ipai_agent a on a.id = r.agent_id where a.code_name = $1 order by r.ended_at`,
			[QCAP],
		);
		expect(runs.rows).toEqual([{ status: 'failed', over: ['daily_latency'] }, { status: 'refused', over: ['daily_latency'] }]);
	});

	it('gives the agent login no schema beyond its scope and no SECURITY DEFINER function anywhere', async () => {
		const login = `ipai_agent_${GOLD}`;
		const { rows } = await db.pool.query(
			`select (select array_agg(nspname::text order by nspname) from pg_namespace n
			          where has_schema_privilege($1, n.oid, 'usage') and nspname not in ('pg_catalog', 'information_schema', 'public')) as schemas,
			        (select array_agg(p.oid::regprocedure::text) from pg_proc p join pg_namespace n on n.oid = p.pronamespace
			          where p.prosecdef and has_function_privilege($1, p.oid, 'execute') and has_schema_privilege($1, n.oid, 'usage')) as definer_functions,
			        (select array_agg(c.oid::regclass::text) from pg_class c join pg_namespace n on n.oid = c.relnamespace
			          where has_table_privilege($1, c.oid, 'select') and n.nspname not in ('pg_catalog', 'information_schema', 'ipai_gold_erp')) as other_tables`,
			[login],
		);
		expect(rows[0]).toEqual({ schemas: ['ipai_gold_erp'], definer_functions: null, other_tables: null });
	});

	it('keeps agent passwords in the table where Vault is absent, readable only through ipai_meta.agent_credential by the guard', async () => {
		const { rows } = await db.pool.query(
			`select c.password is not null as in_table, c.vault_secret_id from public.ipai_agent_credential c join public.ipai_agent a on a.id = c.agent_id where a.code_name = $1`,
			[GOLD],
		);
		expect(rows[0]).toEqual({ in_table: true, vault_secret_id: null });
		await expect(guardPool.query('select password from public.ipai_agent_credential')).rejects.toMatchObject({ code: '42501' });
		await expect(guardPool.query('select login_name from public.ipai_agent_credential')).resolves.toBeDefined();
		const login = `ipai_agent_${GOLD}`;
		const privileges = await db.pool.query(
			`select r.rolname,
			        has_column_privilege(r.rolname, 'public.ipai_agent_credential', 'password', 'select') as password_column,
			        has_function_privilege(r.rolname, 'ipai_meta.agent_credential(uuid)', 'execute') as credential_fn
			   from pg_roles r where r.rolname = any ($1) order by r.rolname`,
			[[login, 'ipai_guard', 'ipai_ingest', 'ipai_transform', 'authenticated', 'anon', 'service_role']],
		);
		expect(Object.fromEntries(privileges.rows.map((r) => [r.rolname, [r.password_column, r.credential_fn]]))).toEqual({
			[login]: [false, false], ipai_guard: [false, true], ipai_ingest: [false, false], ipai_transform: [false, false],
			authenticated: [false, false], anon: [false, false], service_role: [false, false],
		});
		await expect(query(guard, GOLD, 'select * from ipai_meta.agent_credential(null)')).rejects.toThrow(/permission denied/);
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
	describe('pooled sessions of an agent login (lib/agents/agentPools)', () => {
		const POOLED = `pooled_${tag}`;
		const login = `ipai_agent_${POOLED}`;
		const pid = async (): Promise<number> => Number((await query(guard, POOLED, 'select pg_backend_pid() as pid')).rows[0].pid);
		const sessionsOnServer = async (): Promise<number> =>
			Number((await db.pool.query(`select count(*) as n from pg_stat_activity where usename = $1`, [login])).rows[0].n);
		const eventually = async (check: () => Promise<boolean>): Promise<void> => {
			for (let i = 0; i < 50 && !(await check()); i++) await new Promise((r) => setTimeout(r, 100));
			expect(await check()).toBe(true);
		};

		beforeAll(async () => {
			await registerAgent(guardPool, {
				codeName: POOLED, displayName: 'Pooled reader', agentType: 'claude', allowedTools: ['lakehouse_query'],
				allowedSchemas: ['ipai_gold_erp'], allowedOperations: ['read'], latencyBudgetMs: 5000,
			});
		});

		it('reuses one session across calls, and a call leaves no session state behind (settings, advisory locks)', async () => {
			const first = await pid();
			expect(await pid()).toBe(first);
			expect(agentPoolSessions(login)).toBe(1);
			await query(guard, POOLED, `select set_config('work_mem', '77MB', false) as s, pg_advisory_lock(4242) as l`);
			expect((await query(guard, POOLED, `select current_setting('work_mem') as w, pg_backend_pid() as pid`)).rows[0]).toEqual({ w: expect.not.stringMatching(/77MB/), pid: first });
			const { rows } = await db.pool.query(`select count(*)::int as n from pg_locks where locktype = 'advisory' and pid = $1`, [first]);
			expect(rows[0].n).toBe(0);
		});

		it('a registry change (Update) takes effect on the next call: a new session, the old one closed', async () => {
			const before = await pid();
			await updateAgent(guardPool, { codeName: POOLED, latencyBudgetMs: 4000 });
			const after = await pid();
			expect(after).not.toBe(before);
			await eventually(async () => (await sessionsOnServer()) === 1);
		});

		it('a new password takes effect on the next call (the pool is of the login and password)', async () => {
			const before = await pid();
			const { rows } = await db.pool.query(`select id from public.ipai_agent where code_name = $1`, [POOLED]);
			await db.pool.query(`alter role ${login} password 'rotated-${tag}'`);
			await db.pool.query(`update public.ipai_agent_credential set password = 'rotated-${tag}' where agent_id = $1`, [rows[0].id]);
			expect(await pid()).not.toBe(before);
			await eventually(async () => (await sessionsOnServer()) === 1);
		});

		it('a revoked grant binds the pooled session at once (PostgreSQL checks every statement)', async () => {
			await pid();
			await db.pool.query(`revoke select on ipai_gold_erp.agent_probe from ${login}`);
			await expect(query(guard, POOLED, 'select count(*) from ipai_gold_erp.agent_probe')).rejects.toMatchObject({ code: '42501' });
			await syncAgent(guardPool, POOLED);
			await expect(query(guard, POOLED, 'select count(*)::int as n from ipai_gold_erp.agent_probe')).resolves.toMatchObject({ rows: [{ n: 50 }] });
		});

		it('a login made NOLOGIN by hand cannot keep using a pooled session: the call fails to connect, the sessions are closed', async () => {
			await pid();
			expect(await sessionsOnServer()).toBe(1);
			await db.pool.query(`alter role ${login} nologin`);
			await expect(pid()).rejects.toThrow(/not permitted to log in/);
			await eventually(async () => (await sessionsOnServer()) === 0);
			await syncAgent(guardPool, POOLED);
			await expect(pid()).resolves.toEqual(expect.any(Number));
		});

		it('closeAgentPools ends every pooled session', async () => {
			await pid();
			await closeAgentPools();
			expect(agentPoolSessions(login)).toBe(0);
			await eventually(async () => (await sessionsOnServer()) === 0);
		});
	});

	describe('records (issue 16, security and records 1, 4, 7)', () => {
		const REC = `rec_${tag}`;
		const agentLogin = () => `ipai_agent_${REC}`;

		beforeAll(async () => {
			await registerAgent(guardPool, {
				codeName: REC, displayName: 'Recorded', allowedTools: ['lakehouse_query'], allowedSchemas: ['ipai_gold_erp'],
				allowedOperations: ['read'], latencyBudgetMs: 60_000,
			});
		});

		async function lastRun(): Promise<{ id: string; status: string; ended_at: Date | null; error_message: string | null; input_summary: Record<string, unknown>; metadata: Record<string, unknown> }> {
			const { rows } = await db.pool.query(
				`select r.id, r.status, r.ended_at, r.error_message, r.input_summary, r.metadata from public.ipai_agent_run r
				   join public.ipai_agent a on a.id = r.agent_id where a.code_name = $1 order by r.started_at desc, r.id desc limit 1`,
				[REC],
			);
			return rows[0];
		}

		it('records a query whose text holds a lone surrogate: text made storable, the fact noted, audited', async () => {
			const result = await query(guard, REC, 'select 1 as one -- \ud800 lone');
			expect(result.rows).toEqual([{ one: 1 }]);
			const run = await lastRun();
			expect(run).toMatchObject({ id: result.runId, status: 'success' });
			expect(run.input_summary.sql).toBe('select 1 as one -- \ufffd lone');
			expect(run.input_summary.sql_unstorable_characters_replaced).toBe(1);
			const audit = await db.pool.query(`select action from public.ipai_audit_log where details->>'run_id' = $1`, [result.runId]);
			expect(audit.rows).toEqual([{ action: 'agent_query_success' }]);
		});

		it('refuses a text with NUL (PostgreSQL would run a cut text), and records the refusal', async () => {
			const error = await query(guard, REC, 'select 1 as one -- a\u0000b').catch((e: unknown) => e);
			expect(error).toBeInstanceOf(AgentRefusedError);
			expect((error as AgentRefusedError).message).toMatch(/NUL character/);
			const run = await lastRun();
			expect(run).toMatchObject({ id: (error as AgentRefusedError).runId, status: 'refused' });
			expect(run.input_summary.sql).toBe('select 1 as one -- a\ufffdb');
		});

		it('records the run before the query runs (a blocked query is already in the ledger as running)', async () => {
			const holder = new Client({ connectionString: db.url });
			await holder.connect();
			try {
				await holder.query('select pg_advisory_lock(4242)');
				const pending = query(guard, REC, 'select pg_advisory_xact_lock_shared(4242)::text as waited');
				// Wait (by condition, not by time) until the agent's statement is blocked on the lock.
				for (;;) {
					const { rows } = await db.pool.query(`select count(*)::int as n from pg_locks where locktype = 'advisory' and objid = 4242 and not granted`);
					if (rows[0].n > 0) break;
					await new Promise((r) => setTimeout(r, 20));
				}
				const during = await lastRun();
				expect(during).toMatchObject({ status: 'running', ended_at: null });
				expect(during.input_summary.sql).toContain('pg_advisory_xact_lock_shared(4242)');
				await holder.query('select pg_advisory_unlock(4242)');
				const result = await pending;
				expect(result.runId).toBe(during.id);
				expect(await lastRun()).toMatchObject({ id: during.id, status: 'success' });
			} finally {
				await holder.end();
			}
		}, 30_000);

		it('does not run a query whose run cannot be recorded', async () => {
			await db.pool.query(`
				create function public.refuse_probe_run() returns trigger language plpgsql set search_path = '' as $$
				begin
				  if new.input_summary->>'sql' like '%unrecordable%' then raise exception 'ledger is unavailable'; end if;
				  return new;
				end $$;
				create trigger refuse_probe_run before insert on public.ipai_agent_run for each row execute function public.refuse_probe_run();`);
			const holder = new Client({ connectionString: db.url });
			await holder.connect();
			try {
				// Were the query executed, it would wait on this lock until its 60 s budget.
				await holder.query('select pg_advisory_lock(4243)');
				const error = await query(guard, REC, 'select pg_advisory_xact_lock_shared(4243)::text /* unrecordable */').catch((e: unknown) => e);
				expect(error).toBeInstanceOf(AgentRefusedError);
				expect(error).toMatchObject({ code: 'not_recorded' });
				expect((error as Error).message).toMatch(/was not run: its run could not be recorded .*ledger is unavailable/);
				// Had it run, a session of the login would be waiting on the lock (pooled ones are idle).
				const { rows } = await db.pool.query(`select count(*)::int as n from pg_stat_activity where usename = $1 and state <> 'idle'`, [agentLogin()]);
				expect(rows[0].n).toBe(0);
			} finally {
				await holder.end();
				await db.pool.query('drop trigger refuse_probe_run on public.ipai_agent_run; drop function public.refuse_probe_run()');
			}
		}, 30_000);

		it('resets role settings an agent login gave itself, and refuses that call (Query and Authorize)', async () => {
			const { rows: agentRows } = await db.pool.query(`select id from public.ipai_agent where code_name = $1`, [REC]);
			const { rows: cred } = await db.pool.query(`select login_name, password from ipai_meta.agent_credential($1)`, [agentRows[0].id]);
			const url = new URL(db.url);
			url.username = cred[0].login_name;
			url.password = cred[0].password;
			const settingsOf = async () =>
				(await db.pool.query(
					`select coalesce(d.datname, '*') as db, s.setconfig from pg_db_role_setting s join pg_roles r on r.oid = s.setrole
					   left join pg_database d on d.oid = s.setdatabase where r.rolname = $1 order by 1`,
					[cred[0].login_name],
				)).rows;
			const before = await settingsOf();
			const tamper = async () => {
				const self = new Client({ connectionString: url.toString() });
				await self.connect();
				try {
					// What an attacker with the password does: the session first, then the role for later sessions.
					await self.query('set default_transaction_read_only = off');
					await self.query('alter role current_user set default_transaction_read_only = off');
					await self.query('alter role current_user set statement_timeout = 0');
					await self.query(`alter role current_user in database "${db.name}" set work_mem = '1GB'`);
				} finally {
					await self.end();
				}
			};
			const pidBefore = (await query(guard, REC, 'select pg_backend_pid() as pid')).rows[0].pid;
			await tamper();
			const error = await query(guard, REC, 'select 1 as one').catch((e: unknown) => e);
			expect(error).toBeInstanceOf(AgentRefusedError);
			expect(error).toMatchObject({ code: 'login_settings_changed' });
			expect((error as Error).message).toMatch(/default_transaction_read_only=off/);
			expect((error as Error).message).toMatch(/statement_timeout=0/);
			expect((error as Error).message).toMatch(/work_mem=1GB \(in database/);
			expect(await settingsOf()).toEqual(before);
			expect(await lastRun()).toMatchObject({ status: 'refused', metadata: expect.objectContaining({ refusal: 'login_settings_changed' }) });
			// Sessions opened before the check may carry the changed settings: none is reused.
			const after = await query(guard, REC, 'select 1 as one, pg_backend_pid() as pid');
			expect(after.rows[0]).toMatchObject({ one: 1 });
			expect(after.rows[0].pid).not.toBe(pidBefore);

			await tamper();
			await expect(authorize(guard, REC, { tool: 'lakehouse_query', operation: 'read' })).resolves.toMatchObject({ allowed: false, code: 'login_settings_changed' });
			expect(await settingsOf()).toEqual(before);
			await expect(authorize(guard, REC, { tool: 'lakehouse_query', operation: 'read' })).resolves.toMatchObject({ allowed: true });
		});

		it('refuses three-part and quoted names in Authorize', async () => {
			for (const schema of ['ipai_gold_erp.profit_and_loss.x', 'ipai_gold_erp..x', '"ipai_gold_erp".x', 'ipai_gold_erp.']) {
				const result = await authorize(guard, REC, { tool: 'lakehouse_query', operation: 'read', schema });
				expect(result).toMatchObject({ allowed: false, code: 'schema_not_allowed', reason: expect.stringMatching(/not a schema or schema\.relation name/) });
			}
			await expect(authorize(guard, REC, { tool: 'lakehouse_query', operation: 'read', schema: 'ipai_gold_erp.profit_and_loss' })).resolves.toMatchObject({ allowed: true });
		});
	});

	/**
	 * Supabase Vault is a C extension (libsodium) that plain PostgreSQL lacks. This stand-in has
	 * supabase_vault 0.3.0's interface as the guard uses it, copied from its SQL: vault.secrets with
	 * the same columns and unique name index, the vault.decrypted_secrets view, create_secret and
	 * update_secret (SECURITY DEFINER, search_path ''), EXECUTE revoked from PUBLIC, nothing granted
	 * on the schema. Only the cipher differs: pgcrypto AES with a key derived from a constant and the
	 * row id, where Vault uses libsodium AEAD with a root key kept outside the database. It tests
	 * where the password goes and who can read it, not Vault's cryptography.
	 */
	describe('with Supabase Vault present (a faithful stand-in of its SQL interface)', () => {
		let before: string;

		beforeAll(async () => {
			await registerAgent(guardPool, { codeName: VAULTED, displayName: 'Vaulted', allowedSchemas: ['ipai_gold_erp'] });
			before = (await db.pool.query(
				`select c.password from public.ipai_agent_credential c join public.ipai_agent a on a.id = c.agent_id where a.code_name = $1`,
				[VAULTED],
			)).rows[0].password;
			await db.pool.query(`
				create extension if not exists pgcrypto with schema extensions;
				create schema vault;
				create function vault._crypto_aead_det_noncegen() returns bytea language sql volatile set search_path = ''
				  as $$ select extensions.gen_random_bytes(16) $$;
				create function vault._crypto_aead_det_encrypt(message bytea, additional bytea, key_id bigint, context bytea = 'pgsodium', nonce bytea = null)
				  returns bytea language sql immutable set search_path = ''
				  as $$ select extensions.encrypt_iv(message, extensions.digest(convert_to('stand-in root key', 'utf8') || additional || context, 'sha256'), nonce, 'aes-cbc') $$;
				create function vault._crypto_aead_det_decrypt(message bytea, additional bytea, key_id bigint, context bytea = 'pgsodium', nonce bytea = null)
				  returns bytea language sql immutable set search_path = ''
				  as $$ select extensions.decrypt_iv(message, extensions.digest(convert_to('stand-in root key', 'utf8') || additional || context, 'sha256'), nonce, 'aes-cbc') $$;
				create table vault.secrets (
				  id uuid primary key default gen_random_uuid(),
				  name text,
				  description text not null default '',
				  secret text not null,
				  key_id uuid,
				  nonce bytea default vault._crypto_aead_det_noncegen(),
				  created_at timestamptz not null default current_timestamp,
				  updated_at timestamptz not null default current_timestamp
				);
				create unique index on vault.secrets using btree (name) where name is not null;
				create view vault.decrypted_secrets as
				select s.id, s.name, s.description, s.secret,
				       convert_from(vault._crypto_aead_det_decrypt(message := decode(s.secret, 'base64'::text), additional := convert_to(s.id::text, 'utf8'),
				                    key_id := 0, context := 'pgsodium'::bytea, nonce := s.nonce), 'utf8'::name) as decrypted_secret,
				       s.key_id, s.nonce, s.created_at, s.updated_at
				  from vault.secrets s;
				create function vault.create_secret(new_secret text, new_name text = null, new_description text = '', new_key_id uuid = null)
				  returns uuid security definer language plpgsql set search_path = ''
				as $$
				declare rec record;
				begin
				  insert into vault.secrets (secret, name, description) values (new_secret, new_name, new_description) returning * into rec;
				  update vault.secrets s set secret = encode(vault._crypto_aead_det_encrypt(message := convert_to(rec.secret, 'utf8'),
				         additional := convert_to(s.id::text, 'utf8'), key_id := 0, context := 'pgsodium'::bytea, nonce := rec.nonce), 'base64')
				   where id = rec.id;
				  return rec.id;
				end
				$$;
				create function vault.update_secret(secret_id uuid, new_secret text = null, new_name text = null, new_description text = null, new_key_id uuid = null)
				  returns void security definer language plpgsql set search_path = ''
				as $$
				begin
				  update vault.secrets s
				     set secret = case when new_secret is null then s.secret
				                       else encode(vault._crypto_aead_det_encrypt(message := convert_to(new_secret, 'utf8'), additional := convert_to(s.id::text, 'utf8'),
				                                   key_id := 0, context := 'pgsodium'::bytea, nonce := s.nonce), 'base64') end,
				         name = coalesce(new_name, s.name), description = coalesce(new_description, s.description), updated_at = now()
				   where s.id = secret_id;
				end
				$$;
				revoke all on function vault._crypto_aead_det_encrypt, vault._crypto_aead_det_decrypt, vault._crypto_aead_det_noncegen,
				                       vault.create_secret, vault.update_secret from public;
			`);
		});

		const stored = async (code: string) =>
			(await db.pool.query(
				`select c.password, c.vault_secret_id, s.name, s.secret, d.decrypted_secret
				   from public.ipai_agent_credential c join public.ipai_agent a on a.id = c.agent_id
				   left join vault.secrets s on s.id = c.vault_secret_id left join vault.decrypted_secrets d on d.id = c.vault_secret_id
				  where a.code_name = $1`,
				[code],
			)).rows[0];

		it('moves an existing password into Vault on the next sync, and the agent still connects', async () => {
			await syncAgent(guardPool, VAULTED);
			const row = await stored(VAULTED);
			const { rows } = await db.pool.query('select id from public.ipai_agent where code_name = $1', [VAULTED]);
			expect(row).toMatchObject({ password: null, vault_secret_id: expect.any(String), name: `ipai_agent_login:${rows[0].id}`, decrypted_secret: before });
			expect(row.secret).not.toContain(before); // ciphertext at rest
			await expect(query(guard, VAULTED, 'select count(*)::int as n from ipai_gold_erp.agent_probe')).resolves.toMatchObject({ rows: [{ n: 50 }] });
		});

		it('stores a new agent\'s password in Vault from the start; neither the guard nor any agent can read Vault', async () => {
			await registerAgent(guardPool, { codeName: FRESH, displayName: 'Fresh', allowedSchemas: ['ipai_gold_erp'] });
			expect(await stored(FRESH)).toMatchObject({ password: null, vault_secret_id: expect.any(String), decrypted_secret: expect.stringMatching(/^[0-9a-f]{64}$/) });
			await expect(query(guard, FRESH, 'select 1 as one')).resolves.toMatchObject({ rows: [{ one: 1 }] });
			const { rows } = await db.pool.query(
				`select r.rolname, has_schema_privilege(r.rolname, 'vault', 'usage') as schema_usage,
				        has_table_privilege(r.rolname, 'vault.decrypted_secrets', 'select') as decrypted,
				        has_table_privilege(r.rolname, 'vault.secrets', 'select') as secrets,
				        has_function_privilege(r.rolname, 'vault.create_secret(text,text,text,uuid)', 'execute') as create_fn
				   from pg_roles r where r.rolname = any ($1) order by r.rolname`,
				[[`ipai_agent_${FRESH}`, 'ipai_guard', GUARD]],
			);
			for (const r of rows) expect([r.rolname, r.schema_usage, r.decrypted, r.secrets, r.create_fn]).toEqual([r.rolname, false, false, false, false]);
			await expect(guardPool.query('select decrypted_secret from vault.decrypted_secrets')).rejects.toMatchObject({ code: '42501' });
			for (const sql of ['select decrypted_secret from vault.decrypted_secrets', "select vault.create_secret('x')", 'select * from ipai_meta.agent_credential(null)']) {
				await expect(query(guard, FRESH, sql)).rejects.toThrow(/permission denied/);
			}
		});

		it('a Vault secret that went missing is named in the error, and Update gives the login a new password', async () => {
			const { vault_secret_id: id } = await stored(FRESH);
			await db.pool.query('delete from vault.secrets where id = $1', [id]);
			await expect(query(guard, FRESH, 'select 1 as one')).rejects.toThrow(/Vault secret holding the password of ipai_agent_fresh_\w+ is missing; run Update/);
			const last = await db.pool.query(
				`select r.status, r.error_message from public.ipai_agent_run r join public.ipai_agent a on a.id = r.agent_id where a.code_name = $1 order by r.ended_at desc limit 1`,
				[FRESH],
			);
			expect(last.rows[0]).toMatchObject({ status: 'failed', error_message: expect.stringMatching(/Vault secret .* is missing/) });
			await updateAgent(guardPool, { codeName: FRESH });
			const row = await stored(FRESH);
			expect(row.vault_secret_id).not.toBe(id);
			await expect(query(guard, FRESH, 'select 1 as one')).resolves.toMatchObject({ rows: [{ one: 1 }] });
		});
	});
});
