/** Synthetic run history for SLO scenario tests: connectors and runs written with explicit timestamps. */
import type { Pool } from 'pg';

export const MINUTE = 60_000;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;

let counter = 0;
/** A config its type's pipeline can run: the database refuses a scheduled row without one. */
const RUNNABLE: Record<string, object> = { github: { repositories: ['acme/app'] }, file: { table: 'landing' } };

export async function addConnector(pool: Pool, options: { name?: string; type?: string; schedule?: string | null; createdAt: Date }): Promise<string> {
	const { rows } = await pool.query<{ id: string }>(
		`insert into public.ipai_connector_config (connector_type, name, config, schedule, created_at)
		 values ($1, $2, $5, $3, $4) returning id`,
		[options.type ?? 'odoo', options.name ?? `conn-${process.pid}-${++counter}`, options.schedule ?? null, options.createdAt, RUNNABLE[options.type ?? 'odoo'] ?? {}],
	);
	return rows[0].id;
}

export interface RunSpec {
	/** first start (ms epoch) */
	from: number;
	/** exclusive end (ms epoch) */
	to: number;
	every: number;
	durationMs?: number;
	/** outcome per run index and start time */
	status?: (i: number, startMs: number) => 'success' | 'failed' | 'abandoned';
	error?: string;
	metadata?: Record<string, unknown>;
}

/** Writes finished runs in one statement (unnest of arrays). */
export async function addRuns(pool: Pool, connectorId: string, spec: RunSpec): Promise<number> {
	const starts: Date[] = [];
	const ends: Date[] = [];
	const statuses: string[] = [];
	const errors: Array<string | null> = [];
	let i = 0;
	for (let t = spec.from; t < spec.to; t += spec.every, i++) {
		const status = spec.status ? spec.status(i, t) : 'success';
		starts.push(new Date(t));
		ends.push(new Date(t + (spec.durationMs ?? 30_000)));
		statuses.push(status);
		errors.push(status === 'success' ? null : spec.error ?? 'Odoo answered 503 Service Unavailable');
	}
	await pool.query(
		`insert into public.ipai_connector_run (connector_id, started_at, ended_at, status, rows_read, rows_written, error_message, metadata)
		 select $1, s, e, st, 10, 10, er, $6::jsonb
		   from unnest($2::timestamptz[], $3::timestamptz[], $4::text[], $5::text[]) as t(s, e, st, er)`,
		[connectorId, starts, ends, statuses, errors, JSON.stringify(spec.metadata ?? {})],
	);
	return starts.length;
}

/** Resets alert state and SLO-related rows between scenarios (the seeded SLOs stay). */
export async function resetAlerting(pool: Pool): Promise<void> {
	await pool.query(`delete from public.ipai_alert_notification; delete from public.ipai_alert; delete from public.ipai_silence;
	                  delete from public.ipai_connector_run; delete from public.ipai_connector_lease; delete from public.ipai_connector_state;
	                  delete from public.ipai_connector_config; delete from public.ipai_agent_run; delete from public.ipai_agent;`);
}
