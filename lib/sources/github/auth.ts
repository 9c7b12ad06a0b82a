/**
 * Authentication: a personal access token, or a GitHub App installation. For an App, a JWT signed
 * with the App's private key (RS256, GitHub's "Generating a JSON Web Token for a GitHub App")
 * buys an installation token (valid one hour) that is renewed five minutes before it expires, so
 * a sync longer than an hour keeps working. Node's crypto does the signing: no extra dependency.
 */
import { createPrivateKey, createSign, type KeyObject } from 'node:crypto';

export type GitHubAuth =
	| { type: 'token'; token: string }
	| { type: 'app'; appId: string; privateKey: string; installationId: string };

export class GitHubAuthError extends Error {}

/** Accepts a PEM as pasted into a form: literal "\n" sequences and surrounding blanks are common. */
export function parsePrivateKey(pem: string): KeyObject {
	const text = pem.trim().replace(/\\n/g, '\n');
	try {
		return createPrivateKey(text);
	} catch {
		throw new GitHubAuthError(
			'The GitHub App private key is not a valid PEM key: paste the whole .pem file GitHub generated, including the BEGIN and END lines',
		);
	}
}

function base64url(input: Buffer | string): string {
	return Buffer.from(input).toString('base64url');
}

/** The App's JWT: issued 60 s in the past (clock drift), valid 9 minutes (GitHub allows 10). */
export function appJwt(appId: string, privateKey: string | KeyObject, nowMs = Date.now()): string {
	const key = typeof privateKey === 'string' ? parsePrivateKey(privateKey) : privateKey;
	const now = Math.floor(nowMs / 1000);
	const header = base64url(JSON.stringify({ alg: 'RS256', typ: 'JWT' }));
	const payload = base64url(JSON.stringify({ iat: now - 60, exp: now + 540, iss: /^\d+$/.test(appId) ? Number(appId) : appId }));
	const signature = createSign('RSA-SHA256').update(`${header}.${payload}`).sign(key);
	return `${header}.${payload}.${base64url(signature)}`;
}

interface EndpointOptions {
	url: string;
	headers: Record<string, string>;
	[key: string]: unknown;
}

type RawRequest = ((options: EndpointOptions) => Promise<unknown>) & {
	endpoint: { merge: (route: unknown, parameters?: unknown) => EndpointOptions };
};

interface StrategyOptions {
	appId: string;
	privateKey: string;
	installationId: string;
	/** Octokit passes its own request function (with baseUrl and our counting fetch). */
	request: (route: string, parameters: Record<string, unknown>) => Promise<{ data: unknown }>;
}

/** An Octokit authStrategy for a GitHub App installation (same contract as @octokit/auth-app). */
export function appAuthStrategy(options: StrategyOptions) {
	if (!options.appId || !options.installationId) {
		throw new GitHubAuthError('A GitHub App credential needs the App ID and the installation ID');
	}
	const key = parsePrivateKey(options.privateKey);
	let cached: { token: string; expiresAt: number } | undefined;
	let pending: Promise<string> | undefined;

	async function installationToken(): Promise<string> {
		if (cached && cached.expiresAt - Date.now() > 5 * 60_000) return cached.token;
		pending ??= (async () => {
			try {
				const response = await options.request('POST /app/installations/{installation_id}/access_tokens', {
					installation_id: options.installationId,
					headers: { authorization: `bearer ${appJwt(options.appId, key)}` },
				});
				const data = response.data as { token: string; expires_at: string };
				cached = { token: data.token, expiresAt: Date.parse(data.expires_at) };
				return data.token;
			} finally {
				pending = undefined;
			}
		})();
		return pending;
	}

	const auth = async () => ({ type: 'token', tokenType: 'installation', token: await installationToken() });
	auth.hook = async (request: RawRequest, route: unknown, parameters?: unknown) => {
		const endpoint = request.endpoint.merge(route, parameters);
		// The token request carries the App's JWT already; everything else goes as the installation.
		if (!endpoint.headers.authorization) {
			endpoint.headers.authorization = `token ${await installationToken()}`;
		}
		return request(endpoint);
	};
	return auth;
}
