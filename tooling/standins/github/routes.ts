// Endpoint handlers. Each returns a Result or throws ApiError.
import { ApiError, byKey, Ctx, dateParam, enumParam, invalid, paginate, parseIsoOrNull, Result } from './http';
import { iso } from './render';
import type { CommitRec, IssueRec, RepoRec, RunRec } from './store';

const lc = (s: string) => s.toLowerCase();
const DAY = 86_400_000;

function notFound(doc = 'https://docs.github.com/rest'): ApiError {
  return new ApiError(404, 'Not Found', { documentation_url: doc });
}

function requireAuth(ctx: Ctx): NonNullable<Ctx['token']> {
  if (!ctx.token) throw new ApiError(401, 'Requires authentication', { documentation_url: 'https://docs.github.com/rest/users/users#get-the-authenticated-user' });
  return ctx.token;
}

function canSee(ctx: Ctx, r: RepoRec): boolean {
  if (!r.private) return true;
  if (!ctx.token) return false;
  const full = lc(`${r.owner}/${r.name}`);
  return lc(ctx.token.user) === lc(r.owner) || ctx.token.repos.some((x) => lc(x) === full) || ctx.token.forbidden.some((x) => lc(x) === full);
}

/** 404 for a missing or invisible repository (GitHub hides private repos' existence), 403 for a forbidden one. */
function repoAccess(ctx: Ctx, owner: string, name: string): RepoRec {
  const r = ctx.store.repoByName(owner, name);
  if (!r || !canSee(ctx, r)) throw notFound('https://docs.github.com/rest/repos/repos#get-a-repository');
  const full = lc(`${r.owner}/${r.name}`);
  if (ctx.token && ctx.token.forbidden.some((x) => lc(x) === full)) {
    throw new ApiError(403, 'Resource not accessible by personal access token', { documentation_url: 'https://docs.github.com/rest/repos/repos#get-a-repository' });
  }
  return r;
}

const direction = (ctx: Ctx, dflt: 'asc' | 'desc', resource: string) => enumParam(ctx, 'direction', ['asc', 'desc'] as const, dflt, resource) as 'asc' | 'desc';

// ---------- users & repositories ----------

function repoSort(ctx: Ctx, list: RepoRec[], dfltSort: 'created' | 'updated' | 'pushed' | 'full_name'): RepoRec[] {
  const sort = enumParam(ctx, 'sort', ['created', 'updated', 'pushed', 'full_name'] as const, dfltSort, 'Repository')!;
  const dir = direction(ctx, sort === 'full_name' ? 'asc' : 'desc', 'Repository');
  const key = (r: RepoRec): number | string =>
    sort === 'full_name' ? lc(`${r.owner}/${r.name}`) : sort === 'created' ? r.created_at : sort === 'updated' ? r.updated_at : r.pushed_at;
  return [...list].sort(byKey(key, dir, (r) => r.id));
}

function userRepos(ctx: Ctx, login: string): Result {
  const u = ctx.store.user(login);
  if (!u) throw notFound('https://docs.github.com/rest/repos/repos#list-repositories-for-a-user');
  enumParam(ctx, 'type', ['all', 'owner', 'member'] as const, 'owner', 'Repository');
  // "Lists public repositories for the specified user."
  const list = [...ctx.store.repos.values()].filter((r) => lc(r.owner) === lc(u.login) && !r.private);
  return paginate(ctx, repoSort(ctx, list, 'full_name'), (p) => p.map((r) => ctx.render.repo(r)), 'Repository');
}

function orgRepos(ctx: Ctx, org: string): Result {
  const u = ctx.store.user(org);
  if (!u || u.type !== 'Organization') throw notFound('https://docs.github.com/rest/repos/repos#list-organization-repositories');
  const type = enumParam(ctx, 'type', ['all', 'public', 'private', 'forks', 'sources', 'member'] as const, 'all', 'Repository');
  let list = [...ctx.store.repos.values()].filter((r) => lc(r.owner) === lc(u.login) && canSee(ctx, r));
  if (type === 'public') list = list.filter((r) => !r.private);
  if (type === 'private') list = list.filter((r) => r.private);
  if (type === 'forks') list = list.filter((r) => r.fork);
  if (type === 'sources') list = list.filter((r) => !r.fork);
  return paginate(ctx, repoSort(ctx, list, 'created'), (p) => p.map((r) => ctx.render.repo(r)), 'Repository');
}

