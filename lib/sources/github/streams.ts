/**
 * The GitHub streams and their bronze tables (schema ipai_bronze_devops). Each record is GitHub's
 * own object, field for field, plus `repository_id` and `repo_full_name` so every table joins to
 * its repository; child records also carry their parent's id (`pull_number`, `deployment_id`).
 * Keys are GitHub's ids (commits: repository + sha, as the same commit lives in forks).
 * Declared types keep ids bigint, times timestamptz and nested objects/arrays jsonb even when the
 * first page happens to hold only nulls or empty arrays.
 */
import type { ColumnType } from '../../lakehouse/columnTypes';
import type { ColumnSpec } from '../../lakehouse/tables';

export const STREAMS = [
	'repositories',
	'issues',
	'pull_requests',
	'pull_request_reviews',
	'commits',
	'workflows',
	'workflow_runs',
	'workflow_jobs',
	'deployments',
	'deployment_statuses',
	'releases',
] as const;

export type StreamName = (typeof STREAMS)[number];

export interface StreamSpec {
	name: StreamName;
	table: string;
	key: string[];
	columns: ColumnSpec[];
	/** How the stream reads incrementally (for people: the README and the node's hints). */
	strategy: string;
}

export const BRONZE_SCHEMA = 'ipai_bronze_devops';
export const EVENTS_TABLE = 'github_events';

function cols(types: Partial<Record<ColumnType, string[]>>): ColumnSpec[] {
	return Object.entries(types).flatMap(([type, fields]) => (fields ?? []).map((field) => ({ field, type: type as ColumnType })));
}

const REPO_REF = { bigint: ['repository_id'], text: ['repo_full_name'] };

