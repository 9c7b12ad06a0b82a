import type { IExecuteFunctions, INodeExecutionData, INodeType, INodeTypeDescription } from 'n8n-workflow';
import { NodeConnectionTypes, NodeOperationError } from 'n8n-workflow';
import { LAKEHOUSE_CREDENTIAL, testLakehouseCredential } from '../shared/lakehouse';
import { emit } from './actions/emit.operation';
import { sync } from './actions/sync.operation';
import { properties } from './description';
import { GITHUB_CREDENTIAL, repositoryOptions, testGitHubCredential } from './transport';

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

	methods = {
		credentialTest: { gitHubConnectionTest: testGitHubCredential, lakehouseConnectionTest: testLakehouseCredential },
		loadOptions: {
			getRepositories: repositoryOptions,
		},
	};

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		const operation = this.getNodeParameter('operation', 0) as string;
		const items = this.getInputData();
		if (operation === 'sync') return [await sync.call(this, items)];
		if (operation === 'emit') return [await emit.call(this, items)];
		throw new NodeOperationError(this.getNode(), `Unknown operation "${operation}"`);
	}
}
