// Self-tests: raw fetch requests checking the documented behaviour the stand-in promises (README.md).
import { GitHubStandin, startGitHubStandin } from '../../../tooling/standins/github/server';

let gh: GitHubStandin;
const TOKEN = 'ghp_alice';

async function get(path: string, init: { token?: string | null; headers?: Record<string, string>; redirect?: 'follow' | 'manual' | 'error' } = {}) {
  const headers: Record<string, string> = { accept: 'application/vnd.github+json', ...(init.headers ?? {}) };
  const tok = init.token === undefined ? TOKEN : init.token;
  if (tok) headers.authorization = `Bearer ${tok}`;
  const res = await fetch(`${gh.url}${path}`, { headers, redirect: init.redirect ?? 'manual' });
  const text = await res.text();
  return { res, status: res.status, body: text ? JSON.parse(text) : undefined, h: (n: string) => res.headers.get(n) };
}

function links(header: string | null): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of (header ?? '').split(',')) {
    const m = part.match(/<([^>]+)>;\s*rel="([^"]+)"/);
    if (m) out[m[2]!] = m[1]!;
  }
  return out;
}

/** Follows rel="next" exactly as a client should, returning every item. */
async function collect(path: string): Promise<any[]> {
  const items: any[] = [];
  let url: string | undefined = `${gh.url}${path}`;
  while (url) {
    const r = await get(url.slice(gh.url.length));
    expect(r.status).toBe(200);
    items.push(...(Array.isArray(r.body) ? r.body : r.body.workflow_runs ?? r.body.jobs));
    url = links(r.h('link')).next;
  }
  return items;
}

beforeEach(async () => {
  gh = await startGitHubStandin({ startTime: '2024-03-01T00:00:00Z' });
  gh.addUser({ login: 'alice' });
  gh.addToken({ token: TOKEN, user: 'alice', repos: ['acme/secret'] });
  gh.addToken({ token: 'ghp_bob', user: 'bob' });
  gh.addRepo({ owner: 'acme', name: 'widgets', ownerType: 'Organization' });
  gh.addRepo({ owner: 'acme', name: 'secret', private: true });
  gh.addRepo({ owner: 'acme', name: 'locked' });
  gh.addToken({ token: 'ghp_carol', user: 'carol', forbidden: ['acme/locked'] });
});
afterEach(async () => { await gh.close(); });

describe('auth, visibility and headers', () => {
  test('bad token is 401 "Bad credentials"; /user needs auth; /user returns the token user', async () => {
    const bad = await get('/repos/acme/widgets', { token: 'nope' });
    expect(bad.status).toBe(401);
    expect(bad.body.message).toBe('Bad credentials');
    expect((await get('/user', { token: null })).status).toBe(401);
    const me = await get('/user');
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({ login: 'alice', type: 'User' });
    expect(typeof me.body.id).toBe('number');
    expect(me.h('x-github-request-id')).toBeTruthy();
    expect(me.h('x-ratelimit-resource')).toBe('core');
  });

  test('private repo: 404 when invisible, 200 when granted; forbidden repo 403 with message', async () => {
    expect((await get('/repos/acme/secret', { token: 'ghp_bob' })).status).toBe(404);
    expect((await get('/repos/acme/secret', { token: null })).status).toBe(404);
    const ok = await get('/repos/acme/secret');
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ full_name: 'acme/secret', private: true, visibility: 'private', default_branch: 'main' });
    const forbidden = await get('/repos/acme/locked/issues', { token: 'ghp_carol' });
    expect(forbidden.status).toBe(403);
    expect(forbidden.body.message).toBe('Resource not accessible by personal access token');
    expect((await get('/repos/acme/nope')).status).toBe(404);
    expect((await get('/repos/ACME/Widgets')).status).toBe(200); // names are case-insensitive
  });

  test('repo listings: /orgs, /users, /user/repos', async () => {
    const org = await get('/orgs/acme/repos');
    expect(org.body.map((r: any) => r.name).sort()).toEqual(['locked', 'secret', 'widgets']);
    const orgBob = await get('/orgs/acme/repos', { token: 'ghp_bob' });
    expect(orgBob.body.map((r: any) => r.name).sort()).toEqual(['locked', 'widgets']);
    const users = await get('/users/acme/repos');
    expect(users.body.map((r: any) => r.name)).toEqual(['locked', 'widgets']); // public only, full_name asc
    gh.addRepo({ owner: 'alice', name: 'mine' });
    const mine = await get('/user/repos');
    expect(mine.body.map((r: any) => r.full_name)).toEqual(['acme/secret', 'alice/mine']);
    expect((await get('/orgs/alice/repos')).status).toBe(404);
    expect((await get('/users/nobody')).status).toBe(404);
  });
});

