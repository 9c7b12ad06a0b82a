import type { ICredentialType, INodeProperties } from 'n8n-workflow';
import { passwordAndTls } from './shared/databaseSource';

/**
 * A MySQL or MariaDB database to sync from (IPAI Database Sync). The test button (on the node)
 * connects and says what failed: unreachable, login, database or a missing privilege — and, when
 * asked, whether the binary log can be captured (log_bin, ROW format, REPLICATION grants).
 */
export class IpaiMySqlSourceApi implements ICredentialType {
	name = 'ipaiMySqlSourceApi';

	displayName = 'IPAI MySQL Source';

	documentationUrl = 'https://github.com/ipai/n8n-nodes-ipai-lakehouse/blob/main/docs/database-sources-mysql.md';

	icon = 'file:mysql.svg' as const;

	properties: INodeProperties[] = [
		{ displayName: 'Host', name: 'host', type: 'string', default: '', placeholder: 'db.example.com', required: true },
		{ displayName: 'Port', name: 'port', type: 'number', default: 3306 },
		{ displayName: 'Database', name: 'database', type: 'string', default: '', required: true },
		{
			displayName: 'User',
			name: 'user',
			type: 'string',
			default: '',
			required: true,
			description: 'A user with SELECT on the synced tables; CDC also needs REPLICATION SLAVE and REPLICATION CLIENT (MariaDB: BINLOG MONITOR)',
		},
		...passwordAndTls,
		{
			displayName: 'Test Binlog Access (CDC)',
			name: 'testBinlog',
			type: 'boolean',
			default: false,
			description: 'Whether the test button also checks what CDC needs: the binary log on in ROW format with full row images, and the replication grants',
		},
	];
}
