/** Get Status: SLO status, alerts and silences, read without changing anything. */
import type { IDataObject, INodeProperties } from 'n8n-workflow';
import { dueNotifications, listAlerts } from '../../../lib/slo/alerts';
import { evaluateSlos } from '../../../lib/slo/evaluate';
import { activeSilences, listSilences } from '../../../lib/slo/silences';
import { nodeError } from '../../shared/lakehouse';
import { perItem, plain } from '../../shared/items';
import { monitorOptions, n8nBaseUrl, shape, sloList, type Operation } from './common';

/** SLOs, Output and Options are shared with Evaluate (./common.ts). */
export const description: INodeProperties[] = [];

export const execute: Operation = async function (session, items) {
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
