-- Freshness without reading every success of the SLO period.
--
-- The connector_freshness SLI sums, over consecutive successful runs of a connector, the part of
-- each gap beyond the stale threshold (lib/slo/sli/connectorFreshness.ts). Over a week that is
-- every success of every connector. ipai_meta.connector_success_hourly keeps, per connector and
-- UTC hour, the first and last success's end, the longest gap between consecutive successes inside
-- the hour, and those gaps that are longer than 5 minutes; shorter gaps cannot exceed a threshold of 5 minutes or more,
-- so for such thresholds the evaluator reads one row per hour instead of every run, and the runs
-- themselves only at the partial hours at the edges (test/integration/sloFreshnessRollup.test.ts
-- holds the two answers equal over random ledgers).
--
-- A bucket is recomputed from the ledger whenever a statement adds, removes or moves a success in
-- it (inserts, a run finishing, owner maintenance): its row is locked first, so two transactions
-- finishing runs in the same hour see each other's runs and never overwrite one with a stale list.

create table if not exists ipai_meta.connector_success_hourly (
    connector_id uuid not null,
    hour timestamptz not null,                 -- date_trunc('hour', ended_at, 'UTC')
    first_success_at timestamptz not null,
    last_success_at timestamptz not null,
    max_gap interval,                          -- the longest gap between consecutive successes inside the hour
    long_gaps interval[] not null default '{}', -- gaps between consecutive successes inside the hour, > 5 minutes
    primary key (connector_id, hour)
);
alter table ipai_meta.connector_success_hourly enable row level security;
grant select on ipai_meta.connector_success_hourly to ipai_ingest, ipai_transform;
drop policy if exists ipai_read_all on ipai_meta.connector_success_hourly;
create policy ipai_read_all on ipai_meta.connector_success_hourly for select to ipai_ingest, ipai_transform using (true);

-- Recomputes the given buckets from the ledger (the rows are locked first, in key order).
create or replace function ipai_meta.connector_success_hourly_refresh(connector_ids uuid[], hours timestamptz[]) returns void
language plpgsql security definer set search_path = pg_catalog, public as $$
begin
  insert into ipai_meta.connector_success_hourly (connector_id, hour, first_success_at, last_success_at)
  select k.connector_id, k.hour, k.hour, k.hour from unnest(connector_ids, hours) as k(connector_id, hour)
   order by 1, 2
  on conflict (connector_id, hour) do nothing;
  perform 1 from ipai_meta.connector_success_hourly b
    join unnest(connector_ids, hours) as k(connector_id, hour) on b.connector_id = k.connector_id and b.hour = k.hour
   order by b.connector_id, b.hour
     for update of b;
  -- A new statement: under READ COMMITTED it sees what a transaction we waited for committed.
  update ipai_meta.connector_success_hourly b
     set first_success_at = s.first_at, last_success_at = s.last_at, max_gap = s.max_gap, long_gaps = s.long_gaps
    from (select k.connector_id, k.hour, min(r.ended_at) as first_at, max(r.ended_at) as last_at, max(r.gap) as max_gap,
                 coalesce(array_agg(r.gap order by r.ended_at) filter (where r.gap > interval '5 minutes'), '{}') as long_gaps
            from unnest(connector_ids, hours) as k(connector_id, hour)
           cross join lateral (
                 select x.ended_at, x.ended_at - lag(x.ended_at) over (order by x.ended_at) as gap
                   from public.ipai_connector_run x
                  where x.connector_id = k.connector_id and x.status = 'success'
                    and x.ended_at >= k.hour and x.ended_at < k.hour + interval '1 hour') r
           group by k.connector_id, k.hour) s
   where b.connector_id = s.connector_id and b.hour = s.hour;
  delete from ipai_meta.connector_success_hourly b
   using unnest(connector_ids, hours) as k(connector_id, hour)
   where b.connector_id = k.connector_id and b.hour = k.hour
     and not exists (select 1 from public.ipai_connector_run x
                      where x.connector_id = k.connector_id and x.status = 'success'
                        and x.ended_at >= k.hour and x.ended_at < k.hour + interval '1 hour');
