-- Metrics counters kept as running totals of the run ledger, so a Prometheus scrape reads
-- O(connectors + agents) rows instead of every run ever recorded, and so counters stay monotonic
-- when retention deletes old runs (a drop would read as a counter reset in rate()/increase()).
--
-- Statement triggers with transition tables keep ipai_meta.connector_run_totals and
-- ipai_meta.agent_run_totals equal to the ledger's finished runs: an insert of finished runs adds
-- them; an update subtracts the old version of every finished row and adds the new one (a run
-- finishing is an update from 'running'; a correction of a finished row is applied exactly).
-- Deletes are deliberately not subtracted: what has finished stays counted. Same idea as
-- ipai_meta.agent_usage_track() (per-agent day totals).
-- The bucket boundaries are fixed here and in lib/observability/metrics.ts
-- (CONNECTOR_DURATION_BUCKETS, AGENT_LATENCY_BUCKETS); each row stores them, and the renderer
-- reads only rows with its own boundaries.

create table ipai_meta.connector_run_totals (
    connector_id uuid not null,
    status text not null,
    runs bigint not null default 0,
    rows_read bigint not null default 0,
    rows_written bigint not null default 0,
    duration_count bigint not null default 0,
    duration_sum numeric not null default 0,
    duration_le double precision[] not null,
    duration_buckets bigint[] not null,
    last_ended_at timestamptz,
    primary key (connector_id, status)
);

create table ipai_meta.agent_run_totals (
    agent_id uuid not null,
    status text not null,
    runs bigint not null default 0,
    tokens bigint not null default 0,
    cost_usd numeric not null default 0,
    latency_count bigint not null default 0,
    latency_sum numeric not null default 0,
    latency_le double precision[] not null,
    latency_buckets bigint[] not null,
    primary key (agent_id, status)
);

alter table ipai_meta.connector_run_totals enable row level security;
alter table ipai_meta.agent_run_totals enable row level security;
grant select on ipai_meta.connector_run_totals, ipai_meta.agent_run_totals to ipai_ingest, ipai_transform;
create policy ipai_engine_read on ipai_meta.connector_run_totals for select to ipai_ingest, ipai_transform using (true);
create policy ipai_engine_read on ipai_meta.agent_run_totals for select to ipai_ingest, ipai_transform using (true);

create or replace function ipai_meta.add_buckets(a bigint[], b bigint[]) returns bigint[]
  language sql immutable
  set search_path = ''
as $$ select array_agg(x + y order by i) from unnest(a, b) with ordinality as t(x, y, i) $$;

create or replace function ipai_meta.fold_connector_runs() returns trigger
  language plpgsql security definer
  set search_path = ''
