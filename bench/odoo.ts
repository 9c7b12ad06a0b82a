/**
 * npm run bench:odoo [-- --items 100000]
 *
 * A full sync of ~100,000 journal items (account.move.line) from the Odoo simulator, three ways:
 *   - the limit: the simulator's own serving rate — the same JSON-RPC page requests our sync
 *     makes, answers parsed and thrown away;
 *   - ours: IPAI Odoo's engine path (pages of 1,000 → bronze in PostgreSQL), in its own process;
 *   - n8n's built-in Odoo node, "Get All" of the same model and fields, in a real n8n 2.x (the
 *     node's own execution time, so n8n's start-up is not counted against it).
 * Prints records/s and RPC calls for each; last line `odoo ours/limit=<r> ours/n8n-builtin=<r>`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { Pool } from 'pg';
import { parseArgs } from '../bin/args';
import { finishRun, startRun } from '../lib/lakehouse/runs';
import { OdooClient, planFields, syncModel, type FieldsGet } from '../lib/sources/odoo';
import { DEFAULT_ADMIN_API_KEY } from '../tooling/simulators/odoo';
import { N8nInstance } from '../tooling/n8n/n8nRuntime';
import { measure, reportedSeconds, withScratchDatabase } from './common';

const MODEL = 'account.move.line';
const credentials = (url: string) => ({ url, database: 'odoo', login: 'admin', secret: DEFAULT_ADMIN_API_KEY });

async function startSimulator(items: number): Promise<{ url: string; lines: number; child: ChildProcess }> {
	const child = spawn(process.execPath, [__filename.replace(/odoo\.js$/, 'odooServer.js'), String(items)], { stdio: ['ignore', 'pipe', 'inherit'] });
	const [line] = (await once(child.stdout!, 'data')) as [Buffer];
	return { ...JSON.parse(line.toString()), child };
}

async function fieldsOf(url: string): Promise<string[]> {
	const odoo = await OdooClient.connect(credentials(url));
	return planFields(await odoo.call<FieldsGet>(MODEL, 'fields_get', { attributes: ['type', 'string', 'store', 'relation'] })).map((p) => p.field);
}

/** The limit: our page requests, answers parsed and dropped. */
async function servingRate(url: string, fields: string[]): Promise<{ seconds: number; records: number; calls: number }> {
	const odoo = await OdooClient.connect(credentials(url));
	const started = process.hrtime.bigint();
	let afterId = 0;
	let records = 0;
	for (;;) {
		const page = await odoo.call<Array<{ id: number }>>(MODEL, 'search_read', {
			domain: [['id', '>', afterId]], fields, order: 'id asc', limit: 1000, context: { active_test: false, lang: 'en_US' },
		});
		if (page.length === 0) break;
		records += page.length;
		afterId = page[page.length - 1].id;
	}
	return { seconds: Number(process.hrtime.bigint() - started) / 1e9, records, calls: odoo.totalCalls };
}

/** Ours, in a worker process: sync into bronze; prints seconds, rows and RPC calls. */
async function worker(databaseUrl: string, odooUrl: string): Promise<void> {
	const pool = new Pool({ connectionString: databaseUrl, max: 2 });
	const started = process.hrtime.bigint();
	const odoo = await OdooClient.connect(credentials(odooUrl));
	const run = await startRun(pool, { connector: { connectorType: 'odoo', name: 'bench' } });
	if (run.status !== 'running') throw new Error('could not start a run');
	const result = await syncModel(pool, odoo, run, { model: MODEL, deleteScanEveryHours: null });
	await finishRun(pool, run.runId);
	const seconds = Number(process.hrtime.bigint() - started) / 1e9;
	await pool.end();
	process.stdout.write(`IPAI_SECONDS=${seconds}\nIPAI_ROWS=${result.rowsRead}\nIPAI_CALLS=${odoo.totalCalls}\n`);
}

/**
 * n8n's built-in Odoo node (v1, JSON-RPC), Get All with Return All and the same fields, in a
 * running n8n behind a webhook: Webhook → Odoo → Code (count) → answer. The webhook round trip is
 * timed, so n8n's start-up is not counted against it (the CLI's `execute` would also print all
 * 100,000 items, which n8n truncates on exit).
 */
