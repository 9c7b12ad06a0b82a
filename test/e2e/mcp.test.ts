/**
 * Agents through MCP, end to end: a real n8n 2.40.7 serves each agent's MCP server workflow (the
 * MCP Server Trigger with the agent's bearer credential, IPAI Agent Guard tools bound to semantic
 * models), and the official MCP TypeScript SDK is the client over streamable HTTP. The oracle
 * for query results is PostgreSQL itself (the same question in SQL under the same scope); the
 * budget alert goes through the SLO evaluation and delivery code to the Mattermost simulator.
 */
import { randomBytes } from 'node:crypto';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { updateAgent } from '../../lib/agents';
import { deliverDue, runEvaluation } from '../../lib/slo';
import { MattermostSimulator } from '../../tooling/simulators/mattermost/server';
import { startMcpStack, toolJson, type McpStack } from '../../tooling/n8n/mcpStack';

jest.setTimeout(1_500_000);

const tag = randomBytes(3).toString('hex');
const FINANCE = `mcp_fin_${tag}`;
const ITEMS = `mcp_items_${tag}`;
const CONNECTOR = '00000000-0000-4000-8000-0000000000e1';
const TOKEN = 'mcpe2ebottoken00000000000000';
const CHANNEL = 'mcpe2echannel0000000000001';

let stack: McpStack;
let finance: Client;
let sim: MattermostSimulator;

async function ledger(code: string): Promise<Array<{ status: string; session_id: string | null; input_summary: Record<string, unknown>; metadata: Record<string, unknown>; latency_ms: number | null; cost_usd: string | null; output_summary: Record<string, unknown> }>> {
	const { rows } = await stack.pool.query(
		`select r.status, r.session_id, r.input_summary, r.metadata, r.latency_ms, r.cost_usd, r.output_summary from public.ipai_agent_run r
		   join public.ipai_agent a on a.id = r.agent_id where a.code_name = $1 order by r.started_at, r.id`,
		[code],
	);
	return rows;
}

beforeAll(async () => {
	sim = await MattermostSimulator.start({
		tokens: { [TOKEN]: { id: 'mcpe2ebotuser0000000000000', username: 'slo-bot', isBot: true, channels: [CHANNEL] } },
		channels: [{ id: CHANNEL, name: 'data-alerts' }],
	});
	stack = await startMcpStack({
		fixtures: async (pool) => {
			await pool.query(
				`insert into ipai_gold_erp.profit_and_loss (connector_id, company_id, currency, month, account_group, account_type, account_id, account_code, account_name, amount, line_count)
				 select $1::uuid, 1 + (g % 3), 'EUR', date '2026-01-01' + (((g / 7) % 6) * interval '1 month'), case when g % 2 = 0 then 'income' else 'expense' end,
				        'type_' || (g % 4), g, lpad(g::text, 4, '0'), 'Account ' || (g % 7), round((g * 37 % 1000 - 400)::numeric / 7, 2), g % 5
				   from generate_series(1, 300) g`,
				[CONNECTOR],
			);
			await pool.query(
				`insert into ipai_gold_erp.open_items (connector_id, company_id, currency, line_id, kind, partner_id, partner_name, date, date_due, amount_open, days_past_due, aging_bucket)
				 select $1::uuid, 1 + (g % 3), 'EUR', g, case when g % 2 = 0 then 'receivable' else 'payable' end, g % 9, 'Partner ' || (g % 9),
				        date '2026-03-01', date '2026-04-01', g * 10, g % 90, 'b' || (g % 4)
				   from generate_series(1, 90) g`,
				[CONNECTOR],
			);
		},
		agents: [
			{
				codeName: FINANCE, displayName: 'Finance analyst (MCP)', agentType: 'claude', allowedSchemas: ['ipai_gold_erp.profit_and_loss'],
				allowedTools: [], costBudgetUsd: 0.1, latencyBudgetMs: 10_000, config: { company_ids: [1, 2], query_cost_usd: 0.01, max_rows: 200 },
			},
			{
				codeName: ITEMS, displayName: 'Collections agent (MCP)', agentType: 'claude', allowedSchemas: ['ipai_gold_erp.open_items'],
				allowedTools: ['lakehouse_query'], latencyBudgetMs: 10_000, config: { company_ids: [3] },
			},
		],
	});
	finance = await stack.connect(FINANCE);
});

