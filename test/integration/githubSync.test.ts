/**
 * Issue 6 acceptance against a real PostgreSQL and the GitHub simulator over real HTTP:
 * initial sync → changes in GitHub → incremental sync gives bronze equal to GitHub's state;
 * a sync that hits the primary limit waits for the reset and completes; secondary limits, 5xx
 * bursts, gone and forbidden repositories; 304s for unchanged data; requests per record.
 */
import { generateKeyPairSync } from 'node:crypto';
import { finishRun, startRun } from '../../lib/lakehouse/runs';
import { getStreamState } from '../../lib/lakehouse/streamState';
import { GitHubClient, RateLimitExceededError } from '../../lib/sources/github/client';
import { STREAMS, STREAM_SPECS } from '../../lib/sources/github/streams';
import { readGitHubRecords } from '../../lib/sources/github/emit';
import { syncGitHub, type GitHubSyncResult } from '../../lib/sources/github/sync';
import { useScratchDatabase } from '../../tooling/helpers/database';
import { GitHubSimulator } from '../../tooling/simulators/github/server';

jest.setTimeout(120_000);

const db = useScratchDatabase();
let sim: GitHubSimulator;
const TOKEN = 'ghp_simulated_token';

beforeEach(async () => {
	sim = new GitHubSimulator();
	await sim.start();
});
afterEach(async () => {
	await sim.stop();
});

function client(options: Partial<ConstructorParameters<typeof GitHubClient>[0]> = {}): GitHubClient {
	return new GitHubClient({ auth: { type: 'token', token: TOKEN }, baseUrl: sim.url, retryBaseMs: 100, ...options });
}

async function sync(name: string, streams: string[], selection: Parameters<typeof syncGitHub>[2]['selection'], c = client()): Promise<GitHubSyncResult & { runId: string; connectorId: string }> {
	const started = await startRun(db.pool, { connector: { connectorType: 'github', name } });
	if (started.status !== 'running') throw new Error('run not started');
	const result = await syncGitHub(db.pool, c, { connectorId: started.connectorId, runId: started.runId, selection, streams, perPage: 5 });
	await finishRun(db.pool, started.runId);
	return { ...result, runId: started.runId, connectorId: started.connectorId };
}

/** Seeds a repository with some of everything; returns its name. */
function seed(fullName: string, size = 12): string {
	sim.addRepo(fullName);
	sim.addWorkflow(fullName, 'CI');
	for (let i = 0; i < size; i++) {
		sim.addIssue(fullName, { title: `bug ${i}` });
		if (i % 2 === 0) sim.addPull(fullName, { title: `fix ${i}` });
		sim.addCommit(fullName, `commit ${i}`);
		sim.addRun(fullName);
	}
	sim.addReview(fullName, 2);
	const d = sim.addDeployment(fullName);
	sim.addDeploymentStatus(fullName, d.id as number, 'in_progress');
	sim.addRelease(fullName, 'v1.0.0');
	return fullName;
}

/** Bronze rows of one stream and repository, as GitHub objects (the loader's _ipai_raw). */
async function bronze(stream: string, repoId: number, connectorId: string): Promise<Array<Record<string, unknown>>> {
	const { rows } = await db.pool.query(
		`select _ipai_raw from ipai_bronze_devops.${STREAM_SPECS[stream as keyof typeof STREAM_SPECS].table}
		  where _ipai_connector_id = $1 and repository_id = $2 and _ipai_deleted_at is null`,
		[connectorId, repoId],
	);
	return rows.map((r) => r._ipai_raw);
}

