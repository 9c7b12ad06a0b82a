/**
 * The S3 credential's test button: one cheap read (one key of the default bucket, or the bucket
 * list when none is set) and, when it fails, which part of the credential is wrong. Without it a
 * wrong endpoint or key is saved silently and only surfaces as a failed scheduled run.
 */
import { notS3, s3ClientConfig, type S3Settings } from './remote';

export interface S3CheckResult {
	ok: boolean;
	message: string;
}

type S3CheckSettings = Omit<S3Settings, 'bucket'> & { bucket?: string };

interface S3ErrorShape {
	name?: string;
	code?: string;
	message?: string;
	$metadata?: { httpStatusCode?: number };
	$response?: { statusCode?: number };
}

const UNREACHABLE = /ECONNREFUSED|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|ENETUNREACH|ETIMEDOUT|ECONNRESET|TimeoutError|socket hang up/i;

export async function checkS3Connection(settings: S3CheckSettings): Promise<S3CheckResult> {
	const sdk = await import('@aws-sdk/client-s3');
	const endpoint = settings.endpoint || 'AWS S3';
	const client = new sdk.S3Client({
		...s3ClientConfig(settings),
		maxAttempts: 1,
		requestHandler: { connectionTimeout: 5_000, requestTimeout: 10_000 },
	});
	try {
		if (settings.bucket) {
			const page = await client.send(new sdk.ListObjectsV2Command({ Bucket: settings.bucket, MaxKeys: 1 }));
			// The SDK parses any 200 leniently: an HTML page (a console URL as the endpoint) reads as an
			// empty listing. A real ListObjectsV2 answer names its bucket.
			if (page.Name !== settings.bucket) return { ok: false, message: notS3(endpoint, 200) };
			const some = (page.KeyCount ?? page.Contents?.length ?? 0) > 0 ? 'has objects' : 'is empty';
			return { ok: true, message: `Connected to ${endpoint}: bucket "${settings.bucket}" is readable and ${some}` };
		}
		const buckets = await client.send(new sdk.ListBucketsCommand({}));
		if (!buckets.Owner && buckets.Buckets === undefined) return { ok: false, message: notS3(endpoint, 200) };
		return { ok: true, message: `Connected to ${endpoint}: ${buckets.Buckets?.length ?? 0} bucket(s) visible to these keys` };
	} catch (error) {
		return { ok: false, message: explainS3Error(error as S3ErrorShape, endpoint, settings.bucket) };
	} finally {
		client.destroy();
	}
}

/** A sentence naming the credential field to fix; never the keys themselves. */
export function explainS3Error(error: S3ErrorShape, endpoint: string, bucket?: string): string {
	const code = error.name ?? error.code ?? '';
	const status = error.$metadata?.httpStatusCode ?? error.$response?.statusCode;
	const text = `${code} ${error.message ?? ''}`;
	const where = bucket ? `bucket "${bucket}"` : 'the bucket list';
	if (UNREACHABLE.test(text)) return `${endpoint} is unreachable (${firstLine(error.message)}): check the Endpoint`;
	switch (code) {
		case 'InvalidAccessKeyId':
			return `${endpoint} does not know this Access Key ID: check the Access Key ID`;
		case 'SignatureDoesNotMatch':
			return `${endpoint} rejected the signature: the Secret Access Key does not belong to this Access Key ID (or the Region is wrong)`;
		case 'NoSuchBucket':
			return `Bucket "${bucket}" does not exist at ${endpoint}: check the Default Bucket (or Force Path-Style URLs for MinIO/Supabase)`;
		case 'AccessDenied':
		case 'AllAccessDisabled':
			return `The keys are valid but may not list ${where} at ${endpoint}: grant s3:ListBucket (or set a Default Bucket the keys can read)`;
		case 'PermanentRedirect':
		case 'AuthorizationHeaderMalformed':
		case 'IllegalLocationConstraintException':
			return `${endpoint} says ${where} lives in another region: check the Region`;
	}
	if (status === 403) return `${endpoint} refused the keys (HTTP 403): check the Access Key ID and Secret Access Key`;
	if (status === 404 || status === 405 || /Deserialization|not valid XML|Unexpected|char/i.test(text)) {
		return notS3(endpoint, status);
	}
	return `${endpoint} failed the check (${code || `HTTP ${status ?? '?'}`}: ${firstLine(error.message)})`;
}

function firstLine(message: string | undefined): string {
	return (message ?? '').split('\n')[0].slice(0, 200);
}
