import type { IExecuteFunctions, ILoadOptionsFunctions, INodeExecutionData, INodePropertyOptions, INodeType, INodeTypeDescription } from 'n8n-workflow';
import { NodeConnectionTypes, NodeOperationError } from 'n8n-workflow';
import { LAKEHOUSE_CREDENTIAL, testLakehouseCredential } from '../shared/lakehouse';
import { emit } from './actions/emit.operation';
import { sync } from './actions/sync.operation';
import { properties } from './description';
import { GITHUB_CREDENTIAL, gitHubClient, testGitHubCredential } from './transport';

export class IpaiGitHub implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'IPAI GitHub',
		name: 'ipaiGitHub',
		icon: 'file:github.svg',
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
			/** Repositories the credential can see (up to 1,000, most recently updated first). */
			async getRepositories(this: ILoadOptionsFunctions): Promise<INodePropertyOptions[]> {
				const credentials = await this.getCredentials(GITHUB_CREDENTIAL);
				const client = gitHubClient(credentials, { maxWaitSeconds: 10 });
				const app = credentials.authType === 'app';
				const options: INodePropertyOptions[] = [];
				let res = await client.get(app ? '/installation/repositories' : '/user/repos', { per_page: 100, ...(app ? {} : { sort: 'updated' }) });
				for (let page = 0; page < 10; page++) {
					const list = (app ? (res.data as { repositories?: unknown[] }).repositories : res.data) as Array<{ full_name: string; private?: boolean }>;
					for (const repo of list ?? []) options.push({ name: repo.full_name, value: repo.full_name, description: repo.private ? 'private' : undefined });
					if (!res.next) break;
					res = await client.get(res.next);
				}
				return options;
			},
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