end;
$$;
revoke all on function ipai_meta.connector_success_hourly_refresh(uuid[], timestamptz[]) from public;

create or replace function ipai_meta.connector_success_hourly_apply() returns trigger
language plpgsql security definer set search_path = pg_catalog, public as $$
declare
  ids uuid[];
  hours timestamptz[];
begin
  if tg_op = 'INSERT' then
    select array_agg(connector_id order by connector_id, hour), array_agg(hour order by connector_id, hour) into ids, hours
      from (select distinct connector_id, date_trunc('hour', ended_at, 'UTC') as hour from new_rows
             where status = 'success' and ended_at is not null and connector_id is not null) t;
  elsif tg_op = 'DELETE' then
    select array_agg(connector_id order by connector_id, hour), array_agg(hour order by connector_id, hour) into ids, hours
      from (select distinct connector_id, date_trunc('hour', ended_at, 'UTC') as hour from old_rows
             where status = 'success' and ended_at is not null and connector_id is not null) t;
  else
    -- Only rows whose success-ness, connector or end changed move a success.
    select array_agg(connector_id order by connector_id, hour), array_agg(hour order by connector_id, hour) into ids, hours
      from (select distinct connector_id, date_trunc('hour', ended_at, 'UTC') as hour
              from (select o.connector_id, o.ended_at, o.status from old_rows o
                    union all
                    select n.connector_id, n.ended_at, n.status from new_rows n) c
             where status = 'success' and ended_at is not null and connector_id is not null) t;
  end if;
  if ids is not null then
    perform ipai_meta.connector_success_hourly_refresh(ids, hours);
  end if;
  return null;
end;
$$;
revoke all on function ipai_meta.connector_success_hourly_apply() from public;

drop trigger if exists ipai_connector_success_hourly_ins on public.ipai_connector_run;
create trigger ipai_connector_success_hourly_ins after insert on public.ipai_connector_run
  referencing new table as new_rows for each statement execute function ipai_meta.connector_success_hourly_apply();
drop trigger if exists ipai_connector_success_hourly_upd on public.ipai_connector_run;
create trigger ipai_connector_success_hourly_upd after update on public.ipai_connector_run
  referencing old table as old_rows new table as new_rows for each statement execute function ipai_meta.connector_success_hourly_apply();
drop trigger if exists ipai_connector_success_hourly_del on public.ipai_connector_run;
create trigger ipai_connector_success_hourly_del after delete on public.ipai_connector_run
  referencing old table as old_rows for each statement execute function ipai_meta.connector_success_hourly_apply();

create or replace function ipai_meta.connector_success_hourly_truncate() returns trigger
language plpgsql security definer set search_path = pg_catalog, public as $$
begin
  delete from ipai_meta.connector_success_hourly;
  return null;
end;
$$;
revoke all on function ipai_meta.connector_success_hourly_truncate() from public;
drop trigger if exists ipai_connector_success_hourly_trunc on public.ipai_connector_run;
create trigger ipai_connector_success_hourly_trunc after truncate on public.ipai_connector_run
  for each statement execute function ipai_meta.connector_success_hourly_truncate();

-- Backfill: the triggers keep it from here on; the ledger so far is summarised once.
lock table public.ipai_connector_run in share row exclusive mode;
delete from ipai_meta.connector_success_hourly;
insert into ipai_meta.connector_success_hourly (connector_id, hour, first_success_at, last_success_at, max_gap, long_gaps)
select connector_id, hour, min(ended_at), max(ended_at), max(gap), coalesce(array_agg(gap order by ended_at) filter (where gap > interval '5 minutes'), '{}')
  from (select connector_id, date_trunc('hour', ended_at, 'UTC') as hour, ended_at,
               ended_at - lag(ended_at) over (partition by connector_id, date_trunc('hour', ended_at, 'UTC') order by ended_at) as gap
          from public.ipai_connector_run
         where status = 'success' and connector_id is not null) s
 group by connector_id, hour;
