/**
 * A claim's delivery, after the dispatcher made it (dispatch.ts): POSTing each connector to its
 * pipeline's webhook, what n8n's main queued or refused, the dispatcher keeping its undelivered
 * claims alive while it works through a long tick, and the pipeline's first step accepting it —
 * at most one run per claim, a second delivery `skipped`.
 */
import { hostname } from 'node:os';
import type { Pool } from 'pg';
import { inTransaction } from './connection';
import { maskUrl } from './secrets';
import { ConnectorConfigError, connectorConfigProblems } from './connectorConfig';
import { DispatchError, itemOf, label, RAN_SINCE_CLAIM, recordFailedRun, type ConfigRow, type DispatchItem } from './dispatch';

/**
 * The claims n8n's main accepted for its queue (the webhook answered): from now on the delivery
 * sits in Redis, which survives a worker's death (n8n hands a stalled job to another worker), so
 * such a claim is handed out again only after `queuedDeadlineSeconds` (default 1800) — a backlog
 * longer than the short deadline must not multiply itself with redeliveries. Claims no main
 * accepted (the dispatcher died first, or the POST failed) keep the short deadline.
 */
export async function markDelivered(pool: Pool, claimIds: string[], queuedDeadlineSeconds = 1800): Promise<number> {
	const ids = claimIds.filter((id) => typeof id === 'string' && /^[0-9a-f-]{36}$/i.test(id));
	if (ids.length === 0) return 0;
	const { rowCount } = await pool.query(
		`update public.ipai_connector_dispatch
		    set delivered_at = now(), claim_deadline = greatest(claim_deadline, now() + make_interval(secs => $2))
		  where claim_id = any ($1::uuid[])`,
		[ids, queuedDeadlineSeconds],
	);
	return rowCount ?? 0;
}

/**
 * The claims whose delivery failed (the main refused or timed out: it was saturated, or down):
 * due again at the next dispatcher tick instead of after the deadline, unless a run started meanwhile.
 */
export async function markUndelivered(pool: Pool, claimIds: string[]): Promise<number> {
	const ids = claimIds.filter((id) => typeof id === 'string' && /^[0-9a-f-]{36}$/i.test(id));
	if (ids.length === 0) return 0;
	const { rowCount } = await pool.query(
		`update public.ipai_connector_dispatch d set claim_deadline = least(claim_deadline, now())
		  where d.claim_id = any ($1::uuid[]) and d.delivered_at is null and d.accepted_at is null and not exists (${RAN_SINCE_CLAIM})`,
		[ids],
	);
	return rowCount ?? 0;
}

/**
 * The dispatcher is alive and working through its tick: the claims it made (or handed out again)
 * that it has not delivered yet keep their deadline at least `seconds` from now. A tick of hundreds
 * of connectors delivered in batches may outlast the deadline; only a dispatcher that stopped
 * (its worker died) lets its claims expire. A refused delivery (deadline already due) stays due.
 */
export async function extendUndelivered(pool: Pool, dispatcher: string, seconds = 120): Promise<number> {
	const { rowCount } = await pool.query(
		`update public.ipai_connector_dispatch
		    set claim_deadline = greatest(claim_deadline, now() + make_interval(secs => $2))
		  where dispatched_by = $1 and claim_id is not null and delivered_at is null and accepted_at is null and claim_deadline > now()`,
		[dispatcher, seconds],
	);
	return rowCount ?? 0;
}

export interface DeliveryOptions {
	/** Headers every POST carries (the pipelines' webhook key). */
	headers: Record<string, string>;
	/** POSTs in flight at once. */
	concurrency: number;
	timeoutMs: number;
	/** Who claimed (dispatched_by): its claims not yet delivered stay alive while it works. */
	dispatcher: string;
}

export interface DeliveryReport {
	/** The connectors (type/name) whose delivery n8n's main answered with 2xx: it queued an execution. */
	delivered: string[];
	/** The others, each with what went wrong; their claims are due again at the next tick. */
	failed: Array<{ connector: string; error: string }>;
	retryNextTick: number;
}

