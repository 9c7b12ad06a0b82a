/**
 * agent_budget: calls the Agent Guard stopped because a budget was spent or broken.
 *
 * The guard marks every run it refused or failed for a budget with metadata.over_budget (run_cost,
 * run_latency, daily_cost, daily_latency) and the limit in force (budget_limits). Daily budgets are
 * a state, not a noisy ratio: once one is spent every further call that day is refused, so the
 * alert fires on the first refusal (no minimum-event guard) and resolves at 00:00 UTC or as soon as
 * the limit is raised above what the refusals were measured against. A ticket warns at
 * params.warn_fraction of a daily budget. Per-run budgets are breached call by call: a ticket when
 * params.min_run_events breaches fall in params.run_window. Refusals for permissions (tool, schema,
 * operation, not a query) carry no over_budget and never count here.
 */
import { budgetCandidate } from '../alertText';
import { ratioFigures } from '../burnRate';
import { durationParam, numberParam, severityParam } from '../params';
import type { BudgetKind } from '../../agents/budgets';
import type { AgentBudgetState, AlertCandidate, SloDefinition, SloStatus } from '../types';
import { baseStatus, targetsOf, type EvaluationContext } from './context';
import { agentOf, agentTarget } from './agentData';
import type { SliEvaluator } from './registry';

interface BudgetAgentRow {
	id: string;
	code_name: string;
	agent_type: string;
	cost_budget_usd: string | null;
	latency_budget_ms: number | null;
	config: Record<string, unknown> | null;
}


function budgetLimits(a: BudgetAgentRow): Map<BudgetKind, number> {
	const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
	const out = new Map<BudgetKind, number>();
	if (a.cost_budget_usd !== null) out.set('daily_cost', Number(a.cost_budget_usd));
	const dailyLatency = num(a.config?.daily_latency_budget_ms);
	if (dailyLatency !== undefined) out.set('daily_latency', dailyLatency);
	const runCost = num(a.config?.max_run_cost_usd);
	if (runCost !== undefined) out.set('run_cost', runCost);
	if (a.latency_budget_ms !== null) out.set('run_latency', Number(a.latency_budget_ms));
	return out;
}

export const agentBudget: SliEvaluator = {
	async evaluate(ctx, slos) {
		const { rows: all } = await ctx.pool.query<BudgetAgentRow>(
			`select id, code_name, agent_type, cost_budget_usd, latency_budget_ms, config
			   from public.ipai_agent where is_active is not false order by code_name`,
		);
		// An agent without any budget has nothing to report here.
		const agents = all.filter((a) => budgetLimits(a).size > 0);
		const statuses: SloStatus[] = [];
		const candidates: AlertCandidate[] = [];
		if (agents.length === 0) return { statuses, candidates };
		for (const slo of slos) {
			const pairs = targetsOf([slo], 'agent_budget', agents, agentOf(agents));
			if (pairs.length === 0) continue;
			const part = await evaluateBudgetSlo(ctx, slo, pairs.map(([, a]) => a));
			statuses.push(...part.statuses);
			candidates.push(...part.candidates);
		}
		return { statuses, candidates };
	},
};

