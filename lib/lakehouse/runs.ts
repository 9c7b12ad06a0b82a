/**
 * The run ledger and the per-connector lease.
 *
 * A run is a row in ipai_connector_run: start → (heartbeats, page commits) → finish | fail.
 * One run per connector at a time, across n8n workers, processes and database connections:
 * starting a run takes the connector's lease row inside a transaction that first locks the
 * connector's config row (FOR NO KEY UPDATE), so concurrent starts serialise on that lock and
 * exactly one wins; the others are recorded as `skipped` with the holder's run id. A holder that stops heartbeating
 * past its timeout is presumed dead: the next start marks its run `abandoned` and takes over.
 * Only row locks inside transactions are used — no session state — so this holds through
 * Supabase's poolers and when each n8n node runs on a different connection.
 */
import { hostname } from 'node:os';
import type { ClientBase, Pool } from 'pg';
import { parseCron } from './cron';
import { writeAudit } from './audit';
import { inTransaction } from './connection';
import { isSecretKeyName, looksLikeSecret, redact, redactDeep, secretKind } from './secrets';

export interface ConnectorRegistration {
	connectorType: string;
	name: string;
	/** Type-specific settings; secrets are refused (keep them in n8n credentials or Vault). Omit to keep the recorded one. */
	config?: Record<string, unknown>;
	/**
	 * Settings recorded only when the connector is new. Source nodes describe themselves this way:
	 * once the row exists it belongs to whoever manages it (the dispatcher reads its config), and a
	 * sync must not overwrite it with the node's parameters.
	 */
	initialConfig?: Record<string, unknown>;
	schedule?: string | null;
	vaultSecretRefs?: string[] | null;
}

export interface StartRunOptions {
	connector: ConnectorRegistration | { id: string };
	/** Seconds without a heartbeat after which the run is presumed dead (default 600). */
	leaseTimeoutSeconds?: number;
	/** Who is running it, for the on-call person: e.g. the n8n execution id. */
	holder?: string;
	metadata?: Record<string, unknown>;
}

export type StartRunResult =
	| { status: 'running'; runId: string; connectorId: string; abandonedRunId?: string }
	| { status: 'skipped'; runId: string; connectorId: string; reason: 'disabled' | 'busy'; holderRunId?: string };

export interface RunCounts {
	rowsRead?: number;
	rowsWritten?: number;
	metadata?: Record<string, unknown>;
}

export class LeaseLostError extends Error {
	constructor(readonly runId: string, readonly connectorId: string) {
		super(
			`Run ${runId} no longer holds the lease of connector ${connectorId} (it was presumed dead after missing heartbeats ` +
				'and another run took over); nothing more is committed by this run. Raise the lease timeout if pages take longer.',
		);
		this.name = 'LeaseLostError';
	}
}

export class RunStateError extends Error {}

/**
 * Refuses config objects that carry secrets: by key name, and by value (a password in a URL, an
 * Authorization header, a provider token, a private key… — the shapes secrets.ts masks). Names the
 * offending path and the kind of secret, never the value.
 */
export function assertNoSecrets(value: unknown, path = 'config'): void {
	const advice =
		'connector configs are readable by platform staff (admin and data_engineer JWTs, ipai_transform). Keep it in the n8n credential, or store it in Supabase Vault and name it in vaultSecretRefs';
	if (typeof value === 'string') {
		if (looksLikeSecret(value)) throw new RunStateError(`${path} holds ${secretKind(value)}; ${advice}`);
		return;
	}
	if (value === null || typeof value !== 'object') return;
	for (const [key, inner] of Object.entries(value as Record<string, unknown>)) {
		const here = Array.isArray(value) ? `${path}[${key}]` : `${path}.${key}`;
		assertNoSecrets(inner, here);
		if (isSecretKeyName(key) && typeof inner === 'string' && inner.length > 0) {
			throw new RunStateError(`${here} looks like a secret; ${advice}`);
		}
	}
}

/**
 * Registers the connector, or updates its config and schedule where given (an omitted config or
 * schedule keeps the recorded one, so a dispatcher's row is not overwritten); returns its id.
 */
