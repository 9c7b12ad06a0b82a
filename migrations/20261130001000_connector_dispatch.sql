-- The dispatcher (PRD R2.3: "a single scheduler triggers run_connector(connector_id)").
--
-- One row per scheduled connector: the latest schedule tick already handed to a pipeline. A
-- dispatcher claims a tick with one conditional upsert (`… where last_due_at < excluded.last_due_at`),
-- so two dispatchers — two n8n mains, or a retried execution — never start the same tick twice,
-- and a dispatcher that was down for hours starts each connector once, not once per missed tick.
-- A schedule that is not valid cron is recorded once in schedule_error (and reported once), not
-- every minute.
create table if not exists public.ipai_connector_dispatch (
    connector_id uuid primary key references public.ipai_connector_config(id) on delete cascade,
    last_due_at timestamptz,
    dispatched_at timestamptz not null default now(),
    dispatched_by text,
    schedule text,
    schedule_error text
);

comment on table public.ipai_connector_dispatch is
  'Dispatcher bookkeeping: the last schedule tick handed to a pipeline per connector (claimed once across dispatchers).';

select ipai_meta.secure_relation('public.ipai_connector_dispatch');
grant select, insert, update, delete on public.ipai_connector_dispatch to ipai_ingest;
drop policy if exists ipai_ingest_all on public.ipai_connector_dispatch;
create policy ipai_ingest_all on public.ipai_connector_dispatch for all to ipai_ingest using (true) with check (true);
grant select on public.ipai_connector_dispatch to authenticated;
drop policy if exists ipai_staff_read on public.ipai_connector_dispatch;
create policy ipai_staff_read on public.ipai_connector_dispatch for select to authenticated
  using ((select ipai_meta.jwt_role()) = any (array['admin', 'data_engineer']));
