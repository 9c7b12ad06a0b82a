// GitHub REST API stand-in, written from GitHub's public REST documentation only. See README.md.
import { createHash, randomBytes } from 'node:crypto';
import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApiError, Ctx, Result } from './http';
import { Renderer } from './render';
import { Bucket, rateLimitBody, route } from './routes';
import { Clock, Kind, Store, Time, TokenRec, toMs } from './store';

export type { Time, Kind } from './store';

export interface GitHubStandinOptions {
  port?: number;
  host?: string;
  /** Initial value of the stand-in clock (default 2024-01-01T00:00:00Z). */
  startTime?: Time;
  /** Primary limit per authenticated user (default 5000/h) and for unauthenticated callers (default 60/h). */
  rateLimit?: number;
  anonymousRateLimit?: number;
  /** Status used when the primary limit is exhausted; GitHub documents 403 or 429 (default 403). */
  primaryLimitStatus?: 403 | 429;
}

export interface RequestInfo {
  index: number;
  method: string;
  path: string;
  query: Record<string, string>;
  /** Login of the token's user, or null when unauthenticated / unknown token. */
  user: string | null;
  headers: IncomingMessage['headers'];
}

export interface RequestLogEntry {
  index: number;
  method: string;
  path: string;
  query: Record<string, string>;
  status: number;
  /** Whether the request consumed one unit of the primary rate limit. */
  counted: boolean;
  user: string | null;
  at: string;
}

export type RequestHook = (req: IncomingMessage, info: RequestInfo) => void | Promise<void>;

type Obj = Record<string, unknown>;

export interface GitHubStandin {
  url: string;
  store: Store;
  // clock
  now(): Date;
  advance(ms: number): Date;
  setTime(t: Time): void;
  // data
  addUser(u: Parameters<Store['addUser']>[0]): Obj;
  addToken(t: Parameters<Store['addToken']>[0]): TokenRec;
  addRepo(r: Parameters<Store['addRepo']>[0]): Obj;
  addIssue(i: Parameters<Store['addIssue']>[0]): Obj;
  addPull(p: Parameters<Store['addPull']>[0]): Obj;
  addReview(r: Parameters<Store['addReview']>[0]): Obj;
  addCommit(c: Parameters<Store['addCommit']>[0]): Obj;
  addWorkflow(w: Parameters<Store['addWorkflow']>[0]): Obj;
  addRun(r: Parameters<Store['addRun']>[0]): Obj;
  addJob(j: Parameters<Store['addJob']>[0]): Obj;
  addDeployment(d: Parameters<Store['addDeployment']>[0]): Obj;
  addDeploymentStatus(s: Parameters<Store['addDeploymentStatus']>[0]): Obj;
  addRelease(r: Parameters<Store['addRelease']>[0]): Obj;
  update(kind: Kind, id: number | string, patch: Record<string, unknown>): Obj;
  deleteIssue(repo: string, number: number): void;
  transferIssue(repo: string, number: number, toRepo: string): Obj;
  // traffic control
  onRequest(hook: RequestHook): () => void;
  requests(): RequestLogEntry[];
  resetRequests(): void;
  setRateLimit(l: { limit?: number; remaining?: number; reset?: number; user?: string }): void;
  rateLimit(user?: string | null): Bucket;
  secondaryLimitNext(n: number, retryAfterSeconds?: number, status?: 403 | 429): void;
  failNext(status: number, count?: number, message?: string): void;
  close(): Promise<void>;
}

const BAD_CREDENTIALS = { message: 'Bad credentials', documentation_url: 'https://docs.github.com/rest', status: '401' };

function etagOf(body: string): string {
  return `W/"${createHash('sha256').update(body).digest('hex')}"`;
}