function myRepos(ctx: Ctx): Result {
  const t = requireAuth(ctx);
  const vis = enumParam(ctx, 'visibility', ['all', 'public', 'private'] as const, 'all', 'Repository');
  const aff = (ctx.query.get('affiliation') ?? 'owner,collaborator,organization_member').split(',');
  for (const a of aff) if (!['owner', 'collaborator', 'organization_member'].includes(a)) throw invalid('Repository', 'affiliation', a);
  enumParam(ctx, 'type', ['all', 'owner', 'public', 'private', 'member'] as const, 'all', 'Repository');
  const since = dateParam(ctx, 'since', 'Repository');
  const before = dateParam(ctx, 'before', 'Repository');
  let list = [...ctx.store.repos.values()].filter((r) => {
    const own = lc(r.owner) === lc(t.user);
    const granted = t.repos.some((x) => lc(x) === lc(`${r.owner}/${r.name}`));
    return (own && aff.includes('owner')) || (granted && (aff.includes('collaborator') || aff.includes('organization_member')));
  });
  if (vis === 'public') list = list.filter((r) => !r.private);
  if (vis === 'private') list = list.filter((r) => r.private);
  if (since !== undefined) list = list.filter((r) => r.updated_at >= since);
  if (before !== undefined) list = list.filter((r) => r.updated_at <= before);
  return paginate(ctx, repoSort(ctx, list, 'full_name'), (p) => p.map((r) => ctx.render.repo(r)), 'Repository');
}

// ---------- issues & pulls ----------

function liveIssues(ctx: Ctx, repo: RepoRec): IssueRec[] {
  return [...ctx.store.issues.values()].filter((i) => i.repoId === repo.id && !i.deleted && !i.transferredTo);
}

function listIssues(ctx: Ctx, repo: RepoRec): Result {
  const state = enumParam(ctx, 'state', ['open', 'closed', 'all'] as const, 'open', 'Issue');
  const sort = enumParam(ctx, 'sort', ['created', 'updated', 'comments'] as const, 'created', 'Issue')!;
  const dir = direction(ctx, 'desc', 'Issue');
  const since = dateParam(ctx, 'since', 'Issue');
  const labels = ctx.query.get('labels');
  const creator = ctx.query.get('creator');
  const assignee = ctx.query.get('assignee');
  let list = liveIssues(ctx, repo);
  if (state !== 'all') list = list.filter((i) => i.state === state);
  // "Only show results that were last updated after the given time" — implemented inclusively (>=).
  if (since !== undefined) list = list.filter((i) => i.updated_at >= since);
  if (labels) {
    const want = labels.split(',').map((l) => lc(l.trim())).filter(Boolean);
    list = list.filter((i) => want.every((w) => i.labels.some((l) => lc(l) === w)));
  }
  if (creator) list = list.filter((i) => lc(i.user) === lc(creator));
  if (assignee === 'none') list = list.filter((i) => i.assignees.length === 0);
  else if (assignee === '*') list = list.filter((i) => i.assignees.length > 0);
  else if (assignee) list = list.filter((i) => i.assignees.some((a) => lc(a) === lc(assignee)));
  const key = (i: IssueRec) => (sort === 'created' ? i.created_at : sort === 'updated' ? i.updated_at : i.comments);
  list.sort(byKey(key, dir, (i) => i.number));
  return paginate(ctx, list, (p) => p.map((i) => ctx.render.issue(i)), 'Issue');
}

