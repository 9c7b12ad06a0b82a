/**
 * The agent registry (public.ipai_agent, PRD R4.4). Every change goes through
 * ipai_meta.agent_sync() in the same transaction, so an agent's database login always holds
 * exactly what its row says (plan D14: one login per agent; privileges enforced by PostgreSQL).
 */
import type { ClientBase, Pool } from 'pg';
import { writeAudit } from '../lakehouse/audit';
import { inTransaction } from '../lakehouse/connection';

export const AGENT_TYPES = ['pulser', 'claude', 'gemini', 'custom'] as const;
export const AGENT_OPERATIONS = ['read', 'write', 'transform', 'schedule'] as const;
export type AgentType = (typeof AGENT_TYPES)[number];
export type AgentOperation = (typeof AGENT_OPERATIONS)[number];

export interface Agent {
	id: string;
	codeName: string;
	displayName: string;
	description: string | null;
	agentType: AgentType;
	allowedTools: string[];
	/** 'schema' (all of it) or 'schema.relation' entries; only lakehouse data layers count. */
	allowedSchemas: string[];
	allowedOperations: AgentOperation[];
	/** Per UTC day, across all the agent's runs. */
	costBudgetUsd: number | null;
	/** Per run: the statement timeout of a query, and the most a logged run may take. */
	latencyBudgetMs: number | null;
	config: Record<string, unknown>;
	isActive: boolean;
	loginName: string | null;
	createdAt: string;
	updatedAt: string;
}

export interface AgentInput {
	codeName: string;
	displayName?: string;
	description?: string | null;
	agentType?: AgentType;
	allowedTools?: string[];
	allowedSchemas?: string[];
	allowedOperations?: AgentOperation[];
	costBudgetUsd?: number | null;
	latencyBudgetMs?: number | null;
	/**
	 * Budget knobs beyond the PRD's two columns: max_run_cost_usd (per run), daily_latency_budget_ms
	 * (total per UTC day), max_rows (row cap of a query, default 1000, at most 10000), query_cost_usd
	 * (what each query costs against the cost budgets), company_ids (the only companies whose rows
	 * the agent's login can read, enforced by row-level security).
	 */
	config?: Record<string, unknown>;
}

export class AgentRegistryError extends Error {}

const CODE_NAME = /^[a-z][a-z0-9_]{0,51}$/;
const SCOPE_ENTRY = /^ipai_(bronze|silver|gold|platinum)_[a-z0-9_]+(\.[A-Za-z0-9_]+)?$/;

function validate(input: AgentInput, creating: boolean): void {
	if (!CODE_NAME.test(input.codeName ?? '')) {
		throw new AgentRegistryError(
			`Agent code name ${JSON.stringify(input.codeName)} must be lower-case letters, digits and _ (1–52 characters, starting with a letter); it names the agent's database login`,
		);
	}
	if (creating && !input.displayName?.trim()) throw new AgentRegistryError('An agent needs a display name');
	if (input.agentType !== undefined && !AGENT_TYPES.includes(input.agentType)) {
		throw new AgentRegistryError(`Agent type "${input.agentType}" is not one of ${AGENT_TYPES.join(', ')}`);
	}
	for (const op of input.allowedOperations ?? []) {
		if (!AGENT_OPERATIONS.includes(op)) throw new AgentRegistryError(`Operation "${op}" is not one of ${AGENT_OPERATIONS.join(', ')}`);
	}
	for (const entry of input.allowedSchemas ?? []) {
		if (!SCOPE_ENTRY.test(entry)) {
			throw new AgentRegistryError(
				`Allowed schema "${entry}" is not a lakehouse data schema (ipai_<bronze|silver|gold|platinum>_<domain>, optionally .<table>); control tables, ipai_meta and catalogs can never be granted`,
			);
		}
	}
	if (input.costBudgetUsd != null && !(input.costBudgetUsd >= 0)) throw new AgentRegistryError('The cost budget must be a number ≥ 0 (USD per day)');
	if (input.latencyBudgetMs != null && !(Number.isInteger(input.latencyBudgetMs) && input.latencyBudgetMs > 0)) {
		throw new AgentRegistryError('The latency budget must be a whole number of milliseconds > 0');
	}
	const config = input.config ?? {};
	if (typeof config !== 'object' || Array.isArray(config)) throw new AgentRegistryError('The agent config must be a JSON object');
	for (const key of ['max_run_cost_usd', 'daily_latency_budget_ms', 'max_rows', 'query_cost_usd']) {
		const v = config[key];
		if (v !== undefined && v !== null && !(typeof v === 'number' && v >= 0)) throw new AgentRegistryError(`config.${key} must be a number ≥ 0`);
	}
	if (config.company_ids !== undefined && config.company_ids !== null) {
		const ids = config.company_ids;
		if (!Array.isArray(ids) || !ids.every((id) => (typeof id === 'number' && Number.isInteger(id)) || (typeof id === 'string' && /^[A-Za-z0-9_-]{1,64}$/.test(id)))) {
			throw new AgentRegistryError('config.company_ids must be a list of company ids (whole numbers or short ids); the agent then reads only those companies\' rows');
		}
	}
	if (typeof config.max_rows === 'number' && config.max_rows > MAX_ROWS_LIMIT) throw new AgentRegistryError(`config.max_rows is at most ${MAX_ROWS_LIMIT}`);
}

