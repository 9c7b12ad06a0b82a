import { refreshMaterializedViews } from '../../lib/lakehouse/refresh';
import { useScratchDatabase } from '../../tooling/helpers/database';

const db = useScratchDatabase();

describe('refreshing materialized views', () => {
	beforeAll(async () => {
		// Created in reverse name order so that dependency order differs from name or creation order.
		await db.pool.query(`
			create table ipai_silver_core.facts (id int primary key, amount numeric);
			select ipai_meta.secure_relation('ipai_silver_core.facts');
			create materialized view ipai_gold_core.z_base as select id, amount from ipai_silver_core.facts with no data;
			create unique index on ipai_gold_core.z_base (id);
			create materialized view ipai_gold_core.a_total as select sum(amount) as total from ipai_gold_core.z_base with no data;
			create materialized view ipai_gold_core.m_top as select id from ipai_gold_core.z_base order by amount desc limit 1 with no data;
			create unique index on ipai_gold_core.m_top (id);
		`);
	});

	it('refreshes on an empty lakehouse, then in dependency order and concurrently where allowed', async () => {
		const first = await refreshMaterializedViews(db.pool, ['ipai_gold_core']);
		expect(first.map((v) => [v.view, v.concurrently])).toEqual([
			['ipai_gold_core.z_base', false], // not yet populated: CONCURRENTLY is not allowed
			['ipai_gold_core.a_total', false],
			['ipai_gold_core.m_top', false],
		]);
		expect((await db.pool.query('select total from ipai_gold_core.a_total')).rows).toEqual([{ total: null }]);

		await db.pool.query('insert into ipai_silver_core.facts values (1, 10), (2, 32)');
		const second = await refreshMaterializedViews(db.pool, ['ipai_gold_core']);
		expect(second.map((v) => [v.view, v.concurrently])).toEqual([
			['ipai_gold_core.z_base', true],
			['ipai_gold_core.a_total', false], // no unique index
			['ipai_gold_core.m_top', true],
		]);
		expect((await db.pool.query('select total from ipai_gold_core.a_total')).rows).toEqual([{ total: '42' }]);
		expect((await db.pool.query('select id from ipai_gold_core.m_top')).rows).toEqual([{ id: 2 }]);
	});
});
