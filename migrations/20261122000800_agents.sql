-- Agent governance (PRD 2.1.4, R4.1–R4.4; plan D14): what enforcing ipai_agent needs beyond the
-- PRD's two tables (ipai_agent, ipai_agent_run, in the core file), which keep exactly their columns.
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
--   ipai_agent_credential   the agent login's name and where its password is (Vault or the column):
--                           readable only by the guard role (ipai_guard) and the owner.
--   ipai_agent_usage_day    per agent and UTC day: calls, refusals, failures, cost and latency,
--                           maintained by a trigger on ipai_agent_run, plus what open reservations
--                           hold; read for the day budgets.
--   ipai_agent_reservation  budget a call reserved before it ran, until its run is recorded or it expires.
--
-- Budgets. Checking a daily budget by reading ipai_agent_usage_day and acting later would let two
-- calls at the same moment both pass and together overspend. So a call RESERVES what it may
-- use (its estimated cost; its latency budget) in one statement that locks the agent's usage row
-- for the day, counts spent + reserved, and either refuses or records the reservation. Concurrent
-- calls queue on that row lock, so exactly the calls that fit pass. Recording the run settles the
-- reservation in the same transaction that adds the actual spend (the usage trigger), so a call is
-- never counted twice or not at all; a reservation whose call never reports back expires.
--
-- Vault. Where Supabase Vault is installed and usable (vault.create_secret, vault.update_secret,
-- vault.decrypted_secrets), the password is stored as a Vault secret (encrypted at rest, also in
-- backups) and the column stays null; on plain PostgreSQL the column is the fallback. Either way the
-- guard role reads a password only through ipai_meta.agent_credential(agent), one agent at a time:
-- it gets no grant on vault.* (that would expose every secret in the project) and does not read
-- the password column directly. Agent logins get nothing here (they are members of nothing).

--
-- Company scope of agents: an agent whose config names company_ids reads only those companies'
-- rows. The agent's own policies (one per relation in its scope, created by agent_sync) keep
-- `using (true)` on relations without a company_id column and become
-- `using (company_id::text = any (<ids>))` on relations with one, so PostgreSQL enforces the
-- scope for every statement the agent's login runs, whatever tool sent it.
--
-- The scope is compared in company_id's own type: on integer company_id columns the policy compares
-- integers (converting every row's company_id to text would make the scope the dearest part of a
-- scan of a gold model). An id is kept when written as PostgreSQL writes that integer (no sign on
-- positives, no leading zeros, inside the type's range), the only ids that can equal a row's
-- company_id; other company_id types keep the text comparison.

-- Tables ----------------------------------------------------------------------------------------
create table public.ipai_agent_credential (
    agent_id uuid primary key references public.ipai_agent(id) on delete cascade,
    login_name text not null unique,
    password text,                      -- the fallback where Vault is not usable
    created_at timestamptz not null default now(),
    rotated_at timestamptz not null default now(),
    vault_secret_id uuid,               -- the Vault secret holding the password, where Vault is usable
    constraint ipai_agent_credential_login_check check (login_name ~ '^ipai_agent_[a-z0-9_]{1,52}$'),
    constraint ipai_agent_credential_store_check check ((password is null) <> (vault_secret_id is null))
);

create table public.ipai_agent_usage_day (
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
    -- what open reservations hold of today's budgets (see ipai_agent_reservation)
    reserved_cost_usd numeric(14, 6) not null default 0,
    reserved_latency_ms bigint not null default 0,
    open_reservations integer not null default 0,
    primary key (agent_id, day),
    constraint ipai_agent_usage_day_reserved_check
      check (reserved_cost_usd >= 0 and reserved_latency_ms >= 0 and open_reservations >= 0)
);

create table public.ipai_agent_reservation (
    id uuid primary key default gen_random_uuid(),
    agent_id uuid not null references public.ipai_agent(id) on delete cascade,
    day date not null,                  -- the UTC day whose budget holds it
    cost_usd numeric(14, 6) not null default 0,
    latency_ms bigint not null default 0,
    purpose text not null,              -- 'query' or the tool being authorized
    created_at timestamptz not null default now(),
    expires_at timestamptz not null,
    released_at timestamptz,
    release text,                       -- settled (its run was recorded) | expired
    run_id uuid references public.ipai_agent_run(id) on delete set null,
    constraint ipai_agent_reservation_amounts_check check (cost_usd >= 0 and latency_ms >= 0),
    constraint ipai_agent_reservation_release_check
      check ((released_at is null) = (release is null) and (release is null or release in ('settled', 'expired')))
);
create index idx_agent_reservation_open on public.ipai_agent_reservation (agent_id, day) where released_at is null;
create index idx_agent_reservation_run on public.ipai_agent_reservation (run_id);

select ipai_meta.secure_relation('public.ipai_agent_credential'::regclass);
select ipai_meta.secure_relation('public.ipai_agent_usage_day'::regclass);
grant usage on schema ipai_meta to ipai_guard;
grant execute on function ipai_meta.layer_of(text) to ipai_guard;

-- Credentials: the guard reads an agent's login (and, through ipai_meta.agent_credential, its
-- password) to connect as the agent; nobody else does (not authenticated, not service_role through the API).
revoke all on public.ipai_agent_credential from service_role;
-- The guard sees which login an agent has, never the password column.
grant select (agent_id, login_name, vault_secret_id, created_at, rotated_at) on public.ipai_agent_credential to ipai_guard;
create policy ipai_guard_read on public.ipai_agent_credential for select to ipai_guard using (true);

