/**
 * Connector config validation, twice written: lib/lakehouse/connectorConfig.ts (run time) and
 * ipai_meta.connector_config_problems (the write-time trigger). fast-check holds them to the same
 * answer for random configs built around the rules' fields; the trigger refuses a scheduled row
 * naming the fields, and lets an unscheduled or disabled one be written.
 */
import fc from 'fast-check';
import { CONNECTOR_CONFIG_RULES, connectorConfigProblems } from '../../lib/lakehouse/connectorConfig';
import { useScratchDatabase } from '../../tooling/helpers/database';

const db = useScratchDatabase();
// The rules' fields, custom keys, and misspellings of fields (which are problems, not custom keys).
const MISSPELT = ['model', 'Models', 'stream', 'key_columns', 'onbadrow', 'repository', 'tabel', 'pipelineWebhook', 'Engine'];
const FIELDS = [...new Set(['pipeline_webhook', 'n8n_workflow_id', 'note', 'notes', ...MISSPELT, ...Object.values(CONNECTOR_CONFIG_RULES).flat().map((r) => r.field)])];
const text = fc.oneof(
	fc.constantFrom('', ' ', '\t\n', 'fail', 'skip', 'full', 'incremental', 'acme/app', 'acme/', 'a b/c', 'x.y-z/w_1', 'landing', '\u00a0'),
	fc.string({ maxLength: 6 }),
);
const value = fc.oneof(text, fc.constant(null), fc.integer(), fc.boolean(), fc.array(fc.oneof(text, fc.integer(), fc.constant(null)), { maxLength: 3 }), fc.constant({}));
const config = fc.dictionary(fc.constantFrom(...FIELDS), value, { maxKeys: 5 });

it('the database and the engine find the same problems', async () => {
	await fc.assert(
		fc.asyncProperty(fc.constantFrom('odoo', 'github', 'file', 'custom'), config, async (type, cfg) => {
			const { rows } = await db.pool.query<{ problems: string[] }>('select ipai_meta.connector_config_problems($1, $2::jsonb) as problems', [type, JSON.stringify(cfg)]);
			expect(rows[0].problems).toEqual(connectorConfigProblems(type, cfg));
		}),
		{ numRuns: 400 },
	);
});

it('refuses a scheduled row its pipeline cannot run, naming the fields; accepts it unscheduled or disabled', async () => {
	const insert = (name: string, cfg: unknown, schedule: string | null, enabled = true) =>
		db.pool.query(`insert into ipai_connector_config (connector_type, name, config, schedule, is_enabled) values ('file', $1, $2, $3, $4)`, [name, JSON.stringify(cfg), schedule, enabled]);
	await expect(insert('f1', {}, '* * * * *')).rejects.toThrow(
		'Connector file/f1 cannot be scheduled: config.table is missing (the bronze table the files load into)',
	);
	await expect(insert('f2', { table: 'x', keyColumns: ['id'] }, '* * * * *')).rejects.toThrow(/config\.keyColumns must be a non-empty string/);
	await insert('f3', {}, null);
	await insert('f4', {}, '* * * * *', false);
	// Scheduling or enabling it later is a write too.
	await expect(db.pool.query(`update ipai_connector_config set schedule = '0 * * * *' where name = 'f3'`)).rejects.toThrow(/config\.table is missing/);
	await expect(db.pool.query(`update ipai_connector_config set is_enabled = true where name = 'f4'`)).rejects.toThrow(/config\.table is missing/);
	await insert('f5', { table: 'landing', onBadRow: 'skip' }, '* * * * *');
});

it('names every problem of a config at once, so one fix is enough', () => {
	expect(connectorConfigProblems('github', { repositories: ['acme'], streams: [] })).toEqual([
		'config.repositories must be a non-empty list of repositories as "owner/name"',
		'config.streams must be a non-empty list of stream names such as issues',
	]);
	expect(connectorConfigProblems('odoo', {})).toEqual([]);
	expect(connectorConfigProblems('file', [])).toEqual(['config must be a JSON object']);
});

