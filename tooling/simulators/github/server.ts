/**
 * A GitHub REST API simulator over real HTTP, for what recorded fixtures cannot show (their
 * timestamps are all equal and nothing changes between requests): `since` and `sort`/`direction`
 * over data that changes between syncs, Link-header pagination with page/per_page, rate-limit
 * headers (x-ratelimit-limit/remaining/used/reset/resource), primary-limit exhaustion (403 or 429
 * with remaining 0, until the reset), a secondary limit (403 + retry-after), 304 on a matching
 * If-None-Match (free against the primary limit, as on GitHub), 5xx bursts, gone (404/410) and
 * forbidden (403) repositories, empty repositories (409 on commits), the 1,000-result cap on
 * workflow runs filtered by `created`, GitHub App installation tokens (the JWT is verified with
 * the App's public key) and repository webhooks. Error bodies are GitHub's
 * ({ message, documentation_url }). Behaviour follows docs.github.com as cited in
 * shared/reference/connectors.md §2.
 */
import { createHash, createPublicKey, createVerify, randomBytes, type KeyObject } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

type Obj = Record<string, unknown>;

export interface SimRepo {
	id: number;
	owner: string;
	name: string;
	fullName: string;
	ownerType: 'User' | 'Organization';
	defaultBranch: string;
	createdAt: string;
	updatedAt: string;
	/** 404 or 410: the repository is gone; 403: the token may not see it. */
	unavailable?: 404 | 410 | 403;
	issues: Map<number, { issue: Obj; pull?: Obj }>;
	reviews: Map<number, Obj[]>;
	commits: Obj[];
	workflows: Obj[];
	runs: Obj[];
	jobs: Map<number, Obj[]>;
	deployments: Obj[];
	statuses: Map<number, Obj[]>;
	releases: Obj[];
	hooks: Obj[];
	nextNumber: number;
}

export interface RequestLogEntry {
	method: string;
	path: string;
	status: number;
}

interface Fault {
	kind: 'secondary' | 'server';
	status: number;
	retryAfter?: number;
	remaining: number;
}

const DOCS = 'https://docs.github.com/rest';

export class GitHubSimulator {
	private server: Server | undefined;
	url = '';
	/** Simulated clock (ms): starts 3 days ago, moves 1 s per change, never past real time. */
	private clock = Date.now() - 3 * 86_400_000;
	private nextId = 5000;
	readonly repos = new Map<string, SimRepo>();
	readonly tokens = new Map<string, { login: string; id: number }>();
	readonly log: RequestLogEntry[] = [];
	rate = { limit: 5000, remaining: 5000, used: 0, reset: Math.floor(Date.now() / 1000) + 3600 };
	/** Status of a primary-limit refusal: GitHub sends 403 or 429. */
	primaryStatus = 403;
	private faults: Fault[] = [];
	private app: { appId: string; publicKey: KeyObject; installationId: string; owner: string } | undefined;
	private installationTokens = new Set<string>();
	/** Deliveries a created hook would send are not simulated; hooks are only stored. */

	constructor(options: { token?: string; login?: string } = {}) {
		this.tokens.set(options.token ?? 'ghp_simulated_token', { login: options.login ?? 'octo-user', id: 1 });
	}

	async start(): Promise<string> {
		this.server = createServer((req, res) => {
			const chunks: Buffer[] = [];
			req.on('data', (c: Buffer) => chunks.push(c));
			req.on('end', () => {
				try {
					this.handle(req, res, Buffer.concat(chunks));
				} catch (error) {
					this.send(res, req, 500, { message: `simulator error: ${(error as Error).message}` });
				}
			});
		});
		await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
		this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
		return this.url;
	}

	async stop(): Promise<void> {
		if (!this.server) return;
		this.server.closeAllConnections();
		await new Promise<void>((resolve) => this.server!.close(() => resolve()));
		this.server = undefined;
	}

	// ----------------------------------------------------------------------------- mutation helpers

	/** Advances the simulated clock and returns the new time (ISO, seconds precision like GitHub). */
	tick(seconds = 1): string {
		this.clock = Math.min(this.clock + seconds * 1000, Date.now() - 1000);
		return new Date(Math.floor(this.clock / 1000) * 1000).toISOString().replace(/\.000Z$/, 'Z');
	}

