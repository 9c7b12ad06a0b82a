import { Pool } from 'pg';
import { currentRunOf, listRuns, runOfExecution } from '../../lib/lakehouse/runQueries';
import { failRun, finishRun, heartbeat, holdLease, registerConnector, startRun, type StartRunResult } from '../../lib/lakehouse/runs';
import { loadStream } from '../../lib/lakehouse/loader';
import { setStreamState } from '../../lib/lakehouse/streamState';
import { useScratchDatabase } from '../../tooling/helpers/database';

const db = useScratchDatabase();

/** Waits until some session is blocked on a lock while running a statement that mentions `relation`. */
async function waitUntilBlocked(pool: Pool, relation: string): Promise<void> {
	for (let i = 0; i < 100; i++) {
		const { rows } = await pool.query(
			`select count(*)::int as n from pg_stat_activity where wait_event_type = 'Lock' and query like '%' || $1 || '%'`,
			[relation],
		);
		if (rows[0].n > 0) return;
		await new Promise((r) => setTimeout(r, 50));
	}
	throw new Error(`no session blocked on ${relation}`);
}

describe('one run per connector at a time', () => {
	it('20 concurrent starts on 20 connections give exactly one running run; the others are skipped with its id', async () => {
		// Separate pools: every start on its own connection, as n8n workers would be.
		const pools = Array.from({ length: 20 }, () => new Pool({ connectionString: db.url, max: 1 }));
		try {
			const results: StartRunResult[] = await Promise.all(
				pools.map((pool, i) => startRun(pool, { connector: { connectorType: 'odoo', name: 'concurrent' }, holder: `worker ${i}` })),
			);
			const running = results.filter((r) => r.status === 'running');
			const skipped = results.filter((r) => r.status === 'skipped');
			expect(running).toHaveLength(1);
			expect(skipped).toHaveLength(19);
			for (const s of skipped) expect(s).toMatchObject({ reason: 'busy', holderRunId: running[0].runId });
			const counts = await db.pool.query(
				`select status, count(*)::int as n from ipai_connector_run where connector_id = $1 group by status order by status`,
				[running[0].connectorId],
			);
			expect(counts.rows).toEqual([{ status: 'running', n: 1 }, { status: 'skipped', n: 19 }]);
			await finishRun(db.pool, running[0].runId);
		} finally {
			await Promise.all(pools.map((p) => p.end()));
		}
	});

	it('a start while the holder commits a page neither deadlocks nor fails: it waits for the page, then is skipped', async () => {
		// Found in n8n queue mode: the page transaction holds the lease row and then checks its state
		// row's foreign key (a KEY SHARE lock on the connector row); a start that had locked the
		// connector row FOR UPDATE and was waiting for the lease deadlocked with it.
		const holder = await startRun(db.pool, { connector: { connectorType: 'odoo', name: 'page-vs-start' } });
		if (holder.status !== 'running') throw new Error('no holder');
		const page = await db.pool.connect();
		const other = new Pool({ connectionString: db.url, max: 1 });
		try {
			await page.query('begin');
			await holdLease(page, holder.connectorId, holder.runId); // as the loader does first in a page
			const starting = startRun(other, { connector: { connectorType: 'odoo', name: 'page-vs-start' } });
			await waitUntilBlocked(db.pool, 'ipai_connector_lease');
			await setStreamState(page, holder.connectorId, 'res.partner', { cursor: '2026-11-30 10:00:00', runId: holder.runId });
			await page.query('commit');
			expect(await starting).toMatchObject({ status: 'skipped', reason: 'busy', holderRunId: holder.runId });
		} finally {
			page.release();
			await other.end();
		}
		await finishRun(db.pool, holder.runId);
	});

	it('takes over from a holder that stopped heartbeating, marking its run abandoned', async () => {
		const first = await startRun(db.pool, { connector: { connectorType: 'odoo', name: 'dies' }, leaseTimeoutSeconds: 1 });
		if (first.status !== 'running') throw new Error('expected running');
		const busy = await startRun(db.pool, { connector: { connectorType: 'odoo', name: 'dies' } });
		expect(busy).toMatchObject({ status: 'skipped', reason: 'busy' });
		await new Promise((r) => setTimeout(r, 1100));
		const second = await startRun(db.pool, { connector: { connectorType: 'odoo', name: 'dies' } });
		expect(second).toMatchObject({ status: 'running', abandonedRunId: first.runId });
		const old = await db.pool.query('select status, error_message, ended_at from ipai_connector_run where id = $1', [first.runId]);
		expect(old.rows[0].status).toBe('abandoned');
		expect(old.rows[0].error_message).toMatch(/No heartbeat for more than 1 seconds; presumed dead and taken over by run/);
		await expect(finishRun(db.pool, first.runId)).rejects.toThrow(/marked abandoned/);
		await finishRun(db.pool, second.runId);
	});

	it('heartbeats keep a lease alive past its timeout', async () => {
		const first = await startRun(db.pool, { connector: { connectorType: 'odoo', name: 'beats' }, leaseTimeoutSeconds: 1 });
		if (first.status !== 'running') throw new Error('expected running');
		for (let i = 0; i < 3; i++) {
			await new Promise((r) => setTimeout(r, 500));
			await heartbeat(db.pool, first.runId, { rowsRead: i * 10 });
		}
		expect(await startRun(db.pool, { connector: { connectorType: 'odoo', name: 'beats' } })).toMatchObject({ status: 'skipped' });
		await finishRun(db.pool, first.runId);
	});

	it('a disabled connector is recorded as skipped, not failed', async () => {
		const id = await registerConnector(db.pool as never, { connectorType: 'github', name: 'off' });
		await db.pool.query('update ipai_connector_config set is_enabled = false where id = $1', [id]);
		const result = await startRun(db.pool, { connector: { id } });
		expect(result).toMatchObject({ status: 'skipped', reason: 'disabled' });
		const row = await db.pool.query('select status, ended_at is not null as ended, metadata from ipai_connector_run where id = $1', [result.runId]);
		expect(row.rows[0]).toMatchObject({ status: 'skipped', ended: true, metadata: { reason: 'disabled' } });
	});
});