afterAll(async () => {
	await stack?.dispose();
	await sim?.close();
});

it('lists exactly the tools of the agent\'s models, with their typed query arguments', async () => {
	const { tools } = await finance.listTools();
	expect(tools.map((t) => t.name).sort()).toEqual(['describe_finance_profit_and_loss', 'query_finance_profit_and_loss']);
	const queryTool = tools.find((t) => t.name === 'query_finance_profit_and_loss')!;
	expect(Object.keys(queryTool.inputSchema.properties ?? {}).sort()).toEqual(['columns', 'filters', 'group_by', 'limit', 'measures', 'order_by']);
	expect(queryTool.description).toMatch(/Only companies 1, 2 are visible/);
	const items = await stack.connect(ITEMS);
	expect((await items.listTools()).tools.map((t) => t.name).sort()).toEqual(['describe_finance_open_items', 'lakehouse_sql', 'query_finance_open_items']);
});

it('describes a model: meaning, grain, typed columns and the company scope', async () => {
	const described = toolJson(await finance.callTool({ name: 'describe_finance_profit_and_loss', arguments: {} }));
	expect(described).toMatchObject({ model: 'finance.profit_and_loss', grain: expect.stringContaining('one row per'), company_scope: expect.stringContaining('1, 2') });
	expect((described.columns as Array<{ name: string; type: string }>).find((c) => c.name === 'amount')).toMatchObject({ type: 'numeric', role: 'measure' });
});

it('a query within scope returns what PostgreSQL answers to the same question under the same scope, and is accounted for', async () => {
	const answer = toolJson(await finance.callTool({
		name: 'query_finance_profit_and_loss',
		arguments: { filters: JSON.stringify({ month: { gte: '2026-02-01' }, account_group: 'income' }), group_by: 'company_id, month', measures: 'amount, line_count', order_by: 'company_id, month', limit: 50 },
	}));
	const { rows } = await stack.pool.query(
		`select company_id, month, sum(amount) as amount, sum(line_count) as line_count from ipai_gold_erp.profit_and_loss
		  where company_id in (1, 2) and month >= '2026-02-01' and account_group = 'income' group by 1, 2 order by 1, 2`,
	);
	expect(rows.length).toBeGreaterThan(4);
	expect(answer.rows).toEqual(JSON.parse(JSON.stringify(rows)));
	const run = (await ledger(FINANCE)).at(-1)!;
	expect(run).toMatchObject({ status: 'success', input_summary: { tool: 'query_finance_profit_and_loss', channel: 'mcp', arguments: expect.objectContaining({ groupBy: 'company_id, month' }) }, cost_usd: '0.010000', output_summary: { rows: rows.length } });
	expect(run.session_id).toMatch(/\S/);
	expect(run.latency_ms).toEqual(expect.any(Number));
});

it('a column or model outside the scope is refused, and the refusal is logged', async () => {
	const column = toolJson(await finance.callTool({ name: 'query_finance_profit_and_loss', arguments: { columns: 'amount, connector_secret', filters: '', group_by: '', measures: '', order_by: '', limit: 5 } }));
	expect(column).toMatchObject({ refused: true, code: 'invalid_arguments', reason: expect.stringContaining('"connector_secret" is not a column') });
	// Another agent's model is no tool of this server at all.
	await expect(finance.callTool({ name: 'query_finance_open_items', arguments: {} })).rejects.toThrow(/Tool not found/);
	const runs = await ledger(FINANCE);
	expect(runs.at(-1)).toMatchObject({ status: 'refused', metadata: { refusal: 'invalid_arguments' }, input_summary: { arguments: expect.objectContaining({ columns: 'amount, connector_secret' }) } });
});

