/**
 * A GitHub sync into bronze: resolve the repositories, then per stream and per repository stream
 * pages into lakehouse/loader.ts, each page committed with that repository+stream's cursor
 * (ipai_connector_state stream "<stream>:<owner>/<repo>"). A repository that is gone (404/410) or
 * forbidden (403 that is not a rate limit) is reported and skipped; the others go on. A rate limit
 * that cannot be waited out stops the sync with its checkpoints kept. The requests used and the
 * remaining budget go on the run row (metadata.github).
 */
import type { Pool } from 'pg';
import { loadStream, type Page } from '../../lakehouse/loader';
import { heartbeat } from '../../lakehouse/runs';
import { getStreamState } from '../../lakehouse/state';
import { tableName } from '../../lakehouse/tables';
import { GitHubApiError, type ClientStats, type GitHubClient, type GitHubResponse } from './client';
import { READERS, type ChildCursor, type ParentRow, type ParentSource, type ReaderOptions, type RepoRef } from './readers';
import { BRONZE_SCHEMA, orderStreams, STREAM_SPECS, type StreamName } from './streams';

export type RepositorySelection =
	| { mode: 'list'; repositories: string[] }
	| { mode: 'owner'; owner: string }
	| { mode: 'authenticated' };

export interface GitHubSyncOptions extends Partial<ReaderOptions> {
	connectorId: string;
	runId: string;
	selection: RepositorySelection;
	streams: string[];
	schema?: string;
	onProgress?: (progress: { stream: string; repository: string; rowsRead: number; rowsWritten: number }) => void;
}

export interface SkippedRepository {
	repository: string;
	stream: string;
	status: number;
	reason: string;
}

export interface StreamSummary {
	stream: string;
	repository: string;
	pages: number;
	rowsRead: number;
	rowsWritten: number;
}

export interface GitHubSyncResult {
	repositories: string[];
	streams: StreamSummary[];
	skipped: SkippedRepository[];
	rowsRead: number;
	rowsWritten: number;
	requests: number;
	notModified: number;
	requestsPerRecord: number | null;
	rateLimit: ClientStats['budget'];
	waits: ClientStats['waits'];
}

export function readerOptions(options: Partial<ReaderOptions>): ReaderOptions {
	const perPage = Math.min(100, Math.max(1, Math.floor(options.perPage ?? 100)));
	if (options.startDate !== undefined && options.startDate !== '' && Number.isNaN(Date.parse(options.startDate))) {
		throw new Error(`Start date "${options.startDate}" is not a date; use ISO 8601 such as 2024-01-01T00:00:00Z`);
	}
	return {
		perPage,
		startDate: options.startDate ? new Date(options.startDate).toISOString().replace(/\.\d{3}Z$/, 'Z') : undefined,
		runsReReadDays: options.runsReReadDays ?? 32,
		runsWindowDays: options.runsWindowDays ?? 8,
		commitLookbackHours: options.commitLookbackHours ?? 24,
		now: options.now,
	};
}

/** Whether a GitHub error means "this repository (or this part of it) is not available": skip, don't fail. */
export function isUnavailable(error: unknown): error is GitHubApiError {
	return error instanceof GitHubApiError && !error.rateLimited && [403, 404, 410, 451].includes(error.status);
}

interface RepoMemo {
	url?: string;
	etag?: string;
	next?: string;
	repos?: RepoRef[];
}

function toRef(repo: Record<string, unknown>): RepoRef {
	return {
		id: Number(repo.id),
		fullName: String(repo.full_name),
		defaultBranch: String(repo.default_branch ?? 'main'),
		createdAt: typeof repo.created_at === 'string' ? repo.created_at : undefined,
	};
}

/**
 * The repositories stream: each chosen repository (GET /repos/o/r), or every page of an owner's
 * listing, with stored ETags. A 304 page still yields its repositories (kept in the state), so
 * the other streams know them without spending a request.
 */
