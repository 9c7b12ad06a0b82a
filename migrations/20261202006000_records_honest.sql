-- A lakehouse that keeps its own records honest (issue 16, "Security and records").
--
-- 1. The run ledger is append-and-finish only: no role but the owner deletes runs, and a run that
--    has ended (success, failed, skipped, abandoned) cannot be rewritten by anyone.
-- 2. SLO definitions belong to ipai_slo_admin: the ingest login evaluates SLOs and keeps alert
--    state, but cannot create, change, disable or delete an SLO (an agent-budget SLO included),
--    nor delete a connector (which would cascade to its SLOs).
-- 3. The audit log's id and time are always the server's: writers insert only the descriptive
--    columns, and a trigger sets id and created_at for everyone, the owner included.
-- 4. Agent logins: the guard can verify and restore the role-level settings it owns.
-- 5. RLS on ipai_meta.transform_table, like every other table of the ipai_* schemas.

-- 1. Run ledger ----------------------------------------------------------------------------------
revoke delete, truncate on public.ipai_connector_run from ipai_ingest, ipai_transform, ipai_read, authenticated, anon;
revoke delete, truncate on public.ipai_agent_run from ipai_ingest, ipai_transform, ipai_read, ipai_guard, authenticated, anon;
revoke truncate on public.ipai_connector_config from ipai_ingest;
revoke delete on public.ipai_connector_config from ipai_ingest;

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

drop trigger if exists ipai_connector_run_ended_is_history on public.ipai_connector_run;
create trigger ipai_connector_run_ended_is_history
  before update on public.ipai_connector_run
  for each row execute function ipai_meta.refuse_ended_run_change();
drop trigger if exists ipai_agent_run_ended_is_history on public.ipai_agent_run;
create trigger ipai_agent_run_ended_is_history
  before update on public.ipai_agent_run
  for each row execute function ipai_meta.refuse_ended_run_change();

-- 2. SLO definitions ------------------------------------------------------------------------------
do $$
begin
  if not exists (select 1 from pg_roles where rolname = 'ipai_slo_admin') then
    create role ipai_slo_admin nologin;
  end if;
  -- The migration runner keeps the rights it had (it seeds SLOs in later migrations).
  if not exists (select 1 from pg_roles where rolname = current_user and rolsuper) then
    execute format('grant ipai_slo_admin to %I', current_user);
  end if;
end
$$;
revoke insert, update, delete, truncate on public.ipai_slo from ipai_ingest;
grant usage on schema ipai_meta to ipai_slo_admin;
grant select, insert, update, delete on public.ipai_slo to ipai_slo_admin;
-- Set SLO reads connectors (by type and name) and records what it changed.
grant select on public.ipai_connector_config to ipai_slo_admin;
grant select, insert (event_type, entity_type, entity_id, user_id, action, details) on public.ipai_audit_log to ipai_slo_admin;
drop policy if exists ipai_slo_admin_all on public.ipai_slo;
create policy ipai_slo_admin_all on public.ipai_slo for all to ipai_slo_admin using (true) with check (true);
drop policy if exists ipai_slo_admin_read on public.ipai_connector_config;
create policy ipai_slo_admin_read on public.ipai_connector_config for select to ipai_slo_admin using (true);
drop policy if exists ipai_ingest_all on public.ipai_slo;
drop policy if exists ipai_ingest_read on public.ipai_slo;
create policy ipai_ingest_read on public.ipai_slo for select to ipai_ingest using (true);
drop policy if exists ipai_slo_admin_append on public.ipai_audit_log;
create policy ipai_slo_admin_append on public.ipai_audit_log for insert to ipai_slo_admin with check (true);
drop policy if exists ipai_slo_admin_read on public.ipai_audit_log;
create policy ipai_slo_admin_read on public.ipai_audit_log for select to ipai_slo_admin using (event_type = 'alert');

-- 3. Audit log: the server's id and time -------------------------------------------------------
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
drop trigger if exists ipai_audit_log_server_fields on public.ipai_audit_log;
create trigger ipai_audit_log_server_fields
  before insert on public.ipai_audit_log
  for each row execute function ipai_meta.audit_server_fields();

-- Writers name only what happened; a backdated created_at (or a chosen id) is refused outright.
do $$
declare
  r text;
