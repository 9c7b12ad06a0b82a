/**
 * The node's one operation: for each input item, load its file (binary data or URL) or the new
 * files of a bucket into a bronze table, inside a connector run (the given one, or its own),
 * and output one summary item per file. All reading and loading is lib/sources/files.
 */
import { isAbsolute } from 'node:path';
import { Readable } from 'node:stream';
import type { Pool } from 'pg';
import type { IDataObject, IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';
import { isColumnType, type ColumnType } from '../../../lib/lakehouse/columnTypes';
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
	type IngestOptions,
	type ObjectStore,
} from '../../../lib/sources/files';
import { nodeError, openLakehouse, LAKEHOUSE_CREDENTIAL } from '../../shared/lakehouse';
import { dispatchedConnector, withRun, type RunScope } from '../../shared/connectorRun';
import { perItem } from '../../shared/items';
import { s3Settings } from '../transport';

type Base = Omit<IngestOptions, 'connectorId' | 'runId'>;

/**
 * Item i's value of a setting the dispatched connector's config may carry (Connector From:
 * Dispatched Item), else the node parameter's. With a config, merging is on when it names key columns.
 */
function settingsOf(fn: IExecuteFunctions, i: number) {
	const dispatched = dispatchedConnector(fn, i, 'file');
	const config = dispatched?.config;
	const setting = (name: string, fallback: string): string => String(config?.[name] ?? fn.getNodeParameter(name, i, fallback) ?? '');
	return {
		dispatchedName: dispatched?.name,
		setting,
		writeMode: config ? (config.keyColumns ? 'merge' : 'append') : setting('writeMode', 'append'),
	};
}

function readOptions(fn: IExecuteFunctions, i: number, { setting, writeMode }: ReturnType<typeof settingsOf>): Base {
	const node = fn.getNode();
	const schema = setting('schema', 'ipai_bronze_core');
	const table = setting('table', '').trim();
	if (!/^ipai_bronze_[a-z0-9_]+$/.test(schema)) throw new NodeOperationError(node, `File Ingest writes bronze schemas only (ipai_bronze_*), not "${schema}"`, { itemIndex: i });
	if (!table) throw new NodeOperationError(node, 'Name the target table', { itemIndex: i });
	const options = fn.getNodeParameter('options', i, {}) as IDataObject;
	const key = writeMode === 'merge' ? setting('keyColumns', '').split(',').map((k) => k.trim()).filter(Boolean) : undefined;
	if (writeMode === 'merge' && (!key || key.length === 0)) throw new NodeOperationError(node, 'Merge by key needs at least one key column', { itemIndex: i });
	let columnTypes: Record<string, ColumnType> | undefined;
	const rawTypes = options.columnTypes;
	if (rawTypes !== undefined && rawTypes !== '' && rawTypes !== '{}') {
		let parsed: unknown = rawTypes;
		if (typeof rawTypes === 'string') {
			try {
				parsed = JSON.parse(rawTypes);
			} catch {
				throw new NodeOperationError(node, 'Column Types is not valid JSON', { itemIndex: i });
			}
		}
		columnTypes = {};
		for (const [column, type] of Object.entries(parsed as Record<string, unknown>)) {
			if (typeof type !== 'string' || !isColumnType(type)) throw new NodeOperationError(node, `Column type "${String(type)}" for "${column}" is not one the lakehouse knows`, { itemIndex: i });
			columnTypes[column] = type;
		}
	}
	const header = options.header === 'yes' ? true : options.header === 'no' ? false : undefined;
	return {
		table: { schema, name: table },
		key,
		format: (options.format as Base['format']) ?? 'auto',
		compression: (options.compression as Base['compression']) ?? 'auto',
		onBadRow: setting('onBadRow', 'fail') === 'skip' ? 'skip' : 'fail',
		columnTypes,
		sampleRows: options.sampleRows ? Number(options.sampleRows) : undefined,
		rawRecord: options.rawRecord === 'full' ? 'full' : 'compact',
		recordsPath: (options.recordsPath as string) || undefined,
		csv: {
			strictHeaders: options.strictHeaders === true,
			delimiter: (options.delimiter as string) || undefined,
			quote: (options.quote as string) || undefined,
			header,
			encoding: options.encoding === 'utf-8' || options.encoding === 'latin1' ? options.encoding : undefined,
		},
	};
}

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
export async function ingest(this: IExecuteFunctions): Promise<INodeExecutionData[]> {
	const items = this.getInputData();
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
