/**
 * The dispatcher's side of the control plane: which enabled connectors are due now, claimed so
 * that each schedule tick is handed to a pipeline across every dispatcher (n8n mains, workers,
 * retried executions) at least once and run at most once. Running the pipeline — and refusing a
 * second concurrent run of the same connector — stays with the run ledger's lease (runs.ts).
 *
 * Schedules are 5-field cron in UTC. A connector seen for the first time is due at once (its most
 * recent tick), then on every later tick; ticks missed while no dispatcher ran collapse into one.
 *
 * A claim is a delivery, not a start: it has an id and a deadline. The dispatcher hands each
 * claim to its pipeline as its own queued n8n execution (a webhook the main enqueues), and the
 * pipeline's first step accepts it (delivery.ts). A claim with no run of its connector started
 * since it was made (any status: a `skipped` counts) is handed out again once its deadline has
 * passed — the dispatcher's worker may have died half way through its tick — and after
 * maxDeliveries it becomes a failed run saying so. A second delivery of an accepted claim is
 * recorded as `skipped` (reason duplicate_delivery) instead of running again.
 *
 * Rows that cannot run (a schedule that is not cron, a type with no pipeline, a config its type's
 * pipeline cannot use) are returned for a report only when the row changed since the last report
 * or after a quiet period; due ticks of such rows still become failed runs in the ledger, which the
 * SLO path watches — so on-call hears once per incident, not once per tick.
 */
import { hostname } from 'node:os';
import type { Pool } from 'pg';
import { CronError, parseCron } from './cron';
import { ConnectorConfigError, connectorConfigProblems } from './connectorConfig';
import { failRun, startRun } from './runs';

/** Where a connector's pipeline listens: a webhook path (queued by n8n's main) or a workflow id. */
export type Pipeline = { webhook: string } | { workflowId: string };

/** The webhook path of each connector type the package ships a pipeline for. */
export const BUILT_IN_PIPELINES: Readonly<Record<string, string>> = {
	odoo: 'ipai/pipeline/odoo',
	github: 'ipai/pipeline/github',
	file: 'ipai/pipeline/file',
	db: 'ipai/pipeline/db',
};

export type DispatchReason =
	| 'schedule'
	| 'redelivery'
	| 'requested'
	| 'invalid_schedule'
	| 'invalid_config'
	| 'no_pipeline'
	| 'undelivered';

/** Reasons that are a report for a person, not a delivery. */
export const PROBLEM_REASONS: readonly DispatchReason[] = ['invalid_schedule', 'invalid_config', 'no_pipeline', 'undelivered'];

export interface DispatchItem {
	connectorId: string;
	connectorType: string;
	name: string;
	config: Record<string, unknown>;
	schedule: string | null;
	/** The schedule tick being run; null when the run was requested by name. */
	dueAt: string | null;
	reason: DispatchReason;
	/** The claim a pipeline accepts (null for a request by name). */
	claimId?: string | null;
	/** 1 for the first delivery of a claim, 2 for the first redelivery, … */
	delivery?: number;
	/** Where to deliver it; null: the type has no pipeline. */
	pipeline?: Pipeline | null;
	/** For problems: a one-line title naming the connector, and what is wrong and what to do. */
	title?: string;
	error?: string;
	/** For problems: the failed run recorded for this tick, if any. */
	runId?: string;
}

export interface DispatchOptions {
	now?: Date;
	/** Who dispatches (e.g. the n8n execution), recorded with the claim. */
	dispatcher?: string;
	/** Only these connector types. */
	types?: string[];
	/** A claim with no run after this many seconds is handed out again (default 120). */
	claimDeadlineSeconds?: number;
	/** Deliveries of one claim before it becomes a failed run (default 3). */
	maxDeliveries?: number;
	/** A row that is still bad is reported again after this many hours (default 24). */
	reportQuietHours?: number;
}

export interface ConfigRow {
	id: string;
	connector_type: string;
	name: string;
	config: Record<string, unknown>;
	schedule: string | null;
	last_schedule: string | null;
	schedule_error: string | null;
	row_hash: string;
}

/**
 * A claim is settled by any run of its connector started since the claim was made — except the
 * `skipped` rows this module writes for duplicate deliveries: those say another execution took the
 * claim, not that it ran (that execution may yet die before starting its run).
 */
export const RAN_SINCE_CLAIM = `select 1 from public.ipai_connector_run r
                          where r.connector_id = d.connector_id and r.started_at >= d.dispatched_at
                            and not (r.status = 'skipped' and r.metadata ->> 'reason' = 'duplicate_delivery')`;