/**
 * POSTs each item (JSON) to its `pipelineUrl`, `concurrency` at a time. The main answers once it
 * has queued the execution, so workers start on the first connectors while later ones are still
 * being delivered. Claims are marked as their answers arrive (a batch per `concurrency` answers):
 * queued ones get the long redelivery deadline, failed ones are due again at the next tick, and
 * the rest of this dispatcher's claims stay alive meanwhile.
 */
export async function deliverToPipelines(pool: Pool, items: Array<DispatchItem & { pipelineUrl: string }>, options: DeliveryOptions): Promise<DeliveryReport> {
	const concurrency = Math.max(1, Math.floor(options.concurrency));
	const report: DeliveryReport = { delivered: [], failed: [], retryNextTick: 0 };
	let delivered: string[] = [];
	let refused: string[] = [];
	let marking = Promise.resolve();
	const mark = () => {
		const [queuedIds, failedIds] = [delivered, refused];
		[delivered, refused] = [[], []];
		marking = marking.then(async () => {
			await markDelivered(pool, queuedIds);
			report.retryNextTick += await markUndelivered(pool, failedIds);
			await extendUndelivered(pool, options.dispatcher);
		});
		return marking;
	};
	let next = 0;
	const sender = async () => {
		for (let i = next++; i < items.length; i = next++) {
			const item = items[i];
			const connector = label({ connector_type: item.connectorType, name: item.name });
			const error = await post(item.pipelineUrl, JSON.stringify(item), options);
			if (error === null) {
				delivered.push(item.claimId ?? '');
				report.delivered.push(connector);
			} else {
				refused.push(item.claimId ?? '');
				report.failed.push({ connector, error });
			}
			if (delivered.length + refused.length >= concurrency) await mark();
		}
	};
	await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, sender));
	await mark();
	return report;
}

/** One delivery: null once the main answered 2xx, else why not (no secret: the URL is masked, the headers are not echoed). */
async function post(url: string, body: string, options: DeliveryOptions): Promise<string | null> {
	try {
		const response = await fetch(url, {
			method: 'POST',
			headers: { 'content-type': 'application/json', ...options.headers },
			body,
			signal: AbortSignal.timeout(options.timeoutMs),
		});
		const text = await response.text();
		if (response.ok) return null;
		return `POST ${maskUrl(url)} answered HTTP ${response.status}${text ? `: ${text.slice(0, 200).replace(/\s+/g, ' ').trim()}` : ''}`;
	} catch (error) {
		const cause = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).name;
		return `POST ${maskUrl(url)} failed (${cause === 'TimeoutError' ? `no answer within ${options.timeoutMs} ms` : cause})`;
	}
}

export type AcceptResult =
	| { status: 'accepted'; item: DispatchItem }
	| { status: 'duplicate'; item: DispatchItem; runId: string; acceptedBy: string | null }
	| { status: 'invalid'; item: DispatchItem; runId: string; error: ConnectorConfigError };

export interface Acceptor {
	/** The n8n execution accepting it. */
	executionId: string;
	/** Who: e.g. "host / pid 123", recorded with the claim (which worker picked it up). */
	worker?: string;
	/**
	 * An accepted claim whose acceptor started no run within this many seconds may be accepted
	 * again (its worker died between accepting and starting); default 120.
	 */
	acceptWindowSeconds?: number;
}

/**
 * A pipeline's first step: takes a delivery (a dispatch item, as posted by the dispatcher),
 * re-reads the connector row, checks its config (a failed run naming the fields if it cannot
 * run), and for a claimed tick records which execution and worker took it — or, when the claim
 * already ran, another execution holds it or a later tick's claim replaced it, records a `skipped`
 * run and says so.
 */
