import type { IExecuteFunctions, INodeExecutionData, INodeType, INodeTypeDescription } from 'n8n-workflow';
import { NodeConnectionTypes } from 'n8n-workflow';
import { MATTERMOST_CREDENTIAL } from '../shared/mattermost';
import { LAKEHOUSE_CREDENTIAL } from '../shared/lakehouse';
import { router } from './actions/router';
import { properties } from './description';
import { credentialTest } from './methods';

/**
 * Observability of the lakehouse for the tools teams already watch: a Prometheus/OpenMetrics
 * endpoint rendered from the run ledger, the SLO state and the alert table, and a digest of
 * charts from gold posted to Mattermost. No state in the node: every n8n worker renders the same
 * from the database.
 */
export class IpaiObservability implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'IPAI Observability',
		name: 'ipaiObservability',
		icon: 'file:observability.svg',
		group: ['transform'],
		version: 1,
		subtitle: '={{ $parameter["operation"] }}',
		description: 'Render Prometheus metrics of connector runs, agent runs, SLO burn rates and alerts, or post a digest of finance, DevOps and operations charts to Mattermost',
		defaults: { name: 'IPAI Observability' },
		usableAsTool: true,
		inputs: [NodeConnectionTypes.Main],
		outputs: [NodeConnectionTypes.Main],
		credentials: [
			{ name: LAKEHOUSE_CREDENTIAL, required: true, testedBy: 'lakehouseConnectionTest' },
			{ name: MATTERMOST_CREDENTIAL, required: true, testedBy: 'mattermostApiTest', displayOptions: { show: { operation: ['postDigest'] } } },
		],
		properties,
	};

	methods = { credentialTest };

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		return router.call(this);
	}
}
