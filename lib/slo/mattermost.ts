/**
 * Mattermost delivery: incoming webhooks (POST /hooks/<key>, 200 text/plain "ok") and a bot on the
 * REST API (POST /api/v4/posts with a Bearer token, 201 with the post; root_id threads a reply).
 *
 * Retries: 429 waits for X-Ratelimit-Reset (seconds until the limit resets, as Mattermost's
 * throttled limiter sends it; Retry-After is honoured too), 5xx and network errors back off
 * exponentially with jitter; other 4xx are not retried (the request itself is wrong). Whatever
 * finally fails is reported to the caller, which keeps the notification due. No secret (hook key,
 * token) ever appears in a message, error or log line: every text goes through redact().
 */
import { redact, redactDeep } from '../lakehouse/secrets';
import { cutRunes, type PostBody } from './mattermostPosts';

export type MattermostTarget =
	| { mode: 'webhook'; webhookUrl: string; channel?: string; username?: string; iconUrl?: string }
	| { mode: 'bot'; serverUrl: string; token: string; channelId: string };

export class MattermostError extends Error {
	/** HTTP requests made before giving up (set by postToMattermost). */
	attempts = 0;
	constructor(message: string, readonly status: number | null, readonly retryable: boolean, readonly errorId?: string) {
		super(message);
		this.name = 'MattermostError';
	}
}

