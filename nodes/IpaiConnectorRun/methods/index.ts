/** The dropdowns of lakehouse schemas (bronze to load into, transform layers to refresh) and the credential test. */
import type { ILoadOptionsFunctions } from 'n8n-workflow';
import { lakehouseSchemas, testLakehouseCredential } from '../../shared/lakehouse';

export const credentialTest = { lakehouseConnectionTest: testLakehouseCredential };

export const loadOptions = {
	async getBronzeSchemas(this: ILoadOptionsFunctions) {
		return lakehouseSchemas(this, '^ipai_bronze_');
	},
	async getTransformSchemas(this: ILoadOptionsFunctions) {
		return lakehouseSchemas(this, '^ipai_(silver|gold|platinum)_');
	},
};
