import type { IExecuteFunctions, ILoadOptionsFunctions, INodeExecutionData, INodePropertyOptions, INodeType, INodeTypeDescription } from 'n8n-workflow';
import { NodeConnectionTypes } from 'n8n-workflow';
import { listTargetColumns, listTargetTables } from '../../lib/dq/definitions';
import { openPool } from '../../lib/lakehouse/connection';
import { connectionOptions, LAKEHOUSE_CREDENTIAL, testLakehouseCredential } from '../shared/lakehouse';
import { router } from './actions/router';
import { properties } from './description';

/**
 * The Data Quality Monitor on the canvas: declare expectations on lakehouse tables (the database
 * validates each definition), evaluate them after Refresh Transforms or on a schedule, and list
 * definitions and results. Row-level expectations on bronze need no node: the loader enforces
 * them inside every page transaction.
 */
export class IpaiDataQuality implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'IPAI Data Quality',
		name: 'ipaiDataQuality',
		icon: 'file:dataQuality.svg',
		group: ['transform'],
		version: 1,
		subtitle: '={{ $parameter["operation"] }}',
		description: 'Define, evaluate and list data quality expectations (not null, accepted values, ranges, uniqueness, freshness, volume anomalies…) on lakehouse tables',
		defaults: { name: 'IPAI Data Quality' },
		usableAsTool: true,
		inputs: [NodeConnectionTypes.Main],
		outputs: [NodeConnectionTypes.Main],
		credentials: [{ name: LAKEHOUSE_CREDENTIAL, required: true, testedBy: 'lakehouseConnectionTest' }],
		properties,
	};

	methods = {
		credentialTest: { lakehouseConnectionTest: testLakehouseCredential },
		loadOptions: {
			async getTables(this: ILoadOptionsFunctions): Promise<INodePropertyOptions[]> {
				return withPool(this, async (pool) => (await listTargetTables(pool)).map((t) => ({ name: t, value: t })));
			},
			async getColumns(this: ILoadOptionsFunctions): Promise<INodePropertyOptions[]> {
				const table = String(this.getCurrentNodeParameter('targetTable') ?? '');
				if (!table) return [];
				return withPool(this, async (pool) => (await listTargetColumns(pool, table)).map((c) => ({ name: `${c.name} (${c.type})`, value: c.name })));
			},
			async getReferencedColumns(this: ILoadOptionsFunctions): Promise<INodePropertyOptions[]> {
				const table = String(this.getCurrentNodeParameter('toTable') ?? '');
				if (!table) return [];
				return withPool(this, async (pool) => (await listTargetColumns(pool, table)).map((c) => ({ name: `${c.name} (${c.type})`, value: c.name })));
			},
			async getSchemas(this: ILoadOptionsFunctions): Promise<INodePropertyOptions[]> {
				return withPool(this, async (pool) => {
					const { rows } = await pool.query<{ nspname: string }>(`select nspname from pg_namespace where nspname ~ '^ipai_(bronze|silver|gold|platinum)_' order by 1`);
					return rows.map((r) => ({ name: r.nspname, value: r.nspname }));
				});
			},
		},
	};

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		return router.call(this);
	}
}

async function withPool<T>(fn: ILoadOptionsFunctions, work: (pool: ReturnType<typeof openPool>) => Promise<T>): Promise<T> {
	const pool = openPool(connectionOptions(await fn.getCredentials(LAKEHOUSE_CREDENTIAL)));
	try {
		return await work(pool);
	} finally {
		await pool.end();
	}
}