	/** Sets the clock (e.g. back in time to create old workflow runs). */
	setClock(ms: number): void {
		this.clock = ms;
	}

	private id(): number {
		return this.nextId++;
	}

	private user(login = 'octo-user'): Obj {
		return { login, id: login === 'octo-user' ? 1 : 2, node_id: 'U_sim', type: 'User', site_admin: false };
	}

	addRepo(fullName: string, options: { ownerType?: 'User' | 'Organization'; defaultBranch?: string; createdAt?: string } = {}): SimRepo {
		const [owner, name] = fullName.split('/');
		const now = this.tick();
		const repo: SimRepo = {
			id: this.id(),
			owner,
			name,
			fullName,
			ownerType: options.ownerType ?? 'Organization',
			defaultBranch: options.defaultBranch ?? 'main',
			createdAt: options.createdAt ?? now,
			updatedAt: now,
			issues: new Map(),
			reviews: new Map(),
			commits: [],
			workflows: [],
			runs: [],
			jobs: new Map(),
			deployments: [],
			statuses: new Map(),
			releases: [],
			hooks: [],
			nextNumber: 1,
		};
		this.repos.set(fullName, repo);
		return repo;
	}

	private repo(fullName: string): SimRepo {
		const repo = this.repos.get(fullName);
		if (!repo) throw new Error(`simulator: no repository ${fullName}`);
		return repo;
	}

	addIssue(fullName: string, fields: Obj = {}): Obj {
		const repo = this.repo(fullName);
		const now = this.tick();
		const number = repo.nextNumber++;
		const issue: Obj = {
			id: this.id(),
			node_id: `I_${number}`,
			number,
			title: `Issue ${number}`,
			state: 'open',
			user: this.user(),
			labels: [],
			assignees: [],
			comments: 0,
			created_at: now,
			updated_at: now,
			closed_at: null,
			body: null,
			url: `${this.url}/repos/${fullName}/issues/${number}`,
			...fields,
		};
		repo.issues.set(number, { issue });
		return issue;
	}

	updateIssue(fullName: string, number: number, patch: Obj): Obj {
		const entry = this.repo(fullName).issues.get(number);
		if (!entry) throw new Error(`simulator: no issue #${number}`);
		const now = this.tick();
		Object.assign(entry.issue, patch, { updated_at: now });
		if (entry.pull) Object.assign(entry.pull, patch, { updated_at: now });
		return entry.pull ?? entry.issue;
	}

	/** A pull request: also an issue (same number) that the issues endpoint lists with a pull_request key. */
	addPull(fullName: string, fields: Obj = {}): Obj {
		const repo = this.repo(fullName);
		const issue = this.addIssue(fullName, { title: `PR`, ...fields });
		const number = issue.number as number;
		issue.pull_request = { url: `${this.url}/repos/${fullName}/pulls/${number}`, merged_at: null };
		const pull: Obj = {
			id: this.id(),
			node_id: `PR_${number}`,
			number,
			title: issue.title,
			state: 'open',
			user: this.user(),
			labels: [],
			requested_reviewers: [],
			head: { ref: `feature-${number}`, sha: sha(`${fullName}#${number}`) },
			base: { ref: repo.defaultBranch },
			draft: false,
			created_at: issue.created_at,
			updated_at: issue.updated_at,
			closed_at: null,
			merged_at: null,
			...fields,
		};
		repo.issues.get(number)!.pull = pull;
		return pull;
	}

	addReview(fullName: string, pullNumber: number, fields: Obj = {}): Obj {
		const repo = this.repo(fullName);
		const now = this.tick();
		const review: Obj = { id: this.id(), user: this.user('reviewer'), body: 'LGTM', state: 'APPROVED', submitted_at: now, commit_id: sha(now), ...fields };
		repo.reviews.set(pullNumber, [...(repo.reviews.get(pullNumber) ?? []), review]);
		// A review bumps the pull request's updated_at on GitHub.
		this.updateIssue(fullName, pullNumber, {});
		return review;
	}

