/** Inferred deletes of issues and pull requests: GitHub sends no tombstone for them. */
import type { Pool } from 'pg';
import { inTransaction } from '../../lakehouse/connection';
import { holdLease } from '../../lakehouse/runs';
import { tableName } from '../../lakehouse/tables';
import { GitHubApiError, type GitHubClient, type GitHubResponse } from './client';
import type { RepoRef } from './readers';
import { STREAM_SPECS } from './streams';

/** An issue or pull request found gone by a delete scan and marked `_ipai_deleted_at`. */
export interface InferredDelete {
	repository: string;
	stream: 'issues' | 'pull_requests';
	id: number;
	number: number;
	/** deleted: GitHub answers 410; transferred: 301 to another repository; gone: 404. */
	reason: 'deleted' | 'transferred' | 'gone';
	/** Where a transferred issue went (owner/name#number). */
	movedTo?: string;
}

/** Confirmations (one GET each) a delete scan makes per repository; the rest wait for the next sync. */
export const DELETE_CHECKS_PER_SCAN = 200;

/**
 * Inferred deletes for issues and pull requests (issue 22). GitHub lists no deleted or
 * transferred issue and sends no tombstone, so a scan lists every issue number of the repository
 * (`/issues?state=all&sort=created&direction=asc` — pull requests are issues there, and creation
 * order does not move on edits) and compares with bronze. A row missing from the listing is only
 * a candidate — a listing can skip an item when another is deleted while it pages — and is
 * confirmed one by one: `GET …/issues/{n}` answering 410 (deleted), 301 to another repository
 * (transferred; fetch follows the redirect, so the answer is the issue elsewhere) or 404 (gone);
 * `GET …/pulls/{n}` answering 404. Confirmed rows get `_ipai_deleted_at` (with this run's id);
 * anything still answering 200 stays live.
 */
export async function scanDeletes(
	pool: Pool,
	client: GitHubClient,
	options: { connectorId: string; runId: string; schema: string; repo: RepoRef; streams: Array<'issues' | 'pull_requests'> },
): Promise<{ deletes: InferredDelete[]; unconfirmed: number }> {
	const { repo } = options;
	const base = `/repos/${repo.fullName.split('/').map(encodeURIComponent).join('/')}`;
	const issueIds = new Set<number>();
	const pullNumbers = new Set<number>();
	let res: GitHubResponse<Array<Record<string, unknown>>> | undefined = await client.get(`${base}/issues`, {
		state: 'all',
		sort: 'created',
		direction: 'asc',
		per_page: 100,
	});
	while (res) {
		for (const item of res.data ?? []) {
			if ('pull_request' in item) pullNumbers.add(Number(item.number));
			else issueIds.add(Number(item.id));
		}
		res = res.next ? await client.get(res.next) : undefined;
	}

	const candidates: Array<{ stream: 'issues' | 'pull_requests'; id: number; number: number }> = [];
	for (const stream of options.streams) {
		const table = tableName({ schema: options.schema, name: STREAM_SPECS[stream].table });
		let rows: Array<{ id: string; number: string }>;
		try {
			({ rows } = await pool.query(
				`select id, number from ${table} where _ipai_connector_id = $1 and repository_id = $2 and _ipai_deleted_at is null`,
				[options.connectorId, repo.id],
			));
		} catch (error) {
			if ((error as { code?: string }).code === '42P01') continue;
			throw error;
		}
		for (const row of rows) {
			const id = Number(row.id);
			const number = Number(row.number);
			if (stream === 'issues' ? !issueIds.has(id) : !pullNumbers.has(number)) candidates.push({ stream, id, number });
		}
	}

	const deletes: InferredDelete[] = [];
	for (const candidate of candidates.slice(0, DELETE_CHECKS_PER_SCAN)) {
		const url = `${base}/${candidate.stream === 'issues' ? 'issues' : 'pulls'}/${candidate.number}`;
		try {
			const answer = await client.get<{ id?: number; number?: number; repository_url?: string; html_url?: string }>(url);
			const where = String(answer.data?.repository_url ?? '').replace(/^.*\/repos\//, '');
			if (candidate.stream === 'issues' && where && where.toLowerCase() !== repo.fullName.toLowerCase()) {
				deletes.push({ repository: repo.fullName, ...candidate, reason: 'transferred', movedTo: `${where}#${answer.data.number}` });
			}
		} catch (error) {
			if (!(error instanceof GitHubApiError) || error.rateLimited || ![404, 410].includes(error.status)) throw error;
			deletes.push({ repository: repo.fullName, ...candidate, reason: error.status === 410 ? 'deleted' : 'gone' });
		}
	}
	if (deletes.length > 0) {
		await inTransaction(pool, async (db) => {
			await holdLease(db, options.connectorId, options.runId);
			for (const stream of options.streams) {
				const gone = deletes.filter((d) => d.stream === stream).map((d) => d.id);
				if (gone.length === 0) continue;
				await db.query(
					`update ${tableName({ schema: options.schema, name: STREAM_SPECS[stream].table })}
					    set _ipai_deleted_at = now(), _ipai_run_id = $2
					  where _ipai_connector_id = $1 and repository_id = $3 and id = any($4::bigint[]) and _ipai_deleted_at is null`,
					[options.connectorId, options.runId, repo.id, gone],
				);
			}
		});
	}
	return { deletes, unconfirmed: Math.max(0, candidates.length - DELETE_CHECKS_PER_SCAN) };
}
