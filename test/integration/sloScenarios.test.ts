/**
 * SLO monitor scenarios on a controlled clock over days of synthetic runs, against a real
 * PostgreSQL and the Mattermost simulator over real HTTP: evaluation → alert state → delivery.
 */
import { Pool } from 'pg';
import { deliverDue, runEvaluation, createSilence, expireSilence, upsertSlo, type MattermostTarget, type MonitorResult } from '../../lib/slo';
import { useScratchDatabase } from '../../tooling/helpers/database';
import { MattermostSimulator, type RecordedPost } from '../../tooling/simulators/mattermost/server';
import { addConnector, addRuns, DAY, HOUR, MINUTE, resetAlerting } from './sloHelpers';

jest.setTimeout(120_000);

const db = useScratchDatabase();
const T0 = Date.UTC(2026, 2, 1); // history starts here; "now" walks forward from T0 + 3 days
const BURST = T0 + 3 * DAY;
const TOKEN = 'bottoken0123456789abcdefgh';
const HOOK = 'hookkey0123456789abcdefghi';
const CHANNEL = 'alertschannel0000000000001';

let sim: MattermostSimulator;
const bot = (): MattermostTarget => ({ mode: 'bot', serverUrl: sim.url, token: TOKEN, channelId: CHANNEL });
const hook = (): MattermostTarget => ({ mode: 'webhook', webhookUrl: `${sim.url}/hooks/${HOOK}` });

beforeAll(async () => {
	sim = await MattermostSimulator.start({
		hooks: { [HOOK]: { channelId: CHANNEL, channelName: 'data-alerts' } },
		tokens: { [TOKEN]: { id: 'botuser000000000000000000a', username: 'slo-bot', isBot: true, channels: [CHANNEL] } },
	});
});
afterAll(async () => sim?.close());
beforeEach(async () => {
	await resetAlerting(db.pool);
	sim.posts.length = 0;
	sim.requests.length = 0;
});

const only = (slos: string[]) => ({ slos, n8nBaseUrl: 'http://n8n.test', defaultRunbookUrl: 'https://runbooks.test/slo' });

async function step(at: number, target: MattermostTarget, slos = ['connector-run-success']): Promise<MonitorResult> {
	const result = await runEvaluation(db.pool, { ...only(slos), now: new Date(at) });
	await deliverDue(db.pool, target, { now: new Date(at), baseDelayMs: 5 });
	return result;
}

/** Walks the clock from `from` to `to` (inclusive) in `every` steps, evaluating and notifying. */
async function walk(from: number, to: number, every: number, target: MattermostTarget, slos?: string[]): Promise<Array<{ at: number; posts: number }>> {
	const trace: Array<{ at: number; posts: number }> = [];
	for (let at = from; at <= to; at += every) {
		await step(at, target, slos);
		trace.push({ at, posts: sim.posts.length });
	}
	return trace;
}

function tagOf(post: RecordedPost): string {
	return /\*\*\[(PAGE|TICKET|RESOLVED)\]\*\*/.exec(post.message)?.[1] ?? '?';
}

async function notifications(): Promise<Array<{ kind: string; severity: string; status: string; dedup_key: string; fingerprint: string; post_id: string | null }>> {
	const { rows } = await db.pool.query('select kind, severity, status, dedup_key, fingerprint, post_id from public.ipai_alert_notification order by created_at, kind');
	return rows;
}

const every5min = '*/5 * * * *';

/** An extra pool (a second monitor); an idle client dropped by the server must not crash the run. */
function testPool(max: number, url = db.url): Pool {
	const pool = new Pool({ connectionString: url, max });
	pool.on('error', () => undefined);
	return pool;
}

