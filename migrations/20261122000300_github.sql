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

create function pg_temp.ensure_github(table_name text, key_columns text[], columns text[]) returns void
  language plpgsql
as $$
declare
  rel text := format('ipai_bronze_devops.%I', table_name);
  col text;
begin
  execute format(
    'create table if not exists %s (
       _ipai_connector_id uuid not null,
       _ipai_run_id uuid not null,
       _ipai_extracted_at timestamptz not null,
       _ipai_deleted_at timestamptz,
       _ipai_raw jsonb not null)', rel);
  foreach col in array columns loop
    execute format('alter table %s add column if not exists %s', rel, col);
  end loop;
  if not exists (select 1 from pg_index where indrelid = rel::regclass and indisprimary) then
    execute format('alter table %s add primary key (_ipai_connector_id, %s)', rel,
                   (select string_agg(quote_ident(k), ', ') from unnest(key_columns) k));
  end if;
  perform ipai_meta.secure_relation(rel::regclass);
end
$$;

select pg_temp.ensure_github('github_repositories', array['id'], array[
  'id bigint not null', 'full_name text', 'name text', 'default_branch text', 'visibility text', 'archived boolean',
  'created_at timestamptz', 'updated_at timestamptz', 'pushed_at timestamptz']);
select pg_temp.ensure_github('github_issues', array['id'], array[
  'id bigint not null', 'repository_id bigint', 'repo_full_name text', 'number bigint', 'title text', 'state text',
  'created_at timestamptz', 'updated_at timestamptz', 'closed_at timestamptz', '"user" jsonb', 'labels jsonb']);
select pg_temp.ensure_github('github_pull_requests', array['id'], array[
  'id bigint not null', 'repository_id bigint', 'repo_full_name text', 'number bigint', 'title text', 'state text',
  'draft boolean', 'created_at timestamptz', 'updated_at timestamptz', 'closed_at timestamptz', 'merged_at timestamptz',
  'merge_commit_sha text', '"user" jsonb', 'head jsonb', 'base jsonb']);
select pg_temp.ensure_github('github_pull_request_reviews', array['id'], array[
  'id bigint not null', 'repository_id bigint', 'repo_full_name text', 'pull_number bigint', 'pull_request_id bigint',
  'state text', 'submitted_at timestamptz', '"user" jsonb']);
select pg_temp.ensure_github('github_commits', array['repository_id', 'sha'], array[
  'repository_id bigint not null', 'sha text not null', 'repo_full_name text', 'branch text', 'committed_at timestamptz',
  'commit jsonb']);
select pg_temp.ensure_github('github_workflow_runs', array['id'], array[
  'id bigint not null', 'repository_id bigint', 'repo_full_name text', 'workflow_id bigint', 'name text',
  'head_branch text', 'head_sha text', 'event text', 'status text', 'conclusion text', 'run_number bigint',
  'run_attempt bigint', 'html_url text', 'created_at timestamptz', 'updated_at timestamptz', 'run_started_at timestamptz']);
select pg_temp.ensure_github('github_deployments', array['id'], array[
  'id bigint not null', 'repository_id bigint', 'repo_full_name text', 'sha text', 'ref text', 'environment text',
  'created_at timestamptz', 'updated_at timestamptz']);
select pg_temp.ensure_github('github_deployment_statuses', array['id'], array[
  'id bigint not null', 'repository_id bigint', 'repo_full_name text', 'deployment_id bigint', 'state text',
  'environment text', 'created_at timestamptz', 'updated_at timestamptz']);

-- Silver DevOps ------------------------------------------------------------------------------

-- Every GitHub stream's bronze table exists before the first sync (issue 22): workflows,
-- workflow jobs and releases had none, and the others lacked some of the columns
-- lib/sources/github/streams.ts declares. Same shape as 20261122005200's tables (metadata
-- columns, primary key (_ipai_connector_id, <stream key>), secured by ipai_meta.secure_relation);
-- column types are the declared ones, so the loader finds them and only adds the columns it infers.
-- Idempotent: tables and columns are added only when missing.

create or replace function pg_temp.ensure_github_stream_table(table_name text, key_columns text[], columns text[]) returns void
  language plpgsql
as $$
declare
  rel text := format('ipai_bronze_devops.%I', table_name);
  col text;
begin
  execute format(
    'create table if not exists %s (
       _ipai_connector_id uuid not null,
       _ipai_run_id uuid not null,
       _ipai_extracted_at timestamptz not null,
       _ipai_deleted_at timestamptz,
       _ipai_raw jsonb not null)', rel);
  foreach col in array columns loop
    execute format('alter table %s add column if not exists %s', rel, col);
  end loop;
  if not exists (select 1 from pg_index where indrelid = rel::regclass and indisprimary) then
    execute format('alter table %s add primary key (_ipai_connector_id, %s)', rel,
                   (select string_agg(quote_ident(k), ', ') from unnest(key_columns) k));
  end if;
  perform ipai_meta.secure_relation(rel::regclass);
