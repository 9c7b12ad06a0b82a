/**
 * connector_warnings: a source that skipped repositories, streams or files still finishes
 * `success`, with what it skipped in metadata.warnings (an array of texts). One such run is noise
 * (a repository deleted mid-sync); warnings that persist — each of the last params.warning_runs
 * successful runs (default 3) carries some — mean part of the source is not loaded, and open a
 * ticket. A run without warnings resolves it.
 */
import { warningsCandidate } from '../alertText';
import { numberParam } from '../params';
import type { SloStatus } from '../types';
import { baseStatus, targetsOf } from './context';
import { connectorTarget, enabledConnectors } from './connectorData';
import type { SliEvaluator } from './registry';

type WarnedRun = { runId: string; endedAt: string; warnings: string[] };

export const connectorWarnings: SliEvaluator = {
	async evaluate(ctx, slos) {
		const pairs = targetsOf(slos, 'connector_warnings', await enabledConnectors(ctx), (s) => s.connectorId);
		if (pairs.length === 0) return { statuses: [], candidates: [] };
		const required = new Map(slos.map((s) => [s.id, Math.max(1, Math.floor(numberParam(s, 'warning_runs', 3)))]));
		const depth = Math.max(...required.values());
		const { rows } = await ctx.pool.query<{ connector_id: string; id: string; ended_at: Date; warnings: unknown }>(
			`select c.id as connector_id, r.id, r.ended_at, r.metadata -> 'warnings' as warnings
			   from unnest($2::uuid[]) as c(id)
			  cross join lateral (
			        select r.id, r.ended_at, r.metadata from public.ipai_connector_run r
			         where r.connector_id = c.id and r.status = 'success' and r.ended_at <= $1
			         order by r.started_at desc limit $3) r`,
			[ctx.now, [...new Set(pairs.map(([, c]) => c.id))], depth],
		);
		const runsBy = new Map<string, WarnedRun[]>();
		for (const r of rows) {
			const warnings = Array.isArray(r.warnings) ? r.warnings.map((w) => ctx.clean(String(w)) ?? '') : [];
			const list = runsBy.get(r.connector_id) ?? [];
			list.push({ runId: r.id, endedAt: r.ended_at.toISOString(), warnings });
			runsBy.set(r.connector_id, list);
		}
		const statuses: SloStatus[] = [];
		const candidates = [];
		for (const [slo, c] of pairs) {
			const need = required.get(slo.id)!;
			const runs = (runsBy.get(c.id) ?? []).slice(0, need);
			const withWarnings = runs.filter((r) => r.warnings.length > 0).length;
			const firing = runs.length >= need && withWarnings === need;
			const status: SloStatus = {
				...baseStatus(ctx, slo, connectorTarget(c)),
				status: firing ? 'ticket' : runs.length === 0 ? 'no_data' : 'ok',
				reason: runs.length === 0 ? 'No successful run yet' : undefined,
				events: runs.length,
				badEvents: withWarnings,
				warnings: { runs: runs.length, required: need, withWarnings, latest: runs },
			};
			statuses.push(status);
			if (firing) candidates.push(warningsCandidate(ctx, slo, status));
		}
		return { statuses, candidates };
	},
};