describe('the ledger', () => {
	it('an Error Trigger finds the run its execution left running, even after a later run of its own finished', async () => {
		const metadata = { n8n_execution_id: 'exec-77' };
		const held = await startRun(db.pool, { connector: { connectorType: 'odoo', name: 'held-by-77' }, metadata });
		await new Promise((r) => setTimeout(r, 10));
		const own = await startRun(db.pool, { connector: { connectorType: 'github', name: 'own-of-77' }, metadata });
		if (held.status !== 'running' || own.status !== 'running') throw new Error('expected running');
		await finishRun(db.pool, own.runId);
		expect(await runOfExecution(db.pool, 'exec-77')).toMatchObject({ id: held.runId, status: 'running', connectorName: 'held-by-77' });
		await finishRun(db.pool, held.runId);
		expect(await runOfExecution(db.pool, 'exec-77')).toMatchObject({ id: own.runId, status: 'success' });
	});

	it("a source node's initial config seeds a new connector but never overwrites a row someone manages", async () => {
		const first = await startRun(db.pool, { connector: { connectorType: 'github', name: 'seeded', initialConfig: { streams: ['issues'] } } });
		if (first.status !== 'running') throw new Error('expected running');
		await finishRun(db.pool, first.runId);
		const configOf = async () => (await db.pool.query('select config from ipai_connector_config where id = $1', [first.connectorId])).rows[0].config;
		expect(await configOf()).toEqual({ streams: ['issues'] });
		// The dispatcher's row: a person sets the repositories; later syncs must keep them.
		await db.pool.query(`update ipai_connector_config set config = '{"repositories": ["acme/app"]}' where id = $1`, [first.connectorId]);
		const second = await startRun(db.pool, { connector: { connectorType: 'github', name: 'seeded', initialConfig: { streams: ['pulls'] } } });
		if (second.status !== 'running') throw new Error('expected running');
		await finishRun(db.pool, second.runId);
		expect(await configOf()).toEqual({ repositories: ['acme/app'] });
	});

	it('registering a connector again rewrites its row only when something changes', async () => {
		const version = async (id: string) => (await db.pool.query('select xmin::text as v, config, schedule from ipai_connector_config where id = $1', [id])).rows[0];
		const register = async (registration: Parameters<typeof registerConnector>[1]) => {
			const client = await db.pool.connect();
			try {
				return await registerConnector(client, registration);
			} finally {
				client.release();
			}
		};
		const id = await register({ connectorType: 'odoo', name: 'steady', config: { models: ['res.partner'] }, schedule: '*/5 * * * *' });
		const before = await version(id);
		// What every dispatched run does: the same name, its initial config only, nothing to change.
		expect(await register({ connectorType: 'odoo', name: 'steady', initialConfig: { models: ['account.move'] } })).toBe(id);
		expect(await register({ connectorType: 'odoo', name: 'steady', config: { models: ['res.partner'] }, schedule: '*/5 * * * *' })).toBe(id);
		expect(await version(id)).toEqual(before);
		expect(await register({ connectorType: 'odoo', name: 'steady', schedule: '*/10 * * * *' })).toBe(id);
		const after = await version(id);
		expect([after.v === before.v, after.config, after.schedule]).toEqual([false, { models: ['res.partner'] }, '*/10 * * * *']);
	});

	it('start → finish records counts, duration and audit rows; the lease is released', async () => {
		const start = await startRun(db.pool, {
			connector: { connectorType: 'file', name: 'ledger', config: { bucket: 'b', table: 'ledger' }, schedule: '*/5 * * * *' },
			holder: 'execution 42',
		});
		if (start.status !== 'running') throw new Error('expected running');
		await new Promise((r) => setTimeout(r, 20));
		const done = await finishRun(db.pool, start.runId, { rowsRead: 10, rowsWritten: 7, metadata: { files: 2 } });
		expect(done.durationMs).toBeGreaterThanOrEqual(15);
		const run = (await listRuns(db.pool, { connectorName: 'ledger' }))[0];
		expect(run).toMatchObject({ status: 'success', rows_read: 10, rows_written: 7, connector_type: 'file' });
		expect(run.metadata).toMatchObject({ files: 2, holder: 'execution 42' });
		expect(Number(run.metadata!.duration_ms)).toBeGreaterThanOrEqual(15);
		const config = await db.pool.query('select config, schedule from ipai_connector_config where id = $1', [start.connectorId]);
		expect(config.rows[0]).toEqual({ config: { bucket: 'b', table: 'ledger' }, schedule: '*/5 * * * *' });
		const audit = await db.pool.query(
			`select action from ipai_audit_log where entity_id = $1 and event_type = 'connector_run' order by created_at`,
			[start.connectorId],
		);
		expect(audit.rows.map((r) => r.action)).toEqual(['start', 'finish']);
		expect(await currentRunOf(db.pool, { id: start.connectorId })).toBeNull();
		expect(await startRun(db.pool, { connector: { id: start.connectorId } })).toMatchObject({ status: 'running' });
	});

	it('fail records an actionable message without secrets, once', async () => {
		const start = await startRun(db.pool, { connector: { connectorType: 'odoo', name: 'fails' } });
		if (start.status !== 'running') throw new Error('expected running');
		expect(await currentRunOf(db.pool, { connectorType: 'odoo', name: 'fails' })).toBe(start.runId);
		const error = new Error('Access Denied for https://bot:hunter2@odoo.example.com with api key sk-live-123');
		expect(await failRun(db.pool, start.runId, { error, secrets: ['sk-live-123'] })).toMatchObject({ status: 'failed', changed: true });
		expect(await failRun(db.pool, start.runId, { error: 'again' })).toMatchObject({ status: 'failed', changed: false });
		const row = await db.pool.query('select status, error_message from ipai_connector_run where id = $1', [start.runId]);
		expect(row.rows[0].status).toBe('failed');
		expect(row.rows[0].error_message).toBe('Access Denied for https://bot:***@odoo.example.com with api key ***');
	});

	it('refuses a connector config that carries a secret, naming the key but not the value', async () => {
		await expect(
			startRun(db.pool, { connector: { connectorType: 'github', name: 'leaky', config: { auth: { apiKey: 'ghp_abc' } } } }),
		).rejects.toThrow(/config\.auth\.apiKey looks like a secret/);
		await expect(
			startRun(db.pool, { connector: { connectorType: 'github', name: 'leaky', config: { auth: { apiKey: 'ghp_abc' } } } }),
		).rejects.not.toThrow(/ghp_abc/);
	});

	it.each([
		[{ url: 'postgres://u:PW-9f8e7d@h/db' }, /config\.url holds a URL with a password/, 'PW-9f8e7d'],
		[{ headers: { Authorization: 'Bearer eyJhbGciOi.longtoken' } }, /config\.headers\.Authorization holds an Authorization header/, 'longtoken'],
		[{ note: 'ghp_0123456789abcdefghijABCDEFGHIJ012345' }, /config\.note holds a GitHub token/, 'ghp_0123'],
		[{ files: ['https://b.s3.amazonaws.com/f.csv?X-Amz-Signature=abcdef0123'] }, /config\.files\[0\] holds a signed URL/, 'abcdef0123'],
		[{ dsn: 'host=db user=app password=Sup3rS3cret' }, /config\.dsn holds a password, secret or token value/, 'Sup3rS3cret'],
	])('refuses a config value that looks like a secret whatever its key (%j), pointing to the credential or vault_secret_refs', async (config, message, secret) => {
		const error = await startRun(db.pool, { connector: { connectorType: 'http', name: 'leaky-value', config } }).catch((e: unknown) => e as Error);
		expect((error as Error).message).toMatch(message);
		expect((error as Error).message).toMatch(/n8n credential.*vaultSecretRefs|vault_secret_refs|vaultSecretRefs/);
		expect((error as Error).message).not.toContain(secret);
		const { rows } = await db.pool.query(`select count(*)::int as n from ipai_connector_config where name = 'leaky-value'`);
		expect(rows[0].n).toBe(0);
	});

	it('masks password= and Bearer values in failRun even when the caller names no secret', async () => {
		const start = await startRun(db.pool, { connector: { connectorType: 'odoo', name: 'fails-unnamed' } });
		if (start.status !== 'running') throw new Error('expected running');
		await failRun(db.pool, start.runId, { error: new Error('login failed: password=Sup3rS3cret, sent Authorization: Bearer abcdefghijklmnop') });
		const row = await db.pool.query('select error_message from ipai_connector_run where id = $1', [start.runId]);
		expect(row.rows[0].error_message).toBe('login failed: password=***, sent Authorization: Bearer ***');
	});
});

