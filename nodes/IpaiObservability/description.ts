import type { INodeProperties } from 'n8n-workflow';

const metricsProperties: INodeProperties[] = [
	{
		displayName: 'Operation',
		name: 'operation',
		type: 'options',
		noDataExpression: true,
		options: [
			{
				name: 'Render Metrics',
				value: 'renderMetrics',
				action: 'Render prometheus metrics',
				description:
					'Render connector and agent run counters, duration histograms, freshness, SLO burn rates, error budgets and alert state as Prometheus text, for a Respond to Webhook node to return',
			},
			{
				name: 'Post Chart Digest',
				value: 'postDigest',
				action: 'Post a chart digest to mattermost',
				description:
					'Draw finance, DevOps and operations charts from the gold tables and post them to Mattermost: PNG files in one post with a bot token, compact tables with an incoming webhook',
			},
		],
		default: 'renderMetrics',
	},
	{
		displayName: 'Format',
		name: 'format',
		type: 'options',
		options: [
			{ name: 'Prometheus Text 0.0.4', value: 'prometheus', description: 'What every Prometheus version scrapes (content type text/plain; version=0.0.4)' },
			{ name: 'OpenMetrics 1.0', value: 'openmetrics', description: 'OpenMetrics text ending in # EOF (content type application/openmetrics-text)' },
			{ name: 'From Accept Header', value: 'accept', description: 'OpenMetrics when the incoming request\'s Accept header asks for it, else Prometheus text' },
		],
		default: 'prometheus',
		displayOptions: { show: { operation: ['renderMetrics'] } },
	},
	{
		displayName: 'Accept Header',
		name: 'accept',
		type: 'string',
		default: '={{ $json.headers?.accept ?? "" }}',
		description: 'The scraper\'s Accept header (from the Webhook node\'s output)',
		displayOptions: { show: { operation: ['renderMetrics'], format: ['accept'] } },
	},
	{
		displayName: 'Options',
		name: 'options',
		type: 'collection',
		placeholder: 'Add Option',
		default: {},
		displayOptions: { show: { operation: ['renderMetrics'] } },
		options: [
			{
				displayName: 'Include SLO Metrics',
				name: 'includeSlo',
				type: 'boolean',
				default: true,
				description: 'Whether to evaluate the SLOs for burn-rate and error-budget gauges (alert state is always included)',
			},
			{
				displayName: 'Fail When a Source Cannot Be Read',
				name: 'failOnSourceError',
				type: 'boolean',
				default: false,
				description:
					'Whether to fail the node when part of the metrics cannot be read. Off: the scrape still answers and ipai_metrics_source_up{source} is 0 for the missing part.',
			},
		],
	},
];

export const digestProperties: INodeProperties[] = [
	{
		displayName: 'Sections',
		name: 'sections',
		type: 'multiOptions',
		options: [
			{ name: 'Finance', value: 'finance', description: 'Net profit by month; open receivables and payables by aging bucket' },
			{ name: 'DevOps Health', value: 'devops', description: 'DORA metrics by week; CI status per repository' },
			{ name: 'Operations', value: 'operations', description: 'Connector success rate per day and hours since the last success' },
		],
		default: ['finance', 'devops', 'operations'],
		description: 'Which charts the digest holds (at most five charts, one PNG each)',
		displayOptions: { show: { operation: ['postDigest'] } },
	},
	{
		displayName: 'Title',
		name: 'title',
		type: 'string',
		default: 'IPAI lakehouse digest',
		description: 'Headline of the Mattermost post',
		displayOptions: { show: { operation: ['postDigest'] } },
	},
	{
		displayName: 'Options',
		name: 'digestOptions',
		type: 'collection',
		placeholder: 'Add Option',
		default: {},
		displayOptions: { show: { operation: ['postDigest'] } },
		options: [
			{ displayName: 'Days of Connector Runs', name: 'days', type: 'number', typeOptions: { minValue: 1, maxValue: 31 }, default: 7, description: 'Ending today (UTC)' },
			{ displayName: 'Max Series per Chart', name: 'maxSeries', type: 'number', typeOptions: { minValue: 1, maxValue: 40 }, default: 12, description: 'Most repositories per chart (connectors: twice as many), the busiest or worst first' },
			{ displayName: 'Months of Net Profit', name: 'months', type: 'number', typeOptions: { minValue: 1, maxValue: 60 }, default: 12, description: 'Ending with the newest month in gold' },
			{ displayName: 'Pixel Scale', name: 'scale', type: 'number', typeOptions: { minValue: 1, maxValue: 4 }, default: 2, description: 'Pixels per chart unit: 2 is sharp on high-density screens' },
			{ displayName: 'Weeks of DORA Metrics', name: 'weeks', type: 'number', typeOptions: { minValue: 1, maxValue: 104 }, default: 12, description: 'Ending with the newest week in gold' },
		],
	},
];

export const properties: INodeProperties[] = [...metricsProperties, ...digestProperties];
