import type {
	ICredentialsDecrypted,
	ICredentialTestFunctions,
	IExecuteFunctions,
	ILoadOptionsFunctions,
	INodeCredentialTestResult,
	INodeExecutionData,
	INodePropertyOptions,
	INodeType,
	INodeTypeDescription,
} from 'n8n-workflow';
import { NodeConnectionTypes } from 'n8n-workflow';
import { OdooClient, OdooError, PRESETS } from '../../lib/sources/odoo';
import { LAKEHOUSE_CREDENTIAL, testLakehouseCredential } from '../shared/lakehouse';
import { emit } from './actions/emit.operation';
import { sync } from './actions/sync.operation';
import { properties } from './description';
import { connectOdoo, ODOO_CREDENTIAL, odooCredentials } from './transport';

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

	methods = {
		credentialTest: {
			lakehouseConnectionTest: testLakehouseCredential,
			async odooConnectionTest(this: ICredentialTestFunctions, credential: ICredentialsDecrypted): Promise<INodeCredentialTestResult> {
				const { credentials, protocol } = odooCredentials(credential.data ?? {});
				// Which step failed matters: unreachable / not Odoo (version) vs. database or key (login).
				try {
					const odoo = await OdooClient.connect(credentials, { protocol, attempts: 1, timeoutMs: 15_000 });
					return { status: 'OK', message: `Connected to Odoo ${odoo.version.serverVersion} over ${odoo.protocol} as user ${odoo.uid}` };
				} catch (error) {
					const message = error instanceof OdooError ? error.message : (error as Error).message;
					return { status: 'Error', message: message.split(credentials.secret).join('***') };
				}
			},
		},
		loadOptions: {
			async getModels(this: ILoadOptionsFunctions): Promise<INodePropertyOptions[]> {
				const presets = PRESETS.map((p) => ({ name: p.label, value: p.model }));
				const { odoo } = await connectOdoo(this);
				const models = await odoo.call<Array<{ model: string; name: string }>>('ir.model', 'search_read', {
					domain: [['transient', '=', false]],
					fields: ['model', 'name'],
					order: 'model asc',
				});
				const known = new Set(presets.map((p) => p.value));
				return [...presets, ...models.filter((m) => !known.has(m.model)).map((m) => ({ name: `${m.name} (${m.model})`, value: m.model }))];
			},
			async getFields(this: ILoadOptionsFunctions): Promise<INodePropertyOptions[]> {
				const model = this.getCurrentNodeParameter('model') as string;
				const { odoo } = await connectOdoo(this);
				const fields = await odoo.call<Record<string, { string?: string; type: string; store?: boolean }>>(model, 'fields_get', {
					attributes: ['string', 'type', 'store'],
				});
				return Object.entries(fields)
					.map(([name, f]) => ({ name: `${f.string ?? name} (${name}, ${f.type}${f.store === false ? ', not stored' : ''})`, value: name }))
					.sort((a, b) => a.name.localeCompare(b.name));
			},
		},
	};

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		const operation = this.getNodeParameter('operation', 0) as string;
		return [operation === 'emit' ? await emit.call(this) : await sync.call(this)];
	}
}
