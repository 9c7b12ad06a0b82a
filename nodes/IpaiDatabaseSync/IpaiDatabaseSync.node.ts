import type { IExecuteFunctions, INodeExecutionData, INodeType, INodeTypeDescription } from 'n8n-workflow';
import { NodeConnectionTypes } from 'n8n-workflow';
import { LAKEHOUSE_CREDENTIAL, testLakehouseCredential } from '../shared/lakehouse';
import { router } from './actions/router';
import { properties } from './description';
import { credentialTest, listSearch, loadOptions } from './methods';

export class IpaiDatabaseSync implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'IPAI Database Sync',
		name: 'ipaiDatabaseSync',
		icon: 'file:database.svg',
		group: ['input'],
		version: 1,
		subtitle: '={{ $parameter["operation"] + " " + $parameter["engine"] }}',
		description: 'Sync database tables into the IPAI lakehouse: full snapshots, incremental cursors, CDC (logical replication, binlog) or FDW',
		defaults: { name: 'IPAI Database Sync' },
		usableAsTool: true,
		inputs: [NodeConnectionTypes.Main],
		outputs: [NodeConnectionTypes.Main],
		// One credential per engine of transport/engines.ts, shown for that engine.
		credentials: [
			{ name: 'ipaiPostgresSourceApi', required: true, testedBy: 'postgresSourceTest', displayOptions: { show: { engine: ['postgres'] } } },
			{ name: 'ipaiMySqlSourceApi', required: true, testedBy: 'mysqlSourceTest', displayOptions: { show: { engine: ['mysql'] } } },
			{ name: LAKEHOUSE_CREDENTIAL, required: true, testedBy: 'lakehouseConnectionTest', displayOptions: { show: { operation: ['sync'] } } },
		],
		properties,
	};

	methods = {
		credentialTest: { ...credentialTest, lakehouseConnectionTest: testLakehouseCredential },
		listSearch,
		loadOptions,
	};

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		return router.call(this);
	}
}
