-- Agent governance (PRD 2.1.4, R4.1–R4.4; plan D14): what enforcing ipai_agent needs beyond the
-- PRD's two tables, which keep exactly their columns.
--
-- The boundary is PostgreSQL. Every registered agent gets its OWN login role `ipai_agent_<code>`
-- (LOGIN, NOINHERIT, member of nothing, no CREATE anywhere) with USAGE on exactly its allowed
-- schemas and SELECT (plus a per-agent RLS policy) on exactly its allowed relations. The guard
-- connects AS that login for the agent's query. It does not `SET ROLE` from a shared login: the
-- check behind SET ROLE / set_config('role', …) is made against the SESSION user, and
-- `set_config('role', 'none', true)` is always allowed, so inside one SELECT an agent could return
-- to the guard login and read through query_to_xml() with the guard's rights (the integration
-- test shows the attack, and that it fails against an agent login). With one login per agent,
-- `set role none`/`reset role` return to the agent itself, and `set session authorization`
-- needs a superuser session.
--
-- Tables (public, RLS on, nothing for anon/authenticated except staff reads of usage):
--   ipai_agent_credential  the agent login's name and generated password (Vault is not assumed to
--                          exist): readable only by the guard role (ipai_guard) and the owner.
--   ipai_agent_usage_day   per agent and UTC day: calls, refusals, failures, cost and latency,
--                          maintained by a trigger on ipai_agent_run, read for the day budgets.

create table if not exists public.ipai_agent_credential (
    agent_id uuid primary key references public.ipai_agent(id) on delete cascade,
    login_name text not null unique,
    password text not null,
    created_at timestamptz not null default now(),
    rotated_at timestamptz not null default now(),
    constraint ipai_agent_credential_login_check check (login_name ~ '^ipai_agent_[a-z0-9_]{1,52}$')
);

create table if not exists public.ipai_agent_usage_day (
    agent_id uuid not null references public.ipai_agent(id) on delete cascade,
    day date not null,
    calls integer not null default 0,
    succeeded integer not null default 0,
    failed integer not null default 0,
    refused integer not null default 0,
    tokens_used bigint not null default 0,
    cost_usd numeric(14, 6) not null default 0,
    latency_ms bigint not null default 0,
    updated_at timestamptz not null default now(),
    primary key (agent_id, day)
);

select ipai_meta.secure_relation('public.ipai_agent_credential'::regclass);
select ipai_meta.secure_relation('public.ipai_agent_usage_day'::regclass);

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
grant usage on schema ipai_meta to ipai_guard;
grant execute on function ipai_meta.layer_of(text) to ipai_guard;

-- Credentials: the guard reads them to connect as an agent; nobody else does (not authenticated,
-- not service_role through the API).
revoke all on public.ipai_agent_credential from service_role;
grant select on public.ipai_agent_credential to ipai_guard;
drop policy if exists ipai_guard_read on public.ipai_agent_credential;
create policy ipai_guard_read on public.ipai_agent_credential for select to ipai_guard using (true);

grant select on public.ipai_agent_usage_day to ipai_guard, ipai_transform, authenticated;
drop policy if exists ipai_guard_read on public.ipai_agent_usage_day;
create policy ipai_guard_read on public.ipai_agent_usage_day for select to ipai_guard, ipai_transform using (true);
drop policy if exists ipai_staff_read on public.ipai_agent_usage_day;
create policy ipai_staff_read on public.ipai_agent_usage_day for select to authenticated
  using ((select ipai_meta.jwt_role()) = any (array['admin', 'data_engineer']));

-- The guard keeps the registry, writes the agent run ledger and appends to the audit log.
grant select, insert, update on public.ipai_agent to ipai_guard;
drop policy if exists ipai_guard_all on public.ipai_agent;
create policy ipai_guard_all on public.ipai_agent for all to ipai_guard using (true) with check (true);
grant select, insert, update on public.ipai_agent_run to ipai_guard;
drop policy if exists ipai_guard_all on public.ipai_agent_run;
create policy ipai_guard_all on public.ipai_agent_run for all to ipai_guard using (true) with check (true);
grant select, insert on public.ipai_audit_log to ipai_guard;
drop policy if exists ipai_guard_append on public.ipai_audit_log;
create policy ipai_guard_append on public.ipai_audit_log for insert to ipai_guard with check (true);
drop policy if exists ipai_guard_read on public.ipai_audit_log;
create policy ipai_guard_read on public.ipai_audit_log for select to ipai_guard
  using (event_type = 'agent_run');

