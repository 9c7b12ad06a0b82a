/**
 * The migration runner. Migrations are the SQL files named YYYYMMDDHHMMSS_name.sql in
 * migrations/ (Supabase CLI naming), applied in name order:
 *   - each file in its own transaction, statement by statement, so a failure names the file, the
 *     statement and its line, and leaves the database exactly as before that file;
 *   - a ledger (ipai_meta.schema_migrations) records each applied file with its checksum, so a
 *     re-run is a no-op and an applied file that was edited afterwards is refused, by name;
 *   - runners started at the same moment serialise on a transaction-scoped advisory lock, which
 *     also works through Supabase's poolers (a session lock would not).
 * On plain PostgreSQL the Supabase shim (migrations/bootstrap/) is applied first when the
 * Supabase roles and auth functions are missing; on Supabase it is never applied.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { Client, type ClientBase } from 'pg';
import { safeError, secretsOf, toPoolConfig, type ConnectionOptions } from './connection';
import { splitSqlScript } from './sqlScript';

export const MIGRATION_FILE = /^(\d{14})_([a-z0-9_]+)\.sql$/;
export const SHIM_FILE = join('bootstrap', 'plain_postgres_supabase_shim.sql');
const LOCK_KEY = 'ipai_lakehouse_migrations';

export interface MigrationFile {
	version: string;
	name: string;
	file: string;
	path: string;
	checksum: string;
	sql: string;
}

export interface MigrateOptions {
	connection: ConnectionOptions;
	/** Defaults to the migrations folder shipped next to this code. */
	directory?: string;
	/** auto: apply the shim only where Supabase's roles/auth functions are missing. */
	supabaseShim?: 'auto' | 'always' | 'never';
	log?: (line: string) => void;
}

export interface MigrateResult {
	applied: string[];
	alreadyApplied: string[];
	shimApplied: boolean;
}

export class MigrationError extends Error {
	constructor(
		message: string,
		readonly file?: string,
		readonly line?: number,
		readonly statement?: string,
	) {
		super(message);
		this.name = 'MigrationError';
	}
}

export function defaultMigrationsDirectory(): string {
	// lib/lakehouse → ../../migrations in the repository; dist/lib/lakehouse → dist/migrations.
	return resolve(__dirname, '..', '..', 'migrations');
}

export function checksumOf(sql: string): string {
	// Line endings are normalised so a checkout with CRLF does not look like an edited file.
	return createHash('sha256').update(sql.replace(/\r\n/g, '\n')).digest('hex');
}

export function listMigrations(directory = defaultMigrationsDirectory()): MigrationFile[] {
	if (!existsSync(directory)) throw new MigrationError(`Migrations folder not found: ${directory}`);
	const files = readdirSync(directory, { withFileTypes: true })
		.filter((entry) => entry.isFile() && entry.name.endsWith('.sql'))
		.map((entry) => entry.name)
		.sort();
	return files.map((file) => {
		const match = MIGRATION_FILE.exec(file);
		if (!match) {
			throw new MigrationError(
				`Migration file "${file}" does not follow the naming YYYYMMDDHHMMSS_name.sql (lower-case name)`,
				file,
			);
		}
		const path = join(directory, file);
		const sql = readFileSync(path, 'utf8');
		return { version: match[1], name: match[2], file, path, checksum: checksumOf(sql), sql };
	});
}

export async function migrate(options: MigrateOptions): Promise<MigrateResult> {
	const directory = options.directory ?? defaultMigrationsDirectory();
	const log = options.log ?? (() => undefined);
	const migrations = listMigrations(directory);
	const secrets = secretsOf(options.connection);
	const client = new Client(toPoolConfig(options.connection));
	try {
		await client.connect();
	} catch (error) {
		throw safeError(error, secrets);
	}
	try {
		const shimApplied = await applyShimIfNeeded(client, directory, options.supabaseShim ?? 'auto', log);
		await ensureLedger(client);
		const applied = await readLedger(client);
		verifyAppliedFilesUnchanged(directory, migrations, applied);

		const result: MigrateResult = { applied: [], alreadyApplied: [], shimApplied };
		for (const migration of migrations) {
			if (applied.has(migration.version)) {
				result.alreadyApplied.push(migration.file);
				continue;
			}
			if (await applyOne(client, migration, log)) result.applied.push(migration.file);
			else result.alreadyApplied.push(migration.file);
		}
		return result;
	} catch (error) {
		if (error instanceof MigrationError) throw error;
		throw safeError(error, secrets);
	} finally {
		await client.end().catch(() => undefined);
	}
}

/** Which ledger versions are missing on this database (for the credential test button). */
export async function pendingMigrations(client: ClientBase, directory = defaultMigrationsDirectory()): Promise<string[]> {
	const exists = await client.query(`select to_regclass('ipai_meta.schema_migrations') is not null as present`);
	const applied = exists.rows[0].present ? await readLedger(client) : new Map<string, LedgerEntry>();
	return listMigrations(directory)
		.filter((m) => !applied.has(m.version))
		.map((m) => m.file);
}

