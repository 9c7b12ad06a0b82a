/**
 * The structured events (lib/observability/events.ts) against a real PostgreSQL: each event is
 * read back from the ledger the real run functions wrote, so its fields are compared with direct
 * SQL; errors are masked (known secrets and secret shapes, a property over generated messages);
 * alert transitions are exactly the alerts whose episode an evaluation started or ended.
 */
import fc from 'fast-check';
import { logRun } from '../../lib/agents';
import { failRun, finishRun, startRun } from '../../lib/lakehouse/runs';
import { agentCallEvent, alertTransitionEvents, connectorRunEvent, connectorRunEventOf } from '../../lib/observability/events';
import { runEvaluation } from '../../lib/slo';
import { useScratchDatabase } from '../../tooling/helpers/database';
import { addConnector, addRuns, DAY, HOUR, MINUTE } from './sloHelpers';

jest.setTimeout(300_000);

const db = useScratchDatabase();
const SECRET = 'Sup3r-s3cret-value';

async function ledger(runId: string) {
	const { rows } = await db.pool.query(
		`select status, rows_read, rows_written, error_message, started_at, ended_at from public.ipai_connector_run where id = $1`,
		[runId],
	);
	return rows[0];
}

describe('connector run events', () => {
	it('start, finish, fail and skip say what the ledger says', async () => {
		const started = await startRun(db.pool, {
			connector: { connectorType: 'odoo', name: 'events-ok' },
			metadata: { n8n_execution_id: '501', n8n_workflow_id: 'wfEvents' },
		});
		if (started.status !== 'running') throw new Error('expected a running run');
		const start = (await connectorRunEvent(db.pool, started.runId))!;
		expect(start).toMatchObject({
			level: 'info',
			fields: { event: 'connector_run.start', source: 'ipai-lakehouse', run_id: started.runId, connector_type: 'odoo', connector: 'events-ok', status: 'running', ended_at: null, duration_ms: null, n8n_execution_id: '501', n8n_workflow_id: 'wfEvents' },
		});
		const busy = await startRun(db.pool, { connector: { connectorType: 'odoo', name: 'events-ok' } });
		expect((await connectorRunEvent(db.pool, busy.runId))!.fields).toMatchObject({ event: 'connector_run.skip', status: 'skipped', skip_reason: 'busy' });

		await finishRun(db.pool, started.runId, { rowsRead: 120, rowsWritten: 118 });
		const finish = (await connectorRunEvent(db.pool, started.runId))!;
		const row = await ledger(started.runId);
		expect(finish).toMatchObject({ level: 'info', fields: { event: 'connector_run.finish', status: 'success', rows_read: 120, rows_written: 118, error: null } });
		expect(finish.fields.duration_ms).toBe(row.ended_at.getTime() - row.started_at.getTime());
		expect(finish.fields.ended_at).toBe(row.ended_at.toISOString());
		expect(finish.message).toBe(`IPAI connector run finished: odoo/events-ok (120 rows read, 118 written, ${finish.fields.duration_ms} ms)`);

		const again = await startRun(db.pool, { connector: { connectorType: 'odoo', name: 'events-ok' } });
		await failRun(db.pool, again.runId, { error: new Error(`login to postgres://etl:${SECRET}@db.example.com/erp failed, api_key=${SECRET}`), secrets: [SECRET] });
		const fail = (await connectorRunEvent(db.pool, again.runId, [SECRET]))!;
		expect(fail).toMatchObject({ level: 'error', fields: { event: 'connector_run.fail', status: 'failed', error: (await ledger(again.runId)).error_message } });
		expect(JSON.stringify(fail)).not.toContain(SECRET);
		expect(fail.fields.error).toContain('db.example.com');
	});

	it('property: whatever the error text, the event never carries a known secret and its fields stay flat', async () => {
		const started = await startRun(db.pool, { connector: { connectorType: 'file', name: 'events-prop' } });
		await failRun(db.pool, started.runId, { error: 'placeholder' });
		// Text of the event's own making, which a generated secret must not be part of.
		const FRAME = 'IPAI connector run failed: file/events-prop (0 rows read, 0 written, ms): ';
		// A finished run is frozen by the ledger: the generated texts go into the row the event is built from.
		const { rows } = await db.pool.query(
			`select r.id, c.connector_type, c.name as connector, r.status, r.started_at, r.ended_at, r.rows_read::text, r.rows_written::text, r.error_message, r.metadata
			   from public.ipai_connector_run r join public.ipai_connector_config c on c.id = r.connector_id where r.id = $1`,
			[started.runId],
		);
		await fc.assert(
			fc.asyncProperty(fc.string(), fc.string({ minLength: 6, maxLength: 40 }).filter((s) => s.trim().length >= 6 && !/[*]/.test(s) && !FRAME.includes(s)), fc.string(), async (before, secret, after) => {
				const event = connectorRunEventOf({ ...rows[0], error_message: `${before}${secret}${after}`.repeat(3) }, [secret]);
				expect(String(event.fields.error)).not.toContain(secret);
				expect(event.message).not.toContain(secret);
				expect(String(event.fields.error).length).toBeLessThanOrEqual(1000);
				for (const value of Object.values(event.fields)) expect(value === null || ['string', 'number', 'boolean'].includes(typeof value)).toBe(true);
			}),
			{ numRuns: 60 },
		);
	});

	it('an unknown run is no event', async () => {
		expect(await connectorRunEvent(db.pool, '00000000-0000-4000-8000-000000000000')).toBeNull();
	});
});

