/**
 * The charts of the digest: for each, the gold query it is drawn from and its Vega-Lite spec.
 * Queries read gold only (ipai_gold_erp, ipai_gold_devops, ipai_gold_core), aggregate in SQL and
 * return a bounded number of rows (months, weeks, days and series are capped), so a digest never
 * pulls a table into memory. The rows a query returns are exactly the data the chart embeds.
 */
import type { VegaLiteSpec } from './render';

export type DigestSection = 'finance' | 'devops' | 'operations';
export const DIGEST_SECTIONS: readonly DigestSection[] = ['finance', 'devops', 'operations'];

export type Row = Record<string, string | number | null>;
/** Named datasets of one chart (a chart may combine several queries). */
export type ChartData = Record<string, Row[]>;

export interface DigestWindow {
	/** Months of net profit, ending with the newest month in gold. */
	months: number;
	/** Weeks of DORA metrics, ending with the newest week in gold. */
	weeks: number;
	/** Days of connector runs, ending today (UTC). */
	days: number;
	/** Most series (repositories, connectors) drawn in one chart. */
	maxSeries: number;
}

export const DEFAULT_WINDOW: DigestWindow = { months: 12, weeks: 12, days: 7, maxSeries: 12 };

export interface Query {
	name: string;
	text: string;
	values: unknown[];
}

export interface ChartDefinition {
	id: string;
	section: DigestSection;
	title: string;
	queries(window: DigestWindow): Query[];
	/** The chart, or null when its data is empty (nothing to draw). */
	spec(data: ChartData, window: DigestWindow): VegaLiteSpec | null;
}

const WIDTH = 640;
export const AGING_BUCKETS = ['current', '1-30', '31-60', '61-90', '90+'];
const CI_STATES = { domain: ['passing', 'failing', 'running'], range: ['#2ca02c', '#d62728', '#ff9f1c'] };

/** One chart per currency as rows of a facet (amounts in different currencies never add up). */
function perCurrency(rows: Row[], layer: Record<string, unknown>, height: number): Record<string, unknown> {
	const currencies = [...new Set(rows.map((r) => r.currency))];
	if (currencies.length <= 1) return { ...layer, width: WIDTH, height };
	return {
		facet: { row: { field: 'currency', type: 'nominal', title: 'Company currency' } },
		spec: { ...layer, width: WIDTH, height },
		resolve: { scale: { y: 'independent' } },
	};
}

const netProfit: ChartDefinition = {
	id: 'finance-net-profit',
	section: 'finance',
	title: 'Net profit by month',
	queries: (w) => [
		{
			name: 'net_profit',
			// Income is positive and expenses negative in gold, so the sum per month is the net profit.
			text: `with bounds as (select max(month) as last_month from ipai_gold_erp.profit_and_loss)
			       select p.currency, to_char(p.month, 'YYYY-MM-DD') as month, round(sum(p.amount), 2)::float8 as net_profit
			         from ipai_gold_erp.profit_and_loss p, bounds b
			        where p.month > b.last_month - make_interval(months => $1)
			        group by p.currency, p.month
			        order by p.currency, p.month`,
			values: [w.months],
		},
	],
	spec: (data, w) => {
		const rows = data.net_profit;
		if (!rows.length) return null;
		const currency = [...new Set(rows.map((r) => r.currency))];
		// The scale's padding leaves room for the value labels above and below the bars.
		const y = { field: 'net_profit', type: 'quantitative', title: currency.length === 1 ? `Net profit (${currency[0]})` : 'Net profit', axis: { format: ',.0f' }, scale: { padding: 18 } };
		const layer = {
			encoding: { x: { field: 'month', type: 'ordinal', timeUnit: 'utcyearmonth', title: 'Month', axis: { format: '%b %y', labelAngle: 0, labelOverlap: false } }, y },
			layer: [
				{ mark: { type: 'bar', tooltip: true }, encoding: { color: { condition: { test: 'datum.net_profit < 0', value: '#d62728' }, value: '#2ca02c' } } },
				{
					mark: { type: 'text', dy: { expr: 'datum.net_profit < 0 ? 8 : -8' }, fontSize: 10, color: '#333333' },
					encoding: { text: { field: 'net_profit', type: 'quantitative', format: ',.0f' } },
				},
			],
		};
		return {
			title: { text: `Net profit by month, last ${w.months} months`, subtitle: 'Income minus expenses of posted journal items (gold profit_and_loss); red = loss' },
			datasets: data,
			data: { name: 'net_profit' },
			...perCurrency(rows, layer, 280),
		};
	},
};

