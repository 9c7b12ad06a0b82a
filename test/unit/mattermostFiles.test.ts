/**
 * Files on Mattermost: the simulator's POST /api/v4/files against bodies it did not encode (a
 * multipart body written out by hand as RFC 7578 frames it, and Node's own FormData encoder),
 * then the package's uploadFiles/postWithFiles against the simulator: one upload, one post with
 * file_ids, the bytes Mattermost stores equal to the bytes sent, errors with what to fix.
 */
import { PNG } from 'pngjs';
import { MattermostError } from '../../lib/slo/mattermost';
import { postWithFiles, uploadFiles } from '../../lib/slo/mattermostFiles';
import { parseMultipart } from '../../tooling/simulators/mattermost/files';
import { MattermostSimulator } from '../../tooling/simulators/mattermost/server';

const TOKEN = 'filesbottoken0000000000000';
const OTHER = 'otherbottoken0000000000000';
const CHANNEL = 'fileschannel00000000000001';
const FOREIGN = 'foreignchannel000000000001';

let sim: MattermostSimulator;
beforeEach(async () => {
	sim = await MattermostSimulator.start({
		tokens: {
			[TOKEN]: { id: 'filesbotuser00000000000000', username: 'digest-bot', isBot: true, channels: [CHANNEL] },
			[OTHER]: { id: 'otherbotuser00000000000000', username: 'other-bot', isBot: true, channels: [CHANNEL] },
		},
		channels: [{ id: CHANNEL, name: 'digest' }, { id: FOREIGN, name: 'finance' }],
		maxFileBytes: 50_000,
	});
});
afterEach(() => sim.close());

function png(width: number, height: number): Buffer {
	const image = new PNG({ width, height });
	for (let i = 0; i < image.data.length; i += 4) image.data.set([i % 255, 80, 160, 255], i);
	return PNG.sync.write(image);
}

const bot = (token = TOKEN, channelId = CHANNEL) => ({ mode: 'bot' as const, serverUrl: sim.url, token, channelId });
const noWait = { sleep: async () => undefined, baseDelayMs: 1 };

describe('simulator: POST /api/v4/files', () => {
	it('reads a multipart body framed by hand (RFC 7578), binary bytes intact', async () => {
		const image = png(3, 2);
		const boundary = '------------------------d74496d66958873e';
		const body = Buffer.concat([
			Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="channel_id"\r\n\r\n${CHANNEL}\r\n`),
			Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="files"; filename="tiny.png"\r\nContent-Type: image/png\r\n\r\n`),
			image,
			Buffer.from(`\r\n--${boundary}\r\nContent-Disposition: form-data; name="files"; filename="notes.txt"\r\nContent-Type: text/plain\r\n\r\nline one\r\nline two\r\n--${boundary}--\r\n`),
		]);
		const res = await fetch(`${sim.url}/api/v4/files`, { method: 'POST', headers: { Authorization: `Bearer ${TOKEN}`, 'Content-Type': `multipart/form-data; boundary=${boundary}` }, body });
		expect(res.status).toBe(201);
		const { file_infos: infos } = (await res.json()) as { file_infos: Array<Record<string, unknown>> };
		expect(infos.map((f) => [f.name, f.extension, f.mime_type, f.size, f.width, f.height, f.post_id])).toEqual([
			['tiny.png', 'png', 'image/png', image.length, 3, 2, ''],
			['notes.txt', 'txt', 'text/plain', 'line one\r\nline two'.length, 0, 0, ''],
		]);
		const back = await fetch(`${sim.url}/api/v4/files/${infos[0].id}`, { headers: { Authorization: `Bearer ${TOKEN}` } });
		expect(Buffer.from(await back.arrayBuffer()).equals(image)).toBe(true);
	});

	it("reads Node's own FormData encoding and the raw-body form", async () => {
		const form = new FormData();
		form.append('channel_id', CHANNEL);
		form.append('client_ids', 'c1');
		form.append('files', new Blob([png(5, 4)], { type: 'image/png' }), 'chart.png');
		const res = await fetch(`${sim.url}/api/v4/files`, { method: 'POST', headers: { Authorization: `Bearer ${TOKEN}` }, body: form });
		expect(res.status).toBe(201);
		expect(await res.json()).toMatchObject({ client_ids: ['c1'], file_infos: [{ name: 'chart.png', width: 5, height: 4, channel_id: CHANNEL }] });
		const raw = await fetch(`${sim.url}/api/v4/files?channel_id=${CHANNEL}&filename=raw.csv`, { method: 'POST', headers: { Authorization: `Bearer ${TOKEN}` }, body: 'a,b\n1,2\n' });
		expect(await raw.json()).toMatchObject({ file_infos: [{ name: 'raw.csv', mime_type: 'text/csv', size: 8 }] });
	});

	it('answers 401, 403, 400 and 413 with Mattermost error ids', async () => {
		const send = async (token: string | null, channel: string | null, files: Array<[string, Buffer]>) => {
			const form = new FormData();
			if (channel) form.append('channel_id', channel);
			for (const [name, data] of files) form.append('files', new Blob([data]), name);
			const res = await fetch(`${sim.url}/api/v4/files`, { method: 'POST', headers: token ? { Authorization: `Bearer ${token}` } : {}, body: form });
			return [res.status, ((await res.json()) as { id: string }).id];
		};
		expect(await send(null, CHANNEL, [['a.png', png(1, 1)]])).toEqual([401, 'api.context.session_expired.app_error']);
		expect(await send(TOKEN, FOREIGN, [['a.png', png(1, 1)]])).toEqual([403, 'api.context.permissions.app_error']);
		expect(await send(TOKEN, null, [['a.png', png(1, 1)]])).toEqual([400, 'api.context.invalid_body_param.app_error']);
		expect(await send(TOKEN, CHANNEL, [])).toEqual([400, 'api.file.upload_file.incorrect_number_of_files.app_error']);
		expect(await send(TOKEN, CHANNEL, [['big.bin', Buffer.alloc(60_000)]])).toEqual([413, 'api.file.upload_file.too_large_detailed.app_error']);
		expect(() => parseMultipart('multipart/form-data; boundary=x', Buffer.from('--x\r\nno headers end'))).toThrow(/end of headers/);
	});
});