describe('issues', () => {
  beforeEach(() => {
    for (let n = 1; n <= 7; n++) {
      gh.addIssue({ repo: 'acme/widgets', title: `i${n}`, created_at: `2024-01-0${n}T00:00:00Z`, labels: n % 2 ? ['bug'] : [] });
    }
    gh.addPull({ repo: 'acme/widgets', title: 'pr8', created_at: '2024-01-08T00:00:00Z' });
  });

  test('Link header pagination walks every item exactly once; rel prev/first on later pages', async () => {
    const p1 = await get('/repos/acme/widgets/issues?per_page=3&state=all');
    const l1 = links(p1.h('link'));
    expect(Object.keys(l1).sort()).toEqual(['last', 'next']);
    expect(l1.last).toContain('page=3');
    const p2 = await get(l1.next!.slice(gh.url.length));
    expect(Object.keys(links(p2.h('link'))).sort()).toEqual(['first', 'last', 'next', 'prev']);
    const p3 = await get(links(p2.h('link')).next!.slice(gh.url.length));
    expect(Object.keys(links(p3.h('link'))).sort()).toEqual(['first', 'prev']);
    const all = await collect('/repos/acme/widgets/issues?per_page=3&state=all');
    expect(all.map((i) => i.number)).toEqual([8, 7, 6, 5, 4, 3, 2, 1]); // created desc by default
    const single = await get('/repos/acme/widgets/issues?per_page=100');
    expect(single.h('link')).toBeNull(); // "omitted ... if all results fit on a single page"
  });

  test('pull requests appear in issues with a pull_request key; fields a loader needs are present', async () => {
    const all = (await get('/repos/acme/widgets/issues?state=all')).body;
    const pr = all.find((i: any) => i.number === 8);
    expect(pr.pull_request).toMatchObject({ merged_at: null });
    expect(pr.pull_request.url).toMatch(/\/pulls\/8$/);
    const issue = all.find((i: any) => i.number === 1);
    expect(issue.pull_request).toBeUndefined();
    for (const k of ['id', 'node_id', 'number', 'title', 'state', 'user', 'labels', 'created_at', 'updated_at', 'closed_at']) expect(issue).toHaveProperty(k);
    expect(issue.labels[0]).toMatchObject({ name: 'bug' });
    expect(issue.created_at).toBe('2024-01-01T00:00:00Z');
  });

  test('since keeps issues updated at or after; sort=updated&direction=asc; filters; 422 on bad values', async () => {
    gh.advance(60_000);
    const upd = gh.update('issue', (await get('/repos/acme/widgets/issues/2')).body.id, { title: 'edited' }) as any;
    expect(upd.updated_at).toBe('2024-03-01T00:01:00Z');
    const since = await get(`/repos/acme/widgets/issues?since=2024-01-05T00:00:00Z&sort=updated&direction=asc`);
    expect(since.body.map((i: any) => i.number)).toEqual([5, 6, 7, 8, 2]);
    const bug = await get('/repos/acme/widgets/issues?labels=bug');
    expect(bug.body.map((i: any) => i.number)).toEqual([7, 5, 3, 1]);
    gh.update('issue', (await get('/repos/acme/widgets/issues/3')).body.id, { state: 'closed' });
    expect((await get('/repos/acme/widgets/issues')).body.map((i: any) => i.number)).not.toContain(3);
    const closed = await get('/repos/acme/widgets/issues?state=closed');
    expect(closed.body.map((i: any) => i.number)).toEqual([3]);
    expect(closed.body[0].closed_at).toBe('2024-03-01T00:01:00Z');
    for (const bad of ['state=weird', 'sort=size', 'direction=up', 'since=yesterday', 'per_page=abc', 'page=0']) {
      const r = await get(`/repos/acme/widgets/issues?${bad}`);
      expect(r.status).toBe(422);
      expect(r.body.message).toBe('Validation Failed');
      expect(r.body.errors[0].code).toBe('invalid');
    }
    const clamp = await get('/repos/acme/widgets/issues?per_page=1000&state=all');
    expect(clamp.status).toBe(200);
  });

  test('deleted issue: 410 and gone from lists; transferred issue: 301 with Location', async () => {
    gh.deleteIssue('acme/widgets', 2);
    const gone = await get('/repos/acme/widgets/issues/2');
    expect(gone.status).toBe(410);
    expect((await get('/repos/acme/widgets/issues?state=all')).body.map((i: any) => i.number)).not.toContain(2);
    gh.addRepo({ owner: 'acme', name: 'other' });
    const moved = gh.transferIssue('acme/widgets', 3, 'acme/other') as any;
    const r = await get('/repos/acme/widgets/issues/3');
    expect(r.status).toBe(301);
    expect(r.h('location')).toBe(`${gh.url}/repos/acme/other/issues/${moved.number}`);
    const followed = await get(r.h('location')!.slice(gh.url.length));
    expect(followed.body.title).toBe('i3');
    expect((await get('/repos/acme/widgets/issues/99')).status).toBe(404);
  });
});

