/**
 * Definitions are validated by the database when written, whoever writes them: through the engine
 * (defineExpectation) and through plain SQL as a product role. Injection probes against the free
 * SQL kinds, one test each; every refused definition leaves nothing stored, and the one that
 * slips past the lexical rules is still refused by PostgreSQL's parser. Then the table-level kinds
 * not covered by the seeded fixtures, and results readable per company under RLS.
 */
import { defineExpectation, ExpectationRefusedError, listTargetColumns, listTargetTables } from '../../lib/dq/definitions';
import { acceptCurrentSchema, evaluateExpectations } from '../../lib/dq/evaluate';
import { robustZ } from '../../lib/dq/volume';
import { asRole, useScratchDatabase } from '../../tooling/helpers/database';

const db = useScratchDatabase();
jest.setTimeout(120_000);

const MOVE = 'ipai_bronze_erp.odoo_account_move';

async function refusal(input: { targetTable?: string; kind: string; args: Record<string, unknown>; action?: string }): Promise<string> {
	const before = Number((await db.pool.query('select count(*) from public.ipai_dq_expectation')).rows[0].count);
	const error = await defineExpectation(db.pool, {
		targetTable: input.targetTable ?? MOVE,
		name: 'probe',
		kind: input.kind as never,
		args: input.args,
		action: (input.action ?? 'warn') as never,
	}).then(
		() => null,
		(e: Error) => e,
	);
	expect(error).toBeInstanceOf(ExpectationRefusedError);
	expect(Number((await db.pool.query('select count(*) from public.ipai_dq_expectation')).rows[0].count)).toBe(before);
	return error!.message;
}

describe('definitions refused with the reason', () => {
	it('a missing table', async () => expect(await refusal({ targetTable: 'ipai_bronze_erp.nope', kind: 'not_null', args: { column: 'id' } })).toMatch(/ipai_bronze_erp\.nope does not exist/));
	it('a missing column', async () => expect(await refusal({ kind: 'not_null', args: { columns: ['id', 'nope'] } })).toMatch(/column nope does not exist/));
	it('an invalid regex', async () => expect(await refusal({ kind: 'regex', args: { column: 'name', pattern: '([a-z' } })).toMatch(/not a valid regular expression/));
	it('a range bound of the wrong type', async () => expect(await refusal({ kind: 'range', args: { column: 'date', min: 'yesterday-ish' } })).toMatch(/args\.min .* does not fit column date/));
	it('a relationship to a missing column', async () =>
		expect(await refusal({ kind: 'relationship', args: { column: 'partner_id', to_table: 'ipai_bronze_erp.odoo_res_partner', to_column: 'nope' } })).toMatch(/column nope does not exist/));
	it('drop on a gold table', async () =>
		expect(await refusal({ targetTable: 'ipai_gold_erp.open_items', kind: 'not_null', args: { column: 'move_id' }, action: 'drop' })).toMatch(/drop applies to row-level expectations on bronze/));
	it('a control table as target', async () => expect(await refusal({ targetTable: 'public.ipai_connector_config', kind: 'not_null', args: { column: 'name' } })).toMatch(/not in a lakehouse layer/));
});

