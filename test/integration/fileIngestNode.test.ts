/**
 * The File Ingest node's item loop against real PostgreSQL, through the IExecuteFunctions calls
 * it makes (a minimal stand-in for n8n's; test/e2e/files.test.ts runs the node in a real n8n):
 * under Continue On Fail a failed file is a failed run of the node's own, or a failed-file entry
 * on a run it was given, with its message — never a success.
 */
import type { IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';
import { IpaiFileIngest } from '../../nodes/IpaiFileIngest/IpaiFileIngest.node';
import { runningConnector } from '../helpers/connector';
import { useScratchDatabase } from '../../tooling/helpers/database';

jest.setTimeout(60_000);
const db = useScratchDatabase();

interface Item {
	fileName: string;
	bytes: string;
	json?: Record<string, unknown>;
}

let executions = 0;
async function run(files: Item[], parameters: Record<string, unknown>, continueOnFail: boolean): Promise<{ output: INodeExecutionData[]; error?: Error }> {
	const items: INodeExecutionData[] = files.map((f) => ({ json: (f.json ?? {}) as INodeExecutionData['json'], binary: { data: { data: Buffer.from(f.bytes).toString('base64'), mimeType: 'text/csv', fileName: f.fileName } } }));
	const params: Record<string, unknown> = { source: 'binary', binaryPropertyName: 'data', schema: 'ipai_bronze_core', writeMode: 'append', onBadRow: 'fail', runId: '', options: {}, ...parameters };
	const execution = `test-${++executions}`;
	const fn = {
		getInputData: () => items,
		getNode: () => ({ id: 'n1', name: 'IPAI File Ingest', type: 'n8n-nodes-ipai-lakehouse.ipaiFileIngest', typeVersion: 1, position: [0, 0], parameters: {} }),
		getNodeParameter: (name: string, _i: number, fallback?: unknown) => (name in params ? params[name] : fallback),
		getCredentials: async () => ({ connectionMode: 'connectionString', connectionString: db.url, ssl: 'disable' }),
		continueOnFail: () => continueOnFail,
		getExecutionId: () => execution,
		getWorkflow: () => ({ id: 'wf-test', name: 'test', active: false }),
		helpers: {
			assertBinaryData: (i: number, property: string) => items[i].binary![property],
		},
	} as unknown as IExecuteFunctions;
	try {
		const [output] = await new IpaiFileIngest().execute.call(fn);
		return { output };
	} catch (error) {
		return { output: [], error: error as Error };
	}
}

async function runsOf(table: string) {
	const { rows } = await db.pool.query(
		`select r.status, r.rows_read::int, r.rows_written::int, r.error_message, r.metadata->'failed_files' as failed_files
		   from ipai_connector_run r join ipai_connector_config c on c.id = r.connector_id
		  where c.name = $1 order by r.started_at`,
		[`ipai_bronze_core.${table}`],
	);
	return rows;
}

describe('Continue On Fail', () => {
	it('an empty file in a run of its own: the run is failed with the message (not a 0/0 success)', async () => {
		const { output, error } = await run([{ fileName: 'empty.csv', bytes: '' }], { table: 'cof_empty' }, true);
		expect(error).toBeUndefined();
		expect(output).toHaveLength(1);
		expect(output[0].json).toMatchObject({ error: 'empty.csv: the file is empty (0 bytes)', file: 'empty.csv', status: 'failed' });
		expect(await runsOf('cof_empty')).toEqual([
			{
				status: 'failed',
				rows_read: 0,
				rows_written: 0,
				error_message: '1 of 1 file failed: empty.csv: the file is empty (0 bytes)',
				failed_files: [{ file: 'empty.csv', item: 0, error: 'empty.csv: the file is empty (0 bytes)' }],
			},
		]);
	});

	it('two files, one bad: the good one stays loaded, the run is failed and names the bad file', async () => {
		const { output } = await run(
			[
				{ fileName: 'good.csv', bytes: 'a,b\n1,2\n3,4\n' },
				{ fileName: 'bad.csv', bytes: 'a,b\n5,6\nx,y,z\n' },
			],
			{ table: 'cof_two' },
			true,
		);
		expect(output.map((o) => o.json.error ?? o.json.rows)).toEqual([2, expect.stringMatching(/^bad\.csv, line 3: expected 2 fields, found 3\./)]);
		const [ledger] = await runsOf('cof_two');
		expect(ledger).toMatchObject({ status: 'failed', rows_read: 2, rows_written: 2, failed_files: [{ file: 'bad.csv', item: 1 }] });
		expect(ledger.error_message).toMatch(/^1 of 2 files failed: bad\.csv, line 3: expected 2 fields, found 3\./);
		expect((await db.pool.query('select count(*)::int as n from ipai_bronze_core.cof_two')).rows[0].n).toBe(2);
	});

	it('a run it was given stays running for its owner, with the failed file recorded on it', async () => {
		const { connectorId, runId } = await runningConnector(db.pool);
		const { output } = await run([{ fileName: 'empty.ndjson', bytes: '\n\n' }], { table: 'cof_given', runId }, true);
		expect(output[0].json).toMatchObject({ runId, connectorId, status: 'failed', error: 'empty.ndjson: the file has no JSON lines' });
		const { rows } = await db.pool.query(`select status, metadata->'failed_files' as f from ipai_connector_run where id = $1`, [runId]);
		expect(rows).toEqual([{ status: 'running', f: [{ file: 'empty.ndjson', item: 0, error: 'empty.ndjson: the file has no JSON lines' }] }]);
	});

	it('without Continue On Fail the node fails and so does its run', async () => {
		const { error } = await run([{ fileName: 'empty.csv', bytes: '' }], { table: 'cof_off' }, false);
		expect(error?.message).toBe('empty.csv: the file is empty (0 bytes)');
		expect(await runsOf('cof_off')).toMatchObject([{ status: 'failed', error_message: 'empty.csv: the file is empty (0 bytes)' }]);
	});
});

describe('Connector From: Dispatched Item', () => {
	it('the item’s connector name, table, key and bad-row policy replace the node’s', async () => {
		const dispatched = { name: 'files-dispatched', config: { table: 'dispatched_orders', keyColumns: 'id', onBadRow: 'skip' } };
		const { output, error } = await run(
			[{ fileName: 'orders.csv', bytes: 'id,amount\n1,10\n2,20\n1,11\n3,x,extra\n', json: dispatched }],
			{ connectorFrom: 'input', table: 'node_table', writeMode: 'append', onBadRow: 'fail' },
			false,
		);
		expect(error).toBeUndefined();
		expect(output[0].json).toMatchObject({ file: 'orders.csv', table: 'ipai_bronze_core.dispatched_orders' });
		const { rows: runs } = await db.pool.query(
			`select r.status from ipai_connector_run r join ipai_connector_config c on c.id = r.connector_id where c.name = 'files-dispatched'`,
		);
		expect(runs).toEqual([{ status: 'success' }]);
		// Merged on id (the later row for id 1 wins), the ragged row rejected rather than failing the file.
		const { rows } = await db.pool.query(`select id::text, amount::text from ipai_bronze_core.dispatched_orders order by id`);
		expect(rows).toEqual([
			{ id: '1', amount: '11' },
			{ id: '2', amount: '20' },
		]);
		const { rows: rejects } = await db.pool.query(`select count(*)::int as n from ipai_bronze_core.ipai_load_reject where target_table = 'ipai_bronze_core.dispatched_orders'`);
		expect(rejects[0].n).toBe(1);
		const { rows: other } = await db.pool.query(`select to_regclass('ipai_bronze_core.node_table') is null as absent`);
		expect(other[0].absent).toBe(true);
	});
});
