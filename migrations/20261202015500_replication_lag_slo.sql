-- Replication lag as an SLO (issue 18): database sources write metadata.replication
-- (lag_seconds, lag_bytes) on every CDC run; the replication_lag SLI type reads it
-- (lib/slo/sli/replicationLag.ts) as the share of a connector's runs whose lag is within the
-- SLO's thresholds, and one seeded SLO applies it to every connector that reports replication.

alter table public.ipai_slo drop constraint if exists ipai_slo_sli_type_check;
alter table public.ipai_slo add constraint ipai_slo_sli_type_check
  check (sli_type in ('connector_success', 'connector_freshness', 'connector_warnings', 'agent_failures', 'agent_latency',
                      'agent_budget', 'data_quality', 'replication_lag'));

-- The thresholds are params, checked on write with the node's rules (lib/slo/params.ts):
-- max_lag is a duration (against lag_seconds), max_lag_bytes a number above 0 (against lag_bytes).
-- Same function as migration 20261202005000 with those two names added.
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

-- The SLI counts the runs carrying the key by end time; the index of 20261202012000 orders them by
-- start (the metrics' latest observation).
create index if not exists idx_connector_run_replication_ended
  on public.ipai_connector_run (connector_id, ended_at)
  where metadata ? 'replication';

-- A template (connector_id null): it applies to every enabled connector whose runs reported
-- replication in the period, i.e. database connectors with CDC tables; other connectors get no
-- status. A row of the same sli_type naming one connector overrides it for that connector.
insert into public.ipai_slo (code_name, description, sli_type, objective, period, params, labels, runbook_url)
values
  ('replication-lag',
   'Per database connector with CDC tables: at least 99% of runs over 7 days report replication lag within 15 minutes and 1 GiB of WAL/binlog (metadata.replication); a run reporting no lag counts as bad. Pages on fast burn, opens a ticket on a slow leak.',
   'replication_lag', 0.99, interval '7 days',
   '{"max_lag": "15 minutes", "max_lag_bytes": 1073741824, "min_events": 10, "min_bad_events": 2, "page_repeat_interval": "4 hours", "ticket_repeat_interval": "1 day"}',
   '{"team": "data-platform"}', null)
on conflict (code_name) do nothing;