describe('burn-rate paging', () => {
	it('pages within the page windows of a burst, once, threads one resolved message, and repeats only after the interval', async () => {
		const id = await addConnector(db.pool, { name: 'odoo-prod', schedule: every5min, createdAt: new Date(T0 - 30 * DAY) });
		await addRuns(db.pool, id, { from: T0, to: BURST, every: 5 * MINUTE });
		await addRuns(db.pool, id, {
			from: BURST, to: BURST + 5 * HOUR, every: 5 * MINUTE, status: () => 'failed',
			error: 'Odoo XML-RPC fault 2: Access Denied for https://etl:hunter2@odoo.example.com',
			metadata: { n8n_execution_id: '4711', n8n_workflow_id: 'wfOdoo' },
		});
		await addRuns(db.pool, id, { from: BURST + 5 * HOUR, to: BURST + 8 * HOUR, every: 5 * MINUTE });

		// Before the burst: nothing fires, budget untouched.
		const quiet = await step(BURST - 5 * MINUTE, bot());
		expect(quiet.statuses[0]).toMatchObject({ status: 'ok', errorBudgetRemaining: 1, badEvents: 0 });
		expect(sim.posts).toHaveLength(0);

		const trace = await walk(BURST, BURST + 4 * HOUR + 55 * MINUTE, 5 * MINUTE, bot());
		const firstPost = trace.find((t) => t.posts > 0)!;
		// page-slow for a 7-day SLO: 6× over 1h24m confirmed over 7m → two failed runs of ~17.
		expect(firstPost.at - BURST).toBeLessThanOrEqual(30 * MINUTE);
		const page = sim.posts[0];
		expect(tagOf(page)).toBe('PAGE');
		expect(page.metadata).toEqual({ priority: { priority: 'urgent', requested_ack: true } });
		const attachment = (page.props.attachments as Array<Record<string, unknown>>)[0];
		expect(attachment.color).toBe('#d0021b');
		const fieldText = JSON.stringify(attachment.fields);
		expect(fieldText).toContain('connector-run-success');
		expect(fieldText).toMatch(/Burn rate/);
		expect(fieldText).toMatch(/Error budget left/);
		expect(fieldText).toContain('odoo/odoo-prod: Odoo XML-RPC fault 2: Access Denied');
		expect(fieldText).toContain('http://n8n.test/workflow/wfOdoo/executions/4711');
		expect(fieldText).toContain('https://runbooks.test/slo');
		expect(JSON.stringify(sim.posts)).not.toContain('hunter2');

		// The ticket of the same SLO fires too, but the page inhibits it.
		const { rows: alerts } = await db.pool.query(`select severity, state, inhibited_by from public.ipai_alert order by severity`);
		expect(alerts).toEqual([
			expect.objectContaining({ severity: 'page', state: 'firing', inhibited_by: null }),
			expect.objectContaining({ severity: 'ticket', state: 'firing', inhibited_by: expect.any(String) }),
		]);
		// 4h55m of burst, evaluated every 5 minutes: one page, then one repeat after 4 hours.
		expect(sim.posts.map(tagOf)).toEqual(['PAGE', 'PAGE']);
		expect(sim.posts[1].message).toContain('(still firing)');
		expect(sim.posts[1].createAt).toBeGreaterThan(0);

		// Recovery: resolves once, as a reply in the page's thread.
		await walk(BURST + 5 * HOUR, BURST + 8 * HOUR, 5 * MINUTE, bot());
		const resolved = sim.posts.filter((p) => tagOf(p) === 'RESOLVED');
		expect(resolved).toHaveLength(1);
		expect(resolved[0].rootId).toBe(page.id);
		expect(resolved[0].metadata).toEqual({});
		expect((resolved[0].props.attachments as Array<{ color: string }>)[0].color).toBe('#2eb886');
		// The ticket that began under the page never surfaced as a separate alert.
		expect(sim.posts.map(tagOf)).toEqual(['PAGE', 'PAGE', 'RESOLVED']);
		const sent = (await notifications()).filter((n) => n.status === 'sent').map((n) => n.kind);
		expect(sent).toEqual(['firing', 'repeat', 'resolved']);
		const audit = await db.pool.query(`select action from public.ipai_audit_log where action like 'notify_%' order by created_at`);
		expect(audit.rows.map((r) => r.action)).toEqual(['notify_firing', 'notify_repeat', 'notify_resolved']);
	});

	it('opens a ticket for a slow leak and neither pages nor flaps', async () => {
		const id = await addConnector(db.pool, { name: 'github-devops', type: 'github', schedule: every5min, createdAt: new Date(T0 - 30 * DAY) });
		await addRuns(db.pool, id, { from: T0, to: BURST, every: 5 * MINUTE });
		// 4% of runs fail (one in 25): too slow for either page pair, 4× the budget over the ticket window.
		await addRuns(db.pool, id, { from: BURST, to: BURST + 2 * DAY, every: 5 * MINUTE, status: (i) => (i % 25 === 24 ? 'failed' : 'success') });
		await walk(BURST, BURST + 2 * DAY - 30 * MINUTE, 30 * MINUTE, hook());
		// One ticket that stays open (the short-window hysteresis bridges the gaps between failures),
		// re-posted once after a day (the ticket repeat interval); never a page, never a resolve.
		expect(sim.posts.map(tagOf)).toEqual(['TICKET', 'TICKET']);
		expect(sim.posts[1].message).toContain('(still firing)');
		expect((await notifications()).map((n) => `${n.kind}/${n.status}`)).toEqual(['firing/sent', 'repeat/sent']);
		const post = sim.posts[0];
		expect(post.via).toBe('webhook');
		expect(post.metadata).toEqual({}); // tickets carry no urgent priority
		expect((post.props.attachments as Array<{ color: string }>)[0].color).toBe('#f5a623');
		const { rows } = await db.pool.query(`select severity, state from public.ipai_alert`);
		expect(rows).toEqual([{ severity: 'ticket', state: 'firing' }]);
		const last = await runEvaluation(db.pool, { ...only(['connector-run-success']), now: new Date(BURST + 2 * DAY - 30 * MINUTE) });
		expect(last.statuses[0].errorBudgetRemaining).toBeLessThan(1);
		const ticket = last.statuses[0].windows.find((w) => w.name === 'ticket-slow')!;
		expect(ticket).toMatchObject({ factor: 1, longSeconds: 16.8 * 3600, shortSeconds: 1.4 * 3600 });
		expect(ticket.longBurnRate).toBeGreaterThan(3);
		expect(ticket.longBurnRate).toBeLessThan(6);
	});

	it('does not page for one failure of a quiet (hourly) connector', async () => {
		const id = await addConnector(db.pool, { name: 'files-nightly', type: 'file', schedule: '0 * * * *', createdAt: new Date(T0 - 30 * DAY) });
		await addRuns(db.pool, id, { from: T0, to: BURST + 6 * HOUR, every: HOUR, status: (_i, t) => (t === BURST ? 'failed' : 'success') });
		const trace = await walk(BURST, BURST + 6 * HOUR, 15 * MINUTE, hook());
		expect(trace.length).toBe(25);
		expect(sim.posts.filter((p) => tagOf(p) === 'PAGE')).toHaveLength(0);
		const { rows } = await db.pool.query(`select count(*)::int as n from public.ipai_alert where severity = 'page'`);
		expect(rows[0].n).toBe(0);
		// The minimum-event guard is what held the page pairs back.
		const status = (await runEvaluation(db.pool, { ...only(['connector-run-success']), now: new Date(BURST + 30 * MINUTE) })).statuses[0];
		const pagePairs = status.windows.filter((w) => w.severity === 'page');
		expect(pagePairs.every((w) => w.guarded && !w.firing)).toBe(true);
		expect(pagePairs.some((w) => w.longBurnRate > w.factor)).toBe(true);
	});
});

