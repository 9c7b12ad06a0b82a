// In-memory data behind the GitHub stand-in plus the test-facing "add/update" control functions.
// Timestamps are epoch milliseconds internally and come from the stand-in's own clock.

export type Time = string | number | Date;

export function toMs(t: Time): number {
  const ms = t instanceof Date ? t.getTime() : typeof t === 'number' ? t : Date.parse(t);
  if (!Number.isFinite(ms)) throw new Error(`invalid timestamp: ${String(t)}`);
  return ms;
}

export interface UserRec {
  kind: 'user';
  id: number;
  login: string;
  type: 'User' | 'Organization';
  name: string | null;
  email: string | null;
  created_at: number;
  updated_at: number;
}

export interface RepoRec {
  kind: 'repo';
  id: number;
  owner: string;
  name: string;
  private: boolean;
  description: string | null;
  fork: boolean;
  archived: boolean;
  default_branch: string;
  language: string | null;
  topics: string[];
  stargazers_count: number;
  forks_count: number;
  size: number;
  created_at: number;
  updated_at: number;
  pushed_at: number;
}

/** An issue; a pull request is an issue with `isPull` (GitHub: "every pull request is an issue"). */
export interface IssueRec {
  kind: 'issue';
  id: number;
  repoId: number;
  number: number;
  title: string;
  body: string | null;
  state: 'open' | 'closed';
  state_reason: string | null;
  user: string;
  labels: string[];
  assignees: string[];
  comments: number;
  locked: boolean;
  created_at: number;
  updated_at: number;
  closed_at: number | null;
  deleted: boolean;
  transferredTo: { repoId: number; number: number } | null;
  isPull: boolean;
  // pull-request-only fields (meaningful when isPull)
  pullId: number | null;
  draft: boolean;
  head: { ref: string; sha: string; repoId: number | null };
  base: { ref: string; sha: string };
  merged_at: number | null;
  merge_commit_sha: string | null;
  merged_by: string | null;
  requested_reviewers: string[];
  commits: number;
  additions: number;
  deletions: number;
  changed_files: number;
  review_comments: number;
}

export interface ReviewRec {
  kind: 'review';
  id: number;
  repoId: number;
  pullNumber: number;
  user: string;
  body: string;
  state: 'APPROVED' | 'CHANGES_REQUESTED' | 'COMMENTED' | 'DISMISSED' | 'PENDING';
  commit_id: string;
  submitted_at: number | null;
}

export interface CommitRec {
  kind: 'commit';
  sha: string;
  repoId: number;
  message: string;
  author_login: string | null;
  author_name: string;
  author_email: string;
  author_date: number;
  committer_name: string;
  committer_email: string;
  committer_date: number;
  parents: string[];
  branches: string[];
  seq: number;
}

export interface WorkflowRec {
  kind: 'workflow';
  id: number;
  repoId: number;
  name: string;
  path: string;
  state: string;
  created_at: number;
  updated_at: number;
}

export interface RunRec {
  kind: 'run';
  id: number;
  repoId: number;
  workflow_id: number;
  name: string;
  display_title: string;
  head_branch: string;
  head_sha: string;
  event: string;
  status: string;
  conclusion: string | null;
  run_number: number;
  run_attempt: number;
  actor: string;
  check_suite_id: number;
  created_at: number;
  updated_at: number;
  run_started_at: number;
}

export interface JobRec {
  kind: 'job';
  id: number;
  repoId: number;
  run_id: number;
  run_attempt: number;
  name: string;
  status: string;
  conclusion: string | null;
  created_at: number;
  started_at: number;
  completed_at: number | null;
  steps: Array<{ name: string; status: string; conclusion: string | null; number: number; started_at: string | null; completed_at: string | null }>;
  labels: string[];
  runner_name: string | null;
}

export interface DeploymentRec {
  kind: 'deployment';
  id: number;
  repoId: number;
  sha: string;
  ref: string;
  task: string;
  environment: string;
  description: string | null;
  creator: string;
  payload: Record<string, unknown>;
  production_environment: boolean;
  transient_environment: boolean;
  created_at: number;
  updated_at: number;
}