function getIssue(ctx: Ctx, repo: RepoRec, n: number): Result {
  const i = ctx.store.issueByNumber(repo.id, n);
  if (!i) throw notFound('https://docs.github.com/rest/issues/issues#get-an-issue');
  if (i.deleted) throw new ApiError(410, 'This issue was deleted', { documentation_url: 'https://docs.github.com/rest/issues/issues#get-an-issue' });
  if (i.transferredTo) {
    const target = ctx.store.repos.get(i.transferredTo.repoId);
    if (!target || !canSee(ctx, target)) throw notFound('https://docs.github.com/rest/issues/issues#get-an-issue');
    const url = `${ctx.baseUrl}/repos/${target.owner}/${target.name}/issues/${i.transferredTo.number}`;
    throw new ApiError(301, 'Moved Permanently', { url, documentation_url: 'https://docs.github.com/rest/guides/best-practices-for-using-the-rest-api#follow-redirects' }, { location: url });
  }
  return { status: 200, body: ctx.render.issue(i) };
}

function listPulls(ctx: Ctx, repo: RepoRec): Result {
  const state = enumParam(ctx, 'state', ['open', 'closed', 'all'] as const, 'open', 'PullRequest');
  const sort = enumParam(ctx, 'sort', ['created', 'updated', 'popularity', 'long-running'] as const, undefined, 'PullRequest');
  // "Default: desc when sort is created or sort is not specified, otherwise asc."
  const dir = direction(ctx, sort === undefined || sort === 'created' ? 'desc' : 'asc', 'PullRequest');
  const head = ctx.query.get('head');
  const base = ctx.query.get('base');
  let list = liveIssues(ctx, repo).filter((i) => i.isPull);
  if (state !== 'all') list = list.filter((i) => i.state === state);
  if (head) {
    const [u, ref] = head.includes(':') ? head.split(':', 2) : [undefined, head];
    list = list.filter((i) => i.head.ref === ref && (u === undefined || lc(ctx.store.repos.get(i.head.repoId ?? repo.id)?.owner ?? '') === lc(u)));
  }
  if (base) list = list.filter((i) => i.base.ref === base);
  // long-running: "age, filtering by pulls updated in the last month"; age = now - created_at.
  if (sort === 'long-running') list = list.filter((i) => i.updated_at >= ctx.now - 30 * DAY);
  const key = (i: IssueRec): number =>
    sort === 'updated' ? i.updated_at : sort === 'popularity' ? i.comments + i.review_comments : sort === 'long-running' ? ctx.now - i.created_at : i.created_at;
  list.sort(byKey(key, dir, (i) => i.number));
  return paginate(ctx, list, (p) => p.map((i) => ctx.render.pull(i, false)), 'PullRequest');
}

function livePull(ctx: Ctx, repo: RepoRec, n: number): IssueRec {
  const i = ctx.store.issueByNumber(repo.id, n);
  if (!i || !i.isPull || i.deleted) throw notFound('https://docs.github.com/rest/pulls/pulls#get-a-pull-request');
  return i;
}

function listReviews(ctx: Ctx, repo: RepoRec, n: number): Result {
  livePull(ctx, repo, n);
  // "The list of reviews returns in chronological order."
  const list = [...ctx.store.reviews.values()].filter((r) => r.repoId === repo.id && r.pullNumber === n).sort((a, b) => a.id - b.id);
  return paginate(ctx, list, (p) => p.map((r) => ctx.render.review(r)), 'PullRequestReview');
}

// ---------- commits ----------

