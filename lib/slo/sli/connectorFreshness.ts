/**
 * connector_freshness: how long ago the connector's last successful run finished. Alerts fire on
 * that age against thresholds derived from its schedule (params.warn_factor / page_factor × the
 * schedule's longest gap + grace, or params.max_age / page_after); the SLI is the share of the
 * period the data was fresh, and the budget is (1 - objective) × period of stale time.
 */
import { statusCandidate } from '../alertText';
import { budgetFigures } from '../burnRate';
import { durationParam, numberParam } from '../params';
import type { SloDefinition, SloStatus } from '../types';
import { round, type Severity } from '../windows';
import { baseStatus, targetsOf, type EvaluationContext } from './context';
import { connectorFacts, connectorTarget, enabledConnectors, FailingConnectors, registeredBy, type ConnectorRow } from './connectorData';
import type { SliEvaluator } from './registry';

interface Plan {
	slo: SloDefinition;
	c: ConnectorRow;
	gap: number | null;
	ticketAfter: number;
	pageAfter: number;
}

export const connectorFreshness: SliEvaluator = {
	async evaluate(ctx, slos) {
		const connectors = await enabledConnectors(ctx);
		const plans: Plan[] = [];
		const unscheduled: Array<[SloDefinition, ConnectorRow]> = [];
		for (const [slo, c] of targetsOf(slos, 'connector_freshness', connectors, (s) => s.connectorId)) {
			const gap = ctx.scheduleGap(c.schedule);
			const grace = durationParam(slo, 'grace', 600)!;
			const ticketAfter = durationParam(slo, 'max_age', gap === null ? null : gap * numberParam(slo, 'warn_factor', 2) + grace);
			const pageAfter = durationParam(slo, 'page_after', gap === null ? null : gap * numberParam(slo, 'page_factor', 4) + grace);
			if (ticketAfter === null || pageAfter === null) unscheduled.push([slo, c]);
			else plans.push({ slo, c, gap, ticketAfter, pageAfter });
		}
		const [stale, facts] = await Promise.all([staleSeconds(ctx, plans), connectorFacts(ctx)]);
		const statuses: SloStatus[] = unscheduled.map(([slo, c]) => ({
			...baseStatus(ctx, slo, connectorTarget(c)),
			status: 'no_data',
			reason: 'The connector has no schedule (or an unparseable one) and the SLO sets no params.max_age / params.page_after',
			lastError: facts.get(c.id)?.lastError ?? null,
		}));
		plans.forEach((p, i) => {
			const f = facts.get(p.c.id);
			const lastSuccess = f?.lastSuccessAt ?? null;
			// Never succeeded: age counts from its first run (or from its registration).
			const since = lastSuccess ?? f?.lastStartedAt ?? registeredBy(ctx, p.c);
			const age = since ? (ctx.now.getTime() - since.getTime()) / 1000 : null;
			const staleInPeriod = stale[i];
			const severity: Severity | null = age === null ? null : age > p.pageAfter ? 'page' : age > p.ticketAfter ? 'ticket' : null;
			statuses.push({
				...baseStatus(ctx, p.slo, connectorTarget(p.c)),
				status: severity ?? (since === null ? 'no_data' : 'ok'),
				reason: since === null ? 'The connector has not run yet' : undefined,
				sli: round(1 - staleInPeriod / p.slo.periodSeconds, 6),
				...budgetFigures(staleInPeriod, (1 - p.slo.objective) * p.slo.periodSeconds),
				freshness: {
					lastSuccessAt: lastSuccess?.toISOString() ?? null,
					ageSeconds: age === null ? null : Math.round(age),
					scheduleGapSeconds: p.gap,
					ticketAfterSeconds: p.ticketAfter,
					pageAfterSeconds: p.pageAfter,
					staleSecondsInPeriod: Math.round(staleInPeriod),
				},
				lastError: f?.lastError ?? null,
				lastRun: f?.lastRun ?? null,
			});
		});

		const failing = new FailingConnectors();
		for (const status of statuses) if (status.status === 'page' || status.status === 'ticket') failing.add(status);
		const byId = new Map(slos.map((s) => [s.id, s]));
		const candidates = statuses.flatMap((status) =>
			staleSeverities(status).map((severity) => statusCandidate(ctx, byId.get(status.sloId)!, status, 'ConnectorStale', severity, failing.for(status))),
		);
		return { statuses, candidates };
	},
};

/** Both severities fire past the page threshold (the page inhibits the ticket in alertState.ts). */
function staleSeverities(status: SloStatus): Severity[] {
	const f = status.freshness;
	if (!f || f.ageSeconds === null) return [];
	const out: Severity[] = [];
	if (f.ageSeconds > f.pageAfterSeconds) out.push('page');
	if (f.ageSeconds > f.ticketAfterSeconds) out.push('ticket');
	return out;
}

/**
 * Stale time over the period, per plan: for consecutive successes (plus the connector's first run
 * as a baseline and `now` closing the open gap), the part of each gap beyond the ticket threshold,
 * clipped to the period. Good time is the rest.
 *
 * Whole UTC hours come from ipai_meta.connector_success_hourly (first and last success of the hour,
 * its gaps over 5 minutes): a gap inside an hour no longer than the threshold adds nothing, so for
 * thresholds of 5 minutes or more one row per hour gives the same sum as every success in it.
 * The partial hours at both edges, and shorter thresholds, read the runs themselves.
 */
