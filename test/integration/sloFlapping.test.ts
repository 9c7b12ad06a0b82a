/**
 * Flapping: one incident while the long window burns. A 5-minute connector with days of good
 * history meets bursty failure patterns, evaluated on a controlled clock against a real PostgreSQL
 * and the Mattermost simulator over HTTP (evaluation → alert state → delivery).
 *
 * Property tests (fast-check) over random failure patterns and evaluation schedules state the
 * invariants of the alert state machine:
 *   - every episode of an alert posts its firing message at most once; nothing but firing opens it;
 *   - no resolved post without a firing post of the same episode, and at most one per episode;
 *   - every page is resolved exactly once after a long good tail;
 *   - a page never resolves while a page window still burns (checked against burn rates counted
 *     here from the generated runs, with the SRE workbook's windows scaled to the 7-day period);
 *   - nothing but a resolve is posted while a silence matches;
 *   - two evaluators and two notifiers running side by side post what one of each posts.
 */
import fc from 'fast-check';
import { Pool } from 'pg';
import { createSilence, deliverDue, runEvaluation, type MattermostTarget } from '../../lib/slo';
import { useScratchDatabase } from '../../tooling/helpers/database';
import { MattermostSimulator, type RecordedPost } from '../../tooling/simulators/mattermost/server';
import { addConnector, addRuns, DAY, HOUR, MINUTE, resetAlerting } from './sloHelpers';

jest.setTimeout(600_000);

const db = useScratchDatabase();
const T0 = Date.UTC(2026, 2, 1);
const BURST = T0 + 4 * DAY;
const TOKEN = 'flaptoken0123456789abcdefg';
const CHANNEL = 'flapchannel000000000000001';
const SLO = ['connector-run-success'];
const EVERY = 5 * MINUTE;
const RUN_MS = 30_000;

let sim: MattermostSimulator;
const bot = (): MattermostTarget => ({ mode: 'bot', serverUrl: sim.url, token: TOKEN, channelId: CHANNEL });

beforeAll(async () => {
	sim = await MattermostSimulator.start({
		hooks: { flaphookkey0123456789abcdef: { channelId: CHANNEL, channelName: 'data-alerts' } },
		tokens: { [TOKEN]: { id: 'flapbot00000000000000000aa', username: 'slo-bot', isBot: true, channels: [CHANNEL] } },
	});
});
afterAll(async () => sim?.close());

async function reset(): Promise<void> {
	await resetAlerting(db.pool);
	sim.posts.length = 0;
	sim.requests.length = 0;
}

function tagOf(post: RecordedPost): string {
	return /\*\*\[(PAGE|TICKET|RESOLVED|FLAPPING)\]\*\*/.exec(post.message)?.[1] ?? '?';
}

interface Trace {
	at: number;
	posts: RecordedPost[];
}

/** One monitor tick per pool: evaluation then delivery, all pools at once. */
async function tick(at: number, pools: Pool[]): Promise<RecordedPost[]> {
	const before = sim.posts.length;
	await Promise.all(pools.map((p) => runEvaluation(p, { slos: SLO, now: new Date(at) })));
	await Promise.all(pools.map((p) => deliverDue(p, bot(), { now: new Date(at), baseDelayMs: 5 })));
	return sim.posts.slice(before);
}

async function walk(times: number[], pools: Pool[] = [db.pool]): Promise<Trace[]> {
	const trace: Trace[] = [];
	for (const at of times) trace.push({ at, posts: await tick(at, pools) });
	return trace;
}

function range(from: number, to: number, every: number): number[] {
	const out: number[] = [];
	for (let t = from; t <= to; t += every) out.push(t);
	return out;
}

/** Writes 4 days of good runs every 5 minutes, then `bad(i)` for the pattern's runs, then good runs. */
async function history(bad: (i: number) => boolean, patternRuns: number, tailMs: number): Promise<{ connectorId: string; runs: Array<{ end: number; bad: boolean }> }> {
	const connectorId = await addConnector(db.pool, { name: 'odoo-flappy', schedule: '*/5 * * * *', createdAt: new Date(T0 - 30 * DAY) });
	await addRuns(db.pool, connectorId, { from: T0, to: BURST, every: EVERY });
	const patternEnd = BURST + patternRuns * EVERY;
	await addRuns(db.pool, connectorId, { from: BURST, to: patternEnd, every: EVERY, status: (i) => (bad(i) ? 'failed' : 'success') });
	await addRuns(db.pool, connectorId, { from: patternEnd, to: patternEnd + tailMs, every: EVERY });
	const runs: Array<{ end: number; bad: boolean }> = [];
	for (let t = T0, i = -1; t < patternEnd + tailMs; t += EVERY) {
		const inPattern = t >= BURST && t < patternEnd;
		if (inPattern) i++;
		runs.push({ end: t + RUN_MS, bad: inPattern && bad(i) });
	}
	return { connectorId, runs };
}

