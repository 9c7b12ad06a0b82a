/** Start: register the connector, take its lease and open a run. */
import type { IDataObject, INodeProperties } from 'n8n-workflow';
import { startRun } from '../../../lib/lakehouse/runs';
import { nodeError } from '../../shared/lakehouse';
import { objectParameter, perItem, type Operation } from '../../shared/items';
import { logConnectorRun } from '../../shared/log';
import { forOperations } from '../../shared/resources';

export const description: INodeProperties[] = forOperations(['start'], [
	{
		displayName: 'Config',
		name: 'config',
		type: 'json',
		default: '{}',
		description: 'Type-specific settings to record with the connector (never secrets: configs are readable by platform staff)',
	},
	{
		displayName: 'Schedule',
		name: 'schedule',
		type: 'string',
		default: '',
		placeholder: '*/15 * * * *',
		description: 'Cron expression the dispatcher uses to run this connector; empty keeps the recorded one',
	},
	{
		displayName: 'Lease Timeout (Seconds)',
		name: 'leaseTimeoutSeconds',
		type: 'number',
		typeOptions: { minValue: 5 },
		default: 600,
		description: 'A run that sends no heartbeat (each committed page counts as one) for this long is presumed dead and may be taken over',
	},
]);

export const execute: Operation = async function (session, items) {
	const workflow = this.getWorkflow();
	return perItem(this, items, async (i) => {
		const config = objectParameter(this, 'config', i);
		const result = await startRun(session.pool, {
			connector: {
				connectorType: this.getNodeParameter('connectorType', i) as string,
				name: this.getNodeParameter('connectorName', i) as string,
				config: Object.keys(config).length > 0 ? config : undefined, // empty keeps the recorded config
				schedule: (this.getNodeParameter('schedule', i, '') as string) || null,
			},
			leaseTimeoutSeconds: this.getNodeParameter('leaseTimeoutSeconds', i, 600) as number,
			holder: `n8n execution ${this.getExecutionId()} (workflow "${workflow.name ?? workflow.id}")`,
			metadata: { n8n_execution_id: this.getExecutionId(), n8n_workflow_id: workflow.id, n8n_workflow_name: workflow.name },
		});
		await logConnectorRun(this, session.pool, result.runId, session.secrets);
		return result as unknown as IDataObject;
	}, (e, i) => nodeError(this.getNode(), e, i, session.secrets));
};
