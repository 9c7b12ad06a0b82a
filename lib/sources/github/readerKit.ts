/** What every GitHub reader does to a listing: tag records with their repository, unwrap lists. */
import type { RepoRef } from './readers';

export type GitHubObject = Record<string, unknown>;

export function tag(repo: RepoRef, item: GitHubObject, extra: GitHubObject = {}): GitHubObject {
	return { ...item, repository_id: repo.id, repo_full_name: repo.fullName, ...extra };
}

export function path(repo: RepoRef, rest: string): string {
	return `/repos/${repo.fullName.split('/').map(encodeURIComponent).join('/')}${rest}`;
}

export function asArray(data: unknown, wrappedKey?: string): GitHubObject[] {
	const list = wrappedKey ? (data as Record<string, unknown> | null)?.[wrappedKey] : data;
	return Array.isArray(list) ? (list as GitHubObject[]) : [];
}

export interface PageMemo {
	url?: string;
	etag?: string;
	next?: string;
}
