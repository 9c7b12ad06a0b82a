import type { INodeProperties } from 'n8n-workflow';
import * as postDigest from './actions/postDigest.operation';
import * as renderMetrics from './actions/renderMetrics.operation';

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
	...renderMetrics.description,
	...postDigest.description,
];
