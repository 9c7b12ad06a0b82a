-- Lakehouse layers, the product's least-privilege group roles, and the one function that secures
-- every relation of the lakehouse (RLS, grants, owner, security_invoker) by its layer.
--
-- Group roles (NOLOGIN; grant them to real logins):
--   ipai_ingest     lands data: creates and writes bronze tables, writes the run ledger and state.
--   ipai_transform  builds silver/gold/platinum from bronze and refreshes them; owns those objects.
--   ipai_read       read-only BI / app access to gold and platinum.
-- n8n connects as a login that is a member of ipai_ingest (and of ipai_transform for the Refresh
-- operation), never as a superuser. Supabase's own roles (anon, authenticated, service_role) see
-- only what RLS policies allow; claims come from the JWT's app_metadata, which users cannot edit:
--   app_metadata.ipai_role     admin | data_engineer | analyst
--   app_metadata.company_ids   companies an analyst may see in tables that have a company_id column

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
