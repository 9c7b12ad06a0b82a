/**
 * Overlapped page transactions (LoadOptions.overlap): a page is staged on a second connection while
 * the page before it merges and commits. Whatever page fails, and whenever the stream changes the
 * table's shape, the committed pages must be a prefix of the stream with the cursor of its last
 * page: bronze holds everything the committed cursor claims and nothing after it, the run's counts
 * are the committed pages' counts, and a resumed load completes without loss or duplicate.
 * PostgreSQL's own view of the table is the oracle.
 */
import fc from 'fast-check';
import type { Pool } from 'pg';
import { loadStream, type Page } from '../../lib/lakehouse/loader';
import { qualifiedName } from '../../lib/lakehouse/sql';
import { getStreamState } from '../../lib/lakehouse/streamState';
import { runningConnector } from '../helpers/connector';
import { useScratchDatabase } from '../../tooling/helpers/database';

const db = useScratchDatabase();
let tableCounter = 0;

interface Plan {
	sizes: number[];
	/** Page index whose transaction fails (after its rows are written), or null. */
	failAt: number | null;
	/** Page index from which records carry a new field (the table gains a column), or null. */
	newFieldAt: number | null;
	/** Page index from which `amount` holds text (the column widens), or null. */
	widenAt: number | null;
	/** Pages whose commit is held back a little, so the next page is staged meanwhile. */
	slow: boolean[];
}

function pagesOf(plan: Plan, from: number, failing: boolean): Generator<Page> {
	return (function* () {
		for (let p = from; p < plan.sizes.length; p++) {
			const first = plan.sizes.slice(0, p).reduce((a, b) => a + b, 0);
			const records = Array.from({ length: plan.sizes[p] }, (_, i) => ({
				id: first + i,
				page: p,
				amount: plan.widenAt !== null && p >= plan.widenAt ? `n${first + i}` : first + i,
				...(plan.newFieldAt !== null && p >= plan.newFieldAt ? { note: `page ${p}` } : {}),
			}));
			const fails = failing && plan.failAt === p;
			const slow = plan.slow[p];
			yield {
				records,
				cursor: { page: p },
				afterWrite: async () => {
					if (slow) await new Promise((r) => setTimeout(r, 30));
					if (fails) throw new Error(`page ${p} fails`);
				},
			};
		}
	})();
}

async function committed(pool: Pool, table: { schema: string; name: string }, connectorId: string, runId: string) {
	const exists = await pool.query('select to_regclass($1) as t', [qualifiedName(table.schema, table.name)]);
	const state = await getStreamState(pool, connectorId, 'rows');
	const run = await pool.query('select rows_read from ipai_connector_run where id = $1', [runId]);
	if (!exists.rows[0].t) return { cursor: state.cursor as { page: number } | null, ids: [] as number[], pages: [] as number[], rowsRead: Number(run.rows[0].rows_read ?? 0) };
	const { rows } = await pool.query(`select id::int, page::int from ${qualifiedName(table.schema, table.name)} where _ipai_connector_id = $1 order by id`, [connectorId]);
	return {
		cursor: state.cursor as { page: number } | null,
		ids: rows.map((r) => r.id as number),
		pages: [...new Set(rows.map((r) => r.page as number))],
		rowsRead: Number(run.rows[0].rows_read ?? 0),
	};
}

const plans = fc
	.record({
		sizes: fc.array(fc.integer({ min: 0, max: 40 }), { minLength: 1, maxLength: 7 }),
		failAt: fc.option(fc.nat(6), { nil: null }),
		newFieldAt: fc.option(fc.nat(6), { nil: null }),
		widenAt: fc.option(fc.nat(6), { nil: null }),
		slow: fc.array(fc.boolean(), { minLength: 7, maxLength: 7 }),
	})
	.map((p) => ({ ...p, failAt: p.failAt !== null && p.failAt < p.sizes.length ? p.failAt : null }));

describe('overlapped page transactions', () => {
	it('commit a prefix of the stream with its cursor, whichever page fails, and a resumed load completes exactly', async () => {
		await fc.assert(
			fc.asyncProperty(plans, async (plan) => {
				const run = await runningConnector(db.pool);
				const table = { schema: 'ipai_bronze_core', name: `overlap_${++tableCounter}` };
				const options = { ...run, stream: 'rows', table, key: ['id'], overlap: true };
				const load = loadStream(db.pool, pagesOf(plan, 0, true), options);
				if (plan.failAt !== null) await expect(load).rejects.toThrow(`page ${plan.failAt} fails`);
				else await load;

				const reached = plan.failAt === null ? plan.sizes.length : plan.failAt;
				const expectedIds = Array.from({ length: plan.sizes.slice(0, reached).reduce((a, b) => a + b, 0) }, (_, i) => i);
				const after = await committed(db.pool, table, run.connectorId, run.runId);
				expect(after.ids).toEqual(expectedIds);
				expect(after.cursor).toEqual(reached === 0 ? null : { page: reached - 1 });
				expect(after.rowsRead).toBe(expectedIds.length);

				// Resume from the committed cursor, as a source does.
				const from = after.cursor ? after.cursor.page + 1 : 0;
				await loadStream(db.pool, pagesOf(plan, from, false), options);
				const all = plan.sizes.reduce((a, b) => a + b, 0);
				const final = await committed(db.pool, table, run.connectorId, run.runId);
				expect(final.ids).toEqual(Array.from({ length: all }, (_, i) => i));
				expect(final.cursor).toEqual({ page: plan.sizes.length - 1 });
				expect(final.rowsRead).toBe(all);
			}),
			{ numRuns: 40 },
		);
	}, 300_000);

	it('stage the next page while the page before it commits (two backends at work)', async () => {
		const run = await runningConnector(db.pool);
		const table = { schema: 'ipai_bronze_core', name: `overlap_${++tableCounter}` };
		let overlapped = 0;
		const pages = (function* (): Generator<Page> {
			for (let p = 0; p < 4; p++) {
				yield {
					records: Array.from({ length: 50 }, (_, i) => ({ id: p * 50 + i, page: p })),
					cursor: { page: p },
					afterWrite: async (client) => {
						if (p === 0) return;
						// While this page is about to commit, the next one is in a transaction of its own.
						const { rows } = await client.query(
							`select count(*)::int as n from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid() and xact_start is not null and query like 'copy %'`,
						);
						if (p < 3 && rows[0].n > 0) overlapped++;
					},
				};
			}
		})();
		await loadStream(db.pool, pages, { ...run, stream: 'rows', table, key: ['id'], overlap: true });
		expect((await db.pool.query(`select count(*)::int as n from ${qualifiedName(table.schema, table.name)}`)).rows[0].n).toBe(200);
		expect(overlapped).toBeGreaterThan(0);
	});
});
