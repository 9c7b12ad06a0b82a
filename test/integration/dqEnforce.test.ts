/**
 * Row-level expectations inside the loader's page transaction, against a PostgreSQL-independent
 * oracle: pages generated with random violations; the oracle is a plain JavaScript reading of each
 * expectation's meaning. Invariants, for every page on every load path (merge, append, CSV COPY):
 *   loaded + rejected = input;
 *   the rejected rows are exactly the rows the oracle finds violating;
 *   ipai_dq_result's failed count of each expectation is the oracle's count.
 */
import fc from 'fast-check';
import { copyCsvStream } from '../../lib/lakehouse/copyLoad';
import { loadStream, type LoadRecord } from '../../lib/lakehouse/loader';
import { failRun } from '../../lib/lakehouse/runs';
import { ExpectationFailedError } from '../../lib/dq/types';
import { enforcePageExpectations } from '../../lib/dq/enforce';
import { quoteIdent } from '../../lib/lakehouse/sql';
import { runningConnector } from '../helpers/connector';
import { useScratchDatabase } from '../../tooling/helpers/database';

const db = useScratchDatabase();
jest.setTimeout(300_000);

interface Row {
	id: number;
	code: string | null;
	amount: number | null;
	status: string | null;
	ref: string | null;
}

const CODES = ['ABC', 'XYZ', 'ab1', 'QQQQ', null];
const AMOUNTS = [-5, 0, 12.5, 1000, 1000.01, null];
const STATUSES = ['open', 'paid', 'void', null];
const REFS = ['r1', 'r2', 'r3', 'r4', 'r5', 'r6', null];

/** Each expectation and what it means, read without PostgreSQL. */
const EXPECTATIONS: Array<{ name: string; kind: string; args: Record<string, unknown>; violates: (r: Row, unique: boolean) => boolean }> = [
	{ name: 'code_not_null', kind: 'not_null', args: { columns: ['code'] }, violates: (r) => r.code === null },
	{ name: 'amount_range', kind: 'range', args: { column: 'amount', min: 0, max: 1000, min_inclusive: true, max_inclusive: true },
		violates: (r) => r.amount !== null && (r.amount < 0 || r.amount > 1000) },
	{ name: 'code_format', kind: 'regex', args: { column: 'code', pattern: '^[A-Z]{3}$' }, violates: (r) => r.code !== null && !/^[A-Z]{3}$/.test(r.code) },
	{ name: 'status_known', kind: 'accepted_values', args: { column: 'status', values: ['open', 'paid'] },
		violates: (r) => r.status !== null && !['open', 'paid'].includes(r.status) },
	{ name: 'ref_unique', kind: 'unique', args: { columns: ['ref'] }, violates: (_r, duplicate) => duplicate },
	{ name: 'paid_has_amount', kind: 'expression', args: { expression: "status <> 'paid' or amount > 0" },
		violates: (r) => r.status === 'paid' && r.amount !== null && !(r.amount > 0) },
];

const rowArb = fc.record({
	code: fc.constantFrom(...CODES),
	amount: fc.constantFrom(...AMOUNTS),
	status: fc.constantFrom(...STATUSES),
	ref: fc.constantFrom(...REFS),
});
const pageArb = fc.array(rowArb, { minLength: 0, maxLength: 25 });

type Mode = 'merge' | 'append' | 'csv';

/** A table with its expectations (action drop) and the oracle's memory of the refs it holds. */
async function setUp(mode: Mode) {
	const run = await runningConnector(db.pool);
	const table = { schema: 'ipai_bronze_core', name: `dq_${mode}` };
	const seed: Row = { id: 1, code: 'AAA', amount: 1, status: 'open', ref: 'r0' };
	await loadStream(db.pool, [{ records: [seed as unknown as LoadRecord] }], { ...run, stream: 's', table, key: mode === 'merge' ? ['id'] : undefined,
		columns: [{ field: 'id', type: 'bigint' }, { field: 'code', type: 'text' }, { field: 'amount', type: 'numeric' }, { field: 'status', type: 'text' }, { field: 'ref', type: 'text' }] });
	for (const e of EXPECTATIONS) {
		await db.pool.query(
			`insert into public.ipai_dq_expectation (target_table, name, kind, args, action) values ($1, $2, $3, $4, 'drop')`,
			[`${table.schema}.${table.name}`, e.name, e.kind, e.args],
		);
	}
	return { run, table, refs: new Set<string>(['r0']), nextId: 2, totals: new Map(EXPECTATIONS.map((e) => [e.name, 0])) };
}

function csvField(value: unknown): string {
	return value === null ? '' : `"${String(value).replace(/"/g, '""')}"`;
}

