#!/usr/bin/env node
/**
 * The installed package's command line (package.json "bin"), so a user with no clone can run
 *   npx n8n-nodes-ipai-lakehouse migrate --database-url postgres://…
 *   npx n8n-nodes-ipai-lakehouse workflows import --n8n-url … --api-key …
 * Migrations and templates are read from the installed package itself.
 */
import { migrateCli, migrateFailed } from './migrate';
import { workflowsImportCli, workflowsImportFailed } from './workflowsImport';

const USAGE = `usage:
  n8n-nodes-ipai-lakehouse migrate [--database-url URL] [--status] [--supabase-shim auto|always|never]
  n8n-nodes-ipai-lakehouse workflows import (--n8n-url URL --api-key KEY | --cli --user-folder DIR) [--activate] [--only slug,slug] [--dry-run]
Each command takes --help.
`;

function main(argv: string[]): void {
	const [command, ...rest] = argv;
	if (command === 'migrate') {
		migrateCli(rest).catch(migrateFailed);
	} else if (command === 'workflows' && rest[0] === 'import') {
		workflowsImportCli(rest.slice(1)).catch(workflowsImportFailed);
	} else if (command === undefined || command === 'help' || command === '--help') {
		process.stdout.write(USAGE);
	} else {
		process.stderr.write(`unknown command "${argv.join(' ')}"\n${USAGE}`);
		process.exitCode = 2;
	}
}

main(process.argv.slice(2));
