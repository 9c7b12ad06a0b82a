/**
 * The one place that decides what looks like a secret. Two uses:
 * - masking a text meant for people or logs (run ledger, audit log, node output, Mattermost):
 *   known secrets first (the credential's password, a service key), then every shape a secret
 *   takes when nobody said it was one — `password=…`, `Authorization: Bearer …`, provider tokens,
 *   AWS keys, PEM private keys, JWTs, passwords inside URLs, signed-URL query values;
 * - refusing values that look like secrets where secrets must not be stored (connector config).
 *
 * Masking is by pattern, so it errs towards hiding: a value after `token=` is hidden even when it
 * was a harmless word. What is kept is what a person needs to act: the key name, the auth scheme,
 * a URL's scheme, host and path (so an error still names the file).
 */

export const MASK = '***';

/** Key names whose value is a secret: the core word, possibly with prefixes/suffixes (client_secret, x-amz-signature, aws_secret_access_key). */
const KEY_CORE = '(?:password|passwd|pwd|passphrase|secret|token|api[_-]?key|apikey|access[_-]?key|private[_-]?key|signature|sig)';
const KEY_NAME = `(?:[A-Za-z0-9]+[_.-])*${KEY_CORE}(?:[_.-][A-Za-z0-9]+)*`;

/** `key=value`, `key: value`, `"key":"value"`, `'key' = 'value'`, `key=>value`: keeps the key, masks the value. */
const KEY_VALUE = new RegExp(
	`((?<![A-Za-z0-9])["']?${KEY_NAME}["']?\\s*(?:=>|[:=])\\s*)` +
		`("(?:[^"\\\\]|\\\\.)*"|'(?:[^'\\\\]|\\\\.)*'|[^\\s&;,'"<>)\\]}]+)`,
	'gi',
);

/** Secret-looking URL query parameters (signed URLs: X-Amz-Signature, sig, token, key, …). */
const QUERY_SECRET_NAME = new RegExp(`^(?:${KEY_NAME}|key|code|auth|credentials?|x-amz-credential|x-amz-security-token|x-goog-credential)$`, 'i');
const QUERY_SECRET_IN_TEXT = new RegExp(`([?&](?:${KEY_NAME}|key|x-amz-credential|x-amz-security-token|x-goog-credential)=)[^&#\\s"'<>]+`, 'gi');

interface Pattern {
	re: RegExp;
	replace: string | ((substring: string, ...groups: string[]) => string);
}

const PATTERNS: Pattern[] = [
	// PEM private keys (RSA, EC, OPENSSH, ENCRYPTED …), also cut off at the end of the text.
	{
		re: /-----BEGIN ((?:[A-Z0-9]+ )*PRIVATE KEY)-----[\s\S]*?(?:-----END (?:[A-Z0-9]+ )*PRIVATE KEY-----|$)/g,
		replace: (_m, kind: string) => `-----BEGIN ${kind}-----${MASK}-----END ${kind}-----`,
	},
	// Authorization headers: keep the scheme, mask the credential.
	{
		re: /\b((?:proxy-)?authorization["']?\s*[:=]\s*["']?)(?:(bearer|basic|token|digest|negotiate|apikey|bot)\s+)?([^\s"',;]+)/gi,
		replace: (_m, head: string, scheme: string | undefined) => `${head}${scheme ? `${scheme} ` : ''}${MASK}`,
	},
	// A bare "Bearer <token>" (curl lines, stack traces).
	{ re: /\b(bearer\s+)[A-Za-z0-9\-._~+/]{8,}=*/gi, replace: `$1${MASK}` },
	// Passwords inside URLs: scheme://user:password@host
	{ re: /(\b[a-z][a-z0-9+.-]*:\/\/[^:/?#@\s]*:)[^@\s]*@/gi, replace: `$1${MASK}@` },
	// Signed-URL query values.
	{ re: QUERY_SECRET_IN_TEXT, replace: `$1${MASK}` },
	// key=value forms.
	{ re: KEY_VALUE, replace: (_m, key: string, value: string) => `${key}${value[0] === '"' || value[0] === "'" ? `${value[0]}${MASK}${value[0]}` : MASK}` },
	// GitHub tokens (classic, OAuth, app, refresh, fine-grained).
	{ re: /\b(?:gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,})/g, replace: MASK },
	// AWS access key ids.
	{ re: /\b(?:AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AIPA|ANPA|ANVA|AROA|APKA|ASCA)[A-Z0-9]{16}\b/g, replace: MASK },
	// JWTs (Supabase service and anon keys are JWTs).
	{ re: /\beyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*/g, replace: MASK },
	// Other providers' well-known token shapes: Slack, Stripe, OpenAI/Anthropic, Google API keys, npm.
	{ re: /\b(?:xox[abposr]-[A-Za-z0-9-]{10,}|[sr]k_(?:live|test)_[A-Za-z0-9]{10,}|sk-[A-Za-z0-9_-]{20,}|AIza[0-9A-Za-z_-]{35}|npm_[A-Za-z0-9]{36})/g, replace: MASK },
	// Mattermost/Slack incoming-webhook URLs: the path is the secret.
	{ re: /(\/hooks\/)[A-Za-z0-9]{20,}/g, replace: `$1${MASK}` },
	// AWS secret access keys: 40 characters of base64 with upper, lower and digit (hex digests, all lower case, stay).
	{
		re: /(?<![A-Za-z0-9/+=])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])/g,
		replace: (m: string) => (/[a-z]/.test(m) && /[A-Z]/.test(m) && /[0-9]/.test(m) ? MASK : m),
	},
];