function listCommits(ctx: Ctx, repo: RepoRec): Result {
  const all = [...ctx.store.commits.values()].filter((c) => c.repoId === repo.id);
  if (all.length === 0) throw new ApiError(409, 'Git Repository is empty.', { documentation_url: 'https://docs.github.com/rest/commits/commits#list-commits' });
  const since = dateParam(ctx, 'since', 'Commit');
  const until = dateParam(ctx, 'until', 'Commit');
  const sha = ctx.query.get('sha') || repo.default_branch;
  const author = ctx.query.get('author');
  let list: CommitRec[];
  const onBranch = all.filter((c) => c.branches.includes(sha));
  if (onBranch.length > 0) list = onBranch;
  else {
    const start = all.find((c) => c.sha === sha) ?? (sha.length >= 7 ? all.find((c) => c.sha.startsWith(sha)) : undefined);
    if (!start) {
      if (sha === repo.default_branch) list = [];
      else throw new ApiError(404, `No commit found for SHA: ${sha}`, { documentation_url: 'https://docs.github.com/rest/commits/commits#list-commits' });
    } else {
      const seen = new Set<string>();
      const stack = [start.sha];
      while (stack.length) {
        const s = stack.pop()!;
        if (seen.has(s)) continue;
        seen.add(s);
        const c = ctx.store.commits.get(s);
        if (c) stack.push(...c.parents);
      }
      list = all.filter((c) => seen.has(c.sha));
    }
  }
  // git's --since/--until compare the committer date; both bounds inclusive here.
  if (since !== undefined) list = list.filter((c) => c.committer_date >= since);
  if (until !== undefined) list = list.filter((c) => c.committer_date <= until);
  if (author) list = list.filter((c) => lc(c.author_login ?? '') === lc(author) || lc(c.author_email) === lc(author));
  list.sort(byKey((c) => c.committer_date, 'desc', (c) => c.seq));
  return paginate(ctx, list, (p) => p.map((c) => ctx.render.commit(c)), 'Commit');
}

// ---------- actions ----------

/** `created` uses GitHub search date syntax: `>=d`, `>d`, `<=d`, `<d`, `a..b` (`*` open end), or `d`. */
export function parseCreated(v: string): { from: number; to: number } | null {
  const day = (s: string) => /^\d{4}-\d{2}-\d{2}$/.test(s);
  const lower = (s: string, strict: boolean): number | null => {
    const ms = parseIsoOrNull(s);
    if (ms === null) return null;
    if (!strict) return ms;
    return day(s) ? ms + DAY : ms + 1;
  };
  const upper = (s: string, strict: boolean): number | null => {
    const ms = parseIsoOrNull(s);
    if (ms === null) return null;
    if (strict) return ms - 1;
    return day(s) ? ms + DAY - 1 : ms;
  };
  let m: RegExpMatchArray | null;
  const INF = Number.MAX_SAFE_INTEGER;
  if ((m = v.match(/^>=(.+)$/))) { const f = lower(m[1]!, false); return f === null ? null : { from: f, to: INF }; }
  if ((m = v.match(/^>(.+)$/))) { const f = lower(m[1]!, true); return f === null ? null : { from: f, to: INF }; }
  if ((m = v.match(/^<=(.+)$/))) { const t = upper(m[1]!, false); return t === null ? null : { from: -INF, to: t }; }
  if ((m = v.match(/^<(.+)$/))) { const t = upper(m[1]!, true); return t === null ? null : { from: -INF, to: t }; }
  if ((m = v.match(/^(.+)\.\.(.+)$/))) {
    const f = m[1] === '*' ? -INF : lower(m[1]!, false);
    const t = m[2] === '*' ? INF : upper(m[2]!, false);
    return f === null || t === null ? null : { from: f, to: t };
  }
  const f = lower(v, false);
  const t = upper(v, false);
  return f === null || t === null ? null : { from: f, to: t };
}

const RUN_STATUSES = ['completed', 'action_required', 'cancelled', 'failure', 'neutral', 'skipped', 'stale', 'success', 'timed_out', 'in_progress', 'queued', 'requested', 'waiting', 'pending', 'startup_failure'] as const;

