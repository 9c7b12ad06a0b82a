/**
 * `fail` expectations on transform layers gate the refresh itself (issue 19): the materialized
 * views and transform tables of the refreshed schemas are rebuilt, the schemas' `fail`
 * expectations are evaluated against what is about to be published, and a failure rolls the whole
 * refresh back. Readers then see exactly the previous contents (compared row by row), the failed
 * result is recorded, the audit says the refresh was rolled back, and the error names the
 * expectation with its counts. A `warn` expectation in the same situation lets the refresh commit.
 * A property over random datasets: gold after a refresh equals the previous gold if and only if
 * the data violates a `fail` expectation (otherwise it equals the new data).
 */
import fc from 'fast-check';
import type { IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';
import { refreshMaterializedViews } from '../../lib/lakehouse/refresh';
import { IpaiConnectorRun } from '../../nodes/IpaiConnectorRun/IpaiConnectorRun.node';
import { useScratchDatabase } from '../../tooling/helpers/database';

const db = useScratchDatabase();
jest.setTimeout(240_000);

const SCHEMAS = ['ipai_silver_core', 'ipai_gold_core'];
const FAILED = /^Data quality expectation ipai_gold_core\.dq_totals\.amount_not_negative \(range, action fail\) failed: 1 of 3 rows/;

/** Silver rows, replaced wholesale (as a transform's source would change between refreshes). */
async function setSource(rows: Array<[number, number]>): Promise<void> {
	await db.pool.query('delete from ipai_silver_core.dq_facts');
	for (const [id, amount] of rows) await db.pool.query('insert into ipai_silver_core.dq_facts values ($1, $2)', [id, amount]);
}

/** Everything a reader of the published layers sees, in a fixed order. */
async function published(): Promise<{ table: unknown[]; view: unknown[]; silver: unknown[] }> {
	const rows = async (sql: string) => (await db.pool.query(sql)).rows;
	return {
		table: await rows('select id, amount::text from ipai_gold_core.dq_totals order by id'),
		view: await rows('select id, amount::text from ipai_gold_core.dq_view order by id'),
		silver: await rows('select id, amount::text from ipai_silver_core.dq_view order by id'),
	};
}

async function setAction(action: 'warn' | 'fail'): Promise<void> {
	await db.pool.query(`update public.ipai_dq_expectation set action = $1 where name = 'amount_not_negative'`, [action]);
}

beforeAll(async () => {
	// A silver materialized view, a gold one built on it (refreshed CONCURRENTLY once populated),
	// and a gold table published from a build view by ipai_meta.refresh_transform_tables.
	await db.pool.query(`
		create table ipai_silver_core.dq_facts (id int primary key, amount numeric);
		select ipai_meta.secure_relation('ipai_silver_core.dq_facts');
		create materialized view ipai_silver_core.dq_view as select id, amount from ipai_silver_core.dq_facts with no data;
		create unique index on ipai_silver_core.dq_view (id);
		create materialized view ipai_gold_core.dq_view as select id, amount from ipai_silver_core.dq_view with no data;
		create unique index on ipai_gold_core.dq_view (id);
		create view ipai_silver_core.build_dq_totals as select id, amount from ipai_silver_core.dq_facts;
		select ipai_meta.secure_relation('ipai_silver_core.build_dq_totals');
		create table ipai_gold_core.dq_totals (id int primary key, amount numeric);
		select ipai_meta.secure_relation('ipai_gold_core.dq_totals');
		insert into ipai_meta.transform_table (target, source, refresh_order) values ('ipai_gold_core.dq_totals', 'ipai_silver_core.build_dq_totals', 900);
	`);
	await db.pool.query(
		`insert into public.ipai_dq_expectation (target_table, name, kind, args, action, runbook_url) values
		   ('ipai_gold_core.dq_totals', 'amount_not_negative', 'range', '{"column": "amount", "min": 0}', 'fail', 'https://runbooks.example/dq'),
		   ('ipai_gold_core.dq_view', 'some_rows', 'row_count', '{"min": 1}', 'warn', null)`,
	);
	await setSource([[1, 10], [2, 32]]);
	await refreshMaterializedViews(db.pool, SCHEMAS);
});

describe('a fail expectation on a transform layer', () => {
	it('rolls the refresh back: previous contents exactly, the failed result recorded, the audit honest', async () => {
		await setAction('fail');
		const before = await published();
		expect(before.table).toEqual([{ id: 1, amount: '10' }, { id: 2, amount: '32' }]);
		const audits = Number((await db.pool.query(`select count(*) from public.ipai_audit_log where action = 'refresh'`)).rows[0].count);

		await setSource([[1, 10], [2, 32], [3, -5]]);
		const started = new Date();
		await expect(refreshMaterializedViews(db.pool, SCHEMAS)).rejects.toThrow(FAILED);

		expect(await published()).toEqual(before);
		const { rows: results } = await db.pool.query(
			`select target_table, expectation_name, action, status, evaluated::int, failed::int, failing_sample, run_id
			   from public.ipai_dq_result where evaluated_at >= $1 and expectation_name = 'amount_not_negative'`,
			[started],
		);
		expect(results).toEqual([
			{ target_table: 'ipai_gold_core.dq_totals', expectation_name: 'amount_not_negative', action: 'fail', status: 'fail', evaluated: 3, failed: 1, failing_sample: [{ amount: -5 }], run_id: null },
		]);
		// Only `fail` expectations run inside the refresh; `warn` ones are Evaluate's.
		expect((await db.pool.query(`select 1 from public.ipai_dq_result where evaluated_at >= $1 and expectation_name = 'some_rows'`, [started])).rows).toEqual([]);
		expect(Number((await db.pool.query(`select count(*) from public.ipai_audit_log where action = 'refresh'`)).rows[0].count)).toBe(audits);
		const { rows: rolledBack } = await db.pool.query(`select details from public.ipai_audit_log where action = 'refresh_rolled_back' and created_at >= $1`, [started]);
		expect(rolledBack).toHaveLength(1);
		expect(rolledBack[0].details).toMatchObject({
			schemas: SCHEMAS,
			failedExpectations: ['ipai_gold_core.dq_totals.amount_not_negative'],
			rolledBack: expect.arrayContaining(['ipai_gold_core.dq_totals', 'ipai_gold_core.dq_view', 'ipai_silver_core.dq_view']),
		});
	});

	it('as warn, the same data lets the refresh commit', async () => {
		await setAction('warn');
		await setSource([[1, 10], [2, 32], [3, -5]]);
		const refreshed = await refreshMaterializedViews(db.pool, SCHEMAS);
		expect(refreshed.map((r) => r.view)).toEqual(expect.arrayContaining(['ipai_gold_core.dq_totals', 'ipai_gold_core.dq_view']));
		const after = await published();
		const rows = [{ id: 1, amount: '10' }, { id: 2, amount: '32' }, { id: 3, amount: '-5' }];
		expect(after).toEqual({ table: rows, view: rows, silver: rows });
	});

	it('the Refresh Transforms operation fails the item with the expectation as the headline', async () => {
		await setAction('fail');
		await setSource([[1, 10], [2, 32]]);
		await refreshMaterializedViews(db.pool, SCHEMAS);
		await setSource([[1, 10], [2, 32], [4, -1]]);
		const failing = await runNode({ operation: 'refresh', schemas: SCHEMAS });
		expect(failing.error?.message).toMatch(/^Data quality expectation ipai_gold_core\.dq_totals\.amount_not_negative \(range, action fail\) failed: 1 of 3 rows.*runbook https:\/\/runbooks\.example\/dq/);
		expect((failing.error as { description?: string }).description).toMatch(/rolled back/);
		const continued = await runNode({ operation: 'refresh', schemas: SCHEMAS }, true);
		expect(continued.output.map((o) => o.json.error)).toEqual([expect.stringMatching(/amount_not_negative \(range, action fail\) failed: 1 of 3 rows/)]);
		expect((await published()).table).toEqual([{ id: 1, amount: '10' }, { id: 2, amount: '32' }]);
	});

	it('property: gold after a refresh equals the previous gold iff the new data fails a fail expectation', async () => {
		await setAction('fail');
		await setSource([[1, 1]]);
		await refreshMaterializedViews(db.pool, SCHEMAS);
		const datasets = fc.uniqueArray(fc.record({ id: fc.integer({ min: 1, max: 40 }), amount: fc.integer({ min: -3, max: 50 }) }), { selector: (r) => r.id, maxLength: 12 });
		await fc.assert(
			fc.asyncProperty(datasets, async (rows) => {
				const before = await published();
				await setSource(rows.map((r) => [r.id, r.amount]));
				const violates = rows.some((r) => r.amount < 0);
				const outcome = await refreshMaterializedViews(db.pool, SCHEMAS).then(() => 'committed', (error: Error) => error.message);
				const after = await published();
				if (violates) {
					expect(outcome).toMatch(/amount_not_negative \(range, action fail\) failed/);
					expect(after).toEqual(before);
				} else {
					expect(outcome).toBe('committed');
					const expected = [...rows].sort((a, b) => a.id - b.id).map((r) => ({ id: r.id, amount: String(r.amount) }));
					expect(after).toEqual({ table: expected, view: expected, silver: expected });
				}
			}),
			{ numRuns: 30 },
		);
	});
});

async function runNode(parameters: Record<string, unknown>, continueOnFail = false): Promise<{ output: INodeExecutionData[]; error?: Error }> {
	const fn = {
		getInputData: () => [{ json: {} }],
		getNode: () => ({ id: 'n1', name: 'IPAI Connector Run', type: 'n8n-nodes-ipai-lakehouse.ipaiConnectorRun', typeVersion: 1, position: [0, 0], parameters: {} }),
		getNodeParameter: (name: string, _i: number, fallback?: unknown) => (name in parameters ? parameters[name] : fallback),
		getCredentials: async () => ({ connectionMode: 'connectionString', connectionString: db.url, ssl: 'disable' }),
		continueOnFail: () => continueOnFail,
		getExecutionId: () => 'test',
		getWorkflow: () => ({ id: 'wf', name: 'test', active: false }),
	} as unknown as IExecuteFunctions;
	try {
		const [output] = await new IpaiConnectorRun().execute.call(fn);
		return { output };
	} catch (error) {
		return { output: [], error: error as Error };
	}
}