	addCommit(fullName: string, message = 'change'): Obj {
		const repo = this.repo(fullName);
		const now = this.tick();
		const id = sha(`${fullName}:${repo.commits.length}:${message}`);
		const commit: Obj = {
			sha: id,
			node_id: `C_${id.slice(0, 8)}`,
			commit: { message, author: { name: 'Octo', date: now }, committer: { name: 'Octo', date: now } },
			author: this.user(),
			committer: this.user(),
			parents: repo.commits.length > 0 ? [{ sha: repo.commits[repo.commits.length - 1].sha }] : [],
		};
		repo.commits.push(commit);
		repo.updatedAt = now;
		return commit;
	}

	addWorkflow(fullName: string, name = 'CI'): Obj {
		const now = this.tick();
		const workflow: Obj = { id: this.id(), name, path: `.github/workflows/${name.toLowerCase()}.yml`, state: 'active', created_at: now, updated_at: now };
		this.repo(fullName).workflows.push(workflow);
		return workflow;
	}

	addRun(fullName: string, fields: Obj = {}): Obj {
		const repo = this.repo(fullName);
		const now = this.tick();
		const run: Obj = {
			id: this.id(),
			name: 'CI',
			workflow_id: (repo.workflows[0]?.id as number) ?? null,
			run_number: repo.runs.length + 1,
			run_attempt: 1,
			event: 'push',
			status: 'completed',
			conclusion: 'success',
			head_branch: repo.defaultBranch,
			head_sha: sha(`${now}`),
			created_at: now,
			updated_at: now,
			run_started_at: now,
			pull_requests: [],
			...fields,
		};
		repo.runs.push(run);
		repo.jobs.set(run.id as number, [this.job(run, 1)]);
		return run;
	}

	private job(run: Obj, attempt: number): Obj {
		const now = String(run.updated_at);
		return { id: this.id(), run_id: run.id, run_attempt: attempt, name: 'build', status: 'completed', conclusion: run.conclusion, started_at: now, completed_at: now, created_at: now, steps: [{ name: 'test', number: 1, conclusion: run.conclusion }], labels: ['ubuntu-latest'] };
	}

	/** Re-runs a run (GitHub allows it up to 30 days after creation): new attempt, new job, updated_at moves. */
	rerun(fullName: string, runId: number, conclusion = 'success'): Obj {
		const repo = this.repo(fullName);
		const run = repo.runs.find((r) => r.id === runId);
		if (!run) throw new Error(`simulator: no run ${runId}`);
		const now = this.tick();
		Object.assign(run, { run_attempt: (run.run_attempt as number) + 1, conclusion, updated_at: now, run_started_at: now });
		repo.jobs.get(runId)!.push(this.job(run, run.run_attempt as number));
		return run;
	}

	addDeployment(fullName: string, environment = 'production'): Obj {
		const now = this.tick();
		const deployment: Obj = { id: this.id(), sha: sha(now), ref: 'main', task: 'deploy', environment, creator: this.user(), created_at: now, updated_at: now, payload: {} };
		this.repo(fullName).deployments.push(deployment);
		return deployment;
	}

	addDeploymentStatus(fullName: string, deploymentId: number, state = 'success'): Obj {
		const repo = this.repo(fullName);
		const deployment = repo.deployments.find((d) => d.id === deploymentId);
		if (!deployment) throw new Error(`simulator: no deployment ${deploymentId}`);
		const now = this.tick();
		const status: Obj = { id: this.id(), state, environment: deployment.environment, creator: this.user(), created_at: now, updated_at: now };
		repo.statuses.set(deploymentId, [...(repo.statuses.get(deploymentId) ?? []), status]);
		deployment.updated_at = now;
		return status;
	}

	addRelease(fullName: string, tag: string): Obj {
		const now = this.tick();
		const release: Obj = { id: this.id(), tag_name: tag, name: tag, draft: false, prerelease: false, created_at: now, published_at: now, author: this.user(), assets: [] };
		this.repo(fullName).releases.push(release);
		return release;
	}

	/** The repository stops being available: 404 (deleted / no access) or 410 (gone), or 403. */
	makeUnavailable(fullName: string, status: 404 | 410 | 403): void {
		this.repo(fullName).unavailable = status;
	}

