/**
 * One lakehouse pool per n8n process and credential (issue 23, item 3), against the real server:
 * every execution of every IPAI node shares it, the server never sees more connections than its
 * size however many executions run at once, and the size follows the process's concurrency with
 * n8n's own precedence (packages/cli worker command: N8N_CONCURRENCY_PRODUCTION_LIMIT, else
 * --concurrency, default 10).
 */
import type { IExecuteFunctions } from 'n8n-workflow';
import { openLakehouse, openPoolCount, poolSize } from '../../nodes/shared/lakehouse';
import { useScratchDatabase } from '../../tooling/helpers/database';

const db = useScratchDatabase({ migrated: false });

function execution(): IExecuteFunctions {
	const url = new URL(db.url);
	const credentials = {
		connectionMode: 'fields', host: url.hostname, port: Number(url.port || 5432), database: url.pathname.slice(1),
		user: decodeURIComponent(url.username), password: decodeURIComponent(url.password), ssl: 'disable',
	};
	return { getCredentials: async () => credentials } as unknown as IExecuteFunctions;
}

describe('pool size', () => {
	it.each([
		[{}, ['node', 'n8n', 'worker'], 11],
		[{}, ['node', 'n8n', 'worker', '--concurrency=5'], 6],
		[{}, ['node', 'n8n', 'worker', '--concurrency', '20'], 21],
		[{ N8N_CONCURRENCY_PRODUCTION_LIMIT: '3' }, ['node', 'n8n', 'worker', '--concurrency=5'], 4],
		[{ N8N_CONCURRENCY_PRODUCTION_LIMIT: '-1' }, ['node', 'n8n', 'worker', '--concurrency=5'], 6],
		[{ IPAI_LAKEHOUSE_POOL_SIZE: '2', N8N_CONCURRENCY_PRODUCTION_LIMIT: '3' }, ['node', 'n8n', 'start'], 2],
	])('env %j, argv %j → %i connections', (env, argv, expected) => {
		expect(poolSize(env as NodeJS.ProcessEnv, argv)).toBe(expected);
	});
});

it('executions share one pool per credential; the server sees at most its size, however many run at once', async () => {
	process.env.IPAI_LAKEHOUSE_POOL_SIZE = '3';
	try {
		const before = openPoolCount();
		const sessions = await Promise.all(Array.from({ length: 12 }, () => openLakehouse(execution())));
		expect(new Set(sessions.map((s) => s.pool)).size).toBe(1);
		expect(openPoolCount()).toBe(before + 1);
		const database = db.name;
		let peak = 0;
		const watch = setInterval(async () => {
			const { rows } = await db.pool.query(`select count(*)::int as n from pg_stat_activity where datname = $1 and application_name = 'n8n IPAI lakehouse'`, [database]);
			peak = Math.max(peak, rows[0].n);
		}, 20);
		try {
			await Promise.all(sessions.map((s) => s.pool.query('select pg_sleep(0.2)')));
		} finally {
			clearInterval(watch);
		}
		expect(peak).toBeGreaterThan(0);
		expect(peak).toBeLessThanOrEqual(3);
		// Closing every session keeps the pool for the next execution (closing one twice is harmless).
		for (const s of sessions) await s.close();
		await sessions[0].close();
		const next = await openLakehouse(execution());
		expect(next.pool).toBe(sessions[0].pool);
		expect((await next.pool.query('select 1 as one')).rows[0].one).toBe(1);
		await next.close();
		await next.pool.end();
	} finally {
		delete process.env.IPAI_LAKEHOUSE_POOL_SIZE;
	}
});
