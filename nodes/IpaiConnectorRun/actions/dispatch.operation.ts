/**
 * Dispatch: the connectors to run now — due by their schedule (claimed, handed out again until a
 * run starts), or named on request — each POSTed to its pipeline's webhook (by this node, or by
 * the next node from the URL each item carries), so n8n's main queues one execution per connector
 * for any worker; and the pipeline's side: accept one delivery (or stop, a duplicate recorded as
 * skipped).
 */
import type { IDataObject, IExecuteFunctions, INodeProperties } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';
import { acceptDelivery, deliverToPipelines, extendUndelivered, markDelivered, markUndelivered } from '../../../lib/lakehouse/delivery';
import { claimDueConnectors, pipelineUrl, requestedConnectors, type DispatchItem } from '../../../lib/lakehouse/dispatch';
import { nodeError, type LakehouseSession } from '../../shared/lakehouse';
import { perItem, type Operation } from '../../shared/items';
import { forOperations } from '../../shared/resources';

/** Who claims: this execution (its deliveries keep the claims it has not delivered yet alive). */
const dispatcherOf = (fn: IExecuteFunctions) => `n8n execution ${fn.getExecutionId()} (workflow "${fn.getWorkflow().name ?? fn.getWorkflow().id}")`;

const list = (text: string) => text.split(',').map((s) => s.trim()).filter(Boolean);

export const description: INodeProperties[] = forOperations(['dispatch'], [
	{
		displayName: 'Connectors',
		name: 'dispatchMode',
		type: 'options',
		options: [
			{
				name: 'Due by Schedule',
				value: 'due',
				description: 'Enabled connectors whose cron schedule (UTC) has a tick not yet dispatched; a tick is handed out once across all dispatchers',
			},
			{ name: 'Named', value: 'named', description: 'The connectors named, now, whatever their schedule (e.g. a "run now" request)' },
			{
				name: 'Mark Queued',
				value: 'queued',
				description: "After the deliveries' HTTP requests: the claims n8n's main queued get the long redelivery deadline, the ones it refused are due again at the next tick",
			},
			{
				name: 'Accept Delivery',
				value: 'accept',
				description: "A pipeline's first step: take the connector the dispatcher delivered (a duplicate delivery stops here as a skipped run)",
			},
		],
		default: 'due',
	},
	{
		displayName: 'Connector Types',
		name: 'connectorTypes',
		type: 'string',
		default: '',
		placeholder: 'odoo, github, file',
		description: 'Only connectors of these types, comma-separated; empty for all',
		displayOptions: { show: { dispatchMode: ['due'] } },
	},
	{
		displayName: 'Claim ID',
		name: 'claimId',
		type: 'string',
		default: '',
		placeholder: "={{ $('Ten deliveries at a time').item.json.claimId }}",
		description: 'The claim each delivery carried (from the item before the HTTP request)',
		displayOptions: { show: { dispatchMode: ['queued'] } },
	},
	{
		displayName: 'Redeliver After (Seconds)',
		name: 'claimDeadlineSeconds',
		type: 'number',
		default: 120,
		typeOptions: { minValue: 10 },
		description: 'A claimed tick whose pipeline has not started a run by then is handed out again at a later dispatch',
		displayOptions: { show: { dispatchMode: ['due'] } },
	},
	{
		displayName: 'N8n URL',
		name: 'n8nUrl',
		type: 'string',
		default: '',
		placeholder: 'https://n8n.example.com',
		description: "Base URL of the n8n main that receives the pipelines' webhooks; empty uses this instance's URL",
		displayOptions: { show: { dispatchMode: ['due', 'named'] } },
	},
	{
		displayName: 'Deliver to Pipelines',
		name: 'deliver',
		type: 'boolean',
		default: false,
		description:
			"Whether this node POSTs each connector to its pipeline's webhook itself (many at a time, claims marked as the main answers) and outputs only what is left: connectors with a problem to report, pipelines run as sub-workflows, and a summary. Off: every connector is output with its pipelineUrl for an HTTP Request node, then Mark Queued.",
		displayOptions: { show: { dispatchMode: ['due', 'named'] } },
	},
	{
		displayName: 'Deliveries at a Time',
		name: 'deliveryConcurrency',
		type: 'number',
		default: 50,
		typeOptions: { minValue: 1 },
		description: "POSTs in flight at once: n8n's main answers each once it has queued the execution",
		displayOptions: { show: { dispatchMode: ['due', 'named'], deliver: [true] } },
	},
	{
		displayName: 'Delivery Timeout (Seconds)',
		name: 'deliveryTimeoutSeconds',
		type: 'number',
		default: 15,
		typeOptions: { minValue: 1 },
		description: 'A delivery without an answer by then failed: its claim is due again at the next tick',
		displayOptions: { show: { dispatchMode: ['due', 'named'], deliver: [true] } },
	},
	{
		displayName: 'Connector Names',
		name: 'connectors',
		type: 'string',
		default: '',
		required: true,
		placeholder: 'odoo-finance, github/devops',
		description: 'Comma-separated names (or type/name where a name is used by two types); an unknown or disabled one is an error',
		displayOptions: { show: { dispatchMode: ['named'] } },
	},
]);