it('names a misspelt field instead of leaving the pipeline on its defaults; other keys stay free', () => {
	expect(connectorConfigProblems('odoo', { model: ['res.partner'], note: 'owned by finance' })).toEqual([
		'config.model is not read by odoo connectors: did you mean config.models?',
	]);
	expect(connectorConfigProblems('file', { table: 'landing', key_columns: 'id', onbadrow: 'skip', tabel: 'x' })).toEqual([
		'config.key_columns is not read by file connectors: did you mean config.keyColumns?',
		'config.onbadrow is not read by file connectors: did you mean config.onBadRow?',
		'config.tabel is not read by file connectors: did you mean config.table?',
	]);
	expect(connectorConfigProblems('db', { engine: 'postgres', tables: [{ table: 'orders', mode: 'incremental', cursr: ['updated_at'] }] })).toEqual([
		'config.tables[0].cursor is missing (the cursor column(s) of an incremental table)',
		'config.tables[0].cursr is not read by database table syncs: did you mean config.tables[0].cursor?',
	]);
	expect(connectorConfigProblems('custom', { pipelineWebhook: 'hook' })).toEqual(['config.pipelineWebhook is not read by connectors: did you mean config.pipeline_webhook?']);
	expect(connectorConfigProblems('odoo', { models: ['res.partner'], note: 'x', owner: 'finance', sla: '1h' })).toEqual([]);
});

describe('db connectors (config.tables)', () => {
	const name = fc.oneof(fc.constantFrom('', ' ', 'id', 'updated_at', 'public.orders'), fc.string({ maxLength: 4 }));
	const tableValue = fc.oneof(
		name,
		fc.constant(null),
		fc.integer({ min: -5, max: 5 }),
		fc.boolean(),
		fc.constantFrom('full', 'incremental', 'cdc', 'fdw', 'Full', 'warn', 'fail'),
		fc.array(fc.oneof(name, fc.integer()), { maxLength: 2 }),
	);
	const table = fc.oneof(
		fc.dictionary(
			fc.constantFrom('table', 'mode', 'key', 'cursor', 'lookbackSeconds', 'deleteScanHours', 'target', 'nullCursor', 'raw', 'note', 'cursr', 'rw', 'Raw', 'keys', 'Mode', 'lookback_seconds', 'tables'),
			tableValue,
			{ maxKeys: 5 },
		),
		fc.constant(null),
		fc.constant('orders'),
	);
	const dbConfig = fc.record(
		{
			engine: fc.constantFrom('postgres', 'mysql', 'oracle', null),
			tables: fc.oneof(fc.array(table, { maxLength: 3 }), fc.constant('orders')),
			schema: fc.oneof(text, fc.constant(null)),
			slot: text,
		},
		{ requiredKeys: [] },
	);

	it('the database and the engine find the same problems', async () => {
		await fc.assert(
			fc.asyncProperty(dbConfig, async (cfg) => {
				const { rows } = await db.pool.query<{ problems: string[] }>(`select ipai_meta.connector_config_problems('db', $1::jsonb) as problems`, [JSON.stringify(cfg)]);
				expect(rows[0].problems).toEqual(connectorConfigProblems('db', cfg));
			}),
			{ numRuns: 400 },
		);
	});

	it('names the table and the field a person must fix', () => {
		expect(
			connectorConfigProblems('db', {
				engine: 'mysql',
				tables: [{ table: 'orders', mode: 'incremental' }, { table: 'items', mode: 'fdw', key: [] }, 'x'],
			}),
		).toEqual([
			'config.tables[0].cursor is missing (the cursor column(s) of an incremental table)',
			'config.tables[1].mode fdw needs engine postgres',
			'config.tables[1].key must be a non-empty list of column names',
			'config.tables[2] must be an object',
		]);
		expect(connectorConfigProblems('db', { engine: 'postgres', tables: [{ table: 'public.orders', mode: 'cdc' }] })).toEqual([]);
	});
});
