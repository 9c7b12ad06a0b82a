/**
 * The IPAI Agent Guard in a real n8n 2.x with the packed package installed: a workflow registers
 * an agent scoped to ipai_gold_erp, queries gold as that agent, and is refused (or stopped by
 * PostgreSQL) outside its scope; every call lands in ipai_agent_run. The n8n credential is a
 * least-privilege guard login (member of ipai_guard only), not a superuser.
 *
 * The package is built into a staging folder and packed from there, so this test neither needs
 * nor disturbs the shared dist/ other people's tests may be using at the same time.
 */
import { randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Pool } from 'pg';
import { migrate } from '../../lib/lakehouse/migrate';
import { createScratchDatabase, type ScratchDatabase } from '../../tooling/helpers/database';
import { N8nInstance, nodeOutput } from '../../tooling/n8n/n8nRuntime';
import { lakehouseCredential, PACKAGE_NAME } from '../../tooling/n8n/pack';

jest.setTimeout(900_000);

const ROOT = resolve(__dirname, '..', '..');
const tag = randomBytes(3).toString('hex');
const GUARD = `ipai_guard_e2e_${tag}`;
const GUARD_PASSWORD = `pw-${randomBytes(8).toString('hex')}`;
const AGENT = `fin_e2e_${tag}`;

function copyMatching(from: string, to: string, pattern: RegExp): void {
	if (!existsSync(from)) return;
	for (const entry of readdirSync(from)) {
		const source = join(from, entry);
		if (statSync(source).isDirectory()) copyMatching(source, join(to, entry), pattern);
		else if (pattern.test(entry)) cpSync(source, join(to, entry));
	}
}

function packStaged(): string {
	const stage = mkdtempSync(join(tmpdir(), 'ipai-agent-stage-'));
	try {
		execFileSync(join(ROOT, 'node_modules', '.bin', 'tsc'), ['-p', 'tsconfig.json', '--outDir', join(stage, 'dist')], { cwd: ROOT, stdio: 'pipe' });
	} catch (error) {
		// Files other people are still writing may not type-check yet; tsc emits regardless. Ours must be clean.
		const out = String((error as { stdout?: Buffer }).stdout ?? '');
		const ours = out.split('\n').filter((l) => /^(lib\/agents|nodes\/IpaiAgentGuard)/.test(l));
		if (ours.length) throw new Error(`tsc errors in the agent guard:\n${ours.join('\n')}`);
	}
	for (const dir of ['nodes', 'credentials']) copyMatching(join(ROOT, dir), join(stage, 'dist', dir), /\.(svg|png)$/);
	copyMatching(join(ROOT, 'migrations'), join(stage, 'dist', 'migrations'), /\.sql$/);
	copyMatching(join(ROOT, 'workflows'), join(stage, 'dist', 'workflows'), /\.json$/);
	cpSync(join(ROOT, 'package.json'), join(stage, 'package.json'));
	cpSync(join(ROOT, 'README.md'), join(stage, 'README.md'));
	for (const file of ['dist/nodes/IpaiAgentGuard/IpaiAgentGuard.node.js', 'dist/nodes/IpaiAgentGuard/agentGuard.svg']) {
		if (!existsSync(join(stage, file))) throw new Error(`staged package lacks ${file}`);
	}
	const out = execFileSync('npm', ['pack', '--json', '--pack-destination', stage], { cwd: stage, encoding: 'utf8' });
	const [info] = JSON.parse(out) as Array<{ filename: string }>;
	return join(stage, info.filename);
}

let n8n: N8nInstance;
let lakehouse: ScratchDatabase;
let pool: Pool;

