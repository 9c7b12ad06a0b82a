/** Render Metrics: one item whose body a Respond to Webhook node returns to the scraper. */
import type { INodeProperties } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';
import { renderMetrics, type ExpositionFormat } from '../../../lib/observability/metrics';
import { redact } from '../../../lib/lakehouse/connection';
import { nodeError } from '../../shared/lakehouse';
import { perItem } from '../../shared/items';
import type { Operation } from '../../shared/items';
import { forOperations } from '../../shared/resources';

interface Options {
	includeSlo?: boolean;
	failOnSourceError?: boolean;
}

/** OpenMetrics only when the scraper asks for it (Prometheus sends application/openmetrics-text first). */
export function formatFromAccept(accept: string): ExpositionFormat {
	return /application\/openmetrics-text/i.test(accept) ? 'openmetrics' : 'prometheus';
}

export const description: INodeProperties[] = forOperations(['renderMetrics'], [
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
	},
	{
		displayName: 'Accept Header',
		name: 'accept',
		type: 'string',
		default: '={{ $json.headers?.accept ?? "" }}',
		description: 'The scraper\'s Accept header (from the Webhook node\'s output)',
		displayOptions: { show: { format: ['accept'] } },
	},
	{
		displayName: 'Options',
		name: 'options',
		type: 'collection',
		placeholder: 'Add Option',
		default: {},
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
]);

export const execute: Operation = async function (session, items) {
	return perItem(
		this,
		items,
		async (i) => {
			const choice = this.getNodeParameter('format', i, 'prometheus') as string;
			const format: ExpositionFormat = choice === 'accept' ? formatFromAccept(String(this.getNodeParameter('accept', i, '') ?? '')) : (choice as ExpositionFormat);
			const options = this.getNodeParameter('options', i, {}) as Options;
			const result = await renderMetrics(session.pool, { format, skipSlo: options.includeSlo === false });
			const errors = result.errors.map((e) => ({ source: e.source, message: redact(e.message, session.secrets) }));
			if (errors.length && options.failOnSourceError) {
				throw new NodeOperationError(this.getNode(), `Metrics could not be read from: ${errors.map((e) => `${e.source} (${e.message})`).join('; ')}`, {
					itemIndex: i,
					description: 'Check the IPAI Lakehouse credential\'s permissions and that the migrations are applied (npm run migrate).',
				});
			}
			return { body: result.body, contentType: result.contentType, format, durationMs: Math.round(result.durationMs), errors };
		},
		(e, i) => (e instanceof NodeOperationError ? e : nodeError(this.getNode(), e, i, session.secrets)),
	);
};