export async function registerConnector(client: ClientBase, registration: ConnectorRegistration): Promise<string> {
	if (registration.config !== undefined) assertNoSecrets(registration.config);
	if (registration.initialConfig !== undefined) assertNoSecrets(registration.initialConfig);
	if (registration.schedule) parseCron(registration.schedule); // a typo must fail here, not silently never run
	// A row that would not change is not rewritten (every dispatched run registers its connector):
	// no new row version, no config check by the trigger. The union returns its id instead.
	const { rows } = await client.query<{ id: string }>(
		`with upsert as (
		   insert into public.ipai_connector_config as c (connector_type, name, config, schedule, vault_secret_refs)
		   values ($1, $2, coalesce($3::jsonb, $6::jsonb, '{}'), $4, $5)
		   on conflict (connector_type, name) do update
		      set config = coalesce($3::jsonb, c.config), schedule = coalesce($4, c.schedule), vault_secret_refs = coalesce($5, c.vault_secret_refs)
		    where (c.config, c.schedule, c.vault_secret_refs) is distinct from (coalesce($3::jsonb, c.config), coalesce($4, c.schedule), coalesce($5, c.vault_secret_refs))
		   returning id)
		 select id from upsert
		 union all
		 select id from public.ipai_connector_config where connector_type = $1 and name = $2 and not exists (select 1 from upsert)`,
		[
			registration.connectorType,
			registration.name,
			registration.config === undefined ? null : JSON.stringify(registration.config),
			registration.schedule ?? null,
			registration.vaultSecretRefs ?? null,
			registration.initialConfig === undefined ? null : JSON.stringify(registration.initialConfig),
		],
	);
	if (rows.length > 0) return rows[0].id;
	// Inserted by a concurrent registration after this statement's snapshot: visible to the next one.
	const again = await client.query<{ id: string }>('select id from public.ipai_connector_config where connector_type = $1 and name = $2', [registration.connectorType, registration.name]);
	return again.rows[0].id;
}

export function defaultHolder(extra?: string): string {
	return [hostname(), `pid ${process.pid}`, extra].filter(Boolean).join(' / ');
}