beforeAll(async () => {
	lakehouse = await createScratchDatabase('ipai_e2e_agent');
	await migrate({ connection: { connectionString: lakehouse.url } });
	pool = new Pool({ connectionString: lakehouse.url });
	await pool.query(`
		create role ${GUARD} login password '${GUARD_PASSWORD}'; grant ipai_guard to ${GUARD};
		create table ipai_gold_erp.agent_probe (account text, balance numeric);
		insert into ipai_gold_erp.agent_probe values ('4000 Revenue', 1250.50), ('6000 Expenses', -800.25);
		select ipai_meta.secure_relation('ipai_gold_erp.agent_probe');
		create table ipai_silver_erp.silver_probe (secret text);
		insert into ipai_silver_erp.silver_probe values ('SILVER-SECRET');
		select ipai_meta.secure_relation('ipai_silver_erp.silver_probe');
	`);
	n8n = await N8nInstance.create();
	await n8n.installPackage(packStaged());
	const url = new URL(lakehouse.url);
	url.username = GUARD;
	url.password = GUARD_PASSWORD;
	await n8n.importCredentials([lakehouseCredential('lakehouseAgent01', url.toString())]);
});

afterAll(async () => {
	await n8n?.dispose();
	if (pool) {
		const { rows } = await pool.query<{ login_name: string }>('select login_name from public.ipai_agent_credential').catch(() => ({ rows: [] as { login_name: string }[] }));
		for (const role of [...rows.map((r) => r.login_name), GUARD]) {
			await pool.query(`drop owned by "${role}"; drop role if exists "${role}"`).catch(() => undefined);
		}
		await pool.end();
	}
	await lakehouse?.drop();
});

it('n8n lists the Agent Guard node type', async () => {
	expect(await n8n.listNodeTypes()).toEqual(expect.arrayContaining([`${PACKAGE_NAME}.ipaiAgentGuard`]));
});