export function secretsOfTarget(target: MattermostTarget): string[] {
	const out: string[] = [];
	if (target.mode === 'webhook') {
		out.push(target.webhookUrl);
		const key = /\/hooks\/([^/?#]+)/.exec(target.webhookUrl)?.[1];
		if (key) out.push(key);
	} else {
		out.push(target.token);
	}
	return out.filter((s) => s && s.length >= 4).sort((a, b) => b.length - a.length);
}

export interface DeliveryOptions {
	/** Thread root (bot mode only: incoming webhooks cannot thread). */
	rootId?: string | null;
	maxAttempts?: number;
	/** First backoff for 5xx / network errors; doubles per attempt, with jitter. */
	baseDelayMs?: number;
	/** Longest wait accepted for a rate-limit reset; longer means give up now and retry next time. */
	maxWaitMs?: number;
	timeoutMs?: number;
	sleep?: (ms: number) => Promise<void>;
	fetchImpl?: typeof fetch;
	/** Secrets to mask besides the target's own (hook key, token). */
	secrets?: readonly string[];
	/** Files uploaded with uploadFiles() to attach (bot mode only; at most 5 per post). */
	fileIds?: readonly string[];
}

export interface Delivered {
	postId: string | null;
	channelId: string | null;
	attempts: number;
}

const sleepReal = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export function apiBase(serverUrl: string): string {
	let url: URL;
	try {
		url = new URL(serverUrl);
	} catch {
		throw new MattermostError('The Mattermost server URL is not a valid http(s) URL', null, false);
	}
	if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new MattermostError('The Mattermost server URL must start with http:// or https://', null, false);
	return url.toString().replace(/\/+$/, '');
}

function webhookUrl(raw: string): string {
	let url: URL;
	try {
		url = new URL(raw);
	} catch {
		throw new MattermostError('The Mattermost incoming webhook URL is not a valid URL (expected https://<server>/hooks/<key>)', null, false);
	}
	if ((url.protocol !== 'http:' && url.protocol !== 'https:') || !/\/hooks\/[^/]+$/.test(url.pathname)) {
		throw new MattermostError('The Mattermost incoming webhook URL must look like https://<server>/hooks/<key>', null, false);
	}
	return url.toString();
}

/** Posts one message, retrying as the module comment says. */
export async function postToMattermost(target: MattermostTarget, body: PostBody, options: DeliveryOptions = {}): Promise<Delivered> {
	const secrets = [...secretsOfTarget(target), ...(options.secrets ?? [])];
	// Whatever built the body, nothing leaves without passing redact() here.
	body = redactDeep(body, secrets);
	const doFetch = options.fetchImpl ?? fetch;
	const sleep = options.sleep ?? sleepReal;
	const maxAttempts = options.maxAttempts ?? 4;
	const baseDelay = options.baseDelayMs ?? 500;
	const maxWait = options.maxWaitMs ?? 60_000;

	let url: string;
	let init: RequestInit;
	if (target.mode === 'webhook') {
		url = webhookUrl(target.webhookUrl);
		const payload: Record<string, unknown> = { text: body.text, attachments: body.attachments };
		if (body.priority) payload.priority = body.priority;
		if (target.channel) payload.channel = target.channel;
		if (target.username) payload.username = target.username;
		if (target.iconUrl) payload.icon_url = target.iconUrl;
		init = { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(payload) };
	} else {
		if (!target.channelId) throw new MattermostError('The IPAI Mattermost credential has no channel ID', null, false);
		url = `${apiBase(target.serverUrl)}/api/v4/posts`;
		const payload: Record<string, unknown> = {
			channel_id: target.channelId,
			message: body.text,
			props: { attachments: body.attachments },
		};
		if (options.fileIds?.length) payload.file_ids = [...options.fileIds];
		if (options.rootId) payload.root_id = options.rootId;
		// Mattermost sets priority on root posts only; a reply in a thread goes without it.
		else if (body.priority) payload.metadata = { priority: body.priority };
		init = {
			method: 'POST',
			headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${target.token}` },
			body: JSON.stringify(payload),
		};
	}

	const { text, attempts } = await sendWithRetries(
		() => doFetch(url, { ...init, signal: AbortSignal.timeout(options.timeoutMs ?? 15_000) }),
		{ maxAttempts, baseDelay, maxWait, sleep, secrets, what: 'the post' },
	);
	if (target.mode === 'webhook') return { postId: null, channelId: target.channel ?? null, attempts };
	let post: { id?: string; channel_id?: string } = {};
	try {
		post = JSON.parse(text) as typeof post;
	} catch {
		// a proxy answered 2xx with something else: the post may exist, but we cannot thread on it
	}
	return { postId: post.id ?? null, channelId: post.channel_id ?? target.channelId, attempts };
}

/**
 * One Mattermost request under the retry policy of the module comment: no answer or a retryable
 * status backs off and tries again, 429 waits for X-Ratelimit-Reset (not past maxWait), anything
 * else is final. Returns the first 2xx answer's text; throws the last error with its attempt count.
 * `send` is called once per attempt (a request body is consumed by sending it).
 */
export async function sendWithRetries(
	send: () => Promise<Response>,
	options: {
		maxAttempts: number;
		baseDelay: number;
		maxWait: number;
		sleep: (ms: number) => Promise<void>;
		secrets: readonly string[];
		/** What is being sent, for messages: "the post", "the file upload". */
		what: string;
		/** A status-specific next step to put on the error. */
		hints?: Record<number, string>;
	},
): Promise<{ text: string; attempts: number }> {
	const { maxAttempts, baseDelay, sleep } = options;
	let lastError: MattermostError | undefined;
	let attempt = 0;
	while (attempt < maxAttempts) {
		attempt++;
		let response: Response;
		try {
			response = await send();
		} catch (error) {
			lastError = new MattermostError(`Mattermost did not answer ${options.what}: ${redact(causeText(error), [...options.secrets])}`, null, true);
			if (attempt < maxAttempts) await sleep(backoff(baseDelay, attempt));
			continue;
		}
		const text = await response.text();
		if (response.status >= 200 && response.status < 300) return { text, attempts: attempt };
		lastError = errorFrom(response.status, text, [...options.secrets]);
		const hint = options.hints?.[response.status];
		if (hint) lastError = new MattermostError(`${lastError.message.replace(/ — .*$/, '')} — ${hint}`, response.status, false, lastError.errorId);
		if (response.status === 429) {
			const wait = rateLimitWaitMs(response.headers);
			if (wait > options.maxWait) {
				lastError = new MattermostError(`${lastError.message}; the limit resets in ${Math.ceil(wait / 1000)} s, after this run`, 429, true);
				break;
			}
			if (attempt < maxAttempts) await sleep(wait);
			continue;
		}
		if (!lastError.retryable) break;
		if (attempt < maxAttempts) await sleep(backoff(baseDelay, attempt));
	}
	const failure = lastError ?? new MattermostError(`Mattermost did not take ${options.what}`, null, true);
	failure.attempts = attempt;
	throw failure;
}

/** X-Ratelimit-Reset: seconds until reset (an epoch value is converted); Retry-After as fallback. */
export function rateLimitWaitMs(headers: Headers, nowMs = Date.now()): number {
	const reset = Number(headers.get('x-ratelimit-reset'));
	const retryAfter = Number(headers.get('retry-after'));
	let seconds = Number.isFinite(reset) && headers.get('x-ratelimit-reset') !== null ? reset : Number.isFinite(retryAfter) && headers.get('retry-after') !== null ? retryAfter : 1;
	if (seconds > 1e9) seconds = seconds - nowMs / 1000; // an absolute epoch second
	return Math.max(0, Math.ceil(seconds * 1000)) + 50;
}

function backoff(baseMs: number, attempt: number): number {
	const exp = baseMs * 2 ** (attempt - 1);
	return Math.round(exp / 2 + Math.random() * (exp / 2));
}

function causeText(error: unknown): string {
	const e = error as { message?: string; cause?: { code?: string; message?: string } };
	return [e?.message, e?.cause?.code ?? e?.cause?.message].filter(Boolean).join(': ') || String(error);
}

function errorFrom(status: number, text: string, secrets: string[]): MattermostError {
	let id: string | undefined;
	let message = text.trim();
	try {
		const json = JSON.parse(text) as { id?: string; message?: string; detailed_error?: string };
		id = json.id;
		message = [json.message, json.detailed_error].filter(Boolean).join(' — ') || message;
	} catch {
		// text/plain (webhooks behind a proxy, the rate limiter's "limit exceeded")
	}
	const hint = HINTS[status] ?? '';
	const retryable = status === 429 || status >= 500;
	return new MattermostError(
		redact(`Mattermost answered ${status}${id ? ` (${id})` : ''}: ${cutRunes(message || 'no body', 500)}${hint ? ` — ${hint}` : ''}`, secrets),
		status,
		retryable,
		id,
	);
}

const HINTS: Record<number, string> = {
	400: 'check the channel ID (bot mode) or the webhook URL in the IPAI Mattermost credential',
	401: 'the bot token is wrong or revoked: create a new one for the bot and update the IPAI Mattermost credential',
	403: 'the bot may not post in that channel: add the bot to the channel (or allow bots to post everywhere)',
	404: 'nothing is at that URL: check the server URL or webhook URL',
};

/** Credential test without side effects: who am I (bot), or an empty post the hook refuses for lack of text (webhook). */
export async function testMattermost(target: MattermostTarget, fetchImpl: typeof fetch = fetch): Promise<{ ok: boolean; message: string }> {
	const secrets = secretsOfTarget(target);
	try {
		if (target.mode === 'bot') {
			const base = apiBase(target.serverUrl);
			const me = await fetchImpl(`${base}/api/v4/users/me`, { headers: { Authorization: `Bearer ${target.token}` }, signal: AbortSignal.timeout(15_000) });
			const text = await me.text();
			if (!me.ok) return { ok: false, message: errorFrom(me.status, text, secrets).message };
			const user = JSON.parse(text) as { username?: string; is_bot?: boolean };
			if (!target.channelId) return { ok: false, message: `Authenticated as @${user.username}, but no channel ID is set` };
			return { ok: true, message: `Authenticated as @${user.username}${user.is_bot ? ' (bot)' : ''}` };
		}
		const url = webhookUrl(target.webhookUrl);
		// An empty payload is refused with "No text specified" by a hook that exists, and with
		// "Invalid webhook" by one that does not — so nothing is posted either way.
		const response = await fetchImpl(url, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}', signal: AbortSignal.timeout(15_000) });
		const text = await response.text();
		if (response.status === 400 && /incoming_webhook\.text|no text/i.test(text)) return { ok: true, message: 'The incoming webhook exists' };
		if (response.ok) return { ok: true, message: 'The incoming webhook accepted a request' };
		return { ok: false, message: errorFrom(response.status, text, secrets).message };
	} catch (error) {
		return { ok: false, message: redact(error instanceof MattermostError ? error.message : `Mattermost did not answer: ${causeText(error)}`, secrets) };
	}
}
