/** Emit records: a bounded read passed on as items, one per record ({ stream, repository, record }). */
import type { IDataObject, IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';
import { NodeApiError, type JsonObject } from 'n8n-workflow';
import { safeError } from '../../../lib/lakehouse/connection';
import { readGitHubRecords } from '../../../lib/sources/github/emit';
import { keepHeadline, perItem } from '../../shared/items';
import { GITHUB_CREDENTIAL, gitHubClient, gitHubSecrets } from '../transport';
import { readOptions, selection } from './common';
import { LIMIT_FIELD, forOperations } from '../../shared/resources';

export const description: INodeProperties[] = forOperations(['emit'], [
	LIMIT_FIELD,
]);

export async function execute(this: IExecuteFunctions, items: INodeExecutionData[]): Promise<INodeExecutionData[]> {
	const credentials = await this.getCredentials(GITHUB_CREDENTIAL);
	return perItem(
		this,
		items,
		async (i) => {
			const options = readOptions(this, i);
			const client = gitHubClient(credentials, { maxWaitSeconds: options.maxWaitSeconds });
			const limit = Math.max(1, Number(this.getNodeParameter('limit', i, 50)));
			const read = await readGitHubRecords(client, { selection: selection(this, i), streams: this.getNodeParameter('streams', i, []) as string[], limit, ...options });
			return [
				...read.records.map((r) => ({ stream: r.stream, repository: r.repository, ...r.record }) as IDataObject),
				...read.skipped.map((s) => ({ skipped: true, ...s }) as IDataObject),
			];
		},
		(error, i) => {
			const safe = safeError(error, gitHubSecrets(credentials));
			return keepHeadline(
				new NodeApiError(this.getNode(), { message: safe.message } as JsonObject, { message: safe.message, itemIndex: i, httpCode: String((error as { status?: number }).status ?? '') || undefined }),
				safe.message,
			);
		},
	);
}
