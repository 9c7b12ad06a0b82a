/** Render Metrics: one item whose body a Respond to Webhook node returns to the scraper. */
import { NodeOperationError } from 'n8n-workflow';
import { renderMetrics, type ExpositionFormat } from '../../../lib/observability/metrics';
import { redact } from '../../../lib/lakehouse/connection';
import { nodeError } from '../../shared/lakehouse';
import { perItem } from '../../shared/items';
import type { Operation } from '../../shared/items';

interface Options {
	includeSlo?: boolean;
	failOnSourceError?: boolean;
}

/** OpenMetrics only when the scraper asks for it (Prometheus sends application/openmetrics-text first). */
export function formatFromAccept(accept: string): ExpositionFormat {
	return /application\/openmetrics-text/i.test(accept) ? 'openmetrics' : 'prometheus';
}

export const renderMetricsOperation: Operation = async function (session, items) {
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