	/** Exhausts the primary limit; it resets after `resetInSeconds` (real time, as GitHub's epoch seconds). */
	exhaustPrimary(resetInSeconds: number, status: 403 | 429 = 403): void {
		this.rate.remaining = 0;
		this.rate.used = this.rate.limit;
		this.rate.reset = Math.floor(Date.now() / 1000) + resetInSeconds;
		this.primaryStatus = status;
	}

	/** The next `count` requests hit a secondary limit (403 or 429 + retry-after). */
	secondaryLimit(count: number, retryAfter: number, status: 403 | 429 = 403): void {
		this.faults.push({ kind: 'secondary', status, retryAfter, remaining: count });
	}

	/** The next `count` requests fail with a 5xx. */
	serverErrors(count: number, status = 502): void {
		this.faults.push({ kind: 'server', status, remaining: count });
	}

	/** Registers a GitHub App whose installation can read `owner`'s repositories. */
	registerApp(appId: string, publicKeyPem: string, installationId: string, owner: string): void {
		this.app = { appId, publicKey: createPublicKey(publicKeyPem), installationId, owner };
	}

	/** What GitHub holds now, per stream, as records keyed like bronze (for equality checks). */
	state(fullName: string): Record<string, Obj[]> {
		const repo = this.repo(fullName);
		const entries = [...repo.issues.values()];
		return {
			issues: entries.filter((e) => !e.pull).map((e) => e.issue),
			pull_requests: entries.filter((e) => e.pull).map((e) => e.pull!),
			pull_request_reviews: [...repo.reviews.values()].flat(),
			commits: repo.commits,
			workflows: repo.workflows,
			workflow_runs: repo.runs,
			workflow_jobs: [...repo.jobs.values()].flat(),
			deployments: repo.deployments,
			deployment_statuses: [...repo.statuses.values()].flat(),
			releases: repo.releases,
		};
	}

	countRequests(filter: (entry: RequestLogEntry) => boolean = () => true): number {
		return this.log.filter(filter).length;
	}

	// ----------------------------------------------------------------------------- HTTP

	private repoObject(repo: SimRepo): Obj {
		return {
			id: repo.id,
			node_id: `R_${repo.id}`,
			name: repo.name,
			full_name: repo.fullName,
			private: false,
			owner: { login: repo.owner, id: 100, type: repo.ownerType },
			default_branch: repo.defaultBranch,
			created_at: repo.createdAt,
			updated_at: repo.updatedAt,
			pushed_at: repo.updatedAt,
			visibility: 'public',
			topics: [],
			archived: false,
		};
	}

	private rateHeaders(): Record<string, string> {
		return {
			'x-ratelimit-limit': String(this.rate.limit),
			'x-ratelimit-remaining': String(this.rate.remaining),
			'x-ratelimit-used': String(this.rate.used),
			'x-ratelimit-reset': String(this.rate.reset),
			'x-ratelimit-resource': 'core',
		};
	}

	private send(res: ServerResponse, req: IncomingMessage, status: number, body: unknown, headers: Record<string, string> = {}): void {
		const text = body === undefined ? '' : JSON.stringify(body);
		this.log.push({ method: req.method ?? 'GET', path: req.url ?? '', status });
		res.writeHead(status, {
			'content-type': 'application/json; charset=utf-8',
			'x-github-request-id': randomBytes(4).toString('hex').toUpperCase(),
			'x-github-api-version-selected': '2022-11-28',
			...this.rateHeaders(),
			...headers,
		});
		res.end(status === 304 ? undefined : text);
	}

	private authenticate(req: IncomingMessage): { login: string; id: number } | 'app-jwt' | null {
		const header = req.headers.authorization ?? '';
		const match = /^(token|bearer)\s+(.+)$/i.exec(header);
		if (!match) return null;
		const credential = match[2].trim();
		if (this.tokens.has(credential)) return this.tokens.get(credential)!;
		if (this.installationTokens.has(credential)) return { login: `app-installation`, id: 3 };
		if (this.app && credential.split('.').length === 3 && this.verifyJwt(credential)) return 'app-jwt';
		return null;
	}