begin
  foreach r in array array['ipai_ingest', 'ipai_transform', 'ipai_guard', 'service_role'] loop
    if exists (select 1 from pg_roles where rolname = r) then
      execute format('revoke insert on public.ipai_audit_log from %I', r);
      execute format('grant insert (event_type, entity_type, entity_id, user_id, action, details, ip_address, user_agent) on public.ipai_audit_log to %I', r);
    end if;
  end loop;
end
$$;

-- 4. Agent logins: the role settings the guard owns --------------------------------------------
-- The settings agent_sync gives a login, as pg_db_role_setting stores them.
create or replace function ipai_meta.agent_expected_settings(agent uuid) returns text[]
  language sql
  stable
  set search_path = ''
as $$
  select array['default_transaction_read_only=on',
               'statement_timeout=' || coalesce(a.latency_budget_ms, 30000)::text || 'ms',
               'idle_in_transaction_session_timeout=60s',
               'search_path=""']
    from public.ipai_agent a where a.id = agent
$$;
revoke all on function ipai_meta.agent_expected_settings(uuid) from public, anon, authenticated;

-- Compares the login's role-level settings (for every database) with what the guard set. When they
-- differ, removes every role-level setting of the login and sets the guard's again, and returns
-- what was found, so the guard refuses the call and says why. An empty array: nothing changed.
create or replace function ipai_meta.agent_settings_restore(agent uuid) returns text[]
  language plpgsql
  security definer
  set search_path = ''
as $$
declare
  login text;
  expected text[];
  found text[];
  extra text[];
  d record;
begin
  select c.login_name into login from public.ipai_agent_credential c where c.agent_id = agent;
  if login is null or not exists (select 1 from pg_catalog.pg_roles where rolname = login) then
    return '{}';
  end if;
  expected := ipai_meta.agent_expected_settings(agent);
  select coalesce(array_agg(case when s.setdatabase = 0 then cfg
                                 else cfg || ' (in database ' || coalesce(db.datname, s.setdatabase::text) || ')' end
                            order by s.setdatabase, cfg), '{}')
    into found
    from pg_catalog.pg_db_role_setting s
    join pg_catalog.pg_roles r on r.oid = s.setrole
    left join pg_catalog.pg_database db on db.oid = s.setdatabase
    cross join lateral unnest(s.setconfig) cfg
   where r.rolname = login;
  select coalesce(array_agg(f order by f), '{}') into extra
    from unnest(found) f where not (f = any (expected));
  if extra = '{}' and (select count(*) from unnest(expected) e where e = any (found)) = cardinality(expected) then
    return '{}';
  end if;
  -- Restore: nothing but the guard's settings, in every database.
  for d in select distinct s.setdatabase, db.datname from pg_catalog.pg_db_role_setting s
             join pg_catalog.pg_roles r on r.oid = s.setrole
             left join pg_catalog.pg_database db on db.oid = s.setdatabase
            where r.rolname = login and s.setdatabase <> 0 and db.datname is not null loop
    execute format('alter role %I in database %I reset all', login, d.datname);
  end loop;
  execute format('alter role %I reset all', login);
  execute format('alter role %I set default_transaction_read_only = on', login);
  execute format('alter role %I set statement_timeout = %L', login,
                 (select coalesce(a.latency_budget_ms, 30000)::text || 'ms' from public.ipai_agent a where a.id = agent));
  execute format('alter role %I set idle_in_transaction_session_timeout = %L', login, '60s');
  execute format('alter role %I set search_path = %L', login, '');
  if extra = '{}' then
    -- Nothing foreign, but one of the guard's own settings was removed.
    return array(select 'missing ' || e from unnest(expected) e where not (e = any (found)));
  end if;
  return extra;
end
$$;
revoke all on function ipai_meta.agent_settings_restore(uuid) from public, anon, authenticated;
grant execute on function ipai_meta.agent_settings_restore(uuid) to ipai_guard;

-- 5. RLS on the refresh catalog --------------------------------------------------------------------
alter table ipai_meta.transform_table enable row level security;
drop policy if exists ipai_transform_read on ipai_meta.transform_table;
create policy ipai_transform_read on ipai_meta.transform_table for select to ipai_transform, service_role using (true);

-- The migration ledger is in ipai_meta too: RLS on, readable (where granted) by everyone.
alter table ipai_meta.schema_migrations enable row level security;
drop policy if exists ipai_read_all on ipai_meta.schema_migrations;
create policy ipai_read_all on ipai_meta.schema_migrations for select using (true);
