/**
 * The GitHub client and webhook code against real data nobody here wrote:
 * - @octokit/fixtures: recorded api.github.com traffic (Link-header pagination, rate-limit
 *   headers, error bodies), replayed over HTTP exactly as recorded;
 * - @octokit/webhooks-examples: real webhook payloads;
 * - GitHub's documented signature test vector.
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { GitHubApiError, GitHubClient, parseLinks } from '../../lib/sources/github/client';
import type { RepoRef } from '../../lib/sources/github/readers';
import { isUnavailable, readRepositories } from '../../lib/sources/github/sync';
import { deliveryHeaders, eventRecord, signPayload, verifySignature } from '../../lib/sources/github/webhooks';

interface Recorded {
	scope: string;
	method: string;
	path: string;
	status: number;
	body?: unknown;
	response: unknown;
	headers: Record<string, string | number>;
}

const FIXTURES = join(__dirname, '..', '..', 'node_modules', '@octokit', 'fixtures', 'scenarios', 'api.github.com');

function scenario(name: string): Recorded[] {
	return JSON.parse(readFileSync(join(FIXTURES, name, 'normalized-fixture.json'), 'utf8')) as Recorded[];
}

/** Serves recorded responses for exactly the recorded method + path, with api.github.com links rewritten to us. */
async function replay(recorded: Recorded[]): Promise<{ url: string; served: string[]; server: Server }> {
	const served: string[] = [];
	let base = '';
	const server = createServer((req, res) => {
		const hit = recorded.find((r) => r.method.toUpperCase() === req.method && r.path === req.url);
		served.push(`${req.method} ${req.url}`);
		if (!hit) {
			res.writeHead(599, { 'content-type': 'text/plain' });
			res.end(`not recorded: ${req.method} ${req.url}`);
			return;
		}
		const headers: Record<string, string> = {};
		for (const [k, v] of Object.entries(hit.headers)) {
			if (k === 'content-length' || k === 'connection') continue;
			headers[k] = String(v).split('https://api.github.com').join(base);
		}
		res.writeHead(hit.status, headers);
		res.end(typeof hit.response === 'string' ? hit.response : JSON.stringify(hit.response));
	});
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
	base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
	return { url: base, served, server };
}

const close = (server: Server) => new Promise<void>((resolve) => server.close(() => resolve()));

describe('recorded GitHub traffic (@octokit/fixtures)', () => {
	it('follows the recorded Link headers through every page of paginate-issues', async () => {
		const recorded = scenario('paginate-issues');
		const { url, served, server } = await replay(recorded);
		try {
			const client = new GitHubClient({ auth: { type: 'token', token: 'secret-token' }, baseUrl: url });
			let res = await client.get<Array<{ number: number }>>('/repos/octokit-fixture-org/paginate-issues/issues', { per_page: 3 });
			const numbers = res.data.map((i) => i.number);
			while (res.next) {
				res = await client.get(res.next);
				numbers.push(...res.data.map((i) => i.number));
			}
			expect(numbers).toEqual([13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1]);
			expect(served).toEqual(recorded.map((r) => `GET ${r.path}`));
			expect(client.stats.requests).toBe(5);
			// The recorded budget headers (normalised by the fixtures: remaining 4999, resource core).
			expect(client.stats.budget.core).toMatchObject({ limit: 5000, remaining: 4999, resource: 'core' });
		} finally {
			await close(server);
		}
	});

	it('parses GitHub\'s Link header as recorded', () => {
		const link = String(scenario('paginate-issues')[1].headers.link);
		expect(parseLinks(link)).toEqual({
			prev: 'https://api.github.com/repositories/1000/issues?per_page=3&page=1',
			next: 'https://api.github.com/repositories/1000/issues?per_page=3&page=3',
			last: 'https://api.github.com/repositories/1000/issues?per_page=3&page=5',
			first: 'https://api.github.com/repositories/1000/issues?per_page=3&page=1',
		});
	});

	it('turns recorded error bodies into actionable errors: 404 is "unavailable", 422 is not', async () => {
		const recorded = [...scenario('branch-protection'), ...scenario('errors')];
		const { url, server } = await replay(recorded);
		try {
			const client = new GitHubClient({ auth: { type: 'token', token: 'secret-token' }, baseUrl: url });
			const notFound = await client.get('/repos/octokit-fixture-org/branch-protection/branches/main/protection').catch((e: unknown) => e);
			expect(notFound).toBeInstanceOf(GitHubApiError);
			expect(notFound).toMatchObject({ status: 404, rateLimited: false });
			expect((notFound as Error).message).toBe(
				'GitHub answered 404 to GET /repos/octokit-fixture-org/branch-protection/branches/main/protection: Branch not protected — it does not exist or the credential cannot see it',
			);
			expect(isUnavailable(notFound)).toBe(true);
			const invalid = await client.send('POST', '/repos/octokit-fixture-org/errors/labels', { name: 'foo', color: 'invalid' }).catch((e: unknown) => e);
			expect(invalid).toMatchObject({ status: 422 });
			expect((invalid as Error).message).toMatch(/^GitHub answered 422 to POST .*: Validation Failed/);
			expect(isUnavailable(invalid)).toBe(false);
			expect((invalid as Error).message).not.toContain('secret-token');
		} finally {
			await close(server);
		}
	});

	it('reads a recorded repository as the repositories stream does, keeping its ETag and default branch', async () => {
		const { url, server } = await replay(scenario('get-repository'));
		try {
			const client = new GitHubClient({ auth: { type: 'token', token: 't' }, baseUrl: url });
			const found: RepoRef[] = [];
			const pages = [];
			for await (const page of readRepositories(client, { mode: 'list', repositories: ['octokit-fixture-org/hello-world'] }, {}, 100, found, [])) pages.push(page);
			expect(found).toEqual([{ id: 1000, fullName: 'octokit-fixture-org/hello-world', defaultBranch: 'master', createdAt: '2017-10-10T16:00:00Z' }]);
			expect(pages[0].records[0]).toMatchObject({ full_name: 'octokit-fixture-org/hello-world', owner: { login: 'octokit-fixture-org' } });
			expect(pages[pages.length - 1].state).toEqual({ memo: { 'octokit-fixture-org/hello-world': { etag: '"00000000000000000000000000000000"', repos: found } } });
		} finally {
			await close(server);
		}
	});
});

