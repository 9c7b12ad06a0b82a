/**
 * connector_success: the share of a connector's finished runs that succeeded (failed and abandoned
 * runs are bad; skipped and running ones are not events), alerted by multi-window burn rates. Also
 * the "absent" check: a scheduled connector that started no run for too long.
 */
import { statusCandidate } from '../alertText';
import { burningFingerprints, burnWindows, firingSeverities, ratioBurn, ratioFigures, windowedStatus, windowSecondsOf, type WindowCounts } from '../burnRate';
import { durationParam, numberParam } from '../params';
import type { SloDefinition, SloStatus } from '../types';
import { baseStatus, targetsOf, type EvaluationContext, type SliPart } from './context';
import {
	connectorFacts, connectorTarget, countConnectorWindows, enabledConnectors, FailingConnectors, registeredBy, type ConnectorFacts, type ConnectorRow,
} from './connectorData';
import type { SliEvaluator } from './registry';

export const connectorSuccess: SliEvaluator = {
	async evaluate(ctx, slos) {
		const connectors = await enabledConnectors(ctx);
		const pairs = targetsOf(slos, 'connector_success', connectors, (s) => s.connectorId);
		const [counts, facts] = await Promise.all([countConnectorWindows(ctx, slos.flatMap(windowSecondsOf)), connectorFacts(ctx)]);
		const statuses = pairs.map(([slo, c]) => successStatus(ctx, slo, c, counts.get(c.id), facts.get(c.id)));
		const failing = new FailingConnectors();
		for (const status of statuses) if (status.status === 'page' || status.status === 'ticket' || status.absent?.firing) failing.add(status);
		const part: Required<SliPart> = { statuses, candidates: [], burning: [] };
		statuses.forEach((status, i) => {
			const slo = pairs[i][0];
			for (const severity of firingSeverities(status.windows)) part.candidates.push(statusCandidate(ctx, slo, status, 'SLOBurnRate', severity, failing.for(status)));
			part.burning.push(...burningFingerprints(slo, status));
			if (status.absent?.firing) part.candidates.push(statusCandidate(ctx, slo, status, 'ConnectorAbsent', status.absent.severity, failing.for(status)));
		});
		return part;
	},
};

function successStatus(ctx: EvaluationContext, slo: SloDefinition, c: ConnectorRow, counts: Map<number, WindowCounts> | undefined, facts: ConnectorFacts | undefined): SloStatus {
	const get = (seconds: number): WindowCounts => counts?.get(seconds) ?? { events: 0, bad: 0 };
	const latestBad =
		facts?.lastFailureAt || facts?.lastSuccessAt
			? (facts.lastFailureAt?.getTime() ?? -Infinity) > (facts.lastSuccessAt?.getTime() ?? -Infinity)
			: null;
	const windows = burnWindows(slo, get, ratioBurn(slo.objective), latestBad, true);
	const period = get(slo.periodSeconds);
	const status = windowedStatus(baseStatus(ctx, slo, connectorTarget(c)), windows, period, ratioFigures(period, slo.objective), 'No finished run in the SLO period');
	status.absent = absentCheck(ctx, slo, c, facts);
	status.lastError = facts?.lastError ?? null;
	status.lastRun = facts?.lastRun ?? null;
	const rank = { no_data: 0, ok: 0, ticket: 1, page: 2 } as const;
	if (status.absent?.firing && rank[status.absent.severity] > rank[status.status]) {
		status.status = status.absent.severity;
		delete status.reason;
	}
	return status;
}

/**
 * Absent: a scheduled connector (or one given params.absent_after) that started no run for longer
 * than absent_factor × its schedule's longest gap + grace. The default equals the freshness ticket
 * threshold, measured from the last start (which precedes the last success), so a stopped connector
 * raises "absent" no later than "stale" and the absent alert mutes it. Webhook-driven connectors
 * without a schedule run irregularly, and an "absent" alert on them would only be noise.
 */
function absentCheck(ctx: EvaluationContext, slo: SloDefinition, c: ConnectorRow, facts: ConnectorFacts | undefined): SloStatus['absent'] {
	const gap = ctx.scheduleGap(c.schedule);
	const grace = durationParam(slo, 'grace', 600)!;
	const absentAfter = durationParam(slo, 'absent_after', gap === null ? null : gap * numberParam(slo, 'absent_factor', 2) + grace);
	if (absentAfter === null) return undefined;
	const since = facts?.lastStartedAt ?? registeredBy(ctx, c);
	return {
		lastRunStartedAt: facts?.lastStartedAt?.toISOString() ?? null,
		absentAfterSeconds: absentAfter,
		firing: since !== null && ctx.now.getTime() - since.getTime() > absentAfter * 1000,
		severity: slo.params.absent_severity === 'ticket' ? 'ticket' : 'page',
	};
}
