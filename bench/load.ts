/**
 * npm run bench:load [-- --rows 1000000]   (compiles bench/ and lib/ to .bench-build/, then runs)
 *
 * Loads the same mixed-type data set three ways in one run, each in its own process so peak RSS
 * is its own: this loader in append mode, this loader in merge mode, and `psql \copy` of the very
 * same rows (the same column values and raw JSON, prepared as a file beforehand) into an
 * identical table — the practical limit. Goals: append ≥ 0.8 and merge ≥ 0.4 of \copy, peak RSS
 * under 256 MB. The last line is `load append/copy=<ratio> merge/copy=<ratio>`.
 */
import { createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'pg';
import type { ColumnType } from '../lib/lakehouse/columnTypes';
import { copyFieldWriter, copyJson } from '../lib/lakehouse/copyText';
import { loadStream } from '../lib/lakehouse/loader';
import { finishRun, startRun } from '../lib/lakehouse/runs';
import { parseArgs } from '../bin/args';
import { measure, mibToMb, reportedSeconds, row, withScratchDatabase } from './common';
import { journalItems } from './dataset';

const PAGE_SIZE = 5_000; // a typical source page (Odoo/GitHub pages are 100–5,000 records)

async function worker(url: string, mode: 'append' | 'merge', rows: number): Promise<void> {
	const pool = new Pool({ connectionString: url, max: 2 });
	const run = await startRun(pool, { connector: { connectorType: 'bench', name: mode } });
	if (run.status !== 'running') throw new Error('could not start a run');
	const started = process.hrtime.bigint();
	const result = await loadStream(pool, journalItems(rows, PAGE_SIZE), {
		connectorId: run.connectorId,
		runId: run.runId,
		stream: 'journal_items',
		table: { schema: 'ipai_bronze_erp', name: `bench_${mode}` },
		key: mode === 'merge' ? ['id'] : undefined,
	});
	const seconds = Number(process.hrtime.bigint() - started) / 1e9;
	await finishRun(pool, run.runId);
	await pool.end();
	if (result.rowsWritten !== rows) throw new Error(`wrote ${result.rowsWritten} of ${rows}`);
	process.stdout.write(`IPAI_SECONDS=${seconds}\n`);
}

/** The \copy input: exactly the rows the loader writes, in COPY text format. */
async function writeCopyFile(path: string, url: string, rows: number): Promise<string[]> {
	const pool = new Pool({ connectionString: url });
	const { rows: cols } = await pool.query<{ column_name: string; udt_name: string }>(
		`select column_name, udt_name from information_schema.columns
		  where table_schema = 'ipai_bronze_erp' and table_name = 'bench_append' order by ordinal_position`,
	);
	const { rows: ids } = await pool.query(`select _ipai_connector_id as c, _ipai_run_id as r from ipai_bronze_erp.bench_append limit 1`);
	await pool.end();
	const typeOf: Record<string, ColumnType> = { int8: 'bigint', int4: 'integer', numeric: 'numeric', text: 'text', date: 'date',
		bool: 'boolean', timestamptz: 'timestamptz', _int8: 'bigint[]', jsonb: 'jsonb', uuid: 'text' };
	const dataColumns = cols.filter((c) => !c.column_name.startsWith('_ipai_'));
	const stats = { nulReplaced: 0 };
	const writers = dataColumns.map((c) => copyFieldWriter(typeOf[c.udt_name] ?? 'text', stats));
	const out = createWriteStream(path);
	const extractedAt = new Date().toISOString();
	for (const page of journalItems(rows, PAGE_SIZE)) {
		let chunk = '';
		for (const record of page.records) {
			const fields = dataColumns.map((c, i) => writers[i](record[c.column_name]));
			chunk += `${fields.join('\t')}\t${ids[0].c}\t${ids[0].r}\t${extractedAt}\t\\N\t${copyJson(record, stats)}\n`;
		}
		if (!out.write(chunk)) await once(out, 'drain');
	}
	out.end();
	await once(out, 'finish');
	return [...dataColumns.map((c) => c.column_name), '_ipai_connector_id', '_ipai_run_id', '_ipai_extracted_at', '_ipai_deleted_at', '_ipai_raw'];
}

async function main(): Promise<void> {
	const args = parseArgs(process.argv.slice(2), ['rows', 'worker', 'url']);
	const rows = Number(args.values.rows ?? 1_000_000);
	if (args.values.worker) return worker(args.values.url!, args.values.worker as 'append' | 'merge', rows);

	await withScratchDatabase(async (url) => {
		// Workers run this same compiled file (npm run bench:build), so no TypeScript compiler sits
		// in their memory or on their CPU while they are measured.
		const self = [process.execPath, __filename];
		// Each method starts from a fresh checkpoint, so none pays for the previous one's WAL.
		const checkpoint = async () => {
			const pool = new Pool({ connectionString: url });
			await pool.query('checkpoint').catch(() => undefined); // needs superuser or pg_checkpoint; best effort
			await pool.end();
		};
		const ours = async (mode: string) => {
			await checkpoint();
			const m = measure(self[0], [...self.slice(1), '--worker', mode, '--url', url, '--rows', String(rows)]);
			return { seconds: reportedSeconds(m.stdout), peakRssMib: m.peakRssMib };
		};
		process.stdout.write(
			`Loading ${rows.toLocaleString('en-US')} journal items (13 mixed-type columns + metadata + raw jsonb), pages of ${PAGE_SIZE.toLocaleString('en-US')}\n`,
		);
		const append = await ours('append');
		process.stdout.write(`${row('ipai loader, append', rows, append.seconds, append.peakRssMib)}\n`);
		const merge = await ours('merge');
		process.stdout.write(`${row('ipai loader, merge by id', rows, merge.seconds, merge.peakRssMib)}\n`);

		const dir = mkdtempSync(join(tmpdir(), 'ipai-bench-'));
		try {
			const file = join(dir, 'rows.copy');
			const columns = await writeCopyFile(file, url, rows);
			const pool = new Pool({ connectionString: url });
			await pool.query('create table ipai_bronze_erp.bench_copy (like ipai_bronze_erp.bench_append including all)');
			await pool.end();
			const quoted = columns.map((c) => `"${c}"`).join(', ');
			await checkpoint();
			const copy = measure('psql', [url, '-v', 'ON_ERROR_STOP=1', '-c', `\\copy ipai_bronze_erp.bench_copy (${quoted}) from '${file}' with (format text)`]);
			process.stdout.write(`${row('psql \\copy (the limit)', rows, copy.seconds, copy.peakRssMib)}\n`);
			const limit = rows / copy.seconds;
			const ratio = (seconds: number) => (rows / seconds / limit).toFixed(2);
			const rssOk = mibToMb(Math.max(append.peakRssMib, merge.peakRssMib)) < 256;
			process.stdout.write(`goals: append >= 0.80, merge >= 0.40 of \\copy; peak RSS < 256 MB (${rssOk ? 'met' : 'NOT met'})\n`);
			process.stdout.write(`load append/copy=${ratio(append.seconds)} merge/copy=${ratio(merge.seconds)}\n`);
		} finally {
			rmSync(dir, { recursive: true, force: true });
		}
	});
}

main().catch((error: Error) => {
	process.stderr.write(`${error.stack ?? error.message}\n`);
	process.exit(1);
});
