/** Per-stream connector state: the cursor a stream has reached and any other small state it keeps. */
import type { Queryable } from './connection';

export interface StreamState {
	cursor: unknown;
	state: Record<string, unknown>;
	runId: string | null;
	updatedAt: Date | null;
}

export async function getStreamState(db: Queryable, connectorId: string, stream: string): Promise<StreamState> {
	const { rows } = await db.query(
		'select cursor, state, run_id, updated_at from public.ipai_connector_state where connector_id = $1 and stream = $2',
		[connectorId, stream],
	);
	if (rows.length === 0) return { cursor: null, state: {}, runId: null, updatedAt: null };
	return { cursor: rows[0].cursor, state: rows[0].state ?? {}, runId: rows[0].run_id, updatedAt: rows[0].updated_at };
}

export async function listStreamStates(db: Queryable, connectorId: string): Promise<Array<StreamState & { stream: string }>> {
	const { rows } = await db.query(
		'select stream, cursor, state, run_id, updated_at from public.ipai_connector_state where connector_id = $1 order by stream',
		[connectorId],
	);
	return rows.map((r) => ({ stream: r.stream, cursor: r.cursor, state: r.state ?? {}, runId: r.run_id, updatedAt: r.updated_at }));
}

/**
 * Writes a stream's cursor (and, when given, its state object). Inside a page transaction this
 * is the checkpoint; called on its own it is an operator's reset (e.g. re-sync from a date).
 */
export async function setStreamState(
	db: Queryable,
	connectorId: string,
	stream: string,
	update: { cursor?: unknown; state?: Record<string, unknown>; runId?: string | null },
): Promise<void> {
	await db.query(
		`insert into public.ipai_connector_state (connector_id, stream, cursor, state, run_id, updated_at)
		 values ($1, $2, $3, coalesce($4, '{}'::jsonb), $5, now())
		 on conflict (connector_id, stream) do update
		    set cursor = case when $6 then excluded.cursor else ipai_connector_state.cursor end,
		        state = coalesce($4, ipai_connector_state.state),
		        run_id = excluded.run_id, updated_at = now()`,
		[
			connectorId,
			stream,
			update.cursor === undefined ? null : JSON.stringify(update.cursor),
			update.state === undefined ? null : update.state,
			update.runId ?? null,
			update.cursor !== undefined,
		],
	);
}

export async function deleteStreamState(db: Queryable, connectorId: string, stream: string): Promise<boolean> {
	const { rowCount } = await db.query('delete from public.ipai_connector_state where connector_id = $1 and stream = $2', [
		connectorId,
		stream,
	]);
	return (rowCount ?? 0) > 0;
}
