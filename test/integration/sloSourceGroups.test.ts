/**
 * One incident, one page: connectors whose failing runs name the same source (an Odoo server going
 * down under several connectors) are announced by one group alert (lib/slo/grouping.ts), evaluated
 * on a controlled clock against a real PostgreSQL and the Mattermost simulator over HTTP.
 *
 * Property (fast-check) over random outages of a shared source, random failures of single
 * connectors and a second, independent source, evaluated every 5 minutes then delivered:
 *   - posts ≤ incidents: the pages about a source are exactly the incidents, an incident being a
 *     stretch of evaluations during which at least one connector's own burn-rate alert (the per
 *     connector state machine, tested on its own in sloFlapping) fires unsilenced and uninhibited;
 *   - no connector of a source posts by itself (every post belongs to a group alert);
 *   - every page names connectors of its source, and every connector whose alert fired during the
 *     incident is named in its resolved post;
 *   - every page is resolved exactly once after the good tail.
 */
import fc from 'fast-check';
import { deliverDue, runEvaluation, type MattermostTarget } from '../../lib/slo';
import { useScratchDatabase } from '../../tooling/helpers/database';
import { MattermostSimulator, type RecordedPost } from '../../tooling/simulators/mattermost/server';
import { addConnector, addRuns, DAY, HOUR, MINUTE, resetAlerting } from './sloHelpers';

jest.setTimeout(600_000);

const db = useScratchDatabase();
const T0 = Date.UTC(2026, 2, 1);
const BURST = T0 + 4 * DAY;
const TOKEN = 'grouptoken0123456789abcdef';
const CHANNEL = 'groupchannel00000000000001';
const SLO = ['connector-run-success'];
const EVERY = 5 * MINUTE;
const ERP = 'odoo http://erp.example.com/ db prod';
const CRM = 'odoo http://crm.example.com/ db crm';

let sim: MattermostSimulator;
const bot = (): MattermostTarget => ({ mode: 'bot', serverUrl: sim.url, token: TOKEN, channelId: CHANNEL });

beforeAll(async () => {
	sim = await MattermostSimulator.start({
		tokens: { [TOKEN]: { id: 'groupbot0000000000000000aa', username: 'slo-bot', isBot: true, channels: [CHANNEL] } },
		channels: [{ id: CHANNEL, name: 'data-alerts' }],
	});
});
afterAll(async () => sim?.close());

const tagOf = (post: RecordedPost) => /\*\*\[(PAGE|TICKET|RESOLVED|FLAPPING)\]\*\*/.exec(post.message)?.[1] ?? '?';
const isPage = (post: RecordedPost) => tagOf(post) === 'PAGE' && !post.message.includes('(still firing)');
/** The text and the attachment (its fields list the failing connectors; its footer names the alert). */
const textOf = (post: RecordedPost) => `${post.message}\n${JSON.stringify(post.props)}`;

interface Connector {
	name: string;
	source: string | null;
	/** Outcome of each 5-minute run from BURST on (true: failed). */
	bad: boolean[];
}

/** 4 days of good runs every 5 minutes, then the pattern, then a good tail; every run names its source. */
async function history(connectors: Connector[], patternRuns: number, tailMs: number): Promise<void> {
	const end = BURST + patternRuns * EVERY;
	for (const c of connectors) {
		const id = await addConnector(db.pool, { name: c.name, schedule: '*/5 * * * *', createdAt: new Date(T0 - 30 * DAY) });
		const metadata = c.source ? { source: c.source } : {};
		await addRuns(db.pool, id, { from: T0, to: BURST, every: EVERY, metadata });
		await addRuns(db.pool, id, { from: BURST, to: end, every: EVERY, status: (i) => (c.bad[i] ? 'failed' : 'success'), error: 'The service refused the connection - perhaps it is offline', metadata });
		await addRuns(db.pool, id, { from: end, to: end + tailMs, every: EVERY, metadata });
	}
}

interface Tick {
	at: number;
	posts: RecordedPost[];
	/** Per source: the connectors whose own page alert fires unsilenced and uninhibited after this evaluation. */
	firing: Map<string, string[]>;
}

async function walk(from: number, to: number): Promise<Tick[]> {
	const ticks: Tick[] = [];
	for (let at = from; at <= to; at += EVERY) {
		const before = sim.posts.length;
		await runEvaluation(db.pool, { slos: SLO, now: new Date(at) });
		await deliverDue(db.pool, bot(), { now: new Date(at), baseDelayMs: 5 });
		const { rows } = await db.pool.query<{ source: string; connector: string }>(
			`select labels ->> 'source' as source, labels ->> 'connector' as connector from public.ipai_alert
			  where not labels ? 'alertgroup' and labels ? 'source' and state = 'firing' and severity = 'page'
			    and silenced_by is null and inhibited_by is null`,
		);
		const firing = new Map<string, string[]>();
		for (const r of rows) firing.set(r.source, [...(firing.get(r.source) ?? []), r.connector]);
		ticks.push({ at, posts: sim.posts.slice(before), firing });
	}
	return ticks;
}

async function reset(): Promise<void> {
	await resetAlerting(db.pool);
	sim.posts.length = 0;
}

