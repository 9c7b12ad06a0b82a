import type { ICredentialType, INodeProperties } from 'n8n-workflow';

/**
 * Where SLO alerts go in Mattermost: an incoming webhook (simple; cannot thread), or a bot account
 * on the REST API (posts with POST /api/v4/posts and threads the resolved message under the
 * alert). The test button lives on the IPAI SLO Monitor node (methods.credentialTest): bot mode
 * asks GET /api/v4/users/me; webhook mode sends an empty payload, which Mattermost refuses with
 * "No text specified" for a hook that exists — nothing is posted either way.
 */
export class IpaiMattermostApi implements ICredentialType {
	name = 'ipaiMattermostApi';

	displayName = 'IPAI Mattermost';

	documentationUrl = 'https://github.com/ipai/n8n-nodes-ipai-lakehouse/blob/main/docs/credentials.md#ipai-mattermost';

	icon = 'file:mattermost.svg' as const;

	properties: INodeProperties[] = [
		{
			displayName: 'Post With',
			name: 'mode',
			type: 'options',
			options: [
				{ name: 'Incoming Webhook', value: 'webhook', description: 'A webhook URL from Integrations › Incoming Webhooks' },
				{ name: 'Bot Token (REST API)', value: 'bot', description: 'A bot account\'s access token; resolved messages are threaded under the alert' },
			],
			default: 'webhook',
		},
		{
			displayName: 'Webhook URL',
			name: 'webhookUrl',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			placeholder: 'https://mattermost.example.com/hooks/xxxxxxxxxxxxxxxxxxxxxxxxxx',
			description: 'Anyone who has this URL can post to the channel: it is kept as a secret and never shown in messages',
			displayOptions: { show: { mode: ['webhook'] } },
		},
		{
			displayName: 'Channel Override',
			name: 'channel',
			type: 'string',
			default: '',
			placeholder: 'data-alerts',
			description: 'Optional channel name (not ID) to post to instead of the webhook\'s own channel',
			displayOptions: { show: { mode: ['webhook'] } },
		},
		{
			displayName: 'Username Override',
			name: 'username',
			type: 'string',
			default: '',
			placeholder: 'slo-monitor',
			description: 'Optional; only effective when the server allows integrations to override usernames',
			displayOptions: { show: { mode: ['webhook'] } },
		},
		{
			displayName: 'Server URL',
			name: 'serverUrl',
			type: 'string',
			default: '',
			placeholder: 'https://mattermost.example.com',
			displayOptions: { show: { mode: ['bot'] } },
		},
		{
			displayName: 'Bot Access Token',
			name: 'accessToken',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			description: 'System Console › Integrations › Bot Accounts › Create New Token',
			displayOptions: { show: { mode: ['bot'] } },
		},
		{
			displayName: 'Channel ID',
			name: 'channelId',
			type: 'string',
			default: '',
			placeholder: 'e.g. 4xp9fdt77pncbef59f4k1qe83o',
			description: 'The channel\'s ID (View Info in the channel menu), not its name; the bot must be a member',
			displayOptions: { show: { mode: ['bot'] } },
		},
	];
}