function listRuns(ctx: Ctx, repo: RepoRec): Result {
  const status = enumParam(ctx, 'status', RUN_STATUSES, undefined, 'WorkflowRun');
  const createdQ = ctx.query.get('created');
  const created = createdQ ? parseCreated(createdQ) : null;
  if (createdQ && !created) throw invalid('WorkflowRun', 'created', createdQ);
  let list: RunRec[] = [...ctx.store.runs.values()].filter((r) => r.repoId === repo.id);
  if (status) list = list.filter((r) => r.status === status || r.conclusion === status);
  if (created) list = list.filter((r) => r.created_at >= created.from && r.created_at <= created.to);
  const eq = (name: string, get: (r: RunRec) => string, ci = false) => {
    const v = ctx.query.get(name);
    if (v) list = list.filter((r) => (ci ? lc(get(r)) === lc(v) : get(r) === v));
  };
  eq('branch', (r) => r.head_branch);
  eq('event', (r) => r.event);
  eq('actor', (r) => r.actor, true);
  eq('head_sha', (r) => r.head_sha);
  eq('check_suite_id', (r) => String(r.check_suite_id));
  list.sort(byKey((r) => r.created_at, 'desc', (r) => r.id));
  const total = list.length;
  // "This API will return up to 1,000 results for each search when using the following parameters: actor,
  // branch, check_suite_id, created, event, head_sha, status." total_count still reports the full match count.
  const capped = ['actor', 'branch', 'check_suite_id', 'created', 'event', 'head_sha', 'status'].some((p) => ctx.query.get(p));
  if (capped) list = list.slice(0, 1000);
  return paginate(ctx, list, (p) => ({ total_count: total, workflow_runs: p.map((r) => ctx.render.run(r)) }), 'WorkflowRun');
}

function listJobs(ctx: Ctx, repo: RepoRec, runId: number): Result {
  const run = ctx.store.runs.get(runId);
  if (!run || run.repoId !== repo.id) throw notFound('https://docs.github.com/rest/actions/workflow-jobs#list-jobs-for-a-workflow-run');
  const filter = enumParam(ctx, 'filter', ['latest', 'all'] as const, 'latest', 'WorkflowJob');
  let list = [...ctx.store.jobs.values()].filter((j) => j.run_id === runId);
  if (filter === 'latest') list = list.filter((j) => j.run_attempt === run.run_attempt);
  list.sort((a, b) => a.id - b.id);
  return paginate(ctx, list, (p, total) => ({ total_count: total, jobs: p.map((j) => ctx.render.job(j)) }), 'WorkflowJob');
}

function listWorkflows(ctx: Ctx, repo: RepoRec): Result {
  const list = [...ctx.store.workflows.values()].filter((w) => w.repoId === repo.id).sort((a, b) => a.id - b.id);
  return paginate(ctx, list, (p, total) => ({ total_count: total, workflows: p.map((w) => ctx.render.workflow(w)) }), 'Workflow');
}

// ---------- deployments & releases ----------

function listDeployments(ctx: Ctx, repo: RepoRec): Result {
  let list = [...ctx.store.deployments.values()].filter((d) => d.repoId === repo.id);
  for (const f of ['sha', 'ref', 'task', 'environment'] as const) {
    const v = ctx.query.get(f);
    if (v) list = list.filter((d) => d[f] === v);
  }
  list.sort(byKey((d) => d.created_at, 'desc', (d) => d.id));
  return paginate(ctx, list, (p) => p.map((d) => ctx.render.deployment(d)), 'Deployment');
}

function listDeploymentStatuses(ctx: Ctx, repo: RepoRec, depId: number): Result {
  const d = ctx.store.deployments.get(depId);
  if (!d || d.repoId !== repo.id) throw notFound('https://docs.github.com/rest/deployments/statuses#list-deployment-statuses');
  const list = [...ctx.store.deploymentStatuses.values()].filter((s) => s.deployment_id === depId);
  list.sort(byKey((s) => s.created_at, 'desc', (s) => s.id));
  return paginate(ctx, list, (p) => p.map((s) => ctx.render.deploymentStatus(s)), 'DeploymentStatus');
}

function listReleases(ctx: Ctx, repo: RepoRec): Result {
  const list = [...ctx.store.releases.values()].filter((r) => r.repoId === repo.id);
  list.sort(byKey((r) => r.created_at, 'desc', (r) => r.id));
  return paginate(ctx, list, (p) => p.map((r) => ctx.render.release(r)), 'Release');
}

// ---------- rate limit ----------

export interface Bucket { limit: number; remaining: number; used: number; reset: number }

export function rateLimitBody(core: Bucket): unknown {
  const other = (limit: number) => ({ limit, remaining: limit, used: 0, reset: core.reset });
  return {
    resources: {
      core: { ...core }, search: other(30), graphql: other(5000), integration_manifest: other(5000),
      code_search: other(10), source_import: other(100), actions_runner_registration: other(10000),
    },
    rate: { ...core },
  };
}