describe('expression and custom_sql: injection probes', () => {
	const expression = (text: string) => refusal({ kind: 'expression', args: { expression: text } });
	const query = (text: string) => refusal({ kind: 'custom_sql', args: { query: text } });

	it('a semicolon (a second statement)', async () => expect(await expression('true; drop table ipai_bronze_erp.odoo_account_move')).toMatch(/semicolon/));
	it('a semicolon inside custom_sql', async () => expect(await query('select 1 as x; delete from public.ipai_connector_run')).toMatch(/semicolon/));
	it('a line comment', async () => expect(await expression("name = 'x' -- and the rest")).toMatch(/comment/));
	it('a block comment', async () => expect(await expression("name = 'x' /* hidden */ or true")).toMatch(/comment/));
	it('a subquery into a control table', async () => expect(await expression('exists (select 1 from public.ipai_connector_config)')).toMatch(/over the row only/));
	it('a custom_sql reading another schema', async () => expect(await query('select * from public.ipai_connector_config')).toMatch(/reads public\.ipai_connector_config, outside the lakehouse/));
	it('a custom_sql reading the auth schema through a join', async () =>
		expect(await query('select m.id from ipai_bronze_erp.odoo_account_move m join auth.users u on true')).toMatch(/outside the lakehouse|does not compile/));
	it('a system catalog', async () => expect(await query('select * from pg_catalog.pg_authid')).toMatch(/system catalogs/));
	it('DDL', async () => expect(await query('create table ipai_bronze_erp.x as select 1')).toMatch(/CREATE, which is not allowed/));
	it('DML in a CTE', async () => expect(await query('with d as (delete from ipai_bronze_erp.odoo_account_move returning id) select * from d')).toMatch(/DELETE, which is not allowed/));
	it('a disallowed function', async () => expect(await expression('pg_sleep(10) is null')).toMatch(/pg_sleep/));
	it('a disallowed function that is not pg_-prefixed', async () => expect(await expression("md5(name) = 'x'")).toMatch(/calls md5\(\), which is not on the allow-list/));
	it('a disallowed function called by a quoted name', async () => expect(await expression('"set_config"(\'a.b\', \'c\', false) is null')).toMatch(/quoted name/));
	it('a function of the control schema, schema-qualified', async () => expect(await expression("ipai_meta.jwt_role() = 'admin'")).toMatch(/outside the gold and platinum layers/));
	it('dollar quoting', async () => expect(await expression('$$x$$ = name')).toMatch(/dollar/));
	it('an escape string hiding a quote', async () => expect(await expression("E'\\'' || pg_sleep(1) || '' = name")).toMatch(/backslash/));
	it('an expression that does not compile is refused by the parser', async () => expect(await expression('name + + = 3')).toMatch(/does not compile/));
	it('an expression that is not boolean', async () => expect(await expression("name || 'x'")).toMatch(/is of type text, not boolean/));

	it('a valid expression and a valid custom_sql are stored', async () => {
		await defineExpectation(db.pool, { targetTable: MOVE, name: 'total_sane', kind: 'expression', args: { expression: 'abs(coalesce(amount_total, 0)) < 1000000000' }, action: 'warn' });
		await defineExpectation(db.pool, {
			targetTable: 'ipai_gold_erp.open_items', name: 'overdue_large', kind: 'custom_sql', action: 'warn',
			args: { query: 'select connector_id, line_id from ipai_gold_erp.open_items where days_past_due > 365 and amount_open > 1000000' },
		});
	});

	it('plain SQL as the ingest role is validated the same way (no path around it)', async () => {
		const error = await asRole(db.pool, 'ipai_ingest', null, (c) =>
			c.query(`insert into public.ipai_dq_expectation (target_table, name, kind, args) values ($1, 'x', 'expression', '{"expression": "true; select 1"}')`, [MOVE]),
		).catch((e: Error) => e);
		expect((error as Error).message).toMatch(/refused: args\.expression contains a semicolon/);
	});
});

