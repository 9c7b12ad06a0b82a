/**
 * What an alert says and where it goes: secrets never posted, replies in the page's thread, the
 * resolve keeping the failing connectors, attempts counting HTTP requests, stuck runs named with
 * their heartbeat, persistent source warnings ticketed, and a runbook plus a next step on every
 * message. Real PostgreSQL, the Mattermost simulator over HTTP.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startRun } from '../../lib/lakehouse/runs';
import { ALERT_RUNBOOKS, DEFAULT_RUNBOOK_BASE_URL, deliverDue, runEvaluation, SEEDED_SLO_RUNBOOKS, type MattermostTarget } from '../../lib/slo';
import { useScratchDatabase } from '../../tooling/helpers/database';
import { MattermostSimulator, type RecordedPost } from '../../tooling/simulators/mattermost/server';
import { addConnector, addRuns, DAY, HOUR, MINUTE, resetAlerting } from './sloHelpers';

// Every text bound for Mattermost must pass through redact(), whose pattern masking hides
// `password=…`; a post path that bypassed it would show the secret in the posts this file checks.
jest.setTimeout(300_000);

const db = useScratchDatabase();
const T0 = Date.UTC(2026, 2, 1);
const BURST = T0 + 3 * DAY;
const TOKEN = 'msgsbottoken0123456789abcd';
const HOOK = 'msgshookkey0123456789abcde';
const CHANNEL = 'msgschannel000000000000001';
let sim: MattermostSimulator;
const bot = (): MattermostTarget => ({ mode: 'bot', serverUrl: sim.url, token: TOKEN, channelId: CHANNEL });

beforeAll(async () => {
	sim = await MattermostSimulator.start({
		hooks: { [HOOK]: { channelId: CHANNEL, channelName: 'alerts' } },
		tokens: { [TOKEN]: { id: 'msgsbot0000000000000000aaa', username: 'slo-bot', isBot: true, channels: [CHANNEL] } },
	});
});
afterAll(async () => sim?.close());
beforeEach(async () => {
	await resetAlerting(db.pool);
	sim.posts.length = 0;
	sim.requests.length = 0;
});

function tagOf(post: RecordedPost): string {
	return /\*\*\[(PAGE|TICKET|RESOLVED|FLAPPING)\]\*\*/.exec(post.message)?.[1] ?? '?';
}

async function step(at: number, slos?: string[]): Promise<void> {
	await runEvaluation(db.pool, { now: new Date(at), slos, n8nBaseUrl: 'http://n8n.test' });
	await deliverDue(db.pool, bot(), { now: new Date(at), baseDelayMs: 5 });
}

function fields(post: RecordedPost): Array<{ title: string; value: string }> {
	return (post.props.attachments as Array<{ fields: Array<{ title: string; value: string }> }>)[0].fields;
}