describe('absent and freshness', () => {
	it('raises "absent" when a scheduled connector stops running, mutes its stale alert, and resolves when it runs again', async () => {
		const id = await addConnector(db.pool, { name: 'odoo-stops', schedule: every5min, createdAt: new Date(T0 - 30 * DAY) });
		await addRuns(db.pool, id, { from: T0, to: BURST, every: 5 * MINUTE });
		const slos = ['connector-run-success', 'connector-freshness'];
		// Last run started at BURST - 5m; absent after 2 × 5m + 10m grace.
		await walk(BURST, BURST + 15 * MINUTE, 5 * MINUTE, hook(), slos);
		expect(sim.posts).toHaveLength(0);
		await step(BURST + 20 * MINUTE, hook(), slos);
		expect(sim.posts.map(tagOf)).toEqual(['PAGE']);
		const result = await step(BURST + 35 * MINUTE, hook(), slos);
		expect(sim.posts.map(tagOf)).toEqual(['PAGE']);
		expect(sim.posts[0].message).toContain('odoo/odoo-stops stopped reporting runs');
		const stale = result.alerts.filter((a) => a.labels.alertname === 'ConnectorStale');
		expect(stale.length).toBeGreaterThan(0);
		expect(stale.every((a) => a.inhibitedBy !== null)).toBe(true);
		const freshness = result.statuses.find((s) => s.sliType === 'connector_freshness')!;
		expect(freshness.freshness).toMatchObject({ scheduleGapSeconds: 300, ticketAfterSeconds: 1200, pageAfterSeconds: 1800 });
		expect(result.alerts.filter((a) => a.state === 'firing').map((a) => `${a.labels.alertname}/${a.severity}`).sort()).toEqual([
			'ConnectorAbsent/page', 'ConnectorStale/page', 'ConnectorStale/ticket',
		]);
		expect(freshness.status).toBe('page');

		await addRuns(db.pool, id, { from: BURST + 40 * MINUTE, to: BURST + 50 * MINUTE, every: 5 * MINUTE });
		await step(BURST + 50 * MINUTE, hook(), slos);
		expect(sim.posts.map(tagOf)).toEqual(['PAGE', 'RESOLVED']);
		await step(BURST + 55 * MINUTE, hook(), slos);
		expect(sim.posts).toHaveLength(2);
	});

	it('reports freshness error budget from stale time over the period', async () => {
		const id = await addConnector(db.pool, { name: 'odoo-gappy', schedule: '0 * * * *', createdAt: new Date(T0 - 30 * DAY) });
		// Hourly; five failed runs two days ago. Threshold 2h10m; allowed stale time 7d × 1% = 1h40.8m.
		await addRuns(db.pool, id, { from: T0, to: BURST, every: HOUR, status: (_i, t) => (t > BURST - 2 * DAY && t < BURST - 2 * DAY + 6 * HOUR ? 'failed' : 'success') });
		const result = await runEvaluation(db.pool, { ...only(['connector-freshness']), now: new Date(BURST) });
		const f = result.statuses[0];
		expect(f.freshness!.ticketAfterSeconds).toBe(2 * 3600 + 600);
		// successes at -2d (+30s) and -2d+6h (+30s): a 6h gap, 3h50m beyond the threshold.
		expect(f.freshness!.staleSecondsInPeriod).toBe(6 * 3600 - 7800);
		expect(f.errorBudgetRemaining).toBeCloseTo(1 - (6 * 3600 - 7800) / (0.01 * 7 * 86400), 4);
		expect(f.status).toBe('ok');
	});
});

