/**
 * The replication_lag SLI and its seeded SLO `replication-lag`, over fabricated ledger rows that
 * carry metadata.replication the way database sources write it (lib/sources/db/sync.ts
 * dbRunMetadata), on a controlled clock against a real PostgreSQL and the Mattermost simulator:
 *   - healthy lag, then lag above the threshold for 90 minutes, then healthy again: the page is
 *     posted once, names db/<name>, the lag and the threshold and links the runbook, and resolves
 *     once; an Odoo connector without replication gets no status;
 *   - the SLI's counts, per window, equal a count over the ledger written here in SQL of its own
 *     (an oracle that shares nothing with the SLI's query), over a mix of good, over-threshold,
 *     unreadable, keyless, failed, running and future runs;
 *   - thresholds are params checked on write like every other, and a stored row with an invalid
 *     threshold is skipped and ticketed while other SLOs (a real outage) still page.
 */
import fc from 'fast-check';
import { deliverDue, evaluateSlos, paramsProblem, runEvaluation, upsertSlo, type MattermostTarget } from '../../lib/slo';
import { useScratchDatabase } from '../../tooling/helpers/database';
import { MattermostSimulator, type RecordedPost } from '../../tooling/simulators/mattermost/server';
import { addConnector, addRuns, DAY, HOUR, MINUTE, resetAlerting } from './sloHelpers';

jest.setTimeout(300_000);

const db = useScratchDatabase();
const T0 = Date.UTC(2026, 2, 1);
const HOOK = 'lagshookkey0123456789abcde';
const SLOS = ['replication-lag'];
const MAX_LAG_SECONDS = 15 * 60; // the seeded thresholds
const MAX_LAG_BYTES = 1073741824;
let sim: MattermostSimulator;
const hook = (): MattermostTarget => ({ mode: 'webhook', webhookUrl: `${sim.url}/hooks/${HOOK}` });

beforeAll(async () => {
	sim = await MattermostSimulator.start({ hooks: { [HOOK]: { channelId: 'lagchannel0000000000000001', channelName: 'alerts' } }, tokens: {} });
});
afterAll(async () => sim?.close());
beforeEach(async () => {
	await resetAlerting(db.pool);
	await db.pool.query(`delete from public.ipai_slo where code_name like 'bad-%'`);
	sim.posts.length = 0;
});

function replication(lagSeconds: unknown, lagBytes: unknown): Record<string, unknown> {
	return { replication: { lag_bytes: lagBytes, lag_seconds: lagSeconds, slot: 'ipai_pg_orders', position: '0/16B3748', changes: 12, truncates: 0 } };
}

async function dbConnector(name: string): Promise<string> {
	return addConnector(db.pool, { name, type: 'db', createdAt: new Date(T0 - 30 * DAY) });
}

const tagOf = (post: RecordedPost) => /\*\*\[(PAGE|TICKET|RESOLVED|FLAPPING)\]\*\*/.exec(post.message)?.[1] ?? '?';
const textOf = (post: RecordedPost) => `${post.message}\n${JSON.stringify(post.props)}`;

