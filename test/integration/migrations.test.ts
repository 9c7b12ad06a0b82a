import { cpSync, mkdtempSync, rmSync, writeFileSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultMigrationsDirectory, listMigrations, migrate, MigrationError } from '../../lib/lakehouse/migrate';
import { createScratchDatabase, withClient, type ScratchDatabase } from '../../tooling/helpers/database';

// Applying every migration to a fresh database takes seconds, more on a busy machine.
jest.setTimeout(120_000);

/** Everything a migration can change, as one comparable text (objects, columns, policies, grants). */
async function catalogFingerprint(url: string): Promise<string> {
	return withClient(url, async (c) => {
		// One client runs one query at a time: in sequence.
		const sql = [
			`select n.nspname, c.relname, c.relkind, c.relrowsecurity, c.reloptions::text, c.relacl::text,
			                pg_get_userbyid(c.relowner) as owner
			           from pg_class c join pg_namespace n on n.oid = c.relnamespace
			          where n.nspname !~ '^(pg_|information_schema)' order by 1, 2`,
			`select table_schema, table_name, column_name, data_type, column_default, is_nullable
			           from information_schema.columns where table_schema !~ '^(pg_|information_schema)' order by 1, 2, 3`,
			`select schemaname, tablename, policyname, roles::text, cmd, qual, with_check from pg_policies order by 1, 2, 3`,
			`select n.nspname, p.proname, md5(p.prosrc), p.proconfig::text, p.proacl::text
			           from pg_proc p join pg_namespace n on n.oid = p.pronamespace
			          where n.nspname !~ '^(pg_|information_schema)' order by 1, 2, 3`,
			`select conname, pg_get_constraintdef(oid) from pg_constraint where connamespace not in
			           (select oid from pg_namespace where nspname ~ '^(pg_|information_schema)') order by 1`,
			`select nspname, nspacl::text from pg_namespace order by 1`,
			`select version, checksum from ipai_meta.schema_migrations order by 1`,
		];
		const parts = [];
		for (const q of sql) parts.push(await c.query(q));

		return JSON.stringify(parts.map((p) => p.rows));
	});
}

function copyMigrations(): string {
	const dir = mkdtempSync(join(tmpdir(), 'ipai-migrations-'));
	cpSync(defaultMigrationsDirectory(), dir, { recursive: true });
	return dir;
}

