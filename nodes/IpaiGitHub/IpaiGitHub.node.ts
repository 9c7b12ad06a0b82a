import type { IExecuteFunctions, INodeExecutionData, INodeType, INodeTypeDescription } from 'n8n-workflow';
import { NodeConnectionTypes } from 'n8n-workflow';
import { LAKEHOUSE_CREDENTIAL } from '../shared/lakehouse';
import { router } from './actions/router';
import { properties } from './description';
import { credentialTest, loadOptions } from './methods';
import { GITHUB_CREDENTIAL } from './transport';

export class IpaiGitHub implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'IPAI GitHub',
		name: 'ipaiGitHub',
		icon: { light: 'file:github.svg', dark: 'file:github.dark.svg' },
		group: ['input'],
		version: 1,
		subtitle: '={{ $parameter["operation"] === "sync" ? "Sync to lakehouse" : "Emit records" }}',
		description: 'Sync GitHub repositories, issues, pull requests, workflow runs, deployments and releases into the IPAI lakehouse',
		defaults: { name: 'IPAI GitHub' },
		usableAsTool: true,
		inputs: [NodeConnectionTypes.Main],
		outputs: [NodeConnectionTypes.Main],
		credentials: [
			{ name: GITHUB_CREDENTIAL, required: true, testedBy: 'gitHubConnectionTest' },
			{ name: LAKEHOUSE_CREDENTIAL, required: true, testedBy: 'lakehouseConnectionTest', displayOptions: { show: { operation: ['sync'] } } },
		],
		properties,
	};

	methods = { credentialTest, loadOptions };

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		return router.call(this);
	}
}