describe('agent call events', () => {
	it('name the agent, tool, status, tokens, cost and latency the ledger recorded, with the error masked', async () => {
		await db.pool.query(`insert into public.ipai_agent (code_name, display_name, agent_type) values ('events-agent', 'Events', 'claude')`);
		const guard = { pool: db.pool, connection: {} as never };
		const result = await logRun(guard, 'events-agent', { tool: 'web_search', status: 'failed', tokensUsed: 321, costUsd: 0.0421, latencyMs: 2345, errorMessage: `HTTP 401 Authorization: Bearer ${SECRET}abcdef` });
		const event = (await agentCallEvent(db.pool, result.runId, [SECRET]))!;
		expect(event).toMatchObject({
			level: 'warn',
			fields: { event: 'agent.call', run_id: result.runId, agent: 'events-agent', agent_type: 'claude', tool: 'web_search', status: 'failed', tokens: 321, cost_usd: 0.0421, duration_ms: 2345 },
		});
		expect(JSON.stringify(event)).not.toContain(SECRET);
		const ok = await logRun(guard, 'events-agent', { tool: 'web_search', status: 'success', tokensUsed: 1, costUsd: 0, latencyMs: 10 });
		expect((await agentCallEvent(db.pool, ok.runId))!).toMatchObject({ level: 'info', fields: { status: 'success', error: null } });
	});
});

describe('alert transition events', () => {
	it('are the alerts whose episode the evaluation started, then the ones it resolved, once each', async () => {
		const T0 = Date.UTC(2026, 10, 1, 0, 0, 0);
		const incident = T0 + 3 * DAY;
		const id = await addConnector(db.pool, { name: 'events-incident', schedule: '*/5 * * * *', createdAt: new Date(T0 - 30 * DAY) });
		await addRuns(db.pool, id, { from: T0, to: incident, every: 5 * MINUTE });
		await addRuns(db.pool, id, { from: incident, to: incident + HOUR, every: 5 * MINUTE, status: () => 'failed' });
		const firing = await runEvaluation(db.pool, { now: new Date(incident + HOUR), slos: ['connector-run-success'] });
		const fired = alertTransitionEvents(firing.now, firing.alerts);
		const { rows: started } = await db.pool.query(`select fingerprint, severity from public.ipai_alert where state = 'firing' and started_at = $1`, [firing.now]);
		expect(started.length).toBeGreaterThan(0);
		expect(fired.map((e) => e.fields.fingerprint).sort()).toEqual(started.map((r) => r.fingerprint).sort());
		for (const e of fired) {
			expect(e.fields).toMatchObject({ event: 'alert.firing', alert: 'SLOBurnRate', slo: 'connector-run-success', connector: 'events-incident', status: 'firing' });
			expect(e.level).toBe(e.fields.severity === 'page' ? 'error' : 'warn');
		}

		// The next evaluation changes nothing: no transition.
		const still = await runEvaluation(db.pool, { now: new Date(incident + HOUR + 5 * MINUTE), slos: ['connector-run-success'] });
		expect(alertTransitionEvents(still.now, still.alerts)).toEqual([]);

		// Recovery: days of successes later every alert resolves, each logged once with its duration.
		const later = incident + 8 * DAY;
		await addRuns(db.pool, id, { from: incident + HOUR, to: later, every: 5 * MINUTE });
		const resolved = await runEvaluation(db.pool, { now: new Date(later), slos: ['connector-run-success'] });
		const events = alertTransitionEvents(resolved.now, resolved.alerts);
		expect(events.map((e) => e.fields.fingerprint).sort()).toEqual(started.map((r) => r.fingerprint).sort());
		for (const e of events) {
			expect(e.fields).toMatchObject({ event: 'alert.resolved', status: 'resolved', resolved_at: new Date(later).toISOString() });
			expect(e.fields.duration_ms).toBe(later - (incident + HOUR));
		}
	});
});