export interface DeploymentStatusRec {
  kind: 'deploymentStatus';
  id: number;
  repoId: number;
  deployment_id: number;
  state: string;
  description: string;
  environment: string;
  target_url: string;
  log_url: string;
  environment_url: string;
  creator: string;
  created_at: number;
  updated_at: number;
}

export interface ReleaseRec {
  kind: 'release';
  id: number;
  repoId: number;
  tag_name: string;
  target_commitish: string;
  name: string | null;
  body: string | null;
  draft: boolean;
  prerelease: boolean;
  author: string;
  created_at: number;
  published_at: number | null;
}

export interface TokenRec {
  token: string;
  user: string;
  /** Private repositories ("owner/name") this token may read in addition to the user's own. */
  repos: string[];
  /** Repositories for which this token gets 403 "Resource not accessible by personal access token". */
  forbidden: string[];
}

export type Kind =
  | 'user' | 'repo' | 'issue' | 'pull' | 'review' | 'commit' | 'workflow' | 'run' | 'job'
  | 'deployment' | 'deploymentStatus' | 'release';

const lc = (s: string) => s.toLowerCase();

export class Clock {
  private ms: number;
  constructor(start: Time) { this.ms = toMs(start); }
  now(): number { return this.ms; }
  set(t: Time): void { this.ms = toMs(t); }
  advance(ms: number): number { this.ms += ms; return this.ms; }
}

function hex(n: number, len = 40): string {
  // deterministic pseudo-sha from a counter, so tests are reproducible
  let s = '';
  let x = (n * 2654435761) >>> 0;
  while (s.length < len) { x = (x * 1103515245 + 12345) >>> 0; s += x.toString(16).padStart(8, '0'); }
  return s.slice(0, len);
}

export class Store {
  users = new Map<string, UserRec>(); // by lower-case login
  repos = new Map<number, RepoRec>();
  issues = new Map<number, IssueRec>(); // by issue id
  reviews = new Map<number, ReviewRec>();
  commits = new Map<string, CommitRec>(); // by sha
  workflows = new Map<number, WorkflowRec>();
  runs = new Map<number, RunRec>();
  jobs = new Map<number, JobRec>();
  deployments = new Map<number, DeploymentRec>();
  deploymentStatuses = new Map<number, DeploymentStatusRec>();
  releases = new Map<number, ReleaseRec>();
  tokens = new Map<string, TokenRec>();
  private nextId = 1000;
  private seq = 0;

  constructor(readonly clock: Clock) {}

  id(): number { return ++this.nextId; }

  // ---------- lookups ----------
  user(login: string): UserRec | undefined { return this.users.get(lc(login)); }
  repoByName(owner: string, name: string): RepoRec | undefined {
    for (const r of this.repos.values()) if (lc(r.owner) === lc(owner) && lc(r.name) === lc(name)) return r;
    return undefined;
  }
  fullName(r: RepoRec): string { return `${r.owner}/${r.name}`; }
  issueByNumber(repoId: number, n: number): IssueRec | undefined {
    for (const i of this.issues.values()) if (i.repoId === repoId && i.number === n) return i;
    return undefined;
  }
  pullById(pullId: number): IssueRec | undefined {
    for (const i of this.issues.values()) if (i.isPull && i.pullId === pullId) return i;
    return undefined;
  }
  private repoOf(repo: string | number): RepoRec {
    if (typeof repo === 'number') {
      const r = this.repos.get(repo);
      if (!r) throw new Error(`unknown repo id ${repo}`);
      return r;
    }
    const [o, n] = repo.split('/');
    const r = o && n ? this.repoByName(o, n) : undefined;
    if (!r) throw new Error(`unknown repo ${repo}`);
    return r;
  }
  private nextNumber(repoId: number): number {
    let max = 0;
    for (const i of this.issues.values()) if (i.repoId === repoId && i.number > max) max = i.number;
    return max + 1;
  }
  private ensureUser(login: string, type: 'User' | 'Organization' = 'User'): UserRec {
    return this.user(login) ?? this.addUser({ login, type });
  }

