-- SLO rows that cannot break alerting, flapping alerts held in one incident, and a warnings SLI.
--
-- ipai_slo.params is checked on write with the same rules as the SLO Monitor's Set SLO operation
-- (lib/slo/params.ts; test/integration/sloDefinitions.test.ts holds the two to the same answers):
-- known names only, non-negative numbers, positive durations ("5m", "6 hours", 300), severities
-- "page"/"ticket", a well-formed alert_windows catalog. `select ipai_meta.slo_params_problem(params)`
-- names the offending field. Rows written before this migration are not re-checked (NOT VALID): the
-- evaluator skips such a row and opens one ticket naming it and the field.

create or replace function ipai_meta.slo_number(v jsonb) returns numeric
language sql immutable parallel safe set search_path = '' as $$
  select case jsonb_typeof(v)
           when 'number' then (v #>> '{}')::numeric
           when 'string' then case when (v #>> '{}') ~ '^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$'
                                   then btrim(v #>> '{}')::numeric end
         end
$$;

-- Seconds of a duration param, or null when it is not one.
create or replace function ipai_meta.slo_duration(v jsonb) returns numeric
language plpgsql immutable parallel safe set search_path = '' as $$
declare
  t text;
  total numeric := 0;
  m text[];
begin
  if jsonb_typeof(v) = 'number' then
    return case when (v #>> '{}')::numeric > 0 then (v #>> '{}')::numeric end;
  end if;
  if jsonb_typeof(v) is distinct from 'string' then return null; end if;
  t := lower(btrim(v #>> '{}'));
  if t ~ '^\d+(\.\d+)?$' then return case when t::numeric > 0 then t::numeric end; end if;
  if t !~ '^(\d+(\.\d+)?\s*(s|sec|secs|second|seconds|m|min|mins|minute|minutes|h|hr|hrs|hour|hours|d|day|days|w|week|weeks)\s*)+$' then
    return null;
  end if;
  for m in select regexp_matches(t, '(\d+(?:\.\d+)?)\s*([a-z]+)', 'g') loop
    total := total + m[1]::numeric * case
      when m[2] in ('s', 'sec', 'secs', 'second', 'seconds') then 1
      when m[2] in ('m', 'min', 'mins', 'minute', 'minutes') then 60
      when m[2] in ('h', 'hr', 'hrs', 'hour', 'hours') then 3600
      when m[2] in ('d', 'day', 'days') then 86400
      else 604800 end;
  end loop;
  return case when total > 0 then total end;
end;
$$;

-- The first offending field (as "params.<name>"), or null when the params are valid.
create or replace function ipai_meta.slo_params_problem(p jsonb) returns text
language plpgsql immutable parallel safe set search_path = '' as $$
declare
  known constant text[] := array[
    'min_events', 'min_bad_events', 'absent_factor', 'warn_factor', 'page_factor', 'max_failures_per_day', 'threshold_ms',
    'warn_fraction', 'min_run_events', 'warning_runs',
    'grace', 'absent_after', 'max_age', 'page_after', 'repeat_interval', 'page_repeat_interval', 'ticket_repeat_interval', 'run_window',
    'keep_firing_for',
    'absent_severity', 'exhausted_severity', 'run_severity', 'alert_windows', 'agent_code_name'];
  k text;
  v jsonb;
  w jsonb;
  i int := 0;
begin
  if jsonb_typeof(p) is distinct from 'object' then return 'params'; end if;
  select min(key) into k from jsonb_object_keys(p) as key where key <> all (known);
  if k is not null then return 'params.' || k; end if;
  foreach k in array array['min_events', 'min_bad_events', 'absent_factor', 'warn_factor', 'page_factor', 'max_failures_per_day',
                           'threshold_ms', 'warn_fraction', 'min_run_events', 'warning_runs'] loop
    v := p -> k;
    if v is not null and jsonb_typeof(v) <> 'null' and coalesce(ipai_meta.slo_number(v) < 0, true) then return 'params.' || k; end if;
  end loop;
  if jsonb_typeof(p -> 'warn_fraction') not in ('null') and ipai_meta.slo_number(p -> 'warn_fraction') > 1 then return 'params.warn_fraction'; end if;
  if jsonb_typeof(p -> 'max_failures_per_day') not in ('null') and ipai_meta.slo_number(p -> 'max_failures_per_day') <= 0 then
    return 'params.max_failures_per_day';
  end if;
  foreach k in array array['grace', 'absent_after', 'max_age', 'page_after', 'repeat_interval', 'page_repeat_interval',
                           'ticket_repeat_interval', 'run_window', 'keep_firing_for'] loop
    v := p -> k;
    if v is not null and jsonb_typeof(v) <> 'null' and v <> '""'::jsonb and ipai_meta.slo_duration(v) is null then return 'params.' || k; end if;
  end loop;
  foreach k in array array['absent_severity', 'exhausted_severity', 'run_severity'] loop
    v := p -> k;
    if v is not null and jsonb_typeof(v) <> 'null' and v not in ('"page"'::jsonb, '"ticket"'::jsonb) then return 'params.' || k; end if;
  end loop;
  if jsonb_typeof(p -> 'agent_code_name') not in ('null', 'string') then return 'params.agent_code_name'; end if;
  v := p -> 'alert_windows';
  if v is not null and jsonb_typeof(v) <> 'null' then
    if jsonb_typeof(v) <> 'array' or jsonb_array_length(v) = 0 then return 'params.alert_windows'; end if;
    for w in select e from jsonb_array_elements(v) as e loop
      if jsonb_typeof(w) <> 'object'
         or w -> 'severity' is null or w -> 'severity' not in ('"page"'::jsonb, '"ticket"'::jsonb)
         or coalesce(not (ipai_meta.slo_number(w -> 'budget_percent') > 0 and ipai_meta.slo_number(w -> 'budget_percent') <= 100), true)
         or ipai_meta.slo_duration(w -> 'long') is null or ipai_meta.slo_duration(w -> 'short') is null
         or ipai_meta.slo_duration(w -> 'short') > ipai_meta.slo_duration(w -> 'long') then
        return 'params.alert_windows';
      end if;
      i := i + 1;
    end loop;
  end if;
  return null;
end;
$$;

grant execute on function ipai_meta.slo_number(jsonb), ipai_meta.slo_duration(jsonb), ipai_meta.slo_params_problem(jsonb)
  to authenticated, service_role, ipai_ingest, ipai_transform, ipai_read;

alter table public.ipai_slo drop constraint if exists ipai_slo_params_valid_check;
alter table public.ipai_slo add constraint ipai_slo_params_valid_check
  check (ipai_meta.slo_params_problem(params) is null) not valid;

-- connector_warnings: successful runs that skipped part of their source (metadata.warnings).
alter table public.ipai_slo drop constraint if exists ipai_slo_sli_type_check;
alter table public.ipai_slo add constraint ipai_slo_sli_type_check
  check (sli_type in ('connector_success', 'connector_freshness', 'connector_warnings', 'agent_failures', 'agent_latency', 'agent_budget'));

-- A flapping notice is one reply in the alert's thread per episode.
alter table public.ipai_alert_notification drop constraint if exists ipai_alert_notification_kind_check;
alter table public.ipai_alert_notification add constraint ipai_alert_notification_kind_check
  check (kind in ('firing', 'repeat', 'resolved', 'flapping'));

-- Hold bookkeeping: when the condition last stopped holding (null while it holds), and how often
-- it came back within the hold.
alter table public.ipai_alert add column if not exists quiet_since timestamptz;
alter table public.ipai_alert add column if not exists flap_count integer not null default 0;

-- Successful runs with warnings, newest first per connector (the warnings SLI reads the last few).
create index if not exists idx_connector_run_slo_success_started
  on public.ipai_connector_run (connector_id, started_at desc) where status = 'success';

insert into public.ipai_slo (code_name, description, sli_type, objective, period, params, labels, runbook_url)
values
  ('connector-warnings',
   'Per connector: a ticket when each of its last 3 successful runs reported warnings (metadata.warnings: repositories, streams or files the source skipped), so partial loads do not pass as healthy.',
   'connector_warnings', 0.99, interval '7 days',
   '{"warning_runs": 3, "ticket_repeat_interval": "1 day"}',
   '{"team": "data-platform"}', null)
on conflict (code_name) do nothing;

-- Finished runs per connector and UTC hour, kept by statement triggers on the run ledger, so the
-- monitor counts a 7-day window from ~170 rows per connector plus the raw runs of the partial hours
-- at its edges instead of every run of the week. Reads and writes go through the triggers'
-- SECURITY DEFINER function; the monitor (ipai_ingest) only reads.
create table if not exists ipai_meta.connector_run_hourly (
    connector_id uuid not null,
    hour timestamptz not null,         -- date_trunc('hour', ended_at, 'UTC')
    finished bigint not null default 0,
    bad bigint not null default 0,     -- failed or abandoned
    primary key (connector_id, hour)
);
alter table ipai_meta.connector_run_hourly enable row level security;
grant select on ipai_meta.connector_run_hourly to ipai_ingest, ipai_transform;
drop policy if exists ipai_read_all on ipai_meta.connector_run_hourly;
create policy ipai_read_all on ipai_meta.connector_run_hourly for select to ipai_ingest, ipai_transform using (true);

create or replace function ipai_meta.connector_run_hourly_apply() returns trigger
language plpgsql security definer set search_path = pg_catalog, public as $$
begin
  -- Buckets are locked in (connector, hour) order, so concurrent statements cannot deadlock here.
  if tg_op in ('UPDATE', 'DELETE') then
    insert into ipai_meta.connector_run_hourly as h (connector_id, hour, finished, bad)
    select connector_id, date_trunc('hour', ended_at, 'UTC'), -count(*), -count(*) filter (where status <> 'success')
      from old_rows
     where status in ('success', 'failed', 'abandoned') and ended_at is not null and connector_id is not null
     group by 1, 2 order by 1, 2
    on conflict (connector_id, hour) do update set finished = h.finished + excluded.finished, bad = h.bad + excluded.bad;
  end if;
  if tg_op in ('INSERT', 'UPDATE') then
    insert into ipai_meta.connector_run_hourly as h (connector_id, hour, finished, bad)
    select connector_id, date_trunc('hour', ended_at, 'UTC'), count(*), count(*) filter (where status <> 'success')
      from new_rows
     where status in ('success', 'failed', 'abandoned') and ended_at is not null and connector_id is not null
     group by 1, 2 order by 1, 2
    on conflict (connector_id, hour) do update set finished = h.finished + excluded.finished, bad = h.bad + excluded.bad;
  end if;
  return null;
end;
$$;
revoke all on function ipai_meta.connector_run_hourly_apply() from public;

drop trigger if exists ipai_connector_run_hourly_ins on public.ipai_connector_run;
create trigger ipai_connector_run_hourly_ins after insert on public.ipai_connector_run
  referencing new table as new_rows for each statement execute function ipai_meta.connector_run_hourly_apply();
drop trigger if exists ipai_connector_run_hourly_upd on public.ipai_connector_run;
create trigger ipai_connector_run_hourly_upd after update on public.ipai_connector_run
  referencing old table as old_rows new table as new_rows for each statement execute function ipai_meta.connector_run_hourly_apply();
drop trigger if exists ipai_connector_run_hourly_del on public.ipai_connector_run;
create trigger ipai_connector_run_hourly_del after delete on public.ipai_connector_run
  referencing old table as old_rows for each statement execute function ipai_meta.connector_run_hourly_apply();

-- Backfill: the triggers count from here on; the ledger so far is counted once.
lock table public.ipai_connector_run in share row exclusive mode;
delete from ipai_meta.connector_run_hourly;
insert into ipai_meta.connector_run_hourly (connector_id, hour, finished, bad)
select connector_id, date_trunc('hour', ended_at, 'UTC'), count(*), count(*) filter (where status <> 'success')
  from public.ipai_connector_run
 where status in ('success', 'failed', 'abandoned') and ended_at is not null and connector_id is not null
 group by 1, 2;

create or replace function ipai_meta.connector_run_hourly_truncate() returns trigger
language plpgsql security definer set search_path = pg_catalog, public as $$
begin
  delete from ipai_meta.connector_run_hourly;
  return null;
end;
$$;
revoke all on function ipai_meta.connector_run_hourly_truncate() from public;
drop trigger if exists ipai_connector_run_hourly_trunc on public.ipai_connector_run;
create trigger ipai_connector_run_hourly_trunc after truncate on public.ipai_connector_run
  for each statement execute function ipai_meta.connector_run_hourly_truncate();
