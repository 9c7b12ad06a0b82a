-- Database sources (connector_type 'db') and the rules every connector config is checked against
-- when a scheduled row is written (ipai_meta.connector_config_problems, called by the trigger on
-- ipai_connector_config); the FDW staging path; the replication-lag indexes and SLO.
--
-- The config rules mirror lib/lakehouse/connectorConfig.ts (CONNECTOR_CONFIG_RULES, dbTableProblems);
-- test/integration/connectorConfig.test.ts holds the two to the same answers.

-- Keys that look like a misspelt config field (lib/lakehouse/connectorConfig.ts nearMiss): the
-- same name but for case, `_`, `-` or a plural `s`, or one edit away (an adjacent transposition
-- counts as one) from a field of five letters or more.
create or replace function ipai_meta.config_edit_distance(a text, b text)
returns int
language plpgsql
immutable
set search_path = ''
as $$
declare
  d int[][];
  cost int;
  la int := length(a);
  lb int := length(b);
begin
  d := array_fill(0, array[la + 1, lb + 1]);
  for i in 0..la loop d[i + 1][1] := i; end loop;
  for j in 0..lb loop d[1][j + 1] := j; end loop;
  for i in 1..la loop
    for j in 1..lb loop
      cost := case when substr(a, i, 1) = substr(b, j, 1) then 0 else 1 end;
      d[i + 1][j + 1] := least(d[i][j + 1] + 1, d[i + 1][j] + 1, d[i][j] + cost);
      if i > 1 and j > 1 and substr(a, i, 1) = substr(b, j - 1, 1) and substr(a, i - 1, 1) = substr(b, j, 1) then
        d[i + 1][j + 1] := least(d[i + 1][j + 1], d[i - 1][j - 1] + 1);
      end if;
    end loop;
  end loop;
  return d[la + 1][lb + 1];
end
$$;

create or replace function ipai_meta.config_near_miss_problems(p_values jsonb, p_fields text[], p_at text, p_reader text)
returns text[]
language sql
immutable
set search_path = ''
as $$
  select coalesce(array_agg(format('%s.%s is not read by %s: did you mean %s.%s?', p_at, k.key, p_reader, p_at, m.field) order by k.key collate "C"), '{}')
    from jsonb_object_keys(p_values) k(key)
    cross join lateral (
      select f.field
        from unnest(p_fields) with ordinality f(field, ord),
             lateral (select lower(translate(k.key, '_-', '')) as k, lower(translate(f.field, '_-', '')) as f) n
       where k.key <> all (p_fields)
         and (n.k = n.f or n.k = n.f || 's' or n.k || 's' = n.f
              or (length(n.f) >= 5 and ipai_meta.config_edit_distance(n.k, n.f) <= 1))
       order by f.ord
       limit 1
    ) m
$$;

