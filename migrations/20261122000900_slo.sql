-- SLOs and alerting (PRD R5.2, 4.1.6): SLO definitions (ipai_slo), alert state (ipai_alert), silences
-- (ipai_silence), the notification log the Mattermost notifier delivers from, the rollups of the run
-- ledger the monitor reads instead of every run, the indexes that keep evaluation fast over millions
-- of run rows, and the seeded SLOs. Data quality and replication lag SLOs are seeded with their
-- areas (data quality, database sources).

-- Params ----------------------------------------------------------------------------------------
-- ipai_slo.params is checked on write with the same rules as the SLO Monitor's Set SLO operation
-- (lib/slo/params.ts; test/integration/sloDefinitions.test.ts holds the two to the same answers):
-- known names only, non-negative numbers, positive durations ("5m", "6 hours", 300), severities
-- "page"/"ticket", a well-formed alert_windows catalog. `select ipai_meta.slo_params_problem(params)`
-- names the offending field. The constraint is NOT VALID: a stored row is not re-checked when the
-- rules change; the evaluator skips a row that breaks them and opens one ticket naming it and the field.

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
    'warn_fraction', 'min_run_events', 'warning_runs', 'max_lag_bytes',
    'grace', 'absent_after', 'max_age', 'page_after', 'repeat_interval', 'page_repeat_interval', 'ticket_repeat_interval', 'run_window',
    'keep_firing_for', 'max_lag',
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
                           'threshold_ms', 'warn_fraction', 'min_run_events', 'warning_runs', 'max_lag_bytes'] loop
    v := p -> k;
    if v is not null and jsonb_typeof(v) <> 'null' and coalesce(ipai_meta.slo_number(v) < 0, true) then return 'params.' || k; end if;
  end loop;
  if jsonb_typeof(p -> 'warn_fraction') not in ('null') and ipai_meta.slo_number(p -> 'warn_fraction') > 1 then return 'params.warn_fraction'; end if;
  if jsonb_typeof(p -> 'max_failures_per_day') not in ('null') and ipai_meta.slo_number(p -> 'max_failures_per_day') <= 0 then
    return 'params.max_failures_per_day';
  end if;
  if jsonb_typeof(p -> 'max_lag_bytes') not in ('null') and ipai_meta.slo_number(p -> 'max_lag_bytes') <= 0 then return 'params.max_lag_bytes'; end if;
  foreach k in array array['grace', 'absent_after', 'max_age', 'page_after', 'repeat_interval', 'page_repeat_interval',
                           'ticket_repeat_interval', 'run_window', 'keep_firing_for', 'max_lag'] loop
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

-- Tables ----------------------------------------------------------------------------------------
create table public.ipai_slo (
    id uuid primary key default gen_random_uuid(),
    code_name text not null unique,
    description text,
    sli_type text not null,            -- see ipai_slo_sli_type_check
    objective numeric(7, 5) not null,  -- e.g. 0.99000
    period interval not null default interval '7 days',
    connector_id uuid references public.ipai_connector_config(id) on delete cascade,
    params jsonb not null default '{}',
    labels jsonb not null default '{}',
    runbook_url text,
    is_enabled boolean not null default true,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint ipai_slo_sli_type_check
      check (sli_type in ('connector_success', 'connector_freshness', 'connector_warnings', 'agent_failures', 'agent_latency',
                          'agent_budget', 'data_quality', 'replication_lag')),
    constraint ipai_slo_objective_check check (objective > 0 and objective < 1),
    constraint ipai_slo_period_check check (period > interval '0'),
    constraint ipai_slo_params_check check (jsonb_typeof(params) = 'object'),
    constraint ipai_slo_labels_check check (jsonb_typeof(labels) = 'object')
);

