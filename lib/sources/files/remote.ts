/**
 * Remote file sources: HTTP(S) URLs (streamed; byte ranges when the server offers them),
 * S3-compatible object storage (AWS S3, DigitalOcean Spaces, MinIO, Supabase Storage's S3
 * endpoint) and Supabase Storage through supabase-js — plus the incremental sync of a bucket:
 * each new or changed object (key + etag/last-modified) loaded in its own transaction together
 * with the state entry that records it.
 */
import { Readable } from 'node:stream';
import type { Pool } from 'pg';
import { maskUrl } from '../../lakehouse/secrets';
import { getStreamState } from '../../lakehouse/streamState';
import { ingestFile, type FileSummary, type IngestOptions } from './ingest';
import type { FileSource } from './types';

// --- HTTP(S) ------------------------------------------------------------------------------------

/**
 * The URL as shown in errors and summaries: scheme, host, path and harmless query parameters, so a
 * person can tell which file failed; the password and secret-looking query values (signatures,
 * tokens, keys) masked.
 */
export function displayUrl(url: string): string {
	try {
		new URL(url);
	} catch {
		return '(invalid URL)';
	}
	return maskUrl(url);
}

/** Where a file run reads, for fileRunSource(). */
export type FileRunWhere =
	| { kind: 'binary' }
	| { kind: 'url'; url: string }
	| { kind: 's3'; endpoint?: string; region?: string }
	| { kind: 'supabase'; url: string };

/**
 * The `source` a file run records in its metadata, as the SLO alerts group by it
 * (lib/slo/grouping.ts; Odoo and GitHub runs record theirs the same way): the kind and the
 * endpoint's origin only — never credentials, a path or a query, where a signed URL carries its
 * signature. S3 is grouped by endpoint, not bucket: an endpoint that is down fails every bucket on
 * it, and that is the incident. Binary data handed in by n8n has no remote source (undefined), and
 * neither has an endpoint that is not an http(s) URL.
 */
export function fileRunSource(where: FileRunWhere): string | undefined {
	const origin = (url: string): string | null => {
		try {
			const u = new URL(url.trim());
			return u.protocol === 'http:' || u.protocol === 'https:' ? `${u.protocol}//${u.host}/` : null;
		} catch {
			return null;
		}
	};
	let at: string | null;
	switch (where.kind) {
		case 'binary':
			return undefined;
		case 's3':
			at = where.endpoint?.trim() ? origin(where.endpoint) : `https://s3.${where.region?.trim() || 'us-east-1'}.amazonaws.com/`;
			break;
		default:
			at = origin(where.url);
	}
	return at ? `${where.kind} ${at}` : undefined;
}