as $$
begin
  if tg_op = 'INSERT' then
    insert into ipai_meta.connector_run_totals as a
           (connector_id, status, runs, rows_read, rows_written, duration_count, duration_sum, duration_le, duration_buckets, last_ended_at)
    select o.connector_id, o.status, sum(o.sign), coalesce(sum(o.sign * o.rows_read), 0), coalesce(sum(o.sign * o.rows_written), 0),
           coalesce(sum(o.sign) filter (where o.status in ('success', 'failed', 'abandoned')), 0),
           coalesce(sum(o.sign * extract(epoch from o.ended_at - o.started_at)) filter (where o.status in ('success', 'failed', 'abandoned')), 0),
           array[1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200]::double precision[],
           array[coalesce(sum(o.sign) filter (where o.status in ('success', 'failed', 'abandoned') and o.ended_at - o.started_at <= interval '1 seconds'), 0),
                coalesce(sum(o.sign) filter (where o.status in ('success', 'failed', 'abandoned') and o.ended_at - o.started_at <= interval '5 seconds'), 0),
                coalesce(sum(o.sign) filter (where o.status in ('success', 'failed', 'abandoned') and o.ended_at - o.started_at <= interval '15 seconds'), 0),
                coalesce(sum(o.sign) filter (where o.status in ('success', 'failed', 'abandoned') and o.ended_at - o.started_at <= interval '30 seconds'), 0),
                coalesce(sum(o.sign) filter (where o.status in ('success', 'failed', 'abandoned') and o.ended_at - o.started_at <= interval '60 seconds'), 0),
                coalesce(sum(o.sign) filter (where o.status in ('success', 'failed', 'abandoned') and o.ended_at - o.started_at <= interval '120 seconds'), 0),
                coalesce(sum(o.sign) filter (where o.status in ('success', 'failed', 'abandoned') and o.ended_at - o.started_at <= interval '300 seconds'), 0),
                coalesce(sum(o.sign) filter (where o.status in ('success', 'failed', 'abandoned') and o.ended_at - o.started_at <= interval '600 seconds'), 0),
                coalesce(sum(o.sign) filter (where o.status in ('success', 'failed', 'abandoned') and o.ended_at - o.started_at <= interval '1800 seconds'), 0),
                coalesce(sum(o.sign) filter (where o.status in ('success', 'failed', 'abandoned') and o.ended_at - o.started_at <= interval '3600 seconds'), 0),
                coalesce(sum(o.sign) filter (where o.status in ('success', 'failed', 'abandoned') and o.ended_at - o.started_at <= interval '7200 seconds'), 0)]::bigint[],
           max(o.ended_at) filter (where o.sign > 0)
      from (select r.connector_id, r.status, r.rows_read, r.rows_written, r.started_at, r.ended_at, 1 as sign from new_runs r) o
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
  else
    insert into ipai_meta.connector_run_totals as a
           (connector_id, status, runs, rows_read, rows_written, duration_count, duration_sum, duration_le, duration_buckets, last_ended_at)
    select o.connector_id, o.status, sum(o.sign), coalesce(sum(o.sign * o.rows_read), 0), coalesce(sum(o.sign * o.rows_written), 0),
           coalesce(sum(o.sign) filter (where o.status in ('success', 'failed', 'abandoned')), 0),
           coalesce(sum(o.sign * extract(epoch from o.ended_at - o.started_at)) filter (where o.status in ('success', 'failed', 'abandoned')), 0),
           array[1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200]::double precision[],
           array[coalesce(sum(o.sign) filter (where o.status in ('success', 'failed', 'abandoned') and o.ended_at - o.started_at <= interval '1 seconds'), 0),
                coalesce(sum(o.sign) filter (where o.status in ('success', 'failed', 'abandoned') and o.ended_at - o.started_at <= interval '5 seconds'), 0),
                coalesce(sum(o.sign) filter (where o.status in ('success', 'failed', 'abandoned') and o.ended_at - o.started_at <= interval '15 seconds'), 0),
                coalesce(sum(o.sign) filter (where o.status in ('success', 'failed', 'abandoned') and o.ended_at - o.started_at <= interval '30 seconds'), 0),
                coalesce(sum(o.sign) filter (where o.status in ('success', 'failed', 'abandoned') and o.ended_at - o.started_at <= interval '60 seconds'), 0),
                coalesce(sum(o.sign) filter (where o.status in ('success', 'failed', 'abandoned') and o.ended_at - o.started_at <= interval '120 seconds'), 0),
                coalesce(sum(o.sign) filter (where o.status in ('success', 'failed', 'abandoned') and o.ended_at - o.started_at <= interval '300 seconds'), 0),
                coalesce(sum(o.sign) filter (where o.status in ('success', 'failed', 'abandoned') and o.ended_at - o.started_at <= interval '600 seconds'), 0),
                coalesce(sum(o.sign) filter (where o.status in ('success', 'failed', 'abandoned') and o.ended_at - o.started_at <= interval '1800 seconds'), 0),
                coalesce(sum(o.sign) filter (where o.status in ('success', 'failed', 'abandoned') and o.ended_at - o.started_at <= interval '3600 seconds'), 0),
                coalesce(sum(o.sign) filter (where o.status in ('success', 'failed', 'abandoned') and o.ended_at - o.started_at <= interval '7200 seconds'), 0)]::bigint[],
           max(o.ended_at) filter (where o.sign > 0)
      from (select r.connector_id, r.status, r.rows_read, r.rows_written, r.started_at, r.ended_at, 1 as sign from new_runs r union all select r.connector_id, r.status, r.rows_read, r.rows_written, r.started_at, r.ended_at, -1 from old_runs r) o
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
  end if;
  return null;
end
$$;

create or replace function ipai_meta.fold_agent_runs() returns trigger
  language plpgsql security definer
  set search_path = ''