/** Bronze equals the simulator's state: same keys, and every GitHub field equal. */
async function expectBronzeEqualsGitHub(fullName: string, connectorId: string): Promise<void> {
	const repoId = sim.repos.get(fullName)!.id;
	const state = sim.state(fullName);
	for (const [stream, objects] of Object.entries(state)) {
		const key = stream === 'commits' ? 'sha' : 'id';
		const rows = await bronze(stream, repoId, connectorId);
		const byKey = new Map(rows.map((r) => [String(r[key]), r]));
		expect({ stream, keys: [...byKey.keys()].sort() }).toEqual({ stream, keys: objects.map((o) => String(o[key])).sort() });
		for (const object of objects) {
			const row = byKey.get(String(object[key]))!;
			for (const [field, value] of Object.entries(object)) expect({ stream, field, value: row[field] }).toEqual({ stream, field, value });
		}
	}
}

it('initial sync, then changes, then an incremental sync: bronze equals GitHub, and unchanged data costs 304s', async () => {
	const a = seed('acme/api');
	const b = seed('acme/web', 4);
	const first = await sync('acme', [...STREAMS], { mode: 'owner', owner: 'acme' });
	expect(first.skipped).toEqual([]);
	expect(first.repositories.sort()).toEqual([a, b]);
	await expectBronzeEqualsGitHub(a, first.connectorId);
	await expectBronzeEqualsGitHub(b, first.connectorId);

	// Changes of every kind: edits (which move items across pages), new items, re-runs, statuses.
	const pulls = sim.state(a).pull_requests;
	sim.updateIssue(a, 1, { state: 'closed', title: 'bug 0 (fixed)' });
	sim.updateIssue(a, pulls[1].number as number, { state: 'closed', merged_at: sim.tick() });
	sim.addReview(a, pulls[2].number as number, { state: 'CHANGES_REQUESTED' });
	sim.addIssue(a, { title: 'new issue' });
	sim.addPull(a, { title: 'new pr' });
	sim.addCommit(a, 'hotfix');
	const run = sim.state(a).workflow_runs[3];
	sim.rerun(a, run.id as number, 'failure');
	sim.addRun(a, { conclusion: 'failure' });
	const deployment = sim.state(a).deployments[0];
	sim.addDeploymentStatus(a, deployment.id as number, 'success');
	sim.addRelease(a, 'v1.1.0');

	const second = await sync('acme', [...STREAMS], { mode: 'owner', owner: 'acme' });
	await expectBronzeEqualsGitHub(a, second.connectorId);
	await expectBronzeEqualsGitHub(b, second.connectorId);
	expect(second.requests).toBeLessThan(first.requests);
	expect(second.notModified).toBeGreaterThan(0); // acme/web did not change: its listings answer 304

	// Nothing changed: a third sync writes nothing, and most of its requests are free 304s.
	const third = await sync('acme', [...STREAMS], { mode: 'owner', owner: 'acme' });
	expect(third.rowsWritten).toBe(0);
	expect(third.notModified / third.requests).toBeGreaterThan(0.5);

	// Cursors are per repository and stream, and the run row carries the budget.
	const cursor = await getStreamState(db.pool, first.connectorId, `issues:${a}`);
	expect(typeof cursor.cursor).toBe('string');
	const { rows } = await db.pool.query('select metadata from ipai_connector_run where id = $1', [third.runId]);
	expect(rows[0].metadata.github).toMatchObject({ requests: third.requests, not_modified: third.notModified, rate_limit: { core: { limit: 5000 } } });
	expect(rows[0].metadata.github.rate_limit.core.remaining).toBeLessThan(5000);
	process.stdout.write(
		`github requests per record: initial ${first.requests}/${first.rowsRead} = ${first.requestsPerRecord}; ` +
			`incremental ${second.requests}/${second.rowsRead}; unchanged ${third.requests} requests (${third.notModified} × 304)\n`,
	);
});

