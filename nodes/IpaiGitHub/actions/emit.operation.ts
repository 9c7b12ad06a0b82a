/** Emit records: a bounded read passed on as items, one per record ({ stream, repository, record }). */
import type { IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';
import { NodeApiError, type JsonObject } from 'n8n-workflow';
import { safeError } from '../../../lib/lakehouse/connection';
import { readGitHubRecords } from '../../../lib/sources/github/emit';
import { keepHeadline, plain } from '../../shared/items';
import { GITHUB_CREDENTIAL, gitHubClient, gitHubSecrets } from '../transport';
import { readOptions, selection } from './parameters';

export async function emit(this: IExecuteFunctions, items: INodeExecutionData[]): Promise<INodeExecutionData[]> {
	const credentials = await this.getCredentials(GITHUB_CREDENTIAL);
	const out: INodeExecutionData[] = [];
	for (let i = 0; i < items.length; i++) {
		try {
			const options = readOptions(this, i);
			const client = gitHubClient(credentials, { maxWaitSeconds: options.maxWaitSeconds });
			const limit = Math.max(1, Number(this.getNodeParameter('limit', i, 50)));
			const read = await readGitHubRecords(client, { selection: selection(this, i), streams: this.getNodeParameter('streams', i, []) as string[], limit, ...options });
			for (const r of read.records) out.push({ json: plain({ stream: r.stream, repository: r.repository, ...r.record }), pairedItem: { item: i } });
			for (const s of read.skipped) out.push({ json: plain({ skipped: true, ...s }), pairedItem: { item: i } });
		} catch (error) {
			const safe = safeError(error, gitHubSecrets(credentials));
			if (this.continueOnFail()) {
				out.push({ json: { error: safe.message }, pairedItem: { item: i } });
				continue;
			}
			throw keepHeadline(
				new NodeApiError(this.getNode(), { message: safe.message } as JsonObject, { message: safe.message, itemIndex: i, httpCode: String((error as { status?: number }).status ?? '') || undefined }),
				safe.message,
			);
		}
	}
	return out;
}
