/**
 * The node's one operation: for each input item, load its file (binary data or URL) or the new
 * files of a bucket into a bronze table, inside a connector run (the given one, or its own),
 * and output one summary item per file. All reading and loading is lib/sources/files.
 */
import { isAbsolute } from 'node:path';
import { Readable } from 'node:stream';
import type { Pool } from 'pg';
import type { IDataObject, IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';
import { urlSecrets } from '../../../lib/lakehouse/secrets';
import {
	fileRunSource,
	httpSource,
	ingestFile,
	localFileSource,
	recordFailedFile,
	s3Store,
	supabaseStore,
	syncObjectStore,
	type FileSource,
	type ObjectStore,
} from '../../../lib/sources/files';
import { nodeError, openLakehouse, LAKEHOUSE_CREDENTIAL } from '../../shared/lakehouse';
import { runParameters, withRun, type RunScope } from '../../shared/connectorRun';
import { perItem } from '../../shared/items';
import { s3Settings } from '../transport';
import { optionsField } from './options.fields';
import { readOptions, settingsOf } from './settings';

const objectStorage = { show: { source: ['s3', 'supabase'] } };

/** The node has this one operation and no Operation parameter: its fields show by their own conditions alone. */
export const description: INodeProperties[] = [
	{
		displayName: 'Source',
		name: 'source',
		type: 'options',
		noDataExpression: true,
		options: [
			{ name: 'Binary Data of the Input Item', value: 'binary', description: 'A file from a previous node (Read Files, HTTP Request, a trigger…)' },
			{ name: 'HTTP(S) URL', value: 'url', description: 'Download and load a file, streamed' },
			{ name: 'S3-Compatible Storage', value: 's3', description: 'New or changed files in an AWS S3, DigitalOcean Spaces, MinIO or Supabase S3 bucket' },
			{ name: 'Supabase Storage', value: 'supabase', description: 'New or changed files in a Supabase Storage bucket (Lakehouse credential\'s Supabase URL and service key)' },
		],
		default: 'binary',
	},
	{
		displayName: 'Input Binary Field',
		name: 'binaryPropertyName',
		type: 'string',
		default: 'data',
		required: true,
		description: 'The binary property of each input item holding the file; each item is one file',
		displayOptions: { show: { source: ['binary'] } },
	},
	{
		displayName: 'URL',
		name: 'url',
		type: 'string',
		default: '',
		required: true,
		placeholder: 'https://example.com/exports/orders.csv.gz',
		displayOptions: { show: { source: ['url'] } },
	},
	{
		displayName: 'Headers',
		name: 'headers',
		type: 'json',
		default: '{}',
		description: 'Request headers as JSON, e.g. {"Authorization": "Bearer …"} (never stored in run rows or errors)',
		displayOptions: { show: { source: ['url'] } },
	},
	{
		displayName: 'Bucket',
		name: 'bucket',
		type: 'string',
		default: '',
		description: 'Bucket to read; empty uses the S3 credential\'s default bucket',
		displayOptions: objectStorage,
	},
	{
		displayName: 'Prefix',
		name: 'prefix',
		type: 'string',
		default: '',
		placeholder: 'exports/orders/',
		description: 'Only objects whose key starts with this',
		displayOptions: objectStorage,
	},
	{
		displayName: 'File Pattern',
		name: 'glob',
		type: 'string',
		default: '',
		placeholder: '**/*.csv.gz',
		description: 'Glob on the key (or on the part after the prefix): * within a folder, ** across folders',
		displayOptions: objectStorage,
	},
	{
		displayName: 'Schema Name or ID',
		name: 'schema',
		type: 'options',
		typeOptions: { loadOptionsMethod: 'getBronzeSchemas' },
		default: 'ipai_bronze_core',
		description: 'Bronze schema of the target table. Choose from the list, or specify an ID using an <a href="https://docs.n8n.io/code/expressions/">expression</a>.',
	},
	{
		displayName: 'Table',
		name: 'table',
		type: 'string',
		default: '',
		required: true,
		placeholder: 'orders_export',
		description: 'Created on first load from the file\'s columns; later files with new or wider columns evolve it',
		// A dispatched connector names its table (and key) in its config.
		displayOptions: { hide: { connectorFrom: ['input'] } },
	},
	{
		displayName: 'Write Mode',
		name: 'writeMode',
		type: 'options',
		options: [
			{ name: 'Append', value: 'append', description: 'Every row is added' },
			{ name: 'Merge by Key', value: 'merge', description: 'Rows with the same key replace each other (re-loading a file changes nothing)' },
		],
		default: 'append',
		displayOptions: { hide: { connectorFrom: ['input'] } },
	},
	{
		displayName: 'Key Columns',
		name: 'keyColumns',
		type: 'string',
		default: '',
		required: true,
		placeholder: 'order_id',
		description: 'Comma-separated columns (as in the file, or normalised) that identify a row',
		displayOptions: { show: { writeMode: ['merge'] }, hide: { connectorFrom: ['input'] } },
	},
	{
		displayName: 'Bad Rows',
		name: 'onBadRow',
		type: 'options',
		options: [
			{ name: 'Fail the File', value: 'fail', description: 'Stop with the file, line and column; nothing from the file is loaded' },
			{ name: 'Skip to Reject Table', value: 'skip', description: 'Load the good rows; bad ones go to ipai_bronze_core.ipai_load_reject with line and reason' },
		],
		default: 'fail',
	},
	...runParameters({}, {
		placeholder: 'orders-exports',
		description: 'The connector this node registers when it runs on its own (default: schema.table); object storage remembers loaded files per connector',
	}),
	optionsField,
];

async function binarySource(fn: IExecuteFunctions, i: number): Promise<FileSource> {
	const property = fn.getNodeParameter('binaryPropertyName', i, 'data') as string;
	const binary = fn.helpers.assertBinaryData(i, property);
	const name = binary.fileName ?? `item ${i} (${property})`;
	// Filesystem binary data is a local file: read it by its path, into reused buffers. Other
	// modes (S3, database) are streamed from storage; either way never read whole. In the
	// in-memory mode n8n already holds the bytes; we stream from that copy.
	if (binary.id?.startsWith('filesystem')) {
		const path = fn.helpers.getBinaryPath(binary.id);
		if (isAbsolute(path)) return localFileSource(path, name);
	}
	return {
		name,
		open: async () => (binary.id ? fn.helpers.getBinaryStream(binary.id, 1 << 20) : Readable.from([Buffer.from(binary.data, 'base64')])),
	};
}

/**
 * The run's `source` (fileRunSource: kind and endpoint origin, nothing secret), from the first
 * item's settings. Unknown when they cannot be read yet: the item loop then fails with the reason.
 */
async function runSourceOf(fn: IExecuteFunctions, source: string): Promise<string | undefined> {
	try {
		if (source === 'url') return fileRunSource({ kind: 'url', url: String(fn.getNodeParameter('url', 0)) });
		if (source === 's3') {
			const settings = s3Settings(await fn.getCredentials('ipaiS3Api'));
			return fileRunSource({ kind: 's3', endpoint: settings.endpoint, region: settings.region });
		}
		if (source === 'supabase') return fileRunSource({ kind: 'supabase', url: String((await fn.getCredentials(LAKEHOUSE_CREDENTIAL)).supabaseUrl ?? '') });
	} catch {
		return undefined;
	}
	return undefined;
}

/** Item i's files: one for binary data or a URL, the new files of a bucket otherwise. */
async function ingestItem(fn: IExecuteFunctions, i: number, pool: Pool, source: string, run: RunScope, secrets: string[]): Promise<IDataObject[]> {
	const node = fn.getNode();
	const settings = settingsOf(fn, i);
	const { setting } = settings;
	const base = { ...readOptions(fn, i, settings), ...run };
	if (source === 'binary') return [{ ...run, ...(await ingestFile(pool, await binarySource(fn, i), base)) }];
	if (source === 'url') {
		const url = fn.getNodeParameter('url', i) as string;
		const rawHeaders = fn.getNodeParameter('headers', i, '{}') as string | IDataObject;
		const headers = (typeof rawHeaders === 'string' ? JSON.parse(rawHeaders || '{}') : rawHeaders) as Record<string, string>;
		// Only the URL's secret parts (password, signed-URL values) are masked: errors and the
		// ledger still name the file by scheme, host and path.
		secrets.push(...Object.values(headers).map(String), ...urlSecrets(url));
		return [{ ...run, ...(await ingestFile(pool, await httpSource(url, headers), base)) }];
	}
	let store: ObjectStore;
	let bucket = setting('bucket', '');
	if (source === 's3') {
		const settings = s3Settings(await fn.getCredentials('ipaiS3Api'));
		secrets.push(settings.secretAccessKey);
		bucket ||= settings.bucket;
		if (!bucket) throw new NodeOperationError(node, 'Name the bucket (in the node or the S3 credential)', { itemIndex: i });
		store = s3Store({ ...settings, bucket });
	} else {
		const c = await fn.getCredentials(LAKEHOUSE_CREDENTIAL);
		if (!c.supabaseUrl || !c.supabaseServiceKey) {
			throw new NodeOperationError(node, 'Supabase Storage needs the Supabase URL and service key in the IPAI Lakehouse credential', { itemIndex: i });
		}
		if (!bucket) throw new NodeOperationError(node, 'Name the Supabase Storage bucket', { itemIndex: i });
		store = await supabaseStore(String(c.supabaseUrl), String(c.supabaseServiceKey), bucket);
	}
	const prefix = setting('prefix', '');
	const options = fn.getNodeParameter('options', i, {}) as IDataObject;
	// The store's client (and its keep-alive sockets) is this item's: closed when done, so a
	// worker running many connectors does not keep one per past run.
	const result = await syncObjectStore(pool, store, {
		...base,
		prefix,
		glob: setting('glob', '') || undefined,
		stream: (options.stream as string) || `${store.label}/${prefix}`,
		maxFiles: options.maxFiles ? Number(options.maxFiles) : undefined,
	}).finally(() => store.close?.());
	if (result.files.length === 0) return [{ ...run, files: 0, unchangedFiles: result.skipped, source: store.label, prefix }];
	return result.files.map((file) => ({ ...run, ...file, unchangedFiles: result.skipped }));
}

/**
 * Every item's files under one connector run (the given one, or its own named after item 0's
 * settings). Under Continue On Fail a failed file is recorded on the run (metadata.failed_files)
 * and a run of the node's own ends failed with the messages of its failed files.
 */
export async function execute(this: IExecuteFunctions, items: INodeExecutionData[]): Promise<INodeExecutionData[]> {
	const node = this.getNode();
	const session = await openLakehouse(this);
	const secrets: string[] = [];
	const toError = (error: unknown, i: number) => (error instanceof NodeOperationError ? error : nodeError(node, error, i, [...session.secrets, ...secrets]));
	try {
		const source = this.getNodeParameter('source', 0) as string;
		const { setting } = settingsOf(this, 0);
		const result = await withRun(
			this,
			0,
			session,
			{ connectorType: 'file', name: `${setting('schema', 'ipai_bronze_core')}.${setting('table', '')}` },
			async (run) => {
				const failures: string[] = [];
				const value = await perItem(this, items, (i) => ingestItem(this, i, session.pool, source, run, secrets), toError, async (safe, error, i) => {
					const file = typeof (error as { file?: unknown }).file === 'string' ? (error as { file: string }).file : null;
					await recordFailedFile(session.pool, run.runId, { file, item: i, error: safe.message });
					failures.push(safe.message);
					return { error: safe.message, ...(file !== null ? { file } : {}), ...run, status: 'failed' };
				});
				const failure = failures.length > 0 ? new Error(`${failures.length} of ${items.length} file${items.length === 1 ? '' : 's'} failed: ${failures.join(' | ')}`) : undefined;
				return { value, failure };
			},
			{ secrets, source: await runSourceOf(this, source) },
		);
		if ('skipped' in result) return items.map((_, i) => ({ json: result.skipped, pairedItem: { item: i } }));
		return result.value;
	} catch (error) {
		throw toError(error, 0);
	} finally {
		await session.close();
	}
}
