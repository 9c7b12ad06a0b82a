/** The Odoo and lakehouse credential tests, and the model and field dropdowns read from Odoo itself. */
import type {
	ICredentialsDecrypted,
	ICredentialTestFunctions,
	ILoadOptionsFunctions,
	INodeCredentialTestResult,
	INodePropertyOptions,
} from 'n8n-workflow';
import { OdooClient, OdooError, PRESETS } from '../../../lib/sources/odoo';
import { testLakehouseCredential } from '../../shared/lakehouse';
import { connectOdoo, odooCredentials } from '../transport';

export const credentialTest = {
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
};

export const loadOptions = {
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
};