	private verifyJwt(jwt: string): boolean {
		const [header, payload, signature] = jwt.split('.');
		const ok = createVerify('RSA-SHA256').update(`${header}.${payload}`).verify(this.app!.publicKey, Buffer.from(signature, 'base64url'));
		if (!ok) return false;
		const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { iss?: unknown; exp?: number; iat?: number };
		const now = Math.floor(Date.now() / 1000);
		return String(claims.iss) === this.app!.appId && (claims.exp ?? 0) > now && (claims.iat ?? now + 1) <= now + 60 && (claims.exp ?? 0) - (claims.iat ?? 0) <= 660;
	}

	private handle(req: IncomingMessage, res: ServerResponse, body: Buffer): void {
		const url = new URL(req.url ?? '/', this.url);
		const method = req.method ?? 'GET';
		const who = this.authenticate(req);
		if (!who) return this.send(res, req, 401, { message: 'Bad credentials', documentation_url: DOCS, status: '401' });

		// Faults queued by a test, in order.
		const fault = this.faults.find((f) => f.remaining > 0);
		if (fault) {
			fault.remaining--;
			if (fault.kind === 'secondary') {
				return this.send(
					res,
					req,
					fault.status,
					{ message: 'You have exceeded a secondary rate limit. Please wait a few minutes before you try again.', documentation_url: `${DOCS}/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits` },
					{ 'retry-after': String(fault.retryAfter ?? 60) },
				);
			}
			return this.send(res, req, fault.status, { message: 'Server Error' });
		}

		// Primary limit: GET /rate_limit never costs; a 304 does not either (checked below, after the ETag).
		const nowSec = Math.floor(Date.now() / 1000);
		if (nowSec >= this.rate.reset) {
			this.rate = { limit: this.rate.limit, remaining: this.rate.limit, used: 0, reset: nowSec + 3600 };
		}
		if (url.pathname === '/rate_limit') {
			const core = { limit: this.rate.limit, remaining: this.rate.remaining, used: this.rate.used, reset: this.rate.reset };
			return this.send(res, req, 200, { resources: { core }, rate: core });
		}
		if (this.rate.remaining <= 0) {
			return this.send(res, req, this.primaryStatus, {
				message: `API rate limit exceeded for user ID ${who === 'app-jwt' ? 3 : who.id}. If you reach out to GitHub Support for help, please include the request ID.`,
				documentation_url: `${DOCS}/overview/rate-limits-for-the-rest-api`,
				status: String(this.primaryStatus),
			});
		}

		const route = this.route(method, url, who, body);
		if (route.status >= 200 && route.status < 300 && method === 'GET') {
			const etag = `W/"${createHash('sha256').update(JSON.stringify(route.body)).digest('hex').slice(0, 40)}"`;
			route.headers = { ...route.headers, etag };
			if (req.headers['if-none-match'] === etag) return this.send(res, req, 304, undefined, route.headers);
		}
		this.rate.remaining--;
		this.rate.used++;
		return this.send(res, req, route.status, route.body, route.headers);
	}