describe('seeded replication-lag SLO', () => {
	it('pages once when lag goes over the threshold, naming the connector, lag, threshold and runbook, and resolves once', async () => {
		const lagFrom = T0 + 2 * DAY;
		const lagTo = lagFrom + 90 * MINUTE;
		// The slow-burn ticket's long window (16h48m at a 7-day period) holds an incident open until
		// the lagging runs have left it, so the walk runs past that.
		const end = lagTo + 18 * HOUR;
		const pg = await dbConnector('pg-orders');
		const odoo = await addConnector(db.pool, { name: 'erp', createdAt: new Date(T0 - 30 * DAY) });
		await addRuns(db.pool, odoo, { from: T0, to: end, every: 5 * MINUTE });
		await addRuns(db.pool, pg, { from: T0, to: lagFrom, every: 5 * MINUTE, metadata: replication(3.5, 2048) });
		// A bigint past 2^53 may arrive as a numeric string; the SLI reads both.
		await addRuns(db.pool, pg, { from: lagFrom, to: lagTo, every: 5 * MINUTE, metadata: replication(5400, '5000000000') });
		await addRuns(db.pool, pg, { from: lagTo, to: end, every: 5 * MINUTE, metadata: replication(2, 512) });

		const before = await evaluateSlos(db.pool, { slos: SLOS, now: new Date(lagFrom) });
		expect(before.statuses.map((s) => `${s.target.type}/${s.target.name}:${s.status}`)).toEqual(['db/pg-orders:ok']);

		for (let at = lagFrom - 30 * MINUTE; at <= end; at += at < lagTo + 2 * HOUR ? 5 * MINUTE : 30 * MINUTE) {
			await runEvaluation(db.pool, { slos: SLOS, now: new Date(at) });
			await deliverDue(db.pool, hook(), { now: new Date(at) });
		}
		const pages = sim.posts.filter((p) => tagOf(p) === 'PAGE' && !p.message.includes('(still firing)'));
		expect(pages).toHaveLength(1);
		const page = textOf(pages[0]);
		expect(page).toContain('db/pg-orders');
		expect(page).toContain('1h30m behind');
		expect(page).toContain('5,000,000,000 bytes');
		expect(page).toContain('threshold 15m / 1,073,741,824 bytes');
		expect(page).toContain('/docs/runbooks/replication-lag.md');

		// Exactly one firing and one resolved notification for the page, delivered.
		const { rows } = await db.pool.query<{ kind: string; severity: string; status: string }>(
			`select n.kind, n.severity, n.status from public.ipai_alert_notification n join public.ipai_alert a using (fingerprint)
			  where a.labels ->> 'slo' = 'replication-lag' order by n.created_at`,
		);
		const page_ = rows.filter((r) => r.severity === 'page');
		expect(page_.map((r) => `${r.kind}:${r.status}`)).toEqual(['firing:sent', 'resolved:sent']);
		// A slow-burn ticket may follow the page (the page inhibits it while it fires); it resolves too.
		const ticket = rows.filter((r) => r.severity === 'ticket').map((r) => r.kind);
		expect(ticket.filter((k) => k === 'firing').length).toBeLessThanOrEqual(1);
		expect(ticket.filter((k) => k === 'resolved').length).toBe(ticket.filter((k) => k === 'firing').length);
		const { rows: open } = await db.pool.query(`select labels from public.ipai_alert where state = 'firing'`);
		expect(open).toEqual([]);
		expect(sim.posts.filter((p) => tagOf(p) === 'RESOLVED' && textOf(p).includes('db/pg-orders')).length).toBe(1 + ticket.filter((k) => k === 'firing').length);
	});
});