describe('silences', () => {
	it('suppresses notifications while active and lets them through once it expires by itself', async () => {
		const id = await addConnector(db.pool, { name: 'odoo-maint', schedule: every5min, createdAt: new Date(T0 - 30 * DAY) });
		await addRuns(db.pool, id, { from: T0, to: BURST, every: 5 * MINUTE });
		await addRuns(db.pool, id, { from: BURST, to: BURST + 3 * HOUR, every: 5 * MINUTE, status: () => 'failed' });
		const silence = await createSilence(db.pool, {
			matchers: [{ label: 'connector', op: '=', value: 'odoo-maint' }, { label: 'severity', op: '=~', value: 'page|ticket' }],
			startsAt: new Date(BURST - 10 * MINUTE), endsAt: new Date(BURST + HOUR), createdBy: 'alice', comment: 'Odoo upgrade', now: new Date(BURST - 10 * MINUTE),
		});
		expect(silence.state).toBe('active');
		const during = await walk(BURST, BURST + 55 * MINUTE, 5 * MINUTE, hook());
		expect(during.at(-1)!.posts).toBe(0);
		const { rows } = await db.pool.query(`select silenced_by from public.ipai_alert where severity = 'page'`);
		expect(rows[0].silenced_by).toEqual([silence.id]);
		await step(BURST + HOUR + 5 * MINUTE, hook());
		expect(sim.posts.map(tagOf)).toEqual(['PAGE']);
		const audit = await db.pool.query(`select action from public.ipai_audit_log where event_type = 'alert'`);
		expect(audit.rows.map((r) => r.action)).toContain('silence');
	});

	it('unsilences early and refuses a silence that would match everything', async () => {
		await expect(createSilence(db.pool, { matchers: [{ label: 'team', op: '=~', value: '.*' }], durationSeconds: 3600, createdBy: 'bob', comment: 'x' })).rejects.toThrow(/mute every alert/);
		await expect(createSilence(db.pool, { matchers: [{ label: 'slo', op: '=', value: 'a' }], createdBy: 'bob', comment: 'x' })).rejects.toThrow(/expire by themselves/);
		const now = new Date(BURST);
		const s = await createSilence(db.pool, { matchers: [{ label: 'slo', op: '=', value: 'connector-run-success' }], durationSeconds: 7200, createdBy: 'bob', comment: 'deploy', now });
		const expired = await expireSilence(db.pool, s.id, 'carol', new Date(BURST + MINUTE));
		expect(expired).toMatchObject({ state: 'expired', expiredBy: 'carol', endsAt: new Date(BURST + 2 * HOUR).toISOString() });
	});
});

