/** The SLO engine's pure parts: window math, cron gaps, matchers, message building, rate-limit headers. */
import {
	buildPost,
	burnRateFactor,
	cutRunes,
	fingerprintOf,
	formatDuration,
	matches,
	maxCronGapSeconds,
	MAX_POST_RUNES,
	parseDuration,
	postToMattermost,
	rateLimitWaitMs,
	scaledWindows,
	validateMatchers,
	type DueNotification,
} from '../../lib/slo';

describe('burn-rate windows', () => {
	it('computes Sloth\'s factors for the Google 30-day and 28-day catalogs', () => {
		const d30 = 30 * 86400;
		expect(burnRateFactor(2, d30, 3600)).toBeCloseTo(14.4, 10);
		expect(burnRateFactor(5, d30, 6 * 3600)).toBeCloseTo(6, 10);
		expect(burnRateFactor(10, d30, 72 * 3600)).toBeCloseTo(1, 10);
		const d28 = 28 * 86400;
		expect(burnRateFactor(2, d28, 3600)).toBeCloseTo(13.44, 10);
		expect(burnRateFactor(10, d28, 72 * 3600)).toBeCloseTo(0.9333, 4);
	});

	it('keeps the workbook table for a 30-day SLO and scales the windows for a 7-day one', () => {
		expect(scaledWindows(30 * 86400).map((w) => [w.name, w.severity, w.longSeconds, w.shortSeconds, w.factor])).toEqual([
			['page-quick', 'page', 3600, 300, 14.4],
			['page-slow', 'page', 6 * 3600, 1800, 6],
			['ticket-slow', 'ticket', 72 * 3600, 6 * 3600, 1],
		]);
		expect(scaledWindows(7 * 86400).map((w) => [w.longSeconds, w.shortSeconds, w.factor])).toEqual([
			[840, 70, 14.4],
			[5040, 420, 6],
			[60480, 5040, 1],
		]);
	});

	it('parses and formats durations', () => {
		expect(parseDuration('5m')).toBe(300);
		expect(parseDuration('1h30m')).toBe(5400);
		expect(parseDuration('4 hours')).toBe(14400);
		expect(parseDuration('3d')).toBe(259200);
		expect(() => parseDuration('soon')).toThrow(/not a duration/);
		expect(formatDuration(5040)).toBe('1h24m');
		expect(formatDuration(60480)).toBe('16h48m');
	});
});

describe('cron gaps (freshness and absent thresholds)', () => {
	it.each([
		['*/5 * * * *', 300],
		['* * * * *', 60],
		['0 * * * *', 3600],
		['15,45 * * * *', 1800],
		['0 2 * * *', 86400],
		['0 9-17 * * MON-FRI', 64 * 3600], // Friday 17:00 → Monday 09:00
		['@daily', 86400],
		['0 */6 * * *', 6 * 3600],
	])('%s → %ds', (expression, gap) => {
		expect(maxCronGapSeconds(expression)).toBe(gap);
	});

	it('refuses what is not cron', () => {
		expect(() => maxCronGapSeconds('every 5 minutes')).toThrow(/5-field/);
		expect(() => maxCronGapSeconds('61 * * * *')).toThrow(/outside/);
	});
});

describe('silence matchers', () => {
	const labels = { alertname: 'SLOBurnRate', slo: 'connector-run-success', severity: 'page', connector: 'odoo-prod' };
	it('match as Alertmanager does (anchored regexes, missing label = empty)', () => {
		expect(matches([{ label: 'connector', op: '=', value: 'odoo-prod' }], labels)).toBe(true);
		expect(matches([{ label: 'connector', op: '=~', value: 'odoo' }], labels)).toBe(false);
		expect(matches([{ label: 'connector', op: '=~', value: 'odoo-.*' }], labels)).toBe(true);
		expect(matches([{ label: 'severity', op: '!=', value: 'ticket' }, { label: 'team', op: '=', value: '' }], labels)).toBe(true);
		expect(matches([{ label: 'connector', op: '!~', value: 'odoo-.*' }], labels)).toBe(false);
	});

	it('refuse empty, malformed and match-everything silences with a clear reason', () => {
		expect(() => validateMatchers([])).toThrow(/at least one matcher/);
		expect(() => validateMatchers([{ label: 'slo', op: '==', value: 'x' }])).toThrow(/operator "=="/);
		expect(() => validateMatchers([{ label: 'slo', op: '=~', value: '(' }])).toThrow(/not a valid regular expression/);
		expect(() => validateMatchers([{ label: 'slo', op: '!=', value: 'x' }])).toThrow(/mute every alert/);
	});

	it('fingerprints identify by labels, not by their order', () => {
		expect(fingerprintOf({ a: '1', b: '2' })).toBe(fingerprintOf({ b: '2', a: '1' }));
		expect(fingerprintOf({ a: '1', b: '2' })).not.toBe(fingerprintOf({ a: '1', b: '3' }));
	});
});

