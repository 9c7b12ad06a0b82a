/**
 * The GitHub sync against tooling/standins/github: a REST stand-in written from GitHub's documentation
 * by someone who had not read lib/sources/github (issue 22). What it proves: a pull request edited
 * mid-sync does not make another vanish; deleted (410) and transferred (301) issues are marked
 * deleted; rowsWritten counts distinct rows; unchanged incremental issue reads answer 304; a run
 * that skips something succeeds with warnings; every stream's bronze table is pre-created by the
 * migrations with the declared column types.
 */
import { finishRun, startRun } from '../../lib/lakehouse/runs';
import { GitHubClient } from '../../lib/sources/github/client';
import { STREAMS, STREAM_SPECS } from '../../lib/sources/github/streams';
import { syncGitHub, type GitHubSyncResult } from '../../lib/sources/github/sync';
import { useScratchDatabase } from '../../tooling/helpers/database';
import { startGitHubStandin, type GitHubStandin } from '../../tooling/standins/github/server';
import { differences, truth } from './githubTruth';

jest.setTimeout(120_000);

const db = useScratchDatabase();
const TOKEN = 'ghp_standin_token';
let gh: GitHubStandin;

beforeEach(async () => {
	gh = await startGitHubStandin({ startTime: new Date(Date.now() - 3_600_000) });
	gh.addToken({ token: TOKEN, user: 'octo' });
});
afterEach(async () => {
	await gh.close();
});

function client(): GitHubClient {
	return new GitHubClient({ auth: { type: 'token', token: TOKEN }, baseUrl: gh.url, retryBaseMs: 10 });
}

type Selection = Parameters<typeof syncGitHub>[2]['selection'];
type Extra = Partial<Parameters<typeof syncGitHub>[2]>;

async function sync(name: string, streams: string[], selection: Selection, extra: Extra = {}): Promise<GitHubSyncResult & { runId: string; connectorId: string }> {
	const started = await startRun(db.pool, { connector: { connectorType: 'github', name } });
	if (started.status !== 'running') throw new Error('run not started');
	const result = await syncGitHub(db.pool, client(), {
		connectorId: started.connectorId,
		runId: started.runId,
		selection,
		streams,
		now: () => gh.now().getTime(),
		...extra,
	});
	await finishRun(db.pool, started.runId);
	return { ...result, runId: started.runId, connectorId: started.connectorId };
}

async function live(table: string, connectorId: string, column = 'id'): Promise<string[]> {
	const { rows } = await db.pool.query(
		`select ${column}::text as k from ipai_bronze_devops.${table} where _ipai_connector_id = $1 and _ipai_deleted_at is null order by 1`,
		[connectorId],
	);
	return rows.map((r) => r.k);
}

const PG_TYPES: Record<string, string> = { bigint: 'bigint', text: 'text', timestamptz: 'timestamp with time zone', jsonb: 'jsonb', boolean: 'boolean' };

it('the migrations pre-create every stream\'s bronze table with its key and declared column types (before any sync)', async () => {
	for (const stream of STREAMS) {
		const spec = STREAM_SPECS[stream];
		const { rows } = await db.pool.query<{ column_name: string; data_type: string }>(
			`select column_name, data_type from information_schema.columns where table_schema = 'ipai_bronze_devops' and table_name = $1`,
			[spec.table],
		);
		const types = new Map(rows.map((r) => [r.column_name, r.data_type]));
		expect({ stream, exists: rows.length > 0 }).toEqual({ stream, exists: true });
		for (const column of spec.columns) expect({ stream, column: column.field, type: types.get(column.field) }).toEqual({ stream, column: column.field, type: PG_TYPES[column.type] });
		const { rows: key } = await db.pool.query<{ k: string }>(
			`select a.attname as k from pg_index i join pg_attribute a on a.attrelid = i.indrelid and a.attnum = any(i.indkey)
			  where i.indrelid = $1::regclass and i.indisprimary order by array_position(i.indkey, a.attnum)`,
			[`ipai_bronze_devops.${spec.table}`],
		);
		expect({ stream, key: key.map((r) => r.k) }).toEqual({ stream, key: ['_ipai_connector_id', ...spec.key] });
	}
});

