/**
 * The IPAI Data Quality node's operations against real PostgreSQL, through the IExecuteFunctions
 * and ILoadOptionsFunctions calls it makes (a minimal stand-in for n8n's, as fileIngestNode.test.ts):
 * a refused definition fails the item with the database's reason as the headline; Evaluate records
 * every result and fails on a `fail` expectation; the dropdowns list lakehouse tables and columns.
 */
import type { IExecuteFunctions, ILoadOptionsFunctions, INodeExecutionData } from 'n8n-workflow';
import { IpaiDataQuality } from '../../nodes/IpaiDataQuality/IpaiDataQuality.node';
import { useScratchDatabase } from '../../tooling/helpers/database';

jest.setTimeout(60_000);
const db = useScratchDatabase();
const credentials = () => ({ connectionMode: 'connectionString', connectionString: db.url, ssl: 'disable' });

async function run(parameters: Record<string, unknown>, continueOnFail = false): Promise<{ output: INodeExecutionData[]; error?: Error }> {
	const fn = {
		getInputData: () => [{ json: {} }],
		getNode: () => ({ id: 'n1', name: 'IPAI Data Quality', type: 'n8n-nodes-ipai-lakehouse.ipaiDataQuality', typeVersion: 1, position: [0, 0], parameters: {} }),
		getNodeParameter: (name: string, _i: number, fallback?: unknown) => (name in parameters ? parameters[name] : fallback),
		getCredentials: async () => credentials(),
		continueOnFail: () => continueOnFail,
		getExecutionId: () => 'test',
		getWorkflow: () => ({ id: 'wf', name: 'test', active: false }),
	} as unknown as IExecuteFunctions;
	try {
		const [output] = await new IpaiDataQuality().execute.call(fn);
		return { output };
	} catch (error) {
		return { output: [], error: error as Error };
	}
}

const loadOptions = (method: 'getTables' | 'getColumns', current: Record<string, unknown> = {}) =>
	new IpaiDataQuality().methods.loadOptions[method].call({
		getCredentials: async () => credentials(),
		getCurrentNodeParameter: (name: string) => current[name],
	} as unknown as ILoadOptionsFunctions);

beforeAll(async () => {
	await db.pool.query(`create table ipai_bronze_core.dq_node (id bigint, amount numeric, _ipai_extracted_at timestamptz)`);
	await db.pool.query(`insert into ipai_bronze_core.dq_node values (1, 5, now()), (2, -1, now())`);
});

it('defines an expectation from the kind-specific fields', async () => {
	const { output, error } = await run({
		operation: 'define', targetTable: 'ipai_bronze_core.dq_node', name: 'amount_known', kind: 'accepted_values', column: 'amount', values: '5, 6', onFailure: 'warn',
		defineOptions: { owner: 'finance', runbookUrl: 'https://runbooks.example/x' },
	});
	expect(error).toBeUndefined();
	expect(output[0].json).toMatchObject({ targetTable: 'ipai_bronze_core.dq_node', name: 'amount_known', args: { column: 'amount', values: ['5', '6'] }, owner: 'finance' });
});

it('a refused definition fails with the reason as the headline; under Continue On Fail it is the item', async () => {
	const parameters = { operation: 'define', targetTable: 'ipai_bronze_core.dq_node', name: 'bad', kind: 'regex', column: 'amount', pattern: '([', onFailure: 'warn' };
	const { error } = await run(parameters);
	expect(error?.message).toMatch(/^Expectation ipai_bronze_core\.dq_node\.bad refused: args\.pattern is not a valid regular expression/);
	const { output } = await run(parameters, true);
	expect(output[0].json.error).toMatch(/refused: args\.pattern/);
	expect((await db.pool.query(`select 1 from public.ipai_dq_expectation where name = 'bad'`)).rows).toHaveLength(0);
});

it('evaluates, records every result, and fails on a fail expectation naming it', async () => {
	await run({ operation: 'define', targetTable: 'ipai_bronze_core.dq_node', name: 'amount_positive', kind: 'range', column: 'amount', min: '0', max: '', inclusive: true, onFailure: 'fail' });
	await run({ operation: 'define', targetTable: 'ipai_bronze_core.dq_node', name: 'two_rows', kind: 'row_count', min: '2', max: '2', onFailure: 'warn' });
	const ok = await run({ operation: 'evaluate', schemas: [], tables: ['ipai_bronze_core.dq_node'], failOnFail: false });
	expect(ok.error).toBeUndefined();
	const results = ok.output[0].json.results as Array<Record<string, unknown>>;
	expect(results.map((r) => [r.expectation, r.status, r.failed, r.evaluated])).toEqual([
		['amount_known', 'warn', 1, 2],
		['amount_positive', 'fail', 1, 2],
		['two_rows', 'pass', 0, 1],
	]);
	const failing = await run({ operation: 'evaluate', schemas: [], tables: ['ipai_bronze_core.dq_node'], failOnFail: true });
	expect(failing.error?.message).toContain('ipai_bronze_core.dq_node.amount_positive (range, action fail) failed: 1 of 2 rows');
	const listed = await run({ operation: 'listResults', filterTable: 'ipai_bronze_core.dq_node', statuses: ['fail'], sinceHours: 1, limit: 10 });
	expect(listed.output.map((o) => o.json.expectation_name)).toEqual(['amount_positive', 'amount_positive']);
	const expectations = await run({ operation: 'listExpectations', filterTable: 'ipai_bronze_core.dq_node' });
	expect(expectations.output.map((o) => o.json.name)).toEqual(['amount_known', 'amount_positive', 'two_rows']);
});

it('lists lakehouse tables and the chosen table\'s columns', async () => {
	const tables = await loadOptions('getTables');
	expect(tables.map((t) => t.value)).toContain('ipai_bronze_core.dq_node');
	const columns = await loadOptions('getColumns', { targetTable: 'ipai_bronze_core.dq_node' });
	expect(columns).toEqual(expect.arrayContaining([{ name: 'amount (numeric)', value: 'amount' }]));
});
