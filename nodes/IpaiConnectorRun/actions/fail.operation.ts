/** Fail: record a failed run, by its ID or from the Error Trigger's item (the failed execution's run). */
import type { IDataObject, INodeProperties } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';
import { connectorOfExecution } from '../../../lib/lakehouse/delivery';
import { redact } from '../../../lib/lakehouse/connection';
import { runOfExecution } from '../../../lib/lakehouse/runQueries';
import { failRun } from '../../../lib/lakehouse/runs';
import { nodeError } from '../../shared/lakehouse';
import { objectParameter, perItem, type Operation } from '../../shared/items';
import { logConnectorRun } from '../../shared/log';
import { forOperations } from '../../shared/resources';
import { runIdField } from './common';

export const description: INodeProperties[] = forOperations(['fail'], [
	{
		displayName: 'Find Run By',
		name: 'failSource',
		type: 'options',
		options: [
			{ name: 'Run ID', value: 'runId', description: 'The run ID returned by the Start operation' },
			{
				name: 'Error Trigger Input',
				value: 'errorTrigger',
				description: 'The failed execution named in the Error Trigger item: its running run is failed with its error',
			},
		],
		default: 'runId',
	},
	{ ...runIdField, displayOptions: { show: { failSource: ['runId'] } } },
	{
		displayName: 'Error Message',
		name: 'errorMessage',
		type: 'string',
		default: '={{ $json.error?.message ?? $json.message ?? "" }}',
		description: 'What went wrong, for the person on call',
		displayOptions: { show: { failSource: ['runId'] } },
	},
]);

export const execute: Operation = async function (session, items) {
	return perItem(this, items, async (i) => {
		const metadata = objectParameter(this, 'metadata', i);
		if (this.getNodeParameter('failSource', i) === 'errorTrigger') {
			// The Error Trigger's item: { execution: { id, url, error, lastNodeExecuted }, workflow: { id, name } }
			const json = items[i].json as { execution?: IDataObject; workflow?: IDataObject };
			const execution = json.execution;
			if (!execution?.id) {
				throw new NodeOperationError(this.getNode(), 'The input is not an Error Trigger item (no execution.id)', { itemIndex: i });
			}
			const error = (execution.error ?? {}) as IDataObject;
			const where = [execution.lastNodeExecuted ? `node "${execution.lastNodeExecuted}"` : '', execution.url ? `execution ${execution.url}` : '']
				.filter(Boolean)
				.join(', ');
			const message = `${String(error.message ?? 'The workflow failed')}${where ? ` (${where})` : ''}`;
			const report = {
				workflowName: (json.workflow ?? {}).name ?? null,
				executionId: execution.id,
				executionUrl: execution.url ?? null,
				lastNode: execution.lastNodeExecuted ?? null,
			};
			const run = await runOfExecution(session.pool, String(execution.id));
			if (!run) {
				// Failed before a run started (or not a connector workflow): still worth telling on-call,
				// naming the connector when the execution had accepted a dispatcher's delivery.
				const accepted = await connectorOfExecution(session.pool, String(execution.id));
				return { ...report, runId: null, failed: false, status: null, connector: accepted?.connector ?? null, errorMessage: redact(message, session.secrets) };
			}
			const connector = `${run.connectorType}/${run.connectorName}`;
			if (run.status !== 'running') {
				// The source node already failed its own run with the error; report that message.
				return { ...report, runId: run.id, failed: false, status: run.status, connector, errorMessage: run.errorMessage ?? redact(message, session.secrets) };
			}
			const result = await failRun(session.pool, run.id, {
				error: message,
				secrets: session.secrets,
				metadata: { ...metadata, n8n_failed_execution_id: execution.id, n8n_workflow_name: report.workflowName },
			});
			if (result.changed) await logConnectorRun(this, session.pool, run.id, session.secrets);
			return { ...report, runId: run.id, failed: result.changed, status: result.status, connector, errorMessage: result.errorMessage };
		}
		const runId = this.getNodeParameter('runId', i) as string;
		const message = (this.getNodeParameter('errorMessage', i, '') as string) || 'Marked failed by the workflow';
		const result = await failRun(session.pool, runId, { error: message, secrets: session.secrets, metadata });
		if (result.changed) await logConnectorRun(this, session.pool, runId, session.secrets);
		return { runId, failed: result.changed, status: result.status, errorMessage: result.errorMessage };
	}, (e, i) => nodeError(this.getNode(), e, i, session.secrets));
};
