/**
 * One async reader per stream and repository. A reader turns GitHub's listing into loader pages
 * ({ records, cursor?, state? }); the loader commits each page together with its cursor and state,
 * so a sync stopped at any point resumes from its last committed page. The strategies follow
 * Airbyte's and Singer's GitHub connectors (shared/reference/connectors.md §2), with two changes:
 * - issues page by keyset (each request restarts at since=<last updated_at>), not by page number:
 *   with offset paging an issue updated mid-sync moves to the end and shifts an unread one back
 *   onto an already-read page, where it would be lost behind the cursor;
 * - child streams (reviews, jobs, deployment statuses) take their parents from bronze, so parents
 *   listed once are not listed again, and a crash between parent and child loses nothing.
 */
import type { Page } from '../../lakehouse/loader';
import type { GitHubClient, GitHubResponse } from './client';
import type { StreamName } from './streams';
import { asArray, path, tag, type GitHubObject, type PageMemo } from './readerKit';
import { readWorkflowRuns } from './workflowRuns';

export interface RepoRef {
	id: number;
	fullName: string;
	defaultBranch: string;
	createdAt?: string;
}

export interface ParentRow {
	id: number;
	updatedAt: string;
	/** Pull request number (reviews are listed per number). */
	number?: number;
}

/** Keyset position of a child stream: the last parent done, in (updated_at, id) order. */
export interface ChildCursor {
	updated_at: string;
	id: number;
}

/** Where child streams find their parents: bronze during a sync, the API for Emit records. */
export type ParentSource = (parent: StreamName, repo: RepoRef, after: ChildCursor | null) => AsyncIterable<ParentRow>;

export interface ReaderOptions {
	perPage: number;
	/** Oldest data to read on a first sync (ISO); default: everything. */
	startDate?: string;
	/** Days of workflow runs re-read every sync, for re-runs (GitHub allows them for 30 days). */
	runsReReadDays: number;
	/** Size of the aligned created-date windows in the re-read range (stable URLs → ETags). */
	runsWindowDays: number;
	/** Commits whose committer date is older than the newest seen by this much are re-read. */
	commitLookbackHours: number;
	now?: () => number;
}

export interface ReaderContext {
	client: GitHubClient;
	repo: RepoRef;
	cursor: unknown;
	state: Record<string, unknown>;
	options: ReaderOptions;
	parents: ParentSource;
}

export type Reader = (context: ReaderContext) => AsyncGenerator<Page>;

/** Re-reads of a one-timestamp group of issues before its end is trusted. */
export const ISSUE_GROUP_ROUNDS = 5;

/**
 * Issues: since + sort=updated asc, keyset paging (each request restarts at since=<last updated_at>);
 * pull requests (items with pull_request) are left to their stream. `since` is inclusive, so a
 * page boundary inside one timestamp re-reads rather than skips. A full page of ONE timestamp
 * cannot move the keyset: that group is read through the Link pages, which an edit can shift
 * (the edited issue leaves the group for the end, the next unread one slides onto a read page),
 * so the group is then re-read until no issue of it is new. When the last page is not full, its
 * request's `since` becomes the cursor with its ETag: whatever changes next is appended to that
 * very page, so an unchanged repository answers the next sync with a free 304.
 */
export const readIssues: Reader = async function* ({ client, repo, cursor, state, options }) {
	let since = (typeof cursor === 'string' ? cursor : undefined) ?? options.startDate;
	const base = { state: 'all', sort: 'updated', direction: 'asc', per_page: options.perPage };
	const query = (s: string | undefined) => (s ? { ...base, since: s } : base);
	const issues = (items: GitHubObject[]) => items.filter((i) => !('pull_request' in i)).map((i) => tag(repo, i));
	for (let first = true; ; first = false) {
		const etag = first && typeof state.etag === 'string' && state.etagSince === (since ?? '') ? state.etag : undefined;
		let res: GitHubResponse<GitHubObject[]> = await client.get(path(repo, '/issues'), query(since), etag);
		if (res.notModified) return;
		let items = asArray(res.data);
		if (items.length < options.perPage) {
			// What changes next lands at the end of THIS page (it is not full), so its ETag answers for it.
			yield { records: issues(items), cursor: since, state: { etag: res.etag, etagSince: since ?? '' } };
			return;
		}
		if (!res.next) {
			// A full last page: a change would start page 2 and leave this page's ETag matching.
			yield { records: issues(items), cursor: String(items[items.length - 1].updated_at), state: {} };
			return;
		}
		const last = String(items[items.length - 1].updated_at);
		if (last !== since) {
			yield { records: issues(items), cursor: last, state: {} };
			since = last;
			continue;
		}
		// A full page of one timestamp: follow the Link pages to its end, then re-read it until stable.
		const group = new Set<unknown>();
		let after: string | undefined;
		let stable = false;
		for (let round = 0; round <= ISSUE_GROUP_ROUNDS; round++) {
			let added = 0;
			for (;;) {
				const fresh = items.filter((i) => String(i.updated_at) === since && !group.has(i.id));
				for (const i of fresh) group.add(i.id);
				added += fresh.length;
				const beyond = items.filter((i) => String(i.updated_at) !== since);
				// Only the first round reads past the group; later rounds look for group members only.
				if (round === 0 && beyond.length > 0) after = String(beyond[beyond.length - 1].updated_at);
				yield { records: issues(round === 0 ? items : fresh) };
				if (beyond.length > 0 || !res.next) break;
				res = await client.get(res.next);
				items = asArray(res.data);
			}
			if (round > 0 && added === 0) {
				stable = true;
				break;
			}
			res = await client.get(path(repo, '/issues'), query(since));
			items = asArray(res.data);
		}
		if (!stable || !after) {
			// Unverified (still changing), or the group ends the list: the next sync starts at it again.
			yield { records: [], cursor: since, state: {} };
			return;
		}
		yield { records: [], cursor: after, state: {} };
		since = after;
	}
};