describe('uploadFiles / postWithFiles against the simulator', () => {
	it('uploads in one request and posts every file in one message', async () => {
		const files = [
			{ name: 'finance-net-profit.png', data: png(64, 32), contentType: 'image/png' },
			{ name: 'devops-dora.png', data: png(48, 48), contentType: 'image/png' },
		];
		const delivered = await postWithFiles(bot(), { text: '#### Digest', attachments: [] }, files, noWait);
		expect(sim.requests.map((r) => `${r.method} ${r.path} ${r.status}`)).toEqual(['POST /api/v4/files 201', 'POST /api/v4/posts 201']);
		expect(sim.posts).toHaveLength(1);
		const [post] = sim.posts;
		expect(post).toMatchObject({ via: 'api', channelId: CHANNEL, message: '#### Digest', fileIds: delivered.files.map((f) => f.id) });
		expect(delivered).toMatchObject({ postId: post.id, attempts: 2, files: [{ name: 'finance-net-profit.png', mimeType: 'image/png' }, { name: 'devops-dora.png' }] });
		for (const [i, id] of post.fileIds.entries()) {
			const stored = sim.fileStore.files.get(id)!;
			expect(stored.data.equals(files[i].data)).toBe(true);
			expect(stored.postId).toBe(post.id);
		}
		expect((post.metadata.files as Array<{ width: number }>).map((f) => f.width)).toEqual([64, 48]);
	});

	it('retries a rate limit and a 5xx, and says what to fix on 403 and 413', async () => {
		sim.rateLimit(1, 0);
		sim.failNext(1, 503);
		const ok = await uploadFiles(bot(), [{ name: 'a.png', data: png(2, 2), contentType: 'image/png' }], noWait);
		expect(ok.attempts).toBe(3);
		await expect(uploadFiles(bot(TOKEN, FOREIGN), [{ name: 'a.png', data: png(2, 2), contentType: 'image/png' }], noWait)).rejects.toThrow(/403 \(api\.context\.permissions\.app_error\).*upload_file permission/);
		const big = uploadFiles(bot(), [{ name: 'big.png', data: Buffer.alloc(60_000), contentType: 'image/png' }], noWait);
		await expect(big).rejects.toThrow(/413 .*Maximum File Size/);
		await expect(big).rejects.toMatchObject({ attempts: 1 });
	});

	it('never attaches a file uploaded by someone else, and needs bot mode', async () => {
		const theirs = await uploadFiles(bot(OTHER), [{ name: 'theirs.png', data: png(2, 2), contentType: 'image/png' }], noWait);
		const res = await fetch(`${sim.url}/api/v4/posts`, {
			method: 'POST',
			headers: { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/json' },
			body: JSON.stringify({ channel_id: CHANNEL, message: 'x', file_ids: [theirs.files[0].id] }),
		});
		expect(((await res.json()) as { file_ids: string[] }).file_ids).toEqual([]);
		await expect(postWithFiles({ mode: 'webhook', webhookUrl: `${sim.url}/hooks/abc` }, { text: 'x', attachments: [] }, [], noWait)).rejects.toThrow(MattermostError);
		await expect(postWithFiles(bot(), { text: 'x', attachments: [] }, Array.from({ length: 6 }, (_, i) => ({ name: `${i}.png`, data: png(1, 1), contentType: 'image/png' })), noWait)).rejects.toThrow(/at most 5 files/);
	});
});