grant select on public.ipai_agent_usage_day to ipai_guard, ipai_transform, authenticated;
create policy ipai_guard_read on public.ipai_agent_usage_day for select to ipai_guard, ipai_transform using (true);
create policy ipai_staff_read on public.ipai_agent_usage_day for select to authenticated
  using ((select ipai_meta.jwt_role()) = any (array['admin', 'data_engineer']));

select ipai_meta.secure_relation('public.ipai_agent_reservation'::regclass);
grant select on public.ipai_agent_reservation to ipai_guard;
create policy ipai_guard_read on public.ipai_agent_reservation for select to ipai_guard using (true);

-- The guard keeps the registry, writes the agent run ledger and appends to the audit log.
grant select, insert, update on public.ipai_agent to ipai_guard;
create policy ipai_guard_all on public.ipai_agent for all to ipai_guard using (true) with check (true);
grant select, insert, update on public.ipai_agent_run to ipai_guard;
create policy ipai_guard_all on public.ipai_agent_run for all to ipai_guard using (true) with check (true);
grant select on public.ipai_audit_log to ipai_guard;
create policy ipai_guard_append on public.ipai_audit_log for insert to ipai_guard with check (true);
create policy ipai_guard_read on public.ipai_audit_log for select to ipai_guard
  using (event_type = 'agent_run');

-- The guard serves model-bound tools: it reads the semantic models (never writes them).
grant select on public.ipai_semantic_model to ipai_guard;
create policy ipai_guard_read on public.ipai_semantic_model for select to ipai_guard using (true);

-- Usage and budgets ------------------------------------------------------------------------------
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