/** How many times a pull-request read re-checks the newest page for edits made while it paged. */
export const PULLS_CATCH_UP_ROUNDS = 5;

interface PullsPass {
	/** updated_at of the newest pull request when the pass began: everything edited since is at or after it. */
	top: string;
	/** The next page of the newest-first listing to read. */
	page: number;
}

function pageOf(url: string | undefined): number | undefined {
	if (!url) return undefined;
	const page = Number(new URL(url, 'http://x').searchParams.get('page'));
	return Number.isInteger(page) && page > 0 ? page : undefined;
}

/**
 * Pull requests have no `since`, so they are read newest first (sort=updated, direction=desc),
 * down to the cursor (or the start date). Page-number paging cannot skip in this order: an edit
 * moves a pull request to the front, so unread ones only slide later (and may be read twice),
 * never onto a page already read — unlike ascending order, where every unread one slides earlier
 * and the first of the next page is lost (issue 22). The one edited pull request that jumps to
 * the front is caught by re-reading the newest page until it answers 304 against its own ETag,
 * i.e. until nothing changed while the pass ran; that ETag also makes the next unchanged sync
 * cost one free 304. Each page is a checkpoint (the pass's top and next page), so a long first
 * sync resumes where it stopped; the cursor moves only when a pass and its catch-up are done.
 */
export const readPulls: Reader = async function* ({ client, repo, cursor, state, options }) {
	const url = path(repo, '/pulls');
	const params = { state: 'all', sort: 'updated', direction: 'desc', per_page: options.perPage };
	const floor = typeof cursor === 'string' ? cursor : options.startDate;
	const saved = state.pass as PullsPass | undefined;
	const updated = (i: GitHubObject) => String(i.updated_at);

	let res: GitHubResponse<GitHubObject[]>;
	let top: string;
	let etag: string | undefined;
	if (saved && typeof saved.top === 'string' && Number.isInteger(saved.page)) {
		top = saved.top;
		res = await client.get(url, { ...params, page: saved.page });
	} else {
		res = await client.get(url, params, typeof state.etag === 'string' ? state.etag : undefined);
		if (res.notModified) return;
		etag = res.etag;
		const first = asArray(res.data);
		top = first.length > 0 ? updated(first[0]) : (floor ?? '');
	}
	// Newest-first pass down to the floor.
	for (let page = saved?.page ?? 1; ; ) {
		const items = asArray(res.data);
		const fresh = floor ? items.filter((i) => updated(i) >= floor) : items;
		const next = fresh.length < items.length ? undefined : res.next;
		if (!next) {
			yield { records: fresh.map((i) => tag(repo, i)) };
			break;
		}
		page = pageOf(next) ?? page + 1;
		yield { records: fresh.map((i) => tag(repo, i)), state: { pass: { top, page } satisfies PullsPass } };
		res = await client.get(next);
	}
	// Catch-up: what was edited while the pass ran is now at the front, at or after `top`.
	for (let round = 0; round < PULLS_CATCH_UP_ROUNDS; round++) {
		res = await client.get(url, params, etag);
		if (res.notModified) {
			yield { records: [], cursor: top || undefined, state: { etag } };
			return;
		}
		etag = res.etag;
		const first = asArray(res.data);
		const newTop = first.length > 0 ? updated(first[0]) : top;
		for (;;) {
			const items = asArray(res.data);
			const fresh = items.filter((i) => updated(i) >= top);
			yield { records: fresh.map((i) => tag(repo, i)) };
			if (fresh.length < items.length || !res.next) break;
			res = await client.get(res.next);
		}
		top = newTop;
		// Checkpoint: everything before this round's top is in bronze.
		yield { records: [], cursor: top || undefined, state: {} };
	}
	// Still changing after several rounds: the cursor stays at the last completed round's top,
	// so the next sync reads whatever changed since.
};

