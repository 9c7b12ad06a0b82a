/** Packs this package the way it is published: `npm pack` of the built dist/, or of a private build. */
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT as ROOT } from './n8nRuntime';

export const PACKAGE_NAME = 'n8n-nodes-ipai-lakehouse';

/** Tarball folders this process made, removed when it exits (n8n has installed from them by then). */
const packDirs = new Set<string>();
process.once('exit', () => {
	for (const dir of packDirs) rmSync(dir, { recursive: true, force: true });
});

export function packPackage(): string {
	if (!existsSync(join(ROOT, 'dist', 'nodes'))) {
		execFileSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'ignore' });
	}
	const dir = mkdtempSync(join(tmpdir(), 'ipai-pack-'));
	packDirs.add(dir);
	const out = execFileSync('npm', ['pack', '--json', '--pack-destination', dir], { cwd: ROOT, encoding: 'utf8' });
	const [info] = JSON.parse(out) as Array<{ filename: string; files: Array<{ path: string }> }>;
	return join(dir, info.filename);
}

/**
 * The package as `npm pack` would publish it, built from the working tree into a private folder:
 * the shared dist/ is left alone (a benchmark must not depend on, or wipe, another build).
 * Same steps as `npm run build` (tsc, then gulp's copies of icons, templates and migrations).
 */
export function packFromSources(dir: string): string {
	const stage = join(dir, 'package');
	mkdirSync(stage, { recursive: true });
	const tsc = spawnSync(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(ROOT, 'tsconfig.json'), '--outDir', join(stage, 'dist')], { cwd: ROOT, encoding: 'utf8' });
	// tsc emits despite type errors; a working tree with someone else's half-done change still
	// yields a package to measure, but say so.
	if (tsc.status !== 0) process.stderr.write(`warning: tsc reported errors while building the package to measure:\n${tsc.stdout}${tsc.stderr}`);
	if (!existsSync(join(stage, 'dist', 'nodes', 'IpaiConnectorRun', 'IpaiConnectorRun.node.js'))) throw new Error('building the package failed');
	for (const file of ['package.json', 'README.md']) cpSync(join(ROOT, file), join(stage, file));
	const copyTree = (from: string, keep: (name: string) => boolean) =>
		cpSync(join(ROOT, from), join(stage, 'dist', from), { recursive: true, filter: (src) => statSync(src).isDirectory() || keep(src) });
	copyTree('nodes', (f) => /\.(png|svg)$|\.node\.json$/.test(f));
	copyTree('credentials', (f) => /\.(png|svg)$/.test(f));
	copyTree('workflows', (f) => f.endsWith('.json'));
	copyTree('migrations', (f) => f.endsWith('.sql'));
	const out = execFileSync('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', dir], { cwd: stage, encoding: 'utf8' });
	return join(dir, (JSON.parse(out) as Array<{ filename: string }>)[0].filename);
}

/** Credential JSON for `n8n import:credentials`, pointing the IPAI Lakehouse credential at a database. */
export function lakehouseCredential(id: string, databaseUrl: string): Record<string, unknown> {
	const url = new URL(databaseUrl);
	return {
		id,
		name: `lakehouse ${id}`,
		type: 'ipaiLakehouseApi',
		data: {
			connectionMode: 'fields',
			host: url.hostname,
			port: Number(url.port || 5432),
			database: url.pathname.slice(1),
			user: decodeURIComponent(url.username),
			password: decodeURIComponent(url.password),
			ssl: 'disable',
		},
	};
}