-- The problems of one element of config.tables, in the order the engine lists them.
-- config.tables[].nullCursor ('warn' or 'fail') says what an incremental sync does about rows whose
-- cursor is NULL (lib/sources/db/config.ts); config.tables[].raw (true or false) whether every bronze
-- row keeps its record in _ipai_raw too, where without it the typed columns are the record
-- (docs/adr/0006-db-bronze-raw-optional.md, lib/sources/db/rawRecord.ts).
create or replace function ipai_meta.db_table_config_problems(p_table jsonb, p_index int, p_engine jsonb)
returns text[]
language sql
immutable
set search_path = ''
as $$
  with at(prefix) as (select format('config.tables[%s]', p_index)),
  t as (select p_table as v, (select prefix from at) as at),
  checks(ord, problem) as (
    select 1, case
      when coalesce(jsonb_typeof(v -> 'table'), 'null') = 'null' then at || '.table is missing (the source table, as schema.table or table)'
      when jsonb_typeof(v -> 'table') <> 'string' or translate(v ->> 'table', E' \t\n\r', '') = ''
        then at || '.table must be a non-empty string (the source table, as schema.table or table)' end from t
    union all
    select 2, case
      when coalesce(jsonb_typeof(v -> 'mode'), 'null') = 'null' then at || '.mode is missing (one of full, incremental, cdc, fdw)'
      when jsonb_typeof(v -> 'mode') <> 'string' or not ((v ->> 'mode') = any (array['full', 'incremental', 'cdc', 'fdw']))
        then at || '.mode must be one of full, incremental, cdc, fdw'
      when v ->> 'mode' = 'fdw' and p_engine is distinct from '"postgres"'::jsonb then at || '.mode fdw needs engine postgres' end from t
    union all
    select 2 + f.ord, case
      when coalesce(jsonb_typeof(v -> f.name), 'null') <> 'null'
       and (jsonb_typeof(v -> f.name) <> 'array' or jsonb_array_length(v -> f.name) = 0
            or exists (select 1 from jsonb_array_elements(v -> f.name) e
                        where jsonb_typeof(e) <> 'string' or translate(e #>> '{}', E' \t\n\r', '') = ''))
        then format('%s.%s must be a non-empty list of column names', at, f.name) end
      from t, (values (1, 'key'), (2, 'cursor')) f(ord, name)
    union all
    select 5, case when v ->> 'mode' = 'incremental' and coalesce(jsonb_typeof(v -> 'cursor'), 'null') = 'null'
                   then at || '.cursor is missing (the cursor column(s) of an incremental table)' end from t
    union all
    select 5 + f.ord, case
      when coalesce(jsonb_typeof(v -> f.name), 'null') <> 'null'
       and case when jsonb_typeof(v -> f.name) <> 'number' then true else (v ->> f.name)::numeric < 0 end
        then format('%s.%s must be a number of at least 0', at, f.name) end
      from t, (values (1, 'lookbackSeconds'), (2, 'deleteScanHours')) f(ord, name)
    union all
    select 8, case
      when coalesce(jsonb_typeof(v -> 'target'), 'null') <> 'null'
       and (jsonb_typeof(v -> 'target') <> 'string' or translate(v ->> 'target', E' \t\n\r', '') = '')
        then at || '.target must be a non-empty string (the bronze table name)' end from t
    union all
    select 9, case
      when coalesce(jsonb_typeof(v -> 'nullCursor'), 'null') <> 'null'
       and (jsonb_typeof(v -> 'nullCursor') <> 'string' or not ((v ->> 'nullCursor') = any (array['warn', 'fail'])))
        then at || '.nullCursor must be one of warn, fail' end from t
    union all
    select 10, case
      when coalesce(jsonb_typeof(v -> 'raw'), 'null') not in ('null', 'boolean')
        then at || '.raw must be true or false (keep every row''s record in _ipai_raw)' end from t
  )
  select case when jsonb_typeof(p_table) is distinct from 'object' then array[(select prefix from at) || ' must be an object']
              else coalesce((select array_agg(problem order by ord) from checks where problem is not null), '{}')
                   || ipai_meta.config_near_miss_problems(p_table,
                        array['table', 'mode', 'key', 'cursor', 'lookbackSeconds', 'deleteScanHours', 'target', 'nullCursor', 'raw'],
                        (select prefix from at), 'database table syncs') end
$$;

create or replace function ipai_meta.connector_config_problems(p_type text, p_config jsonb)
returns text[]
language sql
immutable
set search_path = ''
as $$
  with rules (connector_type, ord, field, kind, required, allowed, pattern, about) as (
    values
      ('*', 1, 'pipeline_webhook', 'string', false, null::text[], null::text, 'the webhook path (or URL) of the workflow that runs this connector'),
      ('*', 2, 'n8n_workflow_id', 'string', false, null, null, 'the id of the workflow that runs this connector'),
      ('odoo', 10, 'models', 'string[]', false, null, null, 'Odoo model names such as account.move'),
      ('odoo', 11, 'mode', 'enum', false, array['incremental', 'full'], null, 'incremental or full'),
      ('github', 10, 'repositories', 'string[]', true, null, '^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$', 'repositories as "owner/name"'),
      ('github', 11, 'streams', 'string[]', false, null, null, 'stream names such as issues'),
      ('file', 10, 'table', 'string', true, null, null, 'the bronze table the files load into'),
      ('file', 11, 'bucket', 'string', false, null, null, 'the bucket (default: the S3 credential''s)'),
      ('file', 12, 'prefix', 'string', false, null, null, 'the key prefix to list'),
      ('file', 13, 'glob', 'string', false, null, null, 'a file name pattern such as *.csv'),
      ('file', 14, 'schema', 'string', false, null, null, 'the bronze schema'),
      ('file', 15, 'keyColumns', 'string', false, null, null, 'comma-separated key columns to merge on'),
      ('file', 16, 'onBadRow', 'enum', false, array['fail', 'skip'], null, 'fail or skip'),
      ('db', 10, 'engine', 'enum', true, array['postgres', 'mysql'], null, 'the source database engine'),
      ('db', 11, 'tables', 'dbTables', true, null, null, 'tables to sync, each {table, mode, key?, cursor?, lookbackSeconds?}'),
      ('db', 12, 'schema', 'string', false, null, null, 'the bronze schema'),
      ('db', 13, 'slot', 'string', false, null, null, 'the replication slot of cdc tables'),
      ('db', 14, 'publication', 'string', false, null, null, 'the publication of cdc tables')
  ),
  checked as (
    select r.ord,
           case
             when coalesce(jsonb_typeof(p_config -> r.field), 'null') = 'null' then
               case when r.required then array[format('config.%s is missing (%s)', r.field, r.about)] end
             when r.kind = 'string' then
               case when jsonb_typeof(p_config -> r.field) <> 'string'
                      or translate(p_config ->> r.field, E' \t\n\r', '') = ''
                    then array[format('config.%s must be a non-empty string (%s)', r.field, r.about)] end
             when r.kind = 'enum' then
               case when jsonb_typeof(p_config -> r.field) <> 'string' or not ((p_config ->> r.field) = any (r.allowed))
                    then array[format('config.%s must be one of %s', r.field, array_to_string(r.allowed, ', '))] end
             when r.kind = 'dbTables' then
               case when jsonb_typeof(p_config -> r.field) <> 'array' or jsonb_array_length(p_config -> r.field) = 0
                    then array[format('config.%s must be a non-empty list of %s', r.field, r.about)]
                    else (select coalesce(array_agg(pr.problem order by e.i, pr.n), '{}')
                            from jsonb_array_elements(p_config -> r.field) with ordinality e(v, i),
                                 unnest(ipai_meta.db_table_config_problems(e.v, (e.i - 1)::int, p_config -> 'engine')) with ordinality pr(problem, n)) end
             else
               case when jsonb_typeof(p_config -> r.field) <> 'array'
                      or jsonb_array_length(p_config -> r.field) = 0
                      or exists (
                           select 1 from jsonb_array_elements(p_config -> r.field) e
                            where jsonb_typeof(e) <> 'string'
                               or translate(e #>> '{}', E' \t\n\r', '') = ''
                               or (r.pattern is not null and (e #>> '{}') !~ r.pattern))
                    then array[format('config.%s must be a non-empty list of %s', r.field, r.about)] end
           end as problems
      from rules r
     where r.connector_type in ('*', p_type)
  )
  select case when jsonb_typeof(p_config) is distinct from 'object' then array['config must be a JSON object']
              else coalesce((select array_agg(p order by c.ord, x.n) from checked c, unnest(c.problems) with ordinality x(p, n)), '{}')
                   || ipai_meta.config_near_miss_problems(p_config,
                        (select array_agg(r.field order by r.ord) from rules r where r.connector_type in ('*', p_type)),
                        'config',
                        case when exists (select 1 from rules r where r.connector_type = p_type) then p_type || ' connectors' else 'connectors' end) end
$$;

comment on function ipai_meta.connector_config_problems(text, jsonb) is
  'What is wrong with a connector config for its type''s pipeline (empty: nothing). Mirrors lib/lakehouse/connectorConfig.ts.';

grant execute on function ipai_meta.connector_config_problems(text, jsonb) to ipai_ingest;
grant execute on function ipai_meta.db_table_config_problems(jsonb, int, jsonb) to ipai_ingest;
grant execute on function ipai_meta.config_near_miss_problems(jsonb, text[], text, text) to ipai_ingest;
grant execute on function ipai_meta.config_edit_distance(text, text) to ipai_ingest;

-- The FDW path -----------------------------------------------------------------------------------
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

-- The metrics endpoint reads each connector's latest run that reports replication lag
-- (metadata.replication: lag_bytes, lag_seconds; see lib/observability/replication.ts). Only runs
-- of database sources carry the key: a partial index keeps that read to those runs, however many
-- runs other connectors have.
create index idx_connector_run_replication
  on public.ipai_connector_run (connector_id, started_at desc)
  where metadata ? 'replication';

-- The replication_lag SLI (lib/slo/sli/replicationLag.ts) counts the runs carrying the key by end time.
create index idx_connector_run_replication_ended
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
   '{"team": "data-platform"}', null);
