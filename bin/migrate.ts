/**
 * n8n-nodes-ipai-lakehouse migrate --database-url postgres://… [--dir migrations] [--supabase-shim auto|always|never] [--status]
 * (`npm run migrate -- …` in a clone). Without --database-url, DATABASE_URL is used, then the
 * local server on 127.0.0.1:5432.
 */
import { Client } from 'pg';
import { redact, toPoolConfig } from '../lib/lakehouse/connection';
import { defaultMigrationsDirectory, migrate, pendingMigrations } from '../lib/lakehouse/migrate';
import { parseArgs } from './args';

export async function migrateCli(argv: string[]): Promise<void> {
	const args = parseArgs(argv, ['database-url', 'dir', 'supabase-shim'], ['status', 'help']);
	if (args.flags.has('help')) {
		process.stdout.write(
			'usage: n8n-nodes-ipai-lakehouse migrate [--database-url URL] [--dir DIR] [--supabase-shim auto|always|never] [--status]\n',
		);
		return;
	}
	const databaseUrl = args.values['database-url'] ?? process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
	const directory = args.values.dir ?? defaultMigrationsDirectory();
	const shim = (args.values['supabase-shim'] ?? 'auto') as 'auto' | 'always' | 'never';
	if (!['auto', 'always', 'never'].includes(shim)) throw new Error('--supabase-shim takes auto, always or never');

	if (args.flags.has('status')) {
		const client = new Client(toPoolConfig({ connectionString: databaseUrl }));
		await client.connect();
		try {
			const pending = await pendingMigrations(client, directory);
			process.stdout.write(pending.length === 0 ? 'all migrations applied\n' : `pending:\n${pending.join('\n')}\n`);
		} finally {
			await client.end();
		}
		return;
	}
	const result = await migrate({
		connection: { connectionString: databaseUrl },
		directory,
		supabaseShim: shim,
		log: (line) => process.stdout.write(`${line}\n`),
	});
	process.stdout.write(
		`${result.applied.length} migration(s) applied, ${result.alreadyApplied.length} already applied` +
			`${result.shimApplied ? ' (Supabase shim applied for plain PostgreSQL)' : ''}\n`,
	);
}

export function migrateFailed(error: unknown): never {
	process.stderr.write(`migrate: ${redact(error instanceof Error ? error.message : String(error))}\n`);
	process.exit(1);
}

if (require.main === module) migrateCli(process.argv.slice(2)).catch(migrateFailed);
