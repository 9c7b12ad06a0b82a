/**
 * A Mattermost server for tests, over real HTTP, speaking the two protocols alerts use:
 *
 *   POST /hooks/<key>        incoming webhook: JSON (or form `payload=`) → 200 text/plain "ok";
 *                            unknown key → 400 web.incoming_webhook.invalid.app_error; no text and
 *                            no attachments → 400 web.incoming_webhook.text.app_error; bad JSON →
 *                            400 web.incoming_webhook.parse.app_error
 *   POST /api/v4/posts       Bearer token; 201 with the post JSON (id, create_at, channel_id,
 *                            root_id, message, props, metadata); no/unknown token → 401
 *                            api.context.session_expired.app_error; not a channel member → 403
 *                            api.context.permissions.app_error; missing channel_id/message →
 *                            400 api.context.invalid_body_param.app_error; unknown root_id →
 *                            400 api.post.create_post.root_id.app_error; too long →
 *                            400 model.post.is_valid.msg.app_error
 *   GET  /api/v4/users/me    the token's user (credential test)
 *   POST /api/v4/files, GET /api/v4/files/{id}, and `file_ids` on posts: see ./files.ts
 *
 * Errors have Mattermost's AppError shape {id, message, detailed_error, request_id, status_code}.
 * Faults are injectable: `rateLimit(n, resetSeconds)` answers the next n requests with 429 and
 * X-Ratelimit-Limit / -Remaining / -Reset (body "limit exceeded", as Mattermost's throttled limiter
 * sends it), `failNext(n, status)` with a 5xx. Every accepted post is recorded for assertions.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { MAX_FILES_PER_POST, SimFileStore } from './files';

export interface SimUser {
	id: string;
	username: string;
	isBot: boolean;
	/** Channel ids the user may post in. */
	channels: string[];
}

export interface SimHook {
	/** The channel the hook posts to by default (its id). */
	channelId: string;
	channelName: string;
}

export interface RecordedPost {
	id: string;
	via: 'webhook' | 'api';
	channelId: string;
	rootId: string;
	message: string;
	props: Record<string, unknown>;
	metadata: Record<string, unknown>;
	/** The request body exactly as received (for webhook-only fields: priority, username, channel). */
	raw: Record<string, unknown>;
	/** Files attached (ids in `files`). */
	fileIds: string[];
	userId: string | null;
	createAt: number;
}

export interface RequestLog {
	method: string;
	path: string;
	status: number;
	at: number;
}

export interface MattermostSimulatorOptions {
	hooks?: Record<string, SimHook>;
	/** token → user */
	tokens?: Record<string, SimUser>;
	/** channel ids that exist */
	channels?: Array<{ id: string; name: string }>;
	/** Max message runes (Mattermost 5.0+: 16383). */
	maxRunes?: number;
	/** Max bytes of one uploaded file (Mattermost's default MaxFileSize: 100 MiB). */
	maxFileBytes?: number;
}

export const MAX_RUNES = 16_383;

export class MattermostSimulator {
	readonly posts: RecordedPost[] = [];
	readonly requests: RequestLog[] = [];
	/** Uploaded files (POST /api/v4/files), by id. */
	readonly fileStore: SimFileStore;
	/** Added latency per request, so concurrent deliveries overlap in time. */
	delayMs = 0;
	private server?: Server;
	private rateLimited = 0;
	private resetSeconds = 1;
	private failures: Array<{ status: number }> = [];
	private readonly hooks: Record<string, SimHook>;
	private readonly tokens: Record<string, SimUser>;
	private readonly channels: Map<string, string>;
	private readonly maxRunes: number;
	url = '';

	constructor(options: MattermostSimulatorOptions = {}) {
		this.hooks = options.hooks ?? {};
		this.tokens = options.tokens ?? {};
		this.channels = new Map((options.channels ?? []).map((c) => [c.id, c.name]));
		for (const hook of Object.values(this.hooks)) this.channels.set(hook.channelId, hook.channelName);
		this.maxRunes = options.maxRunes ?? MAX_RUNES;
		this.fileStore = new SimFileStore(newId, options.maxFileBytes);
	}