it('a pull request edited after page 1 of the first sync does not make another one vanish (issue 22 repro)', async () => {
	gh.addRepo({ owner: 'acme', name: 'prs' });
	const pulls: Array<Record<string, unknown>> = [];
	for (let i = 0; i < 180; i++) {
		gh.advance(1000);
		pulls.push(gh.addPull({ repo: 'acme/prs', title: `pr ${i + 1}` }));
	}
	const pr19 = pulls.find((p) => p.number === 19)!;
	let edited = false;
	gh.onRequest((_req, info) => {
		if (!edited && info.path === '/repos/acme/prs/pulls' && info.query.page === '2') {
			edited = true;
			gh.advance(1000);
			gh.update('pull', pr19.id as number, { title: 'edited after page 1' });
		}
	});
	const first = await sync('prs', ['pull_requests'], { mode: 'list', repositories: ['acme/prs'] }, { perPage: 100 });
	expect(edited).toBe(true);
	// PR #19 was read twice (before and after its edit): 181 upserts, 180 distinct rows (issue 22, item 3).
	expect(first.rowsWritten).toBe(180 + 1); // + the repository row
	const { rows: run } = await db.pool.query('select rows_written from ipai_connector_run where id = $1', [first.runId]);
	expect(Number(run[0].rows_written)).toBe(181);
	// Every pull request that existed when the sync started is in bronze after this one run.
	expect(await live('github_pull_requests', first.connectorId)).toEqual(pulls.map((p) => String(p.id)).sort());
	await sync('prs', ['pull_requests'], { mode: 'list', repositories: ['acme/prs'] }, { perPage: 100 });
	const { rows } = await db.pool.query(`select title from ipai_bronze_devops.github_pull_requests where id = $1`, [pr19.id]);
	expect(rows[0].title).toBe('edited after page 1');
	expect(await live('github_pull_requests', first.connectorId)).toHaveLength(180);
});

it('every stream equals the stand-in field by field after a first and an incremental sync', async () => {
	gh.addRepo({ owner: 'acme', name: 'all', created_at: gh.now() });
	const wf = gh.addWorkflow({ repo: 'acme/all', name: 'CI' });
	gh.addWorkflow({ repo: 'acme/all', name: 'Release' });
	for (let i = 0; i < 7; i++) {
		gh.advance(60_000);
		gh.addIssue({ repo: 'acme/all', title: `issue ${i}`, labels: i % 2 ? ['bug'] : [] });
		const pr = gh.addPull({ repo: 'acme/all', title: `pr ${i}`, head: { ref: `b${i}` } });
		if (i % 2 === 0) gh.addReview({ repo: 'acme/all', pull: pr.number as number, user: 'bob', state: 'APPROVED' });
		gh.addCommit({ repo: 'acme/all', author: 'octo', message: `commit ${i}` });
		const run = gh.addRun({ repo: 'acme/all', workflow_id: wf.id as number, conclusion: i === 3 ? 'failure' : undefined });
		gh.addJob({ run_id: run.id as number, name: 'build' });
		gh.addJob({ run_id: run.id as number, name: 'test' });
	}
	const dep = gh.addDeployment({ repo: 'acme/all', environment: 'production' });
	gh.addDeploymentStatus({ deployment_id: dep.id as number, state: 'in_progress' });
	gh.addRelease({ repo: 'acme/all', tag_name: 'v1.0.0' });
	const repoId = Number((await truth(gh, TOKEN, 'acme/all')).repositories[0].id);

	const first = await sync('all', [...STREAMS], { mode: 'list', repositories: ['acme/all'] }, { perPage: 3 });
	expect(first.warnings).toEqual([]);
	expect(await differences(db.pool, first.connectorId, await truth(gh, TOKEN, 'acme/all'), repoId)).toEqual([]);

	gh.advance(60_000);
	gh.update('issue', Number((await truth(gh, TOKEN, 'acme/all')).issues[0].id), { state: 'closed' });
	gh.addRelease({ repo: 'acme/all', tag_name: 'v1.1.0' });
	gh.addDeploymentStatus({ deployment_id: dep.id as number, state: 'success' });
	gh.addCommit({ repo: 'acme/all', author: 'octo', message: 'hotfix' });
	gh.update('workflow', Number(wf.id), { state: 'disabled_manually' });
	const second = await sync('all', [...STREAMS], { mode: 'list', repositories: ['acme/all'] }, { perPage: 3 });
	expect(await differences(db.pool, second.connectorId, await truth(gh, TOKEN, 'acme/all'), repoId)).toEqual([]);
});

