/**
 * The dispatcher's side of the control plane: which enabled connectors are due now, claimed so
 * that each schedule tick is handed to a pipeline once across every dispatcher (n8n mains,
 * workers, retried executions). Running the pipeline — and refusing a second concurrent run of
 * the same connector — stays with the run ledger's lease (runs.ts); this only decides *when*.
 *
 * Schedules are 5-field cron in UTC. A connector seen for the first time is due at once (its most
 * recent tick), then on every later tick; ticks missed while no dispatcher ran collapse into one.
 */
import type { Pool } from 'pg';
import { CronError, parseCron } from '../slo/cron';

export interface DispatchItem {
	connectorId: string;
	connectorType: string;
	name: string;
	config: Record<string, unknown>;
	schedule: string | null;
	/** The schedule tick being run; null when the run was requested by name. */
	dueAt: string | null;
	reason: 'schedule' | 'requested' | 'invalid_schedule';
	/** Only for `invalid_schedule`: what is wrong with the cron expression. */
	error?: string;
}

export interface DispatchOptions {
	now?: Date;
	/** Who dispatches (e.g. the n8n execution), recorded with the claim. */
	dispatcher?: string;
	/** Only these connector types. */
	types?: string[];
}

interface ConfigRow {
	id: string;
	connector_type: string;
	name: string;
	config: Record<string, unknown>;
	schedule: string | null;
	last_schedule: string | null;
	schedule_error: string | null;
}

/**
 * Claims every enabled, scheduled connector whose latest cron tick (≤ now) has not been
 * dispatched yet, and returns them. A schedule that does not parse, or never fires, is returned
 * once with reason `invalid_schedule` (again only after it changes), so it reaches a person
 * without repeating every minute.
 */
export async function claimDueConnectors(pool: Pool, options: DispatchOptions = {}): Promise<DispatchItem[]> {
	const now = options.now ?? new Date();
	const { rows } = await pool.query<ConfigRow>(
		`select c.id, c.connector_type, c.name, c.config, c.schedule, d.schedule as last_schedule, d.schedule_error
		   from public.ipai_connector_config c
		   left join public.ipai_connector_dispatch d on d.connector_id = c.id
		  where c.is_enabled is not false and nullif(btrim(c.schedule), '') is not null
		    and ($1::text[] is null or c.connector_type = any ($1))
		  order by c.connector_type, c.name`,
		[options.types?.length ? options.types : null],
	);
	const due: Array<{ row: ConfigRow; dueAt: Date }> = [];
	const invalid: DispatchItem[] = [];
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
			const message = `Connector ${row.connector_type}/${row.name} is not scheduled: its schedule "${row.schedule}" ${problem}. Fix ipai_connector_config.schedule (5 fields, UTC).`;
			const { rowCount } = await pool.query(
				`insert into public.ipai_connector_dispatch (connector_id, schedule, schedule_error, dispatched_by)
				 values ($1, $2, $3, $4)
				 on conflict (connector_id) do update set schedule = excluded.schedule, schedule_error = excluded.schedule_error
				  where ipai_connector_dispatch.schedule is distinct from excluded.schedule
				     or ipai_connector_dispatch.schedule_error is null`,
				[row.id, row.schedule, message, options.dispatcher ?? null],
			);
			if (rowCount) invalid.push({ ...itemOf(row, null, 'invalid_schedule'), error: message });
			continue;
		}
		due.push({ row, dueAt: dueAt! });
	}
	if (due.length === 0) return invalid;

	// One statement claims every tick: a concurrent dispatcher's claim of the same tick makes the
	// WHERE false for this one, so each tick comes back from exactly one of them.
	const { rows: claimed } = await pool.query<{ connector_id: string }>(
		`insert into public.ipai_connector_dispatch (connector_id, last_due_at, dispatched_at, dispatched_by, schedule, schedule_error)
		 select id, due_at, now(), $3, schedule, null
		   from unnest($1::uuid[], $2::timestamptz[], $4::text[]) as t(id, due_at, schedule)
		 on conflict (connector_id) do update
		    set last_due_at = excluded.last_due_at, dispatched_at = excluded.dispatched_at,
		        dispatched_by = excluded.dispatched_by, schedule = excluded.schedule, schedule_error = null
		  where ipai_connector_dispatch.last_due_at is null or ipai_connector_dispatch.last_due_at < excluded.last_due_at
		 returning connector_id`,
		[due.map((d) => d.row.id), due.map((d) => d.dueAt.toISOString()), options.dispatcher ?? null, due.map((d) => d.row.schedule)],
	);
	const won = new Set(claimed.map((c) => c.connector_id));
	return [...invalid, ...due.filter((d) => won.has(d.row.id)).map((d) => itemOf(d.row, d.dueAt, 'schedule'))];
}

/**
 * The connectors named (`name` or `type/name`) for a run now, whatever their schedule. Unknown,
 * ambiguous or disabled names are an error naming them, so "run X now" never silently does nothing.
 */
export async function requestedConnectors(pool: Pool, names: string[]): Promise<DispatchItem[]> {
	const { rows } = await pool.query<ConfigRow & { is_enabled: boolean | null }>(
		`select id, connector_type, name, config, schedule, is_enabled, null as last_schedule, null as schedule_error
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
		else items.push(itemOf(matches[0], null, 'requested'));
	}
	if (problems.length) throw new DispatchError(`Cannot run ${problems.length === 1 ? 'the connector' : 'the connectors'}: ${problems.join('; ')}`);
	return items;
}

export class DispatchError extends Error {}

function itemOf(row: ConfigRow, dueAt: Date | null, reason: DispatchItem['reason']): DispatchItem {
	return {
		connectorId: row.id,
		connectorType: row.connector_type,
		name: row.name,
		config: row.config ?? {},
		schedule: row.schedule,
		dueAt: dueAt?.toISOString() ?? null,
		reason,
	};
}