	static async start(options: MattermostSimulatorOptions = {}): Promise<MattermostSimulator> {
		const sim = new MattermostSimulator(options);
		await sim.listen();
		return sim;
	}

	async listen(port = 0): Promise<void> {
		this.server = createServer((req, res) => {
			this.handle(req, res).catch((error: Error) => {
				send(res, 500, appError('app.simulator.internal', error.message, 500));
			});
		});
		await new Promise<void>((resolve) => this.server!.listen(port, '127.0.0.1', resolve));
		this.url = `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
	}

	async close(): Promise<void> {
		if (!this.server) return;
		this.server.closeAllConnections();
		await new Promise<void>((resolve) => this.server!.close(() => resolve()));
	}

	/** The next `times` requests get 429 with the rate-limit headers (reset in `resetSeconds`). */
	rateLimit(times: number, resetSeconds = 1): void {
		this.rateLimited = times;
		this.resetSeconds = resetSeconds;
	}

	/** The next `times` requests fail with `status` (5xx). */
	failNext(times: number, status = 500): void {
		for (let i = 0; i < times; i++) this.failures.push({ status });
	}

	postsIn(channelId: string): RecordedPost[] {
		return this.posts.filter((p) => p.channelId === channelId);
	}

	private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
		const url = new URL(req.url ?? '/', 'http://sim');
		const raw = await readBody(req);
		const body = raw.toString('utf8');
		if (this.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, this.delayMs));
		const log = (status: number) => this.requests.push({ method: req.method ?? '', path: url.pathname, status, at: Date.now() });

		if (this.rateLimited > 0) {
			this.rateLimited--;
			log(429);
			res.writeHead(429, {
				'Content-Type': 'text/plain; charset=utf-8',
				'X-Ratelimit-Limit': '10',
				'X-Ratelimit-Remaining': '0',
				'X-Ratelimit-Reset': String(this.resetSeconds),
				'X-Content-Type-Options': 'nosniff',
			});
			res.end('limit exceeded\n');
			return;
		}
		const failure = this.failures.shift();
		if (failure) {
			log(failure.status);
			if (failure.status === 502 || failure.status === 504) {
				// what a reverse proxy in front of Mattermost answers
				res.writeHead(failure.status, { 'Content-Type': 'text/html' });
				res.end(`<html><body><h1>${failure.status} Bad Gateway</h1></body></html>`);
			} else {
				send(res, failure.status, appError('app.simulator.injected', 'We encountered an error. Please try again.', failure.status));
			}
			return;
		}

		const hook = /^\/hooks\/([A-Za-z0-9]+)$/.exec(url.pathname);
		if (req.method === 'POST' && hook) return this.webhook(hook[1], req, body, res, log);
		if (req.method === 'POST' && url.pathname === '/api/v4/posts') return this.createPost(req, body, res, log);
		if (url.pathname === '/api/v4/files' || url.pathname.startsWith('/api/v4/files/')) return this.filesApi(req, url, raw, res, log);
		if (req.method === 'GET' && url.pathname === '/api/v4/users/me') {
			const user = this.auth(req);
			if (!user) {
				log(401);
				return send(res, 401, appError('api.context.session_expired.app_error', 'Invalid or expired session, please login again.', 401));
			}
			log(200);
			return send(res, 200, { id: user.id, username: user.username, is_bot: user.isBot, roles: 'system_user', delete_at: 0 });
		}
		log(404);
		send(res, 404, appError('api.context.404.app_error', 'Sorry, we could not find the page.', 404));
	}

	private filesApi(req: IncomingMessage, url: URL, raw: Buffer, res: ServerResponse, log: (s: number) => void): void {
		const user = this.auth(req);
		if (!user) {
			log(401);
			return send(res, 401, appError('api.context.session_expired.app_error', 'Invalid or expired session, please login again.', 401));
		}
		const member = (channelId: string) => this.channels.has(channelId) && user.channels.includes(channelId);
		const id = /^\/api\/v4\/files\/([a-z0-9]{26})$/.exec(url.pathname)?.[1];
		const answer =
			req.method === 'POST' && url.pathname === '/api/v4/files' ? this.fileStore.upload(req, url, raw, user.id, member)
			: req.method === 'GET' && id ? this.fileStore.get(id, user.id, member)
			: { status: 404, error: { id: 'api.context.404.app_error', message: 'Sorry, we could not find the page.' } };
		log(answer.status);
		if (answer.error) return send(res, answer.status, appError(answer.error.id, answer.error.message, answer.status));
		if (answer.bytes) {
			res.writeHead(200, { 'Content-Type': answer.bytes.type, 'Content-Disposition': `attachment; filename="${answer.bytes.name}"` });
			res.end(answer.bytes.data);
			return;
		}
		send(res, answer.status, answer.json);
	}

	private auth(req: IncomingMessage): SimUser | null {
		const header = req.headers.authorization ?? '';
		const match = /^Bearer\s+(\S+)$/i.exec(header);
		return match ? this.tokens[match[1]] ?? null : null;
	}

	private webhook(key: string, req: IncomingMessage, body: string, res: ServerResponse, log: (s: number) => void): void {
		const hook = this.hooks[key];
		if (!hook) {
			log(400);
			return send(res, 400, appError('web.incoming_webhook.invalid.app_error', 'Invalid webhook.', 400));
		}
		let payload: Record<string, unknown>;
		try {
			const type = req.headers['content-type'] ?? '';
			if (type.includes('application/x-www-form-urlencoded') || !type) {
				const form = new URLSearchParams(body);
				payload = JSON.parse(form.get('payload') ?? body) as Record<string, unknown>;
			} else {
				payload = JSON.parse(body) as Record<string, unknown>;
			}
		} catch (error) {
			log(400);
			return send(res, 400, appError('web.incoming_webhook.parse.app_error', 'Unable to parse incoming data.', 400, (error as Error).message));
		}
		const text = typeof payload.text === 'string' ? payload.text : '';
		const attachments = Array.isArray(payload.attachments) ? payload.attachments : [];
		if (!text && attachments.length === 0) {
			log(400);
			return send(res, 400, appError('web.incoming_webhook.text.app_error', 'No text specified.', 400));
		}
		let channelId = hook.channelId;
		if (typeof payload.channel === 'string' && payload.channel) {
			const found = [...this.channels].find(([, name]) => name === payload.channel);
			if (!found) {
				log(400);
				return send(res, 400, appError('web.incoming_webhook.channel.app_error', "Couldn't find the channel.", 400));
			}
			channelId = found[0];
		}
		// Mattermost splits an over-long webhook text into consecutive posts.
		const runes = Array.from(text);
		const parts: string[] = [];
		for (let i = 0; i < Math.max(runes.length, 1); i += this.maxRunes) parts.push(runes.slice(i, i + this.maxRunes).join(''));
		parts.forEach((message, i) => {
			this.posts.push({
				id: newId(),
				via: 'webhook',
				channelId,
				rootId: '',
				message,
				props: { from_webhook: 'true', ...(i === parts.length - 1 ? { attachments } : {}) },
				metadata: payload.priority ? { priority: payload.priority } : {},
				raw: payload,
				fileIds: [],
				userId: null,
				createAt: Date.now(),
			});
		});
		log(200);
		res.writeHead(200, { 'Content-Type': 'text/plain' });
		res.end('ok');
	}

	private createPost(req: IncomingMessage, body: string, res: ServerResponse, log: (s: number) => void): void {
		const user = this.auth(req);
		if (!user) {
			log(401);
			return send(res, 401, appError('api.context.session_expired.app_error', 'Invalid or expired session, please login again.', 401));
		}
		let payload: Record<string, unknown>;
		try {
			payload = JSON.parse(body) as Record<string, unknown>;
		} catch {
			log(400);
			return send(res, 400, appError('api.context.invalid_body_param.app_error', 'Invalid or missing post in request body.', 400));
		}
		const channelId = typeof payload.channel_id === 'string' ? payload.channel_id : '';
		if (!channelId) {
			log(400);
			return send(res, 400, appError('api.context.invalid_body_param.app_error', 'Invalid or missing channel_id in request body.', 400));
		}
		if (!this.channels.has(channelId) || !user.channels.includes(channelId)) {
			log(403);
			return send(res, 403, appError('api.context.permissions.app_error', 'You do not have the appropriate permissions.', 403));
		}
		const message = typeof payload.message === 'string' ? payload.message : '';
		const props = (payload.props ?? {}) as Record<string, unknown>;
		const requestedFiles = Array.isArray(payload.file_ids) ? payload.file_ids : [];
		if (requestedFiles.length > MAX_FILES_PER_POST) {
			log(400);
			return send(res, 400, appError('model.post.is_valid.file_ids.app_error', 'Invalid file ids.', 400, `id=, ${requestedFiles.length} files (at most ${MAX_FILES_PER_POST})`));
		}
		if (!message && !Array.isArray(props.attachments) && !requestedFiles.length) {
			log(400);
			return send(res, 400, appError('api.context.invalid_body_param.app_error', 'Invalid or missing message in request body.', 400));
		}
		if (Array.from(message).length > this.maxRunes) {
			log(400);
			return send(res, 400, appError('model.post.is_valid.msg.app_error', 'Invalid Message.', 400, `id=, message length ${Array.from(message).length}`));
		}
		const rootId = typeof payload.root_id === 'string' ? payload.root_id : '';
		if (rootId) {
			const root = this.posts.find((p) => p.id === rootId);
			if (!root || root.channelId !== channelId) {
				log(400);
				return send(res, 400, appError('api.post.create_post.root_id.app_error', 'Invalid RootId parameter.', 400));
			}
		}
		const metadata = (payload.metadata ?? {}) as Record<string, unknown>;
		const postId = newId();
		const fileIds = this.fileStore.attach(requestedFiles, user.id, channelId, postId);
		if (fileIds.length) metadata.files = fileIds.map((id) => this.fileStore.info(this.fileStore.files.get(id)!));
		const post: RecordedPost = {
			id: postId,
			via: 'api',
			channelId,
			rootId,
			message,
			props,
			metadata,
			raw: payload,
			fileIds,
			userId: user.id,
			createAt: Date.now(),
		};
		this.posts.push(post);
		log(201);
		send(res, 201, {
			id: post.id,
			create_at: post.createAt,
			update_at: post.createAt,
			edit_at: 0,
			delete_at: 0,
			is_pinned: false,
			user_id: user.id,
			channel_id: channelId,
			root_id: rootId,
			original_id: '',
			message,
			type: '',
			props,
			hashtag: '',
			pending_post_id: '',
			reply_count: 0,
			file_ids: fileIds,
			metadata,
		});
	}
}

/** Mattermost ids: 26 lower-case base32 characters. */
export function newId(): string {
	const alphabet = 'ybndrfg8ejkmcpqxot1uwisza345h769';
	const bytes = randomBytes(26);
	return Array.from(bytes, (b) => alphabet[b % 32]).join('');
}

function appError(id: string, message: string, status: number, detailed = ''): Record<string, unknown> {
	return { id, message, detailed_error: detailed, request_id: newId(), status_code: status };
}

function send(res: ServerResponse, status: number, json: unknown): void {
	res.writeHead(status, { 'Content-Type': 'application/json' });
	res.end(JSON.stringify(json));
}

function readBody(req: IncomingMessage): Promise<Buffer> {
	return new Promise((resolve, reject) => {
		const chunks: Buffer[] = [];
		req.on('data', (c: Buffer) => chunks.push(c));
		req.on('end', () => resolve(Buffer.concat(chunks)));
		req.on('error', reject);
	});
}