  // ---------- control: creation ----------
  addUser(u: { login: string; type?: 'User' | 'Organization'; name?: string; email?: string; created_at?: Time }): UserRec {
    if (this.user(u.login)) throw new Error(`user ${u.login} exists`);
    const t = u.created_at !== undefined ? toMs(u.created_at) : this.clock.now();
    const rec: UserRec = { kind: 'user', id: this.id(), login: u.login, type: u.type ?? 'User', name: u.name ?? null, email: u.email ?? null, created_at: t, updated_at: t };
    this.users.set(lc(u.login), rec);
    return rec;
  }

  addToken(t: { token: string; user: string; repos?: string[]; forbidden?: string[] }): TokenRec {
    this.ensureUser(t.user);
    const rec: TokenRec = { token: t.token, user: t.user, repos: t.repos ?? [], forbidden: t.forbidden ?? [] };
    this.tokens.set(t.token, rec);
    return rec;
  }

  addRepo(r: {
    owner: string; name: string; private?: boolean; ownerType?: 'User' | 'Organization'; description?: string;
    default_branch?: string; fork?: boolean; archived?: boolean; language?: string; topics?: string[];
    created_at?: Time; updated_at?: Time; pushed_at?: Time;
  }): RepoRec {
    if (this.repoByName(r.owner, r.name)) throw new Error(`repo ${r.owner}/${r.name} exists`);
    const owner = this.ensureUser(r.owner, r.ownerType ?? 'User');
    const t = r.created_at !== undefined ? toMs(r.created_at) : this.clock.now();
    const rec: RepoRec = {
      kind: 'repo', id: this.id(), owner: owner.login, name: r.name, private: r.private ?? false,
      description: r.description ?? null, fork: r.fork ?? false, archived: r.archived ?? false,
      default_branch: r.default_branch ?? 'main', language: r.language ?? null, topics: r.topics ?? [],
      stargazers_count: 0, forks_count: 0, size: 0, created_at: t,
      updated_at: r.updated_at !== undefined ? toMs(r.updated_at) : t,
      pushed_at: r.pushed_at !== undefined ? toMs(r.pushed_at) : t,
    };
    this.repos.set(rec.id, rec);
    return rec;
  }

  addIssue(i: {
    repo: string | number; title?: string; body?: string; user?: string; state?: 'open' | 'closed'; state_reason?: string;
    labels?: string[]; assignees?: string[]; comments?: number; number?: number;
    created_at?: Time; updated_at?: Time; closed_at?: Time | null;
  }): IssueRec {
    return this.makeIssue(i, false);
  }

  addPull(p: {
    repo: string | number; title?: string; body?: string; user?: string; state?: 'open' | 'closed'; labels?: string[];
    assignees?: string[]; comments?: number; number?: number; draft?: boolean;
    head?: { ref?: string; sha?: string }; base?: { ref?: string; sha?: string };
    merged_at?: Time | null; merge_commit_sha?: string | null; merged_by?: string | null; requested_reviewers?: string[];
    commits?: number; additions?: number; deletions?: number; changed_files?: number; review_comments?: number;
    created_at?: Time; updated_at?: Time; closed_at?: Time | null;
  }): IssueRec {
    const rec = this.makeIssue(p, true);
    const repo = this.repoOf(p.repo);
    rec.pullId = this.id();
    rec.draft = p.draft ?? false;
    rec.head = { ref: p.head?.ref ?? `feature-${rec.number}`, sha: p.head?.sha ?? hex(rec.id), repoId: repo.id };
    rec.base = { ref: p.base?.ref ?? repo.default_branch, sha: p.base?.sha ?? hex(rec.id + 7) };
    rec.merged_at = p.merged_at ? toMs(p.merged_at) : null;
    rec.merge_commit_sha = p.merge_commit_sha ?? (rec.merged_at ? hex(rec.id + 13) : null);
    rec.merged_by = p.merged_by ?? null;
    rec.requested_reviewers = p.requested_reviewers ?? [];
    rec.commits = p.commits ?? 1;
    rec.additions = p.additions ?? 0;
    rec.deletions = p.deletions ?? 0;
    rec.changed_files = p.changed_files ?? 0;
    rec.review_comments = p.review_comments ?? 0;
    if (rec.merged_at && p.state === undefined) {
      rec.state = 'closed';
      if (rec.closed_at === null) rec.closed_at = rec.merged_at;
    }
    return rec;
  }

