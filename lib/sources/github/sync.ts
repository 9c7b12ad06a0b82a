/**
 * A GitHub sync into bronze: resolve the repositories, then run each stream of each repository
 * (the repository is the stream's partition) through lakehouse/stream.ts, each page committed
 * with that repository+stream's cursor (ipai_connector_state stream "<stream>:<owner>/<repo>"). A repository that is gone (404/410) or
 * forbidden (403 that is not a rate limit) is reported and skipped; the others go on. A rate limit
 * that cannot be waited out stops the sync with its checkpoints kept. The requests used and the
 * remaining budget go on the run row (metadata.github).
 */
import type { Pool } from 'pg';
import type { Page } from '../../lakehouse/loader';
import { runStream, type Stream } from '../../lakehouse/stream';
import { heartbeat } from '../../lakehouse/runs';
import { getStreamState, setStreamState } from '../../lakehouse/streamState';
import { tableName } from '../../lakehouse/tables';
import { GitHubApiError, type ClientStats, type GitHubClient, type GitHubResponse } from './client';
import { READERS, type ChildCursor, type ParentRow, type ParentSource, type ReaderOptions, type RepoRef } from './readers';
import { DELETE_CHECKS_PER_SCAN, scanDeletes, type InferredDelete } from './deleteScan';
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
	/**
	 * Hours between two delete scans of a repository's issues and pull requests (default 24;
	 * 0 scans every sync; a negative number never scans). See scanDeletes.
	 */
	deleteScanHours?: number;
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
	/** Distinct rows this run inserted or changed (a row written twice counts once). */
	rowsWritten: number;
}

export interface GitHubSyncResult {
	repositories: string[];
	streams: StreamSummary[];
	skipped: SkippedRepository[];
	deletes: InferredDelete[];
	/** What a person should know although the run succeeded (skipped repositories or streams, …). */
	warnings: string[];
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
		// Parents updated in the cursor's own second are read again: GitHub's timestamps are whole
		// seconds, so a child added later in that second left its parent's updated_at unchanged.
		let position: ChildCursor | null = after ? { updated_at: after.updated_at, id: 0 } : null;
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

	/** Loads one stream of the GitHub source: `repositories`, or a stream of one repository (its partition). */
	const load = async (stream: StreamName, repository: string | null, read: Stream['read']) => {
		const spec = STREAM_SPECS[stream];
		const label = repository ?? selectionLabel;
		const result = await runStream(
			pool,
			ids,
			{ name: stream, ...(repository ? { partition: { repository } } : {}), table: { schema, name: spec.table }, key: spec.key, columns: spec.columns, read },
			{ onPage: (p) => options.onProgress?.({ stream, repository: label, rowsRead: p.rowsRead, rowsWritten: p.rowsWritten }) },
		);
		summaries.push({ stream, repository: label, pages: result.pages, rowsRead: result.rowsRead, rowsWritten: result.rowsWritten });
	};

	const selectionLabel = options.selection.mode === 'list' ? 'chosen' : options.selection.mode === 'owner' ? options.selection.owner : 'account';
	await load('repositories', null, ({ state }) => readRepositories(client, options.selection, state, reader.perPage, repos, skipped));

	const unavailable = new Set<string>();
	/** Repositories whose issues or pull requests were read from the start by this run: nothing to scan yet. */
	const firstRead = new Set<string>();
	const parents = bronzeParents(pool, options.connectorId, schema);
	for (const stream of streams) {
		if (stream === 'repositories') continue;
		for (const repo of repos) {
			if (unavailable.has(repo.fullName)) continue;
			try {
				await load(stream, repo.fullName, ({ cursor, state }) => {
					if ((stream === 'issues' || stream === 'pull_requests') && (cursor === null || cursor === undefined)) firstRead.add(repo.fullName);
					return READERS[stream]({ client, repo, cursor, state, options: reader, parents });
				});
			} catch (error) {
				if (!isUnavailable(error)) throw error;
				skipped.push({ repository: repo.fullName, stream, status: error.status, reason: error.message });
				// Gone means gone for every stream; a 403 may concern one feature (e.g. Actions disabled).
				if (error.status === 404 || error.status === 410) unavailable.add(repo.fullName);
			}
		}
	}

