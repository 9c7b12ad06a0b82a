/**
 * The chart digest over real gold: finance gold from a year of the Odoo stand-in company (written
 * from Odoo's documentation; synced by the package's Odoo sync, as transformsGold.test.ts does),
 * DevOps gold from the hand-built GitHub history of transformsDevops.test.ts, and a week of runs
 * in the ledger. Each chart's data must equal a direct SQL query on gold (or on the ledger) written
 * here independently of the catalogue's, the finance figures also the accounting oracle's to the
 * cent, and DORA/CI the hand-computed figures; each PNG is decoded with pngjs.
 * CHART_DUMP_DIR=<dir> writes the PNGs there to look at.
 */
import * as fs from 'fs';
import * as path from 'path';
import type { Pool } from 'pg';
import { buildDigest, digestMessage, type Digest } from '../../lib/observability/charts/digest';
import { refreshMaterializedViews } from '../../lib/lakehouse/refresh';
import { finishRun, startRun } from '../../lib/lakehouse/runs';
import { OdooClient, syncModel, tableNameFor } from '../../lib/sources/odoo';
import { startOdooStandin, type OdooStandin } from '../../tooling/standins/odoo/server';
import { useScratchDatabase } from '../../tooling/helpers/database';
import { pixelStats } from '../helpers/png';
import { landDevopsHistory } from './fixtures/devopsHistory';
import { FinanceOracle, formatMinor, type BronzeRecords } from './fixtures/financeOracle';
import { defineTrimmedAccounting, seedStandinCompany } from './fixtures/standinCompany';

jest.setTimeout(240_000);

const db = useScratchDatabase();
const MODELS = ['res.currency', 'res.company', 'res.partner', 'account.account', 'account.journal', 'account.move', 'account.move.line'];
const DAY = 86_400_000;

async function rows(sql: string, params: unknown[] = []): Promise<Array<Record<string, unknown>>> {
	return (await db.pool.query(sql, params)).rows;
}

async function syncStandin(pool: Pool, odoo: OdooStandin): Promise<void> {
	odoo.addUser({ login: 'sync', password: 'sync-password', apiKey: 'sync-key', name: 'Sync' });
	const client = await OdooClient.connect({ url: odoo.url, database: 'odoo', login: 'sync', secret: 'sync-key' }, { protocol: 'xmlrpc' });
	const run = await startRun(pool, { connector: { connectorType: 'odoo', name: 'standin' } });
	if (run.status !== 'running') throw new Error('expected a running run');
	for (const model of MODELS) await syncModel(pool, client, run, { model, deleteScanEveryHours: 0, mode: 'full' });
	await finishRun(pool, run.runId);
}

/** A week of runs for two connectors: `flaky` fails every third run; one run is still going. */
async function seedLedger(pool: Pool, now: number): Promise<Array<{ connector: string; startedAt: Date; status: string }>> {
	const seeded: Array<{ connector: string; startedAt: Date; status: string }> = [];
	for (const name of ['steady', 'flaky']) {
		const { rows: [config] } = await pool.query<{ id: string }>(
			`insert into public.ipai_connector_config (connector_type, name, config, schedule, created_at) values ('custom', $1, '{}', '0 */6 * * *', now() - interval '30 days') returning id`,
			[name],
		);
		for (let i = 1; i <= 26; i++) {
			const startedAt = new Date(now - i * 6 * 3_600_000 + 60_000);
			const status = name === 'flaky' && i % 3 === 0 ? 'failed' : 'success';
			await pool.query(
				`insert into public.ipai_connector_run (connector_id, started_at, ended_at, status, rows_read, rows_written) values ($1, $2, $2::timestamptz + interval '30 seconds', $3, 10, 10)`,
				[config.id, startedAt, status],
			);
			seeded.push({ connector: `custom/${name}`, startedAt, status });
		}
	}
	return seeded;
}

let digest: Digest;
let oracle: FinanceOracle;
let seeded: Array<{ connector: string; startedAt: Date; status: string }>;
let started: number;

beforeAll(async () => {
	const odoo = await startOdooStandin({});
	try {
		defineTrimmedAccounting(odoo, true);
		seedStandinCompany(odoo, 22, true);
		await syncStandin(db.pool, odoo);
	} finally {
		await odoo.close();
	}
	await landDevopsHistory(db.pool);
	started = Date.now();
	seeded = await seedLedger(db.pool, started);
	await refreshMaterializedViews(db.pool, ['ipai_gold_erp', 'ipai_gold_devops']);
	const raw = async (model: string) =>
		(await rows(`select _ipai_raw as r from ipai_bronze_erp.${tableNameFor(model)} where _ipai_deleted_at is null order by id`)).map((x) => x.r as Record<string, unknown>);
	const records: BronzeRecords = {
		currencies: await raw('res.currency'), companies: await raw('res.company'), accounts: await raw('account.account'),
		journals: await raw('account.journal'), moves: await raw('account.move'), lines: await raw('account.move.line'),
	};
	oracle = new FinanceOracle(records);
	digest = await buildDigest(db.pool, { window: { months: 12, weeks: 12, days: 7, maxSeries: 12 } });
	if (process.env.CHART_DUMP_DIR) for (const c of digest.charts) fs.writeFileSync(path.join(process.env.CHART_DUMP_DIR, `gold-${c.filename}`), c.png!);
});