export async function acceptDelivery(pool: Pool, delivery: Partial<DispatchItem>, acceptor: Acceptor): Promise<AcceptResult> {
	const row = await findConnector(pool, delivery);
	const item: DispatchItem = {
		...itemOf(row, delivery.dueAt ? new Date(delivery.dueAt) : null, delivery.reason ?? (delivery.claimId ? 'schedule' : 'requested')),
		claimId: delivery.claimId ?? null,
		delivery: delivery.delivery,
	};
	const worker = acceptor.worker ?? `${hostname()} / pid ${process.pid}`;
	const base = { n8n_execution_id: acceptor.executionId, claim_id: item.claimId, due_at: item.dueAt, worker };
	const problems = connectorConfigProblems(row.connector_type, row.config);
	if (problems.length > 0) {
		const error = new ConnectorConfigError(label(row), problems);
		const runId = await recordFailedRun(pool, row.id, error.message, { ...base, reason: 'invalid_config' }, `n8n execution ${acceptor.executionId}`);
		return { status: 'invalid', item, runId, error };
	}
	if (!item.claimId) return { status: 'accepted', item };

	const window = acceptor.acceptWindowSeconds ?? 120;
	return inTransaction(pool, async (client) => {
		const { rows } = await client.query<{ claim_id: string | null; ran: boolean; held: boolean; accepted_execution_id: string | null; accepted_by: string | null }>(
			`select d.claim_id, d.accepted_execution_id, d.accepted_by,
			        exists (${RAN_SINCE_CLAIM}) as ran,
			        (d.accepted_at is not null and d.accepted_at > now() - make_interval(secs => $2) and d.accepted_execution_id is distinct from $3) as held
			   from public.ipai_connector_dispatch d where d.connector_id = $1 for update`,
			[row.id, window, acceptor.executionId],
		);
		const claim = rows[0];
		// A delivery of an older tick's claim is superseded: the current claim's delivery runs it.
		const superseded = Boolean(claim && claim.claim_id !== item.claimId);
		if (claim && (superseded || claim.ran || claim.held)) {
			const { rows: skipped } = await client.query<{ id: string }>(
				`insert into public.ipai_connector_run (connector_id, started_at, ended_at, status, rows_read, rows_written, metadata)
				 values ($1, now(), now(), 'skipped', 0, 0, $2) returning id`,
				[row.id, { ...base, reason: 'duplicate_delivery', superseded, delivered_claim_id: item.claimId, current_claim_id: claim.claim_id, accepted_by: claim.accepted_by, holder_execution_id: claim.accepted_execution_id }],
			);
			return { status: 'duplicate' as const, item, runId: skipped[0].id, acceptedBy: claim.accepted_by };
		}
		await client.query(
			`update public.ipai_connector_dispatch set accepted_at = now(), accepted_by = $2, accepted_execution_id = $3 where connector_id = $1`,
			[row.id, worker, acceptor.executionId],
		);
		return { status: 'accepted' as const, item };
	});
}

/** The connector a pipeline execution accepted, for an error report when it failed before starting a run. */
export async function connectorOfExecution(pool: Pool, executionId: string): Promise<{ connectorId: string; connector: string } | null> {
	const { rows } = await pool.query<{ id: string; connector_type: string; name: string }>(
		`select c.id, c.connector_type, c.name from public.ipai_connector_dispatch d
		   join public.ipai_connector_config c on c.id = d.connector_id
		  where d.accepted_execution_id = $1 limit 1`,
		[executionId],
	);
	return rows[0] ? { connectorId: rows[0].id, connector: label(rows[0]) } : null;
}

async function findConnector(pool: Pool, delivery: Partial<DispatchItem>): Promise<ConfigRow> {
	const { rows } = await pool.query<ConfigRow>(
		`select id, connector_type, name, config, schedule, null as last_schedule, null as schedule_error, '' as row_hash
		   from public.ipai_connector_config
		  where ($1::uuid is not null and id = $1) or ($1::uuid is null and connector_type = $2 and name = $3)`,
		[delivery.connectorId ?? null, delivery.connectorType ?? null, delivery.name ?? null],
	);
	if (rows.length === 0) {
		const what = delivery.connectorType && delivery.name ? `${delivery.connectorType}/${delivery.name}` : delivery.connectorId ?? '(none named)';
		throw new DispatchError(`The delivery names no connector that exists (${what}); was its row deleted? Deliveries carry connectorId, or connectorType and name.`);
	}
	return rows[0];
}