describe('the ledger paths under the least-privilege grants (issue 16, security and records 2)', () => {
	it('an ingest-only login starts, loads, heartbeats, finishes and fails runs, and its audit rows carry the server\'s time', async () => {
		const role = `ingest_only_${process.pid}_${Date.now() % 100000}`;
		await db.pool.query(`create role ${role} login in role ipai_ingest`);
		const url = new URL(db.url);
		url.username = role;
		const ingest = new Pool({ connectionString: url.toString(), max: 2 });
		ingest.on('error', () => undefined);
		try {
			const started = await startRun(ingest, { connector: { connectorType: 'test', name: 'least-privilege', config: { region: 'eu' } } });
			if (started.status !== 'running') throw new Error('expected running');
			const loaded = await loadStream(ingest, [{ records: [{ id: 1, v: 'a' }, { id: 2, v: 'b' }], cursor: { n: 2 } }], {
				...started, stream: 's', table: { schema: 'ipai_bronze_core', name: 'least_privilege' }, key: ['id'],
			});
			expect(loaded.rowsWritten).toBe(2);
			await heartbeat(ingest, started.runId, { rowsRead: 2 });
			await finishRun(ingest, started.runId, { rowsRead: 2, rowsWritten: 2 });
			const second = await startRun(ingest, { connector: { id: started.connectorId } });
			if (second.status !== 'running') throw new Error('expected running');
			await failRun(ingest, second.runId, { error: new Error('token=abc123def456 rejected') });
			const { rows } = await db.pool.query(
				`select r.status, r.error_message from ipai_connector_run r where r.connector_id = $1 order by r.started_at`,
				[started.connectorId],
			);
			expect(rows).toEqual([{ status: 'success', error_message: null }, { status: 'failed', error_message: 'token=*** rejected' }]);
			const audit = await db.pool.query(
				`select count(*)::int as n, bool_and(created_at > now() - interval '10 minutes') as fresh from ipai_audit_log where entity_id = $1`,
				[started.connectorId],
			);
			expect(audit.rows[0]).toEqual({ n: expect.any(Number), fresh: true });
			expect(audit.rows[0].n).toBeGreaterThanOrEqual(5);
			await expect(ingest.query('delete from ipai_connector_run where id = $1', [second.runId])).rejects.toMatchObject({ code: '42501' });
		} finally {
			await ingest.end();
			await db.pool.query(`drop owned by ${role}; drop role ${role}`);
		}
	});
});