/** Commits of the default branch since the newest committer date seen, less a look-back. */
export const readCommits: Reader = async function* ({ client, repo, cursor, state, options }) {
	const seen = typeof cursor === 'string' ? Date.parse(cursor) : NaN;
	const since = Number.isNaN(seen) ? options.startDate : new Date(seen - options.commitLookbackHours * 3_600_000).toISOString();
	const params: Record<string, unknown> = { sha: repo.defaultBranch, per_page: options.perPage, ...(since ? { since } : {}) };
	let res: GitHubResponse<GitHubObject[]>;
	try {
		res = await client.get(path(repo, '/commits'), params, state.etagSince === (since ?? '') && typeof state.etag === 'string' ? state.etag : undefined);
	} catch (error) {
		if ((error as { status?: number }).status === 409) return; // an empty repository has no commits (GitHub answers 409)
		throw error;
	}
	if (res.notModified) return;
	const etag = res.etag;
	let newest = typeof cursor === 'string' ? cursor : '';
	for (;;) {
		const records = asArray(res.data).map((c) => {
			const commit = (c.commit ?? {}) as { committer?: { date?: string }; author?: { date?: string } };
			const committedAt = commit.committer?.date ?? commit.author?.date ?? null;
			if (committedAt && committedAt > newest) newest = committedAt;
			return tag(repo, c, { branch: repo.defaultBranch, committed_at: committedAt });
		});
		if (!res.next) {
			yield { records, cursor: newest || undefined, state: { etag, etagSince: since ?? '' } };
			return;
		}
		yield { records };
		res = await client.get(res.next);
	}
};

/** Small lists read whole every sync; each page's ETag is kept, so unchanged pages cost a 304. */
function fullRead(rest: string, wrappedKey?: string): Reader {
	return async function* ({ client, repo, state, options }) {
		const memo = Array.isArray(state.pages) ? (state.pages as PageMemo[]) : [];
		const pages: PageMemo[] = [];
		let url: string | undefined = path(repo, rest);
		let params: Record<string, unknown> = { per_page: options.perPage };
		for (let i = 0; url; i++) {
			const res: GitHubResponse = await client.get(url, params, memo[i]?.url === url ? memo[i]?.etag : undefined);
			const next: string | undefined = res.notModified ? memo[i]?.next : res.next;
			pages.push({ url, etag: res.etag, next });
			const records = res.notModified ? [] : asArray(res.data, wrappedKey).map((item) => tag(repo, item));
			url = next;
			params = {};
			yield { records, state: url ? { pages: [...pages, ...memo.slice(i + 1)] } : { pages } };
		}
	};
}

export const readWorkflows = fullRead('/actions/workflows', 'workflows');
export const readDeployments = fullRead('/deployments');
export const readReleases = fullRead('/releases');

/** Reads a child stream: for each parent updated after the cursor, every page of its children. */
function childRead(
	parent: StreamName,
	listPath: (repo: RepoRef, row: ParentRow) => string,
	extra: (row: ParentRow) => GitHubObject,
	wrappedKey?: string,
	params: Record<string, unknown> = {},
): Reader {
	return async function* ({ client, repo, cursor, options, parents }) {
		const after = cursor && typeof cursor === 'object' ? (cursor as ChildCursor) : null;
		for await (const row of parents(parent, repo, after)) {
			let res: GitHubResponse = await client.get(listPath(repo, row), { ...params, per_page: options.perPage });
			for (;;) {
				const records = asArray(res.data, wrappedKey).map((item) => tag(repo, item, extra(row)));
				const done = !res.next;
				yield done ? { records, cursor: { updated_at: row.updatedAt, id: row.id } } : { records };
				if (done) break;
				res = await client.get(res.next!);
			}
		}
	};
}

export const readReviews = childRead(
	'pull_requests',
	(repo, row) => path(repo, `/pulls/${row.number}/reviews`),
	(row) => ({ pull_number: row.number, pull_request_id: row.id }),
);
export const readJobs = childRead('workflow_runs', (repo, row) => path(repo, `/actions/runs/${row.id}/jobs`), () => ({}), 'jobs', { filter: 'all' });
export const readDeploymentStatuses = childRead(
	'deployments',
	(repo, row) => path(repo, `/deployments/${row.id}/statuses`),
	(row) => ({ deployment_id: row.id }),
);

export const READERS: Record<Exclude<StreamName, 'repositories'>, Reader> = {
	issues: readIssues,
	pull_requests: readPulls,
	pull_request_reviews: readReviews,
	commits: readCommits,
	workflows: readWorkflows,
	workflow_runs: readWorkflowRuns,
	workflow_jobs: readJobs,
	deployments: readDeployments,
	deployment_statuses: readDeploymentStatuses,
	releases: readReleases,
};