export async function* readRepositories(
	client: GitHubClient,
	selection: RepositorySelection,
	state: Record<string, unknown>,
	perPage: number,
	found: RepoRef[],
	skipped: SkippedRepository[],
): AsyncGenerator<Page> {
	const memo = (state.memo ?? {}) as Record<string, RepoMemo>;
	const next: Record<string, RepoMemo> = {};
	if (selection.mode === 'list') {
		for (const fullName of selection.repositories) {
			if (!/^[\w.-]+\/[\w.-]+$/.test(fullName)) throw new Error(`"${fullName}" is not a repository name; use owner/name`);
			const old = memo[fullName];
			let res: GitHubResponse<Record<string, unknown>>;
			try {
				res = await client.get(`/repos/${fullName}`, {}, old?.etag);
			} catch (error) {
				if (!isUnavailable(error)) throw error;
				skipped.push({ repository: fullName, stream: 'repositories', status: error.status, reason: error.message });
				continue;
			}
			const ref = res.notModified && old?.repos ? old.repos[0] : toRef(res.data);
			found.push(ref);
			next[fullName] = { etag: res.etag, repos: [ref] };
			yield { records: res.notModified ? [] : [res.data], state: { memo: { ...memo, ...next } } };
		}
		yield { records: [], state: { memo: next } };
		return;
	}
	const wrapped = selection.mode === 'authenticated' && client.isApp;
	let url: string | undefined =
		selection.mode === 'owner' ? `/users/${encodeURIComponent(selection.owner)}/repos` : wrapped ? '/installation/repositories' : '/user/repos';
	let params: Record<string, unknown> = selection.mode === 'owner' ? { type: 'all', per_page: perPage } : { per_page: perPage };
	if (selection.mode === 'owner') {
		// Organisations list private repositories only through /orgs/{org}/repos.
		const owner = await client.get<{ type?: string }>(`/users/${encodeURIComponent(selection.owner)}`, {}, memo.owner?.etag);
		next.owner = { etag: owner.etag, next: owner.notModified ? memo.owner?.next : owner.data.type };
		if (next.owner.next === 'Organization') url = `/orgs/${encodeURIComponent(selection.owner)}/repos`;
	}
	for (let i = 0; url; i++) {
		const old = memo[`page${i}`];
		const res: GitHubResponse<unknown> = await client.get(url, params, old?.url === url ? old.etag : undefined);
		const items = res.notModified ? [] : ((wrapped ? (res.data as { repositories?: unknown[] }).repositories : res.data) as Array<Record<string, unknown>>) ?? [];
		const refs = res.notModified ? (old?.repos ?? []) : items.map(toRef);
		found.push(...refs);
		const pageNext = res.notModified ? old?.next : res.next;
		next[`page${i}`] = { url, etag: res.etag, next: pageNext, repos: refs };
		url = pageNext;
		params = {};
		yield { records: items, state: { memo: url ? { ...memo, ...next } : next } };
	}
}

/** Parents of child streams, read from bronze in (updated_at, id) order, 500 at a time. */
export function bronzeParents(pool: Pool, connectorId: string, schema: string): ParentSource {
	return async function* (parent, repo, after) {
		const table = tableName({ schema, name: STREAM_SPECS[parent].table });
		let position: ChildCursor | null = after;
		for (;;) {
			let rows: Array<{ id: string; updated_at: Date; number: number | null }>;
			try {
				({ rows } = await pool.query(
					`select id, updated_at, ${parent === 'pull_requests' ? 'number' : 'null::int as number'}
					   from ${table}
					  where _ipai_connector_id = $1 and repository_id = $2 and _ipai_deleted_at is null
					    and ($3::timestamptz is null or (updated_at, id) > ($3::timestamptz, $4::bigint))
					  order by updated_at, id limit 500`,
					[connectorId, repo.id, position?.updated_at ?? null, position?.id ?? 0],
				));
			} catch (error) {
				if ((error as { code?: string }).code === '42P01') return; // parent never synced: no children yet
				throw error;
			}
			for (const row of rows) {
				const updatedAt = row.updated_at.toISOString();
				yield { id: Number(row.id), updatedAt, number: row.number ?? undefined } satisfies ParentRow;
				position = { updated_at: updatedAt, id: Number(row.id) };
			}
			if (rows.length < 500) return;
		}
	};
}

export async function syncGitHub(pool: Pool, client: GitHubClient, options: GitHubSyncOptions): Promise<GitHubSyncResult> {
	const streams = orderStreams(options.streams.length > 0 ? options.streams : ['repositories']);
	const reader = readerOptions(options);
	const schema = options.schema ?? BRONZE_SCHEMA;
	const ids = { connectorId: options.connectorId, runId: options.runId };
	const skipped: SkippedRepository[] = [];
	const summaries: StreamSummary[] = [];
	const repos: RepoRef[] = [];

	const load = async (stream: StreamName, repository: string, stateKey: string, pages: AsyncIterable<Page>) => {
		const spec = STREAM_SPECS[stream];
		const result = await loadStream(pool, pages, {
			...ids,
			stream: stateKey,
			table: { schema, name: spec.table },
			key: spec.key,
			columns: spec.columns,
			onPage: (p) => options.onProgress?.({ stream, repository, rowsRead: p.rowsRead, rowsWritten: p.rowsWritten }),
		});
		summaries.push({ stream, repository, pages: result.pages, rowsRead: result.rowsRead, rowsWritten: result.rowsWritten });
	};

	const repoState = await getStreamState(pool, options.connectorId, 'repositories');
	const selectionLabel = options.selection.mode === 'list' ? 'chosen' : options.selection.mode === 'owner' ? options.selection.owner : 'account';
	await load('repositories', selectionLabel, 'repositories', readRepositories(client, options.selection, repoState.state, reader.perPage, repos, skipped));

	const unavailable = new Set<string>();
	const parents = bronzeParents(pool, options.connectorId, schema);
	for (const stream of streams) {
		if (stream === 'repositories') continue;
		for (const repo of repos) {
			if (unavailable.has(repo.fullName)) continue;
			const stateKey = `${stream}:${repo.fullName}`;
			const saved = await getStreamState(pool, options.connectorId, stateKey);
			try {
				await load(stream, repo.fullName, stateKey, READERS[stream]({ client, repo, cursor: saved.cursor, state: saved.state, options: reader, parents }));
			} catch (error) {
				if (!isUnavailable(error)) throw error;
				skipped.push({ repository: repo.fullName, stream, status: error.status, reason: error.message });
				// Gone means gone for every stream; a 403 may concern one feature (e.g. Actions disabled).
				if (error.status === 404 || error.status === 410) unavailable.add(repo.fullName);
			}
		}
	}
	const rowsRead = summaries.reduce((n, s) => n + s.rowsRead, 0);
	const result: GitHubSyncResult = {
		repositories: [...new Set(repos.map((r) => r.fullName))],
		streams: summaries,
		skipped,
		rowsRead,
		rowsWritten: summaries.reduce((n, s) => n + s.rowsWritten, 0),
		requests: client.stats.requests,
		notModified: client.stats.notModified,
		requestsPerRecord: rowsRead > 0 ? Math.round((client.stats.requests / rowsRead) * 1000) / 1000 : null,
		rateLimit: client.stats.budget,
		waits: client.stats.waits,
	};
	await heartbeat(pool, options.runId, { metadata: { github: runMetadata(result) } });
	return result;
}

