/** Evaluate: evaluate the SLOs, update alert state, and decide the notifications due. */
import type { IDataObject, INodeProperties } from 'n8n-workflow';
import { runEvaluation } from '../../../lib/slo/alertState';
import { nodeError } from '../../shared/lakehouse';
import { perItem, plain } from '../../shared/items';
import { logAlertTransitions } from '../../shared/log';
import { monitorOptions, n8nBaseUrl, shape, sloList, type Operation } from './common';

/** SLOs, Output and Options are shared with Get Status (./common.ts). */
export const description: INodeProperties[] = [];

export const execute: Operation = async function (session, items) {
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
