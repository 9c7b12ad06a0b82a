/**
 * The node's one operation: for each input item, load its file (binary data or URL) or the new
 * files of a bucket into a bronze table, inside a connector run (the given one, or its own),
 * and output one summary item per file. All reading and loading is lib/sources/files.
 */
import { isAbsolute } from 'node:path';
import { Readable } from 'node:stream';
import type { IDataObject, IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';
import { isColumnType, type ColumnType } from '../../../lib/lakehouse/columnTypes';
import { failRun, finishRun, startRun } from '../../../lib/lakehouse/runs';
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
	type FileSummary,
	type IngestOptions,
	type ObjectStore,
} from '../../../lib/sources/files';
import { nodeError, openLakehouse, LAKEHOUSE_CREDENTIAL } from '../../shared/lakehouse';
import { dispatchedConnector } from '../../shared/connectorRun';
import { logConnectorRun } from '../../shared/log';
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

function readOptions(fn: IExecuteFunctions, i: number): Base {
	const node = fn.getNode();
	const { setting, writeMode } = settingsOf(fn, i);
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

export async function ingest(this: IExecuteFunctions): Promise<INodeExecutionData[]> {
	const items = this.getInputData();
	const node = this.getNode();
	const session = await openLakehouse(this);
	const out: INodeExecutionData[] = [];
	let ownRun: { runId: string; connectorId: string } | null = null;
	const secrets = [...session.secrets];
	try {
		const source = this.getNodeParameter('source', 0) as string;
		let runId = this.getNodeParameter('runId', 0, '') as string;
		let connectorId: string;
		if (runId) {
			const { rows } = await session.pool.query('select connector_id, status from public.ipai_connector_run where id = $1', [runId]);
			if (rows.length === 0) throw new NodeOperationError(node, `Run ${runId} does not exist`, { itemIndex: 0 });
			if (rows[0].status !== 'running') throw new NodeOperationError(node, `Run ${runId} is ${rows[0].status}, not running`, { itemIndex: 0 });
			connectorId = rows[0].connector_id;
		} else {
			const { dispatchedName, setting } = settingsOf(this, 0);
			const name = dispatchedName || (this.getNodeParameter('connectorName', 0, '') as string) || `${setting('schema', 'ipai_bronze_core')}.${setting('table', '')}`;
			const runSource = await runSourceOf(this, source);
			const started = await startRun(session.pool, {
				connector: { connectorType: 'file', name },
				holder: `n8n execution ${this.getExecutionId()}`,
				metadata: { n8n_execution_id: this.getExecutionId(), n8n_workflow_id: this.getWorkflow().id, ...(runSource ? { source: runSource } : {}) },
			});
			await logConnectorRun(this, session.pool, started.runId, secrets);
			if (started.status === 'skipped') return items.map((_, i) => ({ json: { ...(started as unknown as IDataObject) }, pairedItem: { item: i } }));
			({ runId, connectorId } = started);
			ownRun = { runId, connectorId };
		}

		// Files that failed under Continue On Fail: each is on the run (metadata.failed_files), and a
		// run of the node's own with any failed file ends failed, with their messages.
		const failures: string[] = [];
		for (let i = 0; i < items.length; i++) {
			try {
				const base = readOptions(this, i);
				const ids = { connectorId, runId };
				let summaries: FileSummary[] = [];
				let skipped: number | undefined;
				if (source === 'binary') {
					summaries = [await ingestFile(session.pool, await binarySource(this, i), { ...base, ...ids })];
				} else if (source === 'url') {
					const url = this.getNodeParameter('url', i) as string;
					const rawHeaders = this.getNodeParameter('headers', i, '{}') as string | IDataObject;
					const headers = (typeof rawHeaders === 'string' ? JSON.parse(rawHeaders || '{}') : rawHeaders) as Record<string, string>;
					// Only the URL's secret parts (password, signed-URL values) are masked: errors and the
					// ledger still name the file by scheme, host and path.
					secrets.push(...Object.values(headers).map(String), ...urlSecrets(url));
					summaries = [await ingestFile(session.pool, await httpSource(url, headers), { ...base, ...ids })];
				} else {
					let store: ObjectStore;
					const { setting } = settingsOf(this, i);
					let bucket = setting('bucket', '');
					if (source === 's3') {
						const settings = s3Settings(await this.getCredentials('ipaiS3Api'));
						secrets.push(settings.secretAccessKey);
						bucket ||= settings.bucket;
						if (!bucket) throw new NodeOperationError(node, 'Name the bucket (in the node or the S3 credential)', { itemIndex: i });
						store = s3Store({ ...settings, bucket });
					} else {
						const c = await this.getCredentials(LAKEHOUSE_CREDENTIAL);
						if (!c.supabaseUrl || !c.supabaseServiceKey) {
							throw new NodeOperationError(node, 'Supabase Storage needs the Supabase URL and service key in the IPAI Lakehouse credential', { itemIndex: i });
						}
						if (!bucket) throw new NodeOperationError(node, 'Name the Supabase Storage bucket', { itemIndex: i });
						store = await supabaseStore(String(c.supabaseUrl), String(c.supabaseServiceKey), bucket);
					}
					const prefix = setting('prefix', '');
					const options = this.getNodeParameter('options', i, {}) as IDataObject;
					// The store's client (and its keep-alive sockets) is this item's: closed when done,
					// so a worker running many connectors does not keep one per past run.
					const result = await syncObjectStore(session.pool, store, {
						...base,
						...ids,
						prefix,
						glob: setting('glob', '') || undefined,
						stream: (options.stream as string) || `${store.label}/${prefix}`,
						maxFiles: options.maxFiles ? Number(options.maxFiles) : undefined,
					}).finally(() => store.close?.());
					summaries = result.files;
					skipped = result.skipped;
					if (summaries.length === 0) out.push({ json: { runId, connectorId, files: 0, unchangedFiles: skipped, source: store.label, prefix }, pairedItem: { item: i } });
				}
				for (const s of summaries) {
					out.push({ json: JSON.parse(JSON.stringify({ runId, connectorId, ...s, ...(skipped !== undefined ? { unchangedFiles: skipped } : {}) })), pairedItem: { item: i } });
				}
			} catch (error) {
				const safe = error instanceof NodeOperationError ? error : nodeError(node, error, i, secrets);
				if (this.continueOnFail()) {
					const file = typeof (error as { file?: unknown }).file === 'string' ? ((error as { file: string }).file) : null;
					await recordFailedFile(session.pool, runId, { file, item: i, error: safe.message });
					failures.push(safe.message);
					out.push({ json: { error: safe.message, ...(file !== null ? { file } : {}), runId, connectorId, status: 'failed' }, pairedItem: { item: i } });
					continue;
				}
				throw safe;
			}
		}
		if (ownRun && failures.length > 0) {
			const message = `${failures.length} of ${items.length} file${items.length === 1 ? '' : 's'} failed: ${failures.join(' | ')}`;
			await failRun(session.pool, ownRun.runId, { error: new Error(message), secrets });
			await logConnectorRun(this, session.pool, ownRun.runId, secrets);
			ownRun = null;
		}
		if (ownRun) {
			await finishRun(session.pool, ownRun.runId);
			await logConnectorRun(this, session.pool, ownRun.runId, secrets);
		}
		return out;
	} catch (error) {
		if (ownRun) {
			await failRun(session.pool, ownRun.runId, { error, secrets }).catch(() => undefined);
			await logConnectorRun(this, session.pool, ownRun.runId, secrets);
		}
		throw error instanceof NodeOperationError ? error : nodeError(node, error, 0, secrets);
	} finally {
		await session.close();
	}
}
