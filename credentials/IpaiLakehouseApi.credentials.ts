import type { ICredentialType, INodeProperties } from 'n8n-workflow';

/**
 * A connection to the lakehouse database (Supabase or any PostgreSQL 15+). Connect as a login
 * that is a member of ipai_ingest (and ipai_transform for refreshes), never as a superuser.
 * The test button lives on the nodes (methods.credentialTest): it connects and reports which
 * migrations are missing.
 */
export class IpaiLakehouseApi implements ICredentialType {
	name = 'ipaiLakehouseApi';

	displayName = 'IPAI Lakehouse';

	documentationUrl = 'https://github.com/ipai/n8n-nodes-ipai-lakehouse/blob/main/docs/credentials.md#ipai-lakehouse';

	icon = 'file:lakehouse.svg' as const;

	properties: INodeProperties[] = [
		{
			displayName: 'Connect With',
			name: 'connectionMode',
			type: 'options',
			options: [
				{ name: 'Connection Fields', value: 'fields' },
				{ name: 'Connection String', value: 'connectionString' },
			],
			default: 'fields',
		},
		{
			displayName: 'Connection String',
			name: 'connectionString',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			placeholder: 'postgresql://ipai_n8n:password@db.example.supabase.co:5432/postgres',
			description: 'A postgres:// URL. Supabase: use the direct connection or the session pooler (port 5432).',
			displayOptions: { show: { connectionMode: ['connectionString'] } },
		},
		{
			displayName: 'Host',
			name: 'host',
			type: 'string',
			default: 'localhost',
			displayOptions: { show: { connectionMode: ['fields'] } },
		},
		{
			displayName: 'Port',
			name: 'port',
			type: 'number',
			default: 5432,
			displayOptions: { show: { connectionMode: ['fields'] } },
		},
		{
			displayName: 'Database',
			name: 'database',
			type: 'string',
			default: 'postgres',
			displayOptions: { show: { connectionMode: ['fields'] } },
		},
		{
			displayName: 'User',
			name: 'user',
			type: 'string',
			default: '',
			displayOptions: { show: { connectionMode: ['fields'] } },
		},
		{
			displayName: 'Password',
			name: 'password',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			displayOptions: { show: { connectionMode: ['fields'] } },
		},
		{
			displayName: 'SSL',
			name: 'ssl',
			type: 'options',
			options: [
				{ name: 'Disable', value: 'disable' },
				{ name: 'Prefer (No TLS With This Client)', value: 'prefer' },
				{ name: 'Require (Encrypt, Do Not Verify)', value: 'require' },
				{ name: 'Verify CA', value: 'verify-ca' },
				{ name: 'Verify Full (CA and Host Name)', value: 'verify-full' },
			],
			default: 'prefer',
			description: 'As libpq names the modes. Use Require or stricter for anything not on this machine.',
		},
		{
			displayName: 'CA Certificate',
			name: 'caCertificate',
			type: 'string',
			typeOptions: { password: true, rows: 4 },
			default: '',
			description: 'PEM certificate of the server CA, for Verify CA and Verify Full',
			displayOptions: { show: { ssl: ['verify-ca', 'verify-full'] } },
		},
		{
			displayName: 'Supabase URL',
			name: 'supabaseUrl',
			type: 'string',
			default: '',
			placeholder: 'https://project-ref.supabase.co',
			description: 'Optional: for Supabase Storage sources',
		},
		{
			displayName: 'Supabase Service Role Key',
			name: 'supabaseServiceKey',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			description: 'Optional: for Supabase Storage sources. Never shown in run rows or messages.',
		},
	];
}
