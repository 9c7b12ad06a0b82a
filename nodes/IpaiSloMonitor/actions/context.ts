import type { IExecuteFunctions } from 'n8n-workflow';

export type { Operation } from '../../shared/items';

export interface MonitorOptions {
	runbookUrl?: string;
	runbookBaseUrl?: string;
	n8nBaseUrl?: string;
	failOnDeliveryError?: boolean;
	maxAttempts?: number;
	maxNotifications?: number;
}

export function sloList(fn: IExecuteFunctions, i: number): string[] | undefined {
	const raw = fn.getNodeParameter('slos', i, '') as string;
	const list = raw.split(',').map((s) => s.trim()).filter(Boolean);
	return list.length ? list : undefined;
}

export function monitorOptions(fn: IExecuteFunctions, i: number): MonitorOptions {
	return fn.getNodeParameter('options', i, {}) as MonitorOptions;
}

/** Links to executions point at this n8n unless the node names another URL. */
export function n8nBaseUrl(fn: IExecuteFunctions, options: MonitorOptions): string | undefined {
	if (options.n8nBaseUrl) return options.n8nBaseUrl;
	try {
		return fn.getInstanceBaseUrl() || undefined;
	} catch {
		return undefined;
	}
}
