/**
 * Model-bound agent tools against a real PostgreSQL: the query compiler never lets arguments
 * become SQL (PostgreSQL's own answers to the same question are the oracle), the company scope
 * holds through row-level security on the agent's login, and every call — refused ones too —
 * lands in ipai_agent_run.
 */
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { Pool } from 'pg';
import {
	AgentRefusedError,
	closeAgentPools,
	agentModels,
	agentToolPlan,
	compileModelQuery,
	describeModelTool,
	getAgent,
	loadModels,
	query,
	queryModelTool,
	registerAgent,
	type AgentGuard,
} from '../../lib/agents';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { mcpServerSetup, mcpServerWorkflow, type Agent } from '../../lib/agents';
import { useScratchDatabase } from '../../tooling/helpers/database';

jest.setTimeout(180_000);

const db = useScratchDatabase();
const tag = randomBytes(3).toString('hex');
const GUARD = `ipai_guard_m${tag}`;
const PNL = `pnl_${tag}`; // profit_and_loss, companies 1 and 2, free SQL not allowed
const ITEMS = `items_${tag}`; // open_items only, daily budget of three queries
const PNL_MODEL = 'finance.profit_and_loss';

let guard: AgentGuard;
let guardPool: Pool;

const CONNECTOR = '00000000-0000-4000-8000-0000000000c1';
const NAMES = ["Revenue", "O'Brien & Sons", "x' OR '1'='1", 'semi; drop table x; --', '> 0', '%', '_', '\\', 'Ünïcödé', "Robert'); --"];

async function runsOf(code: string): Promise<Array<{ status: string; error_message: string | null; input_summary: Record<string, unknown>; metadata: Record<string, unknown>; session_id: string | null }>> {
	const { rows } = await db.pool.query(
		`select r.status, r.error_message, r.input_summary, r.metadata, r.session_id from public.ipai_agent_run r
		   join public.ipai_agent a on a.id = r.agent_id where a.code_name = $1 order by r.started_at, r.id`,
		[code],
	);
	return rows;
}

async function refusedWith(promise: Promise<unknown>, code: string): Promise<AgentRefusedError> {
	const error = await promise.then(() => undefined, (e: unknown) => e);
	expect(error).toBeInstanceOf(AgentRefusedError);
	expect((error as AgentRefusedError).code).toBe(code);
	expect((error as AgentRefusedError).runId).toEqual(expect.any(String));
	return error as AgentRefusedError;
}