async function loadPage(mode: Mode, state: Awaited<ReturnType<typeof setUp>>, rows: Row[]): Promise<void> {
	const { run, table } = state;
	if (mode === 'csv') {
		const text = rows.map((r) => [r.id, r.code, r.amount, r.status, r.ref].map(csvField).join(',') + '\n').join('');
		await copyCsvStream(db.pool, {
			...run, stream: 's', table,
			columns: [{ field: 'id', type: 'bigint' }, { field: 'code', type: 'text' }, { field: 'amount', type: 'numeric' }, { field: 'status', type: 'text' }, { field: 'ref', type: 'text' }],
			csv: { delimiter: ',', quote: '"', encoding: 'UTF8' },
			rows: () => [Buffer.from(text)],
			rowsCarryRaw: false,
		});
		return;
	}
	await loadStream(db.pool, [{ records: rows as unknown as LoadRecord[] }], { ...run, stream: 's', table, key: mode === 'merge' ? ['id'] : undefined });
}

describe.each<Mode>(['merge', 'append', 'csv'])('row-level expectations, %s path', (mode) => {
	it('loaded + rejected = input; rejected = exactly the violating rows; result counts match', async () => {
		const state = await setUp(mode);
		const target = `ipai_bronze_core.dq_${mode}`;
		await fc.assert(
			fc.asyncProperty(pageArb, async (generated) => {
				const rows: Row[] = generated.map((r) => ({ id: state.nextId++, ...r }));
				const refCount = new Map<string, number>();
				for (const r of rows) if (r.ref !== null) refCount.set(r.ref, (refCount.get(r.ref) ?? 0) + 1);
				const violating = new Set<number>();
				for (const r of rows) {
					const duplicate = r.ref !== null && ((refCount.get(r.ref) ?? 0) > 1 || state.refs.has(r.ref));
					for (const e of EXPECTATIONS) {
						if (e.violates(r, duplicate)) {
							violating.add(r.id);
							state.totals.set(e.name, state.totals.get(e.name)! + 1);
						}
					}
				}
				const before = Number((await db.pool.query(`select count(*) from ${target}`)).rows[0].count);
				await loadPage(mode, state, rows);
				for (const r of rows) if (!violating.has(r.id) && r.ref !== null) state.refs.add(r.ref);

				const after = Number((await db.pool.query(`select count(*) from ${target}`)).rows[0].count);
				const { rows: rejects } = await db.pool.query<{ id: string; expectation_name: string }>(
					`select (raw_line::jsonb ->> 'id') as id, expectation_name from ipai_bronze_core.ipai_load_reject
					  where run_id = $1 and (raw_line::jsonb ->> 'id')::bigint between $2 and $3`,
					[state.run.runId, rows[0]?.id ?? 0, rows[rows.length - 1]?.id ?? -1],
				);
				expect(after - before + rejects.length).toBe(rows.length);
				expect(new Set(rejects.map((r) => Number(r.id)))).toEqual(violating);
				for (const r of rejects) expect(EXPECTATIONS.map((e) => e.name)).toContain(r.expectation_name);
				const { rows: results } = await db.pool.query<{ expectation_name: string; failed: string }>(
					`select expectation_name, failed from public.ipai_dq_result where run_id = $1 and target_table = $2`,
					[state.run.runId, target],
				);
				for (const e of EXPECTATIONS) {
					const recorded = results.find((r) => r.expectation_name === e.name);
					expect(Number(recorded?.failed ?? 0)).toBe(state.totals.get(e.name));
				}
			}),
			{ numRuns: 25 },
		);
		const { rows } = await db.pool.query(`select metadata -> 'dq' as dq from public.ipai_connector_run where id = $1`, [state.run.runId]);
		expect(rows[0].dq.expectations[`${target}.ref_unique`].failed).toBe(state.totals.get('ref_unique'));
		expect(rows[0].dq.dropped).toBe([...state.totals.values()].reduce((a, b) => a + b, 0));
		// metadata.dq, rewritten with each page's results, is the run's ipai_dq_result rows as they stand.
		const { rows: ledger } = await db.pool.query<{ name: string; kind: string; action: string; status: string; evaluated: string; failed: string }>(
			`select target_table || '.' || expectation_name as name, kind, action, status, evaluated, failed from public.ipai_dq_result where run_id = $1`,
			[state.run.runId],
		);
		expect(ledger).toHaveLength(EXPECTATIONS.length);
		expect(rows[0].dq.evaluated).toBe(ledger.reduce((sum, r) => sum + Number(r.evaluated), 0));
		expect(rows[0].dq.failed).toBe(ledger.reduce((sum, r) => sum + Number(r.failed), 0));
		expect(rows[0].dq.expectations).toEqual(
			Object.fromEntries(ledger.map((r) => [r.name, { kind: r.kind, action: r.action, status: r.status, evaluated: Number(r.evaluated), failed: Number(r.failed) }])),
		);
	});
});

