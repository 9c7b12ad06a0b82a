-- DevOps in the lakehouse: silver DevOps views over the GitHub connector's bronze tables and the
-- gold DevOps tables (CI status, the four DORA metrics, PR cycle time). Same design as ERP: silver
-- is views; gold is tables built by silver "build" views and republished by
-- ipai_meta.refresh_transform_tables. DevOps rows have no company_id: every reader role (admin,
-- data_engineer, analyst) sees all of them, anon nothing.

create schema if not exists ipai_silver_devops;
revoke all on schema ipai_silver_devops from public, anon;
grant usage on schema ipai_silver_devops to authenticated, service_role, ipai_transform;
grant create on schema ipai_silver_devops to ipai_transform;

create or replace view ipai_silver_devops.repositories as
select r._ipai_connector_id as connector_id, r.id as repository_id, r.full_name as repo_full_name, r.name,
       r.default_branch, r.visibility, coalesce(r.archived, false) as archived, r.created_at, r.pushed_at
  from ipai_bronze_devops.github_repositories r
 where r._ipai_deleted_at is null;
select ipai_meta.secure_relation('ipai_silver_devops.repositories');

create or replace view ipai_silver_devops.issues as
select i._ipai_connector_id as connector_id, i.id as issue_id, i.repository_id, i.repo_full_name, i.number, i.title,
       i.state, i."user" ->> 'login' as author, i.created_at, i.closed_at
  from ipai_bronze_devops.github_issues i
 where i._ipai_deleted_at is null;
select ipai_meta.secure_relation('ipai_silver_devops.issues');

create or replace view ipai_silver_devops.pull_requests as
select p._ipai_connector_id as connector_id, p.id as pull_request_id, p.repository_id, p.repo_full_name, p.number,
       p.title, p.state, coalesce(p.draft, false) as draft, p."user" ->> 'login' as author,
       p.head ->> 'ref' as head_branch, p.base ->> 'ref' as base_branch,
       p.created_at, p.closed_at, p.merged_at, p.merge_commit_sha,
       (select min(r.submitted_at) from ipai_bronze_devops.github_pull_request_reviews r
         where r._ipai_connector_id = p._ipai_connector_id and r.pull_request_id = p.id
           and r._ipai_deleted_at is null and r.submitted_at is not null) as first_review_at
  from ipai_bronze_devops.github_pull_requests p
 where p._ipai_deleted_at is null;
select ipai_meta.secure_relation('ipai_silver_devops.pull_requests');

create or replace view ipai_silver_devops.workflow_runs as
select w._ipai_connector_id as connector_id, w.id as run_id, w.repository_id, w.repo_full_name, w.workflow_id,
       w.name as workflow_name, w.head_branch as branch, w.head_sha, w.event, w.status, w.conclusion,
       w.run_number, w.run_attempt, w.html_url, w.created_at, w.run_started_at, w.updated_at
  from ipai_bronze_devops.github_workflow_runs w
 where w._ipai_deleted_at is null;
select ipai_meta.secure_relation('ipai_silver_devops.workflow_runs');

-- A deployment with its outcome: succeeded at its first 'success' status; failed when it has a
-- 'failure' or 'error' status and never succeeded. Production = an environment named prod….
create or replace view ipai_silver_devops.deployments as
select d._ipai_connector_id as connector_id, d.id as deployment_id, d.repository_id, d.repo_full_name, d.sha, d.ref,
       d.environment, d.environment ~* '^prod' as is_production, d.created_at,
       min(s.created_at) filter (where s.state = 'success') as succeeded_at,
       case when bool_or(s.state = 'success') then null
            else min(s.created_at) filter (where s.state in ('failure', 'error')) end as failed_at,
       (array_agg(s.state order by s.created_at desc, s.id desc) filter (where s.id is not null))[1] as latest_state
  from ipai_bronze_devops.github_deployments d
  left join ipai_bronze_devops.github_deployment_statuses s
    on s._ipai_connector_id = d._ipai_connector_id and s.deployment_id = d.id and s._ipai_deleted_at is null
 where d._ipai_deleted_at is null
 group by d._ipai_connector_id, d.id, d.repository_id, d.repo_full_name, d.sha, d.ref, d.environment, d.created_at;
select ipai_meta.secure_relation('ipai_silver_devops.deployments');

-- Build views ---------------------------------------------------------------------------------

-- CI status per repository and branch: the latest workflow run (newest created, then attempt).
create or replace view ipai_silver_devops.build_ci_status as
select distinct on (connector_id, repository_id, branch)
       connector_id, repository_id, repo_full_name, branch, run_id as latest_run_id, workflow_id, workflow_name,
       status, conclusion, run_attempt, html_url, created_at as run_created_at, updated_at as run_updated_at,
       case when status <> 'completed' then 'running' when conclusion in ('success', 'skipped', 'neutral') then 'passing'
            else 'failing' end as ci_state
  from ipai_silver_devops.workflow_runs
 where branch is not null
 order by connector_id, repository_id, branch, created_at desc, run_attempt desc nulls last, run_id desc;
