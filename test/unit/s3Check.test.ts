/**
 * The S3 credential's test button against a real S3 API (s3rver, in process) and against
 * endpoints that are not S3: each wrong field is named, and no key reaches the message.
 */
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { s3Store } from '../../lib/sources/files/remote';
import { checkS3Connection, explainS3Error } from '../../lib/sources/files/s3Check';

jest.setTimeout(60_000);

let dir: string;
let s3rver: { run(): Promise<{ port: number }>; close(): Promise<void> };
let endpoint: string;
let notS3: Server;
let notS3Endpoint: string;
const keys = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

beforeAll(async () => {
	// eslint-disable-next-line @typescript-eslint/no-require-imports
	const S3rver = require('s3rver');
	dir = mkdtempSync(join(tmpdir(), 's3check-'));
	s3rver = new S3rver({ port: 0, address: '127.0.0.1', silent: true, directory: dir });
	endpoint = `http://127.0.0.1:${(await s3rver.run()).port}`;
	const client = new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true, credentials: keys });
	await client.send(new CreateBucketCommand({ Bucket: 'exports' }));
	await client.send(new CreateBucketCommand({ Bucket: 'empty' }));
	await client.send(new PutObjectCommand({ Bucket: 'exports', Key: 'a.csv', Body: 'a\n1\n' }));
	client.destroy();
	// A web server that is not an S3 API (e.g. the storage console's URL pasted as the endpoint).
	notS3 = createServer((_req, res) => {
		res.writeHead(200, { 'content-type': 'text/html' });
		res.end('<!doctype html><html><body>Console</body></html>');
	}).listen(0, '127.0.0.1');
	await once(notS3, 'listening');
	notS3Endpoint = `http://127.0.0.1:${(notS3.address() as { port: number }).port}`;
});

afterAll(async () => {
	await s3rver?.close();
	notS3?.close();
	rmSync(dir, { recursive: true, force: true });
});

const check = (overrides: Record<string, unknown>) =>
	checkS3Connection({ endpoint, region: 'us-east-1', forcePathStyle: true, ...keys, ...overrides });

it('reads the default bucket, or lists buckets when none is set', async () => {
	expect(await check({ bucket: 'exports' })).toEqual({ ok: true, message: expect.stringContaining('bucket "exports" is readable and has objects') });
	expect(await check({ bucket: 'empty' })).toEqual({ ok: true, message: expect.stringContaining('is empty') });
	expect(await check({})).toEqual({ ok: true, message: expect.stringMatching(/2 bucket\(s\) visible/) });
});

it('names the missing bucket', async () => {
	expect(await check({ bucket: 'nope' })).toEqual({ ok: false, message: expect.stringContaining('Bucket "nope" does not exist') });
});

it('names the unknown access key without showing it', async () => {
	const unknownKey = await check({ bucket: 'exports', accessKeyId: 'AKIAWRONGKEY00000000' });
	expect(unknownKey).toEqual({ ok: false, message: expect.stringContaining('check the Access Key ID') });
	expect(unknownKey.message).not.toContain('AKIAWRONGKEY');
});

// s3rver does not verify signatures; these are the error codes of S3's documented error responses
// (https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html) as the SDK raises them.
it.each([
	['SignatureDoesNotMatch', 403, /Secret Access Key does not belong/],
	['AccessDenied', 403, /may not list bucket "exports".*s3:ListBucket/],
	['PermanentRedirect', 301, /another region: check the Region/],
	['SomethingNew', 403, /refused the keys \(HTTP 403\)/],
	['SomethingNew', 500, /failed the check \(SomethingNew/],
])('explains %s (HTTP %i)', (name, status, expected) => {
	expect(explainS3Error({ name, message: 'x', $metadata: { httpStatusCode: status } }, 'https://s3.example', 'exports')).toMatch(expected);
});

it('says an endpoint is unreachable, or answers but is not S3', async () => {
	const closed = await check({ endpoint: 'http://127.0.0.1:1', bucket: 'exports' });
	expect(closed).toEqual({ ok: false, message: expect.stringMatching(/127\.0\.0\.1:1 is unreachable.*check the Endpoint/) });
	const html = await check({ endpoint: notS3Endpoint, bucket: 'exports' });
	expect(html).toEqual({ ok: false, message: expect.stringMatching(/not as an S3 API: check the Endpoint/) });
});

it('a sync from an endpoint that is not S3 fails instead of finding no files', async () => {
	const store = s3Store({ endpoint: notS3Endpoint, region: 'us-east-1', forcePathStyle: true, ...keys, bucket: 'exports' });
	try {
		await expect(async () => {
			for await (const entry of store.list('')) void entry;
		}).rejects.toThrow(/not as an S3 API: check the Endpoint/);
	} finally {
		store.close?.();
	}
});
