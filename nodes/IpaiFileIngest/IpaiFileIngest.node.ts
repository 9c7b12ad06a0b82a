import type { IExecuteFunctions, INodeExecutionData, INodeType, INodeTypeDescription } from 'n8n-workflow';
import { NodeConnectionTypes } from 'n8n-workflow';
import { LAKEHOUSE_CREDENTIAL } from '../shared/lakehouse';
import * as ingest from './actions/ingest.operation';
import { properties } from './description';
import { credentialTest, loadOptions } from './methods';

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

	methods = { credentialTest, loadOptions };

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		return [await ingest.execute.call(this, this.getInputData())];
	}
}
