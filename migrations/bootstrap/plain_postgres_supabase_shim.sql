-- Supabase shim for PLAIN PostgreSQL only (tests, the local quickstart, a self-hosted server).
-- NEVER apply this to a Supabase project: Supabase already has these roles and functions, and
-- the migration runner skips this file when it finds them (`--supabase-shim auto`, the default).
--
-- It recreates exactly what the migrations rely on, with Supabase's own definitions
-- (supabase/postgres init-scripts/00000000000000-initial-schema.sql; supabase/auth migrations
-- 20220224000811_update_auth_functions and 20220531120530_add_auth_jwt_function):
--   roles anon / authenticated (NOLOGIN NOINHERIT), service_role (BYPASSRLS), authenticator;
--   schema auth with auth.users and auth.uid() / auth.role() / auth.email() / auth.jwt();
--   schema extensions (where Supabase installs extensions).
-- Claims are read from the transaction-local GUC `request.jwt.claims`, which is how PostgREST
-- passes a verified JWT to the database, so RLS tests can impersonate users exactly as PostgREST does.

do $$
declare
  r record;
begin
  for r in select * from (values
    ('anon', 'nologin noinherit'),
    ('authenticated', 'nologin noinherit'),
    ('service_role', 'nologin noinherit bypassrls'),
    ('authenticator', 'login noinherit')
  ) as t(name, options)
  loop
    if not exists (select 1 from pg_roles where rolname = r.name) then
      begin
        execute format('create role %I %s', r.name, r.options);
      exception when duplicate_object then
        null; -- created concurrently by another database's bootstrap on the same cluster
      end;
    end if;
  end loop;
end
$$;

-- Roles, their memberships and settings are the cluster's, shared by every database on it: each
-- statement runs only when its effect is missing, and a bootstrap of another database doing the
-- same at the same moment (PostgreSQL then reports a duplicate key or "tuple concurrently
-- updated") is taken as done, since that session writes the same value.
do $$
declare
  r record;
begin
  for r in select * from (values
    ('grant anon to authenticator',
     exists (select 1 from pg_auth_members m where m.roleid = 'anon'::regrole and m.member = 'authenticator'::regrole)),
    ('grant authenticated to authenticator',
     exists (select 1 from pg_auth_members m where m.roleid = 'authenticated'::regrole and m.member = 'authenticator'::regrole)),
    ('grant service_role to authenticator',
     exists (select 1 from pg_auth_members m where m.roleid = 'service_role'::regrole and m.member = 'authenticator'::regrole)),
    ('alter role anon set statement_timeout = ''3s''',
     exists (select 1 from pg_db_role_setting d where d.setrole = 'anon'::regrole and d.setdatabase = 0 and d.setconfig @> array['statement_timeout=3s'])),
    ('alter role authenticated set statement_timeout = ''8s''',
     exists (select 1 from pg_db_role_setting d where d.setrole = 'authenticated'::regrole and d.setdatabase = 0 and d.setconfig @> array['statement_timeout=8s']))
  ) as t(statement, done)
  loop
    continue when r.done;
    begin
      execute r.statement;
    exception
      when unique_violation then null;
      when internal_error then
        if sqlerrm <> 'tuple concurrently updated' then raise; end if;
    end;
  end loop;
end
$$;

create schema if not exists extensions;
grant usage on schema extensions to anon, authenticated, service_role;

create schema if not exists auth;
grant usage on schema auth to anon, authenticated, service_role;

create table if not exists auth.users (
  id uuid primary key,
  email text,
  phone text,
  raw_app_meta_data jsonb not null default '{}',
  raw_user_meta_data jsonb not null default '{}',
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
revoke all on auth.users from anon, authenticated;

create or replace function auth.uid() returns uuid
  language sql stable
  set search_path = ''
as $$
  select coalesce(
    nullif(current_setting('request.jwt.claim.sub', true), ''),
    (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')
  )::uuid
$$;

create or replace function auth.role() returns text
  language sql stable
  set search_path = ''
as $$
  select coalesce(
    nullif(current_setting('request.jwt.claim.role', true), ''),
    (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'role')
  )::text
$$;

create or replace function auth.email() returns text
  language sql stable
  set search_path = ''
as $$
  select coalesce(
    nullif(current_setting('request.jwt.claim.email', true), ''),
    (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'email')
  )::text
$$;

create or replace function auth.jwt() returns jsonb
  language sql stable
  set search_path = ''
as $$
  select coalesce(
    nullif(current_setting('request.jwt.claim', true), ''),
    nullif(current_setting('request.jwt.claims', true), '')
  )::jsonb
$$;

grant execute on function auth.uid(), auth.role(), auth.email(), auth.jwt() to anon, authenticated, service_role;