describe('two monitors at the same moment', () => {
	it('post each notification exactly once', async () => {
		const id = await addConnector(db.pool, { name: 'odoo-race', schedule: every5min, createdAt: new Date(T0 - 30 * DAY) });
		await addRuns(db.pool, id, { from: T0, to: BURST, every: 5 * MINUTE });
		await addRuns(db.pool, id, { from: BURST, to: BURST + 5 * HOUR, every: 5 * MINUTE, status: () => 'failed' });
		await addRuns(db.pool, id, { from: BURST + 5 * HOUR, to: BURST + 7 * HOUR, every: 5 * MINUTE });
		const pools = [testPool(3), testPool(3)];
		sim.delayMs = 30; // deliveries overlap in time
		try {
			for (let at = BURST; at <= BURST + 7 * HOUR; at += 10 * MINUTE) {
				const now = new Date(at);
				await Promise.all(
					pools.map(async (pool) => {
						await runEvaluation(pool, { ...only(['connector-run-success']), now });
						await deliverDue(pool, bot(), { now, baseDelayMs: 5 });
					}),
				);
			}
		} finally {
			sim.delayMs = 0;
			await Promise.all(pools.map((p) => p.end()));
		}
		const sent = (await notifications()).filter((n) => n.status === 'sent');
		expect(sent.map((n) => n.kind)).toEqual(['firing', 'repeat', 'resolved']);
		expect(sim.posts.map(tagOf)).toEqual(['PAGE', 'PAGE', 'RESOLVED']);
		expect(new Set(sim.posts.map((p) => p.id)).size).toBe(sim.posts.length);
		expect(sent.map((n) => n.post_id)).toEqual(sim.posts.map((p) => p.id));
	});
});

describe('many notifiers at once', () => {
	it('split the due notifications between them (SKIP LOCKED) and post each exactly once', async () => {
		for (let c = 0; c < 6; c++) {
			const id = await addConnector(db.pool, { name: `odoo-${c}`, schedule: every5min, createdAt: new Date(T0 - 30 * DAY) });
			await addRuns(db.pool, id, { from: T0, to: BURST, every: 5 * MINUTE });
			await addRuns(db.pool, id, { from: BURST, to: BURST + HOUR, every: 5 * MINUTE, status: () => 'failed' });
		}
		const now = new Date(BURST + HOUR);
		const result = await runEvaluation(db.pool, { ...only(['connector-run-success']), now });
		expect(result.due).toHaveLength(6);
		const pools = Array.from({ length: 4 }, () => testPool(2));
		sim.delayMs = 40;
		let reports;
		try {
			reports = await Promise.all(pools.map((pool) => deliverDue(pool, bot(), { now })));
		} finally {
			sim.delayMs = 0;
			await Promise.all(pools.map((p) => p.end()));
		}
		expect(reports.flat().filter((r) => r.delivered)).toHaveLength(6);
		expect(reports.filter((r) => r.length > 0).length).toBeGreaterThan(1); // the work really was shared
		expect(sim.posts).toHaveLength(6);
		expect(new Set(sim.posts.map((p) => p.message.split('\n')[0])).size).toBe(6);
		const sent = (await notifications()).filter((n) => n.status === 'sent');
		expect(new Set(sent.map((n) => n.fingerprint)).size).toBe(6);
	});
});