as $$
begin
  if tg_op = 'INSERT' then
    insert into ipai_meta.agent_run_totals as a
           (agent_id, status, runs, tokens, cost_usd, latency_count, latency_sum, latency_le, latency_buckets)
    select o.agent_id, o.status, sum(o.sign), coalesce(sum(o.sign * o.tokens_used), 0), coalesce(sum(o.sign * o.cost_usd), 0),
           coalesce(sum(o.sign) filter (where o.latency_ms is not null), 0),
           coalesce(sum(o.sign * o.latency_ms / 1000.0), 0),
           array[0.25, 0.5, 1, 2, 5, 10, 30, 60, 120]::double precision[],
           array[coalesce(sum(o.sign) filter (where o.latency_ms <= 250), 0),
                coalesce(sum(o.sign) filter (where o.latency_ms <= 500), 0),
                coalesce(sum(o.sign) filter (where o.latency_ms <= 1000), 0),
                coalesce(sum(o.sign) filter (where o.latency_ms <= 2000), 0),
                coalesce(sum(o.sign) filter (where o.latency_ms <= 5000), 0),
                coalesce(sum(o.sign) filter (where o.latency_ms <= 10000), 0),
                coalesce(sum(o.sign) filter (where o.latency_ms <= 30000), 0),
                coalesce(sum(o.sign) filter (where o.latency_ms <= 60000), 0),
                coalesce(sum(o.sign) filter (where o.latency_ms <= 120000), 0)]::bigint[]
      from (select r.agent_id, r.status, r.tokens_used, r.cost_usd, r.latency_ms, 1 as sign from new_runs r) o
     where o.status <> 'running' and o.agent_id is not null
     group by o.agent_id, o.status
    on conflict (agent_id, status) do update
       set runs = a.runs + excluded.runs,
           tokens = a.tokens + excluded.tokens,
           cost_usd = a.cost_usd + excluded.cost_usd,
           latency_count = a.latency_count + excluded.latency_count,
           latency_sum = a.latency_sum + excluded.latency_sum,
           latency_buckets = ipai_meta.add_buckets(a.latency_buckets, excluded.latency_buckets);
  else
    insert into ipai_meta.agent_run_totals as a
           (agent_id, status, runs, tokens, cost_usd, latency_count, latency_sum, latency_le, latency_buckets)
    select o.agent_id, o.status, sum(o.sign), coalesce(sum(o.sign * o.tokens_used), 0), coalesce(sum(o.sign * o.cost_usd), 0),
           coalesce(sum(o.sign) filter (where o.latency_ms is not null), 0),
           coalesce(sum(o.sign * o.latency_ms / 1000.0), 0),
           array[0.25, 0.5, 1, 2, 5, 10, 30, 60, 120]::double precision[],
           array[coalesce(sum(o.sign) filter (where o.latency_ms <= 250), 0),
                coalesce(sum(o.sign) filter (where o.latency_ms <= 500), 0),
                coalesce(sum(o.sign) filter (where o.latency_ms <= 1000), 0),
                coalesce(sum(o.sign) filter (where o.latency_ms <= 2000), 0),
                coalesce(sum(o.sign) filter (where o.latency_ms <= 5000), 0),
                coalesce(sum(o.sign) filter (where o.latency_ms <= 10000), 0),
                coalesce(sum(o.sign) filter (where o.latency_ms <= 30000), 0),
                coalesce(sum(o.sign) filter (where o.latency_ms <= 60000), 0),
                coalesce(sum(o.sign) filter (where o.latency_ms <= 120000), 0)]::bigint[]
      from (select r.agent_id, r.status, r.tokens_used, r.cost_usd, r.latency_ms, 1 as sign from new_runs r union all select r.agent_id, r.status, r.tokens_used, r.cost_usd, r.latency_ms, -1 from old_runs r) o
     where o.status <> 'running' and o.agent_id is not null
     group by o.agent_id, o.status
    on conflict (agent_id, status) do update
       set runs = a.runs + excluded.runs,
           tokens = a.tokens + excluded.tokens,
           cost_usd = a.cost_usd + excluded.cost_usd,
           latency_count = a.latency_count + excluded.latency_count,
           latency_sum = a.latency_sum + excluded.latency_sum,
           latency_buckets = ipai_meta.add_buckets(a.latency_buckets, excluded.latency_buckets);
  end if;
  return null;
end
$$;

revoke all on function ipai_meta.fold_connector_runs(), ipai_meta.fold_agent_runs() from public, anon, authenticated;

-- Transition tables need one trigger per event.
create trigger ipai_connector_run_totals_insert after insert on public.ipai_connector_run
  referencing new table as new_runs for each statement execute function ipai_meta.fold_connector_runs();
create trigger ipai_connector_run_totals_update after update on public.ipai_connector_run
  referencing old table as old_runs new table as new_runs for each statement execute function ipai_meta.fold_connector_runs();
create trigger ipai_agent_run_totals_insert after insert on public.ipai_agent_run
  referencing new table as new_runs for each statement execute function ipai_meta.fold_agent_runs();
create trigger ipai_agent_run_totals_update after update on public.ipai_agent_run
  referencing old table as old_runs new table as new_runs for each statement execute function ipai_meta.fold_agent_runs();
