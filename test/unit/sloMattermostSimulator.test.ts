/** The Mattermost simulator against the documented wire behaviour, and the credential test against it. */
import { testMattermost } from '../../lib/slo/mattermost';
import { MattermostSimulator } from '../../tooling/simulators/mattermost/server';

const TOKEN = 'simtoken00000000000000000a';
const HOOK = 'simhook000000000000000000a';
const CHANNEL = 'simchannel0000000000000001';
let sim: MattermostSimulator;

beforeAll(async () => {
	sim = await MattermostSimulator.start({
		hooks: { [HOOK]: { channelId: CHANNEL, channelName: 'town-square' } },
		tokens: { [TOKEN]: { id: 'u1', username: 'alerts-bot', isBot: true, channels: [CHANNEL] } },
	});
});
afterAll(() => sim.close());

const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
	fetch(`${sim.url}${path}`, { method: 'POST', headers: { 'Content-Type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) });

describe('incoming webhook', () => {
	it('answers 200 text/plain "ok" and records the post', async () => {
		const res = await post(`/hooks/${HOOK}`, { text: 'hello', priority: { priority: 'urgent', requested_ack: true } });
		expect(res.status).toBe(200);
		expect(res.headers.get('content-type')).toBe('text/plain');
		expect(await res.text()).toBe('ok');
		expect(sim.posts.at(-1)).toMatchObject({ via: 'webhook', channelId: CHANNEL, message: 'hello', metadata: { priority: { priority: 'urgent' } } });
	});

	it('refuses an unknown hook, an empty payload and unparsable data with Mattermost\'s AppError shape', async () => {
		const unknown = await post('/hooks/nosuchhook', { text: 'x' });
		expect(unknown.status).toBe(400);
		expect(await unknown.json()).toMatchObject({ id: 'web.incoming_webhook.invalid.app_error', message: 'Invalid webhook.', status_code: 400, request_id: expect.any(String) });
		const empty = await post(`/hooks/${HOOK}`, {});
		expect(await empty.json()).toMatchObject({ id: 'web.incoming_webhook.text.app_error', message: 'No text specified.' });
		const bad = await post(`/hooks/${HOOK}`, '{nope');
		expect(await bad.json()).toMatchObject({ id: 'web.incoming_webhook.parse.app_error' });
	});

	it('splits a text over 16,383 characters into consecutive posts', async () => {
		const before = sim.posts.length;
		await post(`/hooks/${HOOK}`, { text: 'a'.repeat(20_000) });
		expect(sim.posts.slice(before).map((p) => p.message.length)).toEqual([16_383, 3_617]);
	});
});

describe('REST API', () => {
	const auth = { Authorization: `Bearer ${TOKEN}` };
	it('creates posts (201 with id) and threads replies by root_id', async () => {
		const res = await post('/api/v4/posts', { channel_id: CHANNEL, message: 'root' }, auth);
		expect(res.status).toBe(201);
		const root = (await res.json()) as { id: string; channel_id: string; root_id: string };
		expect(root).toMatchObject({ channel_id: CHANNEL, root_id: '' });
		expect(root.id).toMatch(/^[a-z0-9]{26}$/);
		const reply = await post('/api/v4/posts', { channel_id: CHANNEL, message: 'reply', root_id: root.id }, auth);
		expect(((await reply.json()) as { root_id: string }).root_id).toBe(root.id);
		const badRoot = await post('/api/v4/posts', { channel_id: CHANNEL, message: 'x', root_id: 'nosuchpost' }, auth);
		expect(await badRoot.json()).toMatchObject({ id: 'api.post.create_post.root_id.app_error', status_code: 400 });
	});

	it('answers 401, 403 and 400 as Mattermost does', async () => {
		const noAuth = await post('/api/v4/posts', { channel_id: CHANNEL, message: 'x' });
		expect(noAuth.status).toBe(401);
		expect(await noAuth.json()).toMatchObject({ id: 'api.context.session_expired.app_error' });
		const other = await post('/api/v4/posts', { channel_id: 'otherchannel00000000000000', message: 'x' }, auth);
		expect(other.status).toBe(403);
		expect(await other.json()).toMatchObject({ id: 'api.context.permissions.app_error' });
		const noChannel = await post('/api/v4/posts', { message: 'x' }, auth);
		expect(await noChannel.json()).toMatchObject({ id: 'api.context.invalid_body_param.app_error', message: 'Invalid or missing channel_id in request body.' });
		const tooLong = await post('/api/v4/posts', { channel_id: CHANNEL, message: 'a'.repeat(16_384) }, auth);
		expect(await tooLong.json()).toMatchObject({ id: 'model.post.is_valid.msg.app_error' });
	});

	it('injects 429 with the rate-limit headers and 5xx on demand', async () => {
		sim.rateLimit(1, 3);
		const limited = await post(`/hooks/${HOOK}`, { text: 'x' });
		expect(limited.status).toBe(429);
		expect(Object.fromEntries(['x-ratelimit-limit', 'x-ratelimit-remaining', 'x-ratelimit-reset'].map((h) => [h, limited.headers.get(h)]))).toEqual({
			'x-ratelimit-limit': '10', 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': '3',
		});
		expect(await limited.text()).toBe('limit exceeded\n');
		sim.failNext(1, 503);
		expect((await post(`/hooks/${HOOK}`, { text: 'x' })).status).toBe(503);
		expect((await post(`/hooks/${HOOK}`, { text: 'x' })).status).toBe(200);
	});
});

describe('credential test', () => {
	it('bot: asks users/me; webhook: an empty payload that posts nothing', async () => {
		expect(await testMattermost({ mode: 'bot', serverUrl: sim.url, token: TOKEN, channelId: CHANNEL })).toEqual({ ok: true, message: 'Authenticated as @alerts-bot (bot)' });
		const wrong = await testMattermost({ mode: 'bot', serverUrl: sim.url, token: 'wrongtoken', channelId: CHANNEL });
		expect(wrong.ok).toBe(false);
		expect(wrong.message).toMatch(/401.*token is wrong or revoked/);
		expect(wrong.message).not.toContain('wrongtoken');
		const before = sim.posts.length;
		expect(await testMattermost({ mode: 'webhook', webhookUrl: `${sim.url}/hooks/${HOOK}` })).toEqual({ ok: true, message: 'The incoming webhook exists' });
		const missing = await testMattermost({ mode: 'webhook', webhookUrl: `${sim.url}/hooks/nosuchhook0000` });
		expect(missing.ok).toBe(false);
		expect(missing.message).toMatch(/Invalid webhook/);
		expect(missing.message).not.toContain('nosuchhook0000');
		expect(sim.posts.length).toBe(before);
	});
});