/**
 * Removes known secrets (exact values, longest first) and anything that looks like a secret.
 * Safe to apply twice; never throws.
 */
export function redact(text: string, secrets: readonly string[] = []): string {
	let out = typeof text === 'string' ? text : String(text);
	const known = [...new Set(secrets.filter((s) => typeof s === 'string' && s.length > 0))].sort((a, b) => b.length - a.length);
	for (const secret of known) {
		out = out.split(secret).join(MASK);
		const encoded = encodeURIComponent(secret);
		if (encoded !== secret) out = out.split(encoded).join(MASK);
	}
	for (const { re, replace } of PATTERNS) out = out.replace(re, replace as never);
	return out;
}

/** redact() over every string inside a JSON-like value (keys whose name says secret lose their value). */
export function redactDeep<T>(value: T, secrets: readonly string[] = []): T {
	return walk(value, secrets, 0) as T;
}

const SECRET_KEY_NAME = new RegExp(`^${KEY_NAME}$`, 'i');

function walk(value: unknown, secrets: readonly string[], depth: number): unknown {
	if (typeof value === 'string') return redact(value, secrets);
	if (value === null || typeof value !== 'object' || depth > 50) return value;
	if (Array.isArray(value)) return value.map((v) => walk(v, secrets, depth + 1));
	if (value instanceof Date) return value;
	const out: Record<string, unknown> = {};
	for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
		out[k] = SECRET_KEY_NAME.test(k) && typeof v === 'string' && v.length > 0 ? MASK : walk(v, secrets, depth + 1);
	}
	return out;
}

/** A copy of an error that is safe to show: message and details redacted, pg's fields kept. */
export function safeError(error: unknown, secrets: readonly string[] = []): Error {
	// Duck-typed rather than instanceof: errors raised in another realm (a vm context, a worker)
	// are not instances of this realm's Error but carry the same fields.
	const source = (isErrorLike(error) ? error : new Error(String(error))) as Error;
	const safe = new Error(redact(source.message, secrets));
	safe.name = source.name ?? 'Error';
	for (const key of ['code', 'detail', 'hint', 'schema', 'table', 'column', 'constraint', 'where', 'position'] as const) {
		const value = (source as unknown as Record<string, unknown>)[key];
		if (value !== undefined) (safe as unknown as Record<string, unknown>)[key] = typeof value === 'string' ? redact(value, secrets) : value;
	}
	return safe;
}

function isErrorLike(value: unknown): value is { message: string; name?: string } {
	return typeof value === 'object' && value !== null && typeof (value as { message?: unknown }).message === 'string';
}

// --- URLs ---------------------------------------------------------------------------------------