describe('pulls and reviews', () => {
  beforeEach(() => {
    for (let n = 1; n <= 5; n++) gh.addPull({ repo: 'acme/widgets', title: `p${n}`, created_at: `2024-02-0${n}T00:00:00Z`, comments: 5 - n });
  });

  test('default order is created desc; sort=updated defaults to asc; popularity; head/base shapes', async () => {
    expect((await get('/repos/acme/widgets/pulls')).body.map((p: any) => p.number)).toEqual([5, 4, 3, 2, 1]);
    expect((await get('/repos/acme/widgets/pulls?sort=updated')).body.map((p: any) => p.number)).toEqual([1, 2, 3, 4, 5]);
    expect((await get('/repos/acme/widgets/pulls?sort=popularity&direction=desc')).body.map((p: any) => p.number)).toEqual([1, 2, 3, 4, 5]);
    const one = await get('/repos/acme/widgets/pulls/2');
    expect(one.body).toMatchObject({ number: 2, state: 'open', merged: false, merged_at: null, base: { ref: 'main' } });
    expect(one.body.head.sha).toMatch(/^[0-9a-f]{40}$/);
    expect(one.body.head.repo.full_name).toBe('acme/widgets');
    expect((await get('/repos/acme/widgets/pulls?sort=bogus')).status).toBe(422);
  });

  test('onRequest hook can edit PR between pages (moves it under sort=updated asc)', async () => {
    const pr1 = (await get('/repos/acme/widgets/pulls/1')).body;
    gh.resetRequests();
    gh.onRequest((_req, info) => {
      if (info.path.endsWith('/pulls') && info.query.page === '2') {
        gh.advance(1000);
        gh.update('pull', pr1.id, { title: 'edited', merged_at: gh.now() });
      }
    });
    const seen = await collect('/repos/acme/widgets/pulls?state=all&sort=updated&direction=asc&per_page=2');
    // page1 = [1,2]; then #1 becomes newest: order [2,3,4,5,1] so page2 = [4,5], page3 = [1]; #3 is skipped.
    expect(seen.map((p) => p.number)).toEqual([1, 2, 4, 5, 1]);
    expect(seen[4].merged_at).not.toBeNull();
    expect(seen[4].state).toBe('closed');
    expect(gh.requests().map((r) => r.query.page ?? '1')).toEqual(['1', '2', '3']);
  });

  test('reviews list chronologically; 404 for a missing PR', async () => {
    gh.addReview({ repo: 'acme/widgets', pull: 2, user: 'bob', state: 'APPROVED' });
    gh.addReview({ repo: 'acme/widgets', pull: 2, user: 'alice', state: 'CHANGES_REQUESTED' });
    const r = await get('/repos/acme/widgets/pulls/2/reviews');
    expect(r.body.map((x: any) => [x.user.login, x.state])).toEqual([['bob', 'APPROVED'], ['alice', 'CHANGES_REQUESTED']]);
    expect(r.body[0]).toHaveProperty('submitted_at');
    expect(r.body[0]).toHaveProperty('commit_id');
    expect((await get('/repos/acme/widgets/pulls/77/reviews')).status).toBe(404);
  });
});

