/** Notify: evaluate (by default), then deliver every due notification to Mattermost. */
import type { IDataObject, INodeProperties } from 'n8n-workflow';
import { NodeApiError } from 'n8n-workflow';
import { deliverDue } from '../../../lib/slo/notify';
import { runEvaluation } from '../../../lib/slo/alertState';
import { nodeError } from '../../shared/lakehouse';
import { perItem, plain } from '../../shared/items';
import { MATTERMOST_CREDENTIAL, mattermostTarget } from '../../shared/mattermost';
import { monitorOptions, n8nBaseUrl, sloList, type Operation } from './common';
import { forOperations } from '../../shared/resources';

export const description: INodeProperties[] = forOperations(['notify'], [
	{
		displayName: 'Evaluate First',
		name: 'evaluateFirst',
		type: 'boolean',
		default: true,
		description: 'Whether to evaluate the SLOs before delivering, so one node does the whole job',
	},
]);

export const execute: Operation = async function (session, items) {
	const target = mattermostTarget(await this.getCredentials(MATTERMOST_CREDENTIAL));
	return perItem(this, items, async (i) => {
		const options = monitorOptions(this, i);
		let firing: number | undefined;
		if (this.getNodeParameter('evaluateFirst', i, true) as boolean) {
			const result = await runEvaluation(session.pool, {
				slos: sloList(this, i),
				n8nBaseUrl: n8nBaseUrl(this, options),
				defaultRunbookUrl: options.runbookUrl || undefined,
				runbookBaseUrl: options.runbookBaseUrl || undefined,
				secrets: session.secrets,
			});
			firing = result.alerts.filter((a) => a.state === 'firing').length;
		}
		const reports = await deliverDue(session.pool, target, {
			maxAttempts: options.maxAttempts ?? 4,
			limit: options.maxNotifications ?? 100,
			secrets: session.secrets,
		});
		const failed = reports.filter((r) => !r.delivered);
		if (failed.length > 0 && options.failOnDeliveryError !== false) {
			throw new NodeApiError(
				this.getNode(),
				{ message: failed[0].error ?? 'Mattermost delivery failed' },
				{
					itemIndex: i,
					message: `${failed.length} of ${reports.length} alert notification(s) could not be delivered to Mattermost; they stay due for the next run`,
					description: failed.map((f) => `${f.kind} "${f.title}": ${f.error}`).join('\n'),
				},
			);
		}
		return plain({
			delivered: reports.filter((r) => r.delivered).length,
			failed: failed.length,
			firing,
			notifications: reports,
		} as unknown as IDataObject);
	}, (e, i) => (e instanceof NodeApiError ? e : nodeError(this.getNode(), e, i, session.secrets)));
};
