-- Company scope compared in company_id's own type. `company_id::text = any (<ids>)` converts every
-- row's company_id to text before comparing, which made the scope the dearest part of a scan of a
-- gold model; on integer company_id columns the policy now compares integers. It admits exactly
-- the rows it admitted before: an id equalled company_id::text only when written as PostgreSQL
-- writes that integer (no sign on positives, no leading zeros, inside the type's range), so those
-- ids are kept and the others, which matched no row, are left out. Other company_id types keep the
-- text comparison.

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

-- Existing agents with a company list get the typed policies now.
do $$
declare
  a record;
begin
  for a in select id from public.ipai_agent where config ? 'company_ids' loop
    perform ipai_meta.agent_sync(a.id);
  end loop;
end
$$;