describe('connectors failing on the same source', () => {
	it('page once per outage naming every connector, resolve once, and a connector without a recorded source still pages on its own', async () => {
		await reset();
		const outage = Array.from({ length: 24 }, (_, i) => i >= 2 && i < 14); // one hour down
		const erp = ['odoo-o1', 'odoo-o2', 'odoo-o3', 'odoo-o4'].map((name) => ({ name, source: ERP, bad: outage }));
		const legacy = { name: 'odoo-legacy', source: null, bad: outage };
		await history([...erp, legacy], outage.length, 6 * HOUR);
		const ticks = await walk(BURST, BURST + outage.length * EVERY + 6 * HOUR);
		const posts = ticks.flatMap((t) => t.posts);
		const pages = posts.filter(isPage);
		expect(pages).toHaveLength(2);
		const [group] = pages.filter((p) => p.message.includes(ERP));
		for (const c of erp) expect(group.message).toContain(`odoo/${c.name}`);
		for (const c of erp) expect(textOf(group)).toContain(`- odoo/${c.name}: The service refused the connection`);
		expect(group.message).toContain('4 connectors failing on');
		expect(pages.filter((p) => p.message.includes('odoo/odoo-legacy is burning'))).toHaveLength(1);
		const resolved = posts.filter((p) => tagOf(p) === 'RESOLVED');
		expect(resolved).toHaveLength(2);
		const groupResolve = resolved.find((p) => p.rootId === group.id)!;
		for (const c of erp) expect(textOf(groupResolve)).toContain(`odoo/${c.name}`);
		// Nothing else was posted about the outage: no page per connector.
		expect(posts.filter((p) => tagOf(p) === 'PAGE')).toHaveLength(pages.length);
	});

	/** Up to 4 hours of 5-minute runs: source outages (every connector of it fails) and single failures. */
	const scenarioArb = fc.record({
		members: fc.integer({ min: 2, max: 5 }),
		outages: fc.array(fc.record({ start: fc.integer({ min: 0, max: 44 }), runs: fc.integer({ min: 1, max: 30 }) }), { maxLength: 3 }),
		// A connector failing on its own for a while (a bad row, not the source).
		single: fc.array(fc.record({ connector: fc.nat(), start: fc.integer({ min: 0, max: 44 }), runs: fc.integer({ min: 1, max: 12 }) }), { maxLength: 3 }),
		crmDown: fc.option(fc.record({ start: fc.integer({ min: 0, max: 44 }), runs: fc.integer({ min: 2, max: 20 }) }), { nil: undefined }),
	});

	it('posts at most one page per incident of a source, names its connectors, and resolves each page once', async () => {
		await fc.assert(
			fc.asyncProperty(scenarioArb, async (s) => {
				await reset();
				const RUNS = 48;
				const down = (ranges: Array<{ start: number; runs: number }>, i: number) => ranges.some((r) => i >= r.start && i < r.start + r.runs);
				const erp: Connector[] = Array.from({ length: s.members }, (_, k) => ({
					name: `erp-${k}`,
					source: ERP,
					bad: Array.from({ length: RUNS }, (_, i) => down(s.outages, i) || down(s.single.filter((x) => x.connector % s.members === k), i)),
				}));
				const crm: Connector = { name: 'crm-0', source: CRM, bad: Array.from({ length: RUNS }, (_, i) => (s.crmDown ? down([s.crmDown], i) : false)) };
				await history([...erp, crm], RUNS, 4 * HOUR);
				const ticks = await walk(BURST, BURST + RUNS * EVERY + 4 * HOUR);

				const { rows: sent } = await db.pool.query<{ fingerprint: string; grouped: boolean; kind: string }>(
					`select n.fingerprint, a.labels ? 'alertgroup' as grouped, n.kind from public.ipai_alert_notification n
					   join public.ipai_alert a using (fingerprint) where n.status = 'sent'`,
				);
				expect(sent.filter((n) => !n.grouped)).toEqual([]);

				for (const [source, names] of [[ERP, erp.map((c) => c.name)], [CRM, [crm.name]]] as const) {
					// Incidents: stretches of evaluations with a member alert of the source firing.
					let incidents = 0;
					let open: Set<string> | null = null;
					const episodes: Array<Set<string>> = [];
					for (const t of ticks) {
						const firing = t.firing.get(source) ?? [];
						if (firing.length > 0 && !open) {
							incidents++;
							open = new Set();
							episodes.push(open);
						}
						if (firing.length === 0) open = null;
						for (const f of firing) open?.add(f);
					}
					const { rows: groups } = await db.pool.query<{ fingerprint: string }>(
						`select fingerprint from public.ipai_alert where labels ? 'alertgroup' and labels ->> 'source' = $1`, [source],
					);
					const posts = ticks.flatMap((t) => t.posts).filter((p) => groups.some((g) => textOf(p).includes(`alert ${g.fingerprint.slice(0, 12)}`)));
					const pages = posts.filter(isPage);
					expect(pages.length).toBe(incidents);
					for (const page of pages) expect(names.some((n) => textOf(page).includes(`odoo/${n}`))).toBe(true);
					const resolved = ticks.flatMap((t) => t.posts).filter((p) => tagOf(p) === 'RESOLVED');
					pages.forEach((page, i) => {
						const closing = resolved.filter((r) => r.rootId === page.id);
						expect(closing).toHaveLength(1);
						for (const name of episodes[i]) expect(textOf(closing[0])).toContain(`odoo/${name}`);
					});
				}
			}),
			{ numRuns: 3, endOnFailure: true },
		);
	});
});
