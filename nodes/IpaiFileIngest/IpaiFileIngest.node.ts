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
import { ingest } from './actions/ingest.operation';
import { properties } from './description';
import { testS3Credential } from './transport';

export class IpaiFileIngest implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'IPAI File Ingest',
		name: 'ipaiFileIngest',
		icon: 'file:fileIngest.svg',
		group: ['input'],
		version: 1,
		subtitle: '={{ $parameter["source"] + " → " + $parameter["table"] }}',
		description: 'Load CSV, TSV, JSON, NDJSON, Parquet or Arrow files (gzip too) from binary data, URLs, S3 or Supabase Storage into a bronze table',
		defaults: { name: 'IPAI File Ingest' },
		usableAsTool: true,
		inputs: [NodeConnectionTypes.Main],
		outputs: [NodeConnectionTypes.Main],
		credentials: [
			{ name: LAKEHOUSE_CREDENTIAL, required: true, testedBy: 'lakehouseConnectionTest' },
			{ name: 'ipaiS3Api', required: true, testedBy: 's3ConnectionTest', displayOptions: { show: { source: ['s3'] } } },
		],
		properties,
	};

	methods = {
		credentialTest: { lakehouseConnectionTest: testLakehouseCredential, s3ConnectionTest: testS3Credential },
		loadOptions: {
			async getBronzeSchemas(this: ILoadOptionsFunctions): Promise<INodePropertyOptions[]> {
				const pool = openPool(connectionOptions(await this.getCredentials(LAKEHOUSE_CREDENTIAL)));
				try {
					const { rows } = await pool.query<{ nspname: string }>(`select nspname from pg_namespace where nspname ~ '^ipai_bronze_' order by 1`);
					return rows.map((r) => ({ name: r.nspname, value: r.nspname }));
				} finally {
					await pool.end();
				}
			},
		},
	};

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		return [await ingest.call(this)];
	}
}