describe('conditional requests and rate limits', () => {
  test('weak ETag; If-None-Match -> 304 not counted when authorized; ETag changes with content', async () => {
    gh.addIssue({ repo: 'acme/widgets', title: 'x' });
    const first = await get('/repos/acme/widgets/issues');
    const etag = first.h('etag')!;
    expect(etag).toMatch(/^W\/"[0-9a-f]+"$/);
    const before = Number(first.h('x-ratelimit-remaining'));
    const cond = await get('/repos/acme/widgets/issues', { headers: { 'if-none-match': etag } });
    expect(cond.status).toBe(304);
    expect(Number(cond.h('x-ratelimit-remaining'))).toBe(before);
    expect(gh.requests().at(-1)).toMatchObject({ status: 304, counted: false });
    gh.advance(1000);
    gh.update('issue', first.body[0].id, { title: 'y' });
    const changed = await get('/repos/acme/widgets/issues', { headers: { 'if-none-match': etag } });
    expect(changed.status).toBe(200);
    expect(changed.h('etag')).not.toBe(etag);
    expect(Number(changed.h('x-ratelimit-remaining'))).toBe(before - 1);
    // unauthenticated 304s still count
    const anon = await get('/repos/acme/widgets', { token: null });
    const anon304 = await get('/repos/acme/widgets', { token: null, headers: { 'if-none-match': anon.h('etag')! } });
    expect(anon304.status).toBe(304);
    expect(Number(anon304.h('x-ratelimit-remaining'))).toBe(Number(anon.h('x-ratelimit-remaining')) - 1);
    expect(anon.h('x-ratelimit-limit')).toBe('60');
  });

  test('primary limit: headers, free /rate_limit, 403 with remaining 0 until reset', async () => {
    const a = await get('/repos/acme/widgets');
    expect(a.h('x-ratelimit-limit')).toBe('5000');
    expect(a.h('x-ratelimit-remaining')).toBe('4999');
    expect(a.h('x-ratelimit-used')).toBe('1');
    const rl = await get('/rate_limit');
    expect(rl.body.resources.core).toMatchObject({ limit: 5000, remaining: 4999, used: 1 });
    expect(rl.body.rate.remaining).toBe(4999);
    const reset = Math.floor(gh.now().getTime() / 1000) + 120;
    gh.setRateLimit({ remaining: 0, reset });
    const limited = await get('/repos/acme/widgets');
    expect(limited.status).toBe(403);
    expect(limited.h('x-ratelimit-remaining')).toBe('0');
    expect(limited.h('x-ratelimit-reset')).toBe(String(reset));
    expect(limited.body.message).toMatch(/^API rate limit exceeded for user ID \d+\./);
    expect(gh.requests().at(-1)).toMatchObject({ status: 403, counted: false });
    gh.advance(121_000);
    const after = await get('/repos/acme/widgets');
    expect(after.status).toBe(200);
    expect(after.h('x-ratelimit-remaining')).toBe('4999');
    // buckets are per user: bob is unaffected by alice's limit
    gh.setRateLimit({ user: 'alice', remaining: 0 });
    expect((await get('/repos/acme/widgets', { token: 'ghp_bob' })).status).toBe(200);
  });

  test('429 variant of the primary limit', async () => {
    await gh.close();
    gh = await startGitHubStandin({ primaryLimitStatus: 429 });
    gh.addToken({ token: TOKEN, user: 'alice' });
    gh.addRepo({ owner: 'acme', name: 'widgets' });
    gh.setRateLimit({ remaining: 0 });
    const r = await get('/repos/acme/widgets');
    expect(r.status).toBe(429);
    expect(r.h('x-ratelimit-remaining')).toBe('0');
  });

  test('secondary limit: 403 + retry-after + message, then normal; failNext', async () => {
    gh.secondaryLimitNext(2, 7);
    for (let k = 0; k < 2; k++) {
      const r = await get('/repos/acme/widgets');
      expect(r.status).toBe(403);
      expect(r.h('retry-after')).toBe('7');
      expect(r.body.message).toMatch(/secondary rate limit/);
      expect(Number(r.h('x-ratelimit-remaining'))).toBeGreaterThan(0);
    }
    expect((await get('/repos/acme/widgets')).status).toBe(200);
    gh.secondaryLimitNext(1, undefined, 429);
    const noRetry = await get('/repos/acme/widgets');
    expect(noRetry.status).toBe(429);
    expect(noRetry.h('retry-after')).toBeNull();
    gh.failNext(502);
    expect((await get('/repos/acme/widgets')).status).toBe(502);
    expect((await get('/repos/acme/widgets')).status).toBe(200);
    const log = gh.requests();
    expect(log.map((e) => e.status)).toEqual([403, 403, 200, 429, 502, 200]);
    expect(log.map((e) => e.index)).toEqual([0, 1, 2, 3, 4, 5]);
  });
});

