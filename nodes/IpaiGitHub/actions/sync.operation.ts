/**
 * Sync to lakehouse: streams GitHub into bronze through lib/sources/github (no records through
 * n8n's memory), under a given run or a run of its own, and emits one summary item.
 */
import type { IDataObject, IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';
import { failRun, finishRun, startRun } from '../../../lib/lakehouse/runs';
import { runMetadata, syncGitHub } from '../../../lib/sources/github/sync';
import { plain } from '../../shared/items';
import { nodeError, openLakehouse } from '../../shared/lakehouse';
import { GITHUB_CREDENTIAL, gitHubClient, gitHubSecrets } from '../transport';
import { readOptions, selection } from './parameters';

export async function sync(this: IExecuteFunctions, items: INodeExecutionData[]): Promise<INodeExecutionData[]> {
	const out: INodeExecutionData[] = [];
	const credentials = await this.getCredentials(GITHUB_CREDENTIAL);
	const session = await openLakehouse(this);
	const secrets = [...session.secrets, ...gitHubSecrets(credentials)];
	try {
		for (let i = 0; i < items.length; i++) {
			try {
				out.push({ json: await syncItem(this, i, session.pool, credentials, secrets), pairedItem: { item: i } });
			} catch (error) {
				const safe = error instanceof NodeOperationError ? error : nodeError(this.getNode(), error, i, secrets);
				if (this.continueOnFail()) {
					out.push({ json: { error: safe.message }, pairedItem: { item: i } });
					continue;
				}
				throw safe;
			}
		}
	} finally {
		await session.close();
	}
	return out;
}

async function syncItem(
	fn: IExecuteFunctions,
	i: number,
	pool: import('pg').Pool,
	credentials: import('n8n-workflow').ICredentialDataDecryptedObject,
	secrets: string[],
): Promise<IDataObject> {
	const node = fn.getNode();
	const chosen = selection(fn, i);
	const streams = fn.getNodeParameter('streams', i, []) as string[];
	const options = readOptions(fn, i);
	let runId = (fn.getNodeParameter('runId', i, '') as string).trim();
	let connectorId: string;
	let ownRun = false;
	if (runId) {
		const { rows } = await pool.query('select connector_id, status from public.ipai_connector_run where id = $1', [runId]);
		if (rows.length === 0) throw new NodeOperationError(node, `Run ${runId} does not exist`, { itemIndex: i });
		if (rows[0].status !== 'running') throw new NodeOperationError(node, `Run ${runId} is ${rows[0].status}, not running`, { itemIndex: i });
		connectorId = rows[0].connector_id;
	} else {
		const started = await startRun(pool, {
			connector: {
				connectorType: 'github',
				name: (fn.getNodeParameter('connectorName', i, 'github') as string) || 'github',
				config: { selection: chosen, streams },
			},
			holder: `n8n execution ${fn.getExecutionId()}`,
			metadata: { n8n_execution_id: fn.getExecutionId(), n8n_workflow_id: fn.getWorkflow().id },
		});
		if (started.status === 'skipped') return plain(started as unknown as IDataObject);
		({ runId, connectorId } = started);
		ownRun = true;
	}
	const client = gitHubClient(credentials, { maxWaitSeconds: options.maxWaitSeconds });
	try {
		const result = await syncGitHub(pool, client, { connectorId, runId, selection: chosen, streams, ...options });
		if (ownRun) await finishRun(pool, runId, { metadata: { github: runMetadata(result) } });
		return plain({ runId, connectorId, status: ownRun ? 'success' : 'running', ...result } as unknown as IDataObject);
	} catch (error) {
		if (ownRun) {
			const metadata = { github: { requests: client.stats.requests, not_modified: client.stats.notModified, rate_limit: client.stats.budget, rate_limit_waits: client.stats.waits } };
			await failRun(pool, runId, { error, secrets, metadata }).catch(() => undefined);
		}
		throw error;
	}
}