it('registers an agent, queries gold as it, and refuses or stops everything outside its scope', async () => {
	const credentials = { ipaiLakehouseApi: { id: 'lakehouseAgent01', name: 'lakehouse lakehouseAgent01' } };
	const node = (id: string, name: string, parameters: Record<string, unknown>, x: number, extra: Record<string, unknown> = {}) => ({
		id, name, parameters, credentials, type: `${PACKAGE_NAME}.ipaiAgentGuard`, typeVersion: 1, position: [x, 0], ...extra,
	});
	await n8n.importWorkflow({
		id: 'ipaiAgentE2E0001',
		name: 'IPAI agent guard',
		active: false,
		settings: {},
		nodes: [
			{ id: 'a0', name: 'Manual', type: 'n8n-nodes-base.manualTrigger', typeVersion: 1, position: [0, 0], parameters: {} },
			node('a1', 'Register', {
				operation: 'register', agent: AGENT, displayName: 'Finance analyst (e2e)', agentType: 'claude',
				allowedTools: 'lakehouse_query', allowedSchemas: 'ipai_gold_erp', allowedOperations: ['read'], costBudgetUsd: 2, latencyBudgetMs: 5000,
			}, 200),
			node('a2', 'Query Gold', {
				operation: 'query', agent: AGENT, sql: 'select account, balance from ipai_gold_erp.agent_probe order by account',
				maxRows: 100, output: 'single', userId: '00000000-0000-4000-8000-00000000e2e0', sessionId: 'chat-e2e',
			}, 400),
			node('a3', 'Set Role', { operation: 'query', agent: AGENT, sql: 'set role postgres', maxRows: 10, output: 'single' }, 600),
			node('a4', 'Query Silver', { operation: 'query', agent: AGENT, sql: 'select secret from ipai_silver_erp.silver_probe', maxRows: 10, output: 'single' }, 800,
				{ onError: 'continueRegularOutput' }),
			node('a5', 'List', { operation: 'list' }, 1000),
			// An external tool call: Authorize holds its estimate against the daily budget, Log reports
			// the actual cost with the reservation, which replaces the hold.
			node('a6', 'Authorize', { operation: 'authorize', agent: AGENT, tool: 'lakehouse_query', schema: 'ipai_gold_erp', agentOperation: 'read', estimatedCostUsd: 0.5 }, 1200),
			node('a7', 'Log', {
				operation: 'log', agent: AGENT, logTool: 'lakehouse_query', status: 'success', costUsd: 0.4, latencyMs: 120, tokensUsed: 900,
				reservationId: '={{ $json.reservationId }}', sessionId: 'chat-e2e',
			}, 1400),
			node('a8', 'Authorize Too Much', { operation: 'authorize', agent: AGENT, tool: 'lakehouse_query', agentOperation: 'read', estimatedCostUsd: 1.7 }, 1600),
		],
		connections: {
			Manual: { main: [[{ node: 'Register', type: 'main', index: 0 }]] },
			Register: { main: [[{ node: 'Query Gold', type: 'main', index: 0 }]] },
			'Query Gold': { main: [[{ node: 'Set Role', type: 'main', index: 0 }]] },
			'Set Role': { main: [[{ node: 'Query Silver', type: 'main', index: 0 }]] },
			'Query Silver': { main: [[{ node: 'List', type: 'main', index: 0 }]] },
			List: { main: [[{ node: 'Authorize', type: 'main', index: 0 }]] },
			Authorize: { main: [[{ node: 'Log', type: 'main', index: 0 }]] },
			Log: { main: [[{ node: 'Authorize Too Much', type: 'main', index: 0 }]] },
		},
	});

	const run = await n8n.executeWorkflow('ipaiAgentE2E0001');
	expect(nodeOutput(run, 'Register')[0]).toMatchObject({ codeName: AGENT, created: true, loginName: `ipai_agent_${AGENT}`, allowedSchemas: ['ipai_gold_erp'] });
	expect(nodeOutput(run, 'Query Gold')[0]).toMatchObject({
		rowCount: 2, truncated: false, columns: ['account', 'balance'],
		rows: [{ account: '4000 Revenue', balance: '1250.50' }, { account: '6000 Expenses', balance: '-800.25' }],
	});
	expect(nodeOutput(run, 'Set Role')[0]).toMatchObject({ allowed: false, refused: true, code: 'not_a_query' });
	const silver = nodeOutput(run, 'Query Silver')[0];
	expect(String(silver.error)).toMatch(/permission denied for schema ipai_silver_erp/);
	expect(JSON.stringify(silver)).not.toContain('SILVER-SECRET');
	expect(nodeOutput(run, 'List').map((a) => a.codeName)).toEqual([AGENT]);
	expect(JSON.stringify(run)).not.toContain(GUARD_PASSWORD);
	const authorized = nodeOutput(run, 'Authorize')[0];
	expect(authorized).toMatchObject({ allowed: true, reservationId: expect.any(String) });
	expect(nodeOutput(run, 'Log')[0]).toMatchObject({ status: 'success', overBudget: [] });
	// $0.40 spent of $2: $1.70 more does not fit the day.
	expect(nodeOutput(run, 'Authorize Too Much')[0]).toMatchObject({ allowed: false, code: 'daily_cost_budget', budget: { kind: 'daily_cost', limit: 2, used: 0.4, requested: 1.7 } });
	const held = await pool.query('select release, cost_usd::float8 as cost from public.ipai_agent_reservation where id = $1', [authorized.reservationId]);
	expect(held.rows[0]).toEqual({ release: 'settled', cost: 0.5 });

	const { rows } = await pool.query(
		`select r.status, r.session_id from public.ipai_agent_run r join public.ipai_agent a on a.id = r.agent_id
		  where a.code_name = $1 order by r.ended_at`,
		[AGENT],
	);
	expect(rows).toEqual([
		{ status: 'success', session_id: 'chat-e2e' },
		{ status: 'refused', session_id: null },
		{ status: 'failed', session_id: null },
		{ status: 'success', session_id: 'chat-e2e' },
		{ status: 'refused', session_id: null },
	]);
});

it('the example template is importable and uses the Agent Guard as the AI Agent\'s tool', async () => {
	const template = JSON.parse(readFileSync(join(ROOT, 'workflows', 'agent-gold-finance.json'), 'utf8')) as {
		nodes: Array<{ type: string; name: string }>;
		connections: Record<string, Record<string, unknown>>;
	};
	const guardNode = template.nodes.find((n) => n.type === `${PACKAGE_NAME}.ipaiAgentGuardTool`);
	expect(guardNode).toBeDefined();
	expect(template.connections[guardNode!.name].ai_tool).toBeDefined();
	await n8n.importWorkflow({ ...template, id: 'ipaiAgentTpl0001', active: false });
	const types = await n8n.listNodeTypes();
	for (const n of template.nodes) {
		if (n.type.startsWith(PACKAGE_NAME)) expect(types).toContain(n.type.replace(/Tool$/, ''));
	}
});
