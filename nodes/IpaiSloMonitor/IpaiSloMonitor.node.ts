import type { IExecuteFunctions, INodeExecutionData, INodeType, INodeTypeDescription } from 'n8n-workflow';
import { NodeConnectionTypes } from 'n8n-workflow';
import { LAKEHOUSE_CREDENTIAL } from '../shared/lakehouse';
import { router } from './actions/router';
import { properties } from './description';
import { credentialTest } from './methods';
import { MATTERMOST_CREDENTIAL } from '../shared/mattermost';

/**
 * SLO evaluation over the run ledger, alert state in the lakehouse, and Mattermost alerting.
 * Safe in queue mode: no state in the node; concurrent executions serialise in the database.
 */
export class IpaiSloMonitor implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'IPAI SLO Monitor',
		name: 'ipaiSloMonitor',
		icon: 'file:sloMonitor.svg',
		group: ['transform'],
		version: [1, 2],
		subtitle: '={{ $parameter["operation"] }}',
		description: 'Evaluate SLOs with multi-window burn rates, keep alert state in the lakehouse and alert on-call staff in Mattermost',
		defaults: { name: 'IPAI SLO Monitor' },
		usableAsTool: true,
		inputs: [NodeConnectionTypes.Main],
		outputs: [NodeConnectionTypes.Main],
		credentials: [
			{ name: LAKEHOUSE_CREDENTIAL, required: true, testedBy: 'lakehouseConnectionTest' },
			{
				name: MATTERMOST_CREDENTIAL,
				required: true,
				testedBy: 'mattermostApiTest',
				displayOptions: { show: { operation: ['notify', 'postMessage'] } },
			},
		],
		properties,
	};

	methods = { credentialTest };

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		return router.call(this);
	}
}