const chart = (id: string) => digest.charts.find((c) => c.id === id)!;

it('draws all five charts from gold, each a decodable, non-blank PNG', () => {
	expect(digest.charts.map((c) => c.id)).toEqual(['finance-net-profit', 'finance-aging', 'devops-dora', 'devops-ci', 'operations-connectors']);
	expect(digest.empty).toEqual([]);
	for (const c of digest.charts) {
		const stats = pixelStats(c.png!);
		expect([c.id, stats.width, stats.height]).toEqual([c.id, c.width, c.height]);
		expect(stats.width).toBeGreaterThan(1000);
		expect(stats.colours).toBeGreaterThan(50);
		expect(stats.ink({ x0: 0, y0: 0, x1: stats.width * 0.6, y1: 80 })).toBeGreaterThan(0.02);
		expect(stats.ink({ x0: stats.width * 0.1, y0: stats.height * 0.2, x1: stats.width * 0.9, y1: stats.height * 0.8 })).toBeGreaterThan(0.02);
	}
});

it('net profit by month: gold summed here, and the accounting oracle, to the cent', async () => {
	const data = chart('finance-net-profit').data.net_profit;
	const gold = await rows(
		`select currency, month::text as month, sum(amount)::numeric(20,2)::text as total from ipai_gold_erp.profit_and_loss
		  where month >= (select max(month) from ipai_gold_erp.profit_and_loss) - interval '11 months' group by 1, 2 order by 1, 2`,
	);
	expect(gold.length).toBeGreaterThanOrEqual(10);
	expect(data.map((r) => [r.currency, r.month, Number(r.net_profit).toFixed(2)])).toEqual(gold.map((r) => [r.currency, r.month, r.total]));
	const byMonth = new Map<string, bigint>();
	for (const [key, amount] of oracle.profitAndLoss()) byMonth.set(key.split('|')[0], (byMonth.get(key.split('|')[0]) ?? 0n) + amount);
	expect(data.map((r) => [r.month, Number(r.net_profit).toFixed(2)])).toEqual(data.map((r) => [r.month, formatMinor(byMonth.get(String(r.month))!, 2)]));
	expect(data.some((r) => Number(r.net_profit) < 0) || data.some((r) => Number(r.net_profit) > 0)).toBe(true);
});

it('aging buckets: open_items grouped here, and the aged_balance function of the same day', async () => {
	const data = chart('finance-aging').data.aging;
	const gold = await rows(`select currency, kind, aging_bucket, sum(amount_open)::text as open, count(*)::int as n from ipai_gold_erp.open_items group by 1, 2, 3`);
	const key = (r: Record<string, unknown>) => `${r.currency}|${r.kind}|${r.aging_bucket}`;
	expect(new Map(data.map((r) => [key(r), [Number(r.amount_open).toFixed(2), r.items]]))).toEqual(new Map(gold.map((r) => [key(r), [Number(r.open).toFixed(2), r.n]])));
	const aged = await rows(
		`select currency, kind, sum(not_due)::text as "current", sum(days_1_30)::text as "1-30", sum(days_31_60)::text as "31-60", sum(days_61_90)::text as "61-90", sum(days_90_plus)::text as "90+"
		   from ipai_gold_erp.aged_balance(current_date) group by 1, 2`,
	);
	for (const r of aged) {
		for (const bucket of ['current', '1-30', '31-60', '61-90', '90+']) {
			const drawn = data.find((d) => d.currency === r.currency && d.kind === r.kind && d.aging_bucket === bucket)?.amount_open ?? 0;
			expect([r.kind, bucket, Number(drawn).toFixed(2)]).toEqual([r.kind, bucket, Number(r[bucket]).toFixed(2)]);
		}
	}
	expect(new Set(data.map((r) => r.kind))).toEqual(new Set(['receivable', 'payable']));
});

it('DORA weekly: the rows of gold dora_weekly, equal to the hand-computed figures', async () => {
	const data = chart('devops-dora').data.dora;
	const gold = await rows(
		`select week::text, repo_full_name, deployments::int, failed_deployments::int, change_failure_rate::float8 as cfr, median_lead_time_hours::float8 as lead,
		        median_time_to_restore_hours::float8 as restore from ipai_gold_devops.dora_weekly order by week`,
	);
	const drawn = data.map((r) => [r.week, r.repository, r.deployments, r.failed_deployments, r.change_failure_rate, r.median_lead_time_hours, r.median_time_to_restore_hours]);
	expect(drawn).toEqual(gold.map((r) => [r.week, r.repo_full_name, r.deployments, r.failed_deployments, r.cfr, r.lead, r.restore]));
	expect(drawn).toEqual([
		['2025-03-03', 'acme/api', 2, 1, 0.3333, 4.5, 27.17],
		['2025-03-10', 'acme/api', 1, 0, 0, 1.25, null],
	]);
});