async function n8nBuiltin(odooUrl: string, fields: string[]): Promise<{ seconds: number; records: number }> {
	const n8n = await N8nInstance.create({ env: { EXECUTIONS_DATA_SAVE_ON_SUCCESS: 'none', N8N_PAYLOAD_SIZE_MAX: '1024' } });
	try {
		await n8n.importCredentials([{ id: 'odooBench0001', name: 'odoo bench', type: 'odooApi', data: { url: odooUrl, username: 'admin', password: DEFAULT_ADMIN_API_KEY, db: 'odoo' } }]);
		await n8n.start();
		await n8n.setupOwner();
		const apiKey = await n8n.createApiKey();
		const created = (await n8n.publicApi(apiKey, 'POST', '/workflows', {
			name: 'bench: built-in Odoo get all',
			settings: { executionOrder: 'v1' },
			nodes: [
				{
					id: 'w', name: 'Webhook', type: 'n8n-nodes-base.webhook', typeVersion: 2, position: [0, 0],
					webhookId: '5e0c8f3a-9b1d-4c2e-8f7a-6b5d4c3e2f10',
					parameters: { httpMethod: 'POST', path: 'bench-odoo', responseMode: 'lastNode', options: {} },
				},
				{
					id: 'o', name: 'Odoo', type: 'n8n-nodes-base.odoo', typeVersion: 1, position: [220, 0],
					parameters: { resource: 'custom', customResource: MODEL, operation: 'getAll', returnAll: true, options: { fieldsList: fields } },
					credentials: { odooApi: { id: 'odooBench0001', name: 'odoo bench' } },
				},
				{ id: 'c', name: 'Count', type: 'n8n-nodes-base.code', typeVersion: 2, position: [440, 0], parameters: { jsCode: 'return [{ json: { count: $input.all().length } }];' } },
			],
			connections: { Webhook: { main: [[{ node: 'Odoo', type: 'main', index: 0 }]] }, Odoo: { main: [[{ node: 'Count', type: 'main', index: 0 }]] } },
		})) as { id: string };
		await n8n.publicApi(apiKey, 'POST', `/workflows/${created.id}/activate`);
		await n8n.waitForWebhook('bench-odoo');
		const started = process.hrtime.bigint();
		const response = await fetch(`${n8n.baseUrl}/webhook/bench-odoo`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } });
		const body = (await response.json()) as { count?: number };
		const seconds = Number(process.hrtime.bigint() - started) / 1e9;
		if (!response.ok) throw new Error(`n8n answered ${response.status}: ${JSON.stringify(body)}`);
		return { seconds, records: body.count ?? 0 };
	} finally {
		await n8n.dispose();
	}
}

async function main(): Promise<void> {
	const args = parseArgs(process.argv.slice(2), ['items', 'worker', 'url', 'odoo']);
	if (args.values.worker) return worker(args.values.url!, args.values.odoo!);
	const items = Number(args.values.items ?? 100_000);
	const sim = await startSimulator(items);
	try {
		const fields = await fieldsOf(sim.url);
		process.stdout.write(`Full sync of ${sim.lines.toLocaleString('en-US')} journal items (${fields.length} fields) from the Odoo simulator\n`);
		const limit = await servingRate(sim.url, fields);
		const rate = (records: number, seconds: number) => Math.round(records / seconds);
		process.stdout.write(`simulator serving alone (the limit)  ${rate(limit.records, limit.seconds).toLocaleString('en-US').padStart(8)} records/s  ${limit.calls} RPC calls\n`);

		const ours = await withScratchDatabase(async (url) => {
			const m = measure(process.execPath, [__filename, '--worker', 'ours', '--url', url, '--odoo', sim.url]);
			return { seconds: reportedSeconds(m.stdout), rows: Number(/IPAI_ROWS=(\d+)/.exec(m.stdout)![1]), calls: Number(/IPAI_CALLS=(\d+)/.exec(m.stdout)![1]), peak: m.peakRssMib };
		});
		process.stdout.write(`ipai odoo → bronze                   ${rate(ours.rows, ours.seconds).toLocaleString('en-US').padStart(8)} records/s  ${ours.calls} RPC calls  peak RSS ${ours.peak.toFixed(0)} MiB\n`);

		const builtin = await n8nBuiltin(sim.url, fields);
		process.stdout.write(
			`n8n built-in Odoo "get all"          ${rate(builtin.records, builtin.seconds).toLocaleString('en-US').padStart(8)} records/s  2 RPC calls (login + one unbounded search_read), ${builtin.seconds.toFixed(1)} s\n`,
		);
		if (builtin.records !== sim.lines) process.stdout.write(`note: n8n returned ${builtin.records} of ${sim.lines} records\n`);
		const oursRate = ours.rows / ours.seconds;
		process.stdout.write(`odoo ours/limit=${(oursRate / (limit.records / limit.seconds)).toFixed(2)} ours/n8n-builtin=${(oursRate / (builtin.records / builtin.seconds)).toFixed(2)}\n`);
	} finally {
		sim.child.kill('SIGTERM');
	}
}

main().catch((error: Error) => {
	process.stderr.write(`${error.stack ?? error.message}\n`);
	process.exit(1);
});
