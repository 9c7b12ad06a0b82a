import type { IExecuteFunctions, INodeExecutionData, INodeType, INodeTypeDescription } from 'n8n-workflow';
import { NodeConnectionTypes } from 'n8n-workflow';
import { LAKEHOUSE_CREDENTIAL } from '../shared/lakehouse';
import { router } from './actions/router';
import { properties } from './description';
import { credentialTest, loadOptions } from './methods';

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
		credentials: [
			{ name: LAKEHOUSE_CREDENTIAL, required: true, testedBy: 'lakehouseConnectionTest' },
			// The pipelines' webhook key, for deliveries this node makes itself: n8n's own Header Auth
			// credential, the one the pipelines' webhooks check, so its name is n8n's.
			{
				// eslint-disable-next-line n8n-nodes-base/node-class-description-credentials-name-unsuffixed
				name: 'httpHeaderAuth',
				displayName: 'Pipeline Webhook Key',
				required: false,
				displayOptions: { show: { resource: ['schedule'], operation: ['dispatch'], dispatchMode: ['due', 'named'], deliver: [true] } },
			},
		],
		properties,
	};

	methods = { credentialTest, loadOptions };

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		return router.call(this);
	}
}