/** What goes on the run row: the budget and what the sync spent, never a token. */
export function runMetadata(result: GitHubSyncResult): Record<string, unknown> {
	return {
		requests: result.requests,
		not_modified: result.notModified,
		requests_per_record: result.requestsPerRecord,
		rate_limit: result.rateLimit,
		rate_limit_waits: result.waits,
		skipped: result.skipped,
		repositories: result.repositories.length,
	};
}

/** Parents straight from the API, for Emit records (no lakehouse to read them from). */
export function apiParents(client: GitHubClient, perPage: number, limit: number): ParentSource {
	return async function* (parent, repo) {
		const base = `/repos/${repo.fullName}`;
		const [url, key, params]: [string, string | undefined, Record<string, unknown>] =
			parent === 'pull_requests'
				? [`${base}/pulls`, undefined, { state: 'all', sort: 'updated', direction: 'desc', per_page: perPage }]
				: parent === 'workflow_runs'
					? [`${base}/actions/runs`, 'workflow_runs', { per_page: perPage }]
					: [`${base}/deployments`, undefined, { per_page: perPage }];
		let res: GitHubResponse | undefined = await client.get(url, params);
		let count = 0;
		while (res) {
			const list = (key ? (res.data as Record<string, unknown>)[key] : res.data) as Array<Record<string, unknown>>;
			for (const item of list ?? []) {
				if (count++ >= limit) return;
				yield { id: Number(item.id), updatedAt: String(item.updated_at), number: typeof item.number === 'number' ? item.number : undefined };
			}
			res = res.next ? await client.get(res.next) : undefined;
		}
	};
}

/**
 * Emit records: reads streams without touching the lakehouse or any cursor (a full read from the
 * start date), up to `limit` records in all — for small pulls that feed other n8n nodes.
 */
export async function readGitHubRecords(
	client: GitHubClient,
	options: { selection: RepositorySelection; streams: string[]; limit: number } & Partial<ReaderOptions>,
): Promise<{ records: Array<{ stream: StreamName; repository: string; record: Record<string, unknown> }>; skipped: SkippedRepository[]; requests: number }> {
	const streams = orderStreams(options.streams.length > 0 ? options.streams : ['repositories']);
	const reader = readerOptions(options);
	const out: Array<{ stream: StreamName; repository: string; record: Record<string, unknown> }> = [];
	const skipped: SkippedRepository[] = [];
	const repos: RepoRef[] = [];
	for await (const page of readRepositories(client, options.selection, {}, reader.perPage, repos, skipped)) {
		if (!streams.includes('repositories')) continue;
		for (const record of page.records) if (out.length < options.limit) out.push({ stream: 'repositories', repository: String(record.full_name), record });
	}
	const parents = apiParents(client, reader.perPage, options.limit);
	outer: for (const stream of streams) {
		if (stream === 'repositories') continue;
		for (const repo of repos) {
			try {
				for await (const page of READERS[stream]({ client, repo, cursor: null, state: {}, options: reader, parents })) {
					for (const record of page.records) {
						if (out.length >= options.limit) break outer;
						out.push({ stream, repository: repo.fullName, record });
					}
				}
			} catch (error) {
				if (!isUnavailable(error)) throw error;
				skipped.push({ repository: repo.fullName, stream, status: error.status, reason: error.message });
			}
		}
	}
	return { records: out, skipped, requests: client.stats.requests };
}