describe('the checks run with JIT off', () => {
	it.each(['on', 'off'])('and leave the transaction\'s jit setting (%s) as it was, on the pass and the drop paths', async (jit) => {
		const run = await runningConnector(db.pool);
		const table = { schema: 'ipai_bronze_core', name: `dq_jit_${jit}` };
		await loadStream(db.pool, [{ records: [{ id: 1, amount: 5 }] }], { ...run, stream: 's', table, key: ['id'] });
		await db.pool.query(`insert into public.ipai_dq_expectation (target_table, name, kind, args, action) values ($1, 'amount_small', 'range', '{"column": "amount", "max": 10}', 'drop')`, [
			`${table.schema}.${table.name}`,
		]);
		const client = await db.pool.connect();
		try {
			await client.query('begin');
			await client.query(`set local jit = ${jit}`);
			const staging = '"dq_jit_stage"';
			await client.query(`create temporary table ${staging} (like ipai_bronze_core.${quoteIdent(table.name)}) on commit drop`);
			const options = { table, staging, target: `ipai_bronze_core.${quoteIdent(table.name)}`, keyColumns: ['id'], ...run, stream: 's' };
			await client.query(`insert into ${staging} (id, amount, _ipai_connector_id, _ipai_run_id, _ipai_extracted_at, _ipai_raw) values (2, 3, $1, $2, now(), '{}')`, [run.connectorId, run.runId]);
			expect((await enforcePageExpectations(client, options))?.dropped).toBe(0);
			expect((await client.query(`select current_setting('jit') as jit`)).rows[0].jit).toBe(jit);
			await client.query(`insert into ${staging} (id, amount, _ipai_connector_id, _ipai_run_id, _ipai_extracted_at, _ipai_raw) values (3, 30, $1, $2, now(), '{}')`, [run.connectorId, run.runId]);
			expect((await enforcePageExpectations(client, options))?.dropped).toBe(1);
			expect((await client.query(`select current_setting('jit') as jit`)).rows[0].jit).toBe(jit);
		} finally {
			await client.query('rollback');
			client.release();
		}
	});
});

describe('actions warn and fail', () => {
	it('warn records and loads everything; fail rolls the page back and names the expectation with its counts', async () => {
		const run = await runningConnector(db.pool);
		const table = { schema: 'ipai_bronze_core', name: 'dq_actions' };
		await loadStream(db.pool, [{ records: [{ id: 1, amount: 5 }] }], { ...run, stream: 's', table, key: ['id'] });
		await db.pool.query(
			`insert into public.ipai_dq_expectation (target_table, name, kind, args, action, runbook_url) values
			   ('ipai_bronze_core.dq_actions', 'amount_small', 'range', '{"column": "amount", "max": 100}', 'warn', null),
			   ('ipai_bronze_core.dq_actions', 'amount_positive', 'range', '{"column": "amount", "min": 0}', 'fail', 'https://runbooks.example/dq')`,
		);
		const warned = await loadStream(db.pool, [{ records: [{ id: 2, amount: 500 }, { id: 3, amount: 7 }] }], { ...run, stream: 's', table, key: ['id'] });
		expect(warned.rowsWritten).toBe(2);

		const attempt = loadStream(db.pool, [{ records: [{ id: 4, amount: -1 }, { id: 5, amount: -2 }, { id: 6, amount: 3 }], cursor: 'c' }], { ...run, stream: 's', table, key: ['id'] });
		await expect(attempt).rejects.toBeInstanceOf(ExpectationFailedError);
		const error = (await attempt.catch((e: Error) => e)) as Error;
		expect(error.message).toContain('ipai_bronze_core.dq_actions.amount_positive');
		expect(error.message).toContain('2 of 3 rows');
		expect(error.message).toContain('https://runbooks.example/dq');
		// Rolled back: no row of the page, no cursor.
		const { rows: ids } = await db.pool.query('select id from ipai_bronze_core.dq_actions order by id');
		expect(ids.map((r) => Number(r.id))).toEqual([1, 2, 3]);
		const { rows: state } = await db.pool.query(`select cursor from public.ipai_connector_state where connector_id = $1`, [run.connectorId]);
		expect(state.map((s) => s.cursor)).not.toContain('c');
		await failRun(db.pool, run.runId, { error });

		const { rows: results } = await db.pool.query(
			`select expectation_name, status, evaluated, failed, failing_sample from public.ipai_dq_result where run_id = $1 order by expectation_name`,
			[run.runId],
		);
		expect(results.map((r) => [r.expectation_name, r.status, Number(r.evaluated), Number(r.failed)])).toEqual([
			['amount_positive', 'fail', 5, 2],
			['amount_small', 'warn', 2, 1],
		]);
		expect(results[0].failing_sample).toEqual(expect.arrayContaining([{ id: 4 }, { id: 5 }]));
		const { rows: ledger } = await db.pool.query(`select status, error_message, metadata -> 'dq' as dq from public.ipai_connector_run where id = $1`, [run.runId]);
		expect(ledger[0].status).toBe('failed');
		expect(ledger[0].error_message).toContain('amount_positive');
		expect(ledger[0].dq.failed_expectations).toEqual(['ipai_bronze_core.dq_actions.amount_positive']);
	});
});
