// JSON shapes of GitHub REST objects (field names from the REST reference / github/rest-api-description).
import type {
  CommitRec, DeploymentRec, DeploymentStatusRec, IssueRec, JobRec, ReleaseRec, RepoRec, ReviewRec, RunRec, Store,
  UserRec, WorkflowRec,
} from './store';

export const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z'));
const nodeId = (prefix: string, id: number | string) => `${prefix}_${Buffer.from(String(id)).toString('base64')}`;
const HTML = 'https://github.com';

export class Renderer {
  constructor(private readonly store: Store, private readonly api: () => string) {}

  private repoFull(repoId: number): { repo: RepoRec; full: string; url: string; html: string } {
    const repo = this.store.repos.get(repoId);
    if (!repo) throw new Error(`repo ${repoId} missing`);
    const full = `${repo.owner}/${repo.name}`;
    return { repo, full, url: `${this.api()}/repos/${full}`, html: `${HTML}/${full}` };
  }

  simpleUser(login: string | null): Record<string, unknown> | null {
    if (login === null) return null;
    const u = this.store.user(login);
    if (!u) return null;
    const url = `${this.api()}/users/${u.login}`;
    return {
      login: u.login, id: u.id, node_id: nodeId(u.type === 'User' ? 'U' : 'O', u.id), avatar_url: `https://avatars.githubusercontent.com/u/${u.id}?v=4`,
      gravatar_id: '', url, html_url: `${HTML}/${u.login}`, followers_url: `${url}/followers`, repos_url: `${url}/repos`,
      type: u.type, site_admin: false,
    };
  }

  fullUser(u: UserRec): Record<string, unknown> {
    let publicRepos = 0;
    for (const r of this.store.repos.values()) if (r.owner === u.login && !r.private) publicRepos++;
    return {
      ...this.simpleUser(u.login), name: u.name, company: null, blog: '', location: null, email: u.email, hireable: null, bio: null,
      twitter_username: null, public_repos: publicRepos, public_gists: 0, followers: 0, following: 0,
      created_at: iso(u.created_at), updated_at: iso(u.updated_at),
    };
  }

  repo(r: RepoRec): Record<string, unknown> {
    const { full, url, html } = this.repoFull(r.id);
    let openIssues = 0;
    for (const i of this.store.issues.values()) if (i.repoId === r.id && i.state === 'open' && !i.deleted && !i.transferredTo) openIssues++;
    return {
      id: r.id, node_id: nodeId('R', r.id), name: r.name, full_name: full, private: r.private, owner: this.simpleUser(r.owner),
      html_url: html, description: r.description, fork: r.fork, url, issues_url: `${url}/issues{/number}`,
      pulls_url: `${url}/pulls{/number}`, commits_url: `${url}/commits{/sha}`, created_at: iso(r.created_at),
      updated_at: iso(r.updated_at), pushed_at: iso(r.pushed_at), clone_url: `${html}.git`, homepage: null, size: r.size,
      stargazers_count: r.stargazers_count, watchers_count: r.stargazers_count, language: r.language,
      has_issues: true, has_projects: true, has_wiki: true, has_pages: false, has_downloads: true, archived: r.archived,
      disabled: false, forks_count: r.forks_count, open_issues_count: openIssues, license: null, topics: r.topics,
      visibility: r.private ? 'private' : 'public', forks: r.forks_count, open_issues: openIssues, watchers: r.stargazers_count,
      default_branch: r.default_branch,
    };
  }

  label(repoId: number, name: string): Record<string, unknown> {
    const { url } = this.repoFull(repoId);
    let h = 0;
    for (const ch of `${repoId}/${name}`) h = (h * 31 + ch.charCodeAt(0)) >>> 0;
    return {
      id: h, node_id: nodeId('LA', h), url: `${url}/labels/${encodeURIComponent(name)}`, name,
      color: (h & 0xffffff).toString(16).padStart(6, '0'), default: false, description: null,
    };
  }

