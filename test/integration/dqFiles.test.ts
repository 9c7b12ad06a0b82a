/**
 * Row-level expectations on the file paths whose rows never become JavaScript records one by one:
 * Parquet (COPY text format straight from the column chunks) and Arrow IPC. Files are written by
 * libraries this project did not write (parquet-wasm, apache-arrow); the oracle is the file's own
 * column values read back by apache-arrow.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Float64, Int64, Table, Utf8, tableToIPC, vectorFromArray } from 'apache-arrow';
import { localFileSource } from '../../lib/sources/files/bytes';
import { ingestFile } from '../../lib/sources/files/ingest';
import { runningConnector } from '../helpers/connector';
import { useScratchDatabase } from '../helpers/database';

jest.setTimeout(180_000);
const db = useScratchDatabase();
const tmp = mkdtempSync(join(tmpdir(), 'ipai-dq-files-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const N = 500;
const ids = Array.from({ length: N }, (_, i) => BigInt(i + 1));
const amounts = ids.map((id) => (id % 7n === 0n ? -Number(id) : Number(id) / 4));
const codes = ids.map((id) => (id % 11n === 0n ? null : id % 13n === 0n ? 'bad code' : `C${id}`));
const arrow = new Table({
	id: vectorFromArray(ids, new Int64()),
	amount: vectorFromArray(amounts, new Float64()),
	code: vectorFromArray(codes, new Utf8()),
});
// The oracle: the rows the expectations below must drop, from the values apache-arrow holds.
const violating = new Set<number>();
for (let i = 0; i < arrow.numRows; i++) {
	const row = arrow.get(i)!;
	const code = row.code as string | null;
	if ((row.amount as number) < 0 || code === null || !/^C[0-9]+$/.test(code)) violating.add(Number(row.id));
}

async function expectDrops(file: string, name: string): Promise<void> {
	const run = await runningConnector(db.pool);
	const table = { schema: 'ipai_bronze_core', name };
	// The table exists before its expectations are declared (the definition is checked against it).
	await db.pool.query(
		`create table ipai_bronze_core.${name} (id bigint not null, amount double precision, code text, _ipai_connector_id uuid not null,
		   _ipai_run_id uuid not null, _ipai_extracted_at timestamptz not null, _ipai_deleted_at timestamptz, _ipai_raw jsonb not null,
		   primary key (_ipai_connector_id, id))`,
	);
	await db.pool.query(
		`insert into public.ipai_dq_expectation (target_table, name, kind, args, action) values
		   ($1, 'amount_not_negative', 'range', '{"column": "amount", "min": 0}', 'drop'),
		   ($1, 'code_present', 'not_null', '{"columns": ["code"]}', 'drop'),
		   ($1, 'code_format', 'regex', '{"column": "code", "pattern": "^C[0-9]+$"}', 'drop')`,
		[`ipai_bronze_core.${name}`],
	);
	const summary = await ingestFile(db.pool, localFileSource(file), { ...run, table, key: ['id'] });
	expect(summary.rowsRead).toBe(N);
	const { rows: loaded } = await db.pool.query(`select id from ipai_bronze_core.${name}`);
	const { rows: rejected } = await db.pool.query(
		`select (raw_line::jsonb ->> 'id')::bigint as id, expectation_name from ipai_bronze_core.ipai_load_reject where run_id = $1`,
		[run.runId],
	);
	expect(loaded.length + rejected.length).toBe(N);
	expect(new Set(rejected.map((r) => Number(r.id)))).toEqual(violating);
	expect(new Set(loaded.map((r) => Number(r.id))).size).toBe(N - violating.size);
	const { rows: results } = await db.pool.query(
		`select expectation_name, evaluated, failed, status from public.ipai_dq_result where run_id = $1 order by expectation_name`,
		[run.runId],
	);
	const oracle = (test: (i: number) => boolean) => Array.from({ length: N }, (_, i) => i).filter(test).length;
	expect(results.map((r) => [r.expectation_name, Number(r.evaluated), Number(r.failed), r.status])).toEqual([
		['amount_not_negative', N, oracle((i) => amounts[i] < 0), 'dropped'],
		['code_format', N, oracle((i) => codes[i] !== null && !/^C[0-9]+$/.test(codes[i]!)), 'dropped'],
		['code_present', N, oracle((i) => codes[i] === null), 'dropped'],
	]);
}

describe('drop expectations on file loads', () => {
	it('Parquet (COPY path): the rows violating go to the reject table, the rest loads', async () => {
		// eslint-disable-next-line @typescript-eslint/no-require-imports
		const wasm = require('parquet-wasm') as typeof import('parquet-wasm');
		const path = join(tmp, 'rows.parquet');
		writeFileSync(path, wasm.writeParquet(wasm.Table.fromIPCStream(tableToIPC(arrow, 'stream'))));
		await expectDrops(path, 'dq_parquet');
	});

	it('Arrow IPC: the rows violating go to the reject table, the rest loads', async () => {
		const path = join(tmp, 'rows.arrow');
		writeFileSync(path, tableToIPC(arrow, 'file'));
		await expectDrops(path, 'dq_arrow');
	});
});