export async function startRun(pool: Pool, options: StartRunOptions): Promise<StartRunResult> {
	const timeout = options.leaseTimeoutSeconds ?? 600;
	if (!Number.isInteger(timeout) || timeout <= 0) throw new RunStateError('The lease timeout must be a positive number of seconds');
	const holder = options.holder ?? defaultHolder();
	return inTransaction(pool, async (client) => {
		const connectorId =
			'id' in options.connector ? options.connector.id : await registerConnector(client, options.connector);
		// The connector row lock serialises every start of this connector, on any connection.
		// NO KEY UPDATE, not UPDATE: the holder's page transactions take KEY SHARE on this row (the
		// foreign keys of its state and run rows) while holding the lease this start then waits
		// for; FOR UPDATE would deadlock with them, NO KEY UPDATE lets the page commit first.
		const config = await client.query<{ is_enabled: boolean | null; name: string }>(
			'select is_enabled, name from public.ipai_connector_config where id = $1 for no key update',
			[connectorId],
		);
		if (config.rows.length === 0) throw new RunStateError(`Connector ${connectorId} is not registered`);
		const metadata = { ...options.metadata, holder };

		if (config.rows[0].is_enabled === false) {
			const runId = await insertFinishedRun(client, connectorId, 'skipped', { ...metadata, reason: 'disabled' });
			await audit(client, connectorId, 'skip', { run_id: runId, reason: 'disabled' });
			return { status: 'skipped', runId, connectorId, reason: 'disabled' };
		}

		const lease = await client.query<{ run_id: string; expired: boolean; heartbeat_at: Date; timeout_seconds: number }>(
			`select run_id, heartbeat_at, timeout_seconds,
			        heartbeat_at + make_interval(secs => timeout_seconds) < now() as expired
			   from public.ipai_connector_lease where connector_id = $1 for update`,
			[connectorId],
		);
		let abandonedRunId: string | undefined;
		if (lease.rows.length > 0) {
			const held = lease.rows[0];
			if (!held.expired) {
				const runId = await insertFinishedRun(client, connectorId, 'skipped', {
					...metadata,
					reason: 'busy',
					holder_run_id: held.run_id,
				});
				await audit(client, connectorId, 'skip', { run_id: runId, reason: 'busy', holder_run_id: held.run_id });
				return { status: 'skipped', runId, connectorId, reason: 'busy', holderRunId: held.run_id };
			}
			abandonedRunId = held.run_id;
		}

		const { rows } = await client.query<{ id: string }>(
			`insert into public.ipai_connector_run (connector_id, started_at, status, rows_read, rows_written, metadata)
			 values ($1, now(), 'running', 0, 0, $2) returning id`,
			[connectorId, metadata],
		);
		const runId = rows[0].id;
		if (abandonedRunId) {
			await client.query(
				`update public.ipai_connector_run
				    set status = 'abandoned', ended_at = greatest(now(), started_at),
				        error_message = format('No heartbeat for more than %s seconds; presumed dead and taken over by run %s', $3::int, $2::text),
				        metadata = coalesce(metadata, '{}') || jsonb_build_object('last_heartbeat_at', $4::timestamptz)
				  where id = $1 and status = 'running'`,
				[abandonedRunId, runId, lease.rows[0].timeout_seconds, lease.rows[0].heartbeat_at],
			);
			await audit(client, connectorId, 'abandon', { run_id: abandonedRunId, taken_over_by: runId });
		}
		await client.query(
			`insert into public.ipai_connector_lease (connector_id, run_id, holder, acquired_at, heartbeat_at, timeout_seconds)
			 values ($1, $2, $3, now(), now(), $4)
			 on conflict (connector_id) do update
			    set run_id = excluded.run_id, holder = excluded.holder, acquired_at = excluded.acquired_at,
			        heartbeat_at = excluded.heartbeat_at, timeout_seconds = excluded.timeout_seconds`,
			[connectorId, runId, holder, timeout],
		);
		await audit(client, connectorId, 'start', { run_id: runId, holder });
		return { status: 'running', runId, connectorId, abandonedRunId };
	});
}

/**
 * Proves this run still holds its connector's lease and refreshes the heartbeat. Called inside
 * every page transaction: the row lock it takes also makes a concurrent takeover wait for the
 * page to commit, so a page is never committed by a run that lost its lease.
 */
export async function holdLease(client: ClientBase, connectorId: string, runId: string): Promise<void> {
	const { rowCount } = await client.query(
		'update public.ipai_connector_lease set heartbeat_at = now() where connector_id = $1 and run_id = $2',
		[connectorId, runId],
	);
	if (rowCount !== 1) throw new LeaseLostError(runId, connectorId);
}

/** Adds a page's counts to its run, in the page's own transaction. */
export async function addRunCounts(client: ClientBase, runId: string, rowsRead: number, rowsWritten: number): Promise<void> {
	await client.query(
		`update public.ipai_connector_run
		    set rows_read = coalesce(rows_read, 0) + $2, rows_written = coalesce(rows_written, 0) + $3
		  where id = $1`,
		[runId, rowsRead, rowsWritten],
	);
}

/**
 * Rows a run sent to ipai_bronze_core.ipai_load_reject (unreadable file rows, rows a `drop`
 * expectation refused): metadata.rows_rejected, in the transaction that wrote them. Rows that never
 * reached the loader (a file's unreadable rows) are added to rows_read too (`notYetRead`).
 */
export async function addRunRejects(client: ClientBase, runId: string, rejected: number, notYetRead = 0): Promise<void> {
	await client.query(
		`update public.ipai_connector_run
		    set rows_read = coalesce(rows_read, 0) + $3,
		        metadata = coalesce(metadata, '{}') || jsonb_build_object('rows_rejected', coalesce((metadata->>'rows_rejected')::bigint, 0) + $2)
		  where id = $1`,
		[runId, rejected, notYetRead],
	);
}

