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
