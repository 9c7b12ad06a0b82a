/** What several SLO Monitor operations share: their common fields (shown per operation by ../description.ts), option readers and output shapes. */
import type { IDataObject, IExecuteFunctions, INodeProperties } from 'n8n-workflow';

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

type Shaped = IDataObject | IDataObject[];

export function shape(output: string, summary: IDataObject, due: unknown[], statuses: unknown[]): Shaped {
	if (output === 'due') return due as IDataObject[];
	if (output === 'statuses') return statuses as IDataObject[];
	return summary;
}

export const slosField: INodeProperties = {
	displayName: 'SLOs',
	name: 'slos',
	type: 'string',
	default: '',
	placeholder: 'connector-run-success, agent-p95-latency',
	description: 'Code names of the SLOs to evaluate, comma-separated; empty evaluates every enabled SLO',
};

export const outputField: INodeProperties = {
	displayName: 'Output',
	name: 'output',
	type: 'options',
	options: [
		{ name: 'Summary', value: 'summary', description: 'One item: SLO status, alerts and the notifications due' },
		{ name: 'One Item per Due Notification', value: 'due', description: 'To route notifications to other channels yourself' },
		{ name: 'One Item per SLO and Target', value: 'statuses', description: 'Error budget, burn rates and status per connector or agent' },
	],
	default: 'summary',
};

export const optionsField: INodeProperties = {
	displayName: 'Options',
	name: 'options',
	type: 'collection',
	placeholder: 'Add Option',
	default: {},
	options: [
		{
			displayName: 'Default Runbook URL',
			name: 'runbookUrl',
			type: 'string',
			default: '',
			description: 'Linked in alerts of SLOs that name no runbook of their own',
		},
		{
			displayName: 'Fail When a Delivery Fails',
			name: 'failOnDeliveryError',
			type: 'boolean',
			default: true,
			description: 'Whether to fail the execution (and run its error workflow) when a notification could not be delivered; it stays due either way',
		},
		{
			displayName: 'Max Attempts per Message',
			name: 'maxAttempts',
			type: 'number',
			typeOptions: { minValue: 1, maxValue: 10 },
			default: 4,
			description: 'Tries per notification in this run (429 waits for the rate-limit reset, 5xx backs off)',
		},
		{
			displayName: 'Max Notifications',
			name: 'maxNotifications',
			type: 'number',
			typeOptions: { minValue: 1 },
			default: 100,
			description: 'Max number of notifications to deliver in this run; the rest stay due',
		},
		{
			displayName: 'N8n Base URL',
			name: 'n8nBaseUrl',
			type: 'string',
			default: '',
			placeholder: 'https://n8n.example.com',
			description: 'For links to the failed executions; empty uses this instance\'s URL',
		},
		{
			displayName: 'Runbook Base URL',
			name: 'runbookBaseUrl',
			type: 'string',
			default: '',
			placeholder: 'https://wiki.example.com/runbooks/',
			description: 'Where the runbooks shipped in docs/runbooks are served (each alert links &lt;base&gt;/&lt;name&gt;.md). Empty: the package repository on GitHub.',
		},
	],
};