describe('migrations on a scratch database', () => {
	let db: ScratchDatabase;
	const dirs: string[] = [];
	beforeEach(async () => {
		db = await createScratchDatabase();
	});
	afterEach(async () => {
		await db.drop();
		for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
	});

	it('apply from zero, and a second run changes nothing', async () => {
		const first = await migrate({ connection: { connectionString: db.url } });
		expect(first.applied).toEqual(listMigrations().map((m) => m.file));
		expect(first.shimApplied).toBe(true);
		const before = await catalogFingerprint(db.url);

		const second = await migrate({ connection: { connectionString: db.url } });
		expect(second.applied).toEqual([]);
		expect(second.shimApplied).toBe(false);
		expect(await catalogFingerprint(db.url)).toEqual(before);
	});

	it('creates every schema of the PRD and the PRD tables with exactly their columns', async () => {
		await migrate({ connection: { connectionString: db.url } });
		await withClient(db.url, async (c) => {
			const schemas = (await c.query(`select nspname from pg_namespace where nspname like 'ipai\\_%' order by 1`)).rows.map(
				(r) => r.nspname,
			);
			for (const layer of ['bronze', 'silver', 'gold', 'platinum']) expect(schemas).toContain(`ipai_${layer}_core`);
			for (const s of ['bronze_erp', 'silver_erp', 'gold_erp', 'bronze_devops', 'gold_devops', 'bronze_retail',
				'gold_retail', 'bronze_creative', 'gold_creative']) expect(schemas).toContain(`ipai_${s}`);

			const columns = async (table: string) =>
				(
					await c.query(
						`select column_name || ' ' || data_type as col from information_schema.columns
						  where table_schema = 'public' and table_name = $1 order by ordinal_position`,
						[table],
					)
				).rows.map((r) => r.col);
			expect(await columns('ipai_connector_config')).toEqual([
				'id uuid', 'connector_type text', 'name text', 'config jsonb', 'vault_secret_refs ARRAY', 'schedule text',
				'is_enabled boolean', 'created_at timestamp with time zone', 'updated_at timestamp with time zone',
			]);
			expect(await columns('ipai_connector_run')).toEqual([
				'id uuid', 'connector_id uuid', 'started_at timestamp with time zone', 'ended_at timestamp with time zone',
				'status text', 'rows_read integer', 'rows_written integer', 'error_message text', 'metadata jsonb',
			]);
			expect(await columns('ipai_audit_log')).toEqual([
				'id uuid', 'event_type text', 'entity_type text', 'entity_id uuid', 'user_id uuid', 'action text',
				'details jsonb', 'ip_address inet', 'user_agent text', 'created_at timestamp with time zone',
			]);
			expect(await columns('ipai_agent')).toEqual([
				'id uuid', 'code_name text', 'display_name text', 'description text', 'agent_type text', 'allowed_tools ARRAY',
				'allowed_schemas ARRAY', 'allowed_operations ARRAY', 'cost_budget_usd numeric', 'latency_budget_ms integer',
				'config jsonb', 'is_active boolean', 'created_at timestamp with time zone', 'updated_at timestamp with time zone',
			]);
			expect(await columns('ipai_agent_run')).toEqual([
				'id uuid', 'agent_id uuid', 'user_id uuid', 'session_id text', 'started_at timestamp with time zone',
				'ended_at timestamp with time zone', 'status text', 'input_summary jsonb', 'output_summary jsonb',
				'tokens_used integer', 'cost_usd numeric', 'latency_ms integer', 'error_message text', 'metadata jsonb',
			]);
			expect(await columns('ipai_app_registry')).toEqual([
				'id uuid', 'slug text', 'name text', 'description text', 'github_repo text', 'deployment_target text',
				'deployment_url text', 'required_roles ARRAY', 'config jsonb', 'is_active boolean',
				'created_at timestamp with time zone', 'updated_at timestamp with time zone',
			]);
			const indexes = (
				await c.query(`select indexname from pg_indexes where tablename = 'ipai_audit_log' order by 1`)
			).rows.map((r) => r.indexname);
			expect(indexes).toEqual(
				expect.arrayContaining(['idx_audit_created', 'idx_audit_entity', 'idx_audit_event_type']),
			);
			const runIndex = await c.query(
				`select indexdef from pg_indexes where indexname = 'idx_connector_run_connector_started'`,
			);
			expect(runIndex.rows[0].indexdef).toMatch(/\(connector_id, started_at DESC\)/);
		});
	});

	it('enforces the control tables\' constraints', async () => {
		await migrate({ connection: { connectionString: db.url } });
		await withClient(db.url, async (c) => {
			const { rows } = await c.query(
				`insert into ipai_connector_config (connector_type, name, config) values ('odoo', 'prod', '{}') returning id`,
			);
			const id = rows[0].id;
			await expect(
				c.query(`insert into ipai_connector_run (connector_id, started_at, ended_at, status) values ($1, now(), now(), 'exploded')`, [id]),
			).rejects.toThrow(/ipai_connector_run_status_check/);
			await expect(
				c.query(`insert into ipai_connector_run (connector_id, started_at, status, rows_read) values ($1, now(), 'running', -1)`, [id]),
			).rejects.toThrow(/ipai_connector_run_rows_read_check/);
			await expect(
				c.query(`insert into ipai_connector_config (connector_type, name, config) values ('odoo', 'prod', '{}')`),
			).rejects.toThrow(/ipai_connector_config_type_name_key/);
		});
	});

	it('refuses an applied migration that was changed, naming the file, and applies nothing', async () => {
		const dir = copyMigrations();
		dirs.push(dir);
		await migrate({ connection: { connectionString: db.url }, directory: dir });
		const [first] = listMigrations(dir);
		appendFileSync(first.path, '\n-- an innocent-looking edit\n');
		writeFileSync(join(dir, '29990101000000_later.sql'), 'create table public.should_not_exist (id int);');

		const attempt = migrate({ connection: { connectionString: db.url }, directory: dir });
		await expect(attempt).rejects.toThrow(MigrationError);
		await expect(attempt).rejects.toThrow(new RegExp(`${first.file} was changed after it was applied`));
		const exists = await withClient(db.url, (c) => c.query(`select to_regclass('public.should_not_exist') as t`));
		expect(exists.rows[0].t).toBeNull();
	});

	it('refuses a database migrated by migration files this folder no longer has, and applies nothing', async () => {
		const dir = copyMigrations();
		dirs.push(dir);
		await migrate({ connection: { connectionString: db.url }, directory: dir });
		// A database built before the pre-release migrations were squashed: its ledger names files
		// that are gone, and the baselines would collide with the schema those files built.
		await withClient(db.url, (c) =>
			c.query(
				`insert into ipai_meta.schema_migrations (version, name, checksum, duration_ms)
				 values ('20261101000100', 'pre_release_schemas', 'x', 1), ('20261101000200', 'pre_release_alerts', 'y', 1)`,
			),
		);
		writeFileSync(join(dir, '29990101000000_later.sql'), 'create table public.should_not_exist (id int);');
		const before = await catalogFingerprint(db.url);

		const attempt = migrate({ connection: { connectionString: db.url }, directory: dir });
		await expect(attempt).rejects.toThrow(MigrationError);
		await expect(attempt).rejects.toThrow(
			/migrated by a layout of migrations that this version does not have: its ledger \(ipai_meta\.schema_migrations\) records 2 applied migrations with no file in .* \(20261101000100_pre_release_schemas\.sql, 20261101000200_pre_release_alerts\.sql\)\..*Recreate the database/s,
		);
		expect(await catalogFingerprint(db.url)).toEqual(before);
	});

	it('a failing migration leaves the database as before it and names the file, line and statement', async () => {
		const dir = copyMigrations();
		dirs.push(dir);
		await migrate({ connection: { connectionString: db.url }, directory: dir });
		const before = await catalogFingerprint(db.url);
		writeFileSync(
			join(dir, '29990101000000_broken.sql'),
			[
				'-- a migration whose second statement fails',
				'create table public.half_done (id int);',
				'',
				"insert into public.half_done values ('not a number');",
				'',
			].join('\n'),
		);
		const attempt = migrate({ connection: { connectionString: db.url }, directory: dir });
		await expect(attempt).rejects.toMatchObject({
			name: 'MigrationError',
			file: '29990101000000_broken.sql',
			line: 4,
			statement: "insert into public.half_done values ('not a number')",
		});
		await expect(attempt).rejects.toThrow(/29990101000000_broken\.sql failed at line 4: invalid input syntax for type integer/);
		expect(await catalogFingerprint(db.url)).toEqual(before);
	});

	it('concurrent runners apply each migration exactly once', async () => {
		const results = await Promise.all(
			Array.from({ length: 4 }, () => migrate({ connection: { connectionString: db.url } })),
		);
		const appliedCounts = listMigrations().map(
			(m) => results.filter((r) => r.applied.includes(m.file)).length,
		);
		expect(appliedCounts.every((n) => n === 1)).toBe(true);
		const ledger = await withClient(db.url, (c) => c.query('select version from ipai_meta.schema_migrations'));
		expect(ledger.rowCount).toBe(listMigrations().length);
	});

	it('refuses a migration file that does not follow the naming', async () => {
		const dir = copyMigrations();
		dirs.push(dir);
		writeFileSync(join(dir, 'add_things.sql'), 'select 1;');
		await expect(migrate({ connection: { connectionString: db.url }, directory: dir })).rejects.toThrow(
			/"add_things.sql" does not follow the naming YYYYMMDDHHMMSS_name.sql/,
		);
	});

	it('reports a connection failure without the password', async () => {
		const url = new URL(db.url);
		url.username = 'nobody_here';
		url.password = 'S3cret-Pa55';
		url.port = '1';
		const attempt = migrate({ connection: { connectionString: url.toString() } });
		await expect(attempt).rejects.toThrow();
		const message = await attempt.catch((e: Error) => e.message);
		expect(message).not.toContain('S3cret-Pa55');
	});
});