  issue(i: IssueRec): Record<string, unknown> {
    const { url, html } = this.repoFull(i.repoId);
    const out: Record<string, unknown> = {
      id: i.id, node_id: nodeId('I', i.id), url: `${url}/issues/${i.number}`, repository_url: url,
      labels_url: `${url}/issues/${i.number}/labels{/name}`, comments_url: `${url}/issues/${i.number}/comments`,
      events_url: `${url}/issues/${i.number}/events`, html_url: `${html}/${i.isPull ? 'pull' : 'issues'}/${i.number}`,
      number: i.number, state: i.state, state_reason: i.isPull ? null : i.state_reason, title: i.title, body: i.body,
      user: this.simpleUser(i.user), labels: i.labels.map((l) => this.label(i.repoId, l)),
      assignee: this.simpleUser(i.assignees[0] ?? null), assignees: i.assignees.map((a) => this.simpleUser(a)),
      milestone: null, locked: i.locked, active_lock_reason: null, comments: i.comments,
      created_at: iso(i.created_at), updated_at: iso(i.updated_at), closed_at: iso(i.closed_at),
      author_association: this.association(i.repoId, i.user), draft: i.isPull ? i.draft : undefined,
    };
    if (i.isPull) {
      out.pull_request = {
        url: `${url}/pulls/${i.number}`, html_url: `${html}/pull/${i.number}`, diff_url: `${html}/pull/${i.number}.diff`,
        patch_url: `${html}/pull/${i.number}.patch`, merged_at: iso(i.merged_at),
      };
    } else delete out.draft;
    return out;
  }

  private association(repoId: number, login: string): string {
    const { repo } = this.repoFull(repoId);
    return repo.owner.toLowerCase() === login.toLowerCase() ? 'OWNER' : 'CONTRIBUTOR';
  }

  private branchRef(i: IssueRec, which: 'head' | 'base'): Record<string, unknown> {
    const { repo } = this.repoFull(i.repoId);
    const b = which === 'head' ? i.head : i.base;
    const r = which === 'head' && i.head.repoId !== null ? this.store.repos.get(i.head.repoId) ?? repo : repo;
    return { label: `${r.owner}:${b.ref}`, ref: b.ref, sha: b.sha, user: this.simpleUser(r.owner), repo: this.repo(r) };
  }

  pull(i: IssueRec, full: boolean): Record<string, unknown> {
    const { url, html } = this.repoFull(i.repoId);
    const out: Record<string, unknown> = {
      url: `${url}/pulls/${i.number}`, id: i.pullId, node_id: nodeId('PR', i.pullId ?? 0), html_url: `${html}/pull/${i.number}`,
      diff_url: `${html}/pull/${i.number}.diff`, patch_url: `${html}/pull/${i.number}.patch`, issue_url: `${url}/issues/${i.number}`,
      commits_url: `${url}/pulls/${i.number}/commits`, review_comments_url: `${url}/pulls/${i.number}/comments`,
      comments_url: `${url}/issues/${i.number}/comments`, statuses_url: `${url}/statuses/${i.head.sha}`,
      number: i.number, state: i.state, locked: i.locked, title: i.title, user: this.simpleUser(i.user), body: i.body,
      labels: i.labels.map((l) => this.label(i.repoId, l)), milestone: null, active_lock_reason: null,
      created_at: iso(i.created_at), updated_at: iso(i.updated_at), closed_at: iso(i.closed_at), merged_at: iso(i.merged_at),
      merge_commit_sha: i.merge_commit_sha, assignee: this.simpleUser(i.assignees[0] ?? null),
      assignees: i.assignees.map((a) => this.simpleUser(a)), requested_reviewers: i.requested_reviewers.map((a) => this.simpleUser(a)),
      requested_teams: [], head: this.branchRef(i, 'head'), base: this.branchRef(i, 'base'),
      author_association: this.association(i.repoId, i.user), auto_merge: null, draft: i.draft,
    };
    if (full) {
      Object.assign(out, {
        merged: i.merged_at !== null, mergeable: i.state === 'open' ? true : null, rebaseable: i.state === 'open' ? true : null,
        mergeable_state: i.state === 'open' ? 'clean' : 'unknown', merged_by: this.simpleUser(i.merged_by), comments: i.comments,
        review_comments: i.review_comments, maintainer_can_modify: false, commits: i.commits, additions: i.additions,
        deletions: i.deletions, changed_files: i.changed_files,
      });
    }
    return out;
  }

