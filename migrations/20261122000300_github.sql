-- GitHub in bronze: webhook deliveries (github_events) and one table per stream the GitHub
-- connector syncs (lib/sources/github/streams.ts).
--
-- Webhook deliveries are keyed by the delivery GUID (X-GitHub-Delivery),
-- which GitHub repeats on a redelivery: the trigger inserts with ON CONFLICT DO NOTHING, so a
-- delivery lands once whichever n8n process receives it, however often it is redelivered.
-- Deliveries belong to no connector run (each is a single insert), hence a nullable _ipai_run_id.
-- _ipai_raw keeps the delivery's X-GitHub-* headers (the envelope); the body is `payload`, not
-- stored twice.
create table ipai_bronze_devops.github_events (
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

create index github_events_repo_event_idx
    on ipai_bronze_devops.github_events (repository_id, event, received_at);

select ipai_meta.secure_relation('ipai_bronze_devops.github_events'::regclass);

-- Stream tables exist before the first sync, so the silver DevOps views compile and a sync finds
-- them: the metadata columns exactly as lib/lakehouse/tables.ts createTable makes them, the primary
-- key (_ipai_connector_id, <stream key>), and the columns lib/sources/github/streams.ts declares
-- with their declared types (the loader adds the columns it infers, e.g. strings → text, booleans
-- → boolean). Each is secured by ipai_meta.secure_relation like every bronze table.

create table ipai_bronze_devops.github_repositories (
    _ipai_connector_id uuid not null,
    _ipai_run_id uuid not null,
    _ipai_extracted_at timestamptz not null,
    _ipai_deleted_at timestamptz,
    _ipai_raw jsonb not null,
    id bigint not null,
    full_name text,
    name text,
    default_branch text,
    visibility text,
    archived boolean,
    created_at timestamptz,
    updated_at timestamptz,
    pushed_at timestamptz,
    size bigint,
    owner jsonb,
    permissions jsonb,
    license jsonb,
    topics jsonb,
    parent jsonb,
    source jsonb,
    template_repository jsonb,
    security_and_analysis jsonb,
    primary key (_ipai_connector_id, id)
);
select ipai_meta.secure_relation('ipai_bronze_devops.github_repositories');

create table ipai_bronze_devops.github_issues (
    _ipai_connector_id uuid not null,
    _ipai_run_id uuid not null,
    _ipai_extracted_at timestamptz not null,
    _ipai_deleted_at timestamptz,
    _ipai_raw jsonb not null,
    id bigint not null,
    repository_id bigint,
    repo_full_name text,
    number bigint,
    title text,
    state text,
    created_at timestamptz,
    updated_at timestamptz,
    closed_at timestamptz,
    "user" jsonb,
    labels jsonb,
    assignee jsonb,
    assignees jsonb,
    milestone jsonb,
    reactions jsonb,
    closed_by jsonb,
    performed_via_github_app jsonb,
    sub_issues_summary jsonb,
    type jsonb,
    primary key (_ipai_connector_id, id)
);
select ipai_meta.secure_relation('ipai_bronze_devops.github_issues');

create table ipai_bronze_devops.github_pull_requests (
    _ipai_connector_id uuid not null,
    _ipai_run_id uuid not null,
    _ipai_extracted_at timestamptz not null,
    _ipai_deleted_at timestamptz,
    _ipai_raw jsonb not null,
    id bigint not null,
    repository_id bigint,
    repo_full_name text,
    number bigint,
    title text,
    state text,
    draft boolean,
    created_at timestamptz,
    updated_at timestamptz,
    closed_at timestamptz,
    merged_at timestamptz,
    merge_commit_sha text,
    "user" jsonb,
    head jsonb,
    base jsonb,
    labels jsonb,
    assignee jsonb,
    assignees jsonb,
    requested_reviewers jsonb,
    requested_teams jsonb,
    milestone jsonb,
    _links jsonb,
    auto_merge jsonb,
    primary key (_ipai_connector_id, id)
);
select ipai_meta.secure_relation('ipai_bronze_devops.github_pull_requests');

create table ipai_bronze_devops.github_pull_request_reviews (
    _ipai_connector_id uuid not null,
    _ipai_run_id uuid not null,
    _ipai_extracted_at timestamptz not null,
    _ipai_deleted_at timestamptz,
    _ipai_raw jsonb not null,
    id bigint not null,
    repository_id bigint,
    repo_full_name text,
    pull_number bigint,
    pull_request_id bigint,
    state text,
    submitted_at timestamptz,
    "user" jsonb,
    _links jsonb,
    primary key (_ipai_connector_id, id)
);
select ipai_meta.secure_relation('ipai_bronze_devops.github_pull_request_reviews');

create table ipai_bronze_devops.github_commits (
    _ipai_connector_id uuid not null,
    _ipai_run_id uuid not null,
    _ipai_extracted_at timestamptz not null,
    _ipai_deleted_at timestamptz,
    _ipai_raw jsonb not null,
    repository_id bigint not null,
    sha text not null,
    repo_full_name text,
    branch text,
    committed_at timestamptz,
    commit jsonb,
    author jsonb,
    committer jsonb,
    parents jsonb,
    primary key (_ipai_connector_id, repository_id, sha)
);
select ipai_meta.secure_relation('ipai_bronze_devops.github_commits');

create table ipai_bronze_devops.github_workflow_runs (
    _ipai_connector_id uuid not null,
    _ipai_run_id uuid not null,
    _ipai_extracted_at timestamptz not null,
    _ipai_deleted_at timestamptz,
    _ipai_raw jsonb not null,
    id bigint not null,
    repository_id bigint,
    repo_full_name text,
    workflow_id bigint,
    name text,
    head_branch text,
    head_sha text,
    event text,
    status text,
    conclusion text,
    run_number bigint,
    run_attempt bigint,
    html_url text,
    created_at timestamptz,
    updated_at timestamptz,
    run_started_at timestamptz,
    check_suite_id bigint,
    actor jsonb,
    triggering_actor jsonb,
    head_commit jsonb,
    repository jsonb,
    head_repository jsonb,
    pull_requests jsonb,
    referenced_workflows jsonb,
    primary key (_ipai_connector_id, id)
);
select ipai_meta.secure_relation('ipai_bronze_devops.github_workflow_runs');

create table ipai_bronze_devops.github_deployments (
    _ipai_connector_id uuid not null,
    _ipai_run_id uuid not null,
    _ipai_extracted_at timestamptz not null,
    _ipai_deleted_at timestamptz,
    _ipai_raw jsonb not null,
    id bigint not null,
    repository_id bigint,
    repo_full_name text,
    sha text,
    ref text,
    environment text,
    created_at timestamptz,
    updated_at timestamptz,
    creator jsonb,
    payload jsonb,
    performed_via_github_app jsonb,
    primary key (_ipai_connector_id, id)
);
select ipai_meta.secure_relation('ipai_bronze_devops.github_deployments');

create table ipai_bronze_devops.github_deployment_statuses (
    _ipai_connector_id uuid not null,
    _ipai_run_id uuid not null,
    _ipai_extracted_at timestamptz not null,
    _ipai_deleted_at timestamptz,
    _ipai_raw jsonb not null,
    id bigint not null,
    repository_id bigint,
    repo_full_name text,
    deployment_id bigint,
    state text,
    environment text,
    created_at timestamptz,
    updated_at timestamptz,
    creator jsonb,
    performed_via_github_app jsonb,
    primary key (_ipai_connector_id, id)
);
select ipai_meta.secure_relation('ipai_bronze_devops.github_deployment_statuses');

create table ipai_bronze_devops.github_workflows (
    _ipai_connector_id uuid not null,
    _ipai_run_id uuid not null,
    _ipai_extracted_at timestamptz not null,
    _ipai_deleted_at timestamptz,
    _ipai_raw jsonb not null,
    id bigint not null,
    repository_id bigint,
    repo_full_name text,
    created_at timestamptz,
    updated_at timestamptz,
    primary key (_ipai_connector_id, id)
);
select ipai_meta.secure_relation('ipai_bronze_devops.github_workflows');

create table ipai_bronze_devops.github_workflow_jobs (
    _ipai_connector_id uuid not null,
    _ipai_run_id uuid not null,
    _ipai_extracted_at timestamptz not null,
    _ipai_deleted_at timestamptz,
    _ipai_raw jsonb not null,
    id bigint not null,
    repository_id bigint,
    repo_full_name text,
    run_id bigint,
    run_attempt bigint,
    runner_id bigint,
    runner_group_id bigint,
    created_at timestamptz,
    started_at timestamptz,
    completed_at timestamptz,
    steps jsonb,
    labels jsonb,
    primary key (_ipai_connector_id, id)
);
select ipai_meta.secure_relation('ipai_bronze_devops.github_workflow_jobs');

create table ipai_bronze_devops.github_releases (
    _ipai_connector_id uuid not null,
    _ipai_run_id uuid not null,
    _ipai_extracted_at timestamptz not null,
    _ipai_deleted_at timestamptz,
    _ipai_raw jsonb not null,
    id bigint not null,
    repository_id bigint,
    repo_full_name text,
    created_at timestamptz,
    published_at timestamptz,
    author jsonb,
    assets jsonb,
    reactions jsonb,
    primary key (_ipai_connector_id, id)
);
select ipai_meta.secure_relation('ipai_bronze_devops.github_releases');
