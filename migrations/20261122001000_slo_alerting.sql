-- SLO monitor and Mattermost alerting (PRD R5.2, 4.1.6): what the alert state machine needs beyond
-- the control tables (ipai_slo, ipai_alert, ipai_silence), the seeded SLOs, and the indexes that
-- keep evaluation fast over millions of run rows.

-- Alerts: which episode a row describes and why it is quiet ----------------------------------
-- An episode is one firing → resolved cycle; notifications are keyed by it, so a re-fire after a
-- resolve is a new notification while a second evaluator in the same episode changes nothing.
alter table public.ipai_alert add column if not exists target_id text;
alter table public.ipai_alert add column if not exists silenced_by uuid[];
alter table public.ipai_alert add column if not exists inhibited_by text;
-- Hysteresis (Prometheus' keep_firing_for): a burn-rate alert resolves only after its condition has
-- been false for its short window, so sparse failures do not flap firing → resolved → firing.
alter table public.ipai_alert add column if not exists keep_firing_until timestamptz;
create index if not exists idx_alert_firing on public.ipai_alert (slo_id) where state = 'firing';

-- Silences can be expired early (Unsilence) without rewriting the window they were created with.
alter table public.ipai_silence add column if not exists expired_at timestamptz;
alter table public.ipai_silence add column if not exists expired_by text;

-- The notification log: every message the monitor decided to send, keyed so that two evaluators
-- deciding the same thing at the same moment insert one row (unique (fingerprint, dedup_key),
-- `on conflict do nothing`), and claimed for delivery with `for update skip locked`, so two
-- notifiers never deliver the same row. A delivery that fails stays `pending` with its error.
create table if not exists public.ipai_alert_notification (
    id uuid primary key default gen_random_uuid(),
    fingerprint text not null references public.ipai_alert(fingerprint) on delete cascade,
    dedup_key text not null,           -- firing:<episode> | repeat:<episode>:<n> | resolved:<episode>
    episode text not null,             -- the alert's started_at, as epoch milliseconds
    kind text not null,
    severity text not null,
    status text not null default 'pending',
    payload jsonb not null,            -- what the message says, frozen when it was decided
    attempts integer not null default 0,
    last_error text,
    last_attempt_at timestamptz,
    post_id text,                      -- Mattermost post id (bot mode), the thread root for resolved
    channel_id text,
    created_at timestamptz not null,
    sent_at timestamptz,
    constraint ipai_alert_notification_key unique (fingerprint, dedup_key),
    constraint ipai_alert_notification_kind_check check (kind in ('firing', 'repeat', 'resolved')),
    constraint ipai_alert_notification_severity_check check (severity in ('page', 'ticket')),
    constraint ipai_alert_notification_status_check
      check (status in ('pending', 'sent', 'superseded')),
    constraint ipai_alert_notification_attempts_check check (attempts >= 0),
    constraint ipai_alert_notification_payload_check check (jsonb_typeof(payload) = 'object'),
    constraint ipai_alert_notification_sent_check check ((status = 'sent') = (sent_at is not null))
);
-- Due notifications, oldest first: the notifier's claim query.
create index if not exists idx_alert_notification_due
  on public.ipai_alert_notification (created_at) where status = 'pending';
create index if not exists idx_alert_notification_alert on public.ipai_alert_notification (fingerprint, kind, status);

select ipai_meta.secure_relation('public.ipai_alert_notification');
grant select on public.ipai_alert_notification to authenticated;
drop policy if exists ipai_staff_read on public.ipai_alert_notification;
create policy ipai_staff_read on public.ipai_alert_notification for select to authenticated
  using ((select ipai_meta.jwt_role()) = any (array['admin', 'data_engineer']));
grant select, insert, update, delete on public.ipai_alert_notification to ipai_ingest;
drop policy if exists ipai_ingest_all on public.ipai_alert_notification;
create policy ipai_ingest_all on public.ipai_alert_notification for all to ipai_ingest using (true) with check (true);
grant select on public.ipai_alert_notification to ipai_transform;
drop policy if exists ipai_transform_read on public.ipai_alert_notification;
create policy ipai_transform_read on public.ipai_alert_notification for select to ipai_transform using (true);

-- The SLO monitor runs with the n8n ingest login and evaluates the agent SLOs too: it reads the
-- agent registry and agent runs (never writes them).
grant select on public.ipai_agent, public.ipai_agent_run to ipai_ingest;
drop policy if exists ipai_ingest_slo_read on public.ipai_agent;
create policy ipai_ingest_slo_read on public.ipai_agent for select to ipai_ingest using (true);
drop policy if exists ipai_ingest_slo_read on public.ipai_agent_run;
create policy ipai_ingest_slo_read on public.ipai_agent_run for select to ipai_ingest using (true);

-- Indexes for evaluation ------------------------------------------------------------------------
-- Burn rates count finished runs per connector over windows ending now: an index-only range scan
-- over (ended_at) that carries the connector and the outcome.
create index if not exists idx_connector_run_slo_ended
  on public.ipai_connector_run (ended_at) include (connector_id, status)
  where status in ('success', 'failed', 'abandoned');
-- Freshness: the successes of one connector by time (last success, stale time over the period).
create index if not exists idx_connector_run_slo_success
  on public.ipai_connector_run (connector_id, ended_at) where status = 'success';
-- The failing connectors' last error and its n8n execution, for the message.
create index if not exists idx_connector_run_slo_failed
  on public.ipai_connector_run (connector_id, ended_at) where status in ('failed', 'abandoned');
create index if not exists idx_agent_run_slo_ended
  on public.ipai_agent_run (ended_at) include (agent_id, status, latency_ms)
  where status in ('success', 'failed');

-- Seeded SLOs (PRD R5.2 and success metrics) --------------------------------------------------
-- connector_id null makes an SLO a template: it applies to every enabled connector, each one
-- evaluated (and alerted) on its own; a row for one connector with the same sli_type overrides the
-- template for that connector. Agent SLOs apply to every active agent the same way
-- (params.agent_code_name narrows one to one agent). Users change targets with SQL or the node.
insert into public.ipai_slo (code_name, description, sli_type, objective, period, params, labels, runbook_url)
values
  ('connector-run-success',
   'Per connector: at least 99% of finished runs succeed over 7 days (PRD R5.2). Pages on fast burn, opens a ticket on a slow leak; "absent" when a scheduled connector stops starting runs.',
   'connector_success', 0.99, interval '7 days',
   '{"min_events": 10, "min_bad_events": 2, "page_repeat_interval": "4 hours", "ticket_repeat_interval": "1 day", "absent_factor": 2, "absent_severity": "page", "grace": "10 minutes"}',
   '{"team": "data-platform"}', null),
  ('connector-freshness',
   'Per scheduled connector: the last successful run is never older than twice its schedule interval (ticket) or four times (page), 99% of the time over 7 days.',
   'connector_freshness', 0.99, interval '7 days',
   '{"warn_factor": 2, "page_factor": 4, "grace": "10 minutes", "page_repeat_interval": "4 hours", "ticket_repeat_interval": "1 day"}',
   '{"team": "data-platform"}', null),
  ('agent-failures-per-day',
   'Per agent: at most 20 failed agent calls per day (PRD R5.2); the budget over 7 days is 140 failures.',
   'agent_failures', 0.99, interval '7 days',
   '{"max_failures_per_day": 20, "min_events": 10, "min_bad_events": 2, "page_repeat_interval": "4 hours", "ticket_repeat_interval": "1 day"}',
   '{"team": "ai-platform"}', null),
  ('agent-p95-latency',
   'Per agent: p95 response latency under 5 s (PRD success metrics), i.e. at least 95% of agent calls finish within 5,000 ms over 7 days.',
   'agent_latency', 0.95, interval '7 days',
   '{"threshold_ms": 5000, "min_events": 10, "min_bad_events": 2, "page_repeat_interval": "4 hours", "ticket_repeat_interval": "1 day"}',
   '{"team": "ai-platform"}', null)
on conflict (code_name) do nothing;