  private makeIssue(i: {
    repo: string | number; title?: string; body?: string; user?: string; state?: 'open' | 'closed'; state_reason?: string;
    labels?: string[]; assignees?: string[]; comments?: number; number?: number;
    created_at?: Time; updated_at?: Time; closed_at?: Time | null;
  }, isPull: boolean): IssueRec {
    const repo = this.repoOf(i.repo);
    const number = i.number ?? this.nextNumber(repo.id);
    if (this.issueByNumber(repo.id, number)) throw new Error(`#${number} exists in ${this.fullName(repo)}`);
    const user = this.ensureUser(i.user ?? repo.owner);
    const created = i.created_at !== undefined ? toMs(i.created_at) : this.clock.now();
    const state = i.state ?? 'open';
    const closed = i.closed_at !== undefined && i.closed_at !== null ? toMs(i.closed_at) : state === 'closed' ? created : null;
    const rec: IssueRec = {
      kind: 'issue', id: this.id(), repoId: repo.id, number, title: i.title ?? `Issue ${number}`, body: i.body ?? null,
      state, state_reason: i.state_reason ?? (state === 'closed' ? 'completed' : null), user: user.login,
      labels: i.labels ?? [], assignees: i.assignees ?? [], comments: i.comments ?? 0, locked: false,
      created_at: created, updated_at: i.updated_at !== undefined ? toMs(i.updated_at) : Math.max(created, closed ?? 0),
      closed_at: closed, deleted: false, transferredTo: null, isPull,
      pullId: null, draft: false, head: { ref: '', sha: '', repoId: null }, base: { ref: '', sha: '' },
      merged_at: null, merge_commit_sha: null, merged_by: null, requested_reviewers: [], commits: 0, additions: 0,
      deletions: 0, changed_files: 0, review_comments: 0,
    };
    for (const l of rec.assignees) this.ensureUser(l);
    this.issues.set(rec.id, rec);
    return rec;
  }

  addReview(r: {
    repo: string | number; pull: number; user?: string; body?: string; state?: ReviewRec['state']; commit_id?: string; submitted_at?: Time | null;
  }): ReviewRec {
    const repo = this.repoOf(r.repo);
    const pr = this.issueByNumber(repo.id, r.pull);
    if (!pr || !pr.isPull) throw new Error(`no pull #${r.pull} in ${this.fullName(repo)}`);
    const user = this.ensureUser(r.user ?? repo.owner);
    const state = r.state ?? 'COMMENTED';
    const rec: ReviewRec = {
      kind: 'review', id: this.id(), repoId: repo.id, pullNumber: r.pull, user: user.login, body: r.body ?? '', state,
      commit_id: r.commit_id ?? pr.head.sha,
      submitted_at: r.submitted_at === null || state === 'PENDING' ? null : r.submitted_at !== undefined ? toMs(r.submitted_at) : this.clock.now(),
    };
    this.reviews.set(rec.id, rec);
    return rec;
  }

