-- Connector operations: gold and platinum views over the run ledger (ipai_gold_core,
-- ipai_platinum_core). security_invoker views: always current, and only staff (admin/data_engineer)
-- see rows, through the ledger's RLS.

-- Gold ---------------------------------------------------------------------------------------------

create or replace view ipai_gold_core.connector_success_rate as
select c.id as connector_id, c.connector_type, c.name as connector_name, c.is_enabled,
       count(r.id) filter (where r.started_at >= now() - interval '1 day' and r.status in ('success', 'failed', 'abandoned')) as finished_runs_1d,
       count(r.id) filter (where r.started_at >= now() - interval '1 day' and r.status = 'success') as successful_runs_1d,
       round(count(r.id) filter (where r.started_at >= now() - interval '1 day' and r.status = 'success')::numeric
             / nullif(count(r.id) filter (where r.started_at >= now() - interval '1 day' and r.status in ('success', 'failed', 'abandoned')), 0), 4) as success_rate_1d,
       count(r.id) filter (where r.status in ('success', 'failed', 'abandoned')) as finished_runs_7d,
       count(r.id) filter (where r.status = 'success') as successful_runs_7d,
       round(count(r.id) filter (where r.status = 'success')::numeric
             / nullif(count(r.id) filter (where r.status in ('success', 'failed', 'abandoned')), 0), 4) as success_rate_7d
  from public.ipai_connector_config c
  left join public.ipai_connector_run r on r.connector_id = c.id and r.started_at >= now() - interval '7 days'
 group by c.id, c.connector_type, c.name, c.is_enabled;
select ipai_meta.secure_relation('ipai_gold_core.connector_success_rate');

-- Newest source change: the newest timestamp held in any of the connector's stream cursors
-- (Odoo: write_date, naive UTC; GitHub: updated_at/created windows), i.e. how current the
-- source data in bronze is, independent of how recently a run succeeded.
create or replace view ipai_gold_core.connector_freshness as
with last_success as (
  select r.connector_id, max(r.ended_at) as last_success_at
    from public.ipai_connector_run r where r.status = 'success' group by r.connector_id
), newest_change as (
  select s.connector_id,
         max((case when e.value ~ '(Z|[+-]\d\d(:?\d\d)?)$' then e.value else e.value || 'Z' end)::timestamptz) as newest_source_change_at
    from public.ipai_connector_state s
    cross join lateral jsonb_each_text(case when jsonb_typeof(s.cursor) = 'object' then s.cursor else '{}'::jsonb end) e
   where e.value ~ '^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d\d(:?\d\d)?)?$'
   group by s.connector_id
)
select c.id as connector_id, c.connector_type, c.name as connector_name, c.schedule,
       ls.last_success_at, extract(epoch from now() - ls.last_success_at)::bigint as seconds_since_success,
       nc.newest_source_change_at, extract(epoch from now() - nc.newest_source_change_at)::bigint as seconds_since_source_change
  from public.ipai_connector_config c
  left join last_success ls on ls.connector_id = c.id
  left join newest_change nc on nc.connector_id = c.id;
select ipai_meta.secure_relation('ipai_gold_core.connector_freshness');

create or replace view ipai_gold_core.connector_run_rows as
select r.id as run_id, r.connector_id, c.connector_type, c.name as connector_name, r.status, r.started_at, r.ended_at,
       extract(epoch from r.ended_at - r.started_at) as duration_seconds, r.rows_read, r.rows_written,
       case when r.ended_at > r.started_at then round(coalesce(r.rows_written, 0) / extract(epoch from r.ended_at - r.started_at), 2) end as rows_written_per_second
  from public.ipai_connector_run r
  join public.ipai_connector_config c on c.id = r.connector_id;
select ipai_meta.secure_relation('ipai_gold_core.connector_run_rows');

-- Platinum -----------------------------------------------------------------------------------------
-- Per-connector features for anomaly detection and the DevOps Health app.

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

