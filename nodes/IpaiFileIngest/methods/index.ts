/** The lakehouse and S3 credential tests and the bronze schema dropdown. */
import type { ILoadOptionsFunctions, INodePropertyOptions } from 'n8n-workflow';
import { lakehouseSchemas, testLakehouseCredential } from '../../shared/lakehouse';
import { testS3Credential } from '../transport';

export const credentialTest = { lakehouseConnectionTest: testLakehouseCredential, s3ConnectionTest: testS3Credential };

export const loadOptions = {
	async getBronzeSchemas(this: ILoadOptionsFunctions): Promise<INodePropertyOptions[]> {
		return lakehouseSchemas(this, '^ipai_bronze_');
	},
};
