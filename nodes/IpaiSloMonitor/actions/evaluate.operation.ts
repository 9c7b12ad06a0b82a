/** Evaluate (state changes, notifications decided) and Get Status (read-only). */
import type { IDataObject } from 'n8n-workflow';
import { evaluateSlos } from '../../../lib/slo/evaluate';
import { activeSilences, listSilences } from '../../../lib/slo/silences';
import { dueNotifications, listAlerts } from '../../../lib/slo/alerts';
import { runEvaluation } from '../../../lib/slo/alertState';
import { nodeError } from '../../shared/lakehouse';
import { perItem, plain } from '../../shared/items';
import { logAlertTransitions } from '../../shared/log';
import { monitorOptions, n8nBaseUrl, sloList, type Operation } from './context';

type Shaped = IDataObject | IDataObject[];

function shape(output: string, summary: IDataObject, due: unknown[], statuses: unknown[]): Shaped {
	if (output === 'due') return due as IDataObject[];
	if (output === 'statuses') return statuses as IDataObject[];
	return summary;
}

export const evaluate: Operation = async function (session, items) {
	return perItem(this, items, async (i) => {
		const options = monitorOptions(this, i);
		const result = await runEvaluation(session.pool, {
			slos: sloList(this, i),
			n8nBaseUrl: n8nBaseUrl(this, options),
			defaultRunbookUrl: options.runbookUrl || undefined,
			runbookBaseUrl: options.runbookBaseUrl || undefined,
			secrets: session.secrets,
		});
		logAlertTransitions(this, result.now, result.alerts, session.secrets);
		const summary = plain({
			evaluatedAt: result.now,
			durationMs: result.durationMs,
			firing: result.alerts.filter((a) => a.state === 'firing').length,
			due: result.due,
			enqueued: result.enqueued,
			alerts: result.alerts,
			statuses: result.statuses,
			silences: result.silences,
		} as unknown as IDataObject);
		return shape(this.getNodeParameter('output', i, 'summary') as string, summary, result.due, result.statuses);
	}, (e, i) => nodeError(this.getNode(), e, i, session.secrets));
};

export const getStatus: Operation = async function (session, items) {
	return perItem(this, items, async (i) => {
		const options = monitorOptions(this, i);
		const evaluation = await evaluateSlos(session.pool, {
			slos: sloList(this, i),
			n8nBaseUrl: n8nBaseUrl(this, options),
			defaultRunbookUrl: options.runbookUrl || undefined,
			runbookBaseUrl: options.runbookBaseUrl || undefined,
			secrets: session.secrets,
		});
		const now = new Date(evaluation.now);
		const [alerts, due, silences, active] = await Promise.all([
			listAlerts(session.pool, now),
			dueNotifications(session.pool),
			listSilences(session.pool, now),
			activeSilences(session.pool, now),
		]);
		const summary = plain({
			evaluatedAt: evaluation.now,
			durationMs: evaluation.durationMs,
			statuses: evaluation.statuses,
			alerts,
			due,
			silences,
			activeSilences: active.length,
		} as unknown as IDataObject);
		return shape(this.getNodeParameter('output', i, 'summary') as string, summary, due, evaluation.statuses);
	}, (e, i) => nodeError(this.getNode(), e, i, session.secrets));
};
