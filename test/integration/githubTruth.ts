/**
 * What GitHub (here: the documentation-written stand-in) holds for one repository, read with plain
 * fetch and Link headers — independent of lib/sources/github — and a comparison with bronze.
 */
import type { Pool } from 'pg';
import { STREAM_SPECS, type StreamName } from '../../lib/sources/github/streams';
import type { GitHubStandin } from '../../tooling/standins/github/server';

type Obj = Record<string, unknown>;

async function getJson(gh: GitHubStandin, token: string, path: string): Promise<{ status: number; body: unknown; next?: string }> {
	const response = await fetch(path.startsWith('http') ? path : `${gh.url}${path}`, { headers: { authorization: `Bearer ${token}` } });
	const link = response.headers.get('link') ?? '';
	const next = /<([^>]+)>;\s*rel="next"/.exec(link)?.[1];
	return { status: response.status, body: response.status === 200 ? await response.json() : null, next };
}

async function list(gh: GitHubStandin, token: string, path: string, key?: string): Promise<Obj[]> {
	const out: Obj[] = [];
	let url: string | undefined = `${path}${path.includes('?') ? '&' : '?'}per_page=100`;
	while (url) {
		const res = await getJson(gh, token, url);
		if (res.status === 409) return out; // empty repository (commits)
		if (res.status !== 200) throw new Error(`stand-in answered ${res.status} to ${url}`);
		const items = (key ? (res.body as Obj)[key] : res.body) as Obj[];
		out.push(...items);
		url = res.next;
	}
	return out;
}

/** Every stream's objects for one repository, as the REST API returns them. */
export async function truth(gh: GitHubStandin, token: string, fullName: string): Promise<Record<StreamName, Obj[]>> {
	const base = `/repos/${fullName}`;
	const repository = (await getJson(gh, token, base)).body as Obj;
	const pulls = await list(gh, token, `${base}/pulls?state=all`);
	const runs = await list(gh, token, `${base}/actions/runs`, 'workflow_runs');
	const deployments = await list(gh, token, `${base}/deployments`);
	const perParent = async (parents: Obj[], path: (p: Obj) => string, key?: string) => (await Promise.all(parents.map((p) => list(gh, token, path(p), key)))).flat();
	return {
		repositories: [repository],
		issues: (await list(gh, token, `${base}/issues?state=all`)).filter((i) => !('pull_request' in i)),
		pull_requests: pulls,
		pull_request_reviews: await perParent(pulls, (p) => `${base}/pulls/${p.number}/reviews`),
		commits: await list(gh, token, `${base}/commits?sha=${String(repository.default_branch)}`),
		workflows: await list(gh, token, `${base}/actions/workflows`, 'workflows'),
		workflow_runs: runs,
		workflow_jobs: await perParent(runs, (r) => `${base}/actions/runs/${r.id}/jobs?filter=all`, 'jobs'),
		deployments,
		deployment_statuses: await perParent(deployments, (d) => `${base}/deployments/${d.id}/statuses`),
		releases: await list(gh, token, `${base}/releases`),
	};
}

/** JSON with sorted keys: jsonb does not keep the order GitHub sent. */
function canon(value: unknown): string {
	return JSON.stringify(value, (_k, v: unknown) =>
		v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v as Obj).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : v,
	);
}

/**
 * A pull request's head and base embed the repository as it is NOW (pushed_at, open issue
 * count): they change without the pull request's updated_at moving, so a sync that did not
 * re-read an unchanged pull request keeps the earlier snapshot. Compared without it.
 */
function comparable(stream: StreamName, field: string, value: unknown): unknown {
	if (stream === 'pull_requests' && (field === 'head' || field === 'base') && value && typeof value === 'object') {
		const { repo: _repo, ...rest } = value as Obj;
		return rest;
	}
	return value;
}

export function keyOf(stream: StreamName, object: Obj): string {
	return stream === 'commits' ? String(object.sha) : String(object.id);
}

/** Live bronze rows (the loaded objects, _ipai_raw) of one stream and repository, by key. */
export async function bronzeRows(pool: Pool, connectorId: string, stream: StreamName, repositoryId: number): Promise<Map<string, Obj>> {
	const column = stream === 'repositories' ? 'id' : 'repository_id';
	let rows: Array<{ _ipai_raw: Obj }> = [];
	try {
		({ rows } = await pool.query(
			`select _ipai_raw from ipai_bronze_devops.${STREAM_SPECS[stream].table}
			  where _ipai_connector_id = $1 and ${column} = $2 and _ipai_deleted_at is null`,
			[connectorId, repositoryId],
		));
	} catch (error) {
		if ((error as { code?: string }).code !== '42P01') throw error;
	}
	return new Map(rows.map((r) => [keyOf(stream, r._ipai_raw), r._ipai_raw]));
}

/** Differences between bronze and GitHub: missing or extra keys, and fields that differ. */
export async function differences(pool: Pool, connectorId: string, expected: Record<StreamName, Obj[]>, repositoryId: number): Promise<string[]> {
	const out: string[] = [];
	for (const [stream, objects] of Object.entries(expected) as Array<[StreamName, Obj[]]>) {
		const rows = await bronzeRows(pool, connectorId, stream, repositoryId);
		const keys = new Set(objects.map((o) => keyOf(stream, o)));
		for (const key of rows.keys()) if (!keys.has(key)) out.push(`${stream} ${key}: in bronze, not in GitHub`);
		for (const object of objects) {
			const row = rows.get(keyOf(stream, object));
			if (!row) {
				out.push(`${stream} ${keyOf(stream, object)}: missing from bronze`);
				continue;
			}
			for (const [field, value] of Object.entries(object)) {
				if (canon(comparable(stream, field, row[field])) !== canon(comparable(stream, field, value))) out.push(`${stream} ${keyOf(stream, object)}.${field}: ${JSON.stringify(row[field])} ≠ ${JSON.stringify(value)}`);
			}
		}
	}
	return out;
}