	private route(method: string, url: URL, who: { login: string; id: number } | 'app-jwt', body: Buffer): { status: number; body: unknown; headers?: Record<string, string> } {
		const parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
		const q = url.searchParams;
		const notFound = { status: 404, body: { message: 'Not Found', documentation_url: DOCS, status: '404' } };

		if (who === 'app-jwt') {
			if (method === 'POST' && parts[0] === 'app' && parts[1] === 'installations' && parts[3] === 'access_tokens' && parts[2] === this.app!.installationId) {
				const token = `ghs_${randomBytes(12).toString('hex')}`;
				this.installationTokens.add(token);
				return { status: 201, body: { token, expires_at: new Date(Date.now() + 3600_000).toISOString(), permissions: { contents: 'read' } } };
			}
			return { status: 401, body: { message: 'A JSON web token could not be decoded', documentation_url: DOCS } };
		}
		if (method === 'GET' && url.pathname === '/user') return { status: 200, body: { login: who.login, id: who.id, type: 'User' } };
		if (method === 'GET' && url.pathname === '/installation/repositories') {
			const repos = [...this.repos.values()].filter((r) => r.owner === this.app?.owner && !r.unavailable);
			const page = this.paginate(url, repos.map((r) => this.repoObject(r)));
			return { status: 200, body: { total_count: repos.length, repositories: page.items }, headers: page.headers };
		}
		if (method === 'GET' && parts[0] === 'users' && parts.length === 2) {
			const owned = [...this.repos.values()].find((r) => r.owner === parts[1]);
			if (!owned) return notFound;
			return { status: 200, body: { login: parts[1], id: 100, type: owned.ownerType } };
		}
		if (method === 'GET' && ((parts[0] === 'orgs' || parts[0] === 'users') && parts[2] === 'repos' || url.pathname === '/user/repos')) {
			const owner = parts[0] === 'user' ? null : parts[1];
			const repos = [...this.repos.values()].filter((r) => (owner === null || r.owner === owner) && r.unavailable === undefined);
			const page = this.paginate(url, repos.map((r) => this.repoObject(r)));
			return { status: 200, body: page.items, headers: page.headers };
		}
		if (parts[0] !== 'repos' || parts.length < 3) return notFound;
		const repo = this.repos.get(`${parts[1]}/${parts[2]}`);
		if (!repo || repo.unavailable === 404) return notFound;
		if (repo.unavailable === 410) return { status: 410, body: { message: 'Repository access blocked', documentation_url: DOCS, status: '410' } };
		if (repo.unavailable === 403) return { status: 403, body: { message: 'Resource not accessible by personal access token', documentation_url: DOCS, status: '403' } };
		const rest = parts.slice(3);
		const list = (items: Obj[]) => {
			const page = this.paginate(url, items);
			return { status: 200, body: page.items, headers: page.headers };
		};
		const wrapped = (key: string, items: Obj[], total = items.length) => {
			const page = this.paginate(url, items);
			return { status: 200, body: { total_count: total, [key]: page.items }, headers: page.headers };
		};

		if (method === 'GET' && rest.length === 0) return { status: 200, body: this.repoObject(repo) };
		if (method === 'GET' && rest[0] === 'issues' && rest.length === 1) {
			const state = q.get('state') ?? 'open';
			const since = q.get('since');
			let items = [...repo.issues.values()].map((e) => e.issue).filter((i) => state === 'all' || i.state === state);
			if (since) items = items.filter((i) => String(i.updated_at) >= normalise(since));
			return list(sortBy(items, q.get('sort') ?? 'created', q.get('direction') ?? 'desc'));
		}
		if (method === 'GET' && rest[0] === 'pulls' && rest.length === 1) {
			const state = q.get('state') ?? 'open';
			const sort = q.get('sort') ?? 'created';
			const items = [...repo.issues.values()].filter((e) => e.pull).map((e) => e.pull!).filter((p) => state === 'all' || p.state === state);
			return list(sortBy(items, sort, q.get('direction') ?? (sort === 'created' ? 'desc' : 'asc')));
		}
		if (method === 'GET' && rest[0] === 'pulls' && rest[2] === 'reviews') {
			if (!repo.issues.get(Number(rest[1]))?.pull) return notFound;
			return list(repo.reviews.get(Number(rest[1])) ?? []);
		}
		if (method === 'GET' && rest[0] === 'commits' && rest.length === 1) {
			if (repo.commits.length === 0) return { status: 409, body: { message: 'Git Repository is empty.', documentation_url: DOCS, status: '409' } };
			const since = q.get('since');
			let items = [...repo.commits].reverse();
			if (since) items = items.filter((c) => String((c.commit as { committer: { date: string } }).committer.date) >= normalise(since));
			return list(items);
		}
		if (method === 'GET' && rest[0] === 'actions' && rest[1] === 'workflows' && rest.length === 2) return wrapped('workflows', repo.workflows);
		if (method === 'GET' && rest[0] === 'actions' && rest[1] === 'runs' && rest.length === 2) {
			let runs = [...repo.runs].sort((a, b) => (b.id as number) - (a.id as number));
			const created = q.get('created');
			if (created) {
				const [from, to] = created.split('..').map(normalise);
				runs = runs.filter((r) => String(r.created_at) >= from && String(r.created_at) <= to);
				// "up to 1,000 results for each search when using … created": pages past 1,000 are empty.
				const total = runs.length;
				return wrapped('workflow_runs', runs.slice(0, 1000), total);
			}
			return wrapped('workflow_runs', runs);
		}
		if (method === 'GET' && rest[0] === 'actions' && rest[1] === 'runs' && rest[3] === 'jobs') {
			const jobs = repo.jobs.get(Number(rest[2]));
			if (!jobs) return notFound;
			const run = repo.runs.find((r) => r.id === Number(rest[2]))!;
			return wrapped('jobs', q.get('filter') === 'all' ? jobs : jobs.filter((j) => j.run_attempt === run.run_attempt));
		}
		if (method === 'GET' && rest[0] === 'deployments' && rest.length === 1) return list([...repo.deployments].reverse());
		if (method === 'GET' && rest[0] === 'deployments' && rest[2] === 'statuses') return list([...(repo.statuses.get(Number(rest[1])) ?? [])].reverse());
		if (method === 'GET' && rest[0] === 'releases' && rest.length === 1) return list([...repo.releases].reverse());
		if (rest[0] === 'hooks') {
			if (method === 'GET' && rest.length === 1) return list(repo.hooks);
			if (method === 'POST' && rest.length === 1) {
				const hook = JSON.parse(body.toString('utf8') || '{}') as Obj;
				const config = (hook.config ?? {}) as Obj;
				if (repo.hooks.some((h) => (h.config as Obj).url === config.url)) {
					return { status: 422, body: { message: 'Validation Failed', errors: [{ resource: 'Hook', code: 'custom', message: 'Hook already exists on this repository' }], documentation_url: DOCS } };
				}
				const created: Obj = { id: this.id(), type: 'Repository', name: 'web', active: hook.active ?? true, events: hook.events ?? ['push'], config: { url: config.url, content_type: config.content_type, insecure_ssl: '0' } };
				repo.hooks.push(created);
				return { status: 201, body: created };
			}
			const index = repo.hooks.findIndex((h) => h.id === Number(rest[1]));
			if (index < 0) return notFound;
			if (method === 'GET') return { status: 200, body: repo.hooks[index] };
			if (method === 'DELETE') {
				repo.hooks.splice(index, 1);
				return { status: 204, body: undefined };
			}
		}
		return notFound;
	}