export const MAX_ROWS_LIMIT = 10_000;

const SELECT_AGENT = `select a.id, a.code_name, a.display_name, a.description, a.agent_type, a.allowed_tools, a.allowed_schemas,
       a.allowed_operations, a.cost_budget_usd, a.latency_budget_ms, a.config, a.is_active, a.created_at, a.updated_at,
       c.login_name
  from public.ipai_agent a left join public.ipai_agent_credential c on c.agent_id = a.id`;

export function toAgent(r: Record<string, unknown>): Agent {
	return {
		id: String(r.id),
		codeName: String(r.code_name),
		displayName: String(r.display_name),
		description: (r.description as string | null) ?? null,
		agentType: r.agent_type as AgentType,
		allowedTools: (r.allowed_tools as string[] | null) ?? [],
		allowedSchemas: (r.allowed_schemas as string[] | null) ?? [],
		allowedOperations: (r.allowed_operations as AgentOperation[] | null) ?? [],
		costBudgetUsd: r.cost_budget_usd == null ? null : Number(r.cost_budget_usd),
		latencyBudgetMs: r.latency_budget_ms == null ? null : Number(r.latency_budget_ms),
		config: (r.config as Record<string, unknown> | null) ?? {},
		isActive: r.is_active !== false,
		loginName: (r.login_name as string | null) ?? null,
		createdAt: new Date(r.created_at as string).toISOString(),
		updatedAt: new Date(r.updated_at as string).toISOString(),
	};
}

export async function getAgent(db: Pool | ClientBase, codeName: string): Promise<Agent | undefined> {
	const { rows } = await db.query(`${SELECT_AGENT} where a.code_name = $1`, [codeName]);
	return rows[0] ? toAgent(rows[0]) : undefined;
}

export async function listAgents(pool: Pool, options: { includeInactive?: boolean } = {}): Promise<Agent[]> {
	const { rows } = await pool.query(
		`${SELECT_AGENT} where $1 or a.is_active is not false order by a.code_name`,
		[options.includeInactive === true],
	);
	return rows.map(toAgent);
}

