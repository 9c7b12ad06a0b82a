import type { ICredentialDataDecryptedObject, ICredentialsDecrypted, ICredentialTestFunctions, INodeCredentialTestResult } from 'n8n-workflow';
import { redact } from '../../../lib/lakehouse/connection';
import type { S3Settings } from '../../../lib/sources/files/remote';
import { checkS3Connection } from '../../../lib/sources/files/s3Check';

/** The IPAI S3-Compatible Storage credential as the engine's settings (bucket may be empty). */
export function s3Settings(c: ICredentialDataDecryptedObject): Omit<S3Settings, 'bucket'> & { bucket: string } {
	return {
		endpoint: String(c.endpoint ?? '') || undefined,
		region: String(c.region ?? '') || undefined,
		accessKeyId: String(c.accessKeyId ?? ''),
		secretAccessKey: String(c.secretAccessKey ?? ''),
		forcePathStyle: c.forcePathStyle !== false,
		bucket: String(c.bucket ?? ''),
	};
}

export async function testS3Credential(this: ICredentialTestFunctions, credential: ICredentialsDecrypted): Promise<INodeCredentialTestResult> {
	const settings = s3Settings(credential.data ?? {});
	const result = await checkS3Connection({ ...settings, bucket: settings.bucket || undefined });
	return { status: result.ok ? 'OK' : 'Error', message: redact(result.message, [settings.secretAccessKey, settings.accessKeyId]) };
}
