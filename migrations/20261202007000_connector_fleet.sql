-- A fleet of connectors on n8n queue mode (issue 23).
--
-- 1. At-least-once dispatch. A claimed tick is a delivery to hand to a pipeline, not a promise
--    that one started: the claim carries an id and a deadline. A claim that has not turned into a
--    run of its connector (any status, `skipped` included) by its deadline is handed out again by
--    the next dispatcher tick; the pipeline's "accept" step records which execution and worker took
--    it, so a second delivery of the same claim is recorded as `skipped`, never run twice.
-- 2. Bad rows reported once: the problem a row has (no pipeline, invalid config or schedule) and
--    a hash of the row it was found on, so the report repeats only when the row changes or after
--    a quiet period.
-- 3. Config validation when a scheduled row is written (lib/lakehouse/connectorConfig.ts holds the
--    same rules; test/integration/connectorConfig.test.ts holds the two to the same answers).

alter table public.ipai_connector_dispatch
    add column if not exists claim_id uuid,
    add column if not exists claim_deadline timestamptz,
    add column if not exists deliveries integer not null default 0,
    add column if not exists delivered_at timestamptz,
    add column if not exists accepted_at timestamptz,
    add column if not exists accepted_by text,
    add column if not exists accepted_execution_id text,
    add column if not exists problem text,
    add column if not exists problem_row_hash text,
    add column if not exists problem_reported_at timestamptz;

comment on column public.ipai_connector_dispatch.claim_id is
  'The current claim (one per tick); kept across redeliveries so a pipeline can tell a second delivery from a new tick.';
comment on column public.ipai_connector_dispatch.claim_deadline is
  'A claim without a run of its connector started since dispatched_at is handed out again after this time.';
comment on column public.ipai_connector_dispatch.delivered_at is
  'When n8n''s main queued the delivery (its webhook answered); a queued claim gets the long deadline.';
comment on column public.ipai_connector_dispatch.accepted_by is
  'The host/pid of the n8n worker whose pipeline execution accepted the claim.';

-- The dispatcher looks for overdue claims every tick.
create index if not exists idx_connector_dispatch_deadline
  on public.ipai_connector_dispatch (claim_deadline) where claim_id is not null;

-- Problems with a connector's config for its type's pipeline: one text per problem, in rule order.
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
      ('file', 16, 'onBadRow', 'enum', false, array['fail', 'skip'], null, 'fail or skip')
  ),
  checked as (
    select r.ord,
           case
             when coalesce(jsonb_typeof(p_config -> r.field), 'null') = 'null' then
               case when r.required then format('config.%s is missing (%s)', r.field, r.about) end
             when r.kind = 'string' then
               case when jsonb_typeof(p_config -> r.field) <> 'string'
                      or translate(p_config ->> r.field, E' \t\n\r', '') = ''
                    then format('config.%s must be a non-empty string (%s)', r.field, r.about) end
             when r.kind = 'enum' then
               case when jsonb_typeof(p_config -> r.field) <> 'string' or not ((p_config ->> r.field) = any (r.allowed))
                    then format('config.%s must be one of %s', r.field, array_to_string(r.allowed, ', ')) end
             else
               case when jsonb_typeof(p_config -> r.field) <> 'array'
                      or jsonb_array_length(p_config -> r.field) = 0
                      or exists (
                           select 1 from jsonb_array_elements(p_config -> r.field) e
                            where jsonb_typeof(e) <> 'string'
                               or translate(e #>> '{}', E' \t\n\r', '') = ''
                               or (r.pattern is not null and (e #>> '{}') !~ r.pattern))
                    then format('config.%s must be a non-empty list of %s', r.field, r.about) end
           end as problem
      from rules r
     where r.connector_type in ('*', p_type)
  )
  select case when jsonb_typeof(p_config) is distinct from 'object' then array['config must be a JSON object']
              else coalesce((select array_agg(problem order by ord) from checked where problem is not null), '{}') end
$$;

comment on function ipai_meta.connector_config_problems(text, jsonb) is
  'What is wrong with a connector config for its type''s pipeline (empty: nothing). Mirrors lib/lakehouse/connectorConfig.ts.';

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

drop trigger if exists ipai_connector_config_check on public.ipai_connector_config;
create trigger ipai_connector_config_check
  before insert or update of connector_type, config, schedule, is_enabled on public.ipai_connector_config
  for each row execute function ipai_meta.connector_config_check();

grant execute on function ipai_meta.connector_config_problems(text, jsonb) to ipai_ingest;