describe('model-bound agent tools', () => {
	beforeAll(async () => {
		await db.pool.query(`create role ${GUARD} login; grant ipai_guard to ${GUARD}`);
		await db.pool.query(
			`insert into ipai_gold_erp.profit_and_loss (connector_id, company_id, currency, month, account_group, account_type, account_id, account_code, account_name, amount, line_count)
			 select $1::uuid, 1 + (g % 3), 'EUR', date '2026-01-01' + ((g % 6) * interval '1 month'), case when g % 2 = 0 then 'income' else 'expense' end,
			        'type_' || (g % 4), g, lpad(g::text, 4, '0'), ($2::text[])[1 + g % array_length($2::text[], 1)], round((g * 37 % 1000 - 400)::numeric / 7, 2), g % 5
			   from generate_series(1, 600) g`,
			[CONNECTOR, NAMES],
		);
		const url = new URL(db.url);
		url.username = GUARD;
		guardPool = new Pool({ connectionString: url.toString(), max: 4 });
		guardPool.on('error', () => undefined);
		guard = { pool: guardPool, connection: { connectionString: url.toString() } };
		await registerAgent(guardPool, {
			codeName: PNL, displayName: 'P&L reader', agentType: 'claude', allowedSchemas: ['ipai_gold_erp.profit_and_loss'],
			allowedTools: [], latencyBudgetMs: 10_000, config: { company_ids: [1, 2], max_rows: 500 },
		});
		await registerAgent(guardPool, {
			codeName: ITEMS, displayName: 'Open items reader', agentType: 'claude', allowedSchemas: ['ipai_gold_erp.open_items'],
			allowedTools: ['lakehouse_query'], costBudgetUsd: 0.03, latencyBudgetMs: 10_000, config: { query_cost_usd: 0.01 },
		});
	});

	afterAll(async () => {
		await closeAgentPools();
		await guardPool?.end();
		const { rows } = await db.pool.query<{ login_name: string }>('select login_name from public.ipai_agent_credential');
		for (const role of [...rows.map((r) => r.login_name), GUARD]) {
			await db.pool.query(`drop owned by "${role}"; drop role if exists "${role}"`).catch(() => undefined);
		}
	});

	it('offers an agent exactly the models inside its scope', async () => {
		const pnl = await agentToolPlan(guard, PNL);
		expect(pnl.models.map((m) => m.datasetName)).toEqual([PNL_MODEL]);
		expect(pnl.freeSql).toBe(false);
		const items = await agentToolPlan(guard, ITEMS);
		expect(items.models.map((m) => m.datasetName)).toEqual(['finance.open_items']);
		expect(items.freeSql).toBe(true);
	});

	it('describes a model from ipai_semantic_model and the catalog, and records the call', async () => {
		const described = await describeModelTool(guard, PNL, PNL_MODEL, { sessionId: 'mcp-session-1', channel: 'mcp' });
		expect(described).toMatchObject({ model: PNL_MODEL, relation: 'ipai_gold_erp.profit_and_loss', company_scope: expect.stringContaining('1, 2') });
		const columns = described.columns as Array<{ name: string; type: string; role: string }>;
		expect(columns.find((c) => c.name === 'amount')).toEqual({ name: 'amount', type: 'numeric', role: 'measure' });
		expect(columns.find((c) => c.name === 'month')).toMatchObject({ type: 'date', role: 'dimension' });
		const runs = await runsOf(PNL);
		expect(runs.at(-1)).toMatchObject({ status: 'success', session_id: 'mcp-session-1', input_summary: { kind: 'describe_model', channel: 'mcp' } });
	});

	it('a grouped query equals PostgreSQL\'s own answer under the same company scope', async () => {
		const result = await queryModelTool(guard, PNL, PNL_MODEL, {
			filters: { month: { gte: '2026-02-01', lt: '2026-06-01' }, account_type: ['type_1', 'type_2'] },
			groupBy: 'account_group, month', measures: ['amount', 'line_count'], orderBy: 'month desc, account_group', limit: 100,
		}, { sessionId: 'mcp-session-1' });
		const { rows } = await db.pool.query(
			`select account_group, month, sum(amount) as amount, sum(line_count) as line_count from ipai_gold_erp.profit_and_loss
			  where company_id in (1, 2) and month >= '2026-02-01' and month < '2026-06-01' and account_type in ('type_1', 'type_2')
			  group by account_group, month order by month desc, account_group`,
		);
		expect(rows.length).toBeGreaterThan(2);
		expect(result.rows).toEqual(rows);
		expect(result.columns).toEqual(['account_group', 'month', 'amount', 'line_count']);
	});

	it('company scope is the database\'s: rows of another company never come back, even when asked for', async () => {
		const other = await queryModelTool(guard, PNL, PNL_MODEL, { filters: { company_id: 3 }, columns: 'company_id, amount' });
		expect(other.rows).toEqual([]);
		const all = await queryModelTool(guard, PNL, PNL_MODEL, { groupBy: 'company_id', measures: 'line_count' });
		expect(all.rows.map((r) => String(r.company_id))).toEqual(['1', '2']);
		// The same login through the free-SQL path (were it allowed) is bound by the same policy.
		const { rows } = await db.pool.query(`select polname, pg_get_expr(polqual, polrelid) as qual from pg_policy where polname = $1`, [`ipai_agent_${PNL}`]);
		expect(rows).toEqual([{ polname: `ipai_agent_${PNL}`, qual: expect.stringContaining('company_id') }]);
	});

	it('company scope on an integer company_id compares integers and admits exactly the ids company_id::text equalled', async () => {
		const odd = `odd_${tag}`;
		// '01', '-0', 'x' and an out-of-range id never equalled an integer's text: they admit nothing.
		await registerAgent(guardPool, {
			codeName: odd, displayName: 'Odd ids', agentType: 'claude', allowedSchemas: ['ipai_gold_erp.profit_and_loss'],
			allowedTools: [], config: { company_ids: ['01', 3, '-0', 'x', '99999999999999999999'] },
		});
		const { rows } = await db.pool.query(`select pg_get_expr(polqual, polrelid) as qual from pg_policy where polname = $1`, [`ipai_agent_${odd}`]);
		expect(rows[0].qual).toBe(`(company_id = ANY ('{3}'::bigint[]))`);
		const seen = await queryModelTool(guard, odd, PNL_MODEL, { groupBy: 'company_id', measures: 'line_count' });
		expect(seen.rows.map((r) => String(r.company_id))).toEqual(['3']);
		await registerAgent(guardPool, {
			codeName: `${odd}n`, displayName: 'No matching ids', agentType: 'claude', allowedSchemas: ['ipai_gold_erp.profit_and_loss'],
			allowedTools: [], config: { company_ids: ['01', 'x'] },
		});
		expect((await queryModelTool(guard, `${odd}n`, PNL_MODEL, { groupBy: 'company_id', measures: 'line_count' })).rows).toEqual([]);
	});

	it('values are bound, never spliced: an equality filter on any text returns exactly the rows equal to it', async () => {
		const { rows: truth } = await db.pool.query<{ account_name: string; n: string }>(
			`select account_name, count(*) as n from ipai_gold_erp.profit_and_loss where company_id in (1, 2) group by account_name`,
		);
		const expected = new Map(truth.map((r) => [r.account_name, Number(r.n)]));
		await fc.assert(
			fc.asyncProperty(fc.oneof(fc.constantFrom(...NAMES), fc.string({ maxLength: 30 }).filter((s) => !s.includes('\u0000'))), async (name) => {
				const result = await queryModelTool(guard, PNL, PNL_MODEL, { filters: { account_name: name }, measures: 'line_count', groupBy: 'account_name' });
				const n = result.rows.length ? 1 : 0;
				expect(n).toBe(expected.has(name) ? 1 : 0);
			}),
			{ numRuns: 25 },
		);
	});

	describe('injection attempts through tool arguments', () => {
		const attempt = (request: Record<string, unknown>) => queryModelTool(guard, PNL, PNL_MODEL, request, { sessionId: 'attacker' });

		it('quotes in a filter value are a value', async () => {
			const result = await attempt({ filters: { account_name: "x' OR '1'='1" }, columns: 'account_name' });
			expect(new Set(result.rows.map((r) => r.account_name))).toEqual(new Set(["x' OR '1'='1"]));
			const none = await attempt({ filters: { account_code: "' or 1=1 --" } });
			expect(none.rows).toEqual([]);
		});

		it('operators as values are refused on typed columns and matched literally on text', async () => {
			await refusedWith(attempt({ filters: { amount: '> 0' } }), 'invalid_arguments');
			await refusedWith(attempt({ filters: { month: "2026-01-01' or true --" } }), 'invalid_arguments');
			const literal = await attempt({ filters: { account_name: '> 0' }, columns: 'account_name' });
			expect(new Set(literal.rows.map((r) => r.account_name))).toEqual(new Set(['> 0']));
			await refusedWith(attempt({ filters: { amount: { '; delete': 1 } } }), 'invalid_arguments');
			await refusedWith(attempt({ filters: { amount: { or: 1 } } }), 'invalid_arguments');
		});

		it('unknown columns, quoted identifiers and expressions in any position are refused', async () => {
			for (const request of [
				{ filters: { password: 'x' } },
				{ filters: { 'amount"; drop table x; --': 1 } },
				{ columns: 'amount, (select 1)' },
				{ columns: ['amount', 'pg_sleep(10)'] },
				{ groupBy: 'account_group; select 1', measures: 'amount' },
				{ groupBy: 'amount', measures: 'amount' },
				{ measures: 'account_name' },
				{ orderBy: 'amount; drop table x' },
				{ orderBy: 'secret desc' },
				{ orderBy: [{ column: 'amount', direction: 'desc nulls first; --' }] },
			]) {
				await refusedWith(attempt(request), 'invalid_arguments');
			}
		});

		it('huge, negative and fractional limits are refused or capped at the agent\'s row cap', async () => {
			const huge = await attempt({ columns: 'account_id', limit: 1e12 });
			expect(huge.rowCount).toBe(400);
			expect(huge.truncated).toBe(false);
			const capped = await queryModelTool(guard, PNL, PNL_MODEL, { columns: 'account_id', limit: 100_000 });
			expect(capped.rows.length).toBeLessThanOrEqual(500);
			for (const limit of [-1, 0, 2.5, '10; drop', Number.NaN, { n: 1 }]) await refusedWith(attempt({ limit }), 'invalid_arguments');
		});

		it('nested JSON where a value belongs is refused; a list where a list belongs is bound as one array', async () => {
			await refusedWith(attempt({ filters: { account_name: { eq: { $ne: null } } } }), 'invalid_arguments');
			await refusedWith(attempt({ filters: { account_name: [['a'], 'b'] } }), 'invalid_arguments');
			await refusedWith(attempt({ filters: { account_name: { in: 'Revenue' } } }), 'invalid_arguments');
			await refusedWith(attempt({ filters: '{"account_name": ' }), 'invalid_arguments');
			await refusedWith(attempt({ filters: [{ column: 'amount' }] }), 'invalid_arguments');
			const list = await attempt({ filters: { account_name: ['Revenue', "O'Brien & Sons"] }, groupBy: 'account_name', measures: 'line_count' });
			expect(list.rows.map((r) => r.account_name)).toEqual(["O'Brien & Sons", 'Revenue']);
		});

		it('every attempt is in the ledger: refusals with their reason and masked arguments', async () => {
			const runs = (await runsOf(PNL)).filter((r) => r.session_id === 'attacker');
			expect(runs.filter((r) => r.status === 'refused').length).toBeGreaterThanOrEqual(20);
			for (const r of runs.filter((x) => x.status === 'refused')) {
				expect(r.metadata.refusal).toBe('invalid_arguments');
				expect(r.input_summary).toMatchObject({ kind: 'query_model', model: PNL_MODEL, arguments: expect.any(Object) });
				expect(r.error_message).toMatch(/finance\.profit_and_loss: /);
			}
		});
	});

	it('the compiled text holds no argument value: values travel only as parameters', async () => {
		const [model] = (await loadModels(db.pool)).filter((m) => m.datasetName === PNL_MODEL);
		fc.assert(
			fc.property(fc.string({ maxLength: 20 }).map((s) => `'${s}`), fc.double({ noNaN: true, noDefaultInfinity: true }), (value, amount) => {
				const compiled = compileModelQuery(model, { filters: { account_name: value, account_code: { contains: value }, amount: { gte: amount } } });
				// No literal can appear: the text holds no quote character at all.
				expect(compiled.text).not.toContain("'");
				expect(compiled.values).toContain(value);
				expect(compiled.values).toContain(amount);
			}),
			{ numRuns: 200 },
		);
	});

	it('a model outside the scope is refused and logged; so is the free-SQL tool for an agent without it', async () => {
		await refusedWith(queryModelTool(guard, PNL, 'finance.open_items', {}), 'model_not_allowed');
		await refusedWith(describeModelTool(guard, PNL, 'finance.cash_flow'), 'model_not_allowed');
		await refusedWith(queryModelTool(guard, PNL, 'no.such_model', {}), 'model_not_allowed');
		await refusedWith(query(guard, PNL, 'select 1', { tool: 'lakehouse_query' }), 'tool_not_allowed');
		const refusals = (await runsOf(PNL)).filter((r) => r.status === 'refused').map((r) => r.metadata.refusal);
		expect(refusals).toEqual(expect.arrayContaining(['model_not_allowed', 'tool_not_allowed']));
		const agent = await getAgent(guardPool, PNL);
		expect((await agentModels(guardPool, agent!)).length).toBe(1);
	});

	it('the daily cost budget is reserved per query and refuses once spent', async () => {
		for (let i = 0; i < 3; i++) await queryModelTool(guard, ITEMS, 'finance.open_items', { limit: 5 });
		const refused = await refusedWith(queryModelTool(guard, ITEMS, 'finance.open_items', { limit: 5 }), 'daily_cost_budget');
		expect(refused.budget).toMatchObject({ kind: 'daily_cost', limit: 0.03, used: 0.03 });
		const runs = await runsOf(ITEMS);
		expect(runs.map((r) => r.status)).toEqual(['success', 'success', 'success', 'refused']);
	});

	it('MCP Server Setup prints the endpoint, the client configuration and the workflow: two tools per model, free SQL only when allowed', async () => {
		const pnl = mcpServerSetup(await agentToolPlan(guard, PNL), { baseUrl: 'https://n8n.example.com/' });
		expect(pnl).toMatchObject({
			endpoint: `https://n8n.example.com/mcp/ipai-agent-${PNL.replace(/_/g, '-')}`, transport: 'streamable-http',
			tools: ['describe_finance_profit_and_loss', 'query_finance_profit_and_loss'], models: [PNL_MODEL],
		});
		const server = Object.values((pnl.clientConfig as { mcpServers: Record<string, { url: string; headers: Record<string, string> }> }).mcpServers)[0];
		expect(server).toMatchObject({ url: pnl.endpoint, headers: { Authorization: expect.stringMatching(/^Bearer </) } });
		const workflow = pnl.workflow as { nodes: Array<{ name: string; type: string; parameters: Record<string, unknown>; credentials?: Record<string, unknown> }>; connections: Record<string, unknown> };
		expect(workflow.nodes[0]).toMatchObject({ type: '@n8n/n8n-nodes-langchain.mcpTrigger', parameters: { authentication: 'bearerAuth' }, credentials: { httpBearerAuth: { name: `IPAI MCP bearer: ${PNL}` } } });
		for (const node of workflow.nodes.slice(1)) {
			// The agent is fixed in the workflow; only query arguments come from the client.
			expect(node.parameters.agent).toBe(PNL);
			expect(JSON.stringify(node.parameters)).not.toMatch(/\$fromAI\('(agent|model|sql)'/);
			expect(workflow.connections[node.name]).toEqual({ ai_tool: [[{ node: 'MCP Server Trigger', type: 'ai_tool', index: 0 }]] });
		}
		const items = mcpServerSetup(await agentToolPlan(guard, ITEMS), { baseUrl: 'http://localhost:5678' });
		expect(items.tools).toEqual(['describe_finance_open_items', 'query_finance_open_items', 'lakehouse_sql']);
	});

	it('the shipped agent-mcp-server template is what MCP Server Setup generates for finance_analyst over ipai_gold_erp', async () => {
		const agent = { codeName: 'finance_analyst', allowedSchemas: ['ipai_gold_erp'], allowedTools: [], allowedOperations: ['read'], isActive: true, config: {} } as unknown as Agent;
		const generated = mcpServerWorkflow({ agent, models: await agentModels(db.pool, agent), freeSql: false }, {});
		const shipped = JSON.parse(readFileSync(join(__dirname, '..', '..', 'workflows', 'agent-mcp-server.json'), 'utf8')) as Record<string, unknown>;
		expect({ ...shipped, id: generated.id, name: generated.name }).toEqual(generated);
	});
});
