/** Packs this package the way it is published: `npm pack` of the built dist/. */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const PACKAGE_NAME = 'n8n-nodes-ipai-lakehouse';
const ROOT = resolve(__dirname, '..', '..');

export function packPackage(): string {
	if (!existsSync(join(ROOT, 'dist', 'nodes'))) {
		execFileSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'ignore' });
	}
	const dir = mkdtempSync(join(tmpdir(), 'ipai-pack-'));
	const out = execFileSync('npm', ['pack', '--json', '--pack-destination', dir], { cwd: ROOT, encoding: 'utf8' });
	const [info] = JSON.parse(out) as Array<{ filename: string; files: Array<{ path: string }> }>;
	return join(dir, info.filename);
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