/** Registers a new agent and creates its login with exactly the granted scope. */
export async function registerAgent(pool: Pool, input: AgentInput, actor: { userId?: string | null } = {}): Promise<Agent> {
	validate(input, true);
	return inTransaction(pool, async (client) => {
		const exists = await client.query('select 1 from public.ipai_agent where code_name = $1', [input.codeName]);
		if (exists.rowCount) throw new AgentRegistryError(`Agent "${input.codeName}" is already registered; use Update`);
		const { rows } = await client.query<{ id: string }>(
			`insert into public.ipai_agent (code_name, display_name, description, agent_type, allowed_tools, allowed_schemas,
			                                allowed_operations, cost_budget_usd, latency_budget_ms, config)
			 values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) returning id`,
			[
				input.codeName, input.displayName!.trim(), input.description ?? null, input.agentType ?? 'custom',
				input.allowedTools ?? [], input.allowedSchemas ?? [], input.allowedOperations ?? ['read'],
				input.costBudgetUsd ?? null, input.latencyBudgetMs ?? null, input.config ?? {},
			],
		);
		return syncAndAudit(client, rows[0].id, 'register', actor, input);
	});
}

/** Changes what is given (omitted fields keep their value) and re-syncs the login's privileges. */
export async function updateAgent(pool: Pool, input: AgentInput, actor: { userId?: string | null } = {}): Promise<Agent> {
	validate(input, false);
	return inTransaction(pool, async (client) => {
		const current = await getAgent(client, input.codeName);
		if (!current) throw new AgentRegistryError(`Agent "${input.codeName}" is not registered`);
		await client.query(
			`update public.ipai_agent
			    set display_name = $2, description = $3, agent_type = $4, allowed_tools = $5, allowed_schemas = $6,
			        allowed_operations = $7, cost_budget_usd = $8, latency_budget_ms = $9, config = $10
			  where id = $1`,
			[
				current.id,
				input.displayName?.trim() || current.displayName,
				input.description !== undefined ? input.description : current.description,
				input.agentType ?? current.agentType,
				input.allowedTools ?? current.allowedTools,
				input.allowedSchemas ?? current.allowedSchemas,
				input.allowedOperations ?? current.allowedOperations,
				input.costBudgetUsd !== undefined ? input.costBudgetUsd : current.costBudgetUsd,
				input.latencyBudgetMs !== undefined ? input.latencyBudgetMs : current.latencyBudgetMs,
				input.config ?? current.config,
			],
		);
		return syncAndAudit(client, current.id, 'update', actor, input);
	});
}

/** Deactivates: the row stays (runs reference it), the login can no longer connect and holds nothing. */
export async function deactivateAgent(pool: Pool, codeName: string, actor: { userId?: string | null } = {}): Promise<Agent> {
	return inTransaction(pool, async (client) => {
		const { rows } = await client.query<{ id: string }>(
			'update public.ipai_agent set is_active = false where code_name = $1 returning id',
			[codeName],
		);
		if (!rows[0]) throw new AgentRegistryError(`Agent "${codeName}" is not registered`);
		return syncAndAudit(client, rows[0].id, 'deactivate', actor, { codeName });
	});
}

/** Re-grants an agent's scope, e.g. after new relations appeared in an allowed schema. */
export async function syncAgent(pool: Pool, codeName: string, actor: { userId?: string | null } = {}): Promise<Agent> {
	return inTransaction(pool, async (client) => {
		const current = await getAgent(client, codeName);
		if (!current) throw new AgentRegistryError(`Agent "${codeName}" is not registered`);
		return syncAndAudit(client, current.id, 'sync', actor, { codeName });
	});
}

async function syncAndAudit(
	client: ClientBase,
	id: string,
	action: string,
	actor: { userId?: string | null },
	input: Partial<AgentInput>,
): Promise<Agent> {
	await client.query('select ipai_meta.agent_sync($1)', [id]);
	const { rows } = await client.query(`${SELECT_AGENT} where a.id = $1`, [id]);
	const agent = toAgent(rows[0]);
	await writeAudit(client, {
		eventType: 'agent_run',
		entityType: 'agent',
		entityId: id,
		userId: actor.userId ?? null,
		action: `agent_${action}`,
		details: { code_name: agent.codeName, login: agent.loginName, changed: Object.keys(input).filter((k) => k !== 'codeName') ,
			allowed_schemas: agent.allowedSchemas, allowed_operations: agent.allowedOperations, is_active: agent.isActive },
	});
	return agent;
}
