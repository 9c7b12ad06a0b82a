/**
 * The digest as compact Markdown tables (Mattermost renders GFM tables): what webhook mode posts,
 * since an incoming webhook cannot upload files. Built from the same rows as the charts.
 */
import type { ChartData, Row } from './catalogue';
import { AGING_BUCKETS } from './catalogue';

const MAX_TABLE_ROWS = 12;

function num(value: unknown, digits = 0): string {
	if (value === null || value === undefined) return '–';
	return Number(value).toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

function pct(value: unknown): string {
	return value === null || value === undefined ? '–' : `${(Number(value) * 100).toFixed(1)}%`;
}

/** Escapes what would break a Markdown table cell. */
function cell(value: unknown): string {
	return String(value ?? '').replace(/\|/g, '\\|').replace(/\s+/g, ' ');
}

/** A GFM table of at most MAX_TABLE_ROWS rows: the newest (`keep: 'last'`) or the first ones. */
export function markdownTable(header: string[], rows: unknown[][], align: Array<'l' | 'r'> = [], keep: 'first' | 'last' = 'first'): string {
	const rule = header.map((_, i) => (align[i] === 'r' ? '---:' : ':---'));
	const shown = keep === 'last' ? rows.slice(-MAX_TABLE_ROWS) : rows.slice(0, MAX_TABLE_ROWS);
	const lines = [header, rule, ...shown.map((r) => r.map(cell))].map((r) => `| ${r.join(' | ')} |`);
	if (rows.length > shown.length) lines.push(`_${rows.length - shown.length} ${keep === 'last' ? 'earlier' : 'more'} rows not shown_`);
	return lines.join('\n');
}

const byCurrency = (rows: Row[]) => [...new Set(rows.map((r) => String(r.currency)))];

/** The Markdown for one chart's data, by chart id. */
export function tableFor(chartId: string, data: ChartData): string {
	switch (chartId) {
		case 'finance-net-profit': {
			const currencies = byCurrency(data.net_profit);
			const months = [...new Set(data.net_profit.map((r) => String(r.month)))].sort();
			const value = (month: string, currency: string) => data.net_profit.find((r) => r.month === month && r.currency === currency)?.net_profit ?? null;
			return markdownTable(['Month', ...currencies.map((c) => `Net profit ${c}`)], months.map((m) => [m.slice(0, 7), ...currencies.map((c) => num(value(m, c), 2))]), ['l', ...currencies.map(() => 'r' as const)], 'last');
		}
		case 'finance-aging': {
			const rows = byCurrency(data.aging).flatMap((currency) =>
				(['receivable', 'payable'] as const).map((kind) => {
					const amount = (bucket: string) => data.aging.find((r) => r.currency === currency && r.kind === kind && r.aging_bucket === bucket)?.amount_open ?? 0;
					return [`${kind} ${currency}`, ...AGING_BUCKETS.map((b) => num(amount(b), 2))];
				}),
			);
			return markdownTable(['Open', ...AGING_BUCKETS], rows, ['l', 'r', 'r', 'r', 'r', 'r']);
		}
		case 'devops-dora':
			return markdownTable(
				['Week', 'Repository', 'Deploys', 'Failed', 'CFR', 'Lead time h', 'Restore h'],
				data.dora.map((r) => [r.week, r.repository, r.deployments, r.failed_deployments, pct(r.change_failure_rate), num(r.median_lead_time_hours, 2), num(r.median_time_to_restore_hours, 2)]),
				['l', 'l', 'r', 'r', 'r', 'r', 'r'],
				'last',
			);
		case 'devops-ci': {
			const repositories = [...new Set(data.ci.map((r) => String(r.repository)))];
			const count = (repo: string, state: string) => data.ci.find((r) => r.repository === repo && r.ci_state === state)?.branches ?? 0;
			return markdownTable(['Repository', 'passing', 'failing', 'running'], repositories.map((repo) => [repo, count(repo, 'passing'), count(repo, 'failing'), count(repo, 'running')]), ['l', 'r', 'r', 'r']);
		}
		case 'operations-connectors':
			return markdownTable(
				['Connector', 'Runs 7d', 'Success 7d', 'Since last success'],
				data.freshness.map((r) => [r.connector, r.finished_runs_7d, pct(r.success_rate_7d), r.hours_since_success === null ? 'never' : `${num(r.hours_since_success, 1)} h`]),
				['l', 'r', 'r', 'r'],
			);
		default:
			return '';
	}
}
