-- Metrics counters that survive retention. The Prometheus endpoint (lib/observability/metrics.ts)
-- derives its counters from the run ledger, so any n8n worker answers the same. Deleting or
-- archiving old runs would make those counters go down, which Prometheus reads as a counter reset
-- (a false spike in rate()/increase()). So whatever deletes finished runs folds them first into
-- these per-(target, status) totals, in the same statement, and the renderer adds live + archived.
-- The duration/latency buckets are cumulative counts (le) over the boundaries fixed here and in
-- lib/observability/metrics.ts (CONNECTOR_DURATION_BUCKETS, AGENT_LATENCY_BUCKETS); the boundaries
-- are stored with each row so a renderer with other boundaries can refuse to mix them.

create table if not exists ipai_meta.connector_run_archived (
    connector_id uuid not null,
    status text not null,
    runs bigint not null default 0,
    rows_read bigint not null default 0,
    rows_written bigint not null default 0,
    duration_count bigint not null default 0,
    duration_sum double precision not null default 0,
    duration_le double precision[] not null,
    duration_buckets bigint[] not null,
    last_ended_at timestamptz,
    primary key (connector_id, status)
);

create table if not exists ipai_meta.agent_run_archived (
    agent_id uuid not null,
    status text not null,
    runs bigint not null default 0,
    tokens bigint not null default 0,
    cost_usd numeric not null default 0,
    latency_count bigint not null default 0,
    latency_sum double precision not null default 0,
    latency_le double precision[] not null,
    latency_buckets bigint[] not null,
    primary key (agent_id, status)
);

alter table ipai_meta.connector_run_archived enable row level security;
alter table ipai_meta.agent_run_archived enable row level security;
grant select on ipai_meta.connector_run_archived, ipai_meta.agent_run_archived to ipai_ingest, ipai_transform;
drop policy if exists ipai_engine_read on ipai_meta.connector_run_archived;
create policy ipai_engine_read on ipai_meta.connector_run_archived for select to ipai_ingest, ipai_transform using (true);
drop policy if exists ipai_engine_read on ipai_meta.agent_run_archived;
create policy ipai_engine_read on ipai_meta.agent_run_archived for select to ipai_ingest, ipai_transform using (true);

create or replace function ipai_meta.add_buckets(a bigint[], b bigint[]) returns bigint[]
  language sql immutable
  set search_path = ''
as $$ select array_agg(x + y order by i) from unnest(a, b) with ordinality as t(x, y, i) $$;

create or replace function ipai_meta.fold_deleted_connector_runs() returns trigger
  language plpgsql security definer
  set search_path = ''
as $$
declare
  le constant double precision[] := array[1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200];