// ---------- router ----------

type Handler = (ctx: Ctx, m: string[]) => Result;
const num = (s: string) => Number(s);

const ROUTES: Array<[RegExp, Handler]> = [
  [/^\/user$/, (ctx) => {
    const t = requireAuth(ctx);
    return { status: 200, body: ctx.render.fullUser(ctx.store.user(t.user)!) };
  }],
  [/^\/user\/repos$/, (ctx) => myRepos(ctx)],
  [/^\/users\/([^/]+)$/, (ctx, m) => {
    const u = ctx.store.user(m[1]!);
    if (!u) throw notFound('https://docs.github.com/rest/users/users#get-a-user');
    return { status: 200, body: ctx.render.fullUser(u) };
  }],
  [/^\/users\/([^/]+)\/repos$/, (ctx, m) => userRepos(ctx, m[1]!)],
  [/^\/orgs\/([^/]+)\/repos$/, (ctx, m) => orgRepos(ctx, m[1]!)],
  [/^\/repos\/([^/]+)\/([^/]+)$/, (ctx, m) => ({ status: 200, body: ctx.render.repo(repoAccess(ctx, m[1]!, m[2]!)) })],
  [/^\/repos\/([^/]+)\/([^/]+)\/issues$/, (ctx, m) => listIssues(ctx, repoAccess(ctx, m[1]!, m[2]!))],
  [/^\/repos\/([^/]+)\/([^/]+)\/issues\/(\d+)$/, (ctx, m) => getIssue(ctx, repoAccess(ctx, m[1]!, m[2]!), num(m[3]!))],
  [/^\/repos\/([^/]+)\/([^/]+)\/pulls$/, (ctx, m) => listPulls(ctx, repoAccess(ctx, m[1]!, m[2]!))],
  [/^\/repos\/([^/]+)\/([^/]+)\/pulls\/(\d+)$/, (ctx, m) => ({ status: 200, body: ctx.render.pull(livePull(ctx, repoAccess(ctx, m[1]!, m[2]!), num(m[3]!)), true) })],
  [/^\/repos\/([^/]+)\/([^/]+)\/pulls\/(\d+)\/reviews$/, (ctx, m) => listReviews(ctx, repoAccess(ctx, m[1]!, m[2]!), num(m[3]!))],
  [/^\/repos\/([^/]+)\/([^/]+)\/commits$/, (ctx, m) => listCommits(ctx, repoAccess(ctx, m[1]!, m[2]!))],
  [/^\/repos\/([^/]+)\/([^/]+)\/actions\/workflows$/, (ctx, m) => listWorkflows(ctx, repoAccess(ctx, m[1]!, m[2]!))],
  [/^\/repos\/([^/]+)\/([^/]+)\/actions\/runs$/, (ctx, m) => listRuns(ctx, repoAccess(ctx, m[1]!, m[2]!))],
  [/^\/repos\/([^/]+)\/([^/]+)\/actions\/runs\/(\d+)\/jobs$/, (ctx, m) => listJobs(ctx, repoAccess(ctx, m[1]!, m[2]!), num(m[3]!))],
  [/^\/repos\/([^/]+)\/([^/]+)\/deployments$/, (ctx, m) => listDeployments(ctx, repoAccess(ctx, m[1]!, m[2]!))],
  [/^\/repos\/([^/]+)\/([^/]+)\/deployments\/(\d+)\/statuses$/, (ctx, m) => listDeploymentStatuses(ctx, repoAccess(ctx, m[1]!, m[2]!), num(m[3]!))],
  [/^\/repos\/([^/]+)\/([^/]+)\/releases$/, (ctx, m) => listReleases(ctx, repoAccess(ctx, m[1]!, m[2]!))],
];

export function route(ctx: Ctx): Result {
  for (const [re, h] of ROUTES) {
    const m = ctx.path.match(re);
    if (m) return h(ctx, m.slice(0).map((x) => decodeURIComponent(x ?? '')));
  }
  throw notFound();
}

export { iso };
