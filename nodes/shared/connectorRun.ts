/**
 * How a source node works inside a connector run — one place for every node: either under a run
 * given by id (from IPAI Connector Run → Start: the workflow owns start and finish), or in a run
 * of its own that it starts, finishes, or fails with a safe message (committed pages are kept).
 * A second start while the connector is busy, or a disabled connector, yields the `skipped` result.
 */
import type { IDataObject, IExecuteFunctions, INodeProperties } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';
import { connectorConfigProblems } from '../../lib/lakehouse/connectorConfig';
import { failRun, finishRun, startRun, type ConnectorRegistration } from '../../lib/lakehouse/runs';
import type { LakehouseSession } from './lakehouse';
import { logConnectorRun } from './log';
import { plain } from './items';

export interface RunScope {
	runId: string;
	connectorId: string;
}

/**
 * A source as the SLO alerts group by it (lib/slo/grouping.ts): the kind, the endpoint's origin
 * and path (never its credentials or query) and what names the data set there (an Odoo database,
 * a bucket), e.g. `odoo https://erp.example.com/ db prod`.
 */
export function sourceName(kind: string, endpoint: string, dataset?: string): string {
	let where = endpoint.trim();
	try {
		const url = new URL(where);
		where = `${url.protocol}//${url.host}${url.pathname}`;
	} catch {
		where = where.replace(/\/\/[^@/]*@/, '//'); // not a URL: at least no user:password@
	}
	return [kind, where, dataset].filter(Boolean).join(' ');
}

/**
 * The Run ID, Connector From and Connector Name parameters, shown where `only` says (e.g.
 * `{ operation: ['sync'] }`; empty: always).
 */
export function runParameters(only: Record<string, string[]>, connector: { placeholder: string; description: string }): INodeProperties[] {
	return [
		{
			displayName: 'Run ID',
			name: 'runId',
			type: 'string',
			default: '',
			placeholder: "={{ $('Start').first().json.runId }}",
			description: 'Load under this connector run (from IPAI Connector Run → Start); empty starts and finishes a run of its own',
			hint: "Nodes between Start and this one replace the items, so $json.runId is usually gone here: reference the Start node by name, e.g. {{ $('Start').first().json.runId }}",
			...(Object.keys(only).length > 0 ? { displayOptions: { show: only } } : {}),
		},
		{
			displayName: 'Connector From',
			name: 'connectorFrom',
			type: 'options',
			options: [
				{ name: 'Node Parameters', value: 'parameters', description: 'The Connector Name and the settings below' },
				{
					name: 'Dispatched Item',
					value: 'input',
					description:
						"The input item's name and config, as IPAI Connector Run → Accept Delivery emits them; config fields replace the settings below. No expression to evaluate, so a queued execution starts no expression sandbox.",
				},
			],
			default: 'parameters',
			displayOptions: { show: { ...only, runId: [''] } },
		},
		{
			displayName: 'Connector Name',
			name: 'connectorName',
			type: 'string',
			default: '',
			placeholder: connector.placeholder,
			description: `${connector.description}. With Connector From: Dispatched Item, the name when the input item has none (a run by hand).`,
			displayOptions: { show: { ...only, runId: [''] } },
		},
	];
}

/**
 * The connector a dispatcher delivered in item `i`, when Connector From is Dispatched Item: its
 * name (if the item has one) and its config, checked against the type's rules (empty when the
 * item has none). Undefined otherwise. Reading the item in code rather than through
 * `{{ $json.config… }}` expressions spares each queued execution the expression sandbox n8n
 * builds for its first expression, the largest part of a small pipeline's CPU on a worker.
 */
export function dispatchedConnector(fn: IExecuteFunctions, i: number, connectorType: string): { name?: string; config: Record<string, unknown> } | undefined {
	if (fn.getNodeParameter('runId', i, '') !== '' || fn.getNodeParameter('connectorFrom', i, 'parameters') !== 'input') return undefined;
	const json = fn.getInputData()[i]?.json ?? {};
	const name = typeof json.name === 'string' && json.name.trim() ? json.name.trim() : undefined;
	const config = json.config ?? {};
	const problems = connectorConfigProblems(connectorType, config);
	if (problems.length > 0) {
		throw new NodeOperationError(fn.getNode(), `Connector ${connectorType}/${name ?? '(unnamed)'} in input item ${i + 1}: ${problems.join('; ')}`, {
			itemIndex: i,
			description: 'Connector From is Dispatched Item: the item must be a connector as IPAI Connector Run → Accept Delivery emits it (name, config)',
		});
	}
	return { name, config: config as Record<string, unknown> };
}

