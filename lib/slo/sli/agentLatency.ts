/**
 * agent_latency: the share of an agent's calls slower than params.threshold_ms (calls without a
 * latency are not events), alerted by burn rate; the status also carries the period's p95.
 */
import { statusCandidate } from '../alertText';
import { burningFingerprints, burnWindows, firingSeverities, ratioBurn, ratioFigures, windowedStatus, type WindowCounts } from '../burnRate';
import { baseStatus, targetsOf, type EvaluationContext, type SliPart } from './context';
import { activeAgents, agentOf, agentTarget, agentWindowCounts, latencyThreshold, latestAgentCalls } from './agentData';
import type { SliEvaluator } from './registry';

export const agentLatency: SliEvaluator = {
	async evaluate(ctx, slos) {
		const agents = await activeAgents(ctx);
		const periods = [...new Set(slos.map((s) => s.periodSeconds))].sort((a, b) => a - b);
		const [counts, latest, p95] = await Promise.all([agentWindowCounts(ctx), latestAgentCalls(ctx), p95ByPeriod(ctx, periods)]);
		const part: Required<SliPart> = { statuses: [], candidates: [], burning: [] };
		for (const [slo, agent] of targetsOf(slos, 'agent_latency', agents, agentOf(agents))) {
			const threshold = latencyThreshold(slo);
			const byWindow = counts.get(agent.id);
			const get = (s: number): WindowCounts => ({ events: byWindow?.get(s)?.timed ?? 0, bad: byWindow?.get(s)?.slow.get(threshold) ?? 0 });
			const last = latest.get(agent.id);
			const latestBad = last?.latency_ms === null || last?.latency_ms === undefined ? null : last.latency_ms > threshold;
			const windows = burnWindows(slo, get, ratioBurn(slo.objective), latestBad, true);
			const period = get(slo.periodSeconds);
			const status = windowedStatus(baseStatus(ctx, slo, agentTarget(agent)), windows, period, ratioFigures(period, slo.objective), 'No finished agent run in the SLO period');
			const p = p95.get(agent.id)?.[periods.indexOf(slo.periodSeconds)];
			status.latency = { p95Ms: p === null || p === undefined ? null : Math.round(p), thresholdMs: threshold };
			part.statuses.push(status);
			for (const severity of firingSeverities(windows)) part.candidates.push(statusCandidate(ctx, slo, status, 'SLOBurnRate', severity, []));
			part.burning.push(...burningFingerprints(slo, status));
		}
		return part;
	},
};

/** Per agent, the p95 latency of its finished calls over each period (ms; null without any). */
async function p95ByPeriod(ctx: EvaluationContext, periods: number[]): Promise<Map<string, Array<number | null>>> {
	const { rows } = await ctx.pool.query<Record<string, string | null>>(
		`select agent_id, ${periods.map((_, i) => `percentile_cont(0.95) within group (order by latency_ms) filter (where ended_at > $${i + 2}) as p${i}`).join(', ')}
		   from public.ipai_agent_run
		  where status in ('success', 'failed') and latency_ms is not null and ended_at > $${periods.length + 1} and ended_at <= $1
		  group by agent_id`,
		[ctx.now, ...periods.map((p) => ctx.at(p))],
	);
	return new Map(rows.map((r) => [String(r.agent_id), periods.map((_, i) => (r[`p${i}`] === null || r[`p${i}`] === undefined ? null : Number(r[`p${i}`])))]));
}
