/**
 * agent_failures: failed calls of an agent against a count budget (params.max_failures_per_day):
 * a window's burn rate is its failures over the failures allowed in it.
 */
import { budgetFigures, burningFingerprints, burnWindows, countBurn, DAY_SECONDS, firingSeverities, goodShare, windowedStatus, type WindowCounts } from '../burnRate';
import { statusCandidate } from '../alertText';
import { numberParam, SloDefinitionError } from '../params';
import { baseStatus, targetsOf, type SliPart } from './context';
import { activeAgents, agentOf, agentTarget, agentWindowCounts } from './agentData';
import type { SliEvaluator } from './registry';

export const agentFailures: SliEvaluator = {
	async evaluate(ctx, slos) {
		const agents = await activeAgents(ctx);
		const counts = await agentWindowCounts(ctx);
		const part: Required<SliPart> = { statuses: [], candidates: [], burning: [] };
		for (const [slo, agent] of targetsOf(slos, 'agent_failures', agents, agentOf(agents))) {
			const maxPerDay = numberParam(slo, 'max_failures_per_day', 20);
			if (maxPerDay <= 0) throw new SloDefinitionError(`SLO "${slo.codeName}": params.max_failures_per_day must be above 0`);
			const byWindow = counts.get(agent.id);
			const get = (s: number): WindowCounts => ({ events: byWindow?.get(s)?.events ?? 0, bad: byWindow?.get(s)?.bad ?? 0 });
			const windows = burnWindows(slo, get, countBurn(maxPerDay), null, false);
			const period = get(slo.periodSeconds);
			const allowed = (maxPerDay * slo.periodSeconds) / DAY_SECONDS;
			const status = windowedStatus(
				baseStatus(ctx, slo, agentTarget(agent)),
				windows,
				period,
				{ sli: goodShare(period), ...budgetFigures(period.bad, allowed) },
				'No finished agent run in the SLO period',
			);
			status.failures = { maxPerDay, lastDay: get(DAY_SECONDS).bad };
			part.statuses.push(status);
			for (const severity of firingSeverities(windows)) part.candidates.push(statusCandidate(ctx, slo, status, 'SLOBurnRate', severity, []));
			part.burning.push(...burningFingerprints(slo, status));
		}
		return part;
	},
};
