/**
 * Everything the shipped workflow templates need, for end-to-end tests: a migrated lakehouse, the
 * Odoo, GitHub, Mattermost and S3 stand-ins (real wire protocols), a real n8n 2.x with the packed
 * package installed, the credentials the manifest names, and the templates imported through
 * `npm run workflows:import` — the way a user sets it up.
 */
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { Pool } from 'pg';
import { migrate } from '../../lib/lakehouse/migrate';
import { listRuns, type RunRow } from '../../lib/lakehouse/runQueries';
import { signPayload } from '../../lib/sources/github/webhooks';
import { referencedTemplateIds } from '../../lib/workflows/templateManifest';
import { loadTemplates } from '../../lib/workflows/templates';
import { createScratchDatabase, type ScratchDatabase } from '../helpers/database';
import { MattermostSimulator } from '../simulators/mattermost/server';
import { GitHubSimulator } from '../simulators/github/server';
import { DEFAULT_ADMIN_API_KEY, OdooSimulator, seedDemoCompany, type RunningServer } from '../simulators/odoo';
import { N8nInstance, type OwnerAccount, type StartOptions } from './n8nRuntime';
import { lakehouseCredential, packPackage } from './pack';

const ROOT = resolve(__dirname, '..', '..');
export const WEBHOOK_HEADER = 'X-IPAI-Key';
const BOT_TOKEN = 'e2etemplatebot000000000000';
const CHANNEL = 'e2etemplatechannel00000001';
const GITHUB_TOKEN = 'ghp_template_e2e';

export interface TemplateStack {
	n8n: N8nInstance;
	owner: OwnerAccount;
	lakehouse: Pick<ScratchDatabase, 'url'>;
	pool: Pool;
	odoo: OdooSimulator;
	github: GitHubSimulator;
	mattermost: MattermostSimulator;
	s3: { endpoint: string; client: S3Client; bucket: string };
	apiKey: string;
	webhookKey: string;
	/** The bearer token Prometheus sends to the metrics webhook. */
	metricsKey: string;
	githubWebhookSecret: string;
	/** Template id (e.g. ipaiDispatcher) → the workflow id n8n gave it on import. */
	workflowIds: Map<string, string>;
	importOutput: string;
	/** POST to a production webhook with the webhook key header. */
	webhook(path: string, body: unknown, headers?: Record<string, string>): Promise<{ status: number; json: unknown }>;
	githubDelivery(event: string, payload: unknown, deliveryId: string): Promise<{ status: number; json: unknown }>;
	activate(templateId: string): Promise<void>;
	/** Adds a connector row (what a user does to add a connector). */
	addConnector(type: string, name: string, config: Record<string, unknown>, schedule: string | null): Promise<string>;
	/** Waits until `done` returns a truthy value, polling the lakehouse. */
	waitFor<T>(what: string, done: () => Promise<T | undefined | null | false>, timeoutMs?: number): Promise<T>;
	dispose(): Promise<void>;
}

export interface TemplateStackOptions {
	/** Names the scratch lakehouse database. */
	name: string;
	/** Use this lakehouse database as it is (the demo's); default: a scratch database, dropped at the end. */
	databaseUrl?: string;
	start?: StartOptions;
	odooDelayMs?: number;
	/** Extra environment for every n8n process (e.g. DB_POSTGRESDB_POOL_SIZE). */
	n8nEnv?: Record<string, string>;
	/** Progress lines (the demo prints them). */
	log?: (line: string) => void;
}

