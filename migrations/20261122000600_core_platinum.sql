-- Platinum connector operations (issue 7): per-connector features for anomaly detection and the
-- DevOps Health app, over the run ledger. A security_invoker view like the gold core views
-- (20261122005000): always current, rows only for staff through the ledger's RLS.

create or replace view ipai_platinum_core.connector_run_features as
with finished as (
  select r.connector_id, r.status, r.started_at, r.ended_at, coalesce(r.rows_written, 0) as rows_written,
         extract(epoch from r.ended_at - r.started_at) as duration_seconds
    from public.ipai_connector_run r
   where r.status in ('success', 'failed', 'abandoned') and r.started_at >= now() - interval '30 days'
), last_run as (
  select distinct on (connector_id) connector_id, status as last_status, rows_written as last_rows_written,
         duration_seconds as last_duration_seconds
    from finished order by connector_id, started_at desc
), stats as (
  select connector_id,
         count(*)::bigint as finished_runs_30d,
         round(count(*) filter (where status = 'success' and started_at >= now() - interval '7 days')::numeric
               / nullif(count(*) filter (where started_at >= now() - interval '7 days'), 0), 4) as success_rate_7d,
         round(count(*) filter (where status = 'success' and started_at < now() - interval '7 days' and started_at >= now() - interval '14 days')::numeric
               / nullif(count(*) filter (where started_at < now() - interval '7 days' and started_at >= now() - interval '14 days'), 0), 4) as success_rate_prev_7d,
         round((percentile_cont(0.5) within group (order by duration_seconds) filter (where status = 'success'))::numeric, 1) as median_duration_seconds,
         round((percentile_cont(0.95) within group (order by duration_seconds) filter (where status = 'success'))::numeric, 1) as p95_duration_seconds,
         round(avg(rows_written) filter (where status = 'success'), 1) as avg_rows_written,
         stddev_samp(rows_written) filter (where status = 'success') as sd_rows_written
    from finished group by connector_id
)
select c.id as connector_id, c.connector_type, c.name as connector_name,
       s.finished_runs_30d, s.success_rate_7d, s.success_rate_prev_7d,
       s.success_rate_7d - s.success_rate_prev_7d as success_rate_trend,
       s.median_duration_seconds, s.p95_duration_seconds, s.avg_rows_written,
       l.last_status, l.last_rows_written,
       -- How unusual the last run's volume is against the 30-day successful runs (z-score).
       case when s.sd_rows_written > 0 then round(((l.last_rows_written - s.avg_rows_written) / s.sd_rows_written)::numeric, 2) end as last_rows_zscore
  from public.ipai_connector_config c
  join stats s on s.connector_id = c.id
  left join last_run l on l.connector_id = c.id;
select ipai_meta.secure_relation('ipai_platinum_core.connector_run_features');

