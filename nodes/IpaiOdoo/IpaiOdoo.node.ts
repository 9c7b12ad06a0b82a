import type { IExecuteFunctions, INodeExecutionData, INodeType, INodeTypeDescription } from 'n8n-workflow';
import { NodeConnectionTypes } from 'n8n-workflow';
import { LAKEHOUSE_CREDENTIAL } from '../shared/lakehouse';
import { router } from './actions/router';
import { properties } from './description';
import { credentialTest, loadOptions } from './methods';
import { ODOO_CREDENTIAL } from './transport';

export class IpaiOdoo implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'IPAI Odoo',
		name: 'ipaiOdoo',
		icon: 'file:odoo.svg',
		group: ['input'],
		version: 1,
		subtitle: '={{ $parameter["operation"] === "sync" ? "sync " + $parameter["models"].join(", ") : "emit " + $parameter["model"] }}',
		description: 'Sync Odoo models into the IPAI lakehouse (incremental by write_date), or read records as items',
		defaults: { name: 'IPAI Odoo' },
		usableAsTool: true,
		inputs: [NodeConnectionTypes.Main],
		outputs: [NodeConnectionTypes.Main],
		credentials: [
			{ name: ODOO_CREDENTIAL, required: true, testedBy: 'odooConnectionTest' },
			{ name: LAKEHOUSE_CREDENTIAL, required: true, testedBy: 'lakehouseConnectionTest', displayOptions: { show: { operation: ['sync'] } } },
		],
		properties,
	};

	methods = { credentialTest, loadOptions };

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		return router.call(this);
	}
}
