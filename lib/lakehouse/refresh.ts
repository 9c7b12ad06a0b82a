/**
 * Refreshes the materialized views of chosen lakehouse schemas in dependency order (a view built
 * on another is refreshed after it), CONCURRENTLY where PostgreSQL allows it — the view is
 * already populated and has a unique index on plain columns without a predicate — so readers
 * keep seeing the previous contents during the refresh.
 *
 * Gold/platinum models that apps read carry company-scoped RLS, which a materialized view cannot,
 * so they are tables published from build views (migrations/20261122005000_erp_transforms.sql):
 * after the materialized views, the tables registered for the same schemas are republished by
 * ipai_meta.refresh_transform_tables — one transaction, readers see the previous contents until
 * it commits. On a database without that function only materialized views are refreshed.
 */
import type { Pool } from 'pg';
import { writeAudit } from './audit';
import { qualifiedName } from './sql';

export interface RefreshedView {
	view: string;
	concurrently: boolean;
	durationMs: number;
	/** 'table' for a table republished from its build view; absent for a materialized view. */
	kind?: 'table';
	rowsWritten?: number;
}

interface MatView {
	oid: number;
	schema: string;
	name: string;
	populated: boolean;
	concurrentOk: boolean;
	dependsOn: number[];
}

export async function refreshMaterializedViews(pool: Pool, schemas: string[]): Promise<RefreshedView[]> {
	const { rows } = await pool.query<MatView>(
		`select c.oid::int as oid, n.nspname as schema, c.relname as name, c.relispopulated as populated,
		        exists (select 1 from pg_index i
		                 where i.indrelid = c.oid and i.indisunique and i.indpred is null and i.indexprs is null) as "concurrentOk",
		        coalesce((select array_agg(distinct d2.refobjid::int)
		                    from pg_rewrite r
		                    join pg_depend d2 on d2.objid = r.oid and d2.classid = 'pg_rewrite'::regclass
		                    join pg_class dep on dep.oid = d2.refobjid and dep.relkind = 'm'
		                   where r.ev_class = c.oid and d2.refobjid <> c.oid), '{}') as "dependsOn"
		   from pg_class c join pg_namespace n on n.oid = c.relnamespace
		  where c.relkind = 'm' and n.nspname = any ($1)`,
		[schemas],
	);
	const refreshed: RefreshedView[] = [];
	for (const view of dependencyOrder(rows)) {
		const started = Date.now();
		const concurrently = view.populated && view.concurrentOk;
		await pool.query(`refresh materialized view${concurrently ? ' concurrently' : ''} ${qualifiedName(view.schema, view.name)}`);
		refreshed.push({ view: `${view.schema}.${view.name}`, concurrently, durationMs: Date.now() - started });
	}
	const { rows: fn } = await pool.query<{ present: boolean }>(
		`select to_regprocedure('ipai_meta.refresh_transform_tables(text[])') is not null as present`,
	);
	if (fn[0]?.present) {
		const { rows: tables } = await pool.query<{ relation: string; rows_written: string; duration_ms: string }>(
			'select relation, rows_written, duration_ms from ipai_meta.refresh_transform_tables($1::text[])',
			[schemas],
		);
		for (const t of tables) {
			refreshed.push({ view: t.relation, concurrently: true, durationMs: Number(t.duration_ms), kind: 'table', rowsWritten: Number(t.rows_written) });
		}
	}
	if (refreshed.length > 0) {
		const client = await pool.connect();
		try {
			await writeAudit(client, { eventType: 'schema_change', entityType: 'table', action: 'refresh', details: { schemas, refreshed } });
		} finally {
			client.release();
		}
	}
	return refreshed;
}

/** Views before the views that read them (Kahn's algorithm; views in other schemas are ignored). */
export function dependencyOrder<T extends { oid: number; dependsOn: number[] }>(views: T[]): T[] {
	const byOid = new Map(views.map((v) => [v.oid, v]));
	const remaining = new Map(views.map((v) => [v.oid, v.dependsOn.filter((d) => byOid.has(d) && d !== v.oid)]));
	const ordered: T[] = [];
	while (remaining.size > 0) {
		const ready = [...remaining].filter(([, deps]) => deps.length === 0).map(([oid]) => oid).sort((a, b) => a - b);
		if (ready.length === 0) throw new Error('Materialized views depend on each other in a cycle');
		for (const oid of ready) {
			ordered.push(byOid.get(oid)!);
			remaining.delete(oid);
		}
		for (const [oid, deps] of remaining) remaining.set(oid, deps.filter((d) => !ready.includes(d)));
	}
	return ordered;
}