export const label = (row: { connector_type: string; name: string }) => `${row.connector_type}/${row.name}`;

/** Where a connector's pipeline is: config.pipeline_webhook, config.n8n_workflow_id, or its type's built-in one. */
export function pipelineOf(connectorType: string, config: Record<string, unknown> | null | undefined): Pipeline | null {
	const webhook = config?.pipeline_webhook;
	if (typeof webhook === 'string' && webhook.trim()) return { webhook: webhook.trim() };
	const workflowId = config?.n8n_workflow_id;
	if (typeof workflowId === 'string' && workflowId.trim()) return { workflowId: workflowId.trim() };
	const builtIn = BUILT_IN_PIPELINES[connectorType];
	return builtIn ? { webhook: builtIn } : null;
}

/** The URL to POST a delivery to: `webhook` as given when absolute, else under n8n's /webhook/. */
export function pipelineUrl(pipeline: Pipeline, n8nBaseUrl: string): string | null {
	if (!('webhook' in pipeline)) return null;
	if (/^https?:\/\//i.test(pipeline.webhook)) return pipeline.webhook;
	return `${n8nBaseUrl.replace(/\/+$/, '')}/webhook/${pipeline.webhook.replace(/^\/+/, '')}`;
}

/** What makes a row unrunnable by the dispatcher, if anything (schedule problems aside). */
function rowProblem(row: ConfigRow): { reason: 'invalid_config' | 'no_pipeline'; title: string; error: string } | null {
	const problems = connectorConfigProblems(row.connector_type, row.config);
	if (problems.length > 0) {
		return { reason: 'invalid_config', title: `Connector ${label(row)} has an invalid config`, error: new ConnectorConfigError(label(row), problems).message };
	}
	if (!pipelineOf(row.connector_type, row.config)) {
		return {
			reason: 'no_pipeline',
			title: `No pipeline for connector ${label(row)}`,
			error:
				`The dispatcher has no pipeline for connector ${label(row)} (type "${row.connector_type}"). Set config.pipeline_webhook on its ` +
				'ipai_connector_config row to the webhook path of the workflow that runs it (or config.n8n_workflow_id), or disable the row.',
		};
	}
	return null;
}

/**
 * Claims every enabled, scheduled connector whose latest cron tick (≤ now) has not been claimed
 * yet, hands out again the claims that are overdue, and returns what to deliver plus the
 * problems to report (see the file comment).
 */
export async function claimDueConnectors(pool: Pool, options: DispatchOptions = {}): Promise<DispatchItem[]> {
	const now = options.now ?? new Date();
	const deadline = options.claimDeadlineSeconds ?? 120;
	const maxDeliveries = options.maxDeliveries ?? 3;
	const quietHours = options.reportQuietHours ?? 24;
	const { rows } = await pool.query<ConfigRow>(
		`select c.id, c.connector_type, c.name, c.config, c.schedule, d.schedule as last_schedule, d.schedule_error,
		        md5(concat_ws('|', c.connector_type, c.name, c.config::text, c.schedule)) as row_hash
		   from public.ipai_connector_config c
		   left join public.ipai_connector_dispatch d on d.connector_id = c.id
		  where c.is_enabled is not false and nullif(btrim(c.schedule), '') is not null
		    and ($1::text[] is null or c.connector_type = any ($1))
		  order by c.connector_type, c.name`,
		[options.types?.length ? options.types : null],
	);
	const byId = new Map(rows.map((r) => [r.id, r]));
	const due: Array<{ row: ConfigRow; dueAt: Date }> = [];
	const out: DispatchItem[] = [];
	const report = (row: ConfigRow, problem: string, scheduleError = false) => shouldReport(pool, row, problem, scheduleError, quietHours, options.dispatcher);
	for (const row of rows) {
		let dueAt: Date | null;
		let problem: string | null = null;
		try {
			dueAt = parseCron(row.schedule!).lastFireAtOrBefore(now);
			// A valid expression that never comes round (31 February) must not be silently ignored either.
			if (!dueAt) problem = 'never fires (not once in 400 days)';
		} catch (error) {
			if (!(error instanceof CronError)) throw error;
			dueAt = null;
			problem = `is not valid cron (${error.message})`;
		}
		if (problem) {
			const message = `Connector ${label(row)} is not scheduled: its schedule "${row.schedule}" ${problem}. Fix ipai_connector_config.schedule (5 fields, UTC).`;
			if (await report(row, message, true)) {
				out.push({ ...itemOf(row, null, 'invalid_schedule'), title: `Connector not scheduled: ${label(row)}`, error: message });
			}
			continue;
		}
		due.push({ row, dueAt: dueAt! });
	}

	// One statement claims every tick: a concurrent dispatcher's claim of the same tick makes the
	// WHERE false for this one, so each tick comes back from exactly one of them.
	const claimed = due.length === 0 ? [] : (
		await pool.query<{ connector_id: string; claim_id: string }>(
			`insert into public.ipai_connector_dispatch as d (connector_id, last_due_at, dispatched_at, dispatched_by, schedule, schedule_error,
			                                                  claim_id, claim_deadline, deliveries, accepted_at, accepted_by, accepted_execution_id)
			 select id, due_at, now(), $3, schedule, null, gen_random_uuid(), now() + make_interval(secs => $5), 1, null, null, null
			   from unnest($1::uuid[], $2::timestamptz[], $4::text[]) as t(id, due_at, schedule)
			 on conflict (connector_id) do update
			    set last_due_at = excluded.last_due_at, dispatched_at = excluded.dispatched_at,
			        dispatched_by = excluded.dispatched_by, schedule = excluded.schedule, schedule_error = null,
			        claim_id = excluded.claim_id, claim_deadline = excluded.claim_deadline, deliveries = 1,
			        accepted_at = null, accepted_by = null, accepted_execution_id = null, delivered_at = null
			  where d.last_due_at is null or d.last_due_at < excluded.last_due_at
			 returning connector_id, claim_id`,
			[due.map((d) => d.row.id), due.map((d) => d.dueAt.toISOString()), options.dispatcher ?? null, due.map((d) => d.row.schedule), deadline],
		)
	).rows;
	const dueAtOf = new Map(due.map((d) => [d.row.id, d.dueAt]));
	const claimedIds = new Set(claimed.map((c) => c.connector_id));
	const fine: string[] = [];
	for (const { connector_id, claim_id } of claimed) {
		const row = byId.get(connector_id)!;
		const item = { ...itemOf(row, dueAtOf.get(connector_id)!, 'schedule'), claimId: claim_id, delivery: 1 };
		const problem = rowProblem(row);
		if (!problem) {
			fine.push(row.id);
			out.push(item);
			continue;
		}
		// The tick is the ledger's: a failed run (which settles the claim and feeds the SLO), reported once.
		const runId = await recordFailedRun(pool, row.id, problem.error, { claim_id, due_at: item.dueAt, reason: problem.reason }, options.dispatcher);
		if (await report(row, problem.error)) out.push({ ...item, reason: problem.reason, title: problem.title, error: problem.error, runId });
	}

	if (fine.length > 0) await clearProblems(pool, fine);

	// Claims whose deadline passed without a run of their connector: hand them out again, once
	// across dispatchers (the row lock makes a concurrent UPDATE re-check the deadline).
	const candidates = rows.filter((r) => !claimedIds.has(r.id) && !rowProblem(r)).map((r) => r.id);
	if (candidates.length > 0) {
		const { rows: overdue } = await pool.query<{ connector_id: string; claim_id: string; deliveries: number; last_due_at: Date }>(
			`update public.ipai_connector_dispatch d
			    set deliveries = d.deliveries + 1, claim_deadline = now() + make_interval(secs => $2), dispatched_by = $3,
			        accepted_at = null, accepted_by = null, accepted_execution_id = null, delivered_at = null
			  where d.connector_id = any ($1::uuid[]) and d.claim_id is not null and d.claim_deadline < now()
			    and not exists (${RAN_SINCE_CLAIM})
			 returning d.connector_id, d.claim_id, d.deliveries, d.last_due_at`,
			[candidates, deadline, options.dispatcher ?? null],
		);
		for (const claim of overdue) {
			const row = byId.get(claim.connector_id)!;
			const item = { ...itemOf(row, claim.last_due_at, 'redelivery'), claimId: claim.claim_id, delivery: claim.deliveries };
			if (claim.deliveries <= maxDeliveries) {
				out.push(item);
				continue;
			}
			const error =
				`Connector ${label(row)}: the tick of ${item.dueAt} was handed to its pipeline ${maxDeliveries} times and no execution started a run. ` +
				'Check that the pipeline workflow is published and that the n8n workers are running and reach the main.';
			const runId = await recordFailedRun(pool, row.id, error, { claim_id: claim.claim_id, due_at: item.dueAt, reason: 'undelivered' }, options.dispatcher);
			if (await report(row, error)) out.push({ ...item, reason: 'undelivered', title: `Connector ${label(row)} not delivered`, error, runId });
		}
	}
	return out;
}

/**
 * True when this problem is news: the row changed since it was last reported (or the problem
 * did), or the quiet period has passed. Records the report.
 */
async function shouldReport(pool: Pool, row: ConfigRow, problem: string, scheduleError: boolean, quietHours: number, dispatcher?: string): Promise<boolean> {
	const { rowCount } = await pool.query(
		`insert into public.ipai_connector_dispatch as d (connector_id, schedule, schedule_error, dispatched_by, problem, problem_row_hash, problem_reported_at)
		 values ($1, $2, case when $7 then $3 end, $4, $3, $5, now())
		 on conflict (connector_id) do update
		    set problem = excluded.problem, problem_row_hash = excluded.problem_row_hash, problem_reported_at = now(),
		        schedule = excluded.schedule, schedule_error = coalesce(excluded.schedule_error, d.schedule_error)
		  where d.problem_row_hash is distinct from excluded.problem_row_hash
		     or d.problem is distinct from excluded.problem
		     or d.problem_reported_at < now() - make_interval(hours => $6)`,
		[row.id, row.schedule, problem, dispatcher ?? null, row.row_hash, quietHours, scheduleError],
	);
	return rowCount === 1;
}

/** The rows are fine again: a later problem is news whatever it is. */
async function clearProblems(pool: Pool, connectorIds: string[]): Promise<void> {
	await pool.query(
		`update public.ipai_connector_dispatch set problem = null, problem_row_hash = null, problem_reported_at = null
		  where connector_id = any ($1::uuid[]) and problem is not null`,
		[connectorIds],
	);
}

/** A failed run for a tick that could not be delivered (or `skipped` if the connector is busy). */
export async function recordFailedRun(pool: Pool, connectorId: string, error: string, metadata: Record<string, unknown>, holder?: string): Promise<string> {
	const started = await startRun(pool, { connector: { id: connectorId }, holder: holder ?? `dispatcher on ${hostname()}`, metadata });
	if (started.status === 'running') await failRun(pool, started.runId, { error });
	return started.runId;
}

/**
 * The connectors named (`name` or `type/name`) for a run now, whatever their schedule. Unknown,
 * ambiguous or disabled names are an error naming them, so "run X now" never silently does nothing.
 */
export async function requestedConnectors(pool: Pool, names: string[]): Promise<DispatchItem[]> {
	const { rows } = await pool.query<ConfigRow & { is_enabled: boolean | null }>(
		`select id, connector_type, name, config, schedule, is_enabled, null as last_schedule, null as schedule_error, '' as row_hash
		   from public.ipai_connector_config order by connector_type, name`,
	);
	const items: DispatchItem[] = [];
	const problems: string[] = [];
	for (const wanted of names) {
		const slash = wanted.indexOf('/');
		const matches = rows.filter((r) =>
			slash > 0 ? r.connector_type === wanted.slice(0, slash) && r.name === wanted.slice(slash + 1) : r.name === wanted,
		);
		if (matches.length === 0) problems.push(`no connector is named "${wanted}"`);
		else if (matches.length > 1) problems.push(`"${wanted}" names ${matches.length} connectors (${matches.map((m) => `${m.connector_type}/${m.name}`).join(', ')}); write it as type/name`);
		else if (matches[0].is_enabled === false) problems.push(`connector ${matches[0].connector_type}/${matches[0].name} is disabled (ipai_connector_config.is_enabled)`);
		else {
			// Asked for by a person: a missing pipeline is reported every time, with the row's fix.
			const problem = rowProblem(matches[0]);
			const item = itemOf(matches[0], null, 'requested');
			items.push(problem?.reason === 'no_pipeline' ? { ...item, reason: problem.reason, title: problem.title, error: problem.error } : item);
		}
	}
	if (problems.length) throw new DispatchError(`Cannot run ${problems.length === 1 ? 'the connector' : 'the connectors'}: ${problems.join('; ')}`);
	return items;
}

export class DispatchError extends Error {}

export function itemOf(row: ConfigRow, dueAt: Date | null, reason: DispatchItem['reason']): DispatchItem {
	return {
		connectorId: row.id,
		connectorType: row.connector_type,
		name: row.name,
		config: row.config ?? {},
		schedule: row.schedule,
		dueAt: dueAt?.toISOString() ?? null,
		reason,
		pipeline: pipelineOf(row.connector_type, row.config),
	};
}
