import type { IExecuteFunctions, INodeExecutionData, INodeType, INodeTypeDescription } from 'n8n-workflow';
import { NodeConnectionTypes } from 'n8n-workflow';
import { LAKEHOUSE_CREDENTIAL } from '../shared/lakehouse';
import { router } from './actions/router';
import { properties } from './description';
import { credentialTest } from './methods';

export class IpaiAgentGuard implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'IPAI Agent Guard',
		name: 'ipaiAgentGuard',
		icon: 'file:agentGuard.svg',
		group: ['transform'],
		version: [1, 2],
		subtitle: '={{ $parameter["operation"] }}',
		description: 'Scoped, budgeted and logged lakehouse access for AI agents: read-only queries as the agent, authorization, run logging and the agent registry',
		defaults: { name: 'IPAI Agent Guard' },
		usableAsTool: true,
		inputs: [NodeConnectionTypes.Main],
		outputs: [NodeConnectionTypes.Main],
		credentials: [{ name: LAKEHOUSE_CREDENTIAL, required: true, testedBy: 'lakehouseConnectionTest' }],
		properties,
	};

	methods = { credentialTest };

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		return router.call(this);
	}
}