export async function heartbeat(pool: Pool, runId: string, progress: RunCounts = {}): Promise<void> {
	await inTransaction(pool, async (client) => {
		const run = await lockRun(client, runId);
		if (run.status !== 'running') throw new RunStateError(`Run ${runId} is ${run.status}, not running`);
		await holdLease(client, run.connector_id, runId);
		await client.query(
			`update public.ipai_connector_run
			    set rows_read = coalesce($2, rows_read), rows_written = coalesce($3, rows_written),
			        metadata = coalesce(metadata, '{}') || $4
			  where id = $1`,
			[runId, progress.rowsRead ?? null, progress.rowsWritten ?? null, progress.metadata ?? {}],
		);
	});
}

export async function finishRun(pool: Pool, runId: string, result: RunCounts = {}): Promise<{ durationMs: number }> {
	return inTransaction(pool, async (client) => {
		const run = await lockRun(client, runId);
		if (run.status !== 'running') {
			throw new RunStateError(
				run.status === 'abandoned'
					? `Run ${runId} was marked abandoned (no heartbeat within its lease timeout) and cannot finish; its committed pages are kept`
					: `Run ${runId} is already ${run.status}`,
			);
		}
		const { rows } = await client.query<{ duration_ms: number }>(
			`update public.ipai_connector_run
			    set status = 'success', ended_at = greatest(now(), started_at),
			        rows_read = coalesce($2, rows_read), rows_written = coalesce($3, rows_written),
			        metadata = coalesce(metadata, '{}') || $4
			                   || jsonb_build_object('duration_ms', round(extract(epoch from (greatest(now(), started_at) - started_at)) * 1000))
			  where id = $1
			  returning round(extract(epoch from (ended_at - started_at)) * 1000)::int as duration_ms`,
			[runId, result.rowsRead ?? null, result.rowsWritten ?? null, result.metadata ?? {}],
		);
		await client.query('delete from public.ipai_connector_lease where connector_id = $1 and run_id = $2', [run.connector_id, runId]);
		await audit(client, run.connector_id, 'finish', { run_id: runId, duration_ms: rows[0].duration_ms });
		return { durationMs: rows[0].duration_ms };
	});
}

export interface FailRunOptions extends RunCounts {
	error: unknown;
	/** Secrets to scrub from the message in addition to URL passwords. */
	secrets?: string[];
}

/** Records a failure. Failing a run that already ended changes nothing and says so. */
export async function failRun(
	pool: Pool,
	runId: string,
	options: FailRunOptions,
): Promise<{ status: string; changed: boolean; errorMessage: string }> {
	const message = truncate(redact(errorText(options.error), options.secrets ?? []), 4000);
	return inTransaction(pool, async (client) => {
		const run = await lockRun(client, runId);
		if (run.status !== 'running') return { status: run.status, changed: false, errorMessage: message };
		await client.query(
			`update public.ipai_connector_run
			    set status = 'failed', ended_at = greatest(now(), started_at), error_message = $2,
			        rows_read = coalesce($3, rows_read), rows_written = coalesce($4, rows_written),
			        metadata = coalesce(metadata, '{}') || $5
			                   || jsonb_build_object('duration_ms', round(extract(epoch from (greatest(now(), started_at) - started_at)) * 1000))
			  where id = $1`,
			[runId, message, options.rowsRead ?? null, options.rowsWritten ?? null, redactDeep(options.metadata ?? {}, options.secrets ?? [])],
		);
		await client.query('delete from public.ipai_connector_lease where connector_id = $1 and run_id = $2', [run.connector_id, runId]);
		await audit(client, run.connector_id, 'fail', { run_id: runId, error: message });
		return { status: 'failed', changed: true, errorMessage: message };
	});
}

export interface AbandonedRun {
	runId: string;
	connectorId: string;
	startedAt: Date;
	lastHeartbeatAt: Date | null;
	holder: string | null;
}

/**
 * Marks `abandoned` every run whose worker stopped heartbeating past its lease timeout, and frees
 * its lease, without waiting for the connector's next start (a connector that never starts again
 * would otherwise keep a `running` run forever). A run still `running` without any lease (its lease
 * was taken by a later run or deleted) is abandoned once its start is older than `orphanAfterSeconds`.
 * The run ends when its lease expired, so a monitor on an injected clock sees it in order.
 */
