/** Post Message: one message to Mattermost outside the SLO alert cycle (e.g. from the error workflow). */
import type { IDataObject } from 'n8n-workflow';
import { postToMattermost, secretsOfTarget } from '../../../lib/slo/mattermost';
import { buildMessagePost, type PlainMessage } from '../../../lib/slo/mattermostPosts';
import { nodeError } from '../../shared/lakehouse';
import { perItem } from '../../shared/items';
import { MATTERMOST_CREDENTIAL, mattermostTarget } from '../transport/mattermost';
import type { Operation } from './context';

export const postMessage: Operation = async function (session, items) {
	const target = mattermostTarget(await this.getCredentials(MATTERMOST_CREDENTIAL));
	const secrets = [...session.secrets, ...secretsOfTarget(target)];
	return perItem(this, items, async (i) => {
		const fields = (this.getNodeParameter('messageFields.field', i, []) as Array<{ title: string; value: string }>).map((f) => ({
			title: String(f.title ?? ''),
			value: f.value === null || f.value === undefined ? '' : String(f.value),
		}));
		const message: PlainMessage = {
			title: this.getNodeParameter('title', i) as string,
			text: this.getNodeParameter('text', i, '') as string,
			severity: this.getNodeParameter('severity', i, 'ticket') as PlainMessage['severity'],
			link: (this.getNodeParameter('link', i, '') as string) || null,
			fields,
		};
		const delivered = await postToMattermost(target, buildMessagePost(message, secrets));
		return { posted: true, postId: delivered.postId, attempts: delivered.attempts } as IDataObject;
	}, (e, i) => nodeError(this.getNode(), e, i, secrets));
};
