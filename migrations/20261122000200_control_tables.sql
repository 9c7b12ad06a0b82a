-- Control tables. The PRD's tables keep exactly its names and columns (R2.4, R3.4, R4.4, R5.4);
-- constraints and indexes are added, never columns. What the engine needs beyond them (stream
-- state, the per-connector lease, SLOs, alerts, silences, semantic models) follows the same style.
-- All live in `public` (where the PRD's unqualified names land on Supabase) with RLS on:
--   ipai_ingest       writes the connector tables and appends to the audit log
--   authenticated     reads with app_metadata.ipai_role admin or data_engineer; nothing else
--   anon              nothing

-- R2.4 ---------------------------------------------------------------------------------------
create table if not exists public.ipai_connector_config (
    id uuid primary key default gen_random_uuid(),
    connector_type text not null,  -- odoo, github, file, db, etc.
    name text not null,
    config jsonb not null,         -- type-specific configuration, never secrets
    vault_secret_refs text[],      -- references to Vault secrets
    schedule text,                 -- cron expression
    is_enabled boolean default true,
    created_at timestamptz default now(),
    updated_at timestamptz default now(),
    constraint ipai_connector_config_type_name_key unique (connector_type, name),
    constraint ipai_connector_config_type_check check (connector_type ~ '^[a-z][a-z0-9_]*$'),
    constraint ipai_connector_config_name_check check (length(btrim(name)) > 0),
    constraint ipai_connector_config_config_check check (jsonb_typeof(config) = 'object')
);

create table if not exists public.ipai_connector_run (
    id uuid primary key default gen_random_uuid(),
    connector_id uuid references public.ipai_connector_config(id),
    started_at timestamptz not null,
    ended_at timestamptz,
    status text not null,          -- running, success, failed, skipped, abandoned
    rows_read integer,
    rows_written integer,
    error_message text,
    metadata jsonb,
    constraint ipai_connector_run_status_check
      check (status in ('running', 'success', 'failed', 'skipped', 'abandoned')),
    constraint ipai_connector_run_rows_read_check check (rows_read >= 0),
    constraint ipai_connector_run_rows_written_check check (rows_written >= 0),
    constraint ipai_connector_run_ended_check check (ended_at is null or ended_at >= started_at),
    constraint ipai_connector_run_finished_check check ((status = 'running') = (ended_at is null))
);
-- Runs by connector and start time: run history, success rate and freshness per connector.
create index if not exists idx_connector_run_connector_started
  on public.ipai_connector_run (connector_id, started_at desc);
-- The SLO monitor scans recent runs of every connector by time.
create index if not exists idx_connector_run_started on public.ipai_connector_run (started_at);
create index if not exists idx_connector_run_running
  on public.ipai_connector_run (connector_id) where status = 'running';

-- Cursor and other state per connector and stream, committed in the same transaction as the data
-- it describes (the loader's checkpoint), so a cursor is never ahead of its data.
create table if not exists public.ipai_connector_state (
    connector_id uuid not null references public.ipai_connector_config(id) on delete cascade,
    stream text not null,
    cursor jsonb,
    state jsonb not null default '{}',
    run_id uuid references public.ipai_connector_run(id),
    updated_at timestamptz not null default now(),
    primary key (connector_id, stream),
    constraint ipai_connector_state_stream_check check (length(stream) > 0)
);

-- One run per connector at a time, across n8n workers and database connections: a lease row with
-- a heartbeat (a session advisory lock does not survive poolers or node-to-node connection changes).
create table if not exists public.ipai_connector_lease (
    connector_id uuid primary key references public.ipai_connector_config(id) on delete cascade,
    run_id uuid not null references public.ipai_connector_run(id),
    holder text not null,          -- who holds it: host/pid/execution, for the on-call person
    acquired_at timestamptz not null default now(),
    heartbeat_at timestamptz not null default now(),
    timeout_seconds integer not null default 600,
    constraint ipai_connector_lease_timeout_check check (timeout_seconds > 0)
);

-- R3.4 ---------------------------------------------------------------------------------------
create table if not exists public.ipai_app_registry (
    id uuid primary key default gen_random_uuid(),
    slug text not null unique,
    name text not null,
    description text,
    github_repo text,
    deployment_target text not null,  -- vercel, do, self-hosted
    deployment_url text,
    required_roles text[],
    config jsonb default '{}',
    is_active boolean default true,
    created_at timestamptz default now(),
    updated_at timestamptz default now(),
    constraint ipai_app_registry_target_check check (deployment_target in ('vercel', 'do', 'self-hosted'))
);

-- R4.4 ---------------------------------------------------------------------------------------
create table if not exists public.ipai_agent (
    id uuid primary key default gen_random_uuid(),
    code_name text not null unique,
    display_name text not null,
    description text,
    agent_type text not null,      -- pulser, claude, gemini, custom
    allowed_tools text[],
    allowed_schemas text[],
    allowed_operations text[],     -- read, write, transform, schedule
    cost_budget_usd decimal(10, 4),
    latency_budget_ms integer,
    config jsonb default '{}',
    is_active boolean default true,
    created_at timestamptz default now(),
    updated_at timestamptz default now(),
    constraint ipai_agent_type_check check (agent_type in ('pulser', 'claude', 'gemini', 'custom')),
    constraint ipai_agent_operations_check
      check (allowed_operations <@ array['read', 'write', 'transform', 'schedule']),
    constraint ipai_agent_cost_budget_check check (cost_budget_usd >= 0),
    constraint ipai_agent_latency_budget_check check (latency_budget_ms > 0)
);

create table if not exists public.ipai_agent_run (
    id uuid primary key default gen_random_uuid(),
    agent_id uuid references public.ipai_agent(id),
    user_id uuid,                  -- invoking user
    session_id text,
    started_at timestamptz not null,
    ended_at timestamptz,
    status text not null,          -- running, success, failed, refused
    input_summary jsonb,
    output_summary jsonb,
    tokens_used integer,
    cost_usd decimal(10, 6),
    latency_ms integer,
    error_message text,
    metadata jsonb,
    constraint ipai_agent_run_status_check check (status in ('running', 'success', 'failed', 'refused')),
    constraint ipai_agent_run_tokens_check check (tokens_used >= 0),
    constraint ipai_agent_run_cost_check check (cost_usd >= 0),
    constraint ipai_agent_run_latency_check check (latency_ms >= 0)
);
create index if not exists idx_agent_run_agent_started on public.ipai_agent_run (agent_id, started_at desc);
create index if not exists idx_agent_run_started on public.ipai_agent_run (started_at);

-- R5.4 ---------------------------------------------------------------------------------------
create table if not exists public.ipai_audit_log (
    id uuid primary key default gen_random_uuid(),
    event_type text not null,      -- connector_run, agent_run, app_action, schema_change
    entity_type text not null,     -- connector, agent, app, table
    entity_id uuid,
    user_id uuid,
    action text not null,
    details jsonb,
    ip_address inet,
    user_agent text,
    created_at timestamptz default now()
);

create index if not exists idx_audit_event_type on public.ipai_audit_log(event_type);
create index if not exists idx_audit_entity on public.ipai_audit_log(entity_type, entity_id);
create index if not exists idx_audit_created on public.ipai_audit_log(created_at);

-- Append-only, whoever asks: row triggers refuse UPDATE/DELETE, a statement trigger refuses
-- TRUNCATE (row triggers do not fire on TRUNCATE), and no role holds those privileges.
create or replace function ipai_meta.refuse_audit_change() returns trigger
  language plpgsql
  set search_path = ''
as $$
begin
  raise exception 'ipai_audit_log is append-only: % is not allowed', tg_op
    using errcode = 'insufficient_privilege';
end
$$;

drop trigger if exists ipai_audit_log_no_update_delete on public.ipai_audit_log;
create trigger ipai_audit_log_no_update_delete
  before update or delete on public.ipai_audit_log
  for each row execute function ipai_meta.refuse_audit_change();
drop trigger if exists ipai_audit_log_no_truncate on public.ipai_audit_log;
create trigger ipai_audit_log_no_truncate
  before truncate on public.ipai_audit_log
  for each statement execute function ipai_meta.refuse_audit_change();

-- Semantic layer (PRD 4.1.3) -------------------------------------------------------------------
create table if not exists public.ipai_semantic_model (
    id uuid primary key default gen_random_uuid(),
    dataset_name text not null unique,   -- e.g. finance.profit_and_loss
    object_schema text not null,         -- where the object lives, e.g. ipai_gold_erp
    object_name text not null,
    description text,
    grain text not null,                 -- one row per …
    measures jsonb not null default '[]',
    dimensions jsonb not null default '[]',
    rls_policy_refs text[] not null default '{}',
    is_active boolean not null default true,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint ipai_semantic_model_measures_check check (jsonb_typeof(measures) = 'array'),
    constraint ipai_semantic_model_dimensions_check check (jsonb_typeof(dimensions) = 'array'),
    constraint ipai_semantic_model_object_key unique (object_schema, object_name)
);

-- SLOs, alert state and silences (PRD R5.2, 4.1.6) --------------------------------------------
create table if not exists public.ipai_slo (
    id uuid primary key default gen_random_uuid(),
    code_name text not null unique,
    description text,
    sli_type text not null,            -- connector_success, connector_freshness, agent_failures, agent_latency
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
      check (sli_type in ('connector_success', 'connector_freshness', 'agent_failures', 'agent_latency')),
    constraint ipai_slo_objective_check check (objective > 0 and objective < 1),
    constraint ipai_slo_period_check check (period > interval '0'),
    constraint ipai_slo_params_check check (jsonb_typeof(params) = 'object'),
    constraint ipai_slo_labels_check check (jsonb_typeof(labels) = 'object')
);

create table if not exists public.ipai_alert (
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
    constraint ipai_alert_severity_check check (severity in ('page', 'ticket')),
    constraint ipai_alert_state_check check (state in ('firing', 'resolved')),
    constraint ipai_alert_notified_state_check check (notified_state in ('firing', 'resolved')),
    constraint ipai_alert_count_check check (notification_count >= 0),
    constraint ipai_alert_resolved_check check ((state = 'resolved') = (resolved_at is not null))
);
create index if not exists idx_alert_slo on public.ipai_alert (slo_id);

create table if not exists public.ipai_silence (
    id uuid primary key default gen_random_uuid(),
    matchers jsonb not null,           -- [{"label": "connector", "op": "=", "value": "odoo-prod"}]
    starts_at timestamptz not null default now(),
    ends_at timestamptz not null,
    created_by text not null,
    comment text not null,
    created_at timestamptz not null default now(),
    constraint ipai_silence_window_check check (ends_at > starts_at),
    constraint ipai_silence_matchers_check check (jsonb_typeof(matchers) = 'array' and jsonb_array_length(matchers) > 0),
    constraint ipai_silence_comment_check check (length(btrim(comment)) > 0)
);
create index if not exists idx_silence_active on public.ipai_silence (ends_at);

-- Keep updated_at honest on the tables that carry it.
create or replace function ipai_meta.touch_updated_at() returns trigger
  language plpgsql
  set search_path = ''
as $$
begin
  new.updated_at := now();
  return new;
end
$$;

do $$
declare
  t text;
begin
  foreach t in array array['ipai_connector_config', 'ipai_app_registry', 'ipai_agent',
                           'ipai_semantic_model', 'ipai_slo'] loop
    execute format('drop trigger if exists %I on public.%I', t || '_touch', t);
    execute format('create trigger %I before update on public.%I for each row execute function ipai_meta.touch_updated_at()',
                   t || '_touch', t);
  end loop;
end
$$;

-- Security: RLS on every control table, grants by role ----------------------------------------
do $$
declare
  t text;
begin
  foreach t in array array['ipai_connector_config', 'ipai_connector_run', 'ipai_connector_state',
                           'ipai_connector_lease', 'ipai_app_registry', 'ipai_agent', 'ipai_agent_run',
                           'ipai_audit_log', 'ipai_semantic_model', 'ipai_slo', 'ipai_alert', 'ipai_silence'] loop
    perform ipai_meta.secure_relation(format('public.%I', t)::regclass);
    -- Platform staff read the control plane through the API; nobody else does.
    execute format('grant select on public.%I to authenticated', t);
    execute format('drop policy if exists ipai_staff_read on public.%I', t);
    execute format($p$create policy ipai_staff_read on public.%I for select to authenticated
                      using ((select ipai_meta.jwt_role()) = any (array['admin', 'data_engineer'])) $p$, t);
  end loop;

  -- The ingest role runs connectors: ledger, state, lease, SLO evaluation and alerting.
  foreach t in array array['ipai_connector_config', 'ipai_connector_run', 'ipai_connector_state',
                           'ipai_connector_lease', 'ipai_alert', 'ipai_silence', 'ipai_slo'] loop
    execute format('grant select, insert, update, delete on public.%I to ipai_ingest', t);
    execute format('drop policy if exists ipai_ingest_all on public.%I', t);
    execute format('create policy ipai_ingest_all on public.%I for all to ipai_ingest using (true) with check (true)', t);
  end loop;
  -- Readers of the catalog: the transform role and BI logins.
  foreach t in array array['ipai_connector_config', 'ipai_connector_run', 'ipai_semantic_model',
                           'ipai_agent', 'ipai_agent_run', 'ipai_slo', 'ipai_alert'] loop
    execute format('grant select on public.%I to ipai_transform', t);
    execute format('drop policy if exists ipai_transform_read on public.%I', t);
    execute format('create policy ipai_transform_read on public.%I for select to ipai_transform using (true)', t);
  end loop;
end
$$;

-- The audit log: everyone who acts may append; nobody may change or remove (see triggers above).
revoke update, delete, truncate on public.ipai_audit_log from public, anon, authenticated, service_role,
  ipai_ingest, ipai_transform, ipai_read;
grant select, insert on public.ipai_audit_log to ipai_ingest, ipai_transform;
grant select, insert on public.ipai_audit_log to service_role;
drop policy if exists ipai_append on public.ipai_audit_log;
create policy ipai_append on public.ipai_audit_log for insert to ipai_ingest, ipai_transform with check (true);
drop policy if exists ipai_engine_read on public.ipai_audit_log;
create policy ipai_engine_read on public.ipai_audit_log for select to ipai_ingest, ipai_transform using (true);