export const execute: Operation = async function (session, items) {
	const mode = this.getNodeParameter('dispatchMode', 0) as string;
	const base = (this.getNodeParameter('n8nUrl', 0, '') as string).trim() || this.getInstanceBaseUrl();
	const withUrl = (found: DispatchItem[]) =>
		found.map((item) => ({ ...item, pipelineUrl: item.pipeline ? pipelineUrl(item.pipeline, base) : null }) as unknown as IDataObject);
	const deliver = mode !== 'accept' && mode !== 'queued' && (this.getNodeParameter('deliver', 0, false) as boolean);
	if (mode === 'queued') {
		// The HTTP responses of the deliveries: an item without an error is a delivery the main queued;
		// one with an error is handed out again at the next tick.
		const claimOf = (i: number) => String(this.getNodeParameter('claimId', i, '') ?? '');
		const queued = await markDelivered(session.pool, items.flatMap((item, i) => (item.json.error ? [] : [claimOf(i)])).filter(Boolean));
		const retry = await markUndelivered(session.pool, items.flatMap((item, i) => (item.json.error ? [claimOf(i)] : [])).filter(Boolean));
		// The rest of this tick's claims wait for the next batches: not overdue while this execution runs.
		await extendUndelivered(session.pool, dispatcherOf(this));
		return [{ json: { queued, failed: items.filter((item) => item.json.error).length, retryNextTick: retry }, pairedItem: items.map((_, i) => ({ item: i })) }];
	}
	// Due connectors are claimed once per execution, whatever the number of incoming items.
	const inputs = mode === 'due' ? items.slice(0, 1) : items;
	return perItem(this, inputs, async (i) => {
		if (mode === 'accept') {
			// A webhook item carries the delivery in its body; an Execute Workflow item is the delivery.
			const json = items[i].json as IDataObject;
			const delivery = (json.body && typeof json.body === 'object' ? json.body : json) as Partial<DispatchItem>;
			const result = await acceptDelivery(session.pool, delivery, { executionId: String(this.getExecutionId()) });
			if (result.status === 'invalid') throw new NodeOperationError(this.getNode(), result.error.message, { itemIndex: i });
			// A duplicate stops here: its skipped run is the record.
			return result.status === 'accepted' ? (result.item as unknown as IDataObject) : [];
		}
		const found =
			mode === 'due'
				? await claimDueConnectors(session.pool, {
						types: list(this.getNodeParameter('connectorTypes', i, '') as string),
						dispatcher: dispatcherOf(this),
						claimDeadlineSeconds: this.getNodeParameter('claimDeadlineSeconds', i, 120) as number,
					})
				: await requestedConnectors(session.pool, list(this.getNodeParameter('connectors', i) as string));
		return deliver ? deliverFound(this, session, withUrl(found)) : withUrl(found);
	}, (e, i) => (e instanceof NodeOperationError ? e : nodeError(this.getNode(), e, i, session.secrets)));
};

/**
 * Due or named connectors, delivered by this node: what it could not deliver itself (problems to
 * report, sub-workflow pipelines) goes on, with one summary item of the deliveries.
 */
async function deliverFound(fn: IExecuteFunctions, session: LakehouseSession, found: IDataObject[]): Promise<IDataObject[]> {
	const toPost = found.filter((item) => typeof item.pipelineUrl === 'string') as unknown as Array<DispatchItem & { pipelineUrl: string }>;
	// Pipelines' webhooks without authentication need no key; a key that is set must be readable.
	let headers: Record<string, string> = {};
	if (toPost.length > 0 && fn.getNode().credentials?.httpHeaderAuth) {
		const key = await fn.getCredentials('httpHeaderAuth');
		headers = { [String(key.name)]: String(key.value ?? '') };
	}
	const report = await deliverToPipelines(session.pool, toPost, {
		headers,
		concurrency: fn.getNodeParameter('deliveryConcurrency', 0, 50) as number,
		timeoutMs: (fn.getNodeParameter('deliveryTimeoutSeconds', 0, 15) as number) * 1000,
		dispatcher: dispatcherOf(fn),
	});
	const rest = found.filter((item) => typeof item.pipelineUrl !== 'string');
	return [...rest, report as unknown as IDataObject];
}
