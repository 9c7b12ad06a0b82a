/**
 * Facts about agents that the agent SLIs read, loaded once per evaluation: the active agents, each
 * one's latest finished call, and calls / bad calls / slow calls per window from one scan of
 * public.ipai_agent_run (FILTER aggregates per window), shared by agent_failures and agent_latency.
 */
import { windowSecondsOf, type WindowCounts } from '../burnRate';
import { numberParam } from '../params';
import type { SloDefinition, SloTarget } from '../types';
import type { EvaluationContext } from './context';

export interface AgentRow {
	id: string;
	code_name: string;
	agent_type: string;
}

export interface AgentWindowCounts extends WindowCounts {
	/** Calls with a latency, and those slower than each threshold (ms). */
	timed: number;
	slow: Map<number, number>;
}

export function activeAgents(ctx: EvaluationContext): Promise<AgentRow[]> {
	return ctx.shared('agents', async () => {
		const { rows } = await ctx.pool.query<AgentRow>(
			`select id, code_name, agent_type from public.ipai_agent where is_active is not false order by code_name`,
		);
		return rows;
	});
}

export function agentTarget(a: AgentRow): SloTarget {
	return { kind: 'agent', id: a.id, name: a.code_name, type: a.agent_type };
}

/** An agent SLO's own agent (params.agent_code_name), a placeholder matching none when unknown, or null for a template. */
export function agentOf(agents: Array<{ id: string; code_name: string }>): (s: SloDefinition) => string | null {
	return (s) => {
		const code = s.params.agent_code_name;
		if (typeof code !== 'string' || !code) return null;
		return agents.find((a) => a.code_name === code)?.id ?? `missing:${code}`;
	};
}

/** The latency threshold of an agent_latency SLO (ms). */
export function latencyThreshold(slo: SloDefinition): number {
	return numberParam(slo, 'threshold_ms', 5000);
}

/**
 * Per agent and window: the windows every agent_failures / agent_latency SLO of the evaluation
 * reads. Each call is counted once, in the shortest window that holds it (`w`, windows sorted by
 * length); a window's counts are the sums over it and every shorter one.
 */
export function agentWindowCounts(ctx: EvaluationContext): Promise<Map<string, Map<number, AgentWindowCounts>>> {
	return ctx.shared('agentWindowCounts', async () => {
		const slos = ctx.slosOf('agent_failures', 'agent_latency');
		const thresholds = [...new Set(ctx.slosOf('agent_latency').map(latencyThreshold))];
		const sorted = [...new Set(slos.flatMap(windowSecondsOf))].sort((a, b) => a - b);
		// Parameters: $1 now, $2.. window starts (ascending length), then latency thresholds. Only
		// placeholders and fixed column names go into this text.
		const shortest = sorted.map((_, i) => `when ended_at > $${i + 2} then ${i}`).join(' ');
		const slow = thresholds.map((_, j) => `, count(*) filter (where latency_ms > $${sorted.length + 2 + j}) as s${j}`).join('');
		const { rows } = await ctx.pool.query<Record<string, string>>(
			`select agent_id as target_id, w, count(*) as t, count(*) filter (where status = 'failed') as b,
			        count(*) filter (where latency_ms is not null) as lt${slow}
			   from (select agent_id, status, latency_ms, case ${shortest} end as w
			           from public.ipai_agent_run
			          where status in ('success', 'failed') and ended_at > $${sorted.length + 1} and ended_at <= $1) r
			  group by agent_id, w`,
			[ctx.now, ...sorted.map((s) => ctx.at(s)), ...thresholds],
		);
		const out = new Map<string, Map<number, AgentWindowCounts>>();
		const windowsOf = (id: string) => {
			let byWindow = out.get(id);
			if (!byWindow) {
				byWindow = new Map(sorted.map((seconds) => [seconds, { events: 0, bad: 0, timed: 0, slow: new Map(thresholds.map((t) => [t, 0])) }]));
				out.set(id, byWindow);
			}
			return byWindow;
		};
		for (const row of rows) {
			const byWindow = windowsOf(row.target_id);
			sorted.forEach((seconds, i) => {
				if (i < Number(row.w)) return;
				const c = byWindow.get(seconds)!;
				c.events += Number(row.t);
				c.bad += Number(row.b);
				c.timed += Number(row.lt);
				thresholds.forEach((t, j) => c.slow.set(t, c.slow.get(t)! + Number(row[`s${j}`])));
			});
		}
		return out;
	});
}

/** Each active agent's latest finished call (status and latency), for the short-window fallback. */
export function latestAgentCalls(ctx: EvaluationContext): Promise<Map<string, { status: string | null; latency_ms: number | null }>> {
	return ctx.shared('latestAgentCalls', async () => {
		const agents = await activeAgents(ctx);
		const { rows } = await ctx.pool.query<{ id: string; status: string | null; latency_ms: number | null }>(
			`select a.id, l.status, l.latency_ms from unnest($2::uuid[]) as a(id)
			   left join lateral (select r.status, r.latency_ms from public.ipai_agent_run r
			                       where r.agent_id = a.id and r.status in ('success', 'failed') and r.ended_at <= $1
			                       order by r.started_at desc limit 1) l on true`,
			[ctx.now, agents.map((a) => a.id)],
		);
		return new Map(rows.map((r) => [r.id, r]));
	});
}