select ipai_meta.secure_relation('ipai_silver_devops.build_ci_status');

-- The four DORA metrics per repository and ISO week (Monday) of the production deployments:
--   deployment frequency   successful production deployments in the week
--   lead time for changes  median hours from a default-branch commit to the first successful
--                          production deployment after it (commits between two successful
--                          deployments ship with the later one)
--   change failure rate    failed / (failed + successful) production deployments
--   time to restore        median hours from a failed production deployment to the next
--                          successful one in the same environment
create or replace view ipai_silver_devops.build_dora_weekly as
with prod as (
  select * from ipai_silver_devops.deployments where is_production and (succeeded_at is not null or failed_at is not null)
), successes as (
  select prod.*, lag(succeeded_at) over (partition by connector_id, repository_id order by succeeded_at) as previous_success_at
    from prod where succeeded_at is not null
), lead_times as (
  select s.connector_id, s.repository_id, date_trunc('week', s.created_at)::date as week,
         extract(epoch from s.succeeded_at - c.committed_at) / 3600 as lead_hours
    from successes s
    join ipai_bronze_devops.github_commits c
      on c._ipai_connector_id = s.connector_id and c.repository_id = s.repository_id and c._ipai_deleted_at is null
     and c.committed_at <= s.succeeded_at and c.committed_at > coalesce(s.previous_success_at, '-infinity'::timestamptz)
), restores as (
  select f.connector_id, f.repository_id, date_trunc('week', f.created_at)::date as week,
         extract(epoch from (select min(s.succeeded_at) from prod s
                              where s.connector_id = f.connector_id and s.repository_id = f.repository_id
                                and s.environment = f.environment and s.succeeded_at > f.failed_at) - f.failed_at) / 3600 as restore_hours
    from prod f where f.failed_at is not null
), weekly as (
  select connector_id, repository_id, max(repo_full_name) as repo_full_name, date_trunc('week', created_at)::date as week,
         count(*) filter (where succeeded_at is not null)::bigint as deployments,
         count(*) filter (where failed_at is not null)::bigint as failed_deployments
    from prod group by connector_id, repository_id, date_trunc('week', created_at)
)
select w.connector_id, w.repository_id, w.repo_full_name, w.week, w.deployments, w.failed_deployments,
       round(w.failed_deployments::numeric / nullif(w.deployments + w.failed_deployments, 0), 4) as change_failure_rate,
       (select round(percentile_cont(0.5) within group (order by l.lead_hours)::numeric, 2) from lead_times l
         where l.connector_id = w.connector_id and l.repository_id = w.repository_id and l.week = w.week) as median_lead_time_hours,
       (select count(*) from lead_times l
         where l.connector_id = w.connector_id and l.repository_id = w.repository_id and l.week = w.week)::bigint as changes_deployed,
       (select round(percentile_cont(0.5) within group (order by r.restore_hours)::numeric, 2) from restores r
         where r.connector_id = w.connector_id and r.repository_id = w.repository_id and r.week = w.week
           and r.restore_hours is not null) as median_time_to_restore_hours
  from weekly w;
select ipai_meta.secure_relation('ipai_silver_devops.build_dora_weekly');

create or replace view ipai_silver_devops.build_pr_cycle_time as
select connector_id, pull_request_id, repository_id, repo_full_name, number, title, author, state, draft, base_branch,
       created_at, first_review_at, merged_at, closed_at,
       round((extract(epoch from first_review_at - created_at) / 3600)::numeric, 2) as hours_to_first_review,
       round((extract(epoch from merged_at - created_at) / 3600)::numeric, 2) as cycle_time_hours
  from ipai_silver_devops.pull_requests;
select ipai_meta.secure_relation('ipai_silver_devops.build_pr_cycle_time');

-- Gold DevOps tables -------------------------------------------------------------------------

create table ipai_gold_devops.ci_status as select * from ipai_silver_devops.build_ci_status with no data;
alter table ipai_gold_devops.ci_status add primary key (connector_id, repository_id, branch);
select ipai_meta.secure_relation('ipai_gold_devops.ci_status');

create table ipai_gold_devops.dora_weekly as select * from ipai_silver_devops.build_dora_weekly with no data;
alter table ipai_gold_devops.dora_weekly add primary key (connector_id, repository_id, week);
select ipai_meta.secure_relation('ipai_gold_devops.dora_weekly');

create table ipai_gold_devops.pr_cycle_time as select * from ipai_silver_devops.build_pr_cycle_time with no data;
alter table ipai_gold_devops.pr_cycle_time add primary key (connector_id, pull_request_id);
select ipai_meta.secure_relation('ipai_gold_devops.pr_cycle_time');

insert into ipai_meta.transform_table (target, source, refresh_order) values
  ('ipai_gold_devops.ci_status', 'ipai_silver_devops.build_ci_status', 100),
  ('ipai_gold_devops.dora_weekly', 'ipai_silver_devops.build_dora_weekly', 110),
  ('ipai_gold_devops.pr_cycle_time', 'ipai_silver_devops.build_pr_cycle_time', 120);

