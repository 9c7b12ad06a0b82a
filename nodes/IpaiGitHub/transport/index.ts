/**
 * What the IPAI GitHub nodes do with the IPAI GitHub API credential: build the engine's client,
 * test the credential (identity and remaining rate limit), list repositories for dropdowns, and
 * make errors safe to show.
 */
import type {
	ICredentialDataDecryptedObject,
	ICredentialsDecrypted,
	ICredentialTestFunctions,
	ILoadOptionsFunctions,
	INodeCredentialTestResult,
	INodePropertyOptions,
} from 'n8n-workflow';
import { redact } from '../../../lib/lakehouse/connection';
import type { GitHubAuth } from '../../../lib/sources/github/auth';
import { GitHubClient, type GitHubClientOptions } from '../../../lib/sources/github/client';

export const GITHUB_CREDENTIAL = 'ipaiGitHubApi';

export function gitHubAuth(credentials: ICredentialDataDecryptedObject): GitHubAuth {
	if (credentials.authType === 'app') {
		return {
			type: 'app',
			appId: String(credentials.appId ?? '').trim(),
			privateKey: String(credentials.privateKey ?? ''),
			installationId: String(credentials.installationId ?? '').trim(),
		};
	}
	const token = String(credentials.accessToken ?? '').trim();
	if (!token) throw new Error('The IPAI GitHub API credential has no access token');
	return { type: 'token', token };
}

export function gitHubSecrets(credentials: ICredentialDataDecryptedObject): string[] {
	return [credentials.accessToken, credentials.privateKey].filter((s): s is string => typeof s === 'string' && s.length > 0);
}

export function gitHubClient(credentials: ICredentialDataDecryptedObject, options: Partial<GitHubClientOptions> = {}): GitHubClient {
	return new GitHubClient({ auth: gitHubAuth(credentials), baseUrl: String(credentials.baseUrl || 'https://api.github.com'), ...options });
}

export async function testGitHubCredential(this: ICredentialTestFunctions, credential: ICredentialsDecrypted): Promise<INodeCredentialTestResult> {
	const data = credential.data ?? {};
	try {
		const client = gitHubClient(data, { rateLimitRetries: 0, serverErrorRetries: 0, maxWaitSeconds: 0 });
		const who = await client.whoAmI(gitHubAuth(data));
		const budget = who.budget ? `; ${who.budget.remaining} of ${who.budget.limit} requests left until ${who.budget.resetAt}` : '';
		return { status: 'OK', message: `Authenticated as ${who.login} (${who.kind})${budget}` };
	} catch (error) {
		return { status: 'Error', message: redact((error as Error).message, gitHubSecrets(data)) };
	}
}

/** Repositories the credential can see (up to 1,000, most recently updated first), for dropdowns. */
export async function repositoryOptions(this: ILoadOptionsFunctions): Promise<INodePropertyOptions[]> {
	const credentials = await this.getCredentials(GITHUB_CREDENTIAL);
	const client = gitHubClient(credentials, { maxWaitSeconds: 10 });
	const app = credentials.authType === 'app';
	const options: INodePropertyOptions[] = [];
	let res = await client.get(app ? '/installation/repositories' : '/user/repos', { per_page: 100, ...(app ? {} : { sort: 'updated' }) });
	for (let page = 0; page < 10; page++) {
		const list = (app ? (res.data as { repositories?: unknown[] }).repositories : res.data) as Array<{ full_name: string; private?: boolean }>;
		for (const repo of list ?? []) options.push({ name: repo.full_name, value: repo.full_name, description: repo.private ? 'private' : undefined });
		if (!res.next) break;
		res = await client.get(res.next);
	}
	return options;
}