-- Usage per day, kept by the ledger itself so concurrent guards add up exactly. A run counts once,
-- when it is first recorded in a final state. SECURITY DEFINER so that the ledger's writers need
-- no write grant on the usage table (nobody can forge usage directly).
create or replace function ipai_meta.agent_usage_track() returns trigger
  language plpgsql
  security definer
  set search_path = ''
as $$
begin
  if new.status = 'running' or new.agent_id is null then
    return new;
  end if;
  if tg_op = 'UPDATE' and old.status <> 'running' then
    return new;
  end if;
  insert into public.ipai_agent_usage_day as u
         (agent_id, day, calls, succeeded, failed, refused, tokens_used, cost_usd, latency_ms)
  values (new.agent_id, (new.started_at at time zone 'UTC')::date, 1,
          (new.status = 'success')::int, (new.status = 'failed')::int, (new.status = 'refused')::int,
          coalesce(new.tokens_used, 0), coalesce(new.cost_usd, 0), coalesce(new.latency_ms, 0))
  on conflict (agent_id, day) do update
     set calls = u.calls + 1,
         succeeded = u.succeeded + excluded.succeeded,
         failed = u.failed + excluded.failed,
         refused = u.refused + excluded.refused,
         tokens_used = u.tokens_used + excluded.tokens_used,
         cost_usd = u.cost_usd + excluded.cost_usd,
         latency_ms = u.latency_ms + excluded.latency_ms,
         updated_at = now();
  return new;
end
$$;
revoke all on function ipai_meta.agent_usage_track() from public, anon, authenticated;

drop trigger if exists ipai_agent_run_usage on public.ipai_agent_run;
create trigger ipai_agent_run_usage
  after insert or update of status on public.ipai_agent_run
  for each row execute function ipai_meta.agent_usage_track();

-- The relations an agent entry names: 'schema' (every table, view and materialized view in it)
-- or 'schema.relation'. Only lakehouse data layers qualify; control tables (public), ipai_meta,
-- catalogs and anything else never do.
create or replace function ipai_meta.agent_scope(agent uuid)
  returns table (schema_name text, relation regclass)
  language sql stable
  set search_path = ''
as $$
  with entries as (
    select split_part(e, '.', 1) as s, nullif(split_part(e, '.', 2), '') as r
      from public.ipai_agent a, unnest(coalesce(a.allowed_schemas, '{}')) e
     where a.id = agent
  )
  select n.nspname::text, c.oid::regclass
    from entries
    join pg_catalog.pg_namespace n on n.nspname = entries.s
    join pg_catalog.pg_class c on c.relnamespace = n.oid and c.relkind in ('r', 'p', 'v', 'm', 'f')
   where ipai_meta.layer_of(n.nspname) in ('bronze', 'silver', 'gold', 'platinum')
     and (entries.r is null or c.relname = entries.r)
$$;
revoke all on function ipai_meta.agent_scope(uuid) from public, anon, authenticated;
grant execute on function ipai_meta.agent_scope(uuid) to ipai_guard;

-- Creates or updates the agent's login and makes its privileges exactly its scope: revokes what
-- it holds anywhere in the lakehouse, then grants USAGE/SELECT (and an RLS read policy) on the
-- scope. An inactive agent's login is NOLOGIN with nothing granted. Returns the login name.
-- SECURITY DEFINER because creating roles and policies needs CREATEROLE and table ownership,
-- which the guard login must not have; it acts only on roles named ipai_agent_<code> that it
-- recorded itself in ipai_agent_credential.
create or replace function ipai_meta.agent_sync(agent uuid) returns text
  language plpgsql
  security definer
  set search_path = ''
as $$
declare
  a public.ipai_agent;
  login text;
  secret text;
  s text;
  rel record;
