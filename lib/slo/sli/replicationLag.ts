/**
 * replication_lag: the share of a connector's replication observations whose lag is within the
 * SLO's thresholds, alerted by multi-window burn rates like connector_success.
 *
 * An observation is a finished run carrying `metadata.replication` (the contract of
 * docs/observability.md: database sources with CDC tables write `lag_seconds` and `lag_bytes` on
 * every run). A run is good when its lag is within every threshold the SLO sets —
 * params.max_lag (a duration, against lag_seconds) and params.max_lag_bytes (against lag_bytes);
 * with neither set, max_lag is 15 minutes — and at least one of those readings is present.
 *
 * What counts, and why:
 *   - a run without `metadata.replication` is not an event: it is no observation of replication
 *     (a full refresh, a skipped start), and a CDC run that failed before measuring its lag
 *     (slot gone, source down) is already a bad event of connector_success — counting it here too
 *     would page twice for one outage;
 *   - a run with `metadata.replication` but no usable reading for any threshold the SLO sets (the
 *     keys missing, null or not numbers) is bad: the source ran CDC and could not tell how far
 *     behind it is, which is not evidence of health, and a slot that stops reporting must not
 *     look healthy;
 *   - one reading present and within its threshold, the other missing, is good (MySQL reports no
 *     lag_seconds while the binlog holds only other tables' events; its bytes still say enough).
 *
 * Targets: a template (no connector) applies to every enabled connector that reported
 * replication within the SLO's period, so Odoo or GitHub connectors get no empty status; an SLO
 * naming one connector applies to it even before it reports (no_data).
 */
import { statusCandidate } from '../alertText';
import { burningFingerprints, burnWindows, firingSeverities, ratioBurn, ratioFigures, windowedStatus, windowSecondsOf, type WindowCounts } from '../burnRate';
import { durationParam, numberParam } from '../params';
import type { SloDefinition, SloStatus } from '../types';
import { baseStatus, targetsOf, type EvaluationContext, type SliPart } from './context';
import { connectorTarget, enabledConnectors, FailingConnectors } from './connectorData';
import type { SliEvaluator } from './registry';

/** The lag threshold of an SLO that sets neither max_lag nor max_lag_bytes. */
export const DEFAULT_MAX_LAG_SECONDS = 15 * 60;

/** The runbook of lag alerts when the SLO links none of its own. */
export const REPLICATION_LAG_RUNBOOK = 'replication-lag';

export interface LagThresholds {
	maxLagSeconds: number | null;
	maxLagBytes: number | null;
}

export function lagThresholds(slo: SloDefinition): LagThresholds {
	const maxLagBytes = slo.params.max_lag_bytes === undefined || slo.params.max_lag_bytes === null ? null : numberParam(slo, 'max_lag_bytes', 0);
	const maxLagSeconds = durationParam(slo, 'max_lag', maxLagBytes === null ? DEFAULT_MAX_LAG_SECONDS : null);
	return { maxLagSeconds, maxLagBytes };
}

interface LagRow {
	slo_id: string;
	connector_id: string;
	latest_bad: boolean;
	latest: { run_id: string; ended_at: string; s: number | null; b: number | null };
	[column: string]: unknown;
}

