/**
 * An agent's MCP server in n8n: the workflow (n8n's MCP Server Trigger with the agent's bearer
 * credential, connected to one describe and one query tool per model the agent may read, plus the
 * guarded free-SQL tool when its allowed_tools name it), the endpoint, and the configuration a
 * user pastes into an MCP client.
 *
 * The agent is fixed in every tool node's parameters; the only arguments a client fills are the
 * query's ($fromAI), so no call can act as another agent. Whoever holds the bearer token of this
 * workflow's trigger acts as this agent: one credential per agent.
 */
import { createHash } from 'node:crypto';
import { companyScope, FREE_SQL_TOOL, type AgentToolPlan } from './modelTools';
import { modelToolStem, type SemanticModel } from './semantic';

export const PACKAGE_NAME = 'n8n-nodes-ipai-lakehouse';
export const MCP_TRIGGER_TYPE = '@n8n/n8n-nodes-langchain.mcpTrigger';
export const MCP_TRIGGER_VERSION = 2.1;

export interface McpServerOptions {
	/** Where n8n is reached by clients, e.g. https://n8n.example.com */
	baseUrl: string;
	/** n8n's MCP endpoint prefix (N8N_ENDPOINT_MCP, default "mcp"). */
	mcpEndpoint?: string;
	/** The lakehouse credential the guard nodes use (a guard login, never a superuser). */
	credentialName?: string;
	credentialId?: string;
	/** The bearer credential of the trigger (one per agent). */
	bearerCredentialName?: string;
	bearerCredentialId?: string;
}

export function mcpPath(codeName: string): string {
	return `ipai-agent-${codeName.replace(/_/g, '-')}`;
}

export function mcpWorkflowId(codeName: string): string {
	// n8n workflow ids are at most 21 characters.
	return `ipaiMcp${codeName.replace(/[^a-z0-9]/g, '')}`.slice(0, 21);
}