  review(r: ReviewRec): Record<string, unknown> {
    const { url, html } = this.repoFull(r.repoId);
    return {
      id: r.id, node_id: nodeId('PRR', r.id), user: this.simpleUser(r.user), body: r.body, state: r.state,
      html_url: `${html}/pull/${r.pullNumber}#pullrequestreview-${r.id}`, pull_request_url: `${url}/pulls/${r.pullNumber}`,
      author_association: this.association(r.repoId, r.user), submitted_at: iso(r.submitted_at) ?? undefined, commit_id: r.commit_id,
    };
  }

  commit(c: CommitRec): Record<string, unknown> {
    const { url, html } = this.repoFull(c.repoId);
    const author = c.author_login ? this.simpleUser(c.author_login) : null;
    return {
      sha: c.sha, node_id: nodeId('C', c.sha), url: `${url}/commits/${c.sha}`, html_url: `${html}/commit/${c.sha}`,
      comments_url: `${url}/commits/${c.sha}/comments`,
      commit: {
        url: `${url}/git/commits/${c.sha}`,
        author: { name: c.author_name, email: c.author_email, date: iso(c.author_date) },
        committer: { name: c.committer_name, email: c.committer_email, date: iso(c.committer_date) },
        message: c.message, tree: { sha: c.sha.split('').reverse().join(''), url: `${url}/git/trees/${c.sha.split('').reverse().join('')}` },
        comment_count: 0, verification: { verified: false, reason: 'unsigned', signature: null, payload: null },
      },
      author, committer: author,
      parents: c.parents.map((p) => ({ sha: p, url: `${url}/commits/${p}`, html_url: `${html}/commit/${p}` })),
    };
  }

  workflow(w: WorkflowRec): Record<string, unknown> {
    const { url, html } = this.repoFull(w.repoId);
    return {
      id: w.id, node_id: nodeId('W', w.id), name: w.name, path: w.path, state: w.state, created_at: iso(w.created_at),
      updated_at: iso(w.updated_at), url: `${url}/actions/workflows/${w.id}`, html_url: `${html}/blob/main/${w.path}`,
      badge_url: `${html}/workflows/${encodeURIComponent(w.name)}/badge.svg`,
    };
  }

  run(r: RunRec): Record<string, unknown> {
    const { repo, url, html } = this.repoFull(r.repoId);
    const wf = this.store.workflows.get(r.workflow_id);
    const actor = this.simpleUser(r.actor);
    return {
      id: r.id, name: r.name, node_id: nodeId('WFR', r.id), head_branch: r.head_branch, head_sha: r.head_sha, path: wf?.path ?? '',
      display_title: r.display_title, run_number: r.run_number, event: r.event, status: r.status, conclusion: r.conclusion,
      workflow_id: r.workflow_id, check_suite_id: r.check_suite_id, check_suite_node_id: nodeId('CS', r.check_suite_id),
      url: `${url}/actions/runs/${r.id}`, html_url: `${html}/actions/runs/${r.id}`, pull_requests: [],
      created_at: iso(r.created_at), updated_at: iso(r.updated_at), actor, run_attempt: r.run_attempt, referenced_workflows: [],
      run_started_at: iso(r.run_started_at), triggering_actor: actor, jobs_url: `${url}/actions/runs/${r.id}/jobs`,
      logs_url: `${url}/actions/runs/${r.id}/logs`, check_suite_url: `${url}/check-suites/${r.check_suite_id}`,
      artifacts_url: `${url}/actions/runs/${r.id}/artifacts`, cancel_url: `${url}/actions/runs/${r.id}/cancel`,
      rerun_url: `${url}/actions/runs/${r.id}/rerun`, workflow_url: `${url}/actions/workflows/${r.workflow_id}`,
      head_commit: { id: r.head_sha, tree_id: r.head_sha, message: r.display_title, timestamp: iso(r.created_at), author: null, committer: null },
      repository: { id: repo.id, node_id: nodeId('R', repo.id), name: repo.name, full_name: `${repo.owner}/${repo.name}`, private: repo.private, owner: this.simpleUser(repo.owner), url },
      head_repository: { id: repo.id, node_id: nodeId('R', repo.id), name: repo.name, full_name: `${repo.owner}/${repo.name}`, private: repo.private, owner: this.simpleUser(repo.owner), url },
    };
  }