/** Weak comparison (RFC 9110 §8.8.3.2): opaque tags equal after dropping any W/ prefix. */
function etagMatches(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  const strip = (s: string) => s.trim().replace(/^W\//, '');
  return header.split(',').some((t) => t.trim() === '*' || strip(t) === strip(etag));
}

function requestId(): string {
  const h = randomBytes(10).toString('hex').toUpperCase();
  return `${h.slice(0, 4)}:${h.slice(4, 9)}:${h.slice(9, 15)}:${h.slice(15, 20)}:${h.slice(0, 8)}`;
}

export async function startGitHubStandin(options: GitHubStandinOptions = {}): Promise<GitHubStandin> {
  const clock = new Clock(options.startTime ?? '2024-01-01T00:00:00Z');
  const store = new Store(clock);
  let baseUrl = '';
  const render = new Renderer(store, () => baseUrl);
  const hooks: RequestHook[] = [];
  let log: RequestLogEntry[] = [];
  let counter = 0;
  const failQueue: Array<{ status: number; message?: string }> = [];
  let secondary = { n: 0, retryAfter: undefined as number | undefined, status: 403 as 403 | 429 };

  const defaultLimit = options.rateLimit ?? 5000;
  const anonLimit = options.anonymousRateLimit ?? 60;
  const buckets = new Map<string, Bucket>(); // by lower-case login; '' = unauthenticated
  let overrides: { limit?: number; remaining?: number; reset?: number } = {};
  const newBucket = (limit: number): Bucket => ({ limit, remaining: limit, used: 0, reset: Math.floor(clock.now() / 1000) + 3600 });
  const applyOverride = (b: Bucket, o: { limit?: number; remaining?: number; reset?: number }) => {
    if (o.limit !== undefined) b.limit = o.limit;
    if (o.remaining !== undefined) b.remaining = o.remaining;
    if (o.reset !== undefined) b.reset = o.reset;
    b.used = Math.max(0, b.limit - b.remaining);
  };
  const bucketFor = (user: string | null): Bucket => {
    const key = user ? user.toLowerCase() : '';
    let b = buckets.get(key);
    if (!b) {
      b = newBucket(user ? defaultLimit : anonLimit);
      if (user) applyOverride(b, overrides);
      buckets.set(key, b);
    }
    // The window resets at x-ratelimit-reset (epoch seconds), judged by the stand-in clock.
    if (clock.now() >= b.reset * 1000) {
      b.remaining = b.limit;
      b.used = 0;
      b.reset = Math.floor(clock.now() / 1000) + 3600;
    }
    return b;
  };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const u = new URL(req.url ?? '/', 'http://standin');
    const method = (req.method ?? 'GET').toUpperCase();
    const query: Record<string, string> = {};
    for (const [k, v] of u.searchParams) query[k] = v;
    const index = counter++;
    const auth = req.headers.authorization;
    let token: TokenRec | null = null;
    let badToken = false;
    if (auth !== undefined) {
      const m = auth.match(/^(?:bearer|token)\s+(\S+)\s*$/i);
      token = m ? store.tokens.get(m[1]!) ?? null : null;
      badToken = token === null;
    }
    const user = token?.user ?? null;
    for (const h of [...hooks]) await h(req, { index, method, path: u.pathname, query, user, headers: req.headers });

    const headers: Record<string, string> = {
      'content-type': 'application/json; charset=utf-8',
      'x-github-request-id': requestId(),
      'x-github-media-type': 'github.v3; format=json',
      'x-github-api-version-selected': '2022-11-28',
      'access-control-expose-headers': 'ETag, Link, Location, Retry-After, X-GitHub-OTP, X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Used, X-RateLimit-Resource, X-RateLimit-Reset, X-OAuth-Scopes, X-Accepted-OAuth-Scopes, X-Poll-Interval, X-GitHub-Media-Type, X-GitHub-SSO, X-GitHub-Request-Id, Deprecation, Sunset',
    };
    let counted = false;
    const send = (status: number, body: unknown, extra: Record<string, string> = {}) => {
      // A bad token is answered like an unauthenticated caller (IP bucket headers), without spending it.
      const bucket = bucketFor(badToken ? null : user);
      const rl: Record<string, string> = { 'x-ratelimit-limit': String(bucket.limit), 'x-ratelimit-remaining': String(bucket.remaining), 'x-ratelimit-used': String(bucket.used), 'x-ratelimit-reset': String(bucket.reset), 'x-ratelimit-resource': 'core' };
      const all = { ...headers, ...rl, ...extra };
      const text = body === undefined ? '' : JSON.stringify(body);
      if (text === '') delete (all as Record<string, string>)['content-type'];
      res.writeHead(status, all);
      res.end(method === 'HEAD' ? undefined : text);
      log.push({ index, method, path: u.pathname, query, status, counted, user, at: new Date(clock.now()).toISOString() });
    };

    const failure = failQueue.shift();
    if (failure) {
      const msg = failure.message ?? (failure.status >= 500 ? 'Server Error' : 'Simulated failure');
      return send(failure.status, { message: msg, documentation_url: 'https://docs.github.com/rest', status: String(failure.status) });
    }
    if (badToken) return send(401, BAD_CREDENTIALS);
    if (method !== 'GET' && method !== 'HEAD') return send(404, { message: 'Not Found', documentation_url: 'https://docs.github.com/rest', status: '404' });
    if (secondary.n > 0) {
      secondary.n--;
      const extra: Record<string, string> = secondary.retryAfter !== undefined ? { 'retry-after': String(secondary.retryAfter) } : {};
      return send(secondary.status, {
        message: `You have exceeded a secondary rate limit. Please wait a few minutes before you try again. If you reach out to GitHub Support for help, please include the request ID ${headers['x-github-request-id']}.`,
        documentation_url: 'https://docs.github.com/free-pro-team@latest/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits',
        status: String(secondary.status),
      }, extra);
    }
    const bucket = bucketFor(user);
    // "GET /rate_limit ... does not count against your primary rate limit."
    if (u.pathname === '/rate_limit') return send(200, rateLimitBody(bucket));
    if (bucket.remaining <= 0) {
      const st = options.primaryLimitStatus ?? 403;
      const who = token ? `user ID ${store.user(token.user)?.id ?? 0}` : (req.socket.remoteAddress ?? '127.0.0.1');
      return send(st, {
        message: `API rate limit exceeded for ${who}.${token ? '' : " (But here's the good news: Authenticated requests get a higher rate limit. Check out the documentation for more details.)"}`,
        documentation_url: 'https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-the-primary-rate-limit',
        status: String(st),
      });
    }

    const ctx: Ctx = { store, render, token, path: u.pathname.replace(/\/+$/, '') || '/', query: u.searchParams, baseUrl, now: clock.now() };
    let result: Result;
    try {
      result = route(ctx);
    } catch (e) {
      if (!(e instanceof ApiError)) throw e;
      result = { status: e.status, body: e.body(), headers: e.headers };
    }
    const extra: Record<string, string> = { ...(result.headers ?? {}) };
    const spend = () => { counted = true; bucket.used++; bucket.remaining--; };
    if (result.status === 200) {
      const text = JSON.stringify(result.body);
      const etag = etagOf(text);
      extra.etag = etag;
      extra['cache-control'] = token ? 'private, max-age=60, s-maxage=60' : 'public, max-age=60, s-maxage=60';
      extra.vary = 'Accept, Authorization, Cookie, X-GitHub-OTP';
      if (etagMatches(req.headers['if-none-match'], etag)) {
        // "Making a conditional request does not count against your primary rate limit if a 304 response is
        // returned and the request was made while correctly authorized with an Authorization header."
        if (!token) spend();
        delete extra.link;
        return send(304, undefined, extra);
      }
    }
    spend();
    return send(result.status, result.body, extra);
  }

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      if (!res.headersSent) {
        res.writeHead(500, { 'content-type': 'application/json; charset=utf-8' });
        res.end(JSON.stringify({ message: `stand-in error: ${e instanceof Error ? e.message : String(e)}`, status: '500' }));
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const addr = server.address() as AddressInfo;
  baseUrl = `http://${options.host ?? '127.0.0.1'}:${addr.port}`;

  const issueView = (i: ReturnType<Store['addIssue']>) => render.issue(i);

  return {
    url: baseUrl,
    store,
    now: () => new Date(clock.now()),
    advance: (ms) => new Date(clock.advance(ms)),
    setTime: (t) => clock.set(t),
    addUser: (x) => render.fullUser(store.addUser(x)),
    addToken: (x) => store.addToken(x),
    addRepo: (x) => render.repo(store.addRepo(x)),
    addIssue: (x) => issueView(store.addIssue(x)),
    addPull: (x) => render.pull(store.addPull(x), true),
    addReview: (x) => render.review(store.addReview(x)),
    addCommit: (x) => render.commit(store.addCommit(x)),
    addWorkflow: (x) => render.workflow(store.addWorkflow(x)),
    addRun: (x) => render.run(store.addRun(x)),
    addJob: (x) => render.job(store.addJob(x)),
    addDeployment: (x) => render.deployment(store.addDeployment(x)),
    addDeploymentStatus: (x) => render.deploymentStatus(store.addDeploymentStatus(x)),
    addRelease: (x) => render.release(store.addRelease(x)),
    update(kind, id, patch) {
      const rec = store.update(kind, id, patch) as { kind: string };
      switch (rec.kind) {
        case 'user': return render.fullUser(rec as never);
        case 'repo': return render.repo(rec as never);
        case 'issue': return kind === 'pull' ? render.pull(rec as never, true) : render.issue(rec as never);
        case 'review': return render.review(rec as never);
        case 'commit': return render.commit(rec as never);
        case 'workflow': return render.workflow(rec as never);
        case 'run': return render.run(rec as never);
        case 'job': return render.job(rec as never);
        case 'deployment': return render.deployment(rec as never);
        case 'deploymentStatus': return render.deploymentStatus(rec as never);
        case 'release': return render.release(rec as never);
        default: return rec as Obj;
      }
    },
    deleteIssue: (repo, number) => store.deleteIssue(repo, number),
    transferIssue: (repo, number, toRepo) => issueView(store.transferIssue(repo, number, toRepo)),
    onRequest(hook) {
      hooks.push(hook);
      return () => { const i = hooks.indexOf(hook); if (i >= 0) hooks.splice(i, 1); };
    },
    requests: () => log.map((e) => ({ ...e, query: { ...e.query } })),
    resetRequests() { log = []; counter = 0; },
    setRateLimit(l) {
      if (l.user) applyOverride(bucketFor(l.user), l);
      else {
        overrides = { ...overrides, ...l };
        for (const [k, b] of buckets) if (k !== '') applyOverride(b, l);
      }
    },
    rateLimit: (user) => ({ ...bucketFor(user ?? null) }),
    secondaryLimitNext(n, retryAfterSeconds, status = 403) { secondary = { n, retryAfter: retryAfterSeconds, status }; },
    failNext(status, count = 1, message) { for (let i = 0; i < count; i++) failQueue.push({ status, message }); },
    close: () => new Promise<void>((resolve, reject) => {
      server.closeAllConnections();
      server.close((e) => (e ? reject(e) : resolve()));
    }),
  };
}

export { toMs };
