/**
 * Sync to lakehouse: streams GitHub into bronze through lib/sources/github (no records through
 * n8n's memory), under a given run or a run of its own, and emits one summary item.
 */
import type { ICredentialDataDecryptedObject, IDataObject, IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';
import { runMetadata, syncGitHub, type RepositorySelection } from '../../../lib/sources/github/sync';
import { dispatchedConnector, runParameters, sourceName, underRun } from '../../shared/connectorRun';
import { perItem } from '../../shared/items';
import { nodeError, openLakehouse, type LakehouseSession } from '../../shared/lakehouse';
import { GITHUB_CREDENTIAL, gitHubClient, gitHubSecrets } from '../transport';
import { readOptions, selection } from './common';
import { forOperations } from '../../shared/resources';

export const description: INodeProperties[] = forOperations(['sync'], [
	...runParameters({}, { placeholder: 'github', description: 'The connector this sync runs as; cursors are kept per connector (default: github)' }),
]);

export async function execute(this: IExecuteFunctions, items: INodeExecutionData[]): Promise<INodeExecutionData[]> {
	const credentials = await this.getCredentials(GITHUB_CREDENTIAL);
	const session = await openLakehouse(this);
	const secrets = [...session.secrets, ...gitHubSecrets(credentials)];
	try {
		return await perItem(
			this,
			items,
			(i) => syncItem(this, i, session, credentials, secrets),
			(error, i) => (error instanceof NodeOperationError ? error : nodeError(this.getNode(), error, i, secrets)),
		);
	} finally {
		await session.close();
	}
}

async function syncItem(
	fn: IExecuteFunctions,
	i: number,
	session: LakehouseSession,
	credentials: ICredentialDataDecryptedObject,
	secrets: string[],
): Promise<IDataObject> {
	const dispatched = dispatchedConnector(fn, i, 'github')?.config;
	const chosen: RepositorySelection = dispatched ? { mode: 'list', repositories: dispatched.repositories as string[] } : selection(fn, i);
	const streams = (dispatched?.streams as string[] | undefined) ?? (fn.getNodeParameter('streams', i, []) as string[]);
	const options = readOptions(fn, i);
	const client = gitHubClient(credentials, { maxWaitSeconds: options.maxWaitSeconds });
	return underRun(
		fn,
		i,
		session,
		{ connectorType: 'github', name: 'github', initialConfig: { selection: chosen, streams } },
		async (run) => {
			const result = await syncGitHub(session.pool, client, { ...run, selection: chosen, streams, ...options });
			// A run that skipped something still succeeds, but says so where the user looks.
			if (result.warnings.length > 0) {
				fn.addExecutionHints(
					...result.warnings.map((message) => ({ message: `Item ${i}: ${message}`, type: 'warning' as const, location: 'outputPane' as const })),
				);
			}
			const metadata = { github: runMetadata(result), ...(result.warnings.length > 0 ? { warnings: result.warnings } : {}) };
			return { summary: result as unknown as IDataObject, metadata };
		},
		{
			secrets,
			source: sourceName('github', String(credentials.baseUrl || 'https://api.github.com')),
			failureMetadata: () => ({
				github: { requests: client.stats.requests, not_modified: client.stats.notModified, rate_limit: client.stats.budget, rate_limit_waits: client.stats.waits },
			}),
		},
	);
}