describe('table-level kinds', () => {
	it('row_count, freshness and schema_drift (accept, then drift)', async () => {
		const table = 'ipai_bronze_core.dq_levels';
		await db.pool.query(`create table ${table} (id int, _ipai_extracted_at timestamptz)`);
		await db.pool.query(`insert into ${table} values (1, now() - interval '3 hours'), (2, now() - interval '2 hours')`);
		await defineExpectation(db.pool, { targetTable: table, name: 'some_rows', kind: 'row_count', args: { min: 3 }, action: 'warn' });
		await defineExpectation(db.pool, { targetTable: table, name: 'fresh', kind: 'freshness', args: { max_age: '1 hour' }, action: 'fail' });
		const drift = await defineExpectation(db.pool, { targetTable: table, name: 'drift', kind: 'schema_drift', args: {}, action: 'warn' });
		const first = await evaluateExpectations(db.pool, { tables: [table] });
		const by = (r: typeof first, name: string) => r.outcomes.find((o) => o.expectation.name === name)!;
		expect(by(first, 'some_rows')).toMatchObject({ status: 'warn', failed: 1, observed: { rows: 2 } });
		expect(by(first, 'fresh')).toMatchObject({ status: 'fail', failed: 1 });
		expect(by(first, 'drift')).toMatchObject({ status: 'pass', failed: 0 });

		await db.pool.query(`insert into ${table} values (3, now())`);
		await db.pool.query(`alter table ${table} add column note text, alter column id type bigint`);
		const second = await evaluateExpectations(db.pool, { tables: [table] });
		expect(by(second, 'some_rows')).toMatchObject({ status: 'pass' });
		expect(by(second, 'fresh')).toMatchObject({ status: 'pass' });
		expect(by(second, 'drift')).toMatchObject({ status: 'warn', failed: 2, observed: { added: ['note'], removed: [], retyped: [{ column: 'id', from: 'integer', to: 'bigint' }] } });
		await acceptCurrentSchema(db.pool, drift.id);
		expect(by(await evaluateExpectations(db.pool, { tables: [table] }), 'drift')).toMatchObject({ status: 'pass', failed: 0 });
		await expect(evaluateExpectations(db.pool, { tables: [table], throwOnFail: true })).resolves.toBeDefined();
		await db.pool.query(`delete from ${table}`);
		await expect(evaluateExpectations(db.pool, { tables: [table], throwOnFail: true })).rejects.toThrow(/dq_levels\.fresh \(freshness, action fail\) failed: 1 of 1 checks \(the table has no rows\)/);
	});

	it('robust z-score: the worked example of Iglewicz and Hoaglin (median 3, MAD 1)', () => {
		// history 1,2,3,4,5 → median 3, |deviations| 2,1,0,1,2 → MAD 1; x = 10 → 0.6745 × 7 = 4.7215
		expect(robustZ(10, [1, 2, 3, 4, 5])).toEqual({ median: 3, mad: 1, z: expect.closeTo(4.7215, 6) });
		expect(robustZ(5, [5, 5, 5])).toEqual({ median: 5, mad: 0, z: 0 });
		expect(robustZ(6, [5, 5, 5]).z).toBeNull();
	});
});

describe('results under RLS, and the canvas lists', () => {
	it('analysts read the results of their companies only; staff read all', async () => {
		const table = 'ipai_gold_erp.dso_dpo';
		await db.pool.query(
			`insert into ${table} (connector_id, company_id, month, dso_days) values
			   (gen_random_uuid(), 1, '2026-01-01', 30), (gen_random_uuid(), 2, '2026-01-01', 900), (gen_random_uuid(), 3, '2026-01-01', 999)`,
		);
		const report = await evaluateExpectations(db.pool, { tables: [table], names: ['dso_dpo_within_bounds'] });
		expect(report.outcomes.map((o) => [o.companyId, o.failed]).sort()).toEqual([['1', 0], ['2', 1], ['3', 1]]);
		const read = (claims: Record<string, unknown>) =>
			asRole(db.pool, 'authenticated', claims, async (c) => (await c.query(`select company_id from public.ipai_dq_result where evaluation_id = $1 order by 1`, [report.evaluationId])).rows.map((r) => Number(r.company_id)));
		expect(await read({ app_metadata: { ipai_role: 'analyst', company_ids: ['2'] } })).toEqual([2]);
		expect(await read({ app_metadata: { ipai_role: 'data_engineer' } })).toEqual([1, 2, 3]);
		expect(await read({})).toEqual([]);
	});

	it('lists lakehouse tables and a table\'s columns for dropdowns', async () => {
		const tables = await listTargetTables(db.pool);
		expect(tables).toEqual(expect.arrayContaining(['ipai_bronze_erp.odoo_account_move', 'ipai_gold_erp.open_items']));
		expect(tables.some((t) => t.startsWith('public.'))).toBe(false);
		expect(await listTargetColumns(db.pool, 'ipai_gold_erp.dso_dpo')).toEqual(expect.arrayContaining([{ name: 'dso_days', type: 'numeric' }]));
	});
});
