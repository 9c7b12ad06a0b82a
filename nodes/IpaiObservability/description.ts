import type { INodeProperties } from 'n8n-workflow';

export const properties: INodeProperties[] = [
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
