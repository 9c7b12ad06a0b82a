/**
 * npm run bench:dq [-- --rows 1000000 --rounds 2]   (compiles bench/ and lib/ to .bench-build/, then runs)
 *
 * bench:load's merge (the same journal items, pages of 5,000, merged by id) twice per round, each
 * in its own process: into a table without expectations, and into a table with five row-level
 * expectations (not_null, range, regex, accepted_values, unique) enforced in every page
 * transaction. Both tables are created the same way before they are timed (and emptied), so the
 * only difference is the expectations. Rounds alternate the two; each side keeps its fastest round
 * (the one least disturbed by other work on the machine). Goal: overhead <= 0.15.
 * The last line is `dq overhead=<ratio>` (with-expectations time / without - 1).
 */
import { Pool } from 'pg';
import { loadStream } from '../lib/lakehouse/loader';
import { finishRun, startRun } from '../lib/lakehouse/runs';
import { parseArgs } from '../bin/args';
import { measure, reportedSeconds, row, withScratchDatabase } from './common';
import { journalItems } from './dataset';

const PAGE_SIZE = 5_000;

const EXPECTATIONS: Array<[string, string, Record<string, unknown>]> = [
	['move_name_present', 'not_null', { columns: ['move_name'] }],
	['debit_in_range', 'range', { column: 'debit', min: 0, max: 10_000_000 }],
	['account_code_format', 'regex', { column: 'account_code', pattern: '^[0-9]{6}$' }],
	['currency_known', 'accepted_values', { column: 'currency', values: ['EUR', 'USD', 'GBP'] }],
	['id_unique', 'unique', { columns: ['id'] }],
];

async function worker(url: string, table: string, rows: number): Promise<void> {
	const pool = new Pool({ connectionString: url, max: 2 });
	const run = await startRun(pool, { connector: { connectorType: 'bench', name: table } });
	if (run.status !== 'running') throw new Error('could not start a run');
	const started = process.hrtime.bigint();
	const result = await loadStream(pool, journalItems(rows, PAGE_SIZE), {
		connectorId: run.connectorId,
		runId: run.runId,
		stream: 'journal_items',
		table: { schema: 'ipai_bronze_erp', name: table },
		key: ['id'],
	});
	const seconds = Number(process.hrtime.bigint() - started) / 1e9;
	await finishRun(pool, run.runId);
	await pool.end();
	if (result.rowsWritten !== rows) throw new Error(`wrote ${result.rowsWritten} of ${rows}`);
	process.stdout.write(`IPAI_SECONDS=${seconds}\n`);
}

/** Creates the table as the loader would (one page), then empties it. */
async function prepare(url: string, table: string, withExpectations: boolean): Promise<void> {
	const pool = new Pool({ connectionString: url, max: 2 });
	pool.on('error', () => undefined);
	const run = await startRun(pool, { connector: { connectorType: 'bench', name: `${table}-setup` } });
	if (run.status !== 'running') throw new Error('could not start a run');
	await loadStream(pool, journalItems(PAGE_SIZE, PAGE_SIZE), {
		connectorId: run.connectorId, runId: run.runId, stream: 'setup', table: { schema: 'ipai_bronze_erp', name: table }, key: ['id'],
	});
	await finishRun(pool, run.runId);
	await pool.query(`truncate ipai_bronze_erp.${table}`);
	if (withExpectations) {
		for (const [name, kind, args] of EXPECTATIONS) {
			await pool.query(`insert into public.ipai_dq_expectation (target_table, name, kind, args, action) values ($1, $2, $3, $4, 'drop')`, [
				`ipai_bronze_erp.${table}`, name, kind, args,
			]);
		}
	}
	await pool.query(`vacuum analyze ipai_bronze_erp.${table}`);
	await pool.end();
}

async function main(): Promise<void> {
	const args = parseArgs(process.argv.slice(2), ['rows', 'rounds', 'worker', 'url', 'table']);
	const rows = Number(args.values.rows ?? 1_000_000);
	const rounds = Math.max(1, Number(args.values.rounds ?? 2));
	if (args.values.worker) return worker(args.values.url!, args.values.table!, rows);

	await withScratchDatabase(async (url) => {
		const self = [process.execPath, __filename];
		const time = async (table: string) => {
			const pool = new Pool({ connectionString: url });
			pool.on('error', () => undefined);
			await pool.query('checkpoint').catch(() => undefined);
			await pool.end();
			const m = measure(self[0], [...self.slice(1), '--worker', 'yes', '--url', url, '--table', table, '--rows', String(rows)]);
			return { seconds: reportedSeconds(m.stdout), peakRssMib: m.peakRssMib };
		};
		process.stdout.write(
			`Merging ${rows.toLocaleString('en-US')} journal items by id (pages of ${PAGE_SIZE.toLocaleString('en-US')}), ${rounds} round(s), ` +
				`with and without ${EXPECTATIONS.length} row-level expectations (${EXPECTATIONS.map(([, kind]) => kind).join(', ')})\n`,
		);
		const plain: number[] = [];
		const checked: number[] = [];
		for (let r = 1; r <= rounds; r++) {
			await prepare(url, `bench_plain_${r}`, false);
			await prepare(url, `bench_dq_${r}`, true);
			// Alternate which goes first, so a slow stretch of the machine does not always hit one side.
			const order = r % 2 === 1 ? ['plain', 'dq'] : ['dq', 'plain'];
			const timings: Record<string, { seconds: number; peakRssMib: number }> = {};
			for (const side of order) {
				timings[side] = await time(`bench_${side}_${r}`);
				const label = side === 'plain' ? 'merge, no expectations' : 'merge, 5 expectations';
				process.stdout.write(`${row(`round ${r}: ${label}`, rows, timings[side].seconds, timings[side].peakRssMib)}\n`);
			}
			const a = timings.plain;
			const b = timings.dq;
			plain.push(a.seconds);
			checked.push(b.seconds);
		}
		const pool = new Pool({ connectionString: url });
		pool.on('error', () => undefined);
		const { rows: results } = await pool.query(
			`select sum(evaluated)::bigint as evaluated, sum(failed)::bigint as failed from public.ipai_dq_result where target_table like 'ipai_bronze_erp.bench_dq_%'`,
		);
		await pool.end();
		if (Number(results[0].evaluated) !== rows * EXPECTATIONS.length * rounds) {
			throw new Error(`expected ${rows * EXPECTATIONS.length * rounds} row evaluations recorded, found ${results[0].evaluated}`);
		}
		const best = (xs: number[]) => Math.min(...xs);
		const overhead = best(checked) / best(plain) - 1;
		process.stdout.write(`rows checked per expectation: ${rows * rounds}, failing: ${results[0].failed}; goal: overhead <= 0.15 (${overhead <= 0.15 ? 'met' : 'NOT met'})\n`);
		process.stdout.write(`dq overhead=${overhead.toFixed(3)}\n`);
	});
}

main().catch((error: Error) => {
	process.stderr.write(`${error.stack ?? error.message}\n`);
	process.exit(1);
});
