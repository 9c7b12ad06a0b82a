-- The core of the lakehouse: roles, layer schemas, the function that secures every relation by
-- its layer, optional extensions, and the control tables in `public` (connectors and their runs,
-- state, lease and dispatch; apps; agents and their runs; the audit log; semantic models).
--
-- Group roles (NOLOGIN; grant them to real logins):
--   ipai_ingest     lands data: creates and writes bronze tables, writes the run ledger and state.
--   ipai_transform  builds silver/gold/platinum from bronze and refreshes them; owns those objects.
--   ipai_read       read-only BI / app access to gold and platinum.
--   ipai_guard      the Agent Guard node: the agent registry, agent runs and agent logins.
--   ipai_slo_admin  owns SLO definitions (the ingest login evaluates them but cannot change them).
-- n8n connects as a login that is a member of ipai_ingest (and of ipai_transform for the Refresh
-- operation), never as a superuser. Supabase's own roles (anon, authenticated, service_role) see
-- only what RLS policies allow; claims come from the JWT's app_metadata, which users cannot edit:
--   app_metadata.ipai_role     admin | data_engineer | analyst
--   app_metadata.company_ids   companies an analyst may see in tables that have a company_id column
--
-- Control tables: the PRD's tables keep exactly its names and columns (R2.4, R3.4, R4.4, R5.4);
-- constraints and indexes are added, never columns. What the engine needs beyond them (stream
-- state, the per-connector lease, dispatch, semantic models) follows the same style. All live in
-- `public` (where the PRD's unqualified names land on Supabase) with RLS on:
--   ipai_ingest       writes the connector tables and appends to the audit log
--   authenticated     reads with app_metadata.ipai_role admin or data_engineer; nothing else
--   anon              nothing
-- The run ledger is append-and-finish: no role but the owner deletes runs, and a run that has
-- ended (success, failed, skipped, abandoned) cannot be rewritten by anyone.

-- Roles -----------------------------------------------------------------------------------------
do $$
declare
  role_name text;
begin
  foreach role_name in array array['ipai_ingest', 'ipai_transform', 'ipai_read'] loop
    if not exists (select 1 from pg_roles where rolname = role_name) then
      begin
        execute format('create role %I nologin', role_name);
      exception when duplicate_object then
        null; -- roles are cluster-wide; another database on this cluster created it meanwhile
      end;
    end if;
    -- The migrating role must be a member to hand ownership of layer objects to the group roles
    -- (superusers always are; Supabase's postgres role is not by default on PostgreSQL 15).
    if not pg_has_role(current_user, role_name, 'MEMBER') then
      execute format('grant %I to %I', role_name, current_user);
    end if;
  end loop;
end
$$;

-- The guard's own group role (NOLOGIN; grant it to the n8n login that runs the Agent Guard node).
-- Kept apart from ipai_ingest on purpose: connector logins must not change the agent registry or
-- read agent credentials (an agent login can read gold, which ipai_ingest cannot).
do $$
begin
  if not exists (select 1 from pg_roles where rolname = 'ipai_guard') then
    begin
      create role ipai_guard nologin;
    exception when duplicate_object then
      null; -- roles are cluster-wide; another database on this cluster created it meanwhile
    end;
  end if;
end
$$;

-- SLO definitions belong to ipai_slo_admin (see the SLO tables).
do $$
begin
  if not exists (select 1 from pg_roles where rolname = 'ipai_slo_admin') then
    create role ipai_slo_admin nologin;
  end if;
  -- The migration runner keeps the rights it had (it seeds SLOs).
  if not exists (select 1 from pg_roles where rolname = current_user and rolsuper) then
    execute format('grant ipai_slo_admin to %I', current_user);
  end if;
end
$$;

-- Layer schemas and policy helpers ----------------------------------------------------------------
create schema if not exists ipai_bronze_core;
create schema if not exists ipai_silver_core;
create schema if not exists ipai_gold_core;
create schema if not exists ipai_platinum_core;
create schema if not exists ipai_bronze_erp;
create schema if not exists ipai_silver_erp;
create schema if not exists ipai_gold_erp;
create schema if not exists ipai_bronze_devops;
create schema if not exists ipai_gold_devops;
create schema if not exists ipai_bronze_retail;
create schema if not exists ipai_gold_retail;
create schema if not exists ipai_bronze_creative;
create schema if not exists ipai_gold_creative;
-- Not exposed through the API: helper functions used by policies and the engine.
create schema if not exists ipai_meta;

revoke all on schema ipai_meta from public;
grant usage on schema ipai_meta to authenticated, service_role, ipai_ingest, ipai_transform, ipai_read;

do $$
declare
  s text;
begin
  for s in select nspname from pg_namespace where nspname ~ '^ipai_(bronze|silver|gold|platinum)_' loop
    execute format('revoke all on schema %I from public, anon', s);
    execute format('grant usage on schema %I to authenticated, service_role, ipai_transform', s);
    if s like 'ipai_bronze_%' then
      execute format('grant usage, create on schema %I to ipai_ingest', s);
    else
      execute format('grant create on schema %I to ipai_transform', s);
    end if;
    if s ~ '^ipai_(gold|platinum)_' then
      execute format('grant usage on schema %I to ipai_read', s);
    end if;
  end loop;
end
$$;

-- The layer a schema belongs to: bronze | silver | gold | platinum | control (public) | null.
create or replace function ipai_meta.layer_of(schema_name text) returns text
  language sql immutable
  set search_path = ''
as $$
  select case
    when schema_name = 'public' then 'control'
    else substring(schema_name from '^ipai_(bronze|silver|gold|platinum)_')
  end
$$;

-- The caller's product role from the verified JWT (NULL for anon or a JWT without one).
create or replace function ipai_meta.jwt_role() returns text
  language sql stable
  set search_path = ''
as $$
  select auth.jwt() -> 'app_metadata' ->> 'ipai_role'
$$;

-- The companies the caller may see, from the verified JWT (empty when none are granted).
create or replace function ipai_meta.jwt_company_ids() returns text[]
  language sql stable
  set search_path = ''
as $$
  select coalesce(array(select jsonb_array_elements_text(auth.jwt() -> 'app_metadata' -> 'company_ids')), '{}')
$$;

grant execute on function ipai_meta.layer_of(text), ipai_meta.jwt_role(), ipai_meta.jwt_company_ids()
  to authenticated, service_role, ipai_ingest, ipai_transform, ipai_read;

-- Secures one relation of the lakehouse according to its layer. Every table, view and
-- materialized view the migrations or the engine create goes through here, so the rules live in
-- one place and the security lint can hold every object to them.
--   tables:              RLS on; anon gets nothing; authenticated only through policies;
--                        service_role everything (it bypasses RLS by design).
--   views:               security_invoker, so the caller's own RLS applies underneath.
--   materialized views:  cannot carry RLS, so never granted to anon/authenticated; apps read them
--                        through a security_invoker view or an RPC.
-- Owners: bronze objects belong to ipai_ingest (any ingest login can evolve them), silver/gold/
-- platinum objects to ipai_transform (refreshing a materialized view requires ownership).
create or replace function ipai_meta.secure_relation(rel regclass) returns void
  language plpgsql
  set search_path = ''
as $$
declare
  kind "char";
  schema_name text;
  layer text;
  has_company boolean;
  engineer_roles constant text := $q$(select ipai_meta.jwt_role()) = any (array['admin', 'data_engineer'])$q$;
  reader_roles constant text := $q$(select ipai_meta.jwt_role()) = any (array['admin', 'data_engineer', 'analyst'])$q$;
  company_scope constant text := $q$((select ipai_meta.jwt_role()) = 'admin' or (select ipai_meta.jwt_company_ids()) @> array[company_id::text])$q$;
begin
  select c.relkind, n.nspname into kind, schema_name
    from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
   where c.oid = rel;
  layer := ipai_meta.layer_of(schema_name);
  if layer is null then
    raise exception 'secure_relation: % is not in a lakehouse schema', rel;
  end if;

  execute format('revoke all on %s from public, anon, authenticated', rel);
  execute format('grant all on %s to service_role', rel);

  if layer = 'bronze' then
    execute format('alter %s %s owner to ipai_ingest',
      case kind when 'v' then 'view' when 'm' then 'materialized view' else 'table' end, rel);
  elsif layer in ('silver', 'gold', 'platinum') then
    execute format('alter %s %s owner to ipai_transform',
      case kind when 'v' then 'view' when 'm' then 'materialized view' else 'table' end, rel);
  end if;

  if layer = 'bronze' then
    execute format('grant select on %s to ipai_transform', rel);
  elsif layer in ('gold', 'platinum') then
    execute format('grant select on %s to ipai_read', rel);
  end if;

  if kind = 'm' then
    return;
  end if;
  if kind = 'v' then
    execute format('alter view %s set (security_invoker = true)', rel);
    if layer <> 'control' then
      execute format('grant select on %s to authenticated', rel);
    end if;
    return;
  end if;

  -- Tables
  execute format('alter table %s enable row level security', rel);
  if layer = 'control' then
    return; -- control tables declare their own policies next to their definition
  end if;

  execute format('drop policy if exists ipai_transform_read on %s', rel);
  execute format('drop policy if exists ipai_read_all on %s', rel);
  execute format('drop policy if exists ipai_authenticated_read on %s', rel);
  execute format('grant select on %s to authenticated', rel);

  if layer = 'bronze' then
    execute format('create policy ipai_transform_read on %s for select to ipai_transform using (true)', rel);
    execute format('create policy ipai_authenticated_read on %s for select to authenticated using (%s)', rel, engineer_roles);
  elsif layer = 'silver' then
    execute format('create policy ipai_authenticated_read on %s for select to authenticated using (%s)', rel, engineer_roles);
  else
    select exists (
      select 1 from pg_catalog.pg_attribute
       where attrelid = rel and attname = 'company_id' and not attisdropped
    ) into has_company;
    execute format('create policy ipai_read_all on %s for select to ipai_read using (true)', rel);
    execute format('create policy ipai_authenticated_read on %s for select to authenticated using (%s%s)',
      rel, reader_roles, case when has_company then ' and ' || company_scope else '' end);
  end if;
end
$$;

revoke all on function ipai_meta.secure_relation(regclass) from public;
grant execute on function ipai_meta.secure_relation(regclass) to ipai_ingest, ipai_transform;

-- Control tables --------------------------------------------------------------------------------

-- R2.4 ---------------------------------------------------------------------------------------
create table public.ipai_connector_config (
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

create table public.ipai_connector_run (
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
create index idx_connector_run_connector_started
  on public.ipai_connector_run (connector_id, started_at desc);
-- The SLO monitor scans recent runs of every connector by time.
create index idx_connector_run_started on public.ipai_connector_run (started_at);
create index idx_connector_run_running
  on public.ipai_connector_run (connector_id) where status = 'running';

-- Cursor and other state per connector and stream, committed in the same transaction as the data
-- it describes (the loader's checkpoint), so a cursor is never ahead of its data.
create table public.ipai_connector_state (
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
create table public.ipai_connector_lease (
    connector_id uuid primary key references public.ipai_connector_config(id) on delete cascade,
    run_id uuid not null references public.ipai_connector_run(id),
    holder text not null,          -- who holds it: host/pid/execution, for the on-call person
    acquired_at timestamptz not null default now(),
    heartbeat_at timestamptz not null default now(),
    timeout_seconds integer not null default 600,
    constraint ipai_connector_lease_timeout_check check (timeout_seconds > 0)
);

-- R3.4 ---------------------------------------------------------------------------------------
create table public.ipai_app_registry (
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
create table public.ipai_agent (
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

create table public.ipai_agent_run (
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
create index idx_agent_run_agent_started on public.ipai_agent_run (agent_id, started_at desc);
create index idx_agent_run_started on public.ipai_agent_run (started_at);

-- R5.4 ---------------------------------------------------------------------------------------
create table public.ipai_audit_log (
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

create index idx_audit_event_type on public.ipai_audit_log(event_type);
create index idx_audit_entity on public.ipai_audit_log(entity_type, entity_id);
create index idx_audit_created on public.ipai_audit_log(created_at);

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

create trigger ipai_audit_log_no_update_delete
  before update or delete on public.ipai_audit_log
  for each row execute function ipai_meta.refuse_audit_change();
create trigger ipai_audit_log_no_truncate
  before truncate on public.ipai_audit_log
  for each statement execute function ipai_meta.refuse_audit_change();

-- Semantic layer (PRD 4.1.3) -------------------------------------------------------------------
create table public.ipai_semantic_model (
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
                           'ipai_semantic_model'] loop
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
                           'ipai_audit_log', 'ipai_semantic_model'] loop
    perform ipai_meta.secure_relation(format('public.%I', t)::regclass);
    -- Platform staff read the control plane through the API; nobody else does.
    execute format('grant select on public.%I to authenticated', t);
    execute format($p$create policy ipai_staff_read on public.%I for select to authenticated
                      using ((select ipai_meta.jwt_role()) = any (array['admin', 'data_engineer'])) $p$, t);
  end loop;

  -- The ingest role runs connectors: it registers connectors and writes their runs, state and
  -- lease. Runs are append-and-finish (no role but the owner deletes one), and a connector is
  -- never deleted by ingest (that would cascade to its history and SLOs).
  foreach t in array array['ipai_connector_config', 'ipai_connector_run', 'ipai_connector_state',
                           'ipai_connector_lease'] loop
    execute format('grant select, insert, update%s on public.%I to ipai_ingest',
                   case when t in ('ipai_connector_state', 'ipai_connector_lease') then ', delete' else '' end, t);
    execute format('create policy ipai_ingest_all on public.%I for all to ipai_ingest using (true) with check (true)', t);
  end loop;
  -- Readers of the catalog: the transform role and BI logins.
  foreach t in array array['ipai_connector_config', 'ipai_connector_run', 'ipai_semantic_model',
                           'ipai_agent', 'ipai_agent_run'] loop
    execute format('grant select on public.%I to ipai_transform', t);
    execute format('create policy ipai_transform_read on public.%I for select to ipai_transform using (true)', t);
  end loop;
end
$$;

-- The SLO monitor runs with the n8n ingest login and evaluates the agent SLOs too: it reads the
-- agent registry and agent runs (never writes them).
grant select on public.ipai_agent, public.ipai_agent_run to ipai_ingest;
create policy ipai_ingest_slo_read on public.ipai_agent for select to ipai_ingest using (true);
create policy ipai_ingest_slo_read on public.ipai_agent_run for select to ipai_ingest using (true);

-- Extensions ------------------------------------------------------------------------------------
-- Extensions that Supabase provides and a plain PostgreSQL 15 may lack. Each is enabled only
-- where the server has it, so this file applies cleanly everywhere; code that benefits from one
-- checks ipai_meta.has_extension() at run time instead of assuming it.
--   vector          embeddings in the platinum layer (reconciliation candidates)
--   pg_trgm         reference-similarity scores
--   pg_cron         scheduling inside the database (n8n stays the primary scheduler)
--   supabase_vault  connector secrets referenced by name from ipai_connector_config.vault_secret_refs

create schema if not exists extensions;

do $$
declare
  ext text;
begin
  foreach ext in array array['vector', 'pg_trgm'] loop
    if exists (select 1 from pg_available_extensions where name = ext) then
      execute format('create extension if not exists %I with schema extensions', ext);
    end if;
  end loop;
  -- pg_cron must live in pg_catalog/its own schema and be preloaded; enable only where it is.
  if exists (select 1 from pg_available_extensions where name = 'pg_cron')
     and current_setting('shared_preload_libraries', true) like '%pg_cron%' then
    execute 'create extension if not exists pg_cron';
  end if;
end
$$;

create or replace function ipai_meta.has_extension(ext text) returns boolean
  language sql stable
  set search_path = ''
as $$
  select exists (select 1 from pg_catalog.pg_extension where extname = ext)
$$;
grant execute on function ipai_meta.has_extension(text) to ipai_ingest, ipai_transform, ipai_read, service_role;

-- Resolves a Vault secret named in a connector's vault_secret_refs, for the ingest role only.
-- SECURITY DEFINER with an empty search_path: it runs with the owner's right to read
-- vault.decrypted_secrets, and only for names the connector's config actually references.
-- Without Vault it raises a clear error instead of pretending.
create or replace function ipai_meta.connector_secret(p_connector_id uuid, p_name text) returns text
  language plpgsql stable security definer
  set search_path = ''
as $$
declare
  secret text;
begin
  if not exists (
    select 1 from public.ipai_connector_config c
     where c.id = p_connector_id and p_name = any (c.vault_secret_refs)
  ) then
    raise exception 'secret "%" is not referenced by connector %', p_name, p_connector_id
      using errcode = 'insufficient_privilege';
  end if;
  if to_regclass('vault.decrypted_secrets') is null then
    raise exception 'Supabase Vault is not installed on this server; keep the secret in the n8n credential instead'
      using errcode = 'feature_not_supported';
  end if;
  execute 'select decrypted_secret from vault.decrypted_secrets where name = $1' into secret using p_name;
  if secret is null then
    raise exception 'Vault has no secret named "%"', p_name using errcode = 'no_data_found';
  end if;
  return secret;
end
$$;
revoke all on function ipai_meta.connector_secret(uuid, text) from public;
grant execute on function ipai_meta.connector_secret(uuid, text) to ipai_ingest;

-- The dispatcher (PRD R2.3: "a single scheduler triggers run_connector(connector_id)").
--
-- One row per scheduled connector: the latest schedule tick already handed to a pipeline. A
-- dispatcher claims a tick with one conditional upsert (`… where last_due_at < excluded.last_due_at`),
-- so two dispatchers — two n8n mains, or a retried execution — never start the same tick twice,
-- and a dispatcher that was down for hours starts each connector once, not once per missed tick.
-- A schedule that is not valid cron is recorded once in schedule_error (and reported once), not
-- every minute.
create table public.ipai_connector_dispatch (
    connector_id uuid primary key references public.ipai_connector_config(id) on delete cascade,
    last_due_at timestamptz,
    dispatched_at timestamptz not null default now(),
    dispatched_by text,
    schedule text,
    schedule_error text,
    claim_id uuid,
    claim_deadline timestamptz,
    deliveries integer not null default 0,
    delivered_at timestamptz,
    accepted_at timestamptz,
    accepted_by text,
    accepted_execution_id text,
    problem text,
    problem_row_hash text,
    problem_reported_at timestamptz
);

comment on table public.ipai_connector_dispatch is
  'Dispatcher bookkeeping: the last schedule tick handed to a pipeline per connector (claimed once across dispatchers).';

select ipai_meta.secure_relation('public.ipai_connector_dispatch');
grant select, insert, update, delete on public.ipai_connector_dispatch to ipai_ingest;
create policy ipai_ingest_all on public.ipai_connector_dispatch for all to ipai_ingest using (true) with check (true);
grant select on public.ipai_connector_dispatch to authenticated;
create policy ipai_staff_read on public.ipai_connector_dispatch for select to authenticated
  using ((select ipai_meta.jwt_role()) = any (array['admin', 'data_engineer']));
comment on column public.ipai_connector_dispatch.claim_id is
  'The current claim (one per tick); kept across redeliveries so a pipeline can tell a second delivery from a new tick.';
comment on column public.ipai_connector_dispatch.claim_deadline is
  'A claim without a run of its connector started since dispatched_at is handed out again after this time.';
comment on column public.ipai_connector_dispatch.delivered_at is
  'When n8n''s main queued the delivery (its webhook answered); a queued claim gets the long deadline.';
comment on column public.ipai_connector_dispatch.accepted_by is
  'The host/pid of the n8n worker whose pipeline execution accepted the claim.';

-- The dispatcher looks for overdue claims every tick.
create index idx_connector_dispatch_deadline
  on public.ipai_connector_dispatch (claim_deadline) where claim_id is not null;

-- Connector fleet (n8n queue mode) -------------------------------------------------------------
-- 1. At-least-once dispatch. A claimed tick is a delivery to hand to a pipeline, not a promise
--    that one started: the claim carries an id and a deadline. A claim that has not turned into a
--    run of its connector (any status, `skipped` included) by its deadline is handed out again by
--    the next dispatcher tick; the pipeline's "accept" step records which execution and worker took
--    it, so a second delivery of the same claim is recorded as `skipped`, never run twice.
-- 2. Bad rows reported once: the problem a row has (no pipeline, invalid config or schedule) and
--    a hash of the row it was found on, so the report repeats only when the row changes or after
--    a quiet period.
-- 3. Config validation when a scheduled row is written (lib/lakehouse/connectorConfig.ts holds the
--    same rules; test/integration/connectorConfig.test.ts holds the two to the same answers); the
--    rules per type, ipai_meta.connector_config_problems, are in the database sources file, which
--    adds the db type's.

-- A row the dispatcher will run (scheduled and enabled) must be runnable: refused when written.
-- Rows without a schedule are registered by nodes run by hand with their own parameters; they are
-- checked when a pipeline accepts them ("run now").
create or replace function ipai_meta.connector_config_check()
returns trigger
language plpgsql
set search_path = ''
as $$
declare
  problems text[];
begin
  if nullif(btrim(new.schedule), '') is null or new.is_enabled is false then
    return new;
  end if;
  problems := ipai_meta.connector_config_problems(new.connector_type, new.config);
  if cardinality(problems) > 0 then
    raise exception 'Connector %/% cannot be scheduled: %', new.connector_type, new.name, array_to_string(problems, '; ')
      using errcode = '23514',
            hint = 'Complete the config for its type (see the pipeline''s sticky note), or leave schedule empty while you prepare it.';
  end if;
  return new;
end
$$;

create trigger ipai_connector_config_check
  before insert or update of connector_type, config, schedule, is_enabled on public.ipai_connector_config
  for each row execute function ipai_meta.connector_config_check();

-- The audit log ------------------------------------------------------------------------------
-- Everyone who acts may append; nobody may change or remove a row (see the triggers above). The
-- id and time are always the server's: writers insert only the descriptive columns (a backdated
-- created_at or a chosen id is refused outright), and a trigger sets id and created_at for
-- everyone, the owner included.
revoke insert, update, delete, truncate on public.ipai_audit_log from service_role;
grant select on public.ipai_audit_log to ipai_ingest, ipai_transform;
create policy ipai_append on public.ipai_audit_log for insert to ipai_ingest, ipai_transform with check (true);
create policy ipai_engine_read on public.ipai_audit_log for select to ipai_ingest, ipai_transform using (true);
grant insert (event_type, entity_type, entity_id, user_id, action, details) on public.ipai_audit_log to ipai_slo_admin;
grant insert (event_type, entity_type, entity_id, user_id, action, details, ip_address, user_agent)
  on public.ipai_audit_log to ipai_ingest, ipai_transform, ipai_guard, service_role;

create or replace function ipai_meta.audit_server_fields() returns trigger
  language plpgsql
  set search_path = ''
as $$
begin
  new.id := gen_random_uuid();
  new.created_at := now();
  return new;
end
$$;
revoke all on function ipai_meta.audit_server_fields() from public, anon, authenticated;
create trigger ipai_audit_log_server_fields
  before insert on public.ipai_audit_log
  for each row execute function ipai_meta.audit_server_fields();

-- The run ledger ----------------------------------------------------------------------------------
-- A finished run is history: its status, times, counts and message stay as they were recorded.
create or replace function ipai_meta.refuse_ended_run_change() returns trigger
  language plpgsql
  set search_path = ''
as $$
begin
  if old.status <> 'running' and (new is distinct from old) then
    raise exception 'Run % has ended (%); a finished run cannot be changed', old.id, old.status
      using errcode = 'insufficient_privilege',
            hint = 'Start a new run instead; the ledger keeps what happened.';
  end if;
  return new;
end
$$;
revoke all on function ipai_meta.refuse_ended_run_change() from public, anon, authenticated;

create trigger ipai_connector_run_ended_is_history
  before update on public.ipai_connector_run
  for each row execute function ipai_meta.refuse_ended_run_change();
create trigger ipai_agent_run_ended_is_history
  before update on public.ipai_agent_run
  for each row execute function ipai_meta.refuse_ended_run_change();

-- Per-load values of the bronze metadata columns, for COPY paths that do not send them per row.
--
-- The file ingest streams a CSV file's own bytes into COPY … (FORMAT csv); sending the connector
-- id, run id and extraction time on every row as text costs PostgreSQL about 75% more CPU than the
-- data alone (measured: 1M rows x 14 columns), because each is parsed again on every row, and
-- appending them means rewriting every row in JavaScript. Instead, those columns (and _ipai_raw,
-- `{}` for most CSV rows: see the README, File Ingest) get DEFAULTs that read transaction-local
-- settings the loader sets before the COPY (set_config('ipai.load_connector_id', …, true), …), so
-- every row takes the value at the cost of a constant.
--
-- The functions are declared IMMUTABLE although they read a setting: that is what lets the planner
-- fold the DEFAULT to a constant once, when the COPY starts (the settings are already in place),
-- rather than call the function for each row (a STABLE function costs ~0.3 µs a row, three of them
-- ~1 s per million rows). They are only meant for these DEFAULTs; never use them in an index, a
-- generated column or a view. Unset (any other insert), they return NULL, so the NOT NULL metadata
-- columns still refuse a row that does not say where it came from — exactly as without a default.
create or replace function ipai_meta.load_setting_uuid(setting text) returns uuid
  language sql immutable parallel safe
  set search_path = ''
as $$ select nullif(pg_catalog.current_setting(setting, true), '')::uuid $$;

create or replace function ipai_meta.load_setting_timestamptz(setting text) returns timestamptz
  language sql immutable parallel safe
  set search_path = ''
as $$ select nullif(pg_catalog.current_setting(setting, true), '')::timestamptz $$;

create or replace function ipai_meta.load_setting_jsonb(setting text) returns jsonb
  language sql immutable parallel safe
  set search_path = ''
as $$ select nullif(pg_catalog.current_setting(setting, true), '')::jsonb $$;

revoke all on function ipai_meta.load_setting_uuid(text), ipai_meta.load_setting_timestamptz(text), ipai_meta.load_setting_jsonb(text) from public;
grant execute on function ipai_meta.load_setting_uuid(text), ipai_meta.load_setting_timestamptz(text), ipai_meta.load_setting_jsonb(text)
  to ipai_ingest, service_role;

comment on function ipai_meta.load_setting_uuid(text) is
  'DEFAULT of bronze _ipai_connector_id/_ipai_run_id for COPY loads: the transaction-local setting, folded once per statement.';
comment on function ipai_meta.load_setting_timestamptz(text) is
  'DEFAULT of bronze _ipai_extracted_at for COPY loads: the transaction-local setting, folded once per statement.';
comment on function ipai_meta.load_setting_jsonb(text) is
  'DEFAULT of bronze _ipai_raw for COPY loads: the transaction-local setting, folded once per statement.';

-- The migration ledger is in ipai_meta too: RLS on, readable (where granted) by everyone.
alter table ipai_meta.schema_migrations enable row level security;
create policy ipai_read_all on ipai_meta.schema_migrations for select using (true);