create table public.ipai_alert (
    fingerprint text primary key,      -- hash of the identifying labels
    slo_id uuid references public.ipai_slo(id) on delete cascade,
    labels jsonb not null,
    annotations jsonb not null default '{}',
    severity text not null,
    state text not null,
    started_at timestamptz not null,
    resolved_at timestamptz,
    last_evaluated_at timestamptz not null,
    last_notified_at timestamptz,
    notified_state text,               -- the state the last delivered notification announced
    notification_count integer not null default 0,
    thread_ref text,                   -- the Mattermost post id an alert's thread hangs from
    -- An episode is one firing → resolved cycle; notifications are keyed by it, so a re-fire after
    -- a resolve is a new notification while a second evaluator in the same episode changes nothing.
    target_id text,
    silenced_by uuid[],
    inhibited_by text,
    -- Hysteresis (Prometheus' keep_firing_for): a burn-rate alert resolves only after its condition
    -- has been false for its short window, so sparse failures do not flap firing → resolved → firing.
    keep_firing_until timestamptz,
    -- Hold bookkeeping: when the condition last stopped holding (null while it holds), and how
    -- often it came back within the hold.
    quiet_since timestamptz,
    flap_count integer not null default 0,
    constraint ipai_alert_severity_check check (severity in ('page', 'ticket')),
    constraint ipai_alert_state_check check (state in ('firing', 'resolved')),
    constraint ipai_alert_notified_state_check check (notified_state in ('firing', 'resolved')),
    constraint ipai_alert_count_check check (notification_count >= 0),
    constraint ipai_alert_resolved_check check ((state = 'resolved') = (resolved_at is not null))
);
create index idx_alert_slo on public.ipai_alert (slo_id);
create index idx_alert_firing on public.ipai_alert (slo_id) where state = 'firing';

create table public.ipai_silence (
    id uuid primary key default gen_random_uuid(),
    matchers jsonb not null,           -- [{"label": "connector", "op": "=", "value": "odoo-prod"}]
    starts_at timestamptz not null default now(),
    ends_at timestamptz not null,
    created_by text not null,
    comment text not null,
    created_at timestamptz not null default now(),
    -- Silences can be expired early (Unsilence) without rewriting the window they were created with.
    expired_at timestamptz,
    expired_by text,
    constraint ipai_silence_window_check check (ends_at > starts_at),
    constraint ipai_silence_matchers_check check (jsonb_typeof(matchers) = 'array' and jsonb_array_length(matchers) > 0),
    constraint ipai_silence_comment_check check (length(btrim(comment)) > 0)
);
create index idx_silence_active on public.ipai_silence (ends_at);

alter table public.ipai_slo add constraint ipai_slo_params_valid_check
  check (ipai_meta.slo_params_problem(params) is null) not valid;

-- The notification log: every message the monitor decided to send, keyed so that two evaluators
-- deciding the same thing at the same moment insert one row (unique (fingerprint, dedup_key),
-- `on conflict do nothing`), and claimed for delivery with `for update skip locked`, so two
-- notifiers never deliver the same row. A delivery that fails stays `pending` with its error.
create table public.ipai_alert_notification (
    id uuid primary key default gen_random_uuid(),
    fingerprint text not null references public.ipai_alert(fingerprint) on delete cascade,
    dedup_key text not null,           -- firing:<episode> | repeat:<episode>:<n> | resolved:<episode>
    episode text not null,             -- the alert's started_at, as epoch milliseconds
    kind text not null,                -- firing | repeat | resolved | flapping (one reply per episode)
    severity text not null,
    status text not null default 'pending',
    payload jsonb not null,            -- what the message says, frozen when it was decided
    attempts integer not null default 0,
    last_error text,
    last_attempt_at timestamptz,
    post_id text,                      -- Mattermost post id (bot mode), the thread root for resolved
    channel_id text,
    created_at timestamptz not null,
    sent_at timestamptz,
    constraint ipai_alert_notification_key unique (fingerprint, dedup_key),
    constraint ipai_alert_notification_kind_check check (kind in ('firing', 'repeat', 'resolved', 'flapping')),
    constraint ipai_alert_notification_severity_check check (severity in ('page', 'ticket')),
    constraint ipai_alert_notification_status_check
      check (status in ('pending', 'sent', 'superseded')),
    constraint ipai_alert_notification_attempts_check check (attempts >= 0),
    constraint ipai_alert_notification_payload_check check (jsonb_typeof(payload) = 'object'),
    constraint ipai_alert_notification_sent_check check ((status = 'sent') = (sent_at is not null))
);
-- Due notifications, oldest first: the notifier's claim query.
create index idx_alert_notification_due
  on public.ipai_alert_notification (created_at) where status = 'pending';
create index idx_alert_notification_alert on public.ipai_alert_notification (fingerprint, kind, status);

select ipai_meta.secure_relation('public.ipai_alert_notification');
grant select on public.ipai_alert_notification to authenticated;
create policy ipai_staff_read on public.ipai_alert_notification for select to authenticated
  using ((select ipai_meta.jwt_role()) = any (array['admin', 'data_engineer']));
grant select, insert, update, delete on public.ipai_alert_notification to ipai_ingest;
create policy ipai_ingest_all on public.ipai_alert_notification for all to ipai_ingest using (true) with check (true);
grant select on public.ipai_alert_notification to ipai_transform;
create policy ipai_transform_read on public.ipai_alert_notification for select to ipai_transform using (true);

create trigger ipai_slo_touch before update on public.ipai_slo for each row execute function ipai_meta.touch_updated_at();

-- RLS and grants: platform staff read; the ingest role (the SLO monitor) evaluates every SLO and
-- keeps alert state and silences, but cannot create, change, disable or delete an SLO (an
-- agent-budget SLO included): SLO definitions belong to ipai_slo_admin.
do $$
declare
  t text;
begin
  foreach t in array array['ipai_slo', 'ipai_alert', 'ipai_silence'] loop
    perform ipai_meta.secure_relation(format('public.%I', t)::regclass);
    execute format('grant select on public.%I to authenticated', t);
    execute format($p$create policy ipai_staff_read on public.%I for select to authenticated
                      using ((select ipai_meta.jwt_role()) = any (array['admin', 'data_engineer'])) $p$, t);
  end loop;
  execute 'grant select on public.ipai_slo to ipai_ingest';
  execute 'create policy ipai_ingest_read on public.ipai_slo for select to ipai_ingest using (true)';
  foreach t in array array['ipai_alert', 'ipai_silence'] loop
    execute format('grant select, insert, update, delete on public.%I to ipai_ingest', t);
    execute format('create policy ipai_ingest_all on public.%I for all to ipai_ingest using (true) with check (true)', t);
  end loop;
  foreach t in array array['ipai_slo', 'ipai_alert'] loop
    execute format('grant select on public.%I to ipai_transform', t);
    execute format('create policy ipai_transform_read on public.%I for select to ipai_transform using (true)', t);
  end loop;
end
$$;

grant usage on schema ipai_meta to ipai_slo_admin;
grant select, insert, update, delete on public.ipai_slo to ipai_slo_admin;
-- Set SLO reads connectors (by type and name) and records what it changed.
grant select on public.ipai_connector_config to ipai_slo_admin;
grant select on public.ipai_audit_log to ipai_slo_admin;
create policy ipai_slo_admin_all on public.ipai_slo for all to ipai_slo_admin using (true) with check (true);
create policy ipai_slo_admin_read on public.ipai_connector_config for select to ipai_slo_admin using (true);
create policy ipai_slo_admin_append on public.ipai_audit_log for insert to ipai_slo_admin with check (true);
create policy ipai_slo_admin_read on public.ipai_audit_log for select to ipai_slo_admin using (event_type = 'alert');

-- Indexes for evaluation ------------------------------------------------------------------------
-- Burn rates count finished runs per connector over windows ending now: an index-only range scan
-- over (ended_at) that carries the connector and the outcome.
create index idx_connector_run_slo_ended
  on public.ipai_connector_run (ended_at) include (connector_id, status)
  where status in ('success', 'failed', 'abandoned');
-- Freshness: the successes of one connector by time (last success, stale time over the period).
create index idx_connector_run_slo_success
  on public.ipai_connector_run (connector_id, ended_at) where status = 'success';
-- The failing connectors' last error and its n8n execution, for the message.
create index idx_connector_run_slo_failed
  on public.ipai_connector_run (connector_id, ended_at) where status in ('failed', 'abandoned');
create index idx_agent_run_slo_ended
  on public.ipai_agent_run (ended_at) include (agent_id, status, latency_ms)
  where status in ('success', 'failed');
-- Budget events: a run stopped or failed by a budget carries metadata.over_budget (run_cost,
-- run_latency, daily_cost, daily_latency) with the limit and the amount in budget_limits /
-- budget_used; the agent_budget SLI reads them. Refusals for permissions carry no over_budget.
create index idx_agent_run_slo_budget
  on public.ipai_agent_run (agent_id, ended_at) where metadata ? 'over_budget';

-- Successful runs with warnings, newest first per connector (the warnings SLI reads the last few).
create index idx_connector_run_slo_success_started
  on public.ipai_connector_run (connector_id, started_at desc) where status = 'success';

-- Rollups of the run ledger ------------------------------------------------------------------------
-- Finished runs per connector and UTC hour, kept by statement triggers on the run ledger, so the
-- monitor counts a 7-day window from ~170 rows per connector plus the raw runs of the partial hours
-- at its edges instead of every run of the week. Reads and writes go through the triggers'
-- SECURITY DEFINER function; the monitor (ipai_ingest) only reads.
create table ipai_meta.connector_run_hourly (
    connector_id uuid not null,
    hour timestamptz not null,         -- date_trunc('hour', ended_at, 'UTC')
    finished bigint not null default 0,
    bad bigint not null default 0,     -- failed or abandoned
    primary key (connector_id, hour)
);
alter table ipai_meta.connector_run_hourly enable row level security;
grant select on ipai_meta.connector_run_hourly to ipai_ingest, ipai_transform;
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

create trigger ipai_connector_run_hourly_ins after insert on public.ipai_connector_run
  referencing new table as new_rows for each statement execute function ipai_meta.connector_run_hourly_apply();
create trigger ipai_connector_run_hourly_upd after update on public.ipai_connector_run
  referencing old table as old_rows new table as new_rows for each statement execute function ipai_meta.connector_run_hourly_apply();
create trigger ipai_connector_run_hourly_del after delete on public.ipai_connector_run
  referencing old table as old_rows for each statement execute function ipai_meta.connector_run_hourly_apply();

create or replace function ipai_meta.connector_run_hourly_truncate() returns trigger
language plpgsql security definer set search_path = pg_catalog, public as $$
begin
  delete from ipai_meta.connector_run_hourly;
  return null;
end;
$$;
revoke all on function ipai_meta.connector_run_hourly_truncate() from public;
create trigger ipai_connector_run_hourly_trunc after truncate on public.ipai_connector_run
  for each statement execute function ipai_meta.connector_run_hourly_truncate();

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

create table ipai_meta.connector_success_hourly (
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

create trigger ipai_connector_success_hourly_ins after insert on public.ipai_connector_run
  referencing new table as new_rows for each statement execute function ipai_meta.connector_success_hourly_apply();
create trigger ipai_connector_success_hourly_upd after update on public.ipai_connector_run
  referencing old table as old_rows new table as new_rows for each statement execute function ipai_meta.connector_success_hourly_apply();
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
create trigger ipai_connector_success_hourly_trunc after truncate on public.ipai_connector_run
  for each statement execute function ipai_meta.connector_success_hourly_truncate();

-- Seeded SLOs (PRD R5.2 and success metrics) --------------------------------------------------
-- connector_id null makes an SLO a template: it applies to every enabled connector, each one
-- evaluated (and alerted) on its own; a row for one connector with the same sli_type overrides the
-- template for that connector. Agent SLOs apply to every active agent the same way
-- (params.agent_code_name narrows one to one agent). Users change targets with SQL or the node.
insert into public.ipai_slo (code_name, description, sli_type, objective, period, params, labels, runbook_url)
values
  ('connector-run-success',
   'Per connector: at least 99% of finished runs succeed over 7 days (PRD R5.2). Pages on fast burn, opens a ticket on a slow leak; "absent" when a scheduled connector stops starting runs.',
   'connector_success', 0.99, interval '7 days',
   '{"min_events": 10, "min_bad_events": 2, "page_repeat_interval": "4 hours", "ticket_repeat_interval": "1 day", "absent_factor": 2, "absent_severity": "page", "grace": "10 minutes"}',
   '{"team": "data-platform"}', null),
  ('connector-freshness',
   'Per scheduled connector: the last successful run is never older than twice its schedule interval (ticket) or four times (page), 99% of the time over 7 days.',
   'connector_freshness', 0.99, interval '7 days',
   '{"warn_factor": 2, "page_factor": 4, "grace": "10 minutes", "page_repeat_interval": "4 hours", "ticket_repeat_interval": "1 day"}',
   '{"team": "data-platform"}', null),
  ('agent-failures-per-day',
   'Per agent: at most 20 failed agent calls per day (PRD R5.2); the budget over 7 days is 140 failures.',
   'agent_failures', 0.99, interval '7 days',
   '{"max_failures_per_day": 20, "min_events": 10, "min_bad_events": 2, "page_repeat_interval": "4 hours", "ticket_repeat_interval": "1 day"}',
   '{"team": "ai-platform"}', null),
  ('agent-p95-latency',
   'Per agent: p95 response latency under 5 s (PRD success metrics), i.e. at least 95% of agent calls finish within 5,000 ms over 7 days.',
   'agent_latency', 0.95, interval '7 days',
   '{"threshold_ms": 5000, "min_events": 10, "min_bad_events": 2, "page_repeat_interval": "4 hours", "ticket_repeat_interval": "1 day"}',
   '{"team": "ai-platform"}', null);

insert into public.ipai_slo (code_name, description, sli_type, objective, period, params, labels, runbook_url)
values
  ('agent-budget',
   'Per agent with a budget: pages when a daily budget (cost or latency) is spent and calls are refused, opens a ticket when 80% of a daily budget is spent or when calls keep breaking a per-run budget (3 in an hour); at least 99% of calls are not stopped by a budget over 7 days.',
   'agent_budget', 0.99, interval '7 days',
   '{"warn_fraction": 0.8, "exhausted_severity": "page", "run_window": "1 hour", "min_run_events": 3, "run_severity": "ticket", "page_repeat_interval": "4 hours", "ticket_repeat_interval": "1 day"}',
   '{"team": "ai-platform"}', null);

insert into public.ipai_slo (code_name, description, sli_type, objective, period, params, labels, runbook_url)
values
  ('connector-warnings',
   'Per connector: a ticket when each of its last 3 successful runs reported warnings (metadata.warnings: repositories, streams or files the source skipped), so partial loads do not pass as healthy.',
   'connector_warnings', 0.99, interval '7 days',
   '{"warning_runs": 3, "ticket_repeat_interval": "1 day"}',
   '{"team": "data-platform"}', null);
