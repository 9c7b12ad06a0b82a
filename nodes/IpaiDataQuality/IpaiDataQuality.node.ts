import type { IExecuteFunctions, INodeExecutionData, INodeType, INodeTypeDescription } from 'n8n-workflow';
import { NodeConnectionTypes } from 'n8n-workflow';
import { LAKEHOUSE_CREDENTIAL } from '../shared/lakehouse';
import { router } from './actions/router';
import { properties } from './description';
import { credentialTest, loadOptions } from './methods';

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

	methods = { credentialTest, loadOptions };

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		return router.call(this);
	}
}

