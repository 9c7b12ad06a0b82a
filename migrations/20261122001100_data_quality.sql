-- Data quality expectations: declared as rows, validated by the database when written,
-- enforced by the loader inside each page transaction (row level, on bronze) and by the evaluator
-- after Refresh Transforms or on a schedule (table level, and row level on silver/gold), with
-- every evaluation recorded in ipai_dq_result.
--
-- Validation lives in a trigger, so no path (the node, SQL, a migration, an agent) stores a
-- definition the engine cannot run: the target table and columns must exist, a regex must
-- compile, a range bound must cast to the column's type, and free SQL (`expression`,
-- `custom_sql`) passes lexical rules (one statement, no comments, no DDL/DML words, no backslash
-- or dollar quoting) and then PostgreSQL's own parser: it is compiled into a temporary view whose
-- recorded dependencies name every relation and function it uses, which must be lakehouse
-- relations and allow-listed functions. Compiling a view executes nothing.

create table public.ipai_dq_expectation (
    id uuid primary key default gen_random_uuid(),
    target_table text not null,          -- schema.table (a table or view of a lakehouse layer)
    name text not null,
    kind text not null,
    args jsonb not null default '{}',
    action text not null default 'warn', -- warn: record; drop: reject the rows (bronze loads); fail: roll back, fail the run
    is_enabled boolean not null default true,
    owner text,
    runbook_url text,
    description text,
    accepted_schema jsonb,               -- schema_drift: the last accepted column → type map
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint ipai_dq_expectation_target_name_key unique (target_table, name),
    constraint ipai_dq_expectation_name_check check (name ~ '^[a-z][a-z0-9_]{0,62}$'),
    constraint ipai_dq_expectation_kind_check check (kind in (
      'not_null', 'accepted_values', 'range', 'regex', 'unique', 'relationship', 'expression',
      'row_count', 'volume_anomaly', 'freshness', 'schema_drift', 'custom_sql')),
    constraint ipai_dq_expectation_action_check check (action in ('warn', 'drop', 'fail')),
    constraint ipai_dq_expectation_args_check check (jsonb_typeof(args) = 'object')
);
create index idx_dq_expectation_target on public.ipai_dq_expectation (target_table) where is_enabled;

create table public.ipai_dq_result (
    id bigint generated always as identity primary key,
    expectation_id uuid references public.ipai_dq_expectation(id) on delete cascade,
    run_id uuid references public.ipai_connector_run(id) on delete cascade,  -- the load it ran in (row level on bronze)
    evaluation_id uuid not null,         -- one evaluation pass (every result of one call shares it)
    target_table text not null,
    expectation_name text not null,
    kind text not null,
    action text not null,
    company_id bigint,                   -- set when the target has company_id: analysts of that company read it
    status text not null,                -- pass | warn | dropped | fail | error
    evaluated bigint not null default 0,
    failed bigint not null default 0,
    failing_sample jsonb not null default '[]',   -- up to 10 failing keys, secrets masked
    observed jsonb,                      -- what a table-level check measured (count, z-score, age, drift)
    message text,
    evaluated_at timestamptz not null default now(),
    constraint ipai_dq_result_status_check check (status in ('pass', 'warn', 'dropped', 'fail', 'error')),
    constraint ipai_dq_result_counts_check check (evaluated >= 0 and failed >= 0 and failed <= evaluated),
    constraint ipai_dq_result_sample_check check (jsonb_typeof(failing_sample) = 'array')
);
-- One accumulating row per run and expectation for row-level checks of a load.
create unique index ipai_dq_result_run_expectation_key
  on public.ipai_dq_result (run_id, expectation_id) where run_id is not null;
create index idx_dq_result_expectation_time on public.ipai_dq_result (expectation_id, evaluated_at desc);
create index idx_dq_result_time on public.ipai_dq_result (evaluated_at);

