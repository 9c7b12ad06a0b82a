import type { ICredentialType, INodeProperties } from 'n8n-workflow';

/**
 * GitHub access for the IPAI GitHub nodes: a personal access token (classic or fine-grained), or a
 * GitHub App installation (App ID + private key + installation ID: the nodes sign the App's JWT
 * and renew the one-hour installation token themselves). Base URL: https://api.github.com, or a
 * GitHub Enterprise Server's https://HOST/api/v3. The test button lives on the nodes
 * (methods.credentialTest, it needs the JWT signing): it reports the identity and the remaining
 * rate limit.
 */
export class IpaiGitHubApi implements ICredentialType {
	name = 'ipaiGitHubApi';

	displayName = 'IPAI GitHub API';

	documentationUrl = 'https://github.com/ipai/n8n-nodes-ipai-lakehouse/blob/main/docs/credentials.md#ipai-github-api';

	icon = 'file:github.svg' as const;

	properties: INodeProperties[] = [
		{
			displayName: 'Authentication',
			name: 'authType',
			type: 'options',
			options: [
				{ name: 'Personal Access Token', value: 'token' },
				{ name: 'GitHub App', value: 'app' },
			],
			default: 'token',
		},
		{
			displayName: 'Access Token',
			name: 'accessToken',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			description: 'Read access to the repositories (fine-grained: Metadata, Issues, Pull requests, Contents, Actions, Deployments; plus Webhooks: write to register webhooks)',
			displayOptions: { show: { authType: ['token'] } },
		},
		{
			displayName: 'App ID',
			name: 'appId',
			type: 'string',
			default: '',
			displayOptions: { show: { authType: ['app'] } },
		},
		{
			displayName: 'Private Key',
			name: 'privateKey',
			type: 'string',
			typeOptions: { password: true, rows: 5 },
			default: '',
			description: 'The .pem file GitHub generated for the App, including the BEGIN and END lines',
			displayOptions: { show: { authType: ['app'] } },
		},
		{
			displayName: 'Installation ID',
			name: 'installationId',
			type: 'string',
			default: '',
			description: 'The number at the end of the installation\'s settings URL (…/settings/installations/&lt;ID&gt;)',
			displayOptions: { show: { authType: ['app'] } },
		},
		{
			displayName: 'Base URL',
			name: 'baseUrl',
			type: 'string',
			default: 'https://api.github.com',
			description: 'https://api.github.com, or https://HOST/api/v3 for GitHub Enterprise Server',
		},
		{
			displayName: 'Webhook Secret',
			name: 'webhookSecret',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			description: 'The secret of the repository webhooks the IPAI GitHub Trigger receives (optional; the trigger may set its own)',
		},
	];
}
