/**
 * The README's quickstart, as a newcomer runs it: `npm run demo` with no DATABASE_URL (so it
 * starts its own embedded PostgreSQL), every template in a real n8n, each pipeline once, the
 * summary — and nothing left running afterwards.
 */
import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import { resolve } from 'node:path';
import { loadTemplates } from '../../lib/workflows/templates';

jest.setTimeout(900_000);

const ROOT = resolve(__dirname, '..', '..');

/** Whether anything still accepts TCP connections on the port. */
function listening(port: number): Promise<boolean> {
	return new Promise((done) => {
		const socket = connect({ host: '127.0.0.1', port });
		socket.once('connect', () => {
			socket.destroy();
			done(true);
		});
		socket.once('error', () => done(false));
	});
}

it('npm run demo -- --exit runs every pipeline, prints the summary and stops everything it started', async () => {
	const env = { ...process.env };
	delete env.DATABASE_URL;
	const child = spawn('npm', ['run', 'demo', '--', '--exit'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
	let output = '';
	child.stdout.on('data', (chunk) => (output += chunk));
	child.stderr.on('data', (chunk) => (output += chunk));
	const code = await new Promise<number | null>((done) => child.once('exit', done));
	expect({ code, output }).toEqual({ code: 0, output: expect.any(String) });

	expect(output).toMatch(/PostgreSQL: starting an embedded server on 127\.0\.0\.1:\d+/);
	const dispatcher = loadTemplates().templates.find((t) => t.slug === 'dispatcher')!;
	expect(output).toMatch(new RegExp(`created\\s+dispatcher\\s+id \\w+\\s+version ${dispatcher.entry.version.replace(/\./g, '\\.')}`));
	for (const connector of ['odoo/odoo-finance', 'github/devops', 'file/airports-export']) {
		expect(output).toMatch(new RegExp(`${connector}: success — [\\d,]+ read, [\\d,]+ written`));
	}
	expect(output).toMatch(/File upload webhook: 200, 1461 rows into ipai_bronze_core\.seattle_weather/);
	expect(output).toMatch(/ipai_bronze_erp\.odoo_account_move_line: [\d,]+ rows/);
	expect(output).toMatch(/gold: net profit \d{4}-\d{2}: -?\d+\.\d{2} EUR/);
	expect(output).toMatch(/alerts sent to Mattermost: 1\n\s+:warning: \*\*\[TICKET\]\*\* Pipeline failed: IPAI: Odoo finance sync \(odoo\/odoo-finance\)/);
	expect(output).toContain('security lint: clean');

	const n8nPort = Number(/Open n8n: http:\/\/127\.0\.0\.1:(\d+)/.exec(output)![1]);
	const pgPort = Number(/embedded server on 127\.0\.0\.1:(\d+)/.exec(output)![1]);
	expect({ n8n: await listening(n8nPort), postgres: await listening(pgPort) }).toEqual({ n8n: false, postgres: false });
});