async function staleSeconds(ctx: EvaluationContext, plans: Plan[]): Promise<number[]> {
	if (plans.length === 0) return [];
	const now = ctx.now.getTime();
	const lastHour = Math.floor(now / HOUR_MS) * HOUR_MS;
	const rollup: Array<{ i: number; firstHour: number }> = [];
	const raw: number[] = [];
	plans.forEach((p, i) => {
		const firstHour = Math.floor((now - p.slo.periodSeconds * 1000) / HOUR_MS) * HOUR_MS + HOUR_MS;
		if (p.ticketAfter >= ROLLUP_MIN_GAP_SECONDS && firstHour < lastHour) rollup.push({ i, firstHour });
		else raw.push(i);
	});
	const periodStart = (i: number) => ctx.at(plans[i].slo.periodSeconds);
	const [fromRollup, fromRuns] = await Promise.all([
		rollup.length
			? ctx.pool.query<{ i: number; stale_seconds: string | null }>(ROLLUP_STALE_SQL, [
					ctx.now,
					new Date(lastHour),
					rollup.map((r) => r.i),
					rollup.map((r) => plans[r.i].c.id),
					rollup.map((r) => plans[r.i].ticketAfter),
					rollup.map((r) => periodStart(r.i)),
					rollup.map((r) => new Date(r.firstHour)),
				])
			: { rows: [] },
		raw.length
			? ctx.pool.query<{ i: number; stale_seconds: string | null }>(RAW_STALE_SQL, [
					ctx.now,
					raw,
					raw.map((i) => plans[i].c.id),
					raw.map((i) => plans[i].ticketAfter),
					raw.map(periodStart),
				])
			: { rows: [] },
	]);
	const byPlan = new Map([...fromRollup.rows, ...fromRuns.rows].map((r) => [Number(r.i), Number(r.stale_seconds ?? 0)]));
	return plans.map((_, i) => byPlan.get(i) ?? 0);
}

const HOUR_MS = 3_600_000;
/** ipai_meta.connector_success_hourly keeps the gaps inside an hour longer than this (migrations/20261122000900_slo.sql). */
export const ROLLUP_MIN_GAP_SECONDS = 300;

/** $1 now; per plan: index, connector, threshold (s), period start. */
export const RAW_STALE_SQL = `
	select t.i, sum(greatest(0, extract(epoch from (g.upper - greatest(g.prev + make_interval(secs => t.threshold), t.period_start))))) as stale_seconds
	  from unnest($2::int[], $3::uuid[], $4::float8[], $5::timestamptz[]) as t(i, connector_id, threshold, period_start)
	 cross join lateral (
	       select x.at as upper, lag(x.at) over (order by x.at) as prev
	         from (
	               (select min(r.started_at) as at from public.ipai_connector_run r
	                 where r.connector_id = t.connector_id and r.started_at <= $1)
	               union all
	               (select r.ended_at from public.ipai_connector_run r
	                 where r.connector_id = t.connector_id and r.status = 'success' and r.ended_at <= t.period_start
	                 order by r.ended_at desc limit 1)
	               union all
	               (select r.ended_at from public.ipai_connector_run r
	                 where r.connector_id = t.connector_id and r.status = 'success'
	                   and r.ended_at > t.period_start and r.ended_at <= $1)
	               union all
	               select $1::timestamptz) x
	        where x.at is not null) g
	 where g.prev is not null
	 group by t.i`;

/**
 * The same sum over spans instead of points: a run end is a span of no length; an hourly bucket
 * spans its first to its last success and adds its own gaps beyond the threshold. Gaps between
 * consecutive spans are measured from the end of one to the start of the next.
 * $1 now, $2 the hour of now; per plan: index, connector, threshold (s), period start, first whole hour.
 */
export const ROLLUP_STALE_SQL = `
	select t.i,
	       coalesce(sum(greatest(0, extract(epoch from (g.first_at - greatest(g.prev_last + make_interval(secs => t.threshold), t.period_start)))))
	                  filter (where g.prev_last is not null), 0)
	       + coalesce(sum(g.inside), 0) as stale_seconds
	  from unnest($3::int[], $4::uuid[], $5::float8[], $6::timestamptz[], $7::timestamptz[]) as t(i, connector_id, threshold, period_start, first_hour)
	 cross join lateral (
	       select x.first_at, x.inside, lag(x.last_at) over (order by x.first_at, x.last_at) as prev_last
	         from (
	               (select min(r.started_at) as first_at, min(r.started_at) as last_at, 0::numeric as inside from public.ipai_connector_run r
	                 where r.connector_id = t.connector_id and r.started_at <= $1)
	               union all
	               (select r.ended_at, r.ended_at, 0 from public.ipai_connector_run r
	                 where r.connector_id = t.connector_id and r.status = 'success' and r.ended_at <= t.period_start
	                 order by r.ended_at desc limit 1)
	               union all
	               (select r.ended_at, r.ended_at, 0 from public.ipai_connector_run r
	                 where r.connector_id = t.connector_id and r.status = 'success' and r.ended_at > t.period_start and r.ended_at < t.first_hour)
	               union all
	               (select b.first_success_at, b.last_success_at,
	                       case when b.max_gap > make_interval(secs => t.threshold)
	                            then (select sum(greatest(0, extract(epoch from (gap - make_interval(secs => t.threshold))))) from unnest(b.long_gaps) as gap)
	                            else 0 end
	                  from ipai_meta.connector_success_hourly b
	                 where b.connector_id = t.connector_id and b.hour >= t.first_hour and b.hour < $2)
	               union all
	               (select r.ended_at, r.ended_at, 0 from public.ipai_connector_run r
	                 where r.connector_id = t.connector_id and r.status = 'success' and r.ended_at >= $2 and r.ended_at <= $1)
	               union all
	               select $1::timestamptz, $1::timestamptz, 0) x
	        where x.first_at is not null) g
	 group by t.i`;