const aging: ChartDefinition = {
	id: 'finance-aging',
	section: 'finance',
	title: 'Open receivables and payables by aging bucket',
	queries: () => [
		{
			name: 'aging',
			text: `select currency, kind, aging_bucket, round(sum(amount_open), 2)::float8 as amount_open, count(*)::int as items
			         from ipai_gold_erp.open_items
			        group by currency, kind, aging_bucket
			        order by currency, kind, array_position(array['current','1-30','31-60','61-90','90+'], aging_bucket::text)`,
			values: [],
		},
	],
	spec: (data) => {
		const rows = data.aging;
		if (!rows.length) return null;
		const currency = [...new Set(rows.map((r) => r.currency))];
		const layer = {
			encoding: {
				x: { field: 'aging_bucket', type: 'ordinal', sort: AGING_BUCKETS, scale: { domain: AGING_BUCKETS }, title: 'Days past due', axis: { labelAngle: 0 } },
				xOffset: { field: 'kind', type: 'nominal', sort: ['receivable', 'payable'] },
				y: { field: 'amount_open', type: 'quantitative', title: currency.length === 1 ? `Open amount (${currency[0]})` : 'Open amount', axis: { format: ',.0f' }, scale: { padding: 18 } },
				color: { field: 'kind', type: 'nominal', title: 'Open items', sort: ['receivable', 'payable'], scale: { domain: ['receivable', 'payable'], range: ['#1f77b4', '#ff7f0e'] } },
			},
			layer: [
				{ mark: { type: 'bar', tooltip: true } },
				{ mark: { type: 'text', dy: -8, fontSize: 10, color: '#333333' }, encoding: { text: { field: 'amount_open', type: 'quantitative', format: ',.0f' } } },
			],
		};
		return {
			title: { text: 'Open receivables and payables by aging bucket', subtitle: 'Unreconciled items in company currency, aged at the last gold refresh (gold open_items)' },
			datasets: data,
			data: { name: 'aging' },
			...perCurrency(rows, layer, 260),
		};
	},
};

const DORA_METRICS = ['Deployments per week', 'Median lead time (hours)', 'Change failure rate (%)', 'Median time to restore (hours)'];

const dora: ChartDefinition = {
	id: 'devops-dora',
	section: 'devops',
	title: 'DORA metrics by week',
	queries: (w) => [
		{
			name: 'dora',
			// The repositories with the most production deployments in the window, one line each.
			text: `with bounds as (select max(week) as last_week from ipai_gold_devops.dora_weekly),
			       recent as (select d.* from ipai_gold_devops.dora_weekly d, bounds b where d.week > b.last_week - make_interval(weeks => $1)),
			       top as (select connector_id, repository_id from recent group by connector_id, repository_id
			                order by sum(deployments + failed_deployments) desc, max(repo_full_name) limit $2)
			       select to_char(r.week, 'YYYY-MM-DD') as week, r.repo_full_name as repository, r.deployments::int as deployments,
			              r.failed_deployments::int as failed_deployments, r.change_failure_rate::float8 as change_failure_rate,
			              r.median_lead_time_hours::float8 as median_lead_time_hours,
			              r.median_time_to_restore_hours::float8 as median_time_to_restore_hours
			         from recent r join top t using (connector_id, repository_id)
			        order by r.week, r.repo_full_name`,
			values: [w.weeks, w.maxSeries],
		},
	],
	spec: (data, w) => {
		if (!data.dora.length) return null;
		return {
			title: { text: `DORA metrics by week, last ${w.weeks} weeks`, subtitle: 'Production deployments per repository (gold dora_weekly); weeks start on Monday' },
			datasets: data,
			data: { name: 'dora' },
			transform: [
				{ calculate: 'datum.deployments', as: DORA_METRICS[0] },
				{ calculate: 'datum.median_lead_time_hours', as: DORA_METRICS[1] },
				{ calculate: 'datum.change_failure_rate === null ? null : datum.change_failure_rate * 100', as: DORA_METRICS[2] },
				{ calculate: 'datum.median_time_to_restore_hours', as: DORA_METRICS[3] },
				{ fold: DORA_METRICS, as: ['metric', 'value'] },
				{ filter: 'datum.value !== null' },
			],
			facet: { row: { field: 'metric', type: 'nominal', sort: DORA_METRICS, title: null, header: { labelAngle: 0, labelAlign: 'left', labelAnchor: 'start', labelOrient: 'top' } } },
			spec: {
				width: WIDTH,
				height: 110,
				mark: { type: 'line', point: true, tooltip: true },
				encoding: {
					x: { field: 'week', type: 'ordinal', timeUnit: 'utcyearmonthdate', title: 'Week starting (Monday)', axis: { format: '%d %b %y', labelAngle: -40 } },
					y: { field: 'value', type: 'quantitative', title: null, axis: { format: ',.4~f' } },
					color: { field: 'repository', type: 'nominal', title: 'Repository' },
				},
			},
			resolve: { scale: { y: 'independent' } },
		};
	},
};

