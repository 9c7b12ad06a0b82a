/**
 * Row-level `drop` expectations on every file path: Parquet (COPY text format straight from the
 * column chunks), Arrow IPC and NDJSON (the checked reader), CSV through COPY and through the
 * checked reader. Parquet and Arrow files are written by libraries this project did not write
 * (parquet-wasm, apache-arrow); the oracle is the file's own column values read back by
 * apache-arrow. The file's summary counts what was dropped (rows + rejects = rowsRead, rejects by
 * the expectation named on each reject row) and so does the run (metadata.rows_rejected).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Float64, Int64, Table, Utf8, tableToIPC, vectorFromArray } from 'apache-arrow';
import { localFileSource } from '../../lib/sources/files/bytes';
import { ingestFile } from '../../lib/sources/files/ingest';
import { runningConnector } from '../helpers/connector';
import { useScratchDatabase } from '../../tooling/helpers/database';

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
// A rejected row names the first drop expectation it violates, in name order.
const firstViolated = new Map<string, number>();
for (let i = 0; i < N; i++) {
	const name = amounts[i] < 0 ? 'amount_not_negative' : codes[i] !== null && !/^C[0-9]+$/.test(codes[i]!) ? 'code_format' : codes[i] === null ? 'code_present' : null;
	if (name) firstViolated.set(name, (firstViolated.get(name) ?? 0) + 1);
}

async function expectDrops(file: string, name: string, options: { rawRecord?: 'full'; format?: 'ndjson'; path?: 'copy' | 'checked' } = {}): Promise<void> {
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
	const summary = await ingestFile(db.pool, localFileSource(file), { ...run, table, key: ['id'], rawRecord: options.rawRecord, format: options.format });
	if (options.path) expect(summary.detected.path).toBe(options.path);
	expect(summary).toMatchObject({ rowsRead: N, rows: N - violating.size, rejects: violating.size });
	expect(summary.rows + summary.rejects).toBe(summary.rowsRead);
	expect(summary.rejectsByExpectation).toEqual(Object.fromEntries(firstViolated));
	const { rows: runRows } = await db.pool.query(`select rows_read::int, rows_written::int, (metadata->>'rows_rejected')::int as rejected from public.ipai_connector_run where id = $1`, [run.runId]);
	expect(runRows[0]).toEqual({ rows_read: N, rows_written: N - violating.size, rejected: violating.size });
	const { rows: loaded } = await db.pool.query(`select id from ipai_bronze_core.${name}`);
	const { rows: rejected } = await db.pool.query(
		`select (raw_line::jsonb ->> 'id')::bigint as id, expectation_name, source_file from ipai_bronze_core.ipai_load_reject where run_id = $1`,
		[run.runId],
	);
	expect(loaded.length + rejected.length).toBe(N);
	expect(new Set(rejected.map((r) => r.source_file))).toEqual(new Set(rejected.length > 0 ? [file] : []));
	const byName = new Map<string, number>();
	for (const r of rejected) byName.set(r.expectation_name, (byName.get(r.expectation_name) ?? 0) + 1);
	expect(Object.fromEntries(byName)).toEqual(summary.rejectsByExpectation);
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
		await expectDrops(path, 'dq_parquet', { path: 'copy' });
	});

	it('Arrow IPC: the rows violating go to the reject table, the rest loads', async () => {
		const path = join(tmp, 'rows.arrow');
		writeFileSync(path, tableToIPC(arrow, 'file'));
		await expectDrops(path, 'dq_arrow');
	});

	const csv = (): string => {
		const lines = ['id,amount,code'];
		for (let i = 0; i < N; i++) lines.push(`${ids[i]},${amounts[i]},${codes[i] === null ? '' : `"${codes[i]}"`}`);
		return lines.join('\n') + '\n';
	};

	it('CSV through COPY: the summary and the run count the dropped rows', async () => {
		const path = join(tmp, 'rows.csv');
		writeFileSync(path, csv());
		await expectDrops(path, 'dq_csv_copy', { path: 'copy' });
	});

	it('CSV through the checked reader: the same counts', async () => {
		const path = join(tmp, 'rows-checked.csv');
		writeFileSync(path, csv());
		await expectDrops(path, 'dq_csv_checked', { rawRecord: 'full', path: 'checked' });
	});

	it('NDJSON: the same counts', async () => {
		const path = join(tmp, 'rows.ndjson');
		writeFileSync(path, ids.map((id, i) => JSON.stringify({ id: Number(id), amount: amounts[i], code: codes[i] })).join('\n') + '\n');
		await expectDrops(path, 'dq_ndjson', { format: 'ndjson' });
	});

	it('unreadable rows and dropped rows add up in rejects (CSV, Skip to Reject Table)', async () => {
		const run = await runningConnector(db.pool);
		const table = { schema: 'ipai_bronze_core', name: 'dq_csv_mixed' };
		await db.pool.query(`create table ipai_bronze_core.dq_csv_mixed (id bigint, amount double precision, _ipai_connector_id uuid not null,
		   _ipai_run_id uuid not null, _ipai_extracted_at timestamptz not null, _ipai_deleted_at timestamptz, _ipai_raw jsonb not null)`);
		await db.pool.query(`insert into public.ipai_dq_expectation (target_table, name, kind, args, action) values
		   ('ipai_bronze_core.dq_csv_mixed', 'amount_not_negative', 'range', '{"column": "amount", "min": 0}', 'drop')`);
		const path = join(tmp, 'mixed.csv');
		writeFileSync(path, 'id,amount\n1,5\n2,-1\n3,1,extra\n4,-2\n5,7\n');
		const summary = await ingestFile(db.pool, localFileSource(path), { ...run, table, onBadRow: 'skip' });
		expect(summary).toMatchObject({ rowsRead: 5, rows: 2, rejects: 3, rejectsByExpectation: { amount_not_negative: 2 } });
		const { rows } = await db.pool.query(
			`select line_number::int, expectation_name, source_file from ipai_bronze_core.ipai_load_reject where run_id = $1 order by expectation_name nulls first, raw_line`,
			[run.runId],
		);
		expect(rows).toEqual([
			{ line_number: 4, expectation_name: null, source_file: path },
			{ line_number: null, expectation_name: 'amount_not_negative', source_file: path },
			{ line_number: null, expectation_name: 'amount_not_negative', source_file: path },
		]);
		const { rows: runRows } = await db.pool.query(`select rows_read::int, rows_written::int, (metadata->>'rows_rejected')::int as rejected from public.ipai_connector_run where id = $1`, [run.runId]);
		expect(runRows[0]).toEqual({ rows_read: 5, rows_written: 2, rejected: 3 });
	});
});