export const STREAM_SPECS: Record<StreamName, StreamSpec> = {
	repositories: {
		name: 'repositories',
		table: 'github_repositories',
		key: ['id'],
		strategy: 'full read of the org/user listing (or each chosen repository) with ETags: unchanged pages answer 304',
		columns: cols({
			bigint: ['id', 'size'],
			text: ['full_name', 'name', 'default_branch', 'visibility'],
			timestamptz: ['created_at', 'updated_at', 'pushed_at'],
			jsonb: ['owner', 'permissions', 'license', 'topics', 'parent', 'source', 'template_repository', 'security_and_analysis'],
		}),
	},
	issues: {
		name: 'issues',
		table: 'github_issues',
		key: ['id'],
		strategy: 'since=<cursor>, sort=updated asc, keyset paging (each page restarts at the last updated_at), ETag on the last page; pull requests filtered out; deletes and transfers found by a periodic id scan',
		columns: cols({
			...REPO_REF,
			bigint: ['id', 'repository_id', 'number'],
			timestamptz: ['created_at', 'updated_at', 'closed_at'],
			jsonb: ['user', 'labels', 'assignee', 'assignees', 'milestone', 'reactions', 'closed_by', 'performed_via_github_app', 'sub_issues_summary', 'type'],
		}),
	},
	pull_requests: {
		name: 'pull_requests',
		table: 'github_pull_requests',
		key: ['id'],
		strategy: 'sort=updated desc down to the cursor (an edit mid-sync cannot skip one), a checkpoint per page, then the newest page re-read until it answers 304; deletes found by a periodic id scan',
		columns: cols({
			...REPO_REF,
			bigint: ['id', 'repository_id', 'number'],
			timestamptz: ['created_at', 'updated_at', 'closed_at', 'merged_at'],
			jsonb: ['user', 'labels', 'assignee', 'assignees', 'requested_reviewers', 'requested_teams', 'milestone', 'head', 'base', '_links', 'auto_merge'],
		}),
	},
	pull_request_reviews: {
		name: 'pull_request_reviews',
		table: 'github_pull_request_reviews',
		key: ['id'],
		strategy: 'reviews of the pull requests (from bronze) updated since the cursor, in updated order',
		columns: cols({
			...REPO_REF,
			bigint: ['id', 'repository_id', 'pull_number', 'pull_request_id'],
			timestamptz: ['submitted_at'],
			jsonb: ['user', '_links'],
		}),
	},
	commits: {
		name: 'commits',
		table: 'github_commits',
		key: ['repository_id', 'sha'],
		strategy: 'default branch, since=<newest committer date − look-back>; ETag on the first page',
		columns: cols({
			...REPO_REF,
			bigint: ['repository_id'],
			text: ['sha', 'branch', 'repo_full_name'],
			timestamptz: ['committed_at'],
			jsonb: ['commit', 'author', 'committer', 'parents'],
		}),
	},
	workflows: {
		name: 'workflows',
		table: 'github_workflows',
		key: ['id'],
		strategy: 'full read with ETags per page',
		columns: cols({ ...REPO_REF, bigint: ['id', 'repository_id'], timestamptz: ['created_at', 'updated_at'] }),
	},
	workflow_runs: {
		name: 'workflow_runs',
		table: 'github_workflow_runs',
		key: ['id'],
		strategy: 'created=<from>..<to> windows (bisected below the 1,000-result cap), re-reading the last 32 days for re-runs; ETag per page of each window',
		columns: cols({
			...REPO_REF,
			bigint: ['id', 'repository_id', 'workflow_id', 'run_number', 'run_attempt', 'check_suite_id'],
			timestamptz: ['created_at', 'updated_at', 'run_started_at'],
			jsonb: ['actor', 'triggering_actor', 'head_commit', 'repository', 'head_repository', 'pull_requests', 'referenced_workflows'],
		}),
	},
	workflow_jobs: {
		name: 'workflow_jobs',
		table: 'github_workflow_jobs',
		key: ['id'],
		strategy: 'jobs (all attempts) of the runs (from bronze) updated since the cursor',
		columns: cols({
			...REPO_REF,
			bigint: ['id', 'repository_id', 'run_id', 'run_attempt', 'runner_id', 'runner_group_id'],
			timestamptz: ['created_at', 'started_at', 'completed_at'],
			jsonb: ['steps', 'labels'],
		}),
	},
	deployments: {
		name: 'deployments',
		table: 'github_deployments',
		key: ['id'],
		strategy: 'full read (newest first) with ETags per page',
		columns: cols({
			...REPO_REF,
			bigint: ['id', 'repository_id'],
			timestamptz: ['created_at', 'updated_at'],
			jsonb: ['creator', 'payload', 'performed_via_github_app'],
		}),
	},
	deployment_statuses: {
		name: 'deployment_statuses',
		table: 'github_deployment_statuses',
		key: ['id'],
		strategy: 'statuses of the deployments (from bronze) updated since the cursor',
		columns: cols({
			...REPO_REF,
			bigint: ['id', 'repository_id', 'deployment_id'],
			timestamptz: ['created_at', 'updated_at'],
			jsonb: ['creator', 'performed_via_github_app'],
		}),
	},
	releases: {
		name: 'releases',
		table: 'github_releases',
		key: ['id'],
		strategy: 'full read (newest first) with ETags per page',
		columns: cols({
			...REPO_REF,
			bigint: ['id', 'repository_id'],
			timestamptz: ['created_at', 'published_at'],
			jsonb: ['author', 'assets', 'reactions'],
		}),
	},
};

export function isStreamName(value: string): value is StreamName {
	return (STREAMS as readonly string[]).includes(value);
}

/** Syncs parents before children whatever order the user listed them in. */
export function orderStreams(streams: readonly string[]): StreamName[] {
	const unknown = streams.filter((s) => !isStreamName(s));
	if (unknown.length > 0) throw new Error(`Unknown GitHub stream(s): ${unknown.join(', ')}; known: ${STREAMS.join(', ')}`);
	return STREAMS.filter((s) => streams.includes(s));
}