end
$$;

select pg_temp.ensure_github_stream_table('github_repositories', array['id'], array[
  'id bigint not null', 'size bigint', 'full_name text', 'name text', 'default_branch text', 'visibility text',
  'created_at timestamptz', 'updated_at timestamptz', 'pushed_at timestamptz', 'owner jsonb', 'permissions jsonb',
  'license jsonb', 'topics jsonb', 'parent jsonb', 'source jsonb', 'template_repository jsonb',
  'security_and_analysis jsonb']);
select pg_temp.ensure_github_stream_table('github_issues', array['id'], array[
  'id bigint not null', 'repository_id bigint', 'repo_full_name text', 'number bigint', 'created_at timestamptz',
  'updated_at timestamptz', 'closed_at timestamptz', '"user" jsonb', 'labels jsonb', 'assignee jsonb',
  'assignees jsonb', 'milestone jsonb', 'reactions jsonb', 'closed_by jsonb', 'performed_via_github_app jsonb',
  'sub_issues_summary jsonb', 'type jsonb']);
select pg_temp.ensure_github_stream_table('github_pull_requests', array['id'], array[
  'id bigint not null', 'repository_id bigint', 'repo_full_name text', 'number bigint', 'created_at timestamptz',
  'updated_at timestamptz', 'closed_at timestamptz', 'merged_at timestamptz', '"user" jsonb', 'labels jsonb',
  'assignee jsonb', 'assignees jsonb', 'requested_reviewers jsonb', 'requested_teams jsonb', 'milestone jsonb',
  'head jsonb', 'base jsonb', '_links jsonb', 'auto_merge jsonb']);
select pg_temp.ensure_github_stream_table('github_pull_request_reviews', array['id'], array[
  'id bigint not null', 'repository_id bigint', 'repo_full_name text', 'pull_number bigint', 'pull_request_id bigint',
  'submitted_at timestamptz', '"user" jsonb', '_links jsonb']);
select pg_temp.ensure_github_stream_table('github_commits', array['repository_id', 'sha'], array[
  'repository_id bigint not null', 'sha text not null', 'repo_full_name text', 'branch text', 'committed_at timestamptz',
  'commit jsonb', 'author jsonb', 'committer jsonb', 'parents jsonb']);
select pg_temp.ensure_github_stream_table('github_workflows', array['id'], array[
  'id bigint not null', 'repository_id bigint', 'repo_full_name text', 'created_at timestamptz', 'updated_at timestamptz']);
select pg_temp.ensure_github_stream_table('github_workflow_runs', array['id'], array[
  'id bigint not null', 'repository_id bigint', 'repo_full_name text', 'workflow_id bigint', 'run_number bigint',
  'run_attempt bigint', 'check_suite_id bigint', 'created_at timestamptz', 'updated_at timestamptz',
  'run_started_at timestamptz', 'actor jsonb', 'triggering_actor jsonb', 'head_commit jsonb', 'repository jsonb',
  'head_repository jsonb', 'pull_requests jsonb', 'referenced_workflows jsonb']);
select pg_temp.ensure_github_stream_table('github_workflow_jobs', array['id'], array[
  'id bigint not null', 'repository_id bigint', 'repo_full_name text', 'run_id bigint', 'run_attempt bigint',
  'runner_id bigint', 'runner_group_id bigint', 'created_at timestamptz', 'started_at timestamptz',
  'completed_at timestamptz', 'steps jsonb', 'labels jsonb']);
select pg_temp.ensure_github_stream_table('github_deployments', array['id'], array[
  'id bigint not null', 'repository_id bigint', 'repo_full_name text', 'created_at timestamptz', 'updated_at timestamptz',
  'creator jsonb', 'payload jsonb', 'performed_via_github_app jsonb']);
select pg_temp.ensure_github_stream_table('github_deployment_statuses', array['id'], array[
  'id bigint not null', 'repository_id bigint', 'repo_full_name text', 'deployment_id bigint', 'created_at timestamptz',
  'updated_at timestamptz', 'creator jsonb', 'performed_via_github_app jsonb']);
select pg_temp.ensure_github_stream_table('github_releases', array['id'], array[
  'id bigint not null', 'repository_id bigint', 'repo_full_name text', 'created_at timestamptz',
  'published_at timestamptz', 'author jsonb', 'assets jsonb', 'reactions jsonb']);

drop function pg_temp.ensure_github_stream_table(text, text[], text[]);
