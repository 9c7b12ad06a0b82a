/**
 * Replication/slot lag of database sources, as the sources report it in their runs' metadata.
 *
 * The contract with database sources (docs/logs.md "Replication lag", docs/observability.md):
 * a run's `metadata.replication` is an object whose numeric keys
 *   lag_bytes    bytes the source's replication slot / binlog position is behind the source's
 *                current WAL / binlog position,
 *   lag_seconds  seconds between the source's newest change and the newest change applied,
 * are read from the connector's most recent run (by started_at) carrying `metadata.replication`
 * (a running run's heartbeat may update it). A key that is missing, null or not a finite number
 * yields no sample; a connector whose runs never carry `metadata.replication` yields nothing.
 * The run's time of that observation is exported too, so a stale value can be told from a fresh one.
 *
 * Reads use the partial index idx_connector_run_replication (only runs that carry the key; see
 * migrations/20261122001200_db_sources.sql), so connectors without replication cost nothing however
 * many runs they have.
 */
import type { Pool } from 'pg';
import type { MetricFamily, Sample } from './exposition';

interface ReplicationRow {
	connector_type: string;
	name: string;
	lag_bytes: unknown;
	lag_seconds: unknown;
	observed_at: Date;
}

export const REPLICATION_SQL = `
	select c.connector_type, c.name, r.replication->'lag_bytes' as lag_bytes, r.replication->'lag_seconds' as lag_seconds, r.observed_at
	  from public.ipai_connector_config c
	  cross join lateral (
	        select x.metadata->'replication' as replication, coalesce(x.ended_at, x.started_at) as observed_at
	          from public.ipai_connector_run x
	         where x.connector_id = c.id and x.metadata ? 'replication'
	         order by x.started_at desc
	         limit 1) r
	 order by c.connector_type, c.name`;

export async function readReplication(pool: Pool): Promise<ReplicationRow[]> {
	return (await pool.query<ReplicationRow>(REPLICATION_SQL)).rows;
}

/** A JSON number, or a numeric string (a source writing a bigint as text); anything else is no value. */
function finite(value: unknown): number | null {
	if (typeof value === 'number') return Number.isFinite(value) ? value : null;
	if (typeof value === 'string' && /^\s*-?\d+(\.\d+)?([eE][-+]?\d+)?\s*$/.test(value)) return Number(value);
	return null;
}

export function replicationFamilies(rows: readonly ReplicationRow[]): MetricFamily[] {
	const bytes: Sample[] = [];
	const seconds: Sample[] = [];
	const observed: Sample[] = [];
	for (const r of rows) {
		const labels = { connector_type: r.connector_type, connector: r.name };
		const b = finite(r.lag_bytes);
		const s = finite(r.lag_seconds);
		if (b === null && s === null) continue;
		if (b !== null) bytes.push({ labels, value: b });
		if (s !== null) seconds.push({ labels, value: s });
		observed.push({ labels, value: r.observed_at.getTime() / 1000 });
	}
	return [
		{
			name: 'ipai_connector_replication_lag_bytes',
			type: 'gauge',
			help: 'Bytes the source\'s replication slot (or binlog position) is behind the source, as its latest run reporting metadata.replication.lag_bytes said.',
			unit: 'bytes',
			samples: bytes,
		},
		{
			name: 'ipai_connector_replication_lag_seconds',
			type: 'gauge',
			help: 'Seconds between the source\'s newest change and the newest change loaded, as its latest run reporting metadata.replication.lag_seconds said.',
			unit: 'seconds',
			samples: seconds,
		},
		{
			name: 'ipai_connector_replication_observed_timestamp_seconds',
			type: 'gauge',
			help: 'Unix time of the run observation the replication lag gauges come from (its end, or its start while running).',
			unit: 'seconds',
			samples: observed,
		},
	];
}