  addCommit(c: {
    repo: string | number; sha?: string; message?: string; author?: string | null; author_name?: string; author_email?: string;
    date?: Time; committer_date?: Time; parents?: string[]; branches?: string[];
  }): CommitRec {
    const repo = this.repoOf(c.repo);
    const seq = ++this.seq;
    const sha = c.sha ?? hex(seq * 7919 + repo.id);
    if (this.commits.has(sha)) throw new Error(`commit ${sha} exists`);
    if (c.author) this.ensureUser(c.author);
    const date = c.date !== undefined ? toMs(c.date) : this.clock.now();
    // Default parent: the newest commit already on the same first branch, like a linear history.
    const branches = c.branches ?? [repo.default_branch];
    let parents = c.parents;
    if (!parents) {
      let best: CommitRec | undefined;
      for (const x of this.commits.values()) if (x.repoId === repo.id && x.branches.includes(branches[0] ?? '') && (!best || x.seq > best.seq)) best = x;
      parents = best ? [best.sha] : [];
    }
    const name = c.author_name ?? c.author ?? 'Anonymous';
    const email = c.author_email ?? `${name.toLowerCase().replace(/\s+/g, '.')}@example.com`;
    const rec: CommitRec = {
      kind: 'commit', sha, repoId: repo.id, message: c.message ?? `commit ${seq}`, author_login: c.author ?? null,
      author_name: name, author_email: email, author_date: date, committer_name: name, committer_email: email,
      committer_date: c.committer_date !== undefined ? toMs(c.committer_date) : date, parents, branches, seq,
    };
    this.commits.set(sha, rec);
    repo.pushed_at = Math.max(repo.pushed_at, rec.committer_date);
    return rec;
  }

  addWorkflow(w: { repo: string | number; name?: string; path?: string; state?: string; created_at?: Time; updated_at?: Time }): WorkflowRec {
    const repo = this.repoOf(w.repo);
    const id = this.id();
    const t = w.created_at !== undefined ? toMs(w.created_at) : this.clock.now();
    const rec: WorkflowRec = {
      kind: 'workflow', id, repoId: repo.id, name: w.name ?? `Workflow ${id}`, path: w.path ?? `.github/workflows/wf-${id}.yml`,
      state: w.state ?? 'active', created_at: t, updated_at: w.updated_at !== undefined ? toMs(w.updated_at) : t,
    };
    this.workflows.set(id, rec);
    return rec;
  }

  addRun(r: {
    repo: string | number; workflow_id: number; name?: string; display_title?: string; head_branch?: string; head_sha?: string;
    event?: string; status?: string; conclusion?: string | null; run_number?: number; run_attempt?: number; actor?: string;
    created_at?: Time; updated_at?: Time; run_started_at?: Time;
  }): RunRec {
    const repo = this.repoOf(r.repo);
    const wf = this.workflows.get(r.workflow_id);
    if (!wf || wf.repoId !== repo.id) throw new Error(`no workflow ${r.workflow_id} in ${this.fullName(repo)}`);
    const t = r.created_at !== undefined ? toMs(r.created_at) : this.clock.now();
    let n = 0;
    for (const x of this.runs.values()) if (x.workflow_id === wf.id) n = Math.max(n, x.run_number);
    const status = r.status ?? 'completed';
    const actor = this.ensureUser(r.actor ?? repo.owner);
    const id = this.id();
    const rec: RunRec = {
      kind: 'run', id, repoId: repo.id, workflow_id: wf.id, name: r.name ?? wf.name, display_title: r.display_title ?? wf.name,
      head_branch: r.head_branch ?? repo.default_branch, head_sha: r.head_sha ?? hex(id), event: r.event ?? 'push', status,
      conclusion: r.conclusion !== undefined ? r.conclusion : status === 'completed' ? 'success' : null,
      run_number: r.run_number ?? n + 1, run_attempt: r.run_attempt ?? 1, actor: actor.login, check_suite_id: this.id(),
      created_at: t, updated_at: r.updated_at !== undefined ? toMs(r.updated_at) : t,
      run_started_at: r.run_started_at !== undefined ? toMs(r.run_started_at) : t,
    };
    this.runs.set(id, rec);
    return rec;
  }

