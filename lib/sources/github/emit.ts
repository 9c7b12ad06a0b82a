/** Emit records: GitHub streams read straight into n8n items, without the lakehouse or any cursor. */
import type { GitHubClient, GitHubResponse } from './client';
import { READERS, type ParentSource, type ReaderOptions, type RepoRef } from './readers';
import { orderStreams, type StreamName } from './streams';
import { isUnavailable, readerOptions, readRepositories, type RepositorySelection, type SkippedRepository } from './sync';

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
