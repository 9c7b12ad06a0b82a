/**
 * Facts about connectors that several connector SLIs read, loaded once per evaluation (through the
 * context's memo): the enabled connectors, each one's latest run, last success and last failure,
 * and finished/bad run counts per window.
 */
import type { FailingConnector, LastError, LastRun, SloStatus, SloTarget } from '../types';
import type { WindowCounts } from '../burnRate';
import type { EvaluationContext } from './context';

export interface ConnectorRow {
	id: string;
	connector_type: string;
	name: string;
	schedule: string | null;
	created_at: Date | null;
}

export interface ConnectorFacts {
	lastSuccessAt: Date | null;
	lastFailureAt: Date | null;
	lastStartedAt: Date | null;
	lastError: LastError | null;
	/** The latest run started by `now` (a run that ended after `now` counts as running then). */
	lastRun: LastRun | null;
}

export function enabledConnectors(ctx: EvaluationContext): Promise<ConnectorRow[]> {
	return ctx.shared('connectors', async () => {
		const { rows } = await ctx.pool.query<ConnectorRow>(
			`select id, connector_type, name, schedule, created_at from public.ipai_connector_config
			  where is_enabled is not false order by connector_type, name`,
		);
		return rows;
	});
}

export function connectorTarget(c: ConnectorRow): SloTarget {
	return { kind: 'connector', id: c.id, name: c.name, type: c.connector_type };
}

/** When the connector's clock starts if it never ran: its registration (unless registered after now). */
export function registeredBy(ctx: EvaluationContext, c: ConnectorRow): Date | null {
	return c.created_at && c.created_at <= ctx.now ? c.created_at : null;
}

/** Every enabled connector's latest run, last success and last failure (with its error, masked). */
export function connectorFacts(ctx: EvaluationContext): Promise<Map<string, ConnectorFacts>> {
	return ctx.shared('connectorFacts', async () => {
		const ids = (await enabledConnectors(ctx)).map((c) => c.id);
		if (ids.length === 0) return new Map<string, ConnectorFacts>();
		const { rows } = await ctx.pool.query<{
			id: string; last_success_at: Date | null;
			failed_at: Date | null; error_message: string | null; execution_id: string | null; workflow_id: string | null;
			run_id: string | null; run_status: string | null; run_started_at: Date | null; run_heartbeat_at: Date | null;
		}>(
			`select c.id,
			        (select max(r.ended_at) from public.ipai_connector_run r
			          where r.connector_id = c.id and r.status = 'success' and r.ended_at <= $1) as last_success_at,
			        f.ended_at as failed_at, f.error_message,
			        f.metadata ->> 'n8n_execution_id' as execution_id, f.metadata ->> 'n8n_workflow_id' as workflow_id,
			        l.id as run_id, l.st as run_status, l.started_at as run_started_at,
			        coalesce(lease.heartbeat_at, (l.metadata ->> 'last_heartbeat_at')::timestamptz) as run_heartbeat_at
			   from unnest($2::uuid[]) as c(id)
			   left join lateral (
			        select r.ended_at, r.error_message, r.metadata from public.ipai_connector_run r
			         where r.connector_id = c.id and r.status in ('failed', 'abandoned') and r.ended_at <= $1
			         order by r.ended_at desc limit 1) f on true
			   left join lateral (
			        select r.id, r.started_at, r.metadata,
			               case when r.status <> 'running' and r.ended_at > $1 then 'running' else r.status end as st
			          from public.ipai_connector_run r
			         where r.connector_id = c.id and r.started_at <= $1
			         order by r.started_at desc limit 1) l on true
			   left join public.ipai_connector_lease lease on lease.run_id = l.id and l.st = 'running'`,
			[ctx.now, ids],
		);
		return new Map(
			rows.map((r) => [
				r.id,
				{
					lastSuccessAt: r.last_success_at,
					lastStartedAt: r.run_started_at,
					lastFailureAt: r.failed_at,
					lastRun: r.run_id
						? { id: r.run_id, status: r.run_status!, startedAt: r.run_started_at!.toISOString(), lastHeartbeatAt: r.run_heartbeat_at?.toISOString() ?? null }
						: null,
					lastError: r.failed_at
						? {
								at: r.failed_at.toISOString(),
								message: ctx.clean(r.error_message),
								executionId: r.execution_id,
								workflowId: r.workflow_id,
								executionUrl: ctx.executionUrl(r.execution_id, r.workflow_id),
							}
						: null,
				},
			]),
		);
	});
}

const HOUR_MS = 3_600_000;