	const deletes: InferredDelete[] = [];
	const warnings: string[] = [];
	const scanHours = options.deleteScanHours ?? 24;
	const scanned = streams.filter((s): s is 'issues' | 'pull_requests' => s === 'issues' || s === 'pull_requests');
	if (scanHours >= 0 && scanned.length > 0) {
		const now = reader.now?.() ?? Date.now();
		for (const repo of repos) {
			if (unavailable.has(repo.fullName)) continue;
			const key = `deletes:${repo.fullName}`;
			const last = (await getStreamState(pool, options.connectorId, key)).cursor;
			if (typeof last === 'string' && now - Date.parse(last) < scanHours * 3_600_000) continue;
			if (typeof last !== 'string' && firstRead.has(repo.fullName)) {
				// Everything was just listed; the first scan is due one interval from now.
				await setStreamState(pool, options.connectorId, key, { cursor: new Date(now).toISOString(), runId: options.runId });
				continue;
			}
			try {
				const scan = await scanDeletes(pool, client, { ...ids, schema, repo, streams: scanned });
				deletes.push(...scan.deletes);
				if (scan.unconfirmed > 0) {
					warnings.push(`${repo.fullName}: ${scan.unconfirmed} issues or pull requests missing from the listing were not checked yet (at most ${DELETE_CHECKS_PER_SCAN} per scan); the next sync checks them`);
				} else {
					await setStreamState(pool, options.connectorId, key, { cursor: new Date(now).toISOString(), runId: options.runId });
				}
			} catch (error) {
				if (!isUnavailable(error)) throw error;
				warnings.push(`${repo.fullName}: delete scan skipped — ${error.message}`);
			}
		}
	}

	// A row re-read within the run (edited between two pages, or a page boundary re-read) is
	// upserted twice; rowsWritten counts it once: the rows this run left its id on.
	const upserts = summaries.reduce((n, s) => n + s.rowsWritten, 0);
	await countDistinctWrites(pool, schema, ids, summaries, repos);
	const rowsRead = summaries.reduce((n, s) => n + s.rowsRead, 0);
	const rowsWritten = summaries.reduce((n, s) => n + s.rowsWritten, 0);
	for (const skip of skipped) {
		warnings.unshift(`${skip.repository}: ${skip.stream === 'repositories' ? 'repository' : `stream ${skip.stream}`} skipped (HTTP ${skip.status}) — ${skip.reason}`);
	}
	const result: GitHubSyncResult = {
		repositories: [...new Set(repos.map((r) => r.fullName))],
		streams: summaries,
		skipped,
		deletes,
		warnings,
		rowsRead,
		rowsWritten,
		requests: client.stats.requests,
		notModified: client.stats.notModified,
		requestsPerRecord: rowsRead > 0 ? Math.round((client.stats.requests / rowsRead) * 1000) / 1000 : null,
		rateLimit: client.stats.budget,
		waits: client.stats.waits,
	};
	// The loader added every upsert to the run's rows_written page by page; keep only distinct rows.
	const { rows } = await pool.query<{ rows_written: string | null; warnings: unknown }>(
		`select rows_written, metadata->'warnings' as warnings from public.ipai_connector_run where id = $1`,
		[options.runId],
	);
	const before = Array.isArray(rows[0]?.warnings) ? (rows[0].warnings as string[]) : [];
	await heartbeat(pool, options.runId, {
		rowsWritten: Math.max(0, Number(rows[0]?.rows_written ?? 0) - upserts + rowsWritten),
		metadata: { github: runMetadata(result), ...(warnings.length > 0 ? { warnings: [...before, ...warnings] } : {}) },
	});
	return result;
}

/** Replaces each summary's upsert count by the distinct rows this run wrote for that stream and repository. */
async function countDistinctWrites(
	pool: Pool,
	schema: string,
	ids: { connectorId: string; runId: string },
	summaries: StreamSummary[],
	repos: RepoRef[],
): Promise<void> {
	const names = new Map(repos.map((r) => [String(r.id), r.fullName]));
	for (const stream of new Set(summaries.map((s) => s.stream as StreamName))) {
		const table = tableName({ schema, name: STREAM_SPECS[stream].table });
		const byRepo = stream === 'repositories' ? 'null::text' : 'repository_id::text';
		let rows: Array<{ repo: string | null; n: string }>;
		try {
			({ rows } = await pool.query(
				`select ${byRepo} as repo, count(*) as n from ${table} where _ipai_connector_id = $1 and _ipai_run_id = $2 group by 1`,
				[ids.connectorId, ids.runId],
			));
		} catch (error) {
			if ((error as { code?: string }).code === '42P01') continue; // nothing was ever written
			throw error;
		}
		const counts = new Map(rows.map((r) => [r.repo === null ? null : (names.get(r.repo) ?? r.repo), Number(r.n)]));
		for (const summary of summaries.filter((s) => s.stream === stream)) {
			summary.rowsWritten = counts.get(stream === 'repositories' ? null : summary.repository) ?? 0;
			counts.delete(stream === 'repositories' ? null : summary.repository);
		}
	}
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
		deletes: result.deletes,
		repositories: result.repositories.length,
	};
}