describe('page, reminder and resolve', () => {
	it('never post a secret from a run error, thread every reply under the page, and keep the failing connectors in the resolve', async () => {
		const id = await addConnector(db.pool, { name: 'odoo-login', schedule: '*/5 * * * *', createdAt: new Date(T0 - 30 * DAY) });
		await addRuns(db.pool, id, { from: T0, to: BURST, every: 5 * MINUTE });
		await addRuns(db.pool, id, {
			from: BURST, to: BURST + 5 * HOUR, every: 5 * MINUTE, status: () => 'failed',
			error: 'Odoo login failed for etl (password=Sup3rS3cret): Access Denied',
			metadata: { n8n_execution_id: '77', n8n_workflow_id: 'wfSecret' },
		});
		await addRuns(db.pool, id, { from: BURST + 5 * HOUR, to: BURST + 9 * HOUR, every: 5 * MINUTE });
		for (let at = BURST; at <= BURST + 9 * HOUR; at += 10 * MINUTE) await step(at, ['connector-run-success']);

		const [page, ...rest] = sim.posts;
		expect(rest.map(tagOf)).toEqual(['PAGE', 'RESOLVED']);
		expect(tagOf(page)).toBe('PAGE');
		const [reminder, resolve] = rest;
		expect(reminder.message).toContain('(still firing)');
		expect(page.rootId).toBe('');
		expect(reminder.rootId).toBe(page.id);
		expect(resolve.rootId).toBe(page.id);
		const everything = JSON.stringify(sim.posts) + JSON.stringify(sim.requests);
		expect(everything).not.toContain('Sup3rS3cret');
		expect(JSON.stringify(fields(page))).toContain('password=***');
		// The resolve still says which connectors were failing and why.
		const failing = fields(resolve).find((f) => f.title === 'Failing connectors');
		expect(failing?.value).toContain('odoo/odoo-login: Odoo login failed');
		const { rows } = await db.pool.query(`select payload::text as p from public.ipai_alert_notification`);
		expect(rows.map((r) => r.p).join('')).not.toContain('Sup3rS3cret');
	});

	it('counts every HTTP request of a failed delivery in attempts', async () => {
		const id = await addConnector(db.pool, { name: 'odoo-503', schedule: '*/5 * * * *', createdAt: new Date(T0 - 30 * DAY) });
		await addRuns(db.pool, id, { from: T0, to: BURST, every: 5 * MINUTE });
		await addRuns(db.pool, id, { from: BURST, to: BURST + HOUR, every: 5 * MINUTE, status: () => 'failed' });
		await runEvaluation(db.pool, { now: new Date(BURST + HOUR), slos: ['connector-run-success'] });
		sim.failNext(3, 503);
		const [report] = await deliverDue(db.pool, bot(), { now: new Date(BURST + HOUR), baseDelayMs: 5, maxAttempts: 3 });
		expect(report.delivered).toBe(false);
		expect(sim.requests).toHaveLength(3);
		expect(report.attempts).toBe(3);
		const { rows } = await db.pool.query(`select attempts from public.ipai_alert_notification`);
		expect(rows).toEqual([{ attempts: 3 }]);
		const [retried] = await deliverDue(db.pool, bot(), { now: new Date(BURST + HOUR), baseDelayMs: 5 });
		expect(retried).toMatchObject({ delivered: true, attempts: 4 });
	});
});

describe('stuck runs', () => {
	it('marks a run whose lease expired abandoned and names it and its last heartbeat in the absent alert', async () => {
		const { rows: clock } = await db.pool.query<{ now: Date }>('select now() as now');
		const realNow = clock[0].now.getTime();
		const id = await addConnector(db.pool, { name: 'odoo-killed', schedule: '*/5 * * * *', createdAt: new Date(realNow - 30 * DAY) });
		await addRuns(db.pool, id, { from: realNow - 2 * DAY, to: realNow - 5 * MINUTE, every: 5 * MINUTE });
		// A worker starts a run and is killed: no finish, no fail, no more heartbeats.
		const started = await startRun(db.pool, { connector: { id }, leaseTimeoutSeconds: 60, holder: 'worker-7 / pid 4242' });
		if (started.status !== 'running') throw new Error('expected a running run');
		const { rows: lease } = await db.pool.query<{ heartbeat_at: Date }>('select heartbeat_at from public.ipai_connector_lease where run_id = $1', [started.runId]);
		const heartbeat = lease[0].heartbeat_at.toISOString();

		await step(realNow + 40 * MINUTE, ['connector-run-success']);
		const { rows: run } = await db.pool.query('select status, ended_at, metadata from public.ipai_connector_run where id = $1', [started.runId]);
		expect(run[0].status).toBe('abandoned');
		expect(run[0].ended_at.getTime()).toBe(lease[0].heartbeat_at.getTime() + 60_000);
		expect(run[0].metadata.last_heartbeat_at).toBeDefined();
		expect((await db.pool.query('select 1 from public.ipai_connector_lease where connector_id = $1', [id])).rowCount).toBe(0);
		const absent = sim.posts.find((p) => p.message.includes(started.runId));
		expect(absent).toBeDefined();
		expect(absent!.message).toContain(heartbeat);
		expect(absent!.message).toContain('abandoned');
		expect(absent!.message).not.toContain('stopped reporting runs');
		const audit = await db.pool.query(`select details from public.ipai_audit_log where action = 'abandon'`);
		expect(audit.rows[0].details).toMatchObject({ run_id: started.runId, reason: 'lease expired' });
	});
});