const ci: ChartDefinition = {
	id: 'devops-ci',
	section: 'devops',
	title: 'CI status per repository',
	queries: (w) => [
		{
			name: 'ci',
			// Repositories with failing branches first, then the busiest.
			text: `with per_repo as (
			         select repo_full_name as repository, ci_state, count(*)::int as branches
			           from ipai_gold_devops.ci_status group by repo_full_name, ci_state
			       ), ranked as (
			         select repository from per_repo group by repository
			          order by sum(branches) filter (where ci_state = 'failing') desc nulls last, sum(branches) desc, repository limit $1
			       )
			       select p.repository, p.ci_state, p.branches from per_repo p join ranked using (repository)
			        order by p.repository, array_position(array['passing','failing','running'], p.ci_state)`,
			values: [w.maxSeries],
		},
	],
	spec: (data) => {
		if (!data.ci.length) return null;
		const repositories = new Set(data.ci.map((r) => r.repository)).size;
		return {
			title: { text: 'CI status per repository', subtitle: 'Branches by the state of their latest workflow run (gold ci_status)' },
			datasets: data,
			data: { name: 'ci' },
			width: WIDTH,
			height: Math.max(60, repositories * 28),
			encoding: {
				y: { field: 'repository', type: 'nominal', title: null, sort: { field: 'branches', op: 'sum', order: 'descending' } },
				x: { field: 'branches', type: 'quantitative', stack: 'zero', title: 'Branches', axis: { tickMinStep: 1, format: 'd' } },
				color: { field: 'ci_state', type: 'nominal', title: 'Latest run', sort: CI_STATES.domain, scale: CI_STATES },
				order: { field: 'ci_state', sort: 'ascending' },
			},
			mark: { type: 'bar', tooltip: true },
		};
	},
};

const connectors: ChartDefinition = {
	id: 'operations-connectors',
	section: 'operations',
	title: 'Connector success rate and freshness',
	queries: (w) => [
		{
			name: 'daily',
			// Days in UTC; the ledger's gold view has one row per run.
			text: `select connector_type || '/' || connector_name as connector,
			              to_char(started_at at time zone 'UTC', 'YYYY-MM-DD') as day,
			              count(*)::int as finished, count(*) filter (where status = 'success')::int as succeeded,
			              round(count(*) filter (where status = 'success')::numeric / count(*), 4)::float8 as success_rate
			         from ipai_gold_core.connector_run_rows
			        where status in ('success', 'failed', 'abandoned')
			          and started_at >= (date_trunc('day', now() at time zone 'UTC') - make_interval(days => $1 - 1)) at time zone 'UTC'
			        group by 1, 2 order by 1, 2`,
			values: [w.days],
		},
		{
			name: 'freshness',
			text: `select f.connector_type || '/' || f.connector_name as connector,
			              round(f.seconds_since_success / 3600.0, 2)::float8 as hours_since_success,
			              to_char(f.last_success_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') as last_success_at,
			              s.finished_runs_7d::int as finished_runs_7d, s.success_rate_7d::float8 as success_rate_7d
			         from ipai_gold_core.connector_freshness f
			         join ipai_gold_core.connector_success_rate s using (connector_id)
			        where s.is_enabled
			        order by s.success_rate_7d asc nulls first, f.seconds_since_success desc nulls first, 1
			        limit $1`,
			values: [w.maxSeries * 2],
		},
	],
	spec: (data, w) => {
		if (!data.freshness.length) return null;
		const names = data.freshness.map((r) => r.connector);
		const daily = data.daily.filter((r) => names.includes(r.connector));
		const y = { field: 'connector', type: 'nominal', title: null, sort: names, scale: { domain: names } };
		const height = Math.max(60, names.length * 26);
		return {
			title: { text: `Connectors: success rate per day and freshness, last ${w.days} days`, subtitle: 'Finished runs in the ledger (gold connector_run_rows, connector_freshness), days in UTC' },
			datasets: { ...data, daily },
			hconcat: [
				{
					data: { name: 'daily' },
					width: 420,
					height,
					encoding: { y, x: { field: 'day', type: 'ordinal', title: 'Day (UTC)', axis: { labelAngle: -40 } } },
					layer: [
						{
							mark: { type: 'rect', tooltip: true },
							encoding: { color: { field: 'success_rate', type: 'quantitative', title: 'Success rate', scale: { domain: [0, 1], scheme: 'redyellowgreen' }, legend: { format: '.0%' } } },
						},
						{
							mark: { type: 'text', fontSize: 10 },
							encoding: {
								text: { field: 'success_rate', type: 'quantitative', format: '.0%' },
								// White on the scheme's dark ends, black on its light middle.
								color: { condition: { test: 'datum.success_rate > 0.85 || datum.success_rate < 0.15', value: '#ffffff' }, value: '#111111' },
							},
						},
					],
				},
				{
					data: { name: 'freshness' },
					width: 200,
					height,
					encoding: { y: { ...y, axis: null } },
					layer: [
						{ mark: { type: 'bar', color: '#6b8fbf', tooltip: true }, encoding: { x: { field: 'hours_since_success', type: 'quantitative', title: 'Hours since last success' } } },
						{
							mark: { type: 'text', align: 'left', dx: 3, fontSize: 10, color: '#333333' },
							encoding: {
								x: { field: 'hours_since_success', type: 'quantitative' },
								text: { condition: { test: 'datum.hours_since_success === null', value: 'never' }, field: 'hours_since_success', type: 'quantitative', format: ',.1f' },
							},
						},
					],
				},
			],
		};
	},
};

export const CHARTS: readonly ChartDefinition[] = [netProfit, aging, dora, ci, connectors];