function notification(overrides: Partial<DueNotification> = {}, payload: Partial<DueNotification['payload']> = {}): DueNotification {
	return {
		id: 'n1',
		fingerprint: 'f'.repeat(32),
		kind: 'firing',
		severity: 'page',
		episode: '1',
		dedupKey: 'firing:1',
		attempts: 0,
		lastError: null,
		createdAt: new Date(0).toISOString(),
		...overrides,
		payload: {
			title: 'connector-run-success: odoo/odoo-prod is burning its error budget',
			summary: 'Burn rate 20× over 1h24m',
			slo: 'connector-run-success',
			sloDescription: 'Per connector: 99% of runs succeed',
			objective: 0.99,
			periodSeconds: 7 * 86400,
			target: { kind: 'connector', id: 'c1', name: 'odoo-prod', type: 'odoo' },
			burnRate: 20,
			firingWindows: [{ name: 'page-slow', longSeconds: 5040, shortSeconds: 420, factor: 6, longBurnRate: 20, shortBurnRate: 100 }],
			errorBudgetRemaining: 0.42,
			failingConnectors: [{ name: 'odoo-prod', type: 'odoo', lastError: { at: '', message: 'Access denied for key sk-LIVE-123', executionId: '9', workflowId: 'w', executionUrl: 'https://n8n/workflow/w/executions/9' } }],
			runbookUrl: 'https://runbooks/slo',
			executionUrl: 'https://n8n/workflow/w/executions/9',
			labels: {},
			...payload,
		},
	};
}

describe('Mattermost messages', () => {
	it('pages are red, urgent with acknowledgement requested, and carry burn rate, budget, failing connectors and links', () => {
		const post = buildPost(notification());
		expect(post.priority).toEqual({ priority: 'urgent', requested_ack: true });
		const a = post.attachments[0];
		expect(a.color).toBe('#d0021b');
		expect(a.title_link).toBe('https://runbooks/slo');
		const fields = Object.fromEntries(a.fields.map((f) => [f.title, f.value]));
		expect(fields['Burn rate']).toBe('20×');
		expect(fields['Error budget left']).toBe('42%');
		expect(fields['Failing connectors']).toContain('odoo/odoo-prod: Access denied');
		expect(fields.Links).toContain('[Runbook](https://runbooks/slo)');
		expect(fields.Links).toContain('[Failed n8n execution](https://n8n/workflow/w/executions/9)');
	});

	it('tickets are orange without priority; resolved messages are green', () => {
		expect(buildPost(notification({ severity: 'ticket' })).priority).toBeUndefined();
		expect(buildPost(notification({ severity: 'ticket' })).attachments[0].color).toBe('#f5a623');
		const resolved = buildPost(notification({ kind: 'resolved' }, { resolvedAt: '2026-03-04T00:00:00Z' }));
		expect(resolved.priority).toBeUndefined();
		expect(resolved.attachments[0].color).toBe('#2eb886');
		expect(resolved.text).toContain('[RESOLVED]');
	});

	it('keep secrets out and stay within 16,383 characters', () => {
		const long = 'é'.repeat(40_000);
		const post = buildPost(notification({}, { summary: `${long} sk-LIVE-123` }), ['sk-LIVE-123']);
		expect(JSON.stringify(post)).not.toContain('sk-LIVE-123');
		expect(Array.from(post.text)).toHaveLength(MAX_POST_RUNES);
		expect(cutRunes('😀'.repeat(10), 5)).toBe('😀😀😀😀…');
	});
});

describe('Mattermost HTTP behaviour', () => {
	it('reads X-Ratelimit-Reset as seconds until reset (or an epoch second), falling back to Retry-After', () => {
		expect(rateLimitWaitMs(new Headers({ 'X-Ratelimit-Reset': '2' }))).toBe(2050);
		expect(rateLimitWaitMs(new Headers({ 'X-Ratelimit-Reset': String(1_000_000_003) }), 1_000_000_000_000)).toBe(3050);
		expect(rateLimitWaitMs(new Headers({ 'Retry-After': '1' }))).toBe(1050);
	});

	it('gives up at once when the rate limit resets later than it may wait, and never shows the token', async () => {
		const calls: string[] = [];
		const fetchImpl = (async (url: string) => {
			calls.push(url);
			return new Response('limit exceeded\n', { status: 429, headers: { 'X-Ratelimit-Reset': '3600', 'X-Ratelimit-Remaining': '0' } });
		}) as unknown as typeof fetch;
		const target = { mode: 'bot' as const, serverUrl: 'http://mm.invalid', token: 'tok-very-secret', channelId: 'c' };
		await expect(postToMattermost(target, buildPost(notification()), { fetchImpl, maxWaitMs: 5000 })).rejects.toThrow(/429.*resets in 3601 s/);
		expect(calls).toHaveLength(1);
	});

	it('refuses a webhook URL that is not /hooks/<key> without echoing it', async () => {
		await expect(postToMattermost({ mode: 'webhook', webhookUrl: 'https://mm.example.com/api/secretthing' }, buildPost(notification()))).rejects.toThrow(
			/must look like https:\/\/<server>\/hooks\/<key>$/,
		);
	});
});