it('issues keep pull requests apart, and an issue edited between two pages is not lost (keyset paging)', async () => {
	const repo = 'acme/keyset';
	sim.addRepo(repo);
	for (let i = 0; i < 11; i++) (i % 3 === 0 ? sim.addPull(repo) : sim.addIssue(repo));
	const first = await sync('keyset', ['issues', 'pull_requests'], { mode: 'list', repositories: [repo] });
	const issues = await bronze('issues', sim.repos.get(repo)!.id, first.connectorId);
	expect(issues.every((i) => !('pull_request' in i))).toBe(true);
	expect(issues).toHaveLength(sim.state(repo).issues.length);
	expect(await bronze('pull_requests', sim.repos.get(repo)!.id, first.connectorId)).toHaveLength(sim.state(repo).pull_requests.length);

	// Edit the oldest issue while a sync pages through: with offset paging the next page would
	// start one item later and skip one. Here the edit lands between the first and second page.
	for (let i = 0; i < 12; i++) sim.addIssue(repo);
	const c = client();
	const original = c.get.bind(c);
	let pagesServed = 0;
	c.get = (async (url: string, params?: Record<string, unknown>, etag?: string) => {
		const response = await original(url, params, etag);
		if (url.endsWith('/issues') && ++pagesServed === 1) sim.updateIssue(repo, 2, { title: 'edited mid-sync' });
		return response;
	}) as typeof c.get;
	const second = await sync('keyset', ['issues'], { mode: 'list', repositories: [repo] }, c);
	expect(second.skipped).toEqual([]);
	const after = await bronze('issues', sim.repos.get(repo)!.id, first.connectorId);
	expect(after.map((i) => i.id).sort()).toEqual(sim.state(repo).issues.map((i) => i.id).sort());
	expect(after.find((i) => i.number === 2)?.title).toBe('edited mid-sync');
});

it('waits for the primary limit to reset (403 and 429) and completes; honours a secondary limit\'s retry-after; retries 5xx', async () => {
	seed('acme/limits', 6);
	sim.exhaustPrimary(2, 403);
	const c = client();
	const result = await sync('limits', ['issues', 'pull_requests'], { mode: 'list', repositories: ['acme/limits'] }, c);
	expect(result.waits[0]).toMatchObject({ kind: 'primary', status: 403 });
	expect(result.waits[0].seconds).toBeGreaterThanOrEqual(1);
	await expectBronzeEqualsGitHubFor('acme/limits', result.connectorId, ['issues', 'pull_requests']);

	sim.addIssue('acme/limits');
	sim.exhaustPrimary(2, 429);
	const again = await sync('limits', ['issues', 'pull_requests'], { mode: 'list', repositories: ['acme/limits'] }, client());
	expect(again.waits).toEqual([expect.objectContaining({ kind: 'primary', status: 429 })]);
	await expectBronzeEqualsGitHubFor('acme/limits', again.connectorId, ['issues', 'pull_requests']);

	sim.addPull('acme/limits');
	sim.secondaryLimit(1, 1, 403);
	sim.serverErrors(2, 502);
	const third = await sync('limits', ['issues', 'pull_requests'], { mode: 'list', repositories: ['acme/limits'] }, client());
	expect(third.waits).toEqual([expect.objectContaining({ kind: 'secondary', seconds: 1, status: 403 })]);
	expect(sim.countRequests((r) => r.status === 502)).toBe(2);
	await expectBronzeEqualsGitHubFor('acme/limits', third.connectorId, ['issues', 'pull_requests']);
});

async function expectBronzeEqualsGitHubFor(fullName: string, connectorId: string, streams: string[]): Promise<void> {
	const repoId = sim.repos.get(fullName)!.id;
	for (const stream of streams) {
		const rows = await bronze(stream, repoId, connectorId);
		const objects = sim.state(fullName)[stream];
		expect([stream, rows.map((r) => `${r.id}@${r.updated_at}`).sort()]).toEqual([stream, objects.map((o) => `${o.id}@${o.updated_at}`).sort()]);
	}
}

it('stops with an actionable error when the reset is further away than it may wait, keeping its checkpoints', async () => {
	seed('acme/far', 3);
	sim.exhaustPrimary(3600, 403);
	const started = await startRun(db.pool, { connector: { connectorType: 'github', name: 'far' } });
	if (started.status !== 'running') throw new Error('no run');
	const error = await syncGitHub(db.pool, client({ maxWaitSeconds: 5 }), {
		connectorId: started.connectorId, runId: started.runId, selection: { mode: 'list', repositories: ['acme/far'] }, streams: ['issues'],
	}).catch((e: unknown) => e);
	expect(error).toBeInstanceOf(RateLimitExceededError);
	expect((error as Error).message).toMatch(/rate limit.*resets in \d+ s, longer than the 5 s this sync may wait.*Run the sync again after \d{4}-/);
	expect((error as Error).message).not.toContain(TOKEN);
});

