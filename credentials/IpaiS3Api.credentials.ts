import type { ICredentialType, INodeProperties } from 'n8n-workflow';

/**
 * S3-compatible object storage for IPAI File Ingest: AWS S3, DigitalOcean Spaces, MinIO, or
 * Supabase Storage's S3 endpoint (https://<project>.supabase.co/storage/v1/s3, path style).
 */
export class IpaiS3Api implements ICredentialType {
	name = 'ipaiS3Api';

	displayName = 'IPAI S3-Compatible Storage';

	documentationUrl = 'https://github.com/ipai/n8n-nodes-ipai-lakehouse/blob/main/docs/credentials.md#ipai-s3-compatible-storage';

	icon = 'file:s3.svg' as const;

	properties: INodeProperties[] = [
		{
			displayName: 'Endpoint',
			name: 'endpoint',
			type: 'string',
			default: '',
			placeholder: 'https://nyc3.digitaloceanspaces.com',
			description: 'Leave empty for AWS S3; otherwise the S3 API endpoint of Spaces, MinIO or Supabase Storage',
		},
		{
			displayName: 'Region',
			name: 'region',
			type: 'string',
			default: 'us-east-1',
		},
		{
			displayName: 'Access Key ID',
			name: 'accessKeyId',
			type: 'string',
			default: '',
			required: true,
		},
		{
			displayName: 'Secret Access Key',
			name: 'secretAccessKey',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			required: true,
		},
		{
			displayName: 'Force Path-Style URLs',
			name: 'forcePathStyle',
			type: 'boolean',
			default: true,
			description: 'Whether to address buckets as endpoint/bucket (MinIO, Supabase) instead of bucket.endpoint (AWS, Spaces)',
		},
		{
			displayName: 'Default Bucket',
			name: 'bucket',
			type: 'string',
			default: '',
			description: 'Bucket used when the node does not name one',
		},
	];
}