/** A stable UUID-shaped id for a node of an agent's workflow (the same agent and node give the same id). */
function stableId(...parts: string[]): string {
	const h = createHash('sha256').update(parts.join('\u0000')).digest('hex');
	return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

const SESSION = "={{ $json.headers?.['mcp-session-id'] ?? '' }}";

function measureText(model: SemanticModel): string {
	return model.measures.map((m) => `${m.name} (${m.agg}${m.unit ? `, ${m.unit}` : ''}${m.summableBy ? `, sum only grouped by ${m.summableBy.join('+')}` : ''})`).join('; ');
}

function scopeText(plan: AgentToolPlan): string {
	const ids = companyScope(plan.agent);
	return ids ? `Only companies ${ids.join(', ')} are visible (enforced by the database).` : 'All companies the agent is granted are visible.';
}

/** The tool descriptions a model reads: what the data means, its grain, units and the company scope. */
export function describeToolDescription(model: SemanticModel, plan: AgentToolPlan): string {
	return `Describe the lakehouse model ${model.datasetName}: ${model.description ?? ''} Returns its grain, dimensions, measures with units, and columns with types. ${scopeText(plan)} Call before query_${modelToolStem(model.datasetName)}.`.replace(/\s+/g, ' ').trim();
}

export function queryToolDescription(model: SemanticModel, plan: AgentToolPlan): string {
	return (
		`Query the lakehouse model ${model.datasetName} (${model.schema}.${model.object}): ${model.description ?? ''} Grain: ${model.grain}. ` +
		`Dimensions: ${model.dimensions.join(', ')}. Measures: ${measureText(model)}. ${scopeText(plan)} ` +
		'Give filters as a JSON object {"column": value | [values] | {"gte": v, "lt": v, "in": [..], "between": [a, b], "contains": "text", "is_null": true}}; ' +
		'group_by as dimension names and measures as measure names (comma-separated) to aggregate, or columns to list rows; order_by as "column desc, column"; limit rows. No SQL is accepted.'
	).replace(/\s+/g, ' ').trim();
}

interface WorkflowNode {
	id: string;
	name: string;
	type: string;
	typeVersion: number;
	position: [number, number];
	parameters: Record<string, unknown>;
	credentials?: Record<string, { id?: string; name: string }>;
	webhookId?: string;
}

const fromAi = (key: string, description: string, type: 'string' | 'number', fallback: string | number) =>
	`={{ $fromAI('${key}', '${description}', '${type}', ${typeof fallback === 'number' ? fallback : `'${fallback}'`}) }}`;

/** The workflow of an agent's MCP server; deterministic for the same agent, models and options. */
export function mcpServerWorkflow(plan: AgentToolPlan, options: Partial<McpServerOptions> = {}): Record<string, unknown> {
	const code = plan.agent.codeName;
	const lakehouse = { ipaiLakehouseApi: { ...(options.credentialId ? { id: options.credentialId } : {}), name: options.credentialName ?? 'IPAI Lakehouse (agent guard)' } };
	const bearer = { httpBearerAuth: { ...(options.bearerCredentialId ? { id: options.bearerCredentialId } : {}), name: options.bearerCredentialName ?? `IPAI MCP bearer: ${code}` } };
	const trigger: WorkflowNode = {
		id: stableId(code, 'trigger'), name: 'MCP Server Trigger', type: MCP_TRIGGER_TYPE, typeVersion: MCP_TRIGGER_VERSION, position: [0, 0],
		webhookId: stableId(code, 'webhook'),
		parameters: {
			authentication: 'bearerAuth',
			path: mcpPath(code),
			instructions: `Lakehouse data tools of agent ${code}. Describe a model before querying it; queries take filters, group_by, measures, columns, order_by and limit, never SQL. ${scopeText(plan)} Every call is logged and counted against the agent's budgets.`,
		},
		credentials: bearer,
	};
	const tools: WorkflowNode[] = [];
	const guardNode = (name: string, parameters: Record<string, unknown>, index: number): WorkflowNode => ({
		id: stableId(code, name), name, type: `${PACKAGE_NAME}.ipaiAgentGuardTool`, typeVersion: 2,
		position: [200 * (index % 6), 240 + 200 * Math.floor(index / 6)],
		parameters: { resource: 'query', descriptionType: 'manual', ...parameters, agent: code, sessionId: SESSION, channel: 'mcp' },
		credentials: lakehouse,
	});
	plan.models.forEach((model, k) => {
		const stem = modelToolStem(model.datasetName);
		tools.push(guardNode(`describe_${stem}`, { toolDescription: describeToolDescription(model, plan), operation: 'describeModel', model: model.datasetName }, 2 * k));
		tools.push(guardNode(`query_${stem}`, {
			toolDescription: queryToolDescription(model, plan), operation: 'queryModel', model: model.datasetName,
			filters: fromAi('filters', 'JSON object of filters on declared columns, empty for none', 'string', ''),
			groupBy: fromAi('group_by', 'Comma-separated dimensions to group by, empty for none', 'string', ''),
			measures: fromAi('measures', 'Comma-separated measures to aggregate, empty for none', 'string', ''),
			columns: fromAi('columns', 'Comma-separated columns to return when not aggregating, empty for all', 'string', ''),
			orderBy: fromAi('order_by', 'Comma-separated column asc or desc, empty for the default order', 'string', ''),
			limit: fromAi('limit', 'Most rows to return', 'number', 100),
		}, 2 * k + 1));
	});
	if (plan.freeSql) {
		tools.push(guardNode('lakehouse_sql', {
			toolDescription: `Run one read-only SELECT over the lakehouse as agent ${code}, within its allowed schemas (${plan.agent.allowedSchemas.join(', ')}), row cap and budgets. Use schema-qualified names. Prefer the model tools.`,
			operation: 'query', sql: "={{ $fromAI('sql', 'One read-only SELECT over schema-qualified relations', 'string') }}", maxRows: 200, output: 'single', checkTool: FREE_SQL_TOOL,
		}, tools.length));
	}
	const connections: Record<string, unknown> = {};
	for (const t of tools) connections[t.name] = { ai_tool: [[{ node: trigger.name, type: 'ai_tool', index: 0 }]] };
	return {
		id: mcpWorkflowId(code),
		name: `IPAI: MCP server of agent ${code}`,
		nodes: [trigger, ...tools],
		connections,
		settings: { executionOrder: 'v1' },
		pinData: {},
		meta: { templateVersion: '1.1.0', templateCredsSetupCompleted: false },
		tags: [],
	};
}

/** What the registry prints for an agent: endpoint, client configuration and the workflow to import. */
export function mcpServerSetup(plan: AgentToolPlan, options: McpServerOptions): Record<string, unknown> {
	const code = plan.agent.codeName;
	const endpoint = `${options.baseUrl.replace(/\/+$/, '')}/${(options.mcpEndpoint ?? 'mcp').replace(/^\/+|\/+$/g, '')}/${mcpPath(code)}`;
	const serverName = `ipai-${code.replace(/_/g, '-')}`;
	const token = `<the token of n8n credential "${options.bearerCredentialName ?? `IPAI MCP bearer: ${code}`}">`;
	const workflow = mcpServerWorkflow(plan, options);
	return {
		agent: code,
		endpoint,
		transport: 'streamable-http',
		sseEndpoint: endpoint,
		tools: (workflow.nodes as WorkflowNode[]).slice(1).map((n) => n.name),
		models: plan.models.map((m) => m.datasetName),
		clientConfig: { mcpServers: { [serverName]: { type: 'http', url: endpoint, headers: { Authorization: `Bearer ${token}` } } } },
		clientConfigViaMcpRemote: { mcpServers: { [serverName]: { command: 'npx', args: ['-y', 'mcp-remote', endpoint, '--header', 'Authorization: Bearer ${IPAI_MCP_TOKEN}'], env: { IPAI_MCP_TOKEN: token } } } },
		workflow,
		steps: [
			`Create an n8n "Bearer Auth" credential named "${options.bearerCredentialName ?? `IPAI MCP bearer: ${code}`}" with a long random token (one per agent).`,
			'Import the workflow below and publish it (n8n import:workflow, or paste it into the editor).',
			'Paste clientConfig into the MCP client with the token in place of the placeholder.',
		],
	};
}
