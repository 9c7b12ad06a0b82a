/**
 * A GitHub REST client for syncs: Octokit with GitHub's recommended throttling and retries, plus
 * what a sync needs on top — conditional requests (ETag → 304 costs no primary quota), Link-header
 * paging one page at a time, a count of every HTTP request sent and the rate-limit budget last seen.
 *
 * Rate limits (GitHub docs, rate-limits-for-the-rest-api.md):
 * - primary limit exhausted (403 or 429 with x-ratelimit-remaining: 0): wait until x-ratelimit-reset;
 * - secondary limit (403/429 "secondary rate limit"): wait retry-after seconds (60 s when absent);
 * - 5xx: retried with backoff (plugin-retry: 1 s, 4 s, 9 s).
 * Every wait is bounded by maxWaitSeconds: past it the sync stops with a message that says when to
 * run again, instead of hanging an n8n execution for an hour.
 *
 * @octokit/plugin-throttling 8.x (the last CommonJS line, which n8n's require() and jest load
 * without an ESM loader) reacts to 403 only; 429 is handled here with the same policy.
 */
import { Octokit } from '@octokit/core';
import { retry } from '@octokit/plugin-retry';
import { throttling } from '@octokit/plugin-throttling';
import { appAuthStrategy, type GitHubAuth } from './auth';

export interface GitHubClientOptions {
	auth: GitHubAuth;
	/** https://api.github.com (default) or a GitHub Enterprise Server's https://HOST/api/v3. */
	baseUrl?: string;
	/** Longest single wait for a rate limit before giving up with an actionable error (default 900 s). */
	maxWaitSeconds?: number;
	/** Retries of a rate-limited request (default 4) and of a 5xx answer (default 3). */
	rateLimitRetries?: number;
	serverErrorRetries?: number;
	/** Multiplier of plugin-retry's backoff seconds (1,4,9…) in ms; default 1000. */
	retryBaseMs?: number;
	userAgent?: string;
	/** Per-request timeout in ms (default 60 s). */
	timeoutMs?: number;
}

export interface RateBudget {
	resource: string;
	limit: number;
	remaining: number;
	used: number;
	/** When the window resets (ISO). */
	resetAt: string;
}

export interface RateLimitWait {
	kind: 'primary' | 'secondary';
	seconds: number;
	status: number;
	url: string;
}

export interface ClientStats {
	/** HTTP requests sent, retries included. */
	requests: number;
	/** Answers 304 Not Modified (free against the primary limit). */
	notModified: number;
	/** Rate-limit and 5xx retries. */
	retries: number;
	waits: RateLimitWait[];
	/** The budget last reported per resource (core, search, graphql …). */
	budget: Record<string, RateBudget>;
}

export interface GitHubResponse<T = unknown> {
	status: number;
	data: T;
	headers: Record<string, string | undefined>;
	/** 304: the stored ETag still matches; data is null. */
	notModified: boolean;
	etag?: string;
	/** The Link header's rel="next" URL. */
	next?: string;
}

/** An HTTP error from GitHub, with the fields a sync decides on. No token is ever in it. */
export class GitHubApiError extends Error {
	constructor(
		message: string,
		readonly status: number,
		readonly url: string,
		readonly rateLimited: boolean,
		readonly documentationUrl?: string,
	) {
		super(message);
		this.name = 'GitHubApiError';
	}
}

/** A rate limit we will not wait out (longer than maxWaitSeconds, or retries used up). */
export class RateLimitExceededError extends GitHubApiError {
	constructor(
		message: string,
		status: number,
		url: string,
		readonly resetAt?: string,
	) {
		super(message, status, url, true);
		this.name = 'RateLimitExceededError';
	}
}

const ThrottledOctokit = Octokit.plugin(throttling, retry);
type ThrottledOctokitInstance = InstanceType<typeof ThrottledOctokit>;

interface RequestErrorLike {
	status?: number;
	message?: string;
	response?: { headers?: Record<string, string | undefined>; data?: unknown; url?: string };
	request?: { url?: string };
}

export class GitHubClient {
	readonly baseUrl: string;
	/** Authenticated as a GitHub App installation (lists repositories through /installation/repositories). */
	readonly isApp: boolean;
	readonly stats: ClientStats = { requests: 0, notModified: 0, retries: 0, waits: [], budget: {} };
	private readonly octokit: ThrottledOctokitInstance;
	private readonly maxWaitSeconds: number;
	private readonly rateLimitRetries: number;
	/** Rate-limit refusals seen but not retried: turned into RateLimitExceededError for the caller. */
	private lastRefusal: { reason: string; resetAt?: string } | undefined;