create trigger ipai_dq_expectation_touch before update on public.ipai_dq_expectation
  for each row execute function ipai_meta.touch_updated_at();

-- Validation -------------------------------------------------------------------------------------

create or replace function ipai_meta.dq_row_kinds() returns text[]
  language sql immutable set search_path = ''
as $$ select array['not_null', 'accepted_values', 'range', 'regex', 'unique', 'relationship', 'expression'] $$;

-- Functions free SQL may call (pg_catalog ones; functions of lakehouse schemas are allowed too,
-- and casts: a function named like the type it returns).
create or replace function ipai_meta.dq_allowed_functions() returns text[]
  language sql immutable set search_path = ''
as $$
  select array[
    'abs', 'round', 'trunc', 'floor', 'ceil', 'ceiling', 'sign', 'mod', 'greatest', 'least', 'coalesce', 'nullif',
    'lower', 'upper', 'length', 'char_length', 'octet_length', 'btrim', 'ltrim', 'rtrim', 'substring', 'substr', 'position',
    'strpos', 'left', 'right', 'replace', 'split_part', 'starts_with', 'concat', 'concat_ws', 'lpad', 'rpad', 'initcap',
    'textcat', 'texteq', 'textlike', 'textregexeq', 'date_trunc', 'date_part', 'extract', 'age', 'now', 'statement_timestamp',
    'transaction_timestamp', 'clock_timestamp', 'to_char', 'to_date', 'to_timestamp', 'to_number', 'make_date', 'make_interval',
    'isfinite', 'jsonb_typeof', 'jsonb_array_length', 'jsonb_extract_path_text', 'jsonb_exists', 'json_typeof',
    'array_length', 'cardinality', 'array_position', 'count', 'sum', 'min', 'max', 'avg', 'bool_and', 'bool_or', 'every',
    'stddev', 'variance', 'percentile_cont', 'percentile_disc', 'array_agg', 'string_agg', 'row_number', 'rank', 'dense_rank',
    'lag', 'lead', 'first_value', 'last_value', 'generate_series', 'regexp_like', 'regexp_match', 'regexp_count', 'num_nulls',
    'num_nonnulls', 'date_mi', 'date_pli', 'timestamptz_pl_interval', 'timestamptz_mi_interval', 'interval_mul'
  ]
$$;

-- Lexical rules for free SQL; the first rule broken, or null.
create or replace function ipai_meta.dq_sql_lexical_problem(sql text, allow_select boolean) returns text
  language plpgsql immutable set search_path = ''
as $$
declare
  -- string literals and quoted identifiers removed, so words inside them do not count
  bare text := regexp_replace(regexp_replace(sql, '''([^'']|'''')*''', ' ', 'g'), '"([^"]|"")*"', ' ', 'g');
  word text;
  forbidden constant text[] := array['insert', 'update', 'delete', 'merge', 'drop', 'create', 'alter', 'truncate', 'grant',
    'revoke', 'copy', 'execute', 'call', 'do', 'into', 'lock', 'vacuum', 'analyze', 'analyse', 'comment', 'set', 'reset',
    'listen', 'notify', 'prepare', 'deallocate', 'declare', 'fetch', 'move', 'cluster', 'reindex', 'refresh', 'security',
    'begin', 'commit', 'rollback', 'savepoint', 'release', 'discard', 'load', 'import', 'returning', 'for'];
  -- keywords and type names that may stand before "("
  syntax constant text[] := array['in', 'and', 'or', 'not', 'any', 'all', 'some', 'between', 'exists', 'case', 'when', 'then',
    'else', 'is', 'distinct', 'over', 'filter', 'within', 'partition', 'array', 'row', 'cast', 'using', 'on', 'as', 'like',
    'ilike', 'similar', 'by', 'where', 'join', 'from', 'select', 'values', 'having', 'lateral', 'numeric', 'decimal', 'varchar',
    'char', 'character', 'timestamp', 'timestamptz', 'time', 'interval', 'float', 'bit', 'trim'];
  call text[];