it('reports and skips a repository that is gone or forbidden; the others sync', async () => {
	seed('acme/alive', 3);
	seed('acme/deleted', 3);
	seed('acme/blocked', 3);
	seed('acme/secret', 3);
	const first = await sync('gone', ['issues', 'releases'], { mode: 'list', repositories: ['acme/alive', 'acme/deleted', 'acme/blocked', 'acme/secret'] });
	expect(first.skipped).toEqual([]);
	sim.makeUnavailable('acme/deleted', 404);
	sim.makeUnavailable('acme/blocked', 410);
	sim.makeUnavailable('acme/secret', 403);
	sim.addIssue('acme/alive', { title: 'still here' });
	const second = await sync('gone', ['issues', 'releases'], { mode: 'list', repositories: ['acme/alive', 'acme/deleted', 'acme/blocked', 'acme/secret'] });
	expect(second.skipped.map((s) => [s.repository, s.status]).sort()).toEqual([['acme/blocked', 410], ['acme/deleted', 404], ['acme/secret', 403]]);
	expect(second.skipped[0].reason).toMatch(/GitHub answered 4\d\d to GET \/repos\/acme\//);
	await expectBronzeEqualsGitHubFor('acme/alive', second.connectorId, ['issues']);
	const { rows } = await db.pool.query('select metadata from ipai_connector_run where id = $1', [second.runId]);
	expect(rows[0].metadata.github.skipped).toHaveLength(3);
});

it('pages workflow runs by created windows under the 1,000-result cap', async () => {
	const repo = 'acme/busy';
	sim.addRepo(repo, { createdAt: new Date(Date.now() - 39 * 86_400_000).toISOString() });
	for (let i = 0; i < 1150; i++) sim.addRun(repo);
	const c = client();
	const started = await startRun(db.pool, { connector: { connectorType: 'github', name: 'busy' } });
	if (started.status !== 'running') throw new Error('no run');
	const result = await syncGitHub(db.pool, c, {
		connectorId: started.connectorId, runId: started.runId, selection: { mode: 'list', repositories: [repo] }, streams: ['workflow_runs'],
		runsWindowDays: 400, runsReReadDays: 1,
	});
	const rows = await bronze('workflow_runs', sim.repos.get(repo)!.id, started.connectorId);
	expect(rows).toHaveLength(1150);
	expect(result.rowsRead).toBeGreaterThanOrEqual(1150);
	// At least one window was halved because it held ≥ 1,000 runs.
	expect(sim.log.filter((r) => r.path.includes('/actions/runs?created')).length).toBeGreaterThan(2);
});

it('authenticates as a GitHub App installation (JWT → installation token)', async () => {
	const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
	sim.registerApp('4242', publicKey.export({ type: 'spki', format: 'pem' }).toString(), '99', 'acme');
	seed('acme/app', 2);
	const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
	const c = new GitHubClient({ auth: { type: 'app', appId: '4242', privateKey: pem.replace(/\n/g, '\\n'), installationId: '99' }, baseUrl: sim.url });
	const read = await readGitHubRecords(c, { selection: { mode: 'authenticated' }, streams: ['repositories', 'issues'], limit: 50 });
	expect(read.records.filter((r) => r.stream === 'repositories').map((r) => r.repository)).toEqual(['acme/app']);
	expect(read.records.filter((r) => r.stream === 'issues')).toHaveLength(2);
	expect(await c.whoAmI({ type: 'app', appId: '4242', privateKey: pem, installationId: '99' })).toMatchObject({ kind: 'app installation' });
});