describe('connector warnings', () => {
	it('tickets a connector whose last 3 successful runs all carried warnings, and resolves after a clean run', async () => {
		const id = await addConnector(db.pool, { name: 'gh-partial', type: 'github', schedule: '0 * * * *', createdAt: new Date(T0 - 30 * DAY) });
		await addRuns(db.pool, id, { from: BURST - DAY, to: BURST - 3 * HOUR, every: HOUR });
		await addRuns(db.pool, id, { from: BURST - 3 * HOUR, to: BURST - 2 * HOUR, every: HOUR, metadata: { warnings: ['skipped acme/secret-repo: 404 Not Found'] } });
		await step(BURST - 90 * MINUTE, ['connector-warnings']);
		expect(sim.posts).toHaveLength(0); // one run with warnings is not a pattern yet
		await addRuns(db.pool, id, { from: BURST - 2 * HOUR, to: BURST, every: HOUR, metadata: { warnings: ['skipped acme/secret-repo: 404 Not Found'] } });
		await step(BURST + MINUTE, ['connector-warnings']);
		expect(sim.posts.map(tagOf)).toEqual(['TICKET']);
		expect(sim.posts[0].message).toContain('acme/secret-repo');
		expect(JSON.stringify(fields(sim.posts[0]))).toContain('What to do');
		await step(BURST + 30 * MINUTE, ['connector-warnings']);
		expect(sim.posts).toHaveLength(1);
		await addRuns(db.pool, id, { from: BURST, to: BURST + HOUR, every: HOUR });
		await step(BURST + HOUR, ['connector-warnings']);
		expect(sim.posts.map(tagOf)).toEqual(['TICKET', 'RESOLVED']);
	});
});

describe('runbooks', () => {
	const root = join(__dirname, '..', '..', 'docs', 'runbooks');

	it('ships one for every seeded SLO and every alert kind, each saying what it means, how to check, fix and silence', async () => {
		const { rows } = await db.pool.query<{ code_name: string }>('select code_name from public.ipai_slo order by code_name');
		expect(rows.map((r) => r.code_name).sort()).toEqual([...SEEDED_SLO_RUNBOOKS].sort());
		for (const name of [...SEEDED_SLO_RUNBOOKS, ...Object.values(ALERT_RUNBOOKS)]) {
			const file = join(root, `${name}.md`);
			expect(existsSync(file)).toBe(true);
			const text = readFileSync(file, 'utf8');
			for (const section of ['## What it means', '## How to check', '## How to fix', '## How to silence']) expect(`${name}: ${text.includes(section)}`).toBe(`${name}: true`);
		}
	});

	it('links the runbooks and a next step from every message by default', async () => {
		const id = await addConnector(db.pool, { name: 'odoo-links', schedule: '*/5 * * * *', createdAt: new Date(T0 - 30 * DAY) });
		await addRuns(db.pool, id, { from: T0, to: BURST, every: 5 * MINUTE });
		await addRuns(db.pool, id, { from: BURST, to: BURST + HOUR, every: 5 * MINUTE, status: () => 'failed' });
		await step(BURST + HOUR);
		expect(sim.posts.length).toBeGreaterThan(0);
		for (const post of sim.posts) {
			const links = fields(post).find((f) => f.title === 'Links')?.value ?? '';
			expect(links).toContain(DEFAULT_RUNBOOK_BASE_URL);
			expect(fields(post).some((f) => f.title === 'What to do' && f.value.length > 10)).toBe(true);
		}
		const titles = sim.posts.map((p) => fields(p).find((f) => f.title === 'Links')!.value).join('\n');
		expect(titles).toContain(`${DEFAULT_RUNBOOK_BASE_URL}connector-run-success.md`);
		expect(titles).toContain(`${DEFAULT_RUNBOOK_BASE_URL}alert-slo-burn-rate.md`);

		// A configured base URL replaces the default.
		await resetAlerting(db.pool);
		sim.posts.length = 0;
		const again = await addConnector(db.pool, { name: 'odoo-links2', schedule: '*/5 * * * *', createdAt: new Date(T0 - 30 * DAY) });
		await addRuns(db.pool, again, { from: T0, to: BURST, every: 5 * MINUTE });
		await addRuns(db.pool, again, { from: BURST, to: BURST + HOUR, every: 5 * MINUTE, status: () => 'failed' });
		await runEvaluation(db.pool, { now: new Date(BURST + HOUR), slos: ['connector-run-success'], runbookBaseUrl: 'https://wiki.example.com/runbooks' });
		await deliverDue(db.pool, bot(), { now: new Date(BURST + HOUR) });
		expect(JSON.stringify(sim.posts)).toContain('https://wiki.example.com/runbooks/alert-slo-burn-rate.md');
	});
});