-- Reserves `cost` USD and `latency` ms of the agent's budgets for today (UTC) or says which daily
-- budget refuses. With fit_latency, a latency request larger than what is left of the daily
-- latency budget shrinks to what is left (a query's statement timeout is then that remainder)
-- instead of being refused. SECURITY DEFINER: the guard may not write usage rows directly (nobody
-- can forge or erase spend); it can only reserve through here.
create or replace function ipai_meta.agent_reserve(agent uuid, cost numeric, latency bigint, fit_latency boolean,
                                                   ttl_seconds integer, purpose text)
  returns table (reservation_id uuid, reserved_latency_ms bigint, budget text, spent numeric, reserved numeric,
                 requested numeric, budget_limit numeric, day date)
  language plpgsql
  security definer
  set search_path = ''
as $$
declare
  a public.ipai_agent;
  u public.ipai_agent_usage_day;
  d date := (pg_catalog.clock_timestamp() at time zone 'UTC')::date;
  n integer;
  c numeric;
  l bigint;
  want bigint := coalesce(latency, 0);
  lat_limit numeric;
  lat_left numeric;
  rid uuid;
begin
  if coalesce(cost, 0) < 0 or want < 0 or coalesce(ttl_seconds, 0) <= 0 then
    raise exception 'agent_reserve: cost and latency must be >= 0 and ttl_seconds > 0' using errcode = 'invalid_parameter_value';
  end if;
  select * into a from public.ipai_agent where id = agent;
  if not found then
    raise exception 'agent % is not registered', agent using errcode = 'no_data_found';
  end if;
  insert into public.ipai_agent_usage_day (agent_id, day) values (agent, d) on conflict on constraint ipai_agent_usage_day_pkey do nothing;
  -- The lock every budget decision of this agent and day queues on.
  select * into u from public.ipai_agent_usage_day x where x.agent_id = agent and x.day = d for update;

  -- Reservations whose call never reported back stop counting once they expire.
  with expired as (
    update public.ipai_agent_reservation r set released_at = pg_catalog.clock_timestamp(), release = 'expired'
     where r.agent_id = agent and r.day = d and r.released_at is null and r.expires_at <= pg_catalog.clock_timestamp()
    returning r.cost_usd, r.latency_ms)
  select count(*), coalesce(sum(e.cost_usd), 0), coalesce(sum(e.latency_ms), 0) into n, c, l from expired e;
  if n > 0 then
    update public.ipai_agent_usage_day x
       set reserved_cost_usd = x.reserved_cost_usd - c, reserved_latency_ms = x.reserved_latency_ms - l,
           open_reservations = x.open_reservations - n, updated_at = now()
     where x.agent_id = agent and x.day = d
    returning * into u;
  end if;

  if a.cost_budget_usd is not null
     and (u.cost_usd + u.reserved_cost_usd + coalesce(cost, 0) > a.cost_budget_usd
          or u.cost_usd + u.reserved_cost_usd >= a.cost_budget_usd) then
    return query select null::uuid, 0::bigint, 'daily_cost'::text, u.cost_usd::numeric, u.reserved_cost_usd::numeric,
                        coalesce(cost, 0)::numeric, a.cost_budget_usd::numeric, d;
    return;
  end if;
  if pg_catalog.jsonb_typeof(a.config -> 'daily_latency_budget_ms') = 'number' then
    lat_limit := (a.config ->> 'daily_latency_budget_ms')::numeric;
    lat_left := lat_limit - u.latency_ms - u.reserved_latency_ms;
    if lat_left <= 0 or (want > lat_left and not coalesce(fit_latency, false)) then
      return query select null::uuid, 0::bigint, 'daily_latency'::text, u.latency_ms::numeric, u.reserved_latency_ms::numeric,
                          want::numeric, lat_limit, d;
      return;
    end if;
    if want > lat_left then
      want := pg_catalog.floor(lat_left)::bigint;
    end if;
  end if;

  insert into public.ipai_agent_reservation (agent_id, day, cost_usd, latency_ms, purpose, expires_at)
  values (agent, d, coalesce(cost, 0), want, coalesce(purpose, 'call'),
          pg_catalog.clock_timestamp() + pg_catalog.make_interval(secs => ttl_seconds))
  returning id into rid;
  update public.ipai_agent_usage_day x
     set reserved_cost_usd = x.reserved_cost_usd + coalesce(cost, 0), reserved_latency_ms = x.reserved_latency_ms + want,
         open_reservations = x.open_reservations + 1, updated_at = now()
   where x.agent_id = agent and x.day = d;
  return query select rid, want, null::text, u.cost_usd::numeric, u.reserved_cost_usd::numeric, coalesce(cost, 0)::numeric,
                      null::numeric, d;
end
$$;
revoke all on function ipai_meta.agent_reserve(uuid, numeric, bigint, boolean, integer, text) from public, anon, authenticated;
grant execute on function ipai_meta.agent_reserve(uuid, numeric, bigint, boolean, integer, text) to ipai_guard;

-- Releases a reservation once its run is recorded (call it in the transaction that inserts the run,
-- whose trigger adds the actual spend). Idempotent: an expired or settled reservation is left as is.
create or replace function ipai_meta.agent_settle(reservation uuid, run uuid) returns boolean
  language plpgsql
  security definer
  set search_path = ''
as $$
declare
  r public.ipai_agent_reservation;
begin
  select * into r from public.ipai_agent_reservation where id = reservation;
  if not found then
    raise exception 'reservation % does not exist', reservation using errcode = 'no_data_found';
  end if;
  -- Same lock order as agent_reserve: the usage row first, then the reservation.
  perform 1 from public.ipai_agent_usage_day x where x.agent_id = r.agent_id and x.day = r.day for update;
  update public.ipai_agent_reservation x set released_at = pg_catalog.clock_timestamp(), release = 'settled', run_id = run
   where x.id = reservation and x.released_at is null;
  if not found then
    return false;
  end if;
  update public.ipai_agent_usage_day x
     set reserved_cost_usd = x.reserved_cost_usd - r.cost_usd, reserved_latency_ms = x.reserved_latency_ms - r.latency_ms,
         open_reservations = x.open_reservations - 1, updated_at = now()
   where x.agent_id = r.agent_id and x.day = r.day;
  return true;
end
$$;
revoke all on function ipai_meta.agent_settle(uuid, uuid) from public, anon, authenticated;
grant execute on function ipai_meta.agent_settle(uuid, uuid) to ipai_guard;

-- Locks an agent's usage row for a day and returns what was spent: Log decides "over the daily
-- budget" under this lock, in the transaction that then records the run, so two logs at once
-- cannot both see room that only one of them has.
create or replace function ipai_meta.agent_usage_lock(agent uuid, usage_day date)
  returns table (cost_usd numeric, latency_ms bigint, reserved_cost_usd numeric, reserved_latency_ms bigint)
  language plpgsql
  security definer
  set search_path = ''
as $$
begin
  insert into public.ipai_agent_usage_day (agent_id, day) values (agent, usage_day)
  on conflict on constraint ipai_agent_usage_day_pkey do nothing;
  return query select x.cost_usd::numeric, x.latency_ms, x.reserved_cost_usd::numeric, x.reserved_latency_ms
                 from public.ipai_agent_usage_day x where x.agent_id = agent and x.day = usage_day for update;
end
$$;
revoke all on function ipai_meta.agent_usage_lock(uuid, date) from public, anon, authenticated;
grant execute on function ipai_meta.agent_usage_lock(uuid, date) to ipai_guard;

-- Agent logins -----------------------------------------------------------------------------------
-- True when Supabase Vault's API is installed AND usable by the calling (definer) role. Called from
-- SECURITY DEFINER functions, where current_user is their owner (postgres on Supabase).
create or replace function ipai_meta.vault_usable() returns boolean
  language plpgsql
  stable
  set search_path = ''
as $$
begin
  if pg_catalog.to_regprocedure('vault.create_secret(text,text,text,uuid)') is null
     or pg_catalog.to_regprocedure('vault.update_secret(uuid,text,text,text,uuid)') is null
     or pg_catalog.to_regclass('vault.decrypted_secrets') is null then
    return false;
  end if;
  return pg_catalog.has_schema_privilege('vault', 'usage')
     and pg_catalog.has_function_privilege('vault.create_secret(text,text,text,uuid)', 'execute')
     and pg_catalog.has_function_privilege('vault.update_secret(uuid,text,text,text,uuid)', 'execute')
     and pg_catalog.has_table_privilege('vault.decrypted_secrets', 'select');
end
$$;
revoke all on function ipai_meta.vault_usable() from public, anon, authenticated;

-- Stores an agent login's password: a Vault secret named ipai_agent_login:<agent id> where Vault is
-- usable (updated in place if the agent already has one), else the table column.
create or replace function ipai_meta.agent_store_password(agent uuid, login text, secret text) returns void
  language plpgsql
  security definer
  set search_path = ''
as $$
declare
  old uuid;
  vid uuid;
  present boolean := false;
begin
  select c.vault_secret_id into old from public.ipai_agent_credential c where c.agent_id = agent;
  if ipai_meta.vault_usable() then
    if old is not null then
      execute 'select exists (select 1 from vault.decrypted_secrets where id = $1)' into present using old;
    end if;
    if present then
      execute 'select vault.update_secret($1, $2)' using old, secret;
      vid := old;
    else
      execute 'select vault.create_secret($1, $2, $3)' into vid
        using secret, 'ipai_agent_login:' || agent::text, pg_catalog.format('IPAI Agent Guard: password of the database login %s', login);
    end if;
    insert into public.ipai_agent_credential as c (agent_id, login_name, password, vault_secret_id)
    values (agent, login, null, vid)
    on conflict (agent_id) do update set password = null, vault_secret_id = excluded.vault_secret_id, rotated_at = now();
  else
    insert into public.ipai_agent_credential as c (agent_id, login_name, password, vault_secret_id)
    values (agent, login, secret, null)
    on conflict (agent_id) do update set password = excluded.password, vault_secret_id = null, rotated_at = now();
  end if;
end
$$;
revoke all on function ipai_meta.agent_store_password(uuid, text, text) from public, anon, authenticated;

-- The one way the guard gets an agent's login and password (to connect as the agent).
create or replace function ipai_meta.agent_credential(agent uuid) returns table (login_name text, password text)
  language plpgsql
  security definer
  set search_path = ''
as $$
declare
  cred public.ipai_agent_credential;
  secret text;
begin
  select * into cred from public.ipai_agent_credential c where c.agent_id = agent;
  if not found then
    return;
  end if;
  if cred.vault_secret_id is null then
    return query select cred.login_name, cred.password;
    return;
  end if;
  if pg_catalog.to_regclass('vault.decrypted_secrets') is null then
    raise exception 'the password of % is kept in Supabase Vault, which is not installed in this database', cred.login_name
      using errcode = 'undefined_table';
  end if;
  execute 'select decrypted_secret from vault.decrypted_secrets where id = $1' into secret using cred.vault_secret_id;
  if secret is null then
    raise exception 'the Vault secret holding the password of % is missing; run Update on the agent to give it a new password', cred.login_name
      using errcode = 'no_data_found';
  end if;
  return query select cred.login_name, secret;
end
$$;
revoke all on function ipai_meta.agent_credential(uuid) from public, anon, authenticated;
grant execute on function ipai_meta.agent_credential(uuid) to ipai_guard;

-- The grants of agent_sync: creates or updates the agent's login and makes its privileges exactly
-- its scope: revokes what
-- it holds anywhere in the lakehouse, then grants USAGE/SELECT (and an RLS read policy) on the
-- scope. An inactive agent's login is NOLOGIN with nothing granted. Returns the login name.
-- SECURITY DEFINER because creating roles and policies needs CREATEROLE and table ownership,
-- which the guard login must not have; it acts only on roles named ipai_agent_<code> that it
-- recorded itself in ipai_agent_credential.
-- New logins store their password through agent_store_password; an existing login whose password
-- is still in the table moves to Vault once Vault is usable; one whose Vault secret went missing
-- gets a new password.
create or replace function ipai_meta.agent_sync_grants(agent uuid) returns text
  language plpgsql
  security definer
  set search_path = ''
as $$
declare
  a public.ipai_agent;
  cred public.ipai_agent_credential;
  login text;
  secret text;
  s text;
  rel record;
  lost boolean := false;
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

  select * into cred from public.ipai_agent_credential c where c.agent_id = agent;
  if found and cred.login_name <> login then
    raise exception 'agent % already has login %; code names cannot change', a.code_name, cred.login_name
      using errcode = 'invalid_parameter_value';
  end if;
  if not found then
    if exists (select 1 from pg_catalog.pg_roles where rolname = login) then
      -- Never adopt a role someone else made: it could carry memberships or attributes.
      raise exception 'role % exists but was not created by the agent registry', login
        using errcode = 'duplicate_object';
    end if;
    secret := encode(pg_catalog.sha256(convert_to(gen_random_uuid()::text || gen_random_uuid()::text || clock_timestamp()::text, 'UTF8')), 'hex');
    execute format('create role %I login noinherit nosuperuser nocreatedb nocreaterole noreplication nobypassrls connection limit 8 password %L',
                   login, secret);
    perform ipai_meta.agent_store_password(agent, login, secret);
  else
    if cred.vault_secret_id is not null and pg_catalog.to_regclass('vault.decrypted_secrets') is not null then
      execute 'select not exists (select 1 from vault.decrypted_secrets where id = $1)' into lost using cred.vault_secret_id;
    end if;
    if lost or (cred.vault_secret_id is not null and pg_catalog.to_regclass('vault.decrypted_secrets') is null) then
      secret := encode(pg_catalog.sha256(convert_to(gen_random_uuid()::text || gen_random_uuid()::text || clock_timestamp()::text, 'UTF8')), 'hex');
      execute format('alter role %I password %L', login, secret);
      perform ipai_meta.agent_store_password(agent, login, secret);
    elsif cred.password is not null and ipai_meta.vault_usable() then
      perform ipai_meta.agent_store_password(agent, login, cred.password);
    end if;
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
revoke all on function ipai_meta.agent_sync_grants(uuid) from public, anon, authenticated;

-- Creates or updates the agent's login and makes its privileges exactly its scope, company scope
-- included: agent_sync is what the guard calls; agent_sync_grants, which only agent_sync calls,
-- makes the grants, so no sync can leave wider policies in place.
create or replace function ipai_meta.agent_sync(agent uuid) returns text
  language plpgsql
  security definer
  set search_path = ''
as $$
declare
  login text;
  ids jsonb;
  ids_text text[];
  ids_typed text[];
  rel record;
begin
  login := ipai_meta.agent_sync_grants(agent);
  select a.config -> 'company_ids' into ids from public.ipai_agent a where a.id = agent;
  if ids is null or jsonb_typeof(ids) = 'null' then
    return login;
  end if;
  if jsonb_typeof(ids) <> 'array' then
    raise exception 'config.company_ids of agent % must be a list of company ids', agent using errcode = 'invalid_parameter_value';
  end if;
  select coalesce(array_agg(v #>> '{}' order by v #>> '{}'), '{}') into ids_text from jsonb_array_elements(ids) v;
  for rel in select p.polrelid::regclass as r, a.atttypid::regtype as t
               from pg_catalog.pg_policy p
               join pg_catalog.pg_attribute a on a.attrelid = p.polrelid and a.attname = 'company_id' and not a.attisdropped
              where p.polname = login loop
    if rel.t in ('smallint'::regtype, 'integer'::regtype, 'bigint'::regtype) then
      select coalesce(array_agg(i order by i), '{}') into ids_typed
        from unnest(ids_text) i
       where case when i ~ '^(0|-?[1-9][0-9]{0,18})$'
                  then i::numeric between (case rel.t when 'smallint'::regtype then -32768 when 'integer'::regtype then -2147483648 else -9223372036854775808 end)
                                      and (case rel.t when 'smallint'::regtype then 32767 when 'integer'::regtype then 2147483647 else 9223372036854775807 end)
                  else false end;
      execute format('alter policy %I on %s using (company_id = any (%L::%s[]))', login, rel.r, ids_typed, rel.t);
    else
      execute format('alter policy %I on %s using (company_id::text = any (%L::text[]))', login, rel.r, ids_text);
    end if;
  end loop;
  return login;
end
$$;
revoke all on function ipai_meta.agent_sync(uuid) from public, anon, authenticated;
grant execute on function ipai_meta.agent_sync(uuid) to ipai_guard;

-- The role settings the guard owns, as pg_db_role_setting stores them.
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