describe('webhook signatures', () => {
	it('matches GitHub\'s documented test vector', () => {
		const secret = "It's a Secret to Everybody";
		expect(signPayload(secret, 'Hello, World!')).toBe('sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17');
		expect(verifySignature(secret, Buffer.from('Hello, World!'), 'sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17')).toEqual({ valid: true });
	});

	it('refuses a missing, malformed, wrong or other-secret signature, and a body changed by one byte', () => {
		const secret = "It's a Secret to Everybody";
		const good = signPayload(secret, 'Hello, World!');
		expect(verifySignature(secret, 'Hello, World!', undefined)).toMatchObject({ valid: false, reason: expect.stringMatching(/missing/) });
		expect(verifySignature(secret, 'Hello, World!', 'sha1=abc')).toMatchObject({ valid: false, reason: expect.stringMatching(/not sha256=/) });
		expect(verifySignature(secret, 'Hello, World?', good)).toMatchObject({ valid: false });
		expect(verifySignature('another secret', 'Hello, World!', good)).toMatchObject({ valid: false });
		expect(verifySignature('', 'Hello, World!', good)).toMatchObject({ valid: false, reason: expect.stringMatching(/no webhook secret/) });
		expect(verifySignature(secret, 'Hello, World!', good.toUpperCase().replace('SHA256', 'sha256'))).toEqual({ valid: true });
	});
});

describe('real webhook payloads (@octokit/webhooks-examples)', () => {
	// eslint-disable-next-line @typescript-eslint/no-require-imports
	const examples = require('@octokit/webhooks-examples') as Array<{ name: string; examples: Array<Record<string, unknown>> }>;

	it('extracts event, action, repository, sender and installation from every example', () => {
		let checked = 0;
		for (const group of examples) {
			for (const payload of group.examples) {
				const raw = Buffer.from(JSON.stringify(payload));
				const signature = signPayload('s3cret', raw);
				expect(verifySignature('s3cret', raw, signature)).toEqual({ valid: true });
				const headers = deliveryHeaders({ 'x-github-event': group.name, 'x-github-delivery': `d-${checked}`, 'x-github-hook-id': '123' });
				if ('error' in headers) throw new Error(headers.error);
				const event = eventRecord(headers, JSON.parse(raw.toString('utf8')) as Record<string, unknown>);
				const repository = payload.repository as { id: number; full_name: string } | undefined;
				expect(event).toMatchObject({
					event: group.name,
					delivery_id: `d-${checked}`,
					action: typeof payload.action === 'string' ? payload.action : null,
					repository_id: repository?.id ?? null,
					repository_full_name: repository?.full_name ?? null,
					sender_login: (payload.sender as { login?: string } | undefined)?.login ?? null,
					hook_id: 123,
				});
				checked++;
			}
		}
		expect(checked).toBeGreaterThan(200);
		const run = examples.find((g) => g.name === 'workflow_run')!.examples[0];
		expect(run.workflow_run).toBeDefined();
	});

	it('says which delivery header is missing', () => {
		expect(deliveryHeaders({ 'x-github-delivery': 'x' })).toEqual({ error: 'the X-GitHub-Event header is missing' });
		expect(deliveryHeaders({ 'x-github-event': 'push' })).toEqual({ error: 'the X-GitHub-Delivery header is missing' });
	});
});