/**
 * A URL as it may be shown: scheme, host, path and harmless query parameters kept; the password
 * (and a user name that is itself a token) and secret-looking query values masked.
 */
export function maskUrl(url: string): string {
	let u: URL;
	try {
		u = new URL(url);
	} catch {
		return redact(url);
	}
	if (u.password) u.password = MASK;
	else if (u.username && looksLikeSecret(decodeURIComponent(u.username))) u.username = MASK;
	const params = [...u.searchParams.keys()];
	if (params.some((k) => QUERY_SECRET_NAME.test(k))) {
		const next = new URLSearchParams();
		for (const [k, v] of u.searchParams) next.append(k, QUERY_SECRET_NAME.test(k) ? MASK : v);
		u.search = next.toString().replace(/%2A%2A%2A/g, MASK);
	}
	if (u.hash && looksLikeSecret(u.hash.slice(1))) u.hash = MASK;
	return redact(u.toString().replace(/%2A%2A%2A/g, MASK));
}

/** The secret parts of a URL (password, token user names, secret query values), in every form they can appear. */
export function urlSecrets(url: string): string[] {
	const out = new Set<string>();
	let u: URL;
	try {
		u = new URL(url);
	} catch {
		return [];
	}
	const add = (raw: string) => {
		if (!raw) return;
		out.add(raw);
		try {
			out.add(decodeURIComponent(raw));
		} catch {
			// a malformed escape: the raw form is listed
		}
		out.add(encodeURIComponent(raw));
	};
	if (u.password) add(u.password);
	else if (u.username && looksLikeSecret(decodeURIComponent(u.username))) add(u.username);
	for (const [k, v] of u.searchParams) if (QUERY_SECRET_NAME.test(k)) add(v);
	return [...out].filter((s) => s.length >= 3);
}

// --- Detection ----------------------------------------------------------------------------------

/**
 * Key names that must not hold a literal value in a connector config or a workflow template.
 * Broader than the masking's key names (people name these keys, not protocols: accessToken,
 * dbPassword, signingKey), minus keys that name or describe a secret rather than hold it
 * (tokenName, secretField, passwordRef, maxTokens).
 */
const SECRET_KEY = /(pass|secret|token|api[-_]?key|private[-_]?key|access[-_]?key|credential|^authorization$|bearer|signing[-_]?key)/i;
const DESCRIBES_SECRET = /(name|names|id|ids|field|fields|type|mode|header|location|path|ref|refs|url|description|label|property|expires?|count|limit|max\w*|min\w*|tokens)$/i;

export function isSecretKeyName(key: string): boolean {
	return SECRET_KEY.test(key) && !DESCRIBES_SECRET.test(key);
}

/** True when the text contains something redact() would mask (other than known secrets). */
export function looksLikeSecret(text: string): boolean {
	if (typeof text !== 'string' || text.length === 0) return false;
	return redact(text) !== text;
}

/** What kind of secret a text holds, for messages that must not show it ("a Bearer token"), or null. */
export function secretKind(text: string): string | null {
	if (typeof text !== 'string' || !looksLikeSecret(text)) return null;
	const kinds: Array<[RegExp, string]> = [
		[/-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/, 'a private key'],
		[/authorization|\bbearer\s/i, 'an Authorization header or Bearer token'],
		[/\b[a-z][a-z0-9+.-]*:\/\/[^:/?#@\s]*:[^@\s]*@/i, 'a URL with a password'],
		[/\b(?:gh[pousr]_|github_pat_)/, 'a GitHub token'],
		[/\b(?:AKIA|ASIA)[A-Z0-9]{16}\b/, 'an AWS access key'],
		[/\beyJ[A-Za-z0-9_-]{5,}\.eyJ/, 'a JWT'],
		[QUERY_SECRET_IN_TEXT, 'a signed URL or token query parameter'],
		[new RegExp(`${KEY_NAME}["']?\\s*(?:=>|[:=])`, 'i'), 'a password, secret or token value'],
	];
	for (const [re, name] of kinds) {
		re.lastIndex = 0;
		if (re.test(text)) return name;
	}
	return 'a token or key';
}