begin
  if sql is null or btrim(sql) = '' then return 'is empty'; end if;
  if length(sql) > 8000 then return 'is longer than 8000 characters'; end if;
  if position(';' in bare) > 0 then return 'contains a semicolon: one statement or expression only'; end if;
  if position('--' in bare) > 0 or position('/*' in bare) > 0 then return 'contains a comment (-- or /*)'; end if;
  if position('\' in sql) > 0 then return 'contains a backslash (escape strings are not allowed)'; end if;
  if position('$' in sql) > 0 then return 'contains $ (dollar quoting and parameters are not allowed)'; end if;
  if (length(sql) - length(replace(sql, '''', ''))) % 2 = 1 then return 'has an unterminated string'; end if;
  for word in select lower(m[1]) from regexp_matches(bare, '([A-Za-z_][A-Za-z0-9_]*)', 'g') as m loop
    if word = any (forbidden) then return format('uses %s, which is not allowed (no DDL or DML)', upper(word)); end if;
    if not allow_select and word in ('select', 'from', 'with', 'union', 'exists', 'table', 'values') then
      return format('uses %s: an expression is over the row only (use custom_sql or relationship for other tables)', upper(word));
    end if;
    if word ~ '^pg_' then return format('uses %s (system catalogs and functions are not allowed)', word); end if;
  end loop;
  -- Calls: PostgreSQL records no dependency on built-in (pinned) functions, so the names called are
  -- read here; a quoted name before "(" could hide one and is refused.
  if sql ~ '"([^"]|"")*"\s*\(' then return 'calls a function by a quoted name'; end if;
  for call in select m from regexp_matches(bare, '(([A-Za-z_][A-Za-z0-9_]*)\s*\.\s*)?([A-Za-z_][A-Za-z0-9_]*)\s*\(', 'g') as m loop
    word := lower(call[3]);
    if call[2] is not null then
      if coalesce(ipai_meta.layer_of(lower(call[2])), '') not in ('gold', 'platinum') then
        return format('calls %s.%s(), outside the gold and platinum layers', call[2], call[3]);
      end if;
    elsif not (word = any (ipai_meta.dq_allowed_functions()) or word = any (syntax)) then
      return format('calls %s(), which is not on the allow-list', word);
    end if;
  end loop;
  if allow_select and lower(btrim(bare)) !~ '^(select|with)\M' then return 'must be a SELECT query'; end if;
  return null;
end
$$;

-- Compiles free SQL into a temporary view and checks what PostgreSQL recorded it depends on.
create or replace function ipai_meta.dq_sql_dependency_problem(query text, boolean_column text default null) returns text
  language plpgsql volatile set search_path = ''
as $$
declare
  view_oid oid;
  bad text;
begin
  begin
    execute 'create temporary view ipai_dq_probe as ' || query;
    view_oid := 'pg_temp.ipai_dq_probe'::regclass;
    if boolean_column is not null then
      select format('is of type %s, not boolean', pg_catalog.format_type(a.atttypid, a.atttypmod)) into bad
        from pg_catalog.pg_attribute a
       where a.attrelid = view_oid and a.attname = boolean_column and a.atttypid <> 'pg_catalog.bool'::pg_catalog.regtype;
    end if;
    if bad is null then
      select format('reads %I.%I, outside the lakehouse layers', n.nspname, c.relname) into bad
        from pg_catalog.pg_rewrite r
        join pg_catalog.pg_depend d on d.classid = 'pg_catalog.pg_rewrite'::regclass and d.objid = r.oid
        join pg_catalog.pg_class c on d.refclassid = 'pg_catalog.pg_class'::regclass and c.oid = d.refobjid
        join pg_catalog.pg_namespace n on n.oid = c.relnamespace
       where r.ev_class = view_oid and c.oid <> view_oid
         and coalesce(ipai_meta.layer_of(n.nspname), '') not in ('bronze', 'silver', 'gold', 'platinum')
       limit 1;
    end if;
    if bad is null then
      select format('calls %I.%I(), which is not on the allow-list', n.nspname, p.proname) into bad
        from pg_catalog.pg_rewrite r
        join pg_catalog.pg_depend d on d.classid = 'pg_catalog.pg_rewrite'::regclass and d.objid = r.oid
        join pg_catalog.pg_proc p on d.refclassid = 'pg_catalog.pg_proc'::regclass and p.oid = d.refobjid
        join pg_catalog.pg_namespace n on n.oid = p.pronamespace
        join pg_catalog.pg_type t on t.oid = p.prorettype
       where r.ev_class = view_oid
         and not (n.nspname = 'pg_catalog' and (p.proname = any (ipai_meta.dq_allowed_functions()) or p.proname = t.typname))
         and ipai_meta.layer_of(n.nspname) is distinct from 'gold' and ipai_meta.layer_of(n.nspname) is distinct from 'platinum'
       limit 1;
    end if;
    execute 'drop view pg_temp.ipai_dq_probe';
  exception when others then
    begin
      execute 'drop view if exists pg_temp.ipai_dq_probe';
    exception when others then null;
    end;
    return 'does not compile: ' || sqlerrm;
  end;
  return bad;
end
$$;

-- Column → type of a relation (columns of views too), null when it does not exist.
create or replace function ipai_meta.dq_columns(target text) returns jsonb
  language sql stable set search_path = ''
as $$
  select case when to_regclass(target) is null then null else
    (select coalesce(jsonb_object_agg(a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod)), '{}')
       from pg_catalog.pg_attribute a where a.attrelid = to_regclass(target) and a.attnum > 0 and not a.attisdropped) end
$$;

-- The first problem of a definition, as a sentence, or null when the engine can run it.
create or replace function ipai_meta.dq_expectation_problem(target text, kind text, args jsonb, action text) returns text
  language plpgsql volatile set search_path = ''
as $$
declare
  rel regclass := to_regclass(target);
  schema_name text;
  cols jsonb;
  col text;
  columns text[];
  problem text;
  to_cols jsonb;
  to_names text[];
  type_name text;
  bound text;
begin
  if rel is null or target !~ '^[a-z_][a-z0-9_]*\.[a-z_][a-z0-9_]*$' then
    return format('target table %s does not exist (give schema.table of an existing lakehouse table)', coalesce(target, 'null'));
  end if;
  select n.nspname into schema_name from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace where c.oid = rel;
  if ipai_meta.layer_of(schema_name) not in ('bronze', 'silver', 'gold', 'platinum') then
    return format('target table %s is not in a lakehouse layer (ipai_bronze_*, ipai_silver_*, ipai_gold_*, ipai_platinum_*)', target);
  end if;
  if action = 'drop' and (ipai_meta.layer_of(schema_name) <> 'bronze' or not kind = any (ipai_meta.dq_row_kinds())) then
    return 'action drop applies to row-level expectations on bronze tables (rows are dropped as they load)';
  end if;
  cols := ipai_meta.dq_columns(target);

  -- columns named by the arguments must exist
  columns := case
    when args ? 'columns' and jsonb_typeof(args -> 'columns') = 'array' then array(select jsonb_array_elements_text(args -> 'columns'))
    when args ? 'column' then array[args ->> 'column']
    else array[]::text[] end;
  if kind in ('not_null', 'unique', 'relationship') and cardinality(columns) = 0 then
    return format('%s needs args.columns (a list of column names) or args.column', kind);
  end if;
  if kind in ('accepted_values', 'range', 'regex') and not (args ? 'column') then
    return format('%s needs args.column', kind);
  end if;
  foreach col in array columns loop
    if col is null or not cols ? col then return format('column %s does not exist in %s', coalesce(col, 'null'), target); end if;
  end loop;

  case kind
  when 'accepted_values' then
    if jsonb_typeof(args -> 'values') is distinct from 'array' or jsonb_array_length(args -> 'values') = 0 then
      return 'accepted_values needs args.values, a non-empty list';
    end if;
    begin
      execute format('select %L::%s[]', array(select jsonb_array_elements_text(args -> 'values'))::text, cols ->> (args ->> 'column'));
    exception when others then
      return format('args.values do not fit column %s (%s): %s', args ->> 'column', cols ->> (args ->> 'column'), sqlerrm);
    end;
  when 'range' then
    if not (args ? 'min' or args ? 'max') then return 'range needs args.min, args.max or both'; end if;
    type_name := cols ->> (args ->> 'column');
    foreach bound in array array['min', 'max'] loop
      if args ? bound then
        begin
          execute format('select %L::%s', args ->> bound, type_name);
        exception when others then
          return format('args.%s (%s) does not fit column %s (%s): %s', bound, args ->> bound, args ->> 'column', type_name, sqlerrm);
        end;
      end if;
    end loop;
    if coalesce(jsonb_typeof(args -> 'min_inclusive'), 'boolean') <> 'boolean' or coalesce(jsonb_typeof(args -> 'max_inclusive'), 'boolean') <> 'boolean' then
      return 'args.min_inclusive and args.max_inclusive are true or false';
    end if;
  when 'regex' then
    if jsonb_typeof(args -> 'pattern') is distinct from 'string' then return 'regex needs args.pattern, a string'; end if;
    begin
      perform '' ~ (args ->> 'pattern');
    exception when others then
      return format('args.pattern is not a valid regular expression: %s', sqlerrm);
    end;
  when 'relationship' then
    if jsonb_typeof(args -> 'to_table') is distinct from 'string' then return 'relationship needs args.to_table (schema.table)'; end if;
    to_cols := ipai_meta.dq_columns(args ->> 'to_table');
    if to_cols is null then return format('args.to_table %s does not exist', args ->> 'to_table'); end if;
    if ipai_meta.layer_of(split_part(args ->> 'to_table', '.', 1)) is null or ipai_meta.layer_of(split_part(args ->> 'to_table', '.', 1)) = 'control' then
      return format('args.to_table %s is not in a lakehouse layer', args ->> 'to_table');
    end if;
    if jsonb_typeof(coalesce(args -> 'to_columns', args -> 'to_column')) not in ('array', 'string') then
      return 'relationship needs args.to_columns (or args.to_column), matching args.columns';
    end if;
    to_names := case when args ? 'to_columns' then array(select jsonb_array_elements_text(args -> 'to_columns'))
                     else array[args ->> 'to_column'] end;
    foreach col in array to_names loop
      if not to_cols ? col then return format('column %s does not exist in %s', col, args ->> 'to_table'); end if;
    end loop;
    if cardinality(columns) <> cardinality(to_names) then
      return 'args.columns and args.to_columns must have the same length';
    end if;
  when 'expression' then
    if jsonb_typeof(args -> 'expression') is distinct from 'string' then return 'expression needs args.expression, a string'; end if;
    problem := ipai_meta.dq_sql_lexical_problem(args ->> 'expression', false);
    if problem is not null then return 'args.expression ' || problem; end if;
    problem := ipai_meta.dq_sql_dependency_problem(format('select (%s) as ok from %s', args ->> 'expression', target), 'ok');
    if problem is not null then return 'args.expression ' || problem; end if;
  when 'custom_sql' then
    if jsonb_typeof(args -> 'query') is distinct from 'string' then return 'custom_sql needs args.query, a SELECT returning the failing rows'; end if;
    problem := ipai_meta.dq_sql_lexical_problem(args ->> 'query', true);
    if problem is not null then return 'args.query ' || problem; end if;
    problem := ipai_meta.dq_sql_dependency_problem(args ->> 'query');
    if problem is not null then return 'args.query ' || problem; end if;
  when 'row_count' then
    if not (args ? 'min' or args ? 'max') or coalesce(jsonb_typeof(args -> 'min'), 'number') <> 'number'
       or coalesce(jsonb_typeof(args -> 'max'), 'number') <> 'number' then
      return 'row_count needs args.min and/or args.max (numbers)';
    end if;
  when 'volume_anomaly' then
    if coalesce(jsonb_typeof(args -> 'threshold'), 'number') <> 'number' or coalesce((args ->> 'threshold')::numeric, 1) <= 0
       or coalesce(jsonb_typeof(args -> 'min_history'), 'number') <> 'number' or coalesce((args ->> 'min_history')::numeric, 5) < 3
       or coalesce(jsonb_typeof(args -> 'history'), 'number') <> 'number' then
      return 'volume_anomaly takes args.threshold (> 0, robust z-score, default 3.5), args.min_history (>= 3, default 5) and args.history (default 20)';
    end if;
  when 'freshness' then
    if args ? 'column' then null; elsif not cols ? '_ipai_extracted_at' then
      return format('freshness needs args.column (a timestamp column): %s has no _ipai_extracted_at', target);
    end if;
    begin
      if (args ->> 'max_age')::interval <= interval '0' then return 'args.max_age must be positive'; end if;
    exception when others then
      return 'freshness needs args.max_age, an interval such as "6 hours"';
    end;
    if args ->> 'max_age' is null then return 'freshness needs args.max_age, an interval such as "6 hours"'; end if;
  else
    null;
  end case;
  return null;
end
$$;

create or replace function ipai_meta.dq_validate_expectation() returns trigger
  language plpgsql set search_path = ''
as $$
declare
  problem text := ipai_meta.dq_expectation_problem(new.target_table, new.kind, new.args, new.action);
begin
  if problem is not null then
    raise exception 'Expectation %.% refused: %', new.target_table, new.name, problem
      using errcode = 'check_violation', hint = 'Fix the definition; nothing was stored.';
  end if;
  return new;
end
$$;

create trigger ipai_dq_expectation_validate
  before insert or update of target_table, kind, args, action on public.ipai_dq_expectation
  for each row execute function ipai_meta.dq_validate_expectation();

grant execute on function ipai_meta.dq_row_kinds(), ipai_meta.dq_allowed_functions(), ipai_meta.dq_columns(text),
  ipai_meta.dq_sql_lexical_problem(text, boolean), ipai_meta.dq_sql_dependency_problem(text, text),
  ipai_meta.dq_expectation_problem(text, text, jsonb, text)
  to authenticated, service_role, ipai_ingest, ipai_transform;

-- Security ---------------------------------------------------------------------------------------

do $$
declare
  t text;
begin
  foreach t in array array['ipai_dq_expectation', 'ipai_dq_result'] loop
    perform ipai_meta.secure_relation(format('public.%I', t)::regclass);
    execute format('grant select on public.%I to authenticated', t);
    execute format($p$create policy ipai_staff_read on public.%I for select to authenticated
                      using ((select ipai_meta.jwt_role()) = any (array['admin', 'data_engineer'])) $p$, t);
    -- Loads enforce and record; refreshes evaluate and record.
    execute format('grant select, insert, update, delete on public.%I to ipai_ingest, ipai_transform', t);
    execute format('create policy ipai_engine_all on public.%I for all to ipai_ingest, ipai_transform using (true) with check (true)', t);
  end loop;
end
$$;
-- Analysts read the results about their companies.
create policy ipai_company_read on public.ipai_dq_result for select to authenticated
  using ((select ipai_meta.jwt_role()) = 'analyst' and company_id is not null
         and (select ipai_meta.jwt_company_ids()) @> array[company_id::text]);

-- Seeds -----------------------------------------------------------------------------------------
-- The data_quality SLOs, and expectations for what this package ships (finance gold, Odoo and
-- GitHub bronze). Each seeded definition passes the validation trigger like any other.

-- The data_quality SLI: share of evaluations passing per expectation ---------------------------

-- labels.dq_action picks the expectations an SLO watches: fail → a page when one trips; warn →
-- a ticket when an expectation warned on each of its last `warning_runs` evaluations, or a
-- volume anomaly was found, within `run_window`.
insert into public.ipai_slo (code_name, description, sli_type, objective, period, params, labels, runbook_url)
values
  ('dq-fail-expectations',
   'Per expectation with action fail: pages when a load or evaluation tripped it (the page or refresh was rolled back); 99% of evaluations pass over 7 days.',
   'data_quality', 0.99, interval '7 days',
   '{"run_window": "1 hour", "page_repeat_interval": "4 hours"}',
   '{"team": "data-platform", "dq_action": "fail"}', null),
  ('dq-warn-expectations',
   'Per expectation with action warn or drop: a ticket when it failed on each of its last 3 evaluations, or when a volume anomaly was found; 95% of evaluations pass over 7 days.',
   'data_quality', 0.95, interval '7 days',
   '{"warning_runs": 3, "run_window": "1 day", "ticket_repeat_interval": "1 day"}',
   '{"team": "data-platform", "dq_action": "warn"}', null);

-- Seeded expectations for what this package ships ------------------------------------------------

insert into public.ipai_dq_expectation (target_table, name, kind, args, action, owner, runbook_url, description)
values
  -- finance gold
  ('ipai_gold_erp.account_balance_daily', 'balance_sheet_balances', 'custom_sql',
   jsonb_build_object('query',
     'select connector_id, company_id, date, imbalance from ('
     ' select connector_id, company_id, date,'
     ' sum(sum(balance)) over (partition by connector_id, company_id order by date) as imbalance'
     ' from ipai_gold_erp.account_balance_daily'
     ' where account_group in (''asset'', ''liability'', ''equity'', ''income'', ''expense'')'
     ' group by connector_id, company_id, date) s where round(imbalance, 2) <> 0',
     'key', jsonb_build_array('connector_id', 'company_id', 'date')),
   'fail', 'finance', 'https://github.com/ipai/n8n-nodes-ipai-lakehouse#data-quality',
   'Assets = liabilities + equity (with earnings) per company and date, to the cent'),
  ('ipai_gold_erp.profit_and_loss', 'pnl_totals_equal_lines', 'custom_sql',
   jsonb_build_object('query',
     'select connector_id, company_id, month, p.total as pnl_total, l.total as lines_total from'
     ' (select connector_id, company_id, month, sum(amount) as total from ipai_gold_erp.profit_and_loss group by 1, 2, 3) p'
     ' full join (select connector_id, company_id, date_trunc(''month'', date)::date as month, sum(-balance) as total'
     ' from ipai_silver_erp.journal_items where account_group in (''income'', ''expense'') and company_id is not null'
     ' and account_id is not null group by 1, 2, 3) l using (connector_id, company_id, month)'
     ' where round(coalesce(p.total, 0), 2) <> round(coalesce(l.total, 0), 2)',
     'key', jsonb_build_array('connector_id', 'company_id', 'month')),
   'warn', 'finance', 'https://github.com/ipai/n8n-nodes-ipai-lakehouse#data-quality',
   'P&L totals per company and month equal the sum of their journal lines, to the cent'),
  ('ipai_gold_erp.open_items', 'no_negative_invoice_residual', 'expression',
   jsonb_build_object('expression', 'move_type not in (''out_invoice'', ''in_invoice'') or amount_open >= 0',
                      'key', jsonb_build_array('connector_id', 'line_id')),
   'warn', 'finance', 'https://github.com/ipai/n8n-nodes-ipai-lakehouse#data-quality',
   'No open item of an invoice or vendor bill has a negative residual'),
  ('ipai_silver_erp.journal_items', 'move_line_account_exists', 'relationship',
   jsonb_build_object('columns', jsonb_build_array('connector_id', 'account_id'), 'to_table', 'ipai_silver_erp.accounts',
                      'to_columns', jsonb_build_array('connector_id', 'account_id'), 'key', jsonb_build_array('connector_id', 'line_id')),
   'warn', 'finance', 'https://github.com/ipai/n8n-nodes-ipai-lakehouse#data-quality',
   'Every posted move line''s account exists in the chart of accounts'),
  ('ipai_gold_erp.dso_dpo', 'dso_dpo_within_bounds', 'expression',
   jsonb_build_object('expression', 'coalesce(dso_days between 0 and 365, true) and coalesce(dpo_days between 0 and 365, true)',
                      'key', jsonb_build_array('connector_id', 'company_id', 'month')),
   'warn', 'finance', 'https://github.com/ipai/n8n-nodes-ipai-lakehouse#data-quality',
   'DSO and DPO stay between 0 and 365 days'),
  -- bronze, enforced in every load's page transaction
  ('ipai_bronze_erp.odoo_account_move_line', 'move_line_keys_not_null', 'not_null',
   '{"columns": ["move_id"]}', 'warn', 'data-platform', 'https://github.com/ipai/n8n-nodes-ipai-lakehouse#data-quality',
   'Every journal item belongs to a journal entry'),
  ('ipai_bronze_erp.odoo_account_move', 'write_date_not_in_future', 'expression',
   '{"expression": "write_date is null or write_date <= now() + interval ''5 minutes''"}', 'warn', 'data-platform',
   'https://github.com/ipai/n8n-nodes-ipai-lakehouse#data-quality', 'Odoo''s write_date is not in the future (clock skew or bad data)'),
  ('ipai_bronze_erp.odoo_account_move_line', 'write_date_not_in_future', 'expression',
   '{"expression": "write_date is null or write_date <= now() + interval ''5 minutes''"}', 'warn', 'data-platform',
   'https://github.com/ipai/n8n-nodes-ipai-lakehouse#data-quality', 'Odoo''s write_date is not in the future (clock skew or bad data)'),
  ('ipai_bronze_devops.github_workflow_runs', 'workflow_run_keys_not_null', 'not_null',
   '{"columns": ["repository_id", "workflow_id", "run_number"]}', 'warn', 'data-platform',
   'https://github.com/ipai/n8n-nodes-ipai-lakehouse#data-quality', 'Every workflow run names its repository, workflow and number'),
  ('ipai_bronze_devops.github_workflow_runs', 'workflow_run_number_unique', 'unique',
   '{"columns": ["workflow_id", "run_number", "run_attempt"]}', 'warn', 'data-platform',
   'https://github.com/ipai/n8n-nodes-ipai-lakehouse#data-quality', 'One run per workflow, run number and attempt'),
  ('ipai_bronze_devops.github_workflow_runs', 'workflow_run_conclusion_documented', 'accepted_values',
   '{"column": "conclusion", "values": ["success", "failure", "neutral", "cancelled", "skipped", "timed_out", "action_required", "stale", "startup_failure"]}',
   'warn', 'data-platform', 'https://github.com/ipai/n8n-nodes-ipai-lakehouse#data-quality',
   'A completed run''s conclusion is one of GitHub''s documented values (null while in progress)'),
  ('ipai_bronze_erp.odoo_account_move_line', 'move_line_volume', 'volume_anomaly',
   '{"threshold": 3.5, "min_history": 5, "history": 20}', 'warn', 'data-platform',
   'https://github.com/ipai/n8n-nodes-ipai-lakehouse#data-quality', 'Rows written per run against the trailing 20 runs (robust z-score)');