describe('replication_lag counts', () => {
	type Lag = number | string | null | undefined;
	interface FakeRun {
		status: 'success' | 'failed' | 'abandoned' | 'running' | 'skipped';
		endOffsetMin: number; // minutes before (negative: after) now the run ended
		metadata: Record<string, unknown>;
	}
	const lagValue = fc.oneof(
		fc.integer({ min: 0, max: 3 * MAX_LAG_SECONDS }),
		fc.constantFrom<Lag>(null, undefined, 'x', '1200', MAX_LAG_SECONDS, MAX_LAG_SECONDS + 0.5),
	);
	const bytesValue = fc.oneof(
		fc.integer({ min: 0, max: 2 * MAX_LAG_BYTES }),
		fc.constantFrom<Lag>(null, undefined, true as unknown as Lag, '5000000000', MAX_LAG_BYTES, MAX_LAG_BYTES + 1),
	);
	const runArb: fc.Arbitrary<FakeRun> = fc.record({
		status: fc.constantFrom('success', 'success', 'success', 'failed', 'abandoned', 'running', 'skipped'),
		endOffsetMin: fc.integer({ min: -120, max: 9 * 24 * 60 }),
		metadata: fc.oneof(
			{ weight: 6, arbitrary: fc.tuple(lagValue, bytesValue).map(([s, b]) => replication(s, b)) },
			{ weight: 1, arbitrary: fc.constant({}) },
			{ weight: 1, arbitrary: fc.constant({ replication: 'not an object' }) },
		),
	});

	/** The oracle: a count over the ledger in SQL of its own, against the seeded thresholds. */
	async function oracle(connectorId: string, now: Date, seconds: number): Promise<{ events: number; bad: number }> {
		const { rows } = await db.pool.query<{ events: string; bad: string }>(
			`with obs as (
			   select case when jsonb_typeof(metadata #> '{replication,lag_seconds}') in ('number', 'string')
			                 and metadata #>> '{replication,lag_seconds}' ~ '^\\s*-?[0-9]+(\\.[0-9]+)?\\s*$'
			               then (metadata #>> '{replication,lag_seconds}')::float8 end as secs,
			          case when jsonb_typeof(metadata #> '{replication,lag_bytes}') in ('number', 'string')
			                 and metadata #>> '{replication,lag_bytes}' ~ '^\\s*-?[0-9]+(\\.[0-9]+)?\\s*$'
			               then (metadata #>> '{replication,lag_bytes}')::float8 end as bytes
			     from public.ipai_connector_run
			    where connector_id = $1 and jsonb_exists(metadata, 'replication')
			      and status not in ('running', 'skipped')
			      and ended_at between $2::timestamptz - make_interval(secs => $3) + interval '1 microsecond' and $2::timestamptz)
			 select count(*) as events,
			        count(*) filter (where (secs is null and bytes is null) or secs > $4 or bytes > $5) as bad
			   from obs`,
			[connectorId, now, seconds, MAX_LAG_SECONDS, MAX_LAG_BYTES],
		);
		return { events: Number(rows[0].events), bad: Number(rows[0].bad) };
	}

	it('equal a direct SQL count over the ledger, for the period and every burn-rate window', async () => {
		const now = new Date(T0 + 10 * DAY + 17 * MINUTE);
		const id = await dbConnector('pg-count');
		await fc.assert(
			fc.asyncProperty(fc.array(runArb, { minLength: 1, maxLength: 60 }), async (runs) => {
				await db.pool.query('delete from public.ipai_connector_run where connector_id = $1', [id]);
				for (const r of runs) {
					const ended = new Date(now.getTime() - r.endOffsetMin * MINUTE);
					await db.pool.query(
						`insert into public.ipai_connector_run (connector_id, started_at, ended_at, status, metadata) values ($1, $2, $3, $4, $5)`,
						[id, new Date(ended.getTime() - 30_000), r.status === 'running' ? null : ended, r.status, JSON.stringify(r.metadata)],
					);
				}
				const result = await evaluateSlos(db.pool, { slos: SLOS, now });
				const status = result.statuses.find((s) => s.target.id === id);
				const period = await oracle(id, now, 7 * 86_400);
				if (period.events === 0) {
					expect(status).toBeUndefined(); // a template gives no status to a connector not reporting replication
					return;
				}
				expect({ events: status!.events, bad: status!.badEvents }).toEqual(period);
				for (const w of status!.windows) {
					expect({ events: w.longEvents, bad: w.longBad }).toEqual(await oracle(id, now, w.longSeconds));
					expect({ events: w.shortEvents, bad: w.shortBad }).toEqual(await oracle(id, now, w.shortSeconds));
				}
				expect(status!.sli).toBeCloseTo(1 - period.bad / period.events, 5);
			}),
			{ numRuns: 40 },
		);
	});

	it('an SLO setting only max_lag_bytes judges runs by bytes alone', async () => {
		const now = new Date(T0 + 3 * DAY);
		const id = await dbConnector('pg-bytes');
		await upsertSlo(db.pool, { codeName: 'bad-bytes-only', sliType: 'replication_lag', objective: 99, period: '7d', connector: { connectorType: 'db', name: 'pg-bytes' }, params: { max_lag_bytes: 1000 } });
		await addRuns(db.pool, id, { from: T0, to: T0 + 10 * 5 * MINUTE, every: 5 * MINUTE, metadata: replication(99_999, 10) });
		await addRuns(db.pool, id, { from: T0 + DAY, to: T0 + DAY + 3 * 5 * MINUTE, every: 5 * MINUTE, metadata: replication(1, 5000) });
		await addRuns(db.pool, id, { from: T0 + 2 * DAY, to: T0 + 2 * DAY + 2 * 5 * MINUTE, every: 5 * MINUTE, metadata: replication(1, null) });
		const result = await evaluateSlos(db.pool, { slos: ['bad-bytes-only', 'replication-lag'], now });
		// The connector's own SLO overrides the template for it.
		expect(result.statuses.map((s) => `${s.slo}:${s.target.name}:${s.events}/${s.badEvents}`)).toEqual(['bad-bytes-only:pg-bytes:15/5']);
	});
});