export async function startTemplateStack(options: TemplateStackOptions): Promise<TemplateStack> {
	const log = options.log ?? (() => undefined);
	const cleanups: Array<() => Promise<unknown>> = [];
	const dispose = async () => {
		for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
	};
	try {
		const lakehouse: Pick<ScratchDatabase, 'url'> = options.databaseUrl
			? { url: options.databaseUrl }
			: await createScratchDatabase(`ipai_e2e_${options.name}`);
		if ('drop' in lakehouse) cleanups.push(() => (lakehouse as ScratchDatabase).drop());
		const migrated = await migrate({ connection: { connectionString: lakehouse.url } });
		log(`Migrations: ${migrated.applied.length} applied, ${migrated.alreadyApplied.length} already there`);
		const pool = new Pool({ connectionString: lakehouse.url, max: 4 });
		cleanups.push(() => pool.end());

		const odoo = new OdooSimulator({ version: '17.0' });
		seedDemoCompany(odoo);
		if (options.odooDelayMs) odoo.failNext(1_000_000, { kind: 'delay', ms: options.odooDelayMs, match: { method: 'search_read' } });
		const odooServer: RunningServer = await odoo.start();
		cleanups.push(() => odooServer.close());
		log(`Odoo: a simulated Odoo 17 with a small demo company at ${odooServer.url}`);

		const github = new GitHubSimulator({ token: GITHUB_TOKEN });
		await github.start();
		cleanups.push(() => github.stop());

		const mattermost = await MattermostSimulator.start({
			tokens: { [BOT_TOKEN]: { id: 'e2etemplatebotuser00000000', username: 'ipai-bot', isBot: true, channels: [CHANNEL] } },
			channels: [{ id: CHANNEL, name: 'data-alerts' }],
		});
		cleanups.push(() => mattermost.close());

		// eslint-disable-next-line @typescript-eslint/no-require-imports
		const S3rver = require('s3rver');
		const s3Dir = mkdtempSync(join(tmpdir(), 'ipai-e2e-s3-'));
		const s3rver = new S3rver({ port: 0, address: '127.0.0.1', silent: true, directory: s3Dir });
		const { port: s3Port } = await s3rver.run();
		cleanups.push(async () => {
			await s3rver.close();
			rmSync(s3Dir, { recursive: true, force: true });
		});
		const endpoint = `http://127.0.0.1:${s3Port}`;
		const client = new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } });
		cleanups.push(async () => client.destroy());
		await client.send(new CreateBucketCommand({ Bucket: 'exports' }));
		log(`GitHub, Mattermost and S3 stand-ins at ${github.url}, ${mattermost.url}, ${endpoint}`);

		log('n8n: installing (first run only), packing this package and installing it into n8n…');
		const n8n = await N8nInstance.create({ adminDatabaseUrl: options.databaseUrl, env: options.n8nEnv });
		cleanups.push(() => n8n.dispose());
		await n8n.installPackage(packPackage());
		const webhookKey = randomBytes(12).toString('hex');
		const metricsKey = randomBytes(12).toString('hex');
		const githubWebhookSecret = `whsec-${randomBytes(8).toString('hex')}`;
		const lake = lakehouseCredential('credLakehouse01', lakehouse.url);
		await n8n.importCredentials([
			{ ...lake, name: 'IPAI Lakehouse' },
			{ ...lakehouseCredential('credAgentLake01', lakehouse.url), name: 'IPAI Lakehouse (agent guard)' },
			{ id: 'credOdoo0000001', name: 'IPAI Odoo', type: 'ipaiOdooApi', data: { url: odooServer.url, database: 'odoo', login: 'admin', apiKey: DEFAULT_ADMIN_API_KEY, protocol: 'auto' } },
			{
				id: 'credGitHub00001', name: 'IPAI GitHub', type: 'ipaiGitHubApi',
				data: { authType: 'token', accessToken: GITHUB_TOKEN, baseUrl: github.url, webhookSecret: githubWebhookSecret },
			},
			// A PostgreSQL source for the db-sync template: the lakehouse's own server (the demo seeds a source schema there).
			{ id: 'credPgSource001', name: 'IPAI PostgreSQL Source', type: 'ipaiPostgresSourceApi', data: postgresSourceCredential(lakehouse.url) },
			{ id: 'credMattermost1', name: 'IPAI Mattermost', type: 'ipaiMattermostApi', data: { mode: 'bot', serverUrl: mattermost.url, accessToken: BOT_TOKEN, channelId: CHANNEL } },
			{
				id: 'credS300000001', name: 'IPAI S3', type: 'ipaiS3Api',
				data: { endpoint, region: 'us-east-1', accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER', forcePathStyle: true, bucket: 'exports' },
			},
			// The agent template's chat model: imported so every template maps; never called here.
			{ id: 'credAnthropic01', name: 'Anthropic', type: 'anthropicApi', data: { apiKey: 'sk-ant-not-used' } },
			{ id: 'credWebhookKey1', name: 'IPAI webhook key', type: 'httpHeaderAuth', data: { name: WEBHOOK_HEADER, value: webhookKey } },
			{ id: 'credMetricsKey1', name: 'IPAI metrics scrape key', type: 'httpHeaderAuth', data: { name: 'Authorization', value: `Bearer ${metricsKey}` } },
			// The MCP server template's bearer credential (agent finance_analyst); test/e2e/mcp.test.ts drives that template.
			{ id: 'credMcpBearer01', name: 'IPAI MCP bearer: finance_analyst', type: 'httpBearerAuth', data: { token: randomBytes(16).toString('hex') } },
		]);
		await n8n.start(options.start ?? {});
		const owner = await n8n.setupOwner();
		const apiKey = await n8n.createApiKey();
		log(`n8n: running at ${n8n.baseUrl}; importing the workflow templates (npm run workflows:import)…`);

		// Exactly what the README tells users to run.
		const { stdout: importOutput } = await promisify(execFile)(
			'npx',
			['ts-node', '--transpile-only', join(ROOT, 'bin', 'workflowsImport.ts'), '--n8n-url', n8n.baseUrl, '--api-key', apiKey],
			{ cwd: ROOT, env: process.env, timeout: 120_000 },
		);
		const workflowIds = new Map<string, string>();
		const { templates } = loadTemplates();
		const active = new Set<string>();
		const listed = (await n8n.publicApi(apiKey, 'GET', '/workflows?limit=250')) as { data: Array<{ id: string; name: string }> };
		for (const template of templates) {
			const found = listed.data.filter((w) => w.name === template.entry.name);
			if (found.length !== 1) throw new Error(`expected one imported workflow named "${template.entry.name}", found ${found.length}:\n${importOutput}`);
			workflowIds.set(template.entry.id, found[0].id);
		}

		const post = async (path: string, body: unknown, headers: Record<string, string>) => {
			const res = await fetch(`${n8n.baseUrl}/webhook/${path}`, { method: 'POST', headers, body: typeof body === 'string' || body instanceof FormData ? body : JSON.stringify(body) });
			const text = await res.text();
			let json: unknown = text;
			try {
				json = JSON.parse(text);
			} catch {
				// not JSON: keep the text
			}
			return { status: res.status, json };
		};

		const stack: TemplateStack = {
			n8n, owner, lakehouse, pool, odoo, github, mattermost, apiKey, webhookKey, metricsKey, githubWebhookSecret, workflowIds, importOutput,
			s3: { endpoint, client, bucket: 'exports' },
			webhook: (path, body, headers = {}) =>
				post(path, body, { [WEBHOOK_HEADER]: webhookKey, ...(body instanceof FormData ? {} : { 'content-type': 'application/json' }), ...headers }),
			githubDelivery: (event, payload, deliveryId) => {
				const raw = JSON.stringify(payload);
				return post(`${githubEventsWebhookId()}/webhook`, raw, {
					'content-type': 'application/json',
					'x-github-event': event,
					'x-github-delivery': deliveryId,
					'x-hub-signature-256': signPayload(githubWebhookSecret, raw),
				});
			},
			activate: async function activate(templateId: string): Promise<void> {
				// n8n 2.x publishes a workflow only once the sub-workflows it calls are published.
				const template = templates.find((t) => t.entry.id === templateId)!;
				// The dispatcher reaches the pipelines through their webhooks, which answer only once published.
				const pipelines = template.entry.trigger === 'schedule' && templateId === 'ipaiDispatcher'
					? templates.filter((t) => t.entry.trigger === 'dispatcher').map((t) => t.entry.id)
					: [];
				for (const referenced of [...pipelines, ...referencedTemplateIds(template.workflow)]) {
					if (referenced !== templateId) await activate(referenced);
				}
				if (active.has(templateId)) return;
				await n8n.publicApi(apiKey, 'POST', `/workflows/${workflowIds.get(templateId)}/activate`);
				active.add(templateId);
			},
			addConnector: async (type, name, config, schedule) => {
				const { rows } = await pool.query<{ id: string }>(
					`insert into public.ipai_connector_config (connector_type, name, config, schedule) values ($1, $2, $3, $4) returning id`,
					[type, name, JSON.stringify(config), schedule],
				);
				return rows[0].id;
			},
			waitFor: async (what, done, timeoutMs = 120_000) => {
				const deadline = Date.now() + timeoutMs;
				for (;;) {
					const value = await done();
					if (value) return value;
					if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${n8n.logTail('main', 30)}`);
					await new Promise((r) => setTimeout(r, 500));
				}
			},
			dispose,
		};
		return stack;
	} catch (error) {
		await dispose();
		throw error;
	}
}

/** The GitHub events template's webhook id (its production path is `<webhookId>/webhook`). */
export function githubEventsWebhookId(): string {
	const template = loadTemplates().templates.find((t) => t.entry.id === 'ipaiGitHubEvents')!;
	const node = (template.workflow.nodes as Array<{ type: string; webhookId?: string }>).find((n) => n.type.endsWith('.ipaiGitHubTrigger'))!;
	return node.webhookId!;
}

export async function putObject(stack: TemplateStack, key: string, body: string | Buffer): Promise<void> {
	await stack.s3.client.send(new PutObjectCommand({ Bucket: stack.s3.bucket, Key: key, Body: body }));
}

/** The runs of one connector, oldest first. */
export async function runsOf(pool: Pool, name: string): Promise<RunRow[]> {
	return (await listRuns(pool, { connectorName: name, limit: 10_000 })).reverse();
}

/** The IPAI PostgreSQL Source credential's fields for a postgres:// URL. */
export function postgresSourceCredential(url: string): Record<string, unknown> {
	const parsed = new URL(url);
	return {
		host: parsed.hostname,
		port: Number(parsed.port || 5432),
		database: decodeURIComponent(parsed.pathname.slice(1)) || 'postgres',
		user: decodeURIComponent(parsed.username) || 'postgres',
		password: decodeURIComponent(parsed.password),
		ssl: 'disable',
	};
}
