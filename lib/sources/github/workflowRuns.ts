/** The workflow runs reader: GitHub lists runs by creation, in windows of at most 1,000. */
import type { Page } from '../../lakehouse/loader';
import type { GitHubResponse } from './client';
import { asArray, path, tag, type PageMemo } from './readerKit';
import type { Reader } from './readers';

const DAY = 86_400_000;

/** GitHub returns at most 1,000 runs for a search filtered by `created`. */
export const RUNS_RESULT_CAP = 1000;

function isoSeconds(ms: number): string {
	return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/**
 * Workflow runs: `created` windows read oldest first. History before the re-read range is read as
 * one window, halved until each part holds fewer than 1,000 runs; the re-read range (re-runs
 * change runs up to 30 days after creation) is cut into windows aligned to fixed dates so their
 * URLs repeat between syncs and unchanged windows answer 304. Every page of a window keeps its
 * own ETag: runs are listed by creation, so a run that changes (re-run, completion) stays on its
 * page, and a 304 on page 1 says nothing about page 2. The cursor is the end of the newest window
 * read; each window is a checkpoint.
 */
export const readWorkflowRuns: Reader = async function* ({ client, repo, cursor, state, options }) {
	const now = options.now?.() ?? Date.now();
	const windowMs = Math.max(1, options.runsWindowDays) * DAY;
	const reReadStart = Math.floor((now - options.runsReReadDays * DAY) / windowMs) * windowMs;
	const cursorMs = typeof cursor === 'string' ? Date.parse(cursor) : NaN;
	const firstMs = Number.isNaN(cursorMs)
		? Date.parse(options.startDate ?? repo.createdAt ?? new Date(now - 365 * DAY).toISOString())
		: cursorMs;
	const start = Math.min(Number.isNaN(firstMs) ? reReadStart : Math.floor(firstMs / 1000) * 1000, reReadStart);
	const oldWindows = (state.windows ?? {}) as Record<string, PageMemo[]>;
	const windows: Record<string, PageMemo[]> = {};
	const url = path(repo, '/actions/runs');

	const segments: Array<[number, number]> = [];
	if (start < reReadStart) segments.push([start, reReadStart]);
	for (let from = Math.max(start, reReadStart); from <= now; from += windowMs) segments.push([from, from + windowMs]);

	async function* window(from: number, to: number): AsyncGenerator<Page> {
		const created = `${isoSeconds(from)}..${isoSeconds(to - 1000)}`;
		const memo = Array.isArray(oldWindows[created]) ? oldWindows[created] : [];
		const pages: PageMemo[] = [];
		let next: string | undefined = url;
		let params: Record<string, unknown> = { created, per_page: options.perPage };
		for (let i = 0; next; i++) {
			const res: GitHubResponse<{ total_count?: number }> = await client.get(next, params, memo[i]?.url === next ? memo[i].etag : undefined);
			if (i === 0 && !res.notModified && (res.data.total_count ?? 0) >= RUNS_RESULT_CAP && to - from > 2000) {
				const mid = from + Math.floor((to - from) / 2000) * 1000;
				yield* window(from, mid);
				yield* window(mid, to);
				return;
			}
			const after: string | undefined = res.notModified ? memo[i]?.next : res.next;
			pages.push({ url: next, etag: res.etag ?? memo[i]?.etag, next: after });
			if (!res.notModified) yield { records: asArray(res.data, 'workflow_runs').map((r) => tag(repo, r)) };
			next = after;
			params = {};
		}
		windows[created] = pages;
	}

	for (const [from, to] of segments) {
		yield* window(from, to);
		// Kept: page ETags of windows still inside the re-read range, read now or earlier.
		const kept = Object.fromEntries(Object.entries({ ...oldWindows, ...windows }).filter(([k]) => Date.parse(k.split('..')[0]) >= reReadStart));
		yield { records: [], cursor: isoSeconds(Math.min(to, now)), state: { windows: kept } };
	}
};
