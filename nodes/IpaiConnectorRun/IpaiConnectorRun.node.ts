import type {
	IExecuteFunctions,
	ILoadOptionsFunctions,
	INodeExecutionData,
	INodePropertyOptions,
	INodeType,
	INodeTypeDescription,
} from 'n8n-workflow';
import { NodeConnectionTypes } from 'n8n-workflow';
import { openPool } from '../../lib/lakehouse/connection';
import { connectionOptions, LAKEHOUSE_CREDENTIAL, testLakehouseCredential } from '../shared/lakehouse';
import { router } from './actions/router';
import { properties } from './description';

export class IpaiConnectorRun implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'IPAI Connector Run',
		name: 'ipaiConnectorRun',
		icon: 'file:connectorRun.svg',
		group: ['transform'],
		version: [1, 2],
		subtitle: '={{ $parameter["operation"] }}',
		description: 'Run ledger, stream state, loading items into bronze and refreshing transforms in the IPAI lakehouse',
		defaults: { name: 'IPAI Connector Run' },
		usableAsTool: true,
		inputs: [NodeConnectionTypes.Main],
		outputs: [NodeConnectionTypes.Main],
		credentials: [{ name: LAKEHOUSE_CREDENTIAL, required: true, testedBy: 'lakehouseConnectionTest' }],
		properties,
	};

	methods = {
		credentialTest: { lakehouseConnectionTest: testLakehouseCredential },
		loadOptions: {
			async getBronzeSchemas(this: ILoadOptionsFunctions) {
				return schemasLike(this, '^ipai_bronze_');
			},
			async getTransformSchemas(this: ILoadOptionsFunctions) {
				return schemasLike(this, '^ipai_(silver|gold|platinum)_');
			},
		},
	};

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		return router.call(this);
	}
}

async function schemasLike(fn: ILoadOptionsFunctions, pattern: string): Promise<INodePropertyOptions[]> {
	const pool = openPool(connectionOptions(await fn.getCredentials(LAKEHOUSE_CREDENTIAL)));
	try {
		const { rows } = await pool.query<{ nspname: string }>('select nspname from pg_namespace where nspname ~ $1 order by 1', [pattern]);
		return rows.map((r) => ({ name: r.nspname, value: r.nspname }));
	} finally {
		await pool.end();
	}
}