describe('delivery faults', () => {
	async function oneDuePage(name: string): Promise<void> {
		const id = await addConnector(db.pool, { name, schedule: every5min, createdAt: new Date(T0 - 30 * DAY) });
		await addRuns(db.pool, id, { from: T0, to: BURST, every: 5 * MINUTE });
		await addRuns(db.pool, id, { from: BURST, to: BURST + HOUR, every: 5 * MINUTE, status: () => 'failed' });
		const result = await runEvaluation(db.pool, { ...only(['connector-run-success']), now: new Date(BURST + HOUR) });
		expect(result.due.map((d) => `${d.kind}/${d.severity}`)).toEqual(['firing/page']);
	}

	it('waits for X-Ratelimit-Reset on 429 and delivers', async () => {
		await oneDuePage('odoo-429');
		sim.rateLimit(2, 1);
		const started = Date.now();
		const [report] = await deliverDue(db.pool, bot(), { now: new Date(BURST + HOUR) });
		expect(report).toMatchObject({ delivered: true, attempts: 3 });
		expect(Date.now() - started).toBeGreaterThanOrEqual(2000);
		expect(sim.requests.map((r) => r.status)).toEqual([429, 429, 201]);
		expect(sim.posts).toHaveLength(1);
	});

	it('retries 5xx with backoff; a delivery that finally fails stays due and goes out next time', async () => {
		await oneDuePage('odoo-5xx');
		sim.failNext(2, 503);
		const [first] = await deliverDue(db.pool, hook(), { now: new Date(BURST + HOUR), baseDelayMs: 5 });
		expect(first).toMatchObject({ delivered: true, attempts: 3 });
		expect(sim.requests.map((r) => r.status)).toEqual([503, 503, 200]);

		await resetAlerting(db.pool);
		sim.posts.length = 0;
		sim.requests.length = 0;
		await oneDuePage('odoo-down');
		sim.failNext(3, 502);
		const [failed] = await deliverDue(db.pool, hook(), { now: new Date(BURST + HOUR), baseDelayMs: 5, maxAttempts: 3 });
		expect(failed.delivered).toBe(false);
		expect(failed.error).toMatch(/Mattermost answered 502/);
		expect(failed.error).not.toContain(HOOK);
		const [row] = await notifications();
		expect(row).toMatchObject({ status: 'pending', kind: 'firing' });
		const next = await runEvaluation(db.pool, { ...only(['connector-run-success']), now: new Date(BURST + HOUR + 5 * MINUTE) });
		expect(next.due).toHaveLength(1);
		expect(next.due[0].lastError).toMatch(/502/);
		const [retried] = await deliverDue(db.pool, hook(), { now: new Date(BURST + HOUR + 5 * MINUTE), baseDelayMs: 5 });
		expect(retried.delivered).toBe(true);
		expect(sim.posts.map(tagOf)).toEqual(['PAGE']);
	});

	it('does not retry a 403 and says what to fix', async () => {
		await oneDuePage('odoo-403');
		const [report] = await deliverDue(db.pool, { mode: 'bot', serverUrl: sim.url, token: TOKEN, channelId: 'notmychannel00000000000000' }, { now: new Date(BURST + HOUR) });
		expect(report.delivered).toBe(false);
		expect(report.error).toMatch(/403 \(api\.context\.permissions\.app_error\).*add the bot to the channel/);
		expect(sim.requests).toHaveLength(1);
		expect(report.error).not.toContain(TOKEN);
	});
});

