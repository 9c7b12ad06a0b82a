/** Reading the run ledger: lists of runs, the run a connector or an n8n execution holds. */
import type { Pool } from 'pg';

/** The run currently holding a connector's lease (for an Error Trigger that knows only the connector). */
export async function currentRunOf(pool: Pool, connector: { id?: string; connectorType?: string; name?: string }): Promise<string | null> {
	const { rows } = await pool.query<{ run_id: string }>(
		`select l.run_id from public.ipai_connector_lease l
		   join public.ipai_connector_config c on c.id = l.connector_id
		  where ($1::uuid is null or c.id = $1) and ($2::text is null or c.connector_type = $2) and ($3::text is null or c.name = $3)`,
		[connector.id ?? null, connector.connectorType ?? null, connector.name ?? null],
	);
	return rows.length === 1 ? rows[0].run_id : null;
}

/**
 * The run an n8n execution started — a still-running one first (a Connector Run → Start whose
 * workflow failed later, even after a source node finished a run of its own), else the latest —
 * so an Error Trigger workflow fails what would otherwise hold the lease, and reports it either way.
 */
export async function runOfExecution(
	pool: Pool,
	executionId: string,
): Promise<{ id: string; status: string; connectorType: string; connectorName: string; errorMessage: string | null } | null> {
	const { rows } = await pool.query(
		`select r.id, r.status, r.error_message, c.connector_type, c.name
		   from public.ipai_connector_run r join public.ipai_connector_config c on c.id = r.connector_id
		  where r.metadata->>'n8n_execution_id' = $1 and r.status <> 'skipped'
		  order by (r.status = 'running') desc, r.started_at desc limit 1`,
		[executionId],
	);
	const r = rows[0];
	return r ? { id: r.id, status: r.status, connectorType: r.connector_type, connectorName: r.name, errorMessage: r.error_message } : null;
}

export interface RunRow {
	id: string;
	connector_id: string;
	connector_type: string;
	connector_name: string;
	started_at: Date;
	ended_at: Date | null;
	status: string;
	rows_read: number | null;
	rows_written: number | null;
	error_message: string | null;
	metadata: Record<string, unknown> | null;
}

export interface RunFilter {
	connectorId?: string;
	connectorType?: string;
	connectorName?: string;
	status?: string[];
	since?: Date;
	limit?: number;
}

export async function listRuns(pool: Pool, filter: RunFilter = {}): Promise<RunRow[]> {
	const { rows } = await pool.query<RunRow>(
		`select r.id, r.connector_id, c.connector_type, c.name as connector_name, r.started_at, r.ended_at, r.status,
		        r.rows_read, r.rows_written, r.error_message, r.metadata
		   from public.ipai_connector_run r join public.ipai_connector_config c on c.id = r.connector_id
		  where ($1::uuid is null or r.connector_id = $1)
		    and ($2::text is null or c.connector_type = $2)
		    and ($3::text is null or c.name = $3)
		    and ($4::text[] is null or r.status = any ($4))
		    and ($5::timestamptz is null or r.started_at >= $5)
		  order by r.started_at desc
		  limit $6`,
		[
			filter.connectorId ?? null,
			filter.connectorType ?? null,
			filter.connectorName ?? null,
			filter.status?.length ? filter.status : null,
			filter.since ?? null,
			Math.min(Math.max(filter.limit ?? 50, 1), 10_000),
		],
	);
	return rows;
}
