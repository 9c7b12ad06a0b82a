-- Company scope of agents: an agent whose config names company_ids reads only those companies'
-- rows. The agent's own policies (one per relation in its scope, created by agent_sync) keep
-- `using (true)` on relations without a company_id column and become
-- `using (company_id::text = any (<ids>))` on relations with one, so PostgreSQL enforces the
-- scope for every statement the agent's login runs, whatever tool sent it.
--
-- agent_sync keeps its name and callers; the grants it made so far move to agent_sync_grants,
-- which only agent_sync calls, so no sync can leave the wider policies in place.

alter function ipai_meta.agent_sync(uuid) rename to agent_sync_grants;
revoke all on function ipai_meta.agent_sync_grants(uuid) from public, anon, authenticated, ipai_guard;

create or replace function ipai_meta.agent_sync(agent uuid) returns text
  language plpgsql
  security definer
  set search_path = ''
as $$
declare
  login text;
  ids jsonb;
  ids_text text[];
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
  for rel in select p.polrelid::regclass as r
               from pg_catalog.pg_policy p
              where p.polname = login
                and exists (select 1 from pg_catalog.pg_attribute a
                             where a.attrelid = p.polrelid and a.attname = 'company_id' and not a.attisdropped) loop
    execute format('alter policy %I on %s using (company_id::text = any (%L::text[]))', login, rel.r, ids_text);
  end loop;
  return login;
end
$$;
revoke all on function ipai_meta.agent_sync(uuid) from public, anon, authenticated;
grant execute on function ipai_meta.agent_sync(uuid) to ipai_guard;

-- Existing agents with a company list get their scope now.
do $$
declare
  a record;
begin
  for a in select id from public.ipai_agent where config ? 'company_ids' loop
    perform ipai_meta.agent_sync(a.id);
  end loop;
end
$$;

-- The guard serves model-bound tools: it reads the semantic models (never writes them).
grant select on public.ipai_semantic_model to ipai_guard;
drop policy if exists ipai_guard_read on public.ipai_semantic_model;
create policy ipai_guard_read on public.ipai_semantic_model for select to ipai_guard using (true);