it('two agents are isolated: each sees only its model and its companies', async () => {
	const items = await stack.connect(ITEMS);
	const mine = toolJson(await items.callTool({ name: 'query_finance_open_items', arguments: { group_by: 'company_id', measures: 'days_past_due', filters: '', columns: '', order_by: '', limit: 10 } }));
	expect((mine.rows as Array<{ company_id: string }>).map((r) => String(r.company_id))).toEqual(['3']);
	const sql = toolJson(await items.callTool({ name: 'lakehouse_sql', arguments: { sql: 'select company_id, count(*) as n from ipai_gold_erp.open_items group by 1' } }));
	expect((sql.rows as Array<{ company_id: string }>).map((r) => String(r.company_id))).toEqual(['3']);
	// Free SQL on the other agent's table is stopped by PostgreSQL (the login holds no grant).
	const theirs = await items.callTool({ name: 'lakehouse_sql', arguments: { sql: 'select count(*) from ipai_gold_erp.profit_and_loss' } });
	expect(JSON.stringify(theirs.content)).toMatch(/permission denied for table profit_and_loss/);
	const { rows } = await stack.pool.query(`select count(*)::int as n from public.ipai_agent_run r join public.ipai_agent a on a.id = r.agent_id where a.code_name = $1 and r.input_summary->>'model' = 'finance.open_items'`, [FINANCE]);
	expect(rows[0].n).toBe(0);
});

it('a wrong bearer token is refused before any tool runs', async () => {
	const before = (await stack.pool.query('select count(*)::int as n from public.ipai_agent_run')).rows[0].n;
	await expect(stack.connect(FINANCE, 'not-the-token')).rejects.toThrow(/Authorization data is wrong/);
	const res = await fetch(stack.servers.get(FINANCE)!.endpoint, {
		method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', authorization: `Bearer ${stack.servers.get(ITEMS)!.token}` },
		body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'query_finance_profit_and_loss', arguments: {} } }),
	});
	expect([401, 403]).toContain(res.status);
	expect((await stack.pool.query('select count(*)::int as n from public.ipai_agent_run')).rows[0].n).toBe(before);
});

it('once the daily budget is spent calls are refused, and the budget alert posts once to Mattermost', async () => {
	const call = () => finance.callTool({ name: 'query_finance_profit_and_loss', arguments: { filters: '', group_by: 'month', measures: 'amount', columns: '', order_by: '', limit: 10 } }).then(toolJson);
	let refused: Record<string, unknown> | undefined;
	for (let i = 0; i < 12 && !refused; i++) {
		const answer = await call();
		if (answer.refused) refused = answer;
	}
	expect(refused).toMatchObject({ code: 'daily_cost_budget', budget: { kind: 'daily_cost', limit: 0.1 } });
	for (let i = 0; i < 3; i++) expect(await call()).toMatchObject({ refused: true, code: 'daily_cost_budget' });
	const target = { mode: 'bot' as const, serverUrl: sim.url, token: TOKEN, channelId: CHANNEL };
	for (let i = 0; i < 2; i++) {
		await runEvaluation(stack.pool, { slos: ['agent-budget'] });
		await deliverDue(stack.pool, target);
	}
	const posts = sim.postsIn(CHANNEL).filter((p) => JSON.stringify(p).includes(FINANCE));
	expect(posts).toHaveLength(1);
	expect(JSON.stringify(posts[0])).toMatch(/daily cost budget/);
});

it('a tool whose model left the agent\'s scope after the server was generated is refused by the guard and logged', async () => {
	const items = await stack.connect(ITEMS);
	await updateAgent(stack.guard.pool, { codeName: ITEMS, allowedSchemas: ['ipai_gold_erp.cash_flow'] });
	const answer = toolJson(await items.callTool({ name: 'query_finance_open_items', arguments: { filters: '', group_by: '', measures: '', columns: '', order_by: '', limit: 5 } }));
	expect(answer).toMatchObject({ refused: true, code: 'model_not_allowed' });
	expect((await ledger(ITEMS)).at(-1)).toMatchObject({ status: 'refused', metadata: { refusal: 'model_not_allowed' }, input_summary: { model: 'finance.open_items', channel: 'mcp' } });
});