async function applyShimIfNeeded(
	client: Client,
	directory: string,
	mode: 'auto' | 'always' | 'never',
	log: (line: string) => void,
): Promise<boolean> {
	if (mode === 'never') return false;
	if (mode === 'auto') {
		const { rows } = await client.query(
			`select exists (select 1 from pg_roles where rolname = 'authenticated')
			        and exists (select 1 from pg_roles where rolname = 'service_role')
			        and to_regprocedure('auth.jwt()') is not null
			        and to_regprocedure('auth.uid()') is not null as supabase`,
		);
		if (rows[0].supabase) return false;
	}
	const path = join(directory, SHIM_FILE);
	log(`applying Supabase shim for plain PostgreSQL (${SHIM_FILE})`);
	await runFile(client, { file: SHIM_FILE, sql: readFileSync(path, 'utf8') }, async () => undefined);
	return true;
}

async function ensureLedger(client: Client): Promise<void> {
	await client.query('begin');
	try {
		await client.query('select pg_advisory_xact_lock(hashtext($1))', [LOCK_KEY]);
		await client.query(`create schema if not exists ipai_meta`);
		await client.query(`
			create table if not exists ipai_meta.schema_migrations (
				version text primary key,
				name text not null,
				checksum text not null,
				applied_at timestamptz not null default now(),
				applied_by text not null default current_user,
				duration_ms integer not null
			)`);
		await client.query('commit');
	} catch (error) {
		await client.query('rollback').catch(() => undefined);
		throw error;
	}
}

interface LedgerEntry {
	name: string;
	checksum: string;
}

async function readLedger(client: ClientBase): Promise<Map<string, LedgerEntry>> {
	const { rows } = await client.query<{ version: string; name: string; checksum: string }>(
		'select version, name, checksum from ipai_meta.schema_migrations order by version',
	);
	return new Map(rows.map((row) => [row.version, { name: row.name, checksum: row.checksum }]));
}

function verifyAppliedFilesUnchanged(
	directory: string,
	migrations: MigrationFile[],
	applied: Map<string, LedgerEntry>,
): void {
	const byVersion = new Map(migrations.map((m) => [m.version, m]));
	// Files the ledger knows but this folder does not: the database was built by other migration
	// files (the pre-release history, squashed into baselines before 0.1.0, or a deleted file).
	// Applying the baselines over that schema would fail on the first existing object, or worse,
	// half-succeed; refuse before touching anything.
	const unknown = [...applied].filter(([version]) => !byVersion.has(version));
	if (unknown.length > 0) {
		const names = unknown.map(([version, entry]) => `${version}_${entry.name}.sql`);
		const shown = names.length > 5 ? `${names.slice(0, 5).join(', ')} and ${names.length - 5} more` : names.join(', ');
		throw new MigrationError(
			`This database was migrated by a layout of migrations that this version does not have: its ledger ` +
				`(ipai_meta.schema_migrations) records ${names.length} applied migration${names.length === 1 ? '' : 's'} with no file in ` +
				`${directory} (${shown}). The pre-release migrations were squashed into baseline files ` +
				'for 0.1.0, and baselines cannot be applied over a schema the old files built. Recreate the database (a scratch or ' +
				'development database can be dropped and migrated from zero), or keep it on the release whose migrations built it; ' +
				'if a migration file was deleted by mistake, restore it.',
		);
	}
	for (const [version, { checksum }] of applied) {
		const file = byVersion.get(version) as MigrationFile;
		if (file.checksum !== checksum) {
			throw new MigrationError(
				`Migration ${file.file} was changed after it was applied (checksum ${checksum.slice(0, 12)}… recorded, ${file.checksum.slice(0, 12)}… now). ` +
					'Applied migrations are immutable: revert the edit and put the change in a new migration file.',
				file.file,
			);
		}
	}
}

/** Applies one migration unless a concurrent runner did; returns whether this call applied it. */
async function applyOne(client: Client, migration: MigrationFile, log: (line: string) => void): Promise<boolean> {
	const started = Date.now();
	let appliedHere = true;
	await runFile(client, migration, async () => {
		const { rows } = await client.query('select checksum from ipai_meta.schema_migrations where version = $1', [
			migration.version,
		]);
		if (rows.length > 0) {
			appliedHere = false;
			return 'skip';
		}
		return undefined;
	}, async () => {
		await client.query(
			'insert into ipai_meta.schema_migrations (version, name, checksum, duration_ms) values ($1, $2, $3, $4)',
			[migration.version, migration.name, migration.checksum, Date.now() - started],
		);
	});
	if (appliedHere) log(`applied ${migration.file} in ${Date.now() - started} ms`);
	return appliedHere;
}

async function runFile(
	client: Client,
	file: { file: string; sql: string },
	before: () => Promise<'skip' | undefined>,
	after: () => Promise<void> = async () => undefined,
): Promise<void> {
	await client.query('begin');
	try {
		await client.query('select pg_advisory_xact_lock(hashtext($1))', [LOCK_KEY]);
		if ((await before()) === 'skip') {
			await client.query('commit');
			return;
		}
		for (const statement of splitSqlScript(file.sql)) {
			try {
				await client.query(statement.sql);
			} catch (error) {
				const pgError = error as { message?: string; code?: string };
				const excerpt = statement.sql.length > 300 ? `${statement.sql.slice(0, 300)}…` : statement.sql;
				throw new MigrationError(
					`Migration ${basename(file.file)} failed at line ${statement.line}: ${pgError.message ?? String(error)}` +
						`${pgError.code ? ` (SQLSTATE ${pgError.code})` : ''}\nStatement:\n${excerpt}\nNothing from this file was applied.`,
					file.file,
					statement.line,
					statement.sql,
				);
			}
		}
		await after();
		await client.query('commit');
	} catch (error) {
		await client.query('rollback').catch(() => undefined);
		throw error;
	}
}
