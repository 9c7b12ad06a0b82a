-- The problems of one element of config.tables, now with config.tables[].raw (true or false):
-- whether every bronze row of the table keeps its record in _ipai_raw too; without it the typed
-- columns are the record (docs/adr/0006-db-bronze-raw-optional.md, lib/sources/db/rawRecord.ts).
-- Mirrors dbTableProblems in lib/lakehouse/connectorConfig.ts; test/integration/connectorConfig.test.ts
-- holds the two to the same answers.
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