async function evaluateBudgetSlo(ctx: EvaluationContext, slo: SloDefinition, agents: BudgetAgentRow[]): Promise<{ statuses: SloStatus[]; candidates: AlertCandidate[] }> {
	const dayStart = new Date(Date.UTC(ctx.now.getUTCFullYear(), ctx.now.getUTCMonth(), ctx.now.getUTCDate()));
	const day = dayStart.toISOString().slice(0, 10);
	const warnFraction = numberParam(slo, 'warn_fraction', 0.8);
	const minRunEvents = Math.max(1, numberParam(slo, 'min_run_events', 3));
	const runWindow = durationParam(slo, 'run_window', 3600)!;
	const exhaustedSeverity = severityParam(slo, 'exhausted_severity', 'page');
	const runSeverity = severityParam(slo, 'run_severity', 'ticket');
	const ids = agents.map((a) => a.id);
	const periodStart = ctx.at(slo.periodSeconds);
	const runStart = ctx.at(runWindow);
	const earliest = new Date(Math.min(dayStart.getTime(), periodStart.getTime(), runStart.getTime()));
	const [calls, events] = await Promise.all([
		// Calls and budget-stopped calls over the period; spend today (the usage trigger's UTC day).
		ctx.pool.query<{ agent_id: string; calls: string; bad: string; day_cost: string; day_latency: string }>(
			`select r.agent_id,
			        count(*) filter (where r.ended_at > $3) as calls,
			        count(*) filter (where r.ended_at > $3 and r.metadata ? 'over_budget') as bad,
			        coalesce(sum(r.cost_usd) filter (where r.started_at >= $2), 0) as day_cost,
			        coalesce(sum(r.latency_ms) filter (where r.started_at >= $2), 0) as day_latency
			   from public.ipai_agent_run r
			  where r.agent_id = any ($4::uuid[]) and r.status in ('success', 'failed', 'refused')
			    and r.ended_at > $5 and r.ended_at <= $1
			  group by r.agent_id`,
			[ctx.now, dayStart, periodStart, ids, earliest],
		),
		// Budget events per agent and budget, counted only when measured against a limit at
		// least as strict as today's (raising a limit clears what the old one refused).
		ctx.pool.query<{ agent_id: string; kind: BudgetKind; today: string; recent: string; worst_recent: string | null; last_today: Date | null; last_recent: Date | null }>(
			`select r.agent_id, k.kind,
			        count(*) filter (where r.ended_at > $2 and v.counts) as today,
			        count(*) filter (where r.ended_at > $3 and v.counts) as recent,
			        max(v.used) filter (where r.ended_at > $3 and v.counts) as worst_recent,
			        max(r.ended_at) filter (where r.ended_at > $2 and v.counts) as last_today,
			        max(r.ended_at) filter (where r.ended_at > $3 and v.counts) as last_recent
			   from public.ipai_agent_run r
			   join public.ipai_agent a on a.id = r.agent_id
			  cross join lateral jsonb_array_elements_text(
			        case when jsonb_typeof(r.metadata -> 'over_budget') = 'array' then r.metadata -> 'over_budget' else '[]'::jsonb end) as k(kind)
			  cross join lateral (
			        select case when jsonb_typeof(r.metadata -> 'budget_used' -> k.kind) = 'number' then (r.metadata -> 'budget_used' ->> k.kind)::numeric end as used,
			               coalesce((case when jsonb_typeof(r.metadata -> 'budget_limits' -> k.kind) = 'number' then (r.metadata -> 'budget_limits' ->> k.kind)::numeric end)
			                        >= (case k.kind
			                              when 'daily_cost' then a.cost_budget_usd::numeric
			                              when 'run_latency' then a.latency_budget_ms::numeric
			                              else case when jsonb_typeof(a.config -> (case k.kind when 'daily_latency' then 'daily_latency_budget_ms' else 'max_run_cost_usd' end)) = 'number'
			                                        then (a.config ->> (case k.kind when 'daily_latency' then 'daily_latency_budget_ms' else 'max_run_cost_usd' end))::numeric end
			                            end), true) as counts) v
			  where r.agent_id = any ($4::uuid[]) and r.metadata ? 'over_budget' and r.ended_at > $5 and r.ended_at <= $1
			  group by r.agent_id, k.kind`,
			[ctx.now, dayStart, runStart, ids, earliest],
		),
	]);
	const callsBy = new Map(calls.rows.map((r) => [r.agent_id, r]));
	const eventsBy = new Map(events.rows.map((r) => [`${r.agent_id}/${r.kind}`, r]));

	const statuses: SloStatus[] = [];
	const candidates: AlertCandidate[] = [];
	for (const agent of agents) {
		const c = callsBy.get(agent.id);
		const budgets: AgentBudgetState[] = [];
		for (const [kind, limit] of budgetLimits(agent)) {
			const e = eventsBy.get(`${agent.id}/${kind}`);
			const unit = kind.endsWith('_cost') ? 'usd' : 'ms';
			if (kind === 'daily_cost' || kind === 'daily_latency') {
				const spent = Number((kind === 'daily_cost' ? c?.day_cost : c?.day_latency) ?? 0);
				const refusedToday = Number(e?.today ?? 0);
				const exhausted = refusedToday > 0 || (limit > 0 && spent >= limit);
				const warning = !exhausted && warnFraction > 0 && limit > 0 && spent >= warnFraction * limit;
				budgets.push({
					kind, unit, limit, used: spent, events: refusedToday, lastEventAt: e?.last_today?.toISOString() ?? null, day,
					state: exhausted ? 'exhausted' : warning ? 'warning' : 'ok',
					// Both when paging: the page mutes the warning ticket, which then stays quiet
					// instead of resolving when the page starts.
					severities: exhausted ? (exhaustedSeverity === 'page' ? ['page', 'ticket'] : ['ticket']) : warning ? ['ticket'] : [],
				});
			} else {
				const breaches = Number(e?.recent ?? 0);
				const breaking = breaches >= minRunEvents;
				budgets.push({
					kind, unit, limit, used: e?.worst_recent === null || e?.worst_recent === undefined ? null : Number(e.worst_recent),
					events: breaches, lastEventAt: e?.last_recent?.toISOString() ?? null, windowSeconds: runWindow,
					state: breaking ? 'breaking' : 'ok', severities: breaking ? [runSeverity] : [],
				});
			}
		}
		const period = { events: Number(c?.calls ?? 0), bad: Number(c?.bad ?? 0) };
		const firing = budgets.flatMap((b) => b.severities);
		const status: SloStatus = {
			...baseStatus(ctx, slo, agentTarget(agent)),
			status: firing.includes('page') ? 'page' : firing.includes('ticket') ? 'ticket' : period.events === 0 ? 'no_data' : 'ok',
			events: period.events,
			badEvents: period.bad,
			...ratioFigures(period, slo.objective),
			budgets,
		};
		if (status.status === 'no_data') status.reason = 'No agent call in the SLO period';
		statuses.push(status);
		for (const b of budgets) for (const severity of b.severities) candidates.push(budgetCandidate(ctx, slo, status, b, severity));
	}
	return { statuses, candidates };
}