begin
  select * into a from public.ipai_agent where id = agent for update;
  if not found then
    raise exception 'agent % is not registered', agent using errcode = 'no_data_found';
  end if;
  if a.code_name !~ '^[a-z][a-z0-9_]{0,51}$' then
    raise exception 'agent code name "%" must be lower-case letters, digits and _ (at most 52), starting with a letter', a.code_name
      using errcode = 'invalid_parameter_value';
  end if;
  login := 'ipai_agent_' || a.code_name;

  select c.login_name into s from public.ipai_agent_credential c where c.agent_id = agent;
  if s is not null and s <> login then
    raise exception 'agent % already has login %; code names cannot change', a.code_name, s
      using errcode = 'invalid_parameter_value';
  end if;
  if s is null then
    if exists (select 1 from pg_catalog.pg_roles where rolname = login) then
      -- Never adopt a role someone else made: it could carry memberships or attributes.
      raise exception 'role % exists but was not created by the agent registry', login
        using errcode = 'duplicate_object';
    end if;
    secret := encode(pg_catalog.sha256(convert_to(gen_random_uuid()::text || gen_random_uuid()::text || clock_timestamp()::text, 'UTF8')), 'hex');
    execute format('create role %I login noinherit nosuperuser nocreatedb nocreaterole noreplication nobypassrls connection limit 8 password %L',
                   login, secret);
    insert into public.ipai_agent_credential (agent_id, login_name, password) values (agent, login, secret);
  end if;

  -- Attributes are re-asserted every time (someone may have altered the role by hand).
  execute format('alter role %I %s noinherit nosuperuser nocreatedb nocreaterole noreplication nobypassrls',
                 login, case when a.is_active is false then 'nologin' else 'login' end);
  -- Defaults for every session of the login: read-only, bounded, no path games.
  execute format('alter role %I set default_transaction_read_only = on', login);
  execute format('alter role %I set statement_timeout = %L', login, coalesce(a.latency_budget_ms, 30000)::text || 'ms');
  execute format('alter role %I set idle_in_transaction_session_timeout = %L', login, '60s');
  execute format('alter role %I set search_path = %L', login, '');
  -- Member of nothing.
  for rel in select r.rolname from pg_catalog.pg_auth_members m join pg_catalog.pg_roles r on r.oid = m.roleid
              where m.member = (select oid from pg_catalog.pg_roles where rolname = login) loop
    execute format('revoke %I from %I', rel.rolname, login);
  end loop;

  -- Everything previously held in the lakehouse goes.
  for s in select nspname from pg_catalog.pg_namespace where ipai_meta.layer_of(nspname) is not null or nspname = 'ipai_meta' loop
    execute format('revoke all on schema %I from %I', s, login);
    execute format('revoke all on all tables in schema %I from %I', s, login);
    execute format('revoke all on all routines in schema %I from %I', s, login);
  end loop;
  for rel in select p.polname, c.oid::regclass as r
               from pg_catalog.pg_policy p join pg_catalog.pg_class c on c.oid = p.polrelid
              where p.polname = login loop
    execute format('drop policy %I on %s', rel.polname, rel.r);
  end loop;

  if a.is_active is false or not ('read' = any (coalesce(a.allowed_operations, '{}'))) then
    return login;
  end if;

  for s in select distinct schema_name from ipai_meta.agent_scope(agent) loop
    execute format('grant usage on schema %I to %I', s, login);
  end loop;
  for rel in select relation, (select relkind from pg_catalog.pg_class where oid = relation) as kind
               from ipai_meta.agent_scope(agent) loop
    execute format('grant select on %s to %I', rel.relation, login);
    if rel.kind in ('r', 'p') then
      execute format('create policy %I on %s for select to %I using (true)', login, rel.relation, login);
    end if;
  end loop;
  -- A whole-schema entry also covers the schema's SECURITY INVOKER functions (e.g. gold's
  -- balance_sheet(as_of)): they read with the agent's own rights. SECURITY DEFINER functions run
  -- with their owner's rights, so they are never granted.
  for rel in select p.oid::regprocedure as fn
               from public.ipai_agent ag, unnest(coalesce(ag.allowed_schemas, '{}')) e
               join pg_catalog.pg_namespace n on n.nspname = e
               join pg_catalog.pg_proc p on p.pronamespace = n.oid
              where ag.id = agent and position('.' in e) = 0 and not p.prosecdef and p.prokind in ('f', 'a', 'w')
                and ipai_meta.layer_of(n.nspname) in ('bronze', 'silver', 'gold', 'platinum') loop
    execute format('grant execute on function %s to %I', rel.fn, login);
  end loop;
  return login;
end
$$;
revoke all on function ipai_meta.agent_sync(uuid) from public, anon, authenticated;
grant execute on function ipai_meta.agent_sync(uuid) to ipai_guard;
