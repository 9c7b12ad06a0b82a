-- Database sources: the FDW path and the replication-lag SLO.
--
-- postgres_fdw (where the server has it): tables of a PostgreSQL source reachable from the
-- lakehouse are imported as foreign tables into ipai_fdw_staging and merged into bronze inside
-- the database. The ingest role may create foreign servers and user mappings (the password comes
-- from the n8n credential at run time) and foreign tables in the staging schema only.

do $$
begin
  if exists (select 1 from pg_available_extensions where name = 'postgres_fdw') then
    execute 'create extension if not exists postgres_fdw with schema extensions';
    execute 'grant usage on foreign data wrapper postgres_fdw to ipai_ingest';
  end if;
end
$$;

create schema if not exists ipai_fdw_staging;
comment on schema ipai_fdw_staging is
  'Foreign tables of db connectors in mode fdw (postgres_fdw), recreated by each sync; read only by the sync itself.';
revoke all on schema ipai_fdw_staging from public;
grant usage, create on schema ipai_fdw_staging to ipai_ingest;