it('marks deleted (410) and transferred (301) issues deleted; a listing that skipped a live one marks nothing', async () => {
	gh.addRepo({ owner: 'acme', name: 'del' });
	gh.addRepo({ owner: 'acme', name: 'elsewhere' });
	for (let i = 0; i < 150; i++) {
		gh.advance(1000);
		if (i % 10 === 0) gh.addPull({ repo: 'acme/del', title: `pr ${i}` });
		else gh.addIssue({ repo: 'acme/del', title: `issue ${i}` });
	}
	const selection: Selection = { mode: 'list', repositories: ['acme/del'] };
	const first = await sync('del', ['issues', 'pull_requests'], selection);
	expect(first.deletes).toEqual([]);
	const issueId = async (n: number) => Number((await db.pool.query('select id from ipai_bronze_devops.github_issues where number = $1', [n])).rows[0].id);
	const deleted = await issueId(2);
	const transferred = await issueId(3);

	gh.deleteIssue('acme/del', 2);
	const moved = gh.transferIssue('acme/del', 3, 'acme/elsewhere');
	// While the scan pages, an issue of page 1 is deleted: the first issue of page 2 slides onto
	// page 1 and this listing misses it. Its confirmation answers 200, so it stays live.
	let deletedDuringScan = false;
	gh.onRequest((_req, info) => {
		if (!deletedDuringScan && info.path === '/repos/acme/del/issues' && info.query.sort === 'created' && info.query.page === '2') {
			deletedDuringScan = true;
			gh.deleteIssue('acme/del', 4);
		}
	});
	gh.advance(25 * 3_600_000);
	gh.resetRequests();
	const second = await sync('del', ['issues', 'pull_requests'], selection);
	const reasons = Object.fromEntries(second.deletes.map((d) => [d.number, d.reason]));
	expect(reasons).toEqual({ 2: 'deleted', 3: 'transferred' });
	expect(second.deletes.find((d) => d.number === 3)?.movedTo).toBe(`acme/elsewhere#${moved.number}`);
	const confirmedLive = gh.requests().filter((r) => /^\/repos\/acme\/del\/issues\/\d+$/.test(r.path) && r.status === 200);
	expect(confirmedLive.length).toBeGreaterThan(0);
	const deletedNumbers = async () =>
		(
			await db.pool.query(
				`select number from ipai_bronze_devops.github_issues where _ipai_connector_id = $1 and _ipai_deleted_at is not null order by number`,
				[first.connectorId],
			)
		).rows.map((r) => Number(r.number));
	expect(await deletedNumbers()).toEqual([2, 3]);
	expect(await live('github_issues', first.connectorId)).toHaveLength(135 - 2);
	expect(await live('github_pull_requests', first.connectorId)).toHaveLength(15);
	expect([deleted, transferred]).toEqual([await issueId(2), await issueId(3)]);
	const { rows: run } = await db.pool.query('select metadata from ipai_connector_run where id = $1', [second.runId]);
	expect(run[0].metadata.github.deletes).toHaveLength(2);

	// #4, deleted while that scan was listing, is found by the next one.
	gh.advance(25 * 3_600_000);
	const fourth = await sync('del', ['issues', 'pull_requests'], selection);
	expect(fourth.deletes.map((d) => [d.number, d.reason])).toEqual([[4, 'deleted']]);
	expect(await deletedNumbers()).toEqual([2, 3, 4]);

	// Not due again for 24 hours: the next sync spends nothing on it.
	gh.resetRequests();
	const third = await sync('del', ['issues', 'pull_requests'], selection);
	expect(third.deletes).toEqual([]);
	expect(gh.requests().filter((r) => r.query.sort === 'created')).toEqual([]);
});

it('an unchanged incremental issues read sends If-None-Match and is answered 304 (not counted)', async () => {
	gh.addRepo({ owner: 'acme', name: 'etag' });
	for (let i = 0; i < 250; i++) {
		gh.advance(1000);
		gh.addIssue({ repo: 'acme/etag', title: `issue ${i}` });
	}
	const selection: Selection = { mode: 'list', repositories: ['acme/etag'] };
	const options = { perPage: 100, deleteScanHours: -1 };
	await sync('etag', ['issues'], selection, options);
	gh.advance(1000);
	gh.update('issue', Number((await truth(gh, TOKEN, 'acme/etag')).issues[5].id), { title: 'changed' });
	const second = await sync('etag', ['issues'], selection, options);
	expect(second.rowsWritten).toBe(1);
	gh.resetRequests();
	const third = await sync('etag', ['issues'], selection, options);
	const issueRequests = gh.requests().filter((r) => r.path === '/repos/acme/etag/issues');
	expect(issueRequests.map((r) => [r.status, r.counted])).toEqual([[304, false]]);
	expect(third.rowsWritten).toBe(0);
});

it('a run that skipped a repository succeeds with metadata.warnings', async () => {
	gh.addRepo({ owner: 'acme', name: 'ok' });
	gh.addIssue({ repo: 'acme/ok', title: 'fine' });
	const result = await sync('warn', ['issues'], { mode: 'list', repositories: ['acme/ok', 'acme/missing'] });
	expect(result.warnings).toHaveLength(1);
	expect(result.warnings[0]).toMatch(/^acme\/missing: repository skipped \(HTTP 404\)/);
	const { rows } = await db.pool.query('select status, metadata from ipai_connector_run where id = $1', [result.runId]);
	expect(rows[0].status).toBe('success');
	expect(rows[0].metadata.warnings).toEqual(result.warnings);
	expect(await live('github_issues', result.connectorId)).toHaveLength(1);
});
