/**
 * A real n8n 2.x serving agents' MCP servers over a real lakehouse, for the MCP e2e test and
 * bench/mcp.ts: the packed package installed, a least-privilege guard login as the lakehouse
 * credential, one bearer credential and one generated MCP server workflow per agent, published.
 * Clients are the official MCP TypeScript SDK over streamable HTTP. No jest imports.
 */
import { randomBytes } from 'node:crypto';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { Pool } from 'pg';
import { agentToolPlan, mcpServerSetup, registerAgent, type AgentGuard, type AgentInput } from '../../lib/agents';
import { migrate } from '../../lib/lakehouse/migrate';
import { createScratchDatabase, type ScratchDatabase } from '../helpers/database';
import { N8nInstance } from './n8nRuntime';
import { lakehouseCredential, packPackage } from './pack';

export interface McpAgentServer {
	codeName: string;
	token: string;
	endpoint: string;
	setup: Record<string, unknown>;
}

export interface McpStack {
	n8n: N8nInstance;
	lakehouse: ScratchDatabase;
	/** Superuser pool on the lakehouse (fixtures and oracles). */
	pool: Pool;
	guard: AgentGuard;
	servers: Map<string, McpAgentServer>;
	connect(codeName: string, token?: string): Promise<Client>;
	dispose(): Promise<void>;
}

export interface McpStackOptions {
	/** SQL run as superuser on the migrated lakehouse before the agents are registered. */
	fixtures: (pool: Pool) => Promise<void>;
	agents: AgentInput[];
}

export async function startMcpStack(options: McpStackOptions): Promise<McpStack> {
	const tag = randomBytes(3).toString('hex');
	const guardLogin = `ipai_guard_mcp_${tag}`;
	const guardPassword = `pw-${randomBytes(8).toString('hex')}`;
	const lakehouse = await createScratchDatabase('ipai_e2e_mcp');
	const pool = new Pool({ connectionString: lakehouse.url, max: 4 });
	pool.on('error', () => undefined);
	const guardUrl = new URL(lakehouse.url);
	guardUrl.username = guardLogin;
	guardUrl.password = guardPassword;
	const guardPool = new Pool({ connectionString: guardUrl.toString(), max: 4 });
	guardPool.on('error', () => undefined);
	const guard: AgentGuard = { pool: guardPool, connection: { connectionString: guardUrl.toString() } };
	const n8n = await N8nInstance.create({ env: { N8N_COMMUNITY_PACKAGES_ALLOW_TOOL_USAGE: 'true' } });
	const servers = new Map<string, McpAgentServer>();
	const clients: Client[] = [];
	// Roles are cluster-wide: whatever this stack created goes, however far it got.
	const cleanUp = async (): Promise<void> => {
		for (const c of clients) await c.close().catch(() => undefined);
		await n8n.dispose().catch(() => undefined);
		await guardPool.end().catch(() => undefined);
		const { rows } = await pool.query<{ login_name: string }>('select login_name from public.ipai_agent_credential').catch(() => ({ rows: [] as { login_name: string }[] }));
		for (const role of [...rows.map((r) => r.login_name), guardLogin]) {
			await pool.query(`drop owned by "${role}"; drop role if exists "${role}"`).catch(() => undefined);
		}
		await pool.end().catch(() => undefined);
		await lakehouse.drop();
	};
	try {
		await migrate({ connection: { connectionString: lakehouse.url } });
		await pool.query(`create role ${guardLogin} login password '${guardPassword}'; grant ipai_guard to ${guardLogin}`);
		await options.fixtures(pool);
		for (const agent of options.agents) await registerAgent(guardPool, agent);
		await n8n.installPackage(packPackage());
		const credentials: Array<Record<string, unknown>> = [{ ...lakehouseCredential('mcpGuardLakehouse', guardUrl.toString()), name: 'IPAI Lakehouse (agent guard)' }];
		const workflows: Array<Record<string, unknown> & { id: string }> = [];
		for (const [k, agent] of options.agents.entries()) {
			const token = `mcp-${agent.codeName}-${randomBytes(16).toString('hex')}`;
			const bearerId = `mcpBearer${k}${tag}`.slice(0, 20);
			credentials.push({ id: bearerId, name: `IPAI MCP bearer: ${agent.codeName}`, type: 'httpBearerAuth', data: { token } });
			const setup = mcpServerSetup(await agentToolPlan(guard, agent.codeName), {
				baseUrl: 'http://127.0.0.1:1', credentialId: 'mcpGuardLakehouse', bearerCredentialId: bearerId,
			});
			workflows.push(setup.workflow as Record<string, unknown> & { id: string });
			servers.set(agent.codeName, { codeName: agent.codeName, token, endpoint: String(setup.endpoint), setup });
		}
		await n8n.importCredentials(credentials);
		for (const wf of workflows) await n8n.importWorkflow(wf);
		await n8n.start({ timeoutMs: 600_000 });
		await n8n.setupOwner();
		const apiKey = await n8n.createApiKey();
		for (const wf of workflows) await n8n.publicApi(apiKey, 'POST', `/workflows/${wf.id}/activate`);
		for (const server of servers.values()) {
			server.endpoint = server.endpoint.replace('http://127.0.0.1:1', n8n.baseUrl);
			server.setup = { ...server.setup, endpoint: server.endpoint };
			await waitRegistered(server.endpoint);
		}
	} catch (error) {
		await cleanUp();
		throw error;
	}

	return {
		n8n, lakehouse, pool, guard, servers,
		async connect(codeName: string, token?: string): Promise<Client> {
			const server = servers.get(codeName)!;
			const client = new Client({ name: 'ipai-e2e', version: '1.0.0' });
			const transport = new StreamableHTTPClientTransport(new URL(server.endpoint), {
				requestInit: { headers: { Authorization: `Bearer ${token ?? server.token}` } },
			});
			await client.connect(transport);
			clients.push(client);
			return client;
		},
		dispose: cleanUp,
	};
}

/**
 * Activation returns before n8n has registered the trigger's webhook: until then the endpoint
 * answers 404; once registered, a call without a token is refused (401/403) before any tool runs.
 */
async function waitRegistered(endpoint: string, timeoutMs = 60_000): Promise<void> {
	const deadline = Date.now() + timeoutMs;
	for (;;) {
		const res = await fetch(endpoint, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' }).catch(() => undefined);
		await res?.arrayBuffer();
		if (res && res.status !== 404) return;
		if (Date.now() > deadline) throw new Error(`MCP endpoint ${endpoint} not registered after ${timeoutMs} ms`);
		await new Promise((resolve) => setTimeout(resolve, 200));
	}
}

/** The JSON a tool answered (n8n returns the tool node's output as text content). */
export function toolJson(result: unknown): Record<string, unknown> {
	const content = (result as { content?: Array<{ type: string; text?: string }> }).content ?? [];
	const text = content.find((c) => c.type === 'text')?.text ?? '';
	let parsed: unknown;
	try {
		parsed = JSON.parse(text);
	} catch {
		throw new Error(`tool answered non-JSON text: ${text.slice(0, 500)}`);
	}
	// n8n answers a list of the node's output items.
	const first = Array.isArray(parsed) ? parsed[0] : parsed;
	return ((first as { json?: unknown })?.json ?? first) as Record<string, unknown>;
}
