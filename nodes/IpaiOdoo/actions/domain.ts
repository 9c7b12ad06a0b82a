/** The Domain filter, shown for both operations, and its parsing. */
import type { IExecuteFunctions, INodeProperties } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';
import type { Domain } from '../../../lib/sources/odoo';

export const domainField: INodeProperties = {
	displayName: 'Domain',
	name: 'domain',
	type: 'json',
	default: '[]',
	placeholder: '[["state", "=", "posted"]]',
	description: 'Odoo domain filter. With Sync it applies to every selected model, and deletes are inferred within it.',
};

/** The Domain parameter as an Odoo domain list, or a clear error. */
export function parseDomain(fn: IExecuteFunctions, i: number): Domain {
	const raw = fn.getNodeParameter('domain', i, '[]') as unknown;
	let domain: unknown = raw;
	if (typeof raw === 'string') {
		try {
			domain = JSON.parse(raw.trim() || '[]');
		} catch {
			throw new NodeOperationError(fn.getNode(), 'The domain is not valid JSON', {
				itemIndex: i,
				description: 'Write it as JSON, e.g. [["state", "=", "posted"], ["move_type", "in", ["out_invoice", "out_refund"]]]',
			});
		}
	}
	if (!Array.isArray(domain)) throw new NodeOperationError(fn.getNode(), 'The domain must be a JSON list', { itemIndex: i });
	return domain;
}