describe('invalid thresholds', () => {
	it('are refused on write by the database and the node with the same field', async () => {
		for (const params of [{ max_lag_bytes: 0 }, { max_lag_bytes: -5 }, { max_lag_bytes: 'lots' }, { max_lag: 'soon' }, { max_lag: 0 }]) {
			const field = Object.keys(params)[0];
			expect(paramsProblem(params)?.field).toBe(`params.${field}`);
			const { rows } = await db.pool.query<{ p: string | null }>('select ipai_meta.slo_params_problem($1::jsonb) as p', [JSON.stringify(params)]);
			expect(rows[0].p).toBe(`params.${field}`);
			await expect(
				db.pool.query(`insert into public.ipai_slo (code_name, sli_type, objective, period, params) values ('bad-w', 'replication_lag', 0.99, '7 days', $1)`, [JSON.stringify(params)]),
			).rejects.toThrow(/ipai_slo_params_valid_check/);
			await expect(upsertSlo(db.pool, { codeName: 'bad-w', sliType: 'replication_lag', objective: 99, period: '7d', params })).rejects.toThrow(`params.${field}`);
		}
		for (const params of [{ max_lag: '1 hour' }, { max_lag: 120, max_lag_bytes: '1e9' }]) {
			expect(paramsProblem(params)).toBeNull();
			const { rows } = await db.pool.query<{ p: string | null }>('select ipai_meta.slo_params_problem($1::jsonb) as p', [JSON.stringify(params)]);
			expect(rows[0].p).toBeNull();
		}
	});

	it('a stored row with one is skipped and ticketed, while other SLOs still evaluate and page', async () => {
		const burst = T0 + 3 * DAY;
		const odoo = await addConnector(db.pool, { name: 'odoo-down', schedule: '*/5 * * * *', createdAt: new Date(T0 - 30 * DAY) });
		await addRuns(db.pool, odoo, { from: T0, to: burst, every: 5 * MINUTE });
		await addRuns(db.pool, odoo, { from: burst, to: burst + HOUR, every: 5 * MINUTE, status: () => 'failed' });
		const pg = await dbConnector('pg-fine');
		await addRuns(db.pool, pg, { from: T0, to: burst + HOUR, every: 5 * MINUTE, metadata: replication(1, 100) });
		// A row from before the params check (the constraint is NOT VALID): bypass it as such a row would.
		await db.pool.query('alter table public.ipai_slo drop constraint ipai_slo_params_valid_check');
		try {
			await db.pool.query(`insert into public.ipai_slo (code_name, sli_type, objective, period, params) values ('bad-lag', 'replication_lag', 0.99, '7 days', '{"max_lag_bytes": 0}')`);
		} finally {
			await db.pool.query('alter table public.ipai_slo add constraint ipai_slo_params_valid_check check (ipai_meta.slo_params_problem(params) is null) not valid');
		}
		const result = await runEvaluation(db.pool, { now: new Date(burst + HOUR) });
		expect(result.invalidSlos).toEqual([expect.objectContaining({ codeName: 'bad-lag', field: 'params.max_lag_bytes' })]);
		expect(result.statuses.find((s) => s.slo === 'replication-lag' && s.target.name === 'pg-fine')?.status).toBe('ok');
		await deliverDue(db.pool, hook(), { now: new Date(burst + HOUR) });
		const titles = sim.posts.map((p) => p.message.split('\n')[0]);
		expect(titles.filter((t) => t.includes('[PAGE]') && t.includes('odoo/odoo-down'))).toHaveLength(1);
		expect(sim.posts.filter((p) => p.message.includes('bad-lag') && p.message.includes('params.max_lag_bytes'))).toHaveLength(1);
	});
});
