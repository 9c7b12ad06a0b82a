-- GitHub webhook deliveries in bronze (issue 6). Keyed by the delivery GUID (X-GitHub-Delivery),
-- which GitHub repeats on a redelivery: the trigger inserts with ON CONFLICT DO NOTHING, so a
-- delivery lands once whichever n8n process receives it, however often it is redelivered.
-- Deliveries belong to no connector run (each is a single insert), hence a nullable _ipai_run_id.
-- _ipai_raw keeps the delivery's X-GitHub-* headers (the envelope); the body is `payload`, not
-- stored twice. The synced streams' tables (github_issues, …) are created by the loader.
create table if not exists ipai_bronze_devops.github_events (
    delivery_id text not null,
    event text not null,
    action text,
    repository_id bigint,
    repository_full_name text,
    sender_id bigint,
    sender_login text,
    installation_id bigint,
    hook_id bigint,
    received_at timestamptz not null,
    payload jsonb not null,
    _ipai_connector_id uuid not null,
    _ipai_run_id uuid,
    _ipai_extracted_at timestamptz not null default now(),
    _ipai_deleted_at timestamptz,
    _ipai_raw jsonb not null,
    primary key (_ipai_connector_id, delivery_id)
);

create index if not exists github_events_repo_event_idx
    on ipai_bronze_devops.github_events (repository_id, event, received_at);

select ipai_meta.secure_relation('ipai_bronze_devops.github_events'::regclass);
