-- The metrics endpoint reads each connector's latest run that reports replication lag
-- (metadata.replication: lag_bytes, lag_seconds; see lib/observability/replication.ts). Only runs
-- of database sources carry the key: a partial index keeps that read to those runs, however many
-- runs other connectors have.
create index if not exists idx_connector_run_replication
  on public.ipai_connector_run (connector_id, started_at desc)
  where metadata ? 'replication';