/** Events and bad events per (SLO, connector) and window, with each connector's latest observation. */
async function countLagWindows(ctx: EvaluationContext, slos: SloDefinition[], connectorIds: string[]): Promise<Map<string, LagRow & { counts: Map<number, WindowCounts> }>> {
	const seconds = [...new Set(slos.flatMap(windowSecondsOf))].sort((a, b) => a - b);
	const thresholds = slos.map(lagThresholds);
	const params: unknown[] = [
		ctx.now,
		ctx.at(seconds[seconds.length - 1]),
		connectorIds,
		slos.map((s) => s.id),
		thresholds.map((t) => t.maxLagSeconds),
		thresholds.map((t) => t.maxLagBytes),
	];
	const columns = seconds.map((w, i) => {
		params.push(ctx.at(w));
		const p = `$${params.length}`;
		return `count(*) filter (where ended_at > ${p}) as t${i}, count(*) filter (where ended_at > ${p} and bad) as b${i}`;
	});
	// Bad: no reading for any threshold set, or a reading over its threshold (see the header).
	const { rows } = await ctx.pool.query<LagRow>(
		`with r as (
		        select id, connector_id, ended_at,
		               ipai_meta.slo_number(metadata -> 'replication' -> 'lag_seconds') as s,
		               ipai_meta.slo_number(metadata -> 'replication' -> 'lag_bytes') as b
		          from public.ipai_connector_run
		         where metadata ? 'replication' and connector_id = any ($3::uuid[])
		           and status in ('success', 'failed', 'abandoned') and ended_at <= $1 and ended_at > $2),
		      t as (select * from unnest($4::uuid[], $5::numeric[], $6::numeric[]) as t(slo_id, max_s, max_b)),
		      j as (
		        select t.slo_id, r.id, r.connector_id, r.ended_at, r.s, r.b,
		               not ((t.max_s is not null and r.s is not null) or (t.max_b is not null and r.b is not null))
		               or coalesce(r.s > t.max_s, false) or coalesce(r.b > t.max_b, false) as bad
		          from t cross join r)
		 select slo_id, connector_id, ${columns.join(', ')},
		        (array_agg(bad order by ended_at desc, id desc))[1] as latest_bad,
		        (array_agg(jsonb_build_object('run_id', id, 'ended_at', ended_at, 's', s, 'b', b) order by ended_at desc, id desc))[1] as latest
		   from j group by slo_id, connector_id`,
		params,
	);
	const out = new Map<string, LagRow & { counts: Map<number, WindowCounts> }>();
	for (const row of rows) {
		const counts = new Map(seconds.map((w, i) => [w, { events: Number(row[`t${i}`]), bad: Number(row[`b${i}`]) }]));
		out.set(`${row.slo_id}/${row.connector_id}`, { ...row, counts });
	}
	return out;
}

export const replicationLag: SliEvaluator = {
	async evaluate(ctx, slos) {
		const pairs = targetsOf(slos, 'replication_lag', await enabledConnectors(ctx), (s) => s.connectorId);
		if (pairs.length === 0) return { statuses: [], candidates: [] };
		const lag = await countLagWindows(ctx, slos, [...new Set(pairs.map(([, c]) => c.id))]);
		const part: Required<SliPart> = { statuses: [], candidates: [], burning: [] };
		const failing = new FailingConnectors();
		const measured: Array<[SloDefinition, SloStatus]> = [];
		for (const [slo, c] of pairs) {
			const row = lag.get(`${slo.id}/${c.id}`);
			const get = (seconds: number): WindowCounts => row?.counts.get(seconds) ?? { events: 0, bad: 0 };
			const period = get(slo.periodSeconds);
			if (period.events === 0 && slo.connectorId === null) continue; // not a replicating connector (or not yet)
			const windows = burnWindows(slo, get, ratioBurn(slo.objective), row ? row.latest_bad : null, true);
			const status = windowedStatus(
				baseStatus(ctx, slo, connectorTarget(c)),
				windows,
				period,
				ratioFigures(period, slo.objective),
				'No run reported replication lag in the SLO period',
			);
			status.runbookUrl = status.runbookUrl ?? ctx.runbook(REPLICATION_LAG_RUNBOOK);
			const { maxLagSeconds, maxLagBytes } = lagThresholds(slo);
			const latest = row?.latest;
			status.replication = {
				maxLagSeconds,
				maxLagBytes,
				latestRunId: latest?.run_id ?? null,
				latestAt: latest ? new Date(latest.ended_at).toISOString() : null,
				lagSeconds: latest?.s ?? null,
				lagBytes: latest?.b ?? null,
			};
			part.statuses.push(status);
			measured.push([slo, status]);
			if (status.status === 'page' || status.status === 'ticket') failing.add(status);
		}
		for (const [slo, status] of measured) {
			for (const severity of firingSeverities(status.windows)) part.candidates.push(statusCandidate(ctx, slo, status, 'SLOBurnRate', severity, failing.for(status)));
			part.burning.push(...burningFingerprints(slo, status));
		}
		return part;
	},
};
