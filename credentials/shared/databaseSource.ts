import type { INodeProperties } from 'n8n-workflow';

/** Password and TLS fields, the same for every database source credential (PostgreSQL, MySQL). */
export const passwordAndTls: INodeProperties[] = [
	{ displayName: 'Password', name: 'password', type: 'string', typeOptions: { password: true }, default: '' },
	{
		displayName: 'TLS',
		name: 'ssl',
		type: 'options',
		options: [
			{ name: 'Disable', value: 'disable' },
			{ name: 'Require (Encrypt, Do Not Verify)', value: 'require' },
			{ name: 'Verify Full (Encrypt and Verify the Certificate)', value: 'verify-full' },
		],
		default: 'require',
	},
	{
		displayName: 'CA Certificate',
		name: 'ca',
		type: 'string',
		typeOptions: { rows: 4, password: true },
		default: '',
		description: 'PEM certificate of the server\'s CA, for Verify Full (empty: the system\'s CAs)',
		displayOptions: { show: { ssl: ['verify-full'] } },
	},
];
