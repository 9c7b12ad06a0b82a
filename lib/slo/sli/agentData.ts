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

/** Per agent and window: the windows every agent_failures / agent_latency SLO of the evaluation reads. */
export function agentWindowCounts(ctx: EvaluationContext): Promise<Map<string, Map<number, AgentWindowCounts>>> {
	return ctx.shared('agentWindowCounts', async () => {
		const slos = ctx.slosOf('agent_failures', 'agent_latency');
		const thresholds = [...new Set(ctx.slosOf('agent_latency').map(latencyThreshold))];
		const sorted = [...new Set(slos.flatMap(windowSecondsOf))].sort((a, b) => a - b);
		// Parameters: $1 now, $2.. window starts (ascending age), then latency thresholds. Only
		// placeholders and fixed column names go into this text.
		const columns: string[] = [];
		sorted.forEach((_, i) => {
			const p = `$${i + 2}`;
			columns.push(
				`count(*) filter (where ended_at > ${p}) as t${i}`,
				`count(*) filter (where ended_at > ${p} and status = 'failed') as b${i}`,
				`count(*) filter (where ended_at > ${p} and latency_ms is not null) as lt${i}`,
			);
			thresholds.forEach((_t, j) => columns.push(`count(*) filter (where ended_at > ${p} and latency_ms > $${sorted.length + 2 + j}) as s${i}_${j}`));
		});
		const { rows } = await ctx.pool.query<Record<string, string>>(
			`select agent_id as target_id, ${columns.join(', ')}
			   from public.ipai_agent_run
			  where status in ('success', 'failed') and ended_at > $${sorted.length + 1} and ended_at <= $1
			  group by agent_id`,
			[ctx.now, ...sorted.map((s) => ctx.at(s)), ...thresholds],
		);
		const out = new Map<string, Map<number, AgentWindowCounts>>();
		for (const row of rows) {
			const byWindow = new Map<number, AgentWindowCounts>();
			sorted.forEach((seconds, i) => {
				byWindow.set(seconds, {
					events: Number(row[`t${i}`]),
					bad: Number(row[`b${i}`]),
					timed: Number(row[`lt${i}`]),
					slow: new Map(thresholds.map((t, j) => [t, Number(row[`s${i}_${j}`])])),
				});
			});
			out.set(row.target_id, byWindow);
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
