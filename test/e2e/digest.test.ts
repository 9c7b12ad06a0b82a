/**
 * The digest template in a real n8n 2.x with the packed package installed, against the Mattermost
 * simulator: imported as a user's import rewrites it (credential names → ids, its error workflow
 * with it), once with the IPAI Mattermost credential in bot mode (five PNGs uploaded through
 * POST /api/v4/files and posted in one message) and once with an incoming webhook (the same
 * figures as Markdown tables). Gold: DevOps from the hand-built GitHub history refreshed by the
 * engine, finance rows written into gold, a week of ledger runs.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Pool } from 'pg';
import { migrate } from '../../lib/lakehouse/migrate';
import { refreshMaterializedViews } from '../../lib/lakehouse/refresh';
import { rewriteForImport } from '../../lib/workflows/templateImport';
import { loadTemplates } from '../../lib/workflows/templates';
import { createScratchDatabase, type ScratchDatabase } from '../../tooling/helpers/database';
import { pixelStats } from '../helpers/png';
import { landDevopsHistory } from '../integration/fixtures/devopsHistory';
import { MattermostSimulator } from '../../tooling/simulators/mattermost/server';
import { N8nInstance, nodeOutput } from '../../tooling/n8n/n8nRuntime';
import { lakehouseCredential, packPackage } from '../../tooling/n8n/pack';

jest.setTimeout(600_000);

const TOKEN = 'e2edigestbot00000000000000';
const CHANNEL = 'e2edigestchannel0000000001';
const HOOK = 'e2edigesthook0000000000001';

let n8n: N8nInstance;
let lakehouse: ScratchDatabase;
let sim: MattermostSimulator;
let pool: Pool;

async function seedGold(): Promise<void> {
	await landDevopsHistory(pool);
	await refreshMaterializedViews(pool, ['ipai_gold_devops']);
	await pool.query(
		`insert into ipai_gold_erp.profit_and_loss (connector_id, company_id, currency, month, account_group, account_type, account_id, account_code, account_name, amount, line_count)
		 select '00000000-0000-4000-8000-00000000e2e0', 1, 'EUR', m, g, g, a, a::text, g, case g when 'income' then 10000 else -8000 end, 3
		   from generate_series(date '2025-01-01', date '2025-06-01', interval '1 month') as m, (values ('income', 400000), ('expense', 600000)) as x(g, a)`,
	);
	await pool.query(
		`insert into ipai_gold_erp.open_items (connector_id, line_id, company_id, currency, kind, amount_open, aging_bucket)
		 values ('00000000-0000-4000-8000-00000000e2e0', 1, 1, 'EUR', 'receivable', 1200.50, 'current'),
		        ('00000000-0000-4000-8000-00000000e2e0', 2, 1, 'EUR', 'receivable', 800, '31-60'),
		        ('00000000-0000-4000-8000-00000000e2e0', 3, 1, 'EUR', 'payable', 450.25, '90+')`,
	);
	const { rows: [config] } = await pool.query<{ id: string }>(
		`insert into public.ipai_connector_config (connector_type, name, config, schedule) values ('custom', 'nightly', '{}', '0 2 * * *') returning id`,
	);
	await pool.query(
		`insert into public.ipai_connector_run (connector_id, started_at, ended_at, status)
		 select $1, t, t + interval '1 minute', case when d = 3 then 'failed' else 'success' end
		   from generate_series(1, 7) as d, lateral (select now() - make_interval(days => d) + interval '1 hour' as t) x`,
		[config.id],
	);
}

beforeAll(async () => {
	sim = await MattermostSimulator.start({
		tokens: { [TOKEN]: { id: 'e2edigestbotuser0000000000', username: 'digest-bot', isBot: true, channels: [CHANNEL] } },
		channels: [{ id: CHANNEL, name: 'digest' }],
		hooks: { [HOOK]: { channelId: CHANNEL, channelName: 'digest' } },
	});
	lakehouse = await createScratchDatabase('ipai_e2e_digest');
	await migrate({ connection: { connectionString: lakehouse.url } });
	pool = new Pool({ connectionString: lakehouse.url, max: 2 });
	await seedGold();
	n8n = await N8nInstance.create();
	await n8n.installPackage(packPackage());
	const credentials = [
		{ ...lakehouseCredential('digestLakehouse', lakehouse.url), name: 'IPAI Lakehouse' },
		{ id: 'digestMmBot0001', name: 'IPAI Mattermost', type: 'ipaiMattermostApi', data: { mode: 'bot', serverUrl: sim.url, accessToken: TOKEN, channelId: CHANNEL } },
		{ id: 'digestMmHook001', name: 'IPAI Mattermost (webhook)', type: 'ipaiMattermostApi', data: { mode: 'webhook', webhookUrl: `${sim.url}/hooks/${HOOK}` } },
	];
	await n8n.importCredentials(credentials);
	const { templates } = loadTemplates();
	const ids = templates.map((t) => t.entry.id);
	const template = (id: string) => templates.find((t) => t.entry.id === id)!;
	const asCredentials = (mattermostId: string) => [
		{ id: 'digestLakehouse', name: 'IPAI Lakehouse', type: 'ipaiLakehouseApi' },
		{ id: mattermostId, name: 'IPAI Mattermost', type: 'ipaiMattermostApi' },
	];
	const rewritten = (templateId: string, workflowId: string, mattermostId: string) => {
		const { workflow, unresolved } = rewriteForImport(template(templateId), { workflowId: (id) => (id === 'ipaiErrorHandler' ? id : undefined), credentials: asCredentials(mattermostId) }, ids);
		expect(unresolved).toEqual([]);
		return { ...workflow, id: workflowId, name: `${workflow.name} (${workflowId})`, active: false };
	};
	// One import for all three (each n8n CLI call boots n8n).
	const file = path.join(mkdtempSync(path.join(tmpdir(), 'ipai-digest-')), 'workflows.json');
	writeFileSync(file, JSON.stringify([
		rewritten('ipaiErrorHandler', 'ipaiErrorHandler', 'digestMmBot0001'),
		rewritten('ipaiDigest', 'ipaiDigestBot01', 'digestMmBot0001'),
		rewritten('ipaiDigest', 'ipaiDigestHook1', 'digestMmHook001'),
	]));
	await n8n.cliOk(['import:workflow', '--input', file]);
	rmSync(path.dirname(file), { recursive: true, force: true });
});

afterAll(async () => {
	await n8n?.dispose();
	await pool?.end();
	await lakehouse?.drop();
	await sim?.close();
});

it('bot mode: uploads the five PNGs and posts them in one message', async () => {
	const run = await n8n.executeWorkflow('ipaiDigestBot01');
	const [out] = nodeOutput(run, 'Post chart digest');
	const charts = out.charts as Array<{ id: string; width: number; height: number; bytes: number; data: Record<string, Array<Record<string, unknown>>> }>;
	expect(out).toMatchObject({ posted: true, mode: 'bot', channelId: CHANNEL, empty: [] });
	expect(charts.map((c) => c.id)).toEqual(['finance-net-profit', 'finance-aging', 'devops-dora', 'devops-ci', 'operations-connectors']);

	expect(sim.requests.filter((r) => r.path === '/api/v4/files').map((r) => r.status)).toEqual([201]);
	expect(sim.posts).toHaveLength(1);
	const [post] = sim.posts;
	expect(post).toMatchObject({ via: 'api', channelId: CHANNEL, id: out.postId });
	expect(post.message).toContain('#### :bar_chart: IPAI weekly digest');
	expect(post.fileIds).toHaveLength(5);
	for (const [i, id] of post.fileIds.entries()) {
		const file = sim.fileStore.files.get(id)!;
		expect([file.name, file.mimeType, file.size]).toEqual([`${charts[i].id}.png`, 'image/png', charts[i].bytes]);
		const stats = pixelStats(file.data);
		expect([stats.width, stats.height]).toEqual([charts[i].width, charts[i].height]);
		expect(stats.colours).toBeGreaterThan(50);
		expect(stats.ink({ x0: stats.width * 0.1, y0: stats.height * 0.2, x1: stats.width * 0.9, y1: stats.height * 0.8 })).toBeGreaterThan(0.02);
	}
	// The data drawn inside n8n is gold's.
	const netProfit = charts[0].data.net_profit.map((r) => [r.month, r.net_profit]);
	const gold = await pool.query(`select month::text, sum(amount)::float8 as total from ipai_gold_erp.profit_and_loss group by 1 order by 1`);
	expect(netProfit).toEqual(gold.rows.map((r) => [r.month, r.total]));
	expect(charts[2].data.dora.map((r) => [r.week, r.deployments, r.change_failure_rate])).toEqual([['2025-03-03', 2, 0.3333], ['2025-03-10', 1, 0]]);
	expect(JSON.stringify(post)).not.toContain(TOKEN);
});

it('webhook mode: posts the same figures as compact tables', async () => {
	const before = sim.posts.length;
	const run = await n8n.executeWorkflow('ipaiDigestHook1');
	expect(nodeOutput(run, 'Post chart digest')[0]).toMatchObject({ posted: true, mode: 'webhook', files: [] });
	const posts = sim.posts.slice(before);
	expect(posts).toHaveLength(1);
	expect(posts[0]).toMatchObject({ via: 'webhook', channelId: CHANNEL, fileIds: [] });
	const text = posts[0].message;
	expect(text).toContain('| 2025-03-03 | acme/api | 2 | 1 | 33.3% | 4.50 | 27.17 |');
	expect(text).toContain('| receivable EUR | 1,200.50 | 0.00 | 800.00 | 0.00 | 0.00 |');
	expect(text).toContain('| 2025-06 | 2,000.00 |');
	expect(text).toMatch(/\| custom\/nightly \| 7 \| 85\.7% \| \d+\.\d h \|/);
	expect(text).not.toContain(HOOK);
});