	constructor(options: GitHubClientOptions) {
		this.baseUrl = (options.baseUrl || 'https://api.github.com').replace(/\/+$/, '');
		this.isApp = options.auth.type === 'app';
		this.maxWaitSeconds = options.maxWaitSeconds ?? 900;
		this.rateLimitRetries = options.rateLimitRetries ?? 4;
		const stats = this.stats;
		const timeoutMs = options.timeoutMs ?? 60_000;
		const countingFetch = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
			stats.requests++;
			const response = await fetch(input, { ...init, signal: init?.signal ?? AbortSignal.timeout(timeoutMs) });
			this.observe(response.headers);
			if (response.status === 304) stats.notModified++;
			return response;
		};
		const decide = (kind: 'primary' | 'secondary') =>
			(retryAfter: number, requestOptions: { method?: string; url?: string }, _octokit: unknown, retryCount: number): boolean =>
				this.allowWait(kind, retryAfter, 403, `${requestOptions.method ?? 'GET'} ${requestOptions.url ?? ''}`, retryCount);
		const common = {
			baseUrl: this.baseUrl,
			userAgent: options.userAgent ?? 'n8n-nodes-ipai-lakehouse',
			request: { fetch: countingFetch },
			// 429 is handled by wrap429 below with the rate-limit policy, not by blind backoff.
			retry: { doNotRetry: [400, 401, 403, 404, 409, 410, 422, 429, 451], retries: options.serverErrorRetries ?? 3, retryAfterBaseValue: options.retryBaseMs ?? 1000 },
			throttle: { onRateLimit: decide('primary'), onSecondaryRateLimit: decide('secondary'), id: 'ipai-github' },
			log: { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined },
		};
		this.octokit =
			options.auth.type === 'app'
				? new ThrottledOctokit({ ...common, authStrategy: appAuthStrategy, auth: { ...options.auth, baseUrl: this.baseUrl, fetch: countingFetch } })
				: new ThrottledOctokit({ ...common, auth: options.auth.token });
		this.octokit.hook.wrap('request', async (request, requestOptions) => this.wrap429(async () => request(requestOptions), requestOptions));
		this.octokit.hook.error('request', (error) => {
			const status = (error as RequestErrorLike).status ?? 0;
			if (status >= 500) this.stats.retries++;
			throw error;
		});
	}

	/** Whether to wait out a rate limit: bounded by maxWaitSeconds and the retry count. */
	private allowWait(kind: 'primary' | 'secondary', seconds: number, status: number, url: string, retryCount: number): boolean {
		if (retryCount >= this.rateLimitRetries) {
			this.lastRefusal = { reason: `still rate limited after ${retryCount} retries` };
			return false;
		}
		if (seconds > this.maxWaitSeconds) {
			const resetAt = new Date(Date.now() + seconds * 1000).toISOString();
			this.lastRefusal = { reason: `the ${kind} limit resets in ${seconds} s, longer than the ${this.maxWaitSeconds} s this sync may wait`, resetAt };
			return false;
		}
		this.stats.retries++;
		this.stats.waits.push({ kind, seconds, status, url: url.replace(/\?.*$/, '') });
		return true;
	}

	/** 429 answers: the same policy plugin-throttling applies to 403 (see the file comment). */
	private async wrap429<T>(send: () => Promise<T>, requestOptions: { method?: string; url?: string }): Promise<T> {
		for (let attempt = 0; ; attempt++) {
			try {
				return await send();
			} catch (error) {
				const e = error as RequestErrorLike;
				if (e.status !== 429) throw error;
				const headers = e.response?.headers ?? {};
				const secondary = /\bsecondary rate\b/i.test(e.message ?? '') || headers['x-ratelimit-remaining'] !== '0';
				const seconds = secondary
					? Number(headers['retry-after']) || 60
					: Math.max(Math.ceil(Number(headers['x-ratelimit-reset']) - Date.now() / 1000) + 1, 0);
				if (!this.allowWait(secondary ? 'secondary' : 'primary', seconds, 429, `${requestOptions.method ?? 'GET'} ${requestOptions.url ?? ''}`, attempt)) {
					throw error;
				}
				await sleep(seconds * 1000);
			}
		}
	}

	private observe(headers: Headers): void {
		const limit = headers.get('x-ratelimit-limit');
		if (limit === null) return;
		const resource = headers.get('x-ratelimit-resource') ?? 'core';
		const reset = Number(headers.get('x-ratelimit-reset') ?? 0);
		this.stats.budget[resource] = {
			resource,
			limit: Number(limit),
			remaining: Number(headers.get('x-ratelimit-remaining') ?? 0),
			used: Number(headers.get('x-ratelimit-used') ?? 0),
			resetAt: new Date(reset * 1000).toISOString(),
		};
	}

	/**
	 * GET a URL or route (relative to baseUrl, or an absolute Link URL on the same host).
	 * With an ETag, a 304 comes back as notModified instead of an error.
	 */
	async get<T = unknown>(url: string, params: Record<string, unknown> = {}, etag?: string): Promise<GitHubResponse<T>> {
		return this.send<T>('GET', url, params, etag);
	}

	async send<T = unknown>(method: string, url: string, params: Record<string, unknown> = {}, etag?: string): Promise<GitHubResponse<T>> {
		this.lastRefusal = undefined;
		const headers: Record<string, string> = { accept: 'application/vnd.github+json', 'x-github-api-version': '2022-11-28' };
		if (etag) headers['if-none-match'] = etag;
		try {
			const response = await this.octokit.request(`${method} ${url}`, { ...params, headers });
			const h = response.headers as Record<string, string | undefined>;
			return { status: response.status, data: response.data as T, headers: h, notModified: false, etag: h.etag, next: nextLink(h.link) };
		} catch (error) {
			const e = error as RequestErrorLike;
			if (e.status === 304) {
				const h = e.response?.headers ?? {};
				return { status: 304, data: null as T, headers: h, notModified: true, etag: h.etag ?? etag, next: nextLink(h.link) };
			}
			throw this.toApiError(error, method, url);
		}
	}

	/** The identity behind the credential and the current core budget (GET /rate_limit is free). */
	async whoAmI(auth: GitHubAuth): Promise<{ login: string; kind: 'user' | 'app installation'; budget: RateBudget | undefined }> {
		let login: string;
		let kind: 'user' | 'app installation';
		if (auth.type === 'app') {
			const app = await this.get<{ repositories?: Array<{ owner?: { login?: string } }>; total_count?: number }>('/installation/repositories', { per_page: 1 });
			login = `installation ${auth.installationId}${app.data.repositories?.[0]?.owner?.login ? ` (${app.data.repositories[0].owner.login})` : ''}`;
			kind = 'app installation';
		} else {
			login = (await this.get<{ login: string }>('/user')).data.login;
			kind = 'user';
		}
		await this.get('/rate_limit');
		return { login, kind, budget: this.stats.budget.core };
	}

	private toApiError(error: unknown, method: string, url: string): Error {
		const e = error as RequestErrorLike;
		if (typeof e.status !== 'number' || e.status === 0 || (e.status === 500 && !e.response)) {
			const cause = (error as { cause?: { code?: string; message?: string } }).cause;
			const detail = cause?.code ?? cause?.message ?? (error as Error).message;
			return new GitHubApiError(`GitHub did not answer ${method} ${this.baseUrl}${shortPath(url)}: ${detail}. Check the base URL and the network.`, 0, url, false);
		}
		const headers = e.response?.headers ?? {};
		const data = (e.response?.data ?? {}) as { message?: string; documentation_url?: string };
		const message = typeof data.message === 'string' ? data.message : (e.message ?? `HTTP ${e.status}`);
		const where = `${method} ${shortPath(e.response?.url ?? url)}`;
		const rateLimited =
			(e.status === 403 || e.status === 429) && (headers['x-ratelimit-remaining'] === '0' || /rate limit/i.test(message));
		if (rateLimited) {
			const refusal = this.lastRefusal;
			const resetHeader = Number(headers['x-ratelimit-reset'] ?? 0);
			const resetAt = refusal?.resetAt ?? (resetHeader > 0 ? new Date(resetHeader * 1000).toISOString() : undefined);
			return new RateLimitExceededError(
				`GitHub rate limit: ${message} (${where}); ${refusal?.reason ?? 'not retried'}.` +
					(resetAt ? ` Run the sync again after ${resetAt}; it resumes from its checkpoints.` : ' Run the sync again later; it resumes from its checkpoints.'),
				e.status,
				url,
				resetAt,
			);
		}
		const hint = HINTS[e.status] ?? '';
		return new GitHubApiError(`GitHub answered ${e.status} to ${where}: ${message}${hint ? ` — ${hint}` : ''}`, e.status, url, false, data.documentation_url);
	}
}

const HINTS: Record<number, string> = {
	401: 'the token or GitHub App credentials are invalid or expired; check the IPAI GitHub API credential',
	403: 'the credential may not access this resource (fine-grained tokens and apps need read access to it)',
	404: 'it does not exist or the credential cannot see it',
	410: 'it is gone (deleted or disabled)',
};

function shortPath(url: string): string {
	return url.replace(/^https?:\/\/[^/]+/, '');
}

/** rel="next" of a Link header (RFC 8288), as GitHub sends it. */
export function nextLink(link: string | undefined): string | undefined {
	return parseLinks(link).next;
}

export function parseLinks(link: string | undefined): Record<string, string> {
	const links: Record<string, string> = {};
	if (!link) return links;
	for (const part of link.split(',')) {
		const match = /<([^>]+)>\s*;\s*rel="?([^";]+)"?/.exec(part.trim());
		if (match) for (const rel of match[2].split(/\s+/)) links[rel] = match[1];
	}
	return links;
}

function sleep(ms: number): Promise<void> {
	return new Promise((resolve) => setTimeout(resolve, ms));
}
