/**
 * IPAI File Ingest in a real n8n 2.x with the packed package: a workflow reads real files from
 * disk (Read/Write Files from Disk, n8n's own node) and ingests them — a CSV with its own run, and
 * the 3-million-row Parquet file inside a run started by IPAI Connector Run — then one more
 * workflow shows a bad row failing the node with file, line and column.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'pg';
import { migrate } from '../../lib/lakehouse/migrate';
import { createScratchDatabase, type ScratchDatabase } from '../../tooling/helpers/database';
import { N8nInstance, nodeOutput } from '../../tooling/n8n/n8nRuntime';
import { lakehouseCredential, PACKAGE_NAME, packPackage } from '../../tooling/n8n/pack';

jest.setTimeout(900_000);

const DATA = join(__dirname, '..', '..', 'node_modules', 'vega-datasets', 'data');
let n8n: N8nInstance;
let lakehouse: ScratchDatabase;
let files = '';
let userFolder = '';
const credentials = { ipaiLakehouseApi: { id: 'lakehouseFile01', name: 'lakehouse lakehouseFile01' } };

beforeAll(async () => {
	lakehouse = await createScratchDatabase('ipai_e2e_files');
	await migrate({ connection: { connectionString: lakehouse.url } });
	// The Read Files node only reads under N8N_RESTRICT_FILE_ACCESS_TO: a folder of our own.
	userFolder = mkdtempSync(join(tmpdir(), 'ipai-e2e-files-'));
	files = join(userFolder, 'files');
	n8n = await N8nInstance.create({ userFolder, env: { N8N_RESTRICT_FILE_ACCESS_TO: files } });
	mkdirSync(files, { recursive: true });
	copyFileSync(join(DATA, 'birdstrikes.csv'), join(files, 'birdstrikes.csv'));
	copyFileSync(join(DATA, 'flights-3m.parquet'), join(files, 'flights-3m.parquet'));
	const lines = readFileSync(join(DATA, 'stocks.csv'), 'utf8').split('\n');
	lines[42] = lines[42].replace(/,[^,]*$/, ',n/a');
	writeFileSync(join(files, 'stocks-bad.csv'), lines.join('\n'));
	writeFileSync(join(files, 'empty.csv'), '');
	await n8n.installPackage(packPackage());
	await n8n.importCredentials([lakehouseCredential('lakehouseFile01', lakehouse.url)]);
});

afterAll(async () => {
	await n8n?.dispose();
	await lakehouse?.drop();
	if (userFolder) rmSync(userFolder, { recursive: true, force: true });
});

function workflow(id: string, nodes: Array<Record<string, unknown>>) {
	const names = nodes.map((n) => n.name as string);
	const connections = Object.fromEntries(names.slice(0, -1).map((name, i) => [name, { main: [[{ node: names[i + 1], type: 'main', index: 0 }]] }]));
	return { id, name: id, active: false, settings: {}, nodes: nodes.map((n, i) => ({ id: `${id}-${i}`, position: [i * 200, 0], typeVersion: 1, ...n })), connections };
}
const trigger = { name: 'Start', type: 'n8n-nodes-base.manualTrigger', parameters: {} };
const readFile = (path: string) => ({ name: 'Read File', type: 'n8n-nodes-base.readWriteFile', typeVersion: 1.1, parameters: { operation: 'read', fileSelector: path, options: {} } });

it('n8n loads the node type', async () => {
	expect(await n8n.listNodeTypes()).toEqual(expect.arrayContaining([`${PACKAGE_NAME}.ipaiFileIngest`]));
});

it('Read File → File Ingest loads a CSV in its own run, and Parquet inside a Connector Run', async () => {
	await n8n.importWorkflow(
		workflow('ipaiFileCsv0001', [
			trigger,
			readFile(join(files, 'birdstrikes.csv')),
			{ name: 'Ingest', type: `${PACKAGE_NAME}.ipaiFileIngest`, credentials, parameters: { source: 'binary', schema: 'ipai_bronze_core', table: 'birdstrikes', onBadRow: 'fail' } },
		]),
	);
	const run = await n8n.executeWorkflow('ipaiFileCsv0001');
	const [summary] = nodeOutput(run, 'Ingest');
	expect(summary).toMatchObject({ file: 'birdstrikes.csv', format: 'csv', rows: 10_000, rejects: 0, table: 'ipai_bronze_core.birdstrikes' });
	// Streamed from n8n's binary data straight into COPY.
	expect(summary.detected).toMatchObject({ path: 'copy' });

	await n8n.importWorkflow(
		workflow('ipaiFilePq00001', [
			trigger,
			{ name: 'Open Run', type: `${PACKAGE_NAME}.ipaiConnectorRun`, credentials, parameters: { operation: 'start', connectorType: 'file', connectorName: 'flights' } },
			readFile(join(files, 'flights-3m.parquet')),
			{ name: 'Ingest', type: `${PACKAGE_NAME}.ipaiFileIngest`, credentials, parameters: { source: 'binary', schema: 'ipai_bronze_core', table: 'flights', runId: "={{ $('Open Run').first().json.runId }}" } },
			{ name: 'Finish', type: `${PACKAGE_NAME}.ipaiConnectorRun`, credentials, parameters: { operation: 'finish', runId: "={{ $('Open Run').first().json.runId }}" } },
		]),
	);
	const pq = await n8n.executeWorkflow('ipaiFilePq00001', { timeoutMs: 600_000 });
	const [opened] = nodeOutput(pq, 'Open Run');
	expect(nodeOutput(pq, 'Ingest')[0]).toMatchObject({ format: 'parquet', rows: 3_000_000, runId: opened.runId });
	expect(nodeOutput(pq, 'Finish')[0]).toMatchObject({ status: 'success' });

	const pool = new Pool({ connectionString: lakehouse.url });
	try {
		expect((await pool.query('select count(*)::int as n from ipai_bronze_core.birdstrikes')).rows[0].n).toBe(10_000);
		expect((await pool.query('select count(*)::int as n from ipai_bronze_core.flights')).rows[0].n).toBe(3_000_000);
		const ledger = await pool.query(`select status, rows_written::int from ipai_connector_run where id = $1`, [opened.runId]);
		expect(ledger.rows[0]).toEqual({ status: 'success', rows_written: 3_000_000 });
	} finally {
		await pool.end();
	}
});

it('Raw Record "whole record" and bad rows skipped: the checked reader, the rejects in their table', async () => {
	await n8n.importWorkflow(
		workflow('ipaiFileFull001', [
			trigger,
			readFile(join(files, 'stocks-bad.csv')),
			{
				name: 'Ingest',
				type: `${PACKAGE_NAME}.ipaiFileIngest`,
				credentials,
				parameters: { source: 'binary', schema: 'ipai_bronze_core', table: 'stocks_full', onBadRow: 'skip', options: { sampleRows: 10, rawRecord: 'full' } },
			},
		]),
	);
	const [summary] = nodeOutput(await n8n.executeWorkflow('ipaiFileFull001'), 'Ingest');
	const lines = readFileSync(join(files, 'stocks-bad.csv'), 'utf8').split('\n').filter((l) => l.length > 0);
	expect(summary).toMatchObject({ rows: lines.length - 2, rejects: 1, detected: expect.objectContaining({ path: 'checked' }) });
	const pool = new Pool({ connectionString: lakehouse.url });
	try {
		const raw = await pool.query(`select _ipai_raw as r from ipai_bronze_core.stocks_full limit 1`);
		expect(Object.keys(raw.rows[0].r).sort()).toEqual(['date', 'price', 'symbol']);
		const reject = await pool.query(`select line_number::int, column_name from ipai_bronze_core.ipai_load_reject where source_file = 'stocks-bad.csv'`);
		expect(reject.rows).toEqual([{ line_number: 43, column_name: 'price' }]);
	} finally {
		await pool.end();
	}
});

it('a bad row fails the node with file, line and column, and its own run is marked failed', async () => {
	await n8n.importWorkflow(
		workflow('ipaiFileBad0001', [
			trigger,
			readFile(join(files, 'stocks-bad.csv')),
			{ name: 'Ingest', type: `${PACKAGE_NAME}.ipaiFileIngest`, credentials, parameters: { source: 'binary', schema: 'ipai_bronze_core', table: 'stocks', options: { sampleRows: 10 } } },
		]),
	);
	const error = await n8n.executeWorkflow('ipaiFileBad0001').catch((e: Error) => e);
	expect(String((error as Error).message ?? error)).toMatch(/stocks-bad\.csv, line 43, column "price": "n\/a" is not a numeric value/);
	const pool = new Pool({ connectionString: lakehouse.url });
	try {
		expect((await pool.query(`select to_regclass('ipai_bronze_core.stocks') as t`)).rows[0].t).toBeNull();
		const runs = await pool.query(`select r.status from ipai_connector_run r join ipai_connector_config c on c.id = r.connector_id where c.name = 'ipai_bronze_core.stocks'`);
		expect(runs.rows.map((r) => r.status)).toEqual(['failed']);
	} finally {
		await pool.end();
	}
});

it('Continue On Fail: an empty file is an output item with its error, and the run of the node is failed with the message', async () => {
	await n8n.importWorkflow(
		workflow('ipaiFileCof0001', [
			trigger,
			readFile(join(files, 'empty.csv')),
			{ name: 'Ingest', type: `${PACKAGE_NAME}.ipaiFileIngest`, credentials, onError: 'continueRegularOutput', parameters: { source: 'binary', schema: 'ipai_bronze_core', table: 'empty_cof' } },
		]),
	);
	const [item] = nodeOutput(await n8n.executeWorkflow('ipaiFileCof0001'), 'Ingest');
	expect(item).toMatchObject({ error: 'empty.csv: the file is empty (0 bytes)', file: 'empty.csv', status: 'failed' });
	const pool = new Pool({ connectionString: lakehouse.url });
	try {
		const runs = await pool.query(
			`select r.status, r.error_message, r.metadata->'failed_files' as failed from ipai_connector_run r join ipai_connector_config c on c.id = r.connector_id where c.name = 'ipai_bronze_core.empty_cof'`,
		);
		expect(runs.rows).toEqual([
			{ status: 'failed', error_message: '1 of 1 file failed: empty.csv: the file is empty (0 bytes)', failed: [{ file: 'empty.csv', item: 0, error: 'empty.csv: the file is empty (0 bytes)' }] },
		]);
	} finally {
		await pool.end();
	}
});
