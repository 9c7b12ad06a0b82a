/**
 * Agent budgets: per run (cost: config.max_run_cost_usd; latency: latency_budget_ms, a query's
 * statement timeout) and per UTC day (cost_budget_usd; config.daily_latency_budget_ms). A call of an
 * agent with a daily budget first RESERVES its estimate under a lock on the agent's usage row for
 * the day (ipai_meta.agent_reserve), so concurrent calls cannot together overspend; recording the
 * run settles the reservation in the same transaction that adds the actual spend.
 */
import type { Pool } from 'pg';
import type { RefusalCode } from './guard';
import type { Agent } from './registry';

/** The budgets the guard enforces: per run and per UTC day, in USD and in milliseconds. */
export type BudgetKind = 'run_cost' | 'run_latency' | 'daily_cost' | 'daily_latency';

/** What a budget said when it stopped a call: the limit, and what was spent, reserved and asked for. */
export interface BudgetFacts {
	kind: BudgetKind;
	limit: number;
	/** run budgets: the call's estimate or actual; daily budgets: spent today (UTC) before this call. */
	used: number;
	/** daily budgets: held by calls in progress. */
	reserved?: number;
	requested?: number;
	/** The UTC day of a daily budget (YYYY-MM-DD). */
	day?: string;
}

export function numberOr(v: unknown): number | undefined {
	return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

/** The agent has a budget per UTC day (cost or latency): its calls reserve against it. */
export function hasDailyBudget(agent: Agent): boolean {
	return agent.costBudgetUsd !== null || numberOr(agent.config.daily_latency_budget_ms) !== undefined;
}

export type Reservation =
	| { reserved: true; id: string; latencyMs: number; day: string }
	| { reserved: false; code: RefusalCode; reason: string; budget: BudgetFacts };

const usd = (n: number) => `$${Number(n.toFixed(6))}`;

/**
 * Reserves a call's estimated cost and latency against the agent's daily budgets, or refuses with
 * the budget that is spent. One statement under the agent's usage-row lock (ipai_meta.agent_reserve),
 * so concurrent calls cannot together pass a budget that only some of them fit. `fitLatency`
 * shrinks the latency reservation to what is left of the day instead of refusing (queries, whose
 * statement timeout then becomes that remainder).
 */
export async function reserve(
	pool: Pool,
	agent: Agent,
	request: { costUsd: number; latencyMs: number; fitLatency: boolean; purpose: string; ttlSeconds?: number },
): Promise<Reservation> {
	const ttl = Math.max(60, Math.ceil(request.ttlSeconds ?? numberOr(agent.config.reservation_ttl_seconds) ?? 900));
	const { rows } = await pool.query<{
		reservation_id: string | null; reserved_latency_ms: string; budget: 'daily_cost' | 'daily_latency' | null;
		spent: string; reserved: string; requested: string; budget_limit: string | null; day: string;
	}>(
		`select reservation_id, reserved_latency_ms, budget, spent, reserved, requested, budget_limit, day::text as day
		   from ipai_meta.agent_reserve($1, $2, $3, $4, $5, $6)`,
		[agent.id, request.costUsd, Math.ceil(request.latencyMs), request.fitLatency, ttl, request.purpose],
	);
	const r = rows[0];
	if (r.reservation_id) return { reserved: true, id: r.reservation_id, latencyMs: Number(r.reserved_latency_ms), day: r.day };
	const facts: BudgetFacts = {
		kind: r.budget!, limit: Number(r.budget_limit), used: Number(r.spent), reserved: Number(r.reserved), requested: Number(r.requested), day: r.day,
	};
	const held = facts.reserved ? ` and ${facts.kind === 'daily_cost' ? usd(facts.reserved) : `${facts.reserved} ms`} is held by calls in progress` : '';
	const reason =
		facts.kind === 'daily_cost'
			? `Agent "${agent.codeName}" has spent ${usd(facts.used)} of its daily cost budget of ${usd(facts.limit)} today (UTC ${facts.day})${held}; ${facts.requested ? `${usd(facts.requested)} more does not fit` : 'nothing is left'}. Calls are refused until 00:00 UTC or until the budget is raised.`
			: `Agent "${agent.codeName}" has used ${facts.used} ms of its daily latency budget of ${facts.limit} ms today (UTC ${facts.day})${held}; ${facts.requested ? `${facts.requested} ms more does not fit` : 'nothing is left'}. Calls are refused until 00:00 UTC or until config.daily_latency_budget_ms is raised.`;
	return { reserved: false, code: facts.kind === 'daily_cost' ? 'daily_cost_budget' : 'daily_latency_budget', reason, budget: facts };
}

/** The metadata that marks a run as stopped or failed by budgets (read by the agent_budget SLI). */
export function budgetMetadata(facts: BudgetFacts[]): Record<string, unknown> {
	if (!facts.length) return {};
	return {
		over_budget: facts.map((f) => f.kind),
		budget_limits: Object.fromEntries(facts.map((f) => [f.kind, f.limit])),
		budget_used: Object.fromEntries(facts.map((f) => [f.kind, f.used])),
		...(facts.some((f) => f.reserved !== undefined) ? { budget_reserved: Object.fromEntries(facts.filter((f) => f.reserved !== undefined).map((f) => [f.kind, f.reserved])) } : {}),
	};
}

/** What one query of the agent costs against its budgets (config.query_cost_usd, default 0). */
export function queryCostUsd(agent: Agent): number {
	return numberOr(agent.config.query_cost_usd) ?? 0;
}