begin
  insert into ipai_meta.connector_run_archived as a
         (connector_id, status, runs, rows_read, rows_written, duration_count, duration_sum, duration_le, duration_buckets, last_ended_at)
  select o.connector_id, o.status, count(*), coalesce(sum(o.rows_read), 0), coalesce(sum(o.rows_written), 0),
         count(*) filter (where o.status in ('success', 'failed', 'abandoned')),
         coalesce(sum(extract(epoch from o.ended_at - o.started_at)) filter (where o.status in ('success', 'failed', 'abandoned')), 0),
         le,
         array[count(*) filter (where o.status in ('success', 'failed', 'abandoned') and o.ended_at - o.started_at <= interval '1 seconds'),
               count(*) filter (where o.status in ('success', 'failed', 'abandoned') and o.ended_at - o.started_at <= interval '5 seconds'),
               count(*) filter (where o.status in ('success', 'failed', 'abandoned') and o.ended_at - o.started_at <= interval '15 seconds'),
               count(*) filter (where o.status in ('success', 'failed', 'abandoned') and o.ended_at - o.started_at <= interval '30 seconds'),
               count(*) filter (where o.status in ('success', 'failed', 'abandoned') and o.ended_at - o.started_at <= interval '60 seconds'),
               count(*) filter (where o.status in ('success', 'failed', 'abandoned') and o.ended_at - o.started_at <= interval '120 seconds'),
               count(*) filter (where o.status in ('success', 'failed', 'abandoned') and o.ended_at - o.started_at <= interval '300 seconds'),
               count(*) filter (where o.status in ('success', 'failed', 'abandoned') and o.ended_at - o.started_at <= interval '600 seconds'),
               count(*) filter (where o.status in ('success', 'failed', 'abandoned') and o.ended_at - o.started_at <= interval '1800 seconds'),
               count(*) filter (where o.status in ('success', 'failed', 'abandoned') and o.ended_at - o.started_at <= interval '3600 seconds'),
               count(*) filter (where o.status in ('success', 'failed', 'abandoned') and o.ended_at - o.started_at <= interval '7200 seconds')],
         max(o.ended_at)
    from old_runs o
   where o.status <> 'running' and o.connector_id is not null
   group by o.connector_id, o.status
  on conflict (connector_id, status) do update
     set runs = a.runs + excluded.runs,
         rows_read = a.rows_read + excluded.rows_read,
         rows_written = a.rows_written + excluded.rows_written,
         duration_count = a.duration_count + excluded.duration_count,
         duration_sum = a.duration_sum + excluded.duration_sum,
         duration_buckets = ipai_meta.add_buckets(a.duration_buckets, excluded.duration_buckets),
         last_ended_at = greatest(a.last_ended_at, excluded.last_ended_at);
  return null;
end
$$;

create or replace function ipai_meta.fold_deleted_agent_runs() returns trigger
  language plpgsql security definer
  set search_path = ''
as $$
declare
  le constant double precision[] := array[0.25, 0.5, 1, 2, 5, 10, 30, 60, 120];
begin
  insert into ipai_meta.agent_run_archived as a
         (agent_id, status, runs, tokens, cost_usd, latency_count, latency_sum, latency_le, latency_buckets)
  select o.agent_id, o.status, count(*), coalesce(sum(o.tokens_used), 0), coalesce(sum(o.cost_usd), 0),
         count(o.latency_ms), coalesce(sum(o.latency_ms / 1000.0), 0), le,
         array[count(*) filter (where o.latency_ms <= 250), count(*) filter (where o.latency_ms <= 500), count(*) filter (where o.latency_ms <= 1000), count(*) filter (where o.latency_ms <= 2000), count(*) filter (where o.latency_ms <= 5000), count(*) filter (where o.latency_ms <= 10000), count(*) filter (where o.latency_ms <= 30000), count(*) filter (where o.latency_ms <= 60000), count(*) filter (where o.latency_ms <= 120000)]
    from old_runs o
   where o.status <> 'running' and o.agent_id is not null
   group by o.agent_id, o.status
  on conflict (agent_id, status) do update
     set runs = a.runs + excluded.runs,
         tokens = a.tokens + excluded.tokens,
         cost_usd = a.cost_usd + excluded.cost_usd,
         latency_count = a.latency_count + excluded.latency_count,
         latency_sum = a.latency_sum + excluded.latency_sum,
         latency_buckets = ipai_meta.add_buckets(a.latency_buckets, excluded.latency_buckets);
  return null;
end
$$;
revoke all on function ipai_meta.fold_deleted_connector_runs(), ipai_meta.fold_deleted_agent_runs() from public;

drop trigger if exists ipai_connector_run_fold_deleted on public.ipai_connector_run;
create trigger ipai_connector_run_fold_deleted after delete on public.ipai_connector_run
  referencing old table as old_runs for each statement execute function ipai_meta.fold_deleted_connector_runs();
drop trigger if exists ipai_agent_run_fold_deleted on public.ipai_agent_run;
create trigger ipai_agent_run_fold_deleted after delete on public.ipai_agent_run
  referencing old table as old_runs for each statement execute function ipai_meta.fold_deleted_agent_runs();