describe('agent SLOs and error budgets', () => {
	it('reports p95 latency, failures per day and budget left, and pages on a latency burn', async () => {
		const { rows } = await db.pool.query<{ id: string }>(`insert into public.ipai_agent (code_name, display_name, agent_type) values ('copilot', 'Copilot', 'claude') returning id`);
		const agent = rows[0].id;
		// 2 days of calls every 2 minutes: 1 s each, except the last 3 hours at 9 s; 2 failures.
		await db.pool.query(
			`insert into public.ipai_agent_run (agent_id, started_at, ended_at, status, latency_ms)
			 select $1, t, t + make_interval(secs => l / 1000.0), case when n % 500 = 0 then 'failed' else 'success' end, l
			   from (select t, row_number() over (order by t) as n,
			                case when t >= $3::timestamptz - interval '3 hours' then 9000 else 1000 end as l
			           from generate_series($2::timestamptz, $3::timestamptz - interval '2 minutes', interval '2 minutes') as t) s`,
			[agent, new Date(BURST - 2 * DAY), new Date(BURST)],
		);
		const result = await runEvaluation(db.pool, { ...only(['agent-p95-latency', 'agent-failures-per-day']), now: new Date(BURST) });
		const latency = result.statuses.find((s) => s.slo === 'agent-p95-latency')!;
		const failures = result.statuses.find((s) => s.slo === 'agent-failures-per-day')!;
		expect(latency.target).toMatchObject({ kind: 'agent', name: 'copilot' });
		expect(latency.events).toBe(1440);
		expect(latency.badEvents).toBe(90);
		expect(latency.latency!.p95Ms).toBe(9000);
		expect(latency.status).toBe('page');
		expect(latency.errorBudgetRemaining).toBeCloseTo(1 - 90 / 1440 / 0.05, 5);
		expect(failures).toMatchObject({ status: 'ok', badEvents: 2, events: 1440 });
		expect(failures.errorBudgetRemaining).toBeCloseTo(1 - 2 / 140, 5);
		expect(result.due.map((d) => `${d.kind}/${d.severity}/${d.payload.slo}`)).toEqual(['firing/page/agent-p95-latency']);
	});

	it('reports per-connector budget remaining from the template SLO, and a connector-specific SLO overrides it', async () => {
		const a = await addConnector(db.pool, { name: 'a', createdAt: new Date(T0 - 30 * DAY) });
		const b = await addConnector(db.pool, { name: 'b', createdAt: new Date(T0 - 30 * DAY) });
		// 1,000 runs each in the last 7 days (every ~10 minutes), 5 failed.
		for (const id of [a, b]) await addRuns(db.pool, id, { from: BURST - 1000 * 10 * MINUTE, to: BURST, every: 10 * MINUTE, status: (i) => (i % 200 === 7 ? 'failed' : 'success') });
		await db.pool.query(
			`insert into public.ipai_slo (code_name, sli_type, objective, period, connector_id) values ('b-success', 'connector_success', 0.999, '7 days', $1)`,
			[b],
		);
		try {
			const result = await runEvaluation(db.pool, { now: new Date(BURST), slos: ['connector-run-success', 'b-success'] });
			const byTarget = Object.fromEntries(result.statuses.map((s) => [`${s.slo}/${s.target.name}`, s]));
			expect(Object.keys(byTarget).sort()).toEqual(['b-success/b', 'connector-run-success/a']);
			expect(byTarget['connector-run-success/a']).toMatchObject({ events: 1000, badEvents: 5, sli: 0.995, errorBudgetRemaining: 0.5 });
			expect(byTarget['b-success/b'].errorBudgetRemaining).toBeCloseTo(1 - 0.005 / 0.001, 6);
		} finally {
			await db.pool.query(`delete from public.ipai_slo where code_name = 'b-success'`);
		}
	});
});