describe('commits, actions, deployments, releases', () => {
  test('commits: 409 when empty; branch via sha; since/until inclusive on committer date; 404 unknown sha', async () => {
    expect((await get('/repos/acme/widgets/commits')).status).toBe(409);
    const c1 = gh.addCommit({ repo: 'acme/widgets', author: 'alice', date: '2024-01-01T00:00:00Z', message: 'one' }) as any;
    gh.addCommit({ repo: 'acme/widgets', date: '2024-01-02T00:00:00Z', message: 'two' });
    gh.addCommit({ repo: 'acme/widgets', date: '2024-01-03T00:00:00Z', message: 'three' });
    gh.addCommit({ repo: 'acme/widgets', date: '2024-01-04T00:00:00Z', message: 'dev', branches: ['dev'], parents: [c1.sha] });
    const main = await get('/repos/acme/widgets/commits');
    expect(main.body.map((c: any) => c.commit.message)).toEqual(['three', 'two', 'one']);
    expect(main.body[2]).toMatchObject({ sha: c1.sha, author: { login: 'alice' }, commit: { author: { date: '2024-01-01T00:00:00Z' } } });
    expect(main.body[1].parents[0].sha).toBe(c1.sha);
    const dev = await get('/repos/acme/widgets/commits?sha=dev');
    expect(dev.body.map((c: any) => c.commit.message)).toEqual(['dev']);
    const window = await get('/repos/acme/widgets/commits?since=2024-01-02T00:00:00Z&until=2024-01-03T00:00:00Z');
    expect(window.body.map((c: any) => c.commit.message)).toEqual(['three', 'two']);
    expect((await get('/repos/acme/widgets/commits?sha=deadbeef00')).status).toBe(404);
  });

  test('runs: created qualifiers, status, {total_count, workflow_runs}; jobs filter', async () => {
    const wf = gh.addWorkflow({ repo: 'acme/widgets', name: 'CI', path: '.github/workflows/ci.yml' }) as any;
    const days = ['2024-02-01T10:00:00Z', '2024-02-02T10:00:00Z', '2024-02-03T10:00:00Z', '2024-02-04T10:00:00Z'];
    const runs = days.map((d, k) => gh.addRun({ repo: 'acme/widgets', workflow_id: wf.id, created_at: d, status: k === 3 ? 'in_progress' : 'completed', conclusion: k === 0 ? 'failure' : undefined }) as any);
    const wfs = await get('/repos/acme/widgets/actions/workflows');
    expect(wfs.body).toMatchObject({ total_count: 1, workflows: [{ id: wf.id, name: 'CI', path: '.github/workflows/ci.yml', state: 'active' }] });
    const q = async (s: string) => (await get(`/repos/acme/widgets/actions/runs?${s}`)).body;
    const all = await q('');
    expect(all.total_count).toBe(4);
    expect(all.workflow_runs.map((r: any) => r.id)).toEqual(runs.map((r) => r.id).reverse());
    const ids = async (s: string) => (await q(s)).workflow_runs.map((r: any) => r.created_at.slice(0, 10));
    expect(await ids('created=' + encodeURIComponent('>=2024-02-03'))).toEqual(['2024-02-04', '2024-02-03']);
    expect(await ids('created=' + encodeURIComponent('<=2024-02-02'))).toEqual(['2024-02-02', '2024-02-01']);
    expect(await ids('created=2024-02-02..2024-02-03')).toEqual(['2024-02-03', '2024-02-02']);
    expect(await ids('created=2024-02-02T10:00:00Z..2024-02-02T10:00:00Z')).toEqual(['2024-02-02']);
    expect(await ids('created=*..2024-02-01')).toEqual(['2024-02-01']);
    expect(await ids('status=in_progress')).toEqual(['2024-02-04']);
    expect(await ids('status=failure')).toEqual(['2024-02-01']);
    expect((await get('/repos/acme/widgets/actions/runs?created=soon')).status).toBe(422);
    const paged = await get('/repos/acme/widgets/actions/runs?per_page=1');
    expect(paged.body.total_count).toBe(4);
    expect(links(paged.h('link')).last).toContain('page=4');
    expect(paged.body.workflow_runs[0]).toMatchObject({ workflow_id: wf.id, run_number: 4, run_attempt: 1, event: 'push', head_branch: 'main' });

    gh.addJob({ run_id: runs[0].id, name: 'build', run_attempt: 1 });
    gh.update('run', runs[0].id, { run_attempt: 2 });
    gh.addJob({ run_id: runs[0].id, name: 'build', run_attempt: 2, conclusion: 'success' });
    const latest = await get(`/repos/acme/widgets/actions/runs/${runs[0].id}/jobs`);
    expect(latest.body.total_count).toBe(1);
    expect(latest.body.jobs[0]).toMatchObject({ run_id: runs[0].id, run_attempt: 2, status: 'completed', conclusion: 'success' });
    const every = await get(`/repos/acme/widgets/actions/runs/${runs[0].id}/jobs?filter=all`);
    expect(every.body.total_count).toBe(2);
    expect((await get('/repos/acme/widgets/actions/runs/1/jobs')).status).toBe(404);
  });

  test('deployments, statuses and releases: newest first, documented fields', async () => {
    const d1 = gh.addDeployment({ repo: 'acme/widgets', created_at: '2024-01-01T00:00:00Z', environment: 'staging' }) as any;
    const d2 = gh.addDeployment({ repo: 'acme/widgets', created_at: '2024-01-02T00:00:00Z' }) as any;
    gh.addDeploymentStatus({ deployment_id: d2.id, state: 'in_progress', created_at: '2024-01-02T00:01:00Z' });
    gh.addDeploymentStatus({ deployment_id: d2.id, state: 'success', created_at: '2024-01-02T00:02:00Z' });
    const deps = await get('/repos/acme/widgets/deployments');
    expect(deps.body.map((d: any) => d.id)).toEqual([d2.id, d1.id]);
    expect(deps.body[0]).toMatchObject({ environment: 'production', ref: 'main', task: 'deploy', updated_at: '2024-01-02T00:02:00Z' });
    expect((await get('/repos/acme/widgets/deployments?environment=staging')).body.map((d: any) => d.id)).toEqual([d1.id]);
    const st = await get(`/repos/acme/widgets/deployments/${d2.id}/statuses`);
    expect(st.body.map((s: any) => s.state)).toEqual(['success', 'in_progress']);
    expect((await get('/repos/acme/widgets/deployments/5/statuses')).status).toBe(404);
    gh.addRelease({ repo: 'acme/widgets', tag_name: 'v1', created_at: '2024-01-01T00:00:00Z' });
    gh.addRelease({ repo: 'acme/widgets', tag_name: 'v2', created_at: '2024-01-05T00:00:00Z', prerelease: true });
    const rel = await get('/repos/acme/widgets/releases');
    expect(rel.body.map((r: any) => r.tag_name)).toEqual(['v2', 'v1']);
    expect(rel.body[0]).toMatchObject({ prerelease: true, draft: false, author: { login: 'acme' }, published_at: '2024-01-05T00:00:00Z' });
  });

  test('runs: filtered listings stop at 1,000 results while total_count reports all matches', async () => {
    const wf = gh.addWorkflow({ repo: 'acme/widgets' }) as any;
    for (let k = 0; k < 1005; k++) gh.addRun({ repo: 'acme/widgets', workflow_id: wf.id, created_at: 1_700_000_000_000 + k * 1000 });
    const last = await get('/repos/acme/widgets/actions/runs?status=success&per_page=100&page=10');
    expect(last.body.total_count).toBe(1005);
    expect(last.body.workflow_runs).toHaveLength(100);
    expect(links(last.h('link')).next).toBeUndefined();
    const beyond = await get('/repos/acme/widgets/actions/runs?status=success&per_page=100&page=11');
    expect(beyond.body.workflow_runs).toHaveLength(0);
    const unfiltered = await get('/repos/acme/widgets/actions/runs?per_page=100&page=11');
    expect(unfiltered.body.workflow_runs).toHaveLength(5);
    const day = await get('/repos/acme/widgets/actions/runs?created=2023-11-14&per_page=1');
    expect(day.body.total_count).toBe(1005); // 1_700_000_000 s = 2023-11-14T22:13:20Z; all within that day
  });

  test('"token" scheme works; HEAD has headers without body; 401 carries unauthenticated limit headers', async () => {
    const res = await fetch(`${gh.url}/repos/acme/widgets`, { headers: { authorization: `token ${TOKEN}` } });
    expect(res.status).toBe(200);
    const head = await fetch(`${gh.url}/repos/acme/widgets`, { method: 'HEAD', headers: { authorization: `token ${TOKEN}` } });
    expect(head.status).toBe(200);
    expect(head.headers.get('etag')).toBe(res.headers.get('etag'));
    expect(await head.text()).toBe('');
    const bad = await get('/user', { token: 'wrong' });
    expect(bad.h('x-ratelimit-limit')).toBe('60');
    expect(gh.requests().at(-1)).toMatchObject({ status: 401, counted: false });
  });

  test('unknown route is 404; counted requests logged', async () => {
    const r = await get('/repos/acme/widgets/nope');
    expect(r.status).toBe(404);
    expect(r.body.message).toBe('Not Found');
    expect(gh.requests()[0]).toMatchObject({ method: 'GET', path: '/repos/acme/widgets/nope', status: 404, counted: true, user: 'alice' });
  });
});