export async function abandonExpiredRuns(pool: Pool, options: { now?: Date; orphanAfterSeconds?: number } = {}): Promise<AbandonedRun[]> {
	return inTransaction(pool, async (client) => {
		const now = options.now ?? (await client.query<{ now: Date }>('select now() as now')).rows[0].now;
		const { rows } = await client.query<{
			run_id: string; connector_id: string; started_at: Date; heartbeat_at: Date | null; holder: string | null; timeout_seconds: number | null;
		}>(
			`select r.id as run_id, r.connector_id, r.started_at, l.heartbeat_at, l.holder, l.timeout_seconds
			   from public.ipai_connector_run r
			   left join public.ipai_connector_lease l on l.run_id = r.id and l.connector_id = r.connector_id
			  where r.status = 'running' and r.started_at <= $1
			    and (case when l.run_id is not null then l.heartbeat_at + make_interval(secs => l.timeout_seconds) < $1
			              else r.started_at + make_interval(secs => $2::int) < $1 end)
			  order by r.started_at
			    for update of r skip locked`,
			[now, options.orphanAfterSeconds ?? 86_400],
		);
		const out: AbandonedRun[] = [];
		for (const r of rows) {
			const endedAt = r.heartbeat_at && r.timeout_seconds !== null ? new Date(r.heartbeat_at.getTime() + r.timeout_seconds * 1000) : now;
			const message = r.heartbeat_at
				? `No heartbeat since ${r.heartbeat_at.toISOString()} (lease timeout ${r.timeout_seconds} s; holder ${r.holder ?? 'unknown'}); the worker is presumed dead and the run was marked abandoned`
				: 'Still running without a lease long after it started; the worker is presumed dead and the run was marked abandoned';
			await client.query(
				`update public.ipai_connector_run
				    set status = 'abandoned', ended_at = greatest($2::timestamptz, started_at), error_message = coalesce(error_message, $3),
				        metadata = coalesce(metadata, '{}') || jsonb_build_object('last_heartbeat_at', $4::timestamptz, 'abandoned_by', 'lease expiry')
				  where id = $1 and status = 'running'`,
				[r.run_id, endedAt, message, r.heartbeat_at],
			);
			await client.query('delete from public.ipai_connector_lease where connector_id = $1 and run_id = $2', [r.connector_id, r.run_id]);
			await audit(client, r.connector_id, 'abandon', { run_id: r.run_id, last_heartbeat_at: r.heartbeat_at?.toISOString() ?? null, reason: 'lease expired' });
			out.push({ runId: r.run_id, connectorId: r.connector_id, startedAt: r.started_at, lastHeartbeatAt: r.heartbeat_at, holder: r.holder });
		}
		return out;
	});
}

async function lockRun(client: ClientBase, runId: string): Promise<{ status: string; connector_id: string }> {
	const { rows } = await client.query<{ status: string; connector_id: string }>(
		'select status, connector_id from public.ipai_connector_run where id = $1 for update',
		[runId],
	);
	if (rows.length === 0) throw new RunStateError(`Run ${runId} does not exist`);
	return rows[0];
}

async function insertFinishedRun(client: ClientBase, connectorId: string, status: 'skipped', metadata: Record<string, unknown>): Promise<string> {
	const { rows } = await client.query<{ id: string }>(
		`insert into public.ipai_connector_run (connector_id, started_at, ended_at, status, rows_read, rows_written, metadata)
		 values ($1, now(), now(), $2, 0, 0, $3) returning id`,
		[connectorId, status, metadata],
	);
	return rows[0].id;
}

function audit(client: ClientBase, connectorId: string, action: string, details: Record<string, unknown>): Promise<void> {
	return writeAudit(client, { eventType: 'connector_run', entityType: 'connector', entityId: connectorId, action, details });
}

function errorText(error: unknown): string {
	if (typeof error === 'object' && error !== null && typeof (error as Error).message === 'string') {
		return (error as Error).message || (error as Error).name;
	}
	if (typeof error === 'string') return error;
	try {
		return JSON.stringify(error);
	} catch {
		return String(error);
	}
}

function truncate(text: string, max: number): string {
	return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