/**
 * The page pairs of a 7-day, 99% SLO (SRE workbook table 5-8 scaled by 7/30: 1h/5m → 14m/70s at
 * 14.4×, 6h/30m → 1h24m/7m at 6×), and whether any of them burns above its factor at `now`,
 * counted from the runs themselves. A short window without runs takes the latest run's outcome.
 */
const PAGE_PAIRS = [
	{ long: 840_000, short: 70_000, factor: 14.4 },
	{ long: 5_040_000, short: 420_000, factor: 6 },
];
function pageBurns(runs: Array<{ end: number; bad: boolean }>, now: number): boolean {
	const finished = runs.filter((r) => r.end <= now);
	const latest = finished[finished.length - 1];
	const burn = (w: number, fallback: boolean) => {
		const inside = finished.filter((r) => r.end > now - w);
		if (inside.length === 0) return fallback && latest ? (latest.bad ? 100 : 0) : 0;
		return inside.filter((r) => r.bad).length / inside.length / 0.01;
	};
	return PAGE_PAIRS.some((p) => burn(p.long, false) > p.factor || burn(p.short, true) > p.factor);
}

async function sentNotifications(): Promise<Array<{ fingerprint: string; episode: string; kind: string; severity: string }>> {
	const { rows } = await db.pool.query(
		`select fingerprint, episode, kind, severity from public.ipai_alert_notification where status = 'sent' order by sent_at, id`,
	);
	return rows;
}

/** PAGE for a page's root post, REPEAT for its reminder, else the tag. */
function tags(trace: Trace[]): string[] {
	return trace.flatMap((t) => t.posts.map((p) => (p.message.includes('(still firing)') ? 'REPEAT' : tagOf(p))));
}

describe('bursty failures page once per incident', () => {
	beforeEach(reset);

	const patterns: Array<[string, number, (i: number) => boolean]> = [
		['failing 15 min, good 15 min, for 6 hours', 72, (i) => Math.floor(i / 3) % 2 === 0],
		['a 10-minute failure burst every hour for 6 hours', 72, (i) => i % 12 < 2],
		['every other run failing for 3 hours', 36, (i) => i % 2 === 0],
	];
	it.each(patterns)('%s: at most one page and one resolve', async (_name, patternRuns, bad) => {
		const tail = 6 * HOUR;
		const { runs } = await history(bad, patternRuns, tail);
		const trace = await walk(range(BURST - EVERY, BURST + patternRuns * EVERY + tail - EVERY, EVERY));
		const all = tags(trace);
		const pages = all.filter((t) => t === 'PAGE');
		const resolves = all.filter((t) => t === 'RESOLVED');
		expect(pages.length).toBeLessThanOrEqual(1);
		expect(resolves).toHaveLength(pages.length);
		expect(pages).toHaveLength(1); // each pattern does burn the budget fast enough to page
		const resolvedAt = trace.find((t) => t.posts.some((p) => tagOf(p) === 'RESOLVED'))!.at;
		expect(pageBurns(runs, resolvedAt)).toBe(false);
		// Replies (resolve, flapping notices) hang in the page's thread.
		const page = trace.flatMap((t) => t.posts).find((p) => tagOf(p) === 'PAGE')!;
		expect(page.rootId).toBe('');
		for (const p of trace.flatMap((t) => t.posts).filter((x) => x !== page && tagOf(x) !== 'TICKET')) expect(p.rootId).toBe(page.id);
	});

	it('a real second outage after a quiet day still pages', async () => {
		const first = 12; // one hour failing
		// The second outage a day after the first one ended (finished runs cannot be changed, so the
		// ledger is written as it would have happened).
		const second = BURST + first * EVERY + DAY;
		const { connectorId } = await history(() => true, first, DAY);
		await addRuns(db.pool, connectorId, { from: second, to: second + HOUR, every: EVERY, status: () => 'failed' });
		await addRuns(db.pool, connectorId, { from: second + HOUR, to: second + 3 * HOUR, every: EVERY });
		const trace = await walk([
			...range(BURST, BURST + first * EVERY + 4 * HOUR, 10 * MINUTE),
			...range(second - 10 * MINUTE, second + 3 * HOUR, 10 * MINUTE),
		]);
		expect(tags(trace).filter((t) => t !== 'TICKET')).toEqual(['PAGE', 'RESOLVED', 'PAGE', 'RESOLVED']);
	});
});