it('CI status: branches per repository and state, as gold ci_status holds them', async () => {
	const gold = await rows(`select repo_full_name, ci_state, count(*)::int as n from ipai_gold_devops.ci_status group by 1, 2 order by 1, 2`);
	const data = chart('devops-ci').data.ci;
	expect(data.map((r) => [r.repository, r.ci_state, r.branches]).sort()).toEqual(gold.map((r) => [r.repo_full_name, r.ci_state, r.n]).sort());
	expect(data.map((r) => [r.ci_state, r.branches]).sort()).toEqual([['failing', 1], ['passing', 1], ['running', 1]]);
});

it('connectors: daily success rate from the ledger and the seeds, freshness from gold', async () => {
	const { daily, freshness } = chart('operations-connectors').data;
	const firstDay = new Date(Math.floor(started / DAY) * DAY - 6 * DAY);
	const ledger = await rows(
		`select c.connector_type || '/' || c.name as connector, to_char(r.started_at at time zone 'UTC', 'YYYY-MM-DD') as day,
		        count(*)::int as finished, count(*) filter (where r.status = 'success')::int as ok
		   from public.ipai_connector_run r join public.ipai_connector_config c on c.id = r.connector_id
		  where r.status in ('success', 'failed', 'abandoned') and r.started_at >= $1 group by 1, 2`,
		[firstDay],
	);
	const key = (r: Record<string, unknown>) => `${r.connector}|${r.day}`;
	expect(new Map(daily.map((r) => [key(r), [r.finished, r.succeeded, r.success_rate]]))).toEqual(
		new Map(ledger.map((r) => [key(r), [r.finished, r.ok, Math.round((r.ok as number) / (r.finished as number) * 10_000) / 10_000]])),
	);
	// The seeds, counted in JS by UTC day.
	const expected = new Map<string, [number, number]>();
	for (const s of seeded.filter((s) => s.startedAt >= firstDay)) {
		const k = `${s.connector}|${s.startedAt.toISOString().slice(0, 10)}`;
		const [n, ok] = expected.get(k) ?? [0, 0];
		expected.set(k, [n + 1, ok + (s.status === 'success' ? 1 : 0)]);
	}
	for (const [k, [n, ok]] of expected) expect([k, daily.find((r) => key(r) === k)?.finished, daily.find((r) => key(r) === k)?.succeeded]).toEqual([k, n, ok]);
	// Freshness is measured at the digest's now: the last success must be gold's, the age from it.
	const gold = await rows(`select connector_type || '/' || connector_name as connector, to_char(last_success_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') as at from ipai_gold_core.connector_freshness`);
	for (const f of freshness) {
		expect([f.connector, f.last_success_at]).toEqual([f.connector, gold.find((r) => r.connector === f.connector)!.at]);
		const hours = (Date.parse(digest.generatedAt) - Date.parse(String(f.last_success_at))) / 3_600_000;
		expect(Math.abs(Number(f.hours_since_success) - hours)).toBeLessThan(0.02);
	}
	const newestFlaky = seeded.filter((s) => s.connector === 'custom/flaky' && s.status === 'success').map((s) => s.startedAt.getTime() + 30_000);
	expect(freshness.find((f) => f.connector === 'custom/flaky')!.last_success_at).toBe(new Date(Math.max(...newestFlaky)).toISOString().replace(/\.\d{3}Z$/, 'Z'));
	// Worst first: the flaky connector leads.
	expect(freshness[0].connector).toBe('custom/flaky');
	expect(freshness[0].success_rate_7d).toBeCloseTo(18 / 26, 4);
});

it('the webhook message carries the same figures as tables, and gold-less charts are named', async () => {
	const text = digestMessage(digest, { title: 'Weekly', tables: true });
	expect(text).toContain('| 2025-03-03 | acme/api | 2 | 1 | 33.3% | 4.50 | 27.17 |');
	expect(text).toContain('| acme/api | 1 | 1 | 1 |');
	expect(text).toMatch(/\| custom\/flaky \| 26 \| 69\.2% \| [\d.]+ h \|/);
	expect(Array.from(text).length).toBeLessThan(16_383);
	const finance = await buildDigest(db.pool, { sections: ['finance'], render: false, window: { months: undefined } });
	expect(finance.window).toEqual({ months: 12, weeks: 12, days: 7, maxSeries: 12 });
	expect(finance.charts.map((c) => c.png)).toEqual([undefined, undefined]);
	await db.pool.query('truncate ipai_gold_devops.dora_weekly');
	const devops = await buildDigest(db.pool, { sections: ['devops'], render: false });
	expect(devops.empty).toEqual(['DORA metrics by week']);
	expect(digestMessage(devops, { tables: false })).toContain('No data in gold yet for: DORA metrics by week.');
	await expect(buildDigest(db.pool, { window: { days: 0 } })).rejects.toThrow(/days must be a whole number from 1 to 31/);
});