export async function httpSource(url: string, headers: Record<string, string> = {}, name = displayUrl(url)): Promise<FileSource> {
	if (!/^https?:\/\//i.test(url)) throw new Error(`Only http(s) URLs can be read, not ${displayUrl(url)}`);
	let size: number | undefined;
	let ranges = false;
	try {
		const head = await fetch(url, { method: 'HEAD', headers });
		if (head.ok) {
			const length = Number(head.headers.get('content-length'));
			if (Number.isFinite(length) && length > 0 && !head.headers.get('content-encoding')) size = length;
			ranges = head.headers.get('accept-ranges') === 'bytes';
		}
	} catch {
		// No HEAD: plain streaming still works.
	}
	const get = async (extra: Record<string, string> = {}): Promise<Response> => {
		const response = await fetch(url, { headers: { ...headers, ...extra } });
		if (!response.ok) {
			await response.body?.cancel().catch(() => undefined);
			throw new Error(`GET ${name} answered HTTP ${response.status} ${response.statusText}${response.status === 401 || response.status === 403 ? ': check the authentication headers' : ''}`);
		}
		return response;
	};
	return {
		name,
		size,
		open: async () => {
			const response = await get();
			return Readable.fromWeb(response.body as never);
		},
		readRange:
			ranges && size !== undefined
				? async (start, end) => {
						const response = await get({ range: `bytes=${start}-${end - 1}` });
						if (response.status !== 206) throw new Error(`${name} ignored a byte-range request`);
						return new Uint8Array(await response.arrayBuffer());
					}
				: undefined,
	};
}

// --- Object storage -----------------------------------------------------------------------------

export interface ObjectEntry {
	key: string;
	etag: string | null;
	lastModified: string | null;
	size: number | null;
}

export interface ObjectStore {
	/** e.g. s3://bucket — for names in summaries and errors. */
	label: string;
	list(prefix: string): AsyncIterable<ObjectEntry>;
	source(entry: ObjectEntry): FileSource;
	/** Releases connections (keep-alive sockets of the S3 client). */
	close?(): void;
}

export interface S3Settings {
	endpoint?: string;
	region?: string;
	accessKeyId: string;
	secretAccessKey: string;
	forcePathStyle?: boolean;
	bucket: string;
}

type S3Sdk = typeof import('@aws-sdk/client-s3');

interface S3Connection {
	endpoint: string;
	get: () => Promise<{ sdk: S3Sdk; client: InstanceType<S3Sdk['S3Client']> }>;
	close: () => void;
}

/** What to say when an endpoint answers, but not as an S3 API (a console URL, a web server). */
export function notS3(endpoint: string, status: number | undefined): string {
	return `${endpoint} answered${status ? ` HTTP ${status}` : ''} but not as an S3 API: check the Endpoint (the S3 API URL, not the console's)`;
}

/** The S3 client's settings from the credential's (path-style by default for a custom endpoint). */
export function s3ClientConfig(settings: Omit<S3Settings, 'bucket'>) {
	return {
		endpoint: settings.endpoint || undefined,
		region: settings.region || 'us-east-1',
		forcePathStyle: settings.forcePathStyle ?? Boolean(settings.endpoint),
		credentials: { accessKeyId: settings.accessKeyId, secretAccessKey: settings.secretAccessKey },
	};
}

/**
 * The S3 client, made on first use: n8n loads every community node in every process (main,
 * workers, each `n8n execute`), and the AWS SDK is a fifth of this package's code that most
 * workflows never run.
 */
function s3Connection(settings: S3Settings): S3Connection {
	let connection: ReturnType<S3Connection['get']> | null = null;
	return {
		endpoint: settings.endpoint || 'AWS S3',
		get: () =>
			(connection ??= import('@aws-sdk/client-s3').then((sdk) => ({
				sdk,
				client: new sdk.S3Client(s3ClientConfig(settings)),
			}))),
		close: () => void connection?.then(({ client }) => client.destroy()),
	};
}

export function s3Store(settings: S3Settings): ObjectStore {
	return s3StoreOn(s3Connection(settings), settings.bucket);
}

function s3StoreOn(s3: S3Connection, Bucket: string): ObjectStore {
	return {
		label: `s3://${Bucket}`,
		close: s3.close,
		async *list(prefix) {
			const { sdk, client } = await s3.get();
			let ContinuationToken: string | undefined;
			do {
				const page = await client.send(new sdk.ListObjectsV2Command({ Bucket, Prefix: prefix || undefined, ContinuationToken }));
				// Any 200 parses as an empty listing (an HTML console page as the endpoint): that must not
				// read as "no new files". A real answer names its bucket.
				if (page.Name !== Bucket) throw new Error(notS3(s3.endpoint, 200));
				for (const o of page.Contents ?? []) {
					if (!o.Key || o.Key.endsWith('/')) continue;
					yield { key: o.Key, etag: o.ETag ?? null, lastModified: o.LastModified?.toISOString() ?? null, size: o.Size ?? null };
				}
				ContinuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
			} while (ContinuationToken);
		},
		source(entry) {
			return {
				name: `s3://${Bucket}/${entry.key}`,
				size: entry.size ?? undefined,
				open: async () => {
					const { sdk, client } = await s3.get();
					const object = await client.send(new sdk.GetObjectCommand({ Bucket, Key: entry.key }));
					return object.Body as Readable;
				},
				readRange: async (start, end) => {
					const { sdk, client } = await s3.get();
					const object = await client.send(new sdk.GetObjectCommand({ Bucket, Key: entry.key, Range: `bytes=${start}-${end - 1}` }));
					return new Uint8Array(await (object.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray());
				},
			};
		},
	};
}

/**
 * Supabase Storage through supabase-js: listing with storage.list (folders walked), reading
 * through a short-lived signed URL, streamed (download() would buffer the whole file).
 */
export async function supabaseStore(url: string, serviceKey: string, bucket: string): Promise<ObjectStore> {
	const { createClient } = await import('@supabase/supabase-js');
	const supabase = createClient(url, serviceKey, { auth: { persistSession: false, autoRefreshToken: false } });
	const storage = supabase.storage.from(bucket);
	return {
		label: `supabase://${bucket}`,
		async *list(prefix) {
			// list() takes a folder; a prefix like "exports/2024-" lists "exports" and filters.
			const slash = prefix.lastIndexOf('/');
			const folders = [slash >= 0 ? prefix.slice(0, slash) : ''];
			while (folders.length > 0) {
				const folder = folders.shift()!;
				for (let offset = 0; ; offset += 1000) {
					const { data, error } = await storage.list(folder, { limit: 1000, offset, sortBy: { column: 'name', order: 'asc' } });
					if (error) throw new Error(`Supabase Storage list of ${bucket}/${folder} failed: ${error.message}`);
					for (const item of data ?? []) {
						const key = folder ? `${folder}/${item.name}` : item.name;
						if (item.id === null || item.id === undefined) {
							if (key.startsWith(prefix) || prefix.startsWith(`${key}/`)) folders.push(key);
							continue;
						}
						if (!key.startsWith(prefix)) continue;
						const meta = (item.metadata ?? {}) as { eTag?: string; size?: number; lastModified?: string };
						yield { key, etag: meta.eTag ?? null, lastModified: meta.lastModified ?? item.updated_at ?? null, size: meta.size ?? null };
					}
					if (!data || data.length < 1000) break;
				}
			}
		},
		source(entry) {
			const name = `supabase://${bucket}/${entry.key}`;
			let signed: Promise<FileSource> | undefined;
			const resolve = (): Promise<FileSource> =>
				(signed ??= (async () => {
					const { data, error } = await storage.createSignedUrl(entry.key, 600);
					if (error || !data) throw new Error(`Supabase Storage could not sign ${name}: ${error?.message ?? 'no URL'}`);
					return httpSource(data.signedUrl, {}, name);
				})());
			return {
				name,
				size: entry.size ?? undefined,
				open: async () => (await resolve()).open(),
				readRange: async (start, end) => {
					const source = await resolve();
					if (!source.readRange) throw new Error(`${name}: the storage server does not serve byte ranges`);
					return source.readRange(start, end);
				},
			};
		},
	};
}

// --- Incremental sync of a bucket ---------------------------------------------------------------

/** `*` within a path segment, `**` across segments, `?` one character. */
export function globToRegExp(glob: string): RegExp {
	let re = '';
	for (let i = 0; i < glob.length; i++) {
		const c = glob[i];
		if (c === '*') {
			if (glob[i + 1] === '*') {
				re += '.*';
				i++;
				if (glob[i + 1] === '/') i++;
			} else re += '[^/]*';
		} else if (c === '?') re += '[^/]';
		else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
	}
	return new RegExp(`^${re}$`);
}

export interface SyncOptions extends Omit<IngestOptions, 'state' | 'stream'> {
	prefix?: string;
	glob?: string;
	stream: string;
	/** Stop after this many files (the rest wait for the next run). */
	maxFiles?: number;
}

interface FileState {
	etag: string | null;
	lastModified: string | null;
	size: number | null;
	loadedAt: string;
}

/**
 * Loads the objects under prefix (matching glob) that are new or changed since the last run, in
 * (lastModified, key) order, each with its state entry in the same transaction. A failing file
 * stops the sync: files before it stay loaded and remembered; it and later ones load next time.
 */
export async function syncObjectStore(pool: Pool, store: ObjectStore, options: SyncOptions): Promise<{ files: FileSummary[]; skipped: number }> {
	const prefix = options.prefix ?? '';
	const pattern = options.glob ? globToRegExp(options.glob) : null;
	const current = await getStreamState(pool, options.connectorId, options.stream);
	const files: Record<string, FileState> = { ...((current.state.files as Record<string, FileState>) ?? {}) };
	const pending: ObjectEntry[] = [];
	let skipped = 0;
	for await (const entry of store.list(prefix)) {
		if (pattern && !pattern.test(entry.key) && !pattern.test(entry.key.slice(prefix.length))) continue;
		const seen = files[entry.key];
		if (seen && seen.etag === entry.etag && seen.lastModified === entry.lastModified && seen.size === entry.size) {
			skipped++;
			continue;
		}
		pending.push(entry);
	}
	pending.sort((a, b) => (a.lastModified ?? '').localeCompare(b.lastModified ?? '') || a.key.localeCompare(b.key));
	const summaries: FileSummary[] = [];
	for (const entry of pending.slice(0, options.maxFiles ?? pending.length)) {
		const next: Record<string, FileState> = {
			...files,
			[entry.key]: { etag: entry.etag, lastModified: entry.lastModified, size: entry.size, loadedAt: new Date().toISOString() },
		};
		const summary = await ingestFile(pool, store.source(entry), { ...options, stream: options.stream, state: { source: store.label, prefix, files: next } });
		files[entry.key] = next[entry.key];
		summaries.push(summary);
	}
	return { files: summaries, skipped };
}