	/** page / per_page (default 30, max 100) and a Link header with next, last, first, prev. */
	private paginate(url: URL, items: Obj[]): { items: Obj[]; headers: Record<string, string> } {
		const perPage = Math.min(100, Math.max(1, Number(url.searchParams.get('per_page') ?? 30) || 30));
		const page = Math.max(1, Number(url.searchParams.get('page') ?? 1) || 1);
		const last = Math.max(1, Math.ceil(items.length / perPage));
		const link = (n: number) => {
			const target = new URL(url.toString());
			target.searchParams.set('page', String(n));
			return `<${this.url}${target.pathname}${target.search}>`;
		};
		const rels: string[] = [];
		if (page > 1) rels.push(`${link(page - 1)}; rel="prev"`);
		if (page < last) rels.push(`${link(page + 1)}; rel="next"`, `${link(last)}; rel="last"`);
		if (page > 1) rels.push(`${link(1)}; rel="first"`);
		return { items: items.slice((page - 1) * perPage, page * perPage), headers: rels.length > 0 ? { link: rels.join(', ') } : {} };
	}
}

function sha(seed: string): string {
	return createHash('sha1').update(seed).digest('hex');
}

/** ISO timestamps compare as strings once normalised to GitHub's YYYY-MM-DDTHH:MM:SSZ. */
function normalise(value: string): string {
	const ms = Date.parse(value);
	if (Number.isNaN(ms)) return value;
	return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function sortBy(items: Obj[], sort: string, direction: string): Obj[] {
	const field = sort === 'updated' ? 'updated_at' : 'created_at';
	const sorted = [...items].sort((a, b) => String(a[field]).localeCompare(String(b[field])) || (a.id as number) - (b.id as number));
	return direction === 'asc' ? sorted : sorted.reverse();
}