  addJob(j: {
    run_id: number; name?: string; status?: string; conclusion?: string | null; run_attempt?: number; created_at?: Time;
    started_at?: Time; completed_at?: Time | null; steps?: JobRec['steps']; labels?: string[]; runner_name?: string | null;
  }): JobRec {
    const run = this.runs.get(j.run_id);
    if (!run) throw new Error(`no run ${j.run_id}`);
    const t = j.created_at !== undefined ? toMs(j.created_at) : this.clock.now();
    const status = j.status ?? 'completed';
    const rec: JobRec = {
      kind: 'job', id: this.id(), repoId: run.repoId, run_id: run.id, run_attempt: j.run_attempt ?? run.run_attempt,
      name: j.name ?? 'build', status, conclusion: j.conclusion !== undefined ? j.conclusion : status === 'completed' ? 'success' : null,
      created_at: t, started_at: j.started_at !== undefined ? toMs(j.started_at) : t,
      completed_at: j.completed_at === null ? null : j.completed_at !== undefined ? toMs(j.completed_at) : status === 'completed' ? t : null,
      steps: j.steps ?? [], labels: j.labels ?? ['ubuntu-latest'], runner_name: j.runner_name ?? null,
    };
    this.jobs.set(rec.id, rec);
    return rec;
  }

  addDeployment(d: {
    repo: string | number; sha?: string; ref?: string; task?: string; environment?: string; description?: string; creator?: string;
    payload?: Record<string, unknown>; production_environment?: boolean; transient_environment?: boolean; created_at?: Time; updated_at?: Time;
  }): DeploymentRec {
    const repo = this.repoOf(d.repo);
    const id = this.id();
    const t = d.created_at !== undefined ? toMs(d.created_at) : this.clock.now();
    const env = d.environment ?? 'production';
    const rec: DeploymentRec = {
      kind: 'deployment', id, repoId: repo.id, sha: d.sha ?? hex(id), ref: d.ref ?? repo.default_branch, task: d.task ?? 'deploy',
      environment: env, description: d.description ?? null, creator: this.ensureUser(d.creator ?? repo.owner).login,
      payload: d.payload ?? {}, production_environment: d.production_environment ?? env === 'production',
      transient_environment: d.transient_environment ?? false, created_at: t, updated_at: d.updated_at !== undefined ? toMs(d.updated_at) : t,
    };
    this.deployments.set(id, rec);
    return rec;
  }

  addDeploymentStatus(s: {
    deployment_id: number; state?: string; description?: string; environment?: string; target_url?: string; log_url?: string;
    environment_url?: string; creator?: string; created_at?: Time;
  }): DeploymentStatusRec {
    const dep = this.deployments.get(s.deployment_id);
    if (!dep) throw new Error(`no deployment ${s.deployment_id}`);
    const repo = this.repoOf(dep.repoId);
    const t = s.created_at !== undefined ? toMs(s.created_at) : this.clock.now();
    const rec: DeploymentStatusRec = {
      kind: 'deploymentStatus', id: this.id(), repoId: dep.repoId, deployment_id: dep.id, state: s.state ?? 'success',
      description: s.description ?? '', environment: s.environment ?? dep.environment, target_url: s.target_url ?? '',
      log_url: s.log_url ?? s.target_url ?? '', environment_url: s.environment_url ?? '',
      creator: this.ensureUser(s.creator ?? repo.owner).login, created_at: t, updated_at: t,
    };
    this.deploymentStatuses.set(rec.id, rec);
    // A new status changes the deployment (GitHub sets the deployment's updated_at when a status is created).
    dep.updated_at = Math.max(dep.updated_at, t);
    return rec;
  }

  addRelease(r: {
    repo: string | number; tag_name: string; target_commitish?: string; name?: string; body?: string; draft?: boolean;
    prerelease?: boolean; author?: string; created_at?: Time; published_at?: Time | null;
  }): ReleaseRec {
    const repo = this.repoOf(r.repo);
    const t = r.created_at !== undefined ? toMs(r.created_at) : this.clock.now();
    const draft = r.draft ?? false;
    const rec: ReleaseRec = {
      kind: 'release', id: this.id(), repoId: repo.id, tag_name: r.tag_name, target_commitish: r.target_commitish ?? repo.default_branch,
      name: r.name ?? r.tag_name, body: r.body ?? null, draft, prerelease: r.prerelease ?? false,
      author: this.ensureUser(r.author ?? repo.owner).login, created_at: t,
      published_at: r.published_at === null || draft ? null : r.published_at !== undefined ? toMs(r.published_at) : t,
    };
    this.releases.set(rec.id, rec);
    return rec;
  }