/** What a source's work under a run gives back: its summary, metadata for the run, and, when it
 * finished with some items failed under Continue On Fail, the failure that ends its own run. */
export interface RunWork<T> {
	value: T;
	metadata?: Record<string, unknown>;
	failure?: Error;
}

/**
 * Runs `work` under item `i`'s run: the given one (the workflow finishes it), or one of its own for
 * `connector` (named by the dispatched item, the Connector Name parameter or `connector.name`),
 * finished, or failed with a safe message (committed pages are kept). A connector that is busy or
 * disabled gives `skipped` and no work.
 */
export async function withRun<T>(
	fn: IExecuteFunctions,
	i: number,
	session: LakehouseSession,
	connector: ConnectorRegistration,
	work: (run: RunScope) => Promise<RunWork<T>>,
	options: {
		/** Read when the run fails, so work may add to it (e.g. a URL's secret parts). */
		secrets?: string[];
		failureMetadata?: () => Record<string, unknown>;
		/** Where the run reads (sourceName()): connectors failing on the same source page as one incident. */
		source?: string;
	} = {},
): Promise<{ run: RunScope; own: boolean; value: T } | { skipped: IDataObject }> {
	const given = (fn.getNodeParameter('runId', i, '') as string).trim();
	if (given) {
		const { rows } = await session.pool.query('select connector_id, status from public.ipai_connector_run where id = $1', [given]);
		if (rows.length === 0) throw new NodeOperationError(fn.getNode(), `Run ${given} does not exist`, { itemIndex: i });
		if (rows[0].status !== 'running') {
			throw new NodeOperationError(fn.getNode(), `Run ${given} is ${rows[0].status}, not running`, { itemIndex: i });
		}
		const run = { runId: given, connectorId: rows[0].connector_id as string };
		return { run, own: false, value: (await work(run)).value };
	}

	const name = dispatchedConnector(fn, i, connector.connectorType)?.name || (fn.getNodeParameter('connectorName', i, '') as string).trim() || connector.name;
	const started = await startRun(session.pool, {
		connector: { ...connector, name },
		holder: `n8n execution ${fn.getExecutionId()} (workflow "${fn.getWorkflow().name ?? fn.getWorkflow().id}")`,
		metadata: {
			n8n_execution_id: fn.getExecutionId(),
			n8n_workflow_id: fn.getWorkflow().id,
			n8n_workflow_name: fn.getWorkflow().name,
			...(options.source ? { source: options.source } : {}),
		},
	});
	await logConnectorRun(fn, session.pool, started.runId, session.secrets);
	if (started.status === 'skipped') return { skipped: plain(started as unknown as IDataObject) };
	const run = { runId: started.runId, connectorId: started.connectorId };
	const secrets = () => [...session.secrets, ...(options.secrets ?? [])];
	try {
		const { value, metadata, failure } = await work(run);
		if (failure) await failRun(session.pool, run.runId, { error: failure, secrets: secrets(), metadata });
		else await finishRun(session.pool, run.runId, { metadata });
		await logConnectorRun(fn, session.pool, run.runId, secrets());
		return { run, own: true, value };
	} catch (error) {
		await failRun(session.pool, run.runId, { error, secrets: secrets(), metadata: options.failureMetadata?.() }).catch(() => undefined);
		await logConnectorRun(fn, session.pool, run.runId, secrets());
		throw error;
	}
}

/** withRun for a source whose item gives one summary: the run's ids and status with it. */
export async function underRun(
	fn: IExecuteFunctions,
	i: number,
	session: LakehouseSession,
	connector: ConnectorRegistration,
	work: (run: RunScope) => Promise<{ summary: IDataObject; metadata?: Record<string, unknown> }>,
	options: Parameters<typeof withRun>[5] = {},
): Promise<IDataObject> {
	const result = await withRun(fn, i, session, connector, async (run) => {
		const { summary, metadata } = await work(run);
		return { value: summary, metadata };
	}, options);
	if ('skipped' in result) return result.skipped;
	return plain({ ...result.run, ...(result.own ? { status: 'success' } : {}), ...result.value });
}