/**
 * Finished runs and bad runs per connector for each window (now - w, now]: whole UTC hours from
 * ipai_meta.connector_run_hourly (kept by triggers on the ledger), the partial hours at the edges
 * from the runs themselves (a range scan of under an hour each). Windows shorter than that are
 * counted from the runs alone.
 */
export async function countConnectorWindows(ctx: EvaluationContext, windowSeconds: number[]): Promise<Map<string, Map<number, WindowCounts>>> {
	const sorted = [...new Set(windowSeconds)].sort((a, b) => a - b);
	const now = ctx.now.getTime();
	const lastHour = Math.floor(now / HOUR_MS) * HOUR_MS; // B: buckets end here; [B, now] is raw
	const plans = sorted.map((seconds) => {
		const start = now - seconds * 1000;
		const firstHour = Math.floor(start / HOUR_MS) * HOUR_MS + HOUR_MS; // A: first bucket wholly after start
		return { seconds, start, firstHour, bucketed: firstHour < lastHour };
	});
	// Raw parameters: $1 now, $2 B, then per window its start and (bucketed) A.
	const params: unknown[] = [ctx.now, new Date(lastHour)];
	const rawConds: string[] = [];
	const ranges: string[] = [];
	for (const p of plans) {
		params.push(new Date(p.start));
		const s = `$${params.length}`;
		if (p.bucketed) {
			params.push(new Date(p.firstHour));
			const a = `$${params.length}`;
			rawConds.push(`((ended_at > ${s} and ended_at < ${a}) or ended_at >= $2)`);
			ranges.push(`(ended_at > ${s} and ended_at < ${a})`);
		} else {
			rawConds.push(`ended_at > ${s}`);
			ranges.push(`ended_at > ${s}`);
		}
	}
	ranges.push('ended_at >= $2');
	const columns = rawConds.flatMap((c, i) => [`count(*) filter (where ${c}) as t${i}`, `count(*) filter (where ${c} and status <> 'success') as b${i}`]);
	const rawSql = `select connector_id as target_id, ${columns.join(', ')}
	                  from public.ipai_connector_run
	                 where status in ('success', 'failed', 'abandoned') and ended_at <= $1 and (${ranges.join(' or ')})
	                 group by connector_id`;
	const bucketed = plans.map((p, i) => ({ ...p, i })).filter((p) => p.bucketed);
	const bucketParams: unknown[] = [new Date(lastHour), ...bucketed.map((p) => new Date(p.firstHour))];
	const bucketSql = bucketed.length
		? `select connector_id as target_id, ${bucketed
				.flatMap((p, j) => [`coalesce(sum(finished) filter (where hour >= $${j + 2}), 0) as t${p.i}`, `coalesce(sum(bad) filter (where hour >= $${j + 2}), 0) as b${p.i}`])
				.join(', ')}
		     from ipai_meta.connector_run_hourly
		    where hour < $1 and hour >= $${2 + bucketed.findIndex((p) => p.firstHour === Math.min(...bucketed.map((b) => b.firstHour)))}
		    group by connector_id`
		: null;
	const [raw, buckets] = await Promise.all([
		ctx.pool.query<Record<string, string>>(rawSql, params),
		bucketSql ? ctx.pool.query<Record<string, string>>(bucketSql, bucketParams) : Promise.resolve({ rows: [] as Array<Record<string, string>> }),
	]);
	const out = new Map<string, Map<number, WindowCounts>>();
	const add = (row: Record<string, string>) => {
		const byWindow = out.get(row.target_id) ?? new Map<number, WindowCounts>();
		plans.forEach((p, i) => {
			if (row[`t${i}`] === undefined) return;
			const c = byWindow.get(p.seconds) ?? { events: 0, bad: 0 };
			c.events += Number(row[`t${i}`]);
			c.bad += Number(row[`b${i}`]);
			byWindow.set(p.seconds, c);
		});
		out.set(row.target_id, byWindow);
	};
	raw.rows.forEach(add);
	buckets.rows.forEach(add);
	return out;
}

/**
 * Per SLO, the connectors failing it (page or ticket), for the *Failing connectors* field: the
 * alerting connector first, then up to nine others.
 */
export class FailingConnectors {
	private readonly bySlo = new Map<string, FailingConnector[]>();

	add(status: SloStatus): void {
		const list = this.bySlo.get(status.sloId) ?? [];
		list.push({ name: status.target.name, type: status.target.type, lastError: status.lastError ?? null });
		this.bySlo.set(status.sloId, list);
	}

	for(status: SloStatus): FailingConnector[] {
		const list = this.bySlo.get(status.sloId) ?? [];
		const first = status.target.name;
		return [...list.filter((f) => f.name === first), ...list.filter((f) => f.name !== first)].slice(0, 10);
	}
}
