/** Post Message: one message to Mattermost outside the SLO alert cycle (e.g. from the error workflow). */
import type { IDataObject, INodeProperties } from 'n8n-workflow';
import { postToMattermost, secretsOfTarget } from '../../../lib/slo/mattermost';
import { buildMessagePost, type PlainMessage } from '../../../lib/slo/mattermostPosts';
import { nodeError } from '../../shared/lakehouse';
import { perItem } from '../../shared/items';
import { MATTERMOST_CREDENTIAL, mattermostTarget } from '../../shared/mattermost';
import type { Operation } from './common';
import { forOperations } from '../../shared/resources';

export const description: INodeProperties[] = forOperations(['postMessage'], [
	{
		displayName: 'Title',
		name: 'title',
		type: 'string',
		default: '',
		required: true,
		placeholder: 'Pipeline failed: IPAI: Odoo finance sync',
	},
	{
		displayName: 'Text',
		name: 'text',
		type: 'string',
		typeOptions: { rows: 4 },
		default: '',
		description: 'Markdown; secrets known to the node (credential values) are masked',
	},
	{
		displayName: 'Severity',
		name: 'severity',
		type: 'options',
		options: [
			{ name: 'Page', value: 'page', description: 'Urgent, asks for an acknowledgement' },
			{ name: 'Ticket', value: 'ticket', description: 'Needs attention today' },
			{ name: 'Info', value: 'info' },
		],
		default: 'ticket',
	},
	{
		displayName: 'Link',
		name: 'link',
		type: 'string',
		default: '',
		description: 'The title links here (e.g. the failed execution)',
	},
	{
		displayName: 'Fields',
		name: 'messageFields',
		type: 'fixedCollection',
		typeOptions: { multipleValues: true },
		placeholder: 'Add Field',
		default: {},
		options: [
			{
				displayName: 'Field',
				name: 'field',
				values: [
					{ displayName: 'Title', name: 'title', type: 'string', default: '' },
					{ displayName: 'Value', name: 'value', type: 'string', default: '', description: 'Empty values are left out' },
				],
			},
		],
	},
]);

export const execute: Operation = async function (session, items) {
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
