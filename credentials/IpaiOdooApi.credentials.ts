import type { ICredentialType, INodeProperties } from 'n8n-workflow';

/**
 * An Odoo login for the external API. The test button (on the IPAI Odoo node) calls
 * common.version, then authenticate, and says which of the two failed and why.
 */
export class IpaiOdooApi implements ICredentialType {
	name = 'ipaiOdooApi';

	displayName = 'IPAI Odoo API';

	documentationUrl = 'https://github.com/ipai/n8n-nodes-ipai-lakehouse/blob/main/docs/credentials.md#ipai-odoo-api';

	icon = 'file:odoo.svg' as const;

	properties: INodeProperties[] = [
		{
			displayName: 'URL',
			name: 'url',
			type: 'string',
			default: '',
			placeholder: 'https://erp.example.com',
			required: true,
		},
		{
			displayName: 'Database',
			name: 'database',
			type: 'string',
			default: '',
			required: true,
		},
		{
			displayName: 'Login',
			name: 'login',
			type: 'string',
			default: '',
			required: true,
			description: 'The user\'s login (usually an email address)',
		},
		{
			displayName: 'API Key or Password',
			name: 'apiKey',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			required: true,
			description: 'An API key (Preferences → Account Security, Odoo 14+) or the password. Odoo 19\'s JSON-2 API needs an API key.',
		},
		{
			displayName: 'Protocol',
			name: 'protocol',
			type: 'options',
			options: [
				{ name: 'Automatic (JSON-2 on Odoo 19+, JSON-RPC Before)', value: 'auto' },
				{ name: 'JSON-2 (Odoo 19+)', value: 'json2' },
				{ name: 'JSON-RPC', value: 'jsonrpc' },
				{ name: 'XML-RPC', value: 'xmlrpc' },
			],
			default: 'auto',
		},
	];
}
