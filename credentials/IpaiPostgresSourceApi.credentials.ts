import type { ICredentialType, INodeProperties } from 'n8n-workflow';
import { passwordAndTls } from './shared/databaseSource';

/**
 * A PostgreSQL database to sync from (IPAI Database Sync). The test button (on the node) connects
 * and says what failed: unreachable, login, database or a missing privilege.
 */
export class IpaiPostgresSourceApi implements ICredentialType {
	name = 'ipaiPostgresSourceApi';

	displayName = 'IPAI PostgreSQL Source';

	documentationUrl = 'https://github.com/ipai/n8n-nodes-ipai-lakehouse/blob/main/docs/database-sources.md#credentials';

	icon = 'file:postgres.svg' as const;

	properties: INodeProperties[] = [
		{ displayName: 'Host', name: 'host', type: 'string', default: '', placeholder: 'db.example.com', required: true },
		{ displayName: 'Port', name: 'port', type: 'number', default: 5432 },
		{ displayName: 'Database', name: 'database', type: 'string', default: '', required: true },
		{
			displayName: 'User',
			name: 'user',
			type: 'string',
			default: '',
			required: true,
			description: 'A user with SELECT on the synced tables; CDC also needs the REPLICATION attribute',
		},
		...passwordAndTls,
		{
			displayName: 'Host Seen From the Lakehouse',
			name: 'fdwHost',
			type: 'string',
			default: '',
			description: 'For tables in mode fdw: the host the lakehouse database server uses to reach this database (empty: the host above)',
		},
		{
			displayName: 'Port Seen From the Lakehouse',
			name: 'fdwPort',
			type: 'number',
			default: 0,
			description: 'For tables in mode fdw (0: the port above)',
		},
	];
}