describe('the alert state machine over random failure patterns and schedules', () => {
	/** Alternating good/bad segments of 5-minute runs, at most 8 hours in all. */
	const patternArb = fc
		.array(fc.record({ bad: fc.boolean(), runs: fc.integer({ min: 1, max: 24 }) }), { minLength: 1, maxLength: 8 })
		.map((segments) => {
			const flags = segments.flatMap((s) => Array<boolean>(s.runs).fill(s.bad)).slice(0, 96);
			return flags;
		});
	/** Gaps between evaluations: 1 to 20 minutes. */
	const scheduleArb = fc.array(fc.integer({ min: 1, max: 20 }), { minLength: 200, maxLength: 200 });
	const silenceArb = fc.option(fc.record({ start: fc.integer({ min: 0, max: 8 * 60 }), minutes: fc.integer({ min: 10, max: 180 }) }), { nil: undefined });

	function times(patternRuns: number, gaps: number[]): number[] {
		const end = BURST + patternRuns * EVERY + 4 * HOUR; // a good tail longer than the slow page window + hold
		const out: number[] = [];
		let at = BURST - 10 * MINUTE;
		let i = 0;
		while (at <= end) {
			out.push(at);
			at += gaps[i++ % gaps.length] * MINUTE;
		}
		out.push(end + 30 * MINUTE);
		return out;
	}

	it('pages at most once per episode, resolves each page exactly once and never while a page window burns, and is quiet while silenced', async () => {
		await fc.assert(
			fc.asyncProperty(patternArb, scheduleArb, silenceArb, async (flags, gaps, silence) => {
				await reset();
				const { runs } = await history((i) => flags[i], flags.length, 5 * HOUR);
				let silenced: [number, number] | null = null;
				if (silence) {
					const startsAt = BURST + silence.start * MINUTE;
					silenced = [startsAt, startsAt + silence.minutes * MINUTE];
					await createSilence(db.pool, {
						matchers: [{ label: 'connector', op: '=', value: 'odoo-flappy' }],
						startsAt: new Date(startsAt), endsAt: new Date(silenced[1]), createdBy: 'prop', comment: 'maintenance', now: new Date(BURST - 20 * MINUTE),
					});
				}
				const trace = await walk(times(flags.length, gaps));
				const sent = await sentNotifications();
				const episodes = new Map<string, string[]>();
				for (const n of sent) episodes.set(`${n.fingerprint}/${n.episode}`, [...(episodes.get(`${n.fingerprint}/${n.episode}`) ?? []), n.kind]);
				for (const kinds of episodes.values()) {
					expect(kinds[0]).toBe('firing');
					expect(kinds.filter((k) => k === 'firing')).toHaveLength(1);
					expect(kinds.filter((k) => k === 'resolved').length).toBeLessThanOrEqual(1);
					expect(kinds.filter((k) => k === 'flapping').length).toBeLessThanOrEqual(1);
				}
				// Every page resolved exactly once (the tail is long and good).
				for (const [key, kinds] of episodes) {
					const severity = sent.find((n) => `${n.fingerprint}/${n.episode}` === key)!.severity;
					if (severity === 'page') expect(kinds.filter((k) => k === 'resolved')).toHaveLength(1);
				}
				for (const t of trace) {
					for (const p of t.posts) {
						if (tagOf(p) === 'RESOLVED' && p.message.includes('burning its error budget')) {
							expect(pageBurns(runs, t.at)).toBe(false);
						}
						if (silenced && t.at >= silenced[0] && t.at < silenced[1]) expect(tagOf(p)).toBe('RESOLVED');
					}
				}
				// Pages are root posts; everything after one replies in its thread.
				const pages = trace.flatMap((t) => t.posts).filter((p) => tagOf(p) === 'PAGE' && !p.message.includes('(still firing)'));
				for (const p of pages) expect(p.rootId).toBe('');
			}),
			{ numRuns: 8, endOnFailure: true },
		);
	});

	it('posts the same messages from two evaluators and two notifiers as from one', async () => {
		const second = new Pool({ connectionString: db.url, max: 2 });
		second.on('error', () => undefined);
		try {
			await fc.assert(
				fc.asyncProperty(patternArb, scheduleArb, async (flags, gaps) => {
					const schedule = times(flags.length, gaps);
					const summary = (trace: Trace[]) => trace.map((t) => `${t.at}:${t.posts.map((p) => `${tagOf(p)} ${p.message.split('\n')[0]}`).sort().join('|')}`);
					await reset();
					await history((i) => flags[i], flags.length, 5 * HOUR);
					const one = summary(await walk(schedule));
					await reset();
					await history((i) => flags[i], flags.length, 5 * HOUR);
					const two = summary(await walk(schedule, [db.pool, second]));
					expect(two).toEqual(one);
				}),
				{ numRuns: 3, endOnFailure: true },
			);
		} finally {
			await second.end();
		}
	});
});
