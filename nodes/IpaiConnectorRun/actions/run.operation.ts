/** Start, Heartbeat, Finish, Fail and Get Runs: the run ledger. */
import { connectorOfExecution } from '../../../lib/lakehouse/delivery';
import type { IDataObject, IExecuteFunctions } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';
import { listRuns, runOfExecution } from '../../../lib/lakehouse/runQueries';
import { failRun, finishRun, heartbeat, startRun } from '../../../lib/lakehouse/runs';
import { redact } from '../../../lib/lakehouse/connection';
import { nodeError } from '../../shared/lakehouse';
import { objectParameter, perItem, type Operation } from '../../shared/items';
import { logConnectorRun } from '../../shared/log';

const counts = (fn: IExecuteFunctions, i: number) => {
	const read = fn.getNodeParameter('rowsRead', i, -1) as number;
	const written = fn.getNodeParameter('rowsWritten', i, -1) as number;
	return { rowsRead: read >= 0 ? read : undefined, rowsWritten: written >= 0 ? written : undefined };
};

export const start: Operation = async function (session, items) {
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

export const heartbeatRun: Operation = async function (session, items) {
	return perItem(this, items, async (i) => {
		const runId = this.getNodeParameter('runId', i) as string;
		await heartbeat(session.pool, runId, { ...counts(this, i), metadata: objectParameter(this, 'metadata', i) });
		return { runId, status: 'running' };
	}, (e, i) => nodeError(this.getNode(), e, i, session.secrets));
};

export const finish: Operation = async function (session, items) {
	return perItem(this, items, async (i) => {
		const runId = this.getNodeParameter('runId', i) as string;
		const { durationMs } = await finishRun(session.pool, runId, { ...counts(this, i), metadata: objectParameter(this, 'metadata', i) });
		await logConnectorRun(this, session.pool, runId, session.secrets);
		return { runId, status: 'success', durationMs };
	}, (e, i) => nodeError(this.getNode(), e, i, session.secrets));
};

export const fail: Operation = async function (session, items) {
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

export const getRuns: Operation = async function (session, items) {
	return perItem(this, items, async (i) => {
		const filters = this.getNodeParameter('filters', i, {}) as IDataObject;
		const runs = await listRuns(session.pool, {
			connectorType: (filters.connectorType as string) || undefined,
			connectorName: (filters.connectorName as string) || undefined,
			status: (filters.status as string[]) ?? undefined,
			since: filters.since ? new Date(filters.since as string) : undefined,
			limit: this.getNodeParameter('limit', i, 50) as number,
		});
		return runs as unknown as IDataObject[];
	}, (e, i) => nodeError(this.getNode(), e, i, session.secrets));
};