  job(j: JobRec): Record<string, unknown> {
    const { url, html } = this.repoFull(j.repoId);
    const run = this.store.runs.get(j.run_id);
    return {
      id: j.id, run_id: j.run_id, run_url: `${url}/actions/runs/${j.run_id}`, run_attempt: j.run_attempt, node_id: nodeId('CR', j.id),
      head_sha: run?.head_sha ?? '', head_branch: run?.head_branch ?? null, url: `${url}/actions/jobs/${j.id}`,
      html_url: `${html}/actions/runs/${j.run_id}/job/${j.id}`, status: j.status, conclusion: j.conclusion,
      created_at: iso(j.created_at), started_at: iso(j.started_at), completed_at: iso(j.completed_at), name: j.name, steps: j.steps,
      check_run_url: `${url}/check-runs/${j.id}`, labels: j.labels, runner_id: j.runner_name ? 1 : null, runner_name: j.runner_name,
      runner_group_id: j.runner_name ? 1 : null, runner_group_name: j.runner_name ? 'GitHub Actions' : null,
      workflow_name: run?.name ?? null,
    };
  }

  deployment(d: DeploymentRec): Record<string, unknown> {
    const { url } = this.repoFull(d.repoId);
    return {
      url: `${url}/deployments/${d.id}`, id: d.id, node_id: nodeId('DE', d.id), sha: d.sha, ref: d.ref, task: d.task,
      payload: d.payload, original_environment: d.environment, environment: d.environment, description: d.description,
      creator: this.simpleUser(d.creator), created_at: iso(d.created_at), updated_at: iso(d.updated_at),
      statuses_url: `${url}/deployments/${d.id}/statuses`, repository_url: url,
      transient_environment: d.transient_environment, production_environment: d.production_environment,
    };
  }

  deploymentStatus(s: DeploymentStatusRec): Record<string, unknown> {
    const { url } = this.repoFull(s.repoId);
    return {
      url: `${url}/deployments/${s.deployment_id}/statuses/${s.id}`, id: s.id, node_id: nodeId('DES', s.id), state: s.state,
      creator: this.simpleUser(s.creator), description: s.description, environment: s.environment, target_url: s.target_url,
      created_at: iso(s.created_at), updated_at: iso(s.updated_at), deployment_url: `${url}/deployments/${s.deployment_id}`,
      repository_url: url, environment_url: s.environment_url, log_url: s.log_url,
    };
  }

  release(r: ReleaseRec): Record<string, unknown> {
    const { url, html } = this.repoFull(r.repoId);
    return {
      url: `${url}/releases/${r.id}`, html_url: `${html}/releases/tag/${r.tag_name}`, assets_url: `${url}/releases/${r.id}/assets`,
      upload_url: `${url}/releases/${r.id}/assets{?name,label}`, tarball_url: `${url}/tarball/${r.tag_name}`,
      zipball_url: `${url}/zipball/${r.tag_name}`, id: r.id, node_id: nodeId('RE', r.id), tag_name: r.tag_name,
      target_commitish: r.target_commitish, name: r.name, body: r.body, draft: r.draft, prerelease: r.prerelease,
      created_at: iso(r.created_at), published_at: iso(r.published_at), author: this.simpleUser(r.author), assets: [],
    };
  }
}
