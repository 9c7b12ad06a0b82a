import type { ICredentialDataDecryptedObject, IExecuteFunctions, ILoadOptionsFunctions } from 'n8n-workflow';
import { OdooClient, type OdooCredentials, type Protocol } from '../../../lib/sources/odoo';

export const ODOO_CREDENTIAL = 'ipaiOdooApi';

export function odooCredentials(data: ICredentialDataDecryptedObject): { credentials: OdooCredentials; protocol: 'auto' | Protocol } {
	return {
		credentials: {
			url: String(data.url ?? '').trim(),
			database: String(data.database ?? '').trim(),
			login: String(data.login ?? '').trim(),
			secret: String(data.apiKey ?? ''),
		},
		protocol: (data.protocol as 'auto' | Protocol) || 'auto',
	};
}

export async function connectOdoo(fn: IExecuteFunctions | ILoadOptionsFunctions): Promise<{ odoo: OdooClient; secrets: string[] }> {
	const { credentials, protocol } = odooCredentials(await fn.getCredentials(ODOO_CREDENTIAL));
	const odoo = await OdooClient.connect(credentials, { protocol });
	return { odoo, secrets: [credentials.secret] };
}