  // ---------- control: mutation ----------
  find(kind: Kind, id: number | string): { rec: object; hasUpdatedAt: boolean } {
    let rec: object | undefined;
    switch (kind) {
      case 'user': rec = typeof id === 'string' ? this.user(id) : [...this.users.values()].find((u) => u.id === id); break;
      case 'repo': rec = typeof id === 'string' ? this.repoOf(id) : this.repos.get(id); break;
      case 'issue': rec = this.issues.get(Number(id)); break;
      case 'pull': rec = this.pullById(Number(id)) ?? this.issues.get(Number(id)); break;
      case 'review': rec = this.reviews.get(Number(id)); break;
      case 'commit': rec = this.commits.get(String(id)); break;
      case 'workflow': rec = this.workflows.get(Number(id)); break;
      case 'run': rec = this.runs.get(Number(id)); break;
      case 'job': rec = this.jobs.get(Number(id)); break;
      case 'deployment': rec = this.deployments.get(Number(id)); break;
      case 'deploymentStatus': rec = this.deploymentStatuses.get(Number(id)); break;
      case 'release': rec = this.releases.get(Number(id)); break;
    }
    if (!rec) throw new Error(`no ${kind} with id ${String(id)}`);
    return { rec, hasUpdatedAt: 'updated_at' in rec };
  }

  /**
   * Applies `patch` and stamps `updated_at` with the clock (unless the patch sets it).
   * Timestamp fields in the patch may be ISO strings, Dates or epoch ms.
   */
  update(kind: Kind, id: number | string, patch: Record<string, unknown>): object {
    const { rec, hasUpdatedAt } = this.find(kind, id);
    const r = rec as Record<string, unknown>;
    const now = this.clock.now();
    for (const [k, v] of Object.entries(patch)) {
      if (v !== null && v !== undefined && typeof r[k] === 'number' && /_at$|date$/.test(k)) r[k] = toMs(v as Time);
      else if (v !== null && /_at$|date$/.test(k) && (typeof v === 'string' || v instanceof Date)) r[k] = toMs(v);
      else r[k] = v;
    }
    if (r.kind === 'issue') {
      if (patch.state === 'closed' && !('closed_at' in patch) && r.closed_at === null) r.closed_at = now;
      if (patch.state === 'closed' && !('state_reason' in patch) && r.state_reason === null) r.state_reason = 'completed';
      if (patch.state === 'open' && !('closed_at' in patch)) { r.closed_at = null; r.state_reason = 'reopened'; }
      if (patch.merged_at && !('state' in patch)) { r.state = 'closed'; if (r.closed_at === null) r.closed_at = r.merged_at; }
    }
    if (r.kind === 'run' && patch.status === 'completed' && !('conclusion' in patch) && r.conclusion === null) r.conclusion = 'success';
    if (hasUpdatedAt && !('updated_at' in patch)) r.updated_at = now;
    return rec;
  }

  deleteIssue(repo: string | number, number: number): void {
    const rp = this.repoOf(repo);
    const i = this.issueByNumber(rp.id, number);
    if (!i || i.deleted) throw new Error(`no issue #${number}`);
    i.deleted = true;
  }

  /** Moves an issue to another repository (new number there); the old URL answers 301. */
  transferIssue(repo: string | number, number: number, toRepo: string | number): IssueRec {
    const from = this.repoOf(repo);
    const to = this.repoOf(toRepo);
    const i = this.issueByNumber(from.id, number);
    if (!i || i.deleted || i.transferredTo) throw new Error(`no issue #${number}`);
    if (i.isPull) throw new Error('pull requests cannot be transferred');
    const moved = this.makeIssue({
      repo: to.id, title: i.title, body: i.body ?? undefined, user: i.user, state: i.state, labels: [], assignees: i.assignees,
      comments: i.comments, created_at: i.created_at, updated_at: this.clock.now(), closed_at: i.closed_at,
    }, false);
    i.transferredTo = { repoId: to.id, number: moved.number };
    return moved;
  }
}