describe('least privilege', () => {
	it('runs evaluation, silences and delivery as a login that is only a member of ipai_ingest', async () => {
		const role = `slo_monitor_${process.pid}_${Date.now() % 100000}`;
		await db.pool.query(`create role ${role} login in role ipai_ingest`);
		const url = new URL(db.url);
		url.username = role;
		const ingest = testPool(2, url.toString());
		try {
			const id = await addConnector(db.pool, { name: 'odoo-ingest', schedule: every5min, createdAt: new Date(T0 - 30 * DAY) });
			await addRuns(db.pool, id, { from: T0, to: BURST, every: 5 * MINUTE });
			await addRuns(db.pool, id, { from: BURST, to: BURST + HOUR, every: 5 * MINUTE, status: () => 'failed' });
			await db.pool.query(`insert into public.ipai_agent (code_name, display_name, agent_type) values ('ingest-agent', 'A', 'custom')`);
			const result = await runEvaluation(ingest, { now: new Date(BURST + HOUR) });
			expect(result.statuses.map((s) => s.slo).sort()).toEqual(['agent-failures-per-day', 'agent-p95-latency', 'connector-freshness', 'connector-run-success', 'connector-warnings']);
			const [report] = await deliverDue(ingest, hook(), { now: new Date(BURST + HOUR) });
			expect(report).toMatchObject({ delivered: true, kind: 'firing', severity: 'page' });
			const s = await createSilence(ingest, { matchers: [{ label: 'connector', op: '=', value: 'odoo-ingest' }], durationSeconds: 600, createdBy: 'ops', comment: 'ack', now: new Date(BURST + HOUR) });
			await expireSilence(ingest, s.id, 'ops', new Date(BURST + HOUR + MINUTE));
		} finally {
			await ingest.end();
			await db.pool.query(`drop owned by ${role}; drop role ${role}`);
		}
	});
});

describe('SLO definitions', () => {
	it('creates and updates SLOs with validation, and disabling one resolves its alerts', async () => {
		await expect(upsertSlo(db.pool, { codeName: 'Bad Name', sliType: 'connector_success', objective: 99, period: '7d' })).rejects.toThrow(/lower-case/);
		await expect(upsertSlo(db.pool, { codeName: 'x', sliType: 'connector_success', objective: 100, period: '7d' })).rejects.toThrow(/objective/);
		await expect(upsertSlo(db.pool, { codeName: 'x', sliType: 'connector_success', objective: 99, period: 'a week' })).rejects.toThrow(/period/);
		await expect(upsertSlo(db.pool, { codeName: 'x', sliType: 'connector_success', objective: 99, period: '7d', params: { page_repeat_interval: 'often' } })).rejects.toThrow(/params.page_repeat_interval/);
		await expect(upsertSlo(db.pool, { codeName: 'x', sliType: 'connector_success', objective: 99, period: '7d', connector: { connectorType: 'odoo', name: 'nope' } })).rejects.toThrow(/No connector odoo\/nope/);

		const id = await addConnector(db.pool, { name: 'odoo-defs', schedule: every5min, createdAt: new Date(T0 - 30 * DAY) });
		await addRuns(db.pool, id, { from: T0, to: BURST, every: 5 * MINUTE });
		await addRuns(db.pool, id, { from: BURST, to: BURST + HOUR, every: 5 * MINUTE, status: () => 'failed' });
		try {
			const created = await upsertSlo(db.pool, { codeName: 'odoo-defs-success', sliType: 'connector_success', objective: 99.5, period: '28d', connector: { connectorType: 'odoo', name: 'odoo-defs' } });
			expect(created).toMatchObject({ objective: 0.995, periodSeconds: 28 * 86400, connectorId: id, enabled: true });
			const firing = await step(BURST + HOUR, hook(), ['odoo-defs-success']);
			expect(firing.alerts.filter((a) => a.state === 'firing').map((a) => a.labels.slo)).toContain('odoo-defs-success');
			expect(sim.posts.map(tagOf)).toEqual(['PAGE']);
			const disabled = await upsertSlo(db.pool, { codeName: 'odoo-defs-success', sliType: 'connector_success', objective: 99.5, period: '28d', connector: { connectorType: 'odoo', name: 'odoo-defs' }, enabled: false });
			expect(disabled.enabled).toBe(false);
			await step(BURST + HOUR + 5 * MINUTE, hook(), ['connector-run-success']);
			expect(sim.posts.map(tagOf)).toEqual(['PAGE', 'PAGE', 'RESOLVED']); // the template takes over the connector again; the disabled SLO's alert resolves
			const audit = await db.pool.query(`select action from public.ipai_audit_log where action like 'slo_%' order by created_at`);
			expect(audit.rows.map((r) => r.action)).toEqual(['slo_create', 'slo_update']);
		} finally {
			await db.pool.query(`delete from public.ipai_slo where code_name = 'odoo-defs-success'`);
		}
	});
});
