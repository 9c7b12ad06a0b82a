/**
 * Refreshes the materialized views of chosen lakehouse schemas in dependency order (a view built
 * on another is refreshed after it), CONCURRENTLY where PostgreSQL allows it — the view is
 * already populated and has a unique index on plain columns without a predicate.
 *
 * Gold/platinum models that apps read carry company-scoped RLS, which a materialized view cannot,
 * so they are tables published from build views (migrations/20261122000400_erp.sql):
 * after the materialized views, the tables registered for the same schemas are republished by
 * ipai_meta.refresh_transform_tables. On a database without that function only materialized views
 * are refreshed.
 *
 * Everything happens in ONE transaction with the enabled `fail` expectations on the refreshed
 * schemas' relations (lib/dq/evaluate.ts), evaluated against what is about to be published: when
 * one fails, the transaction rolls back, so readers keep the previous contents; the results are
 * then recorded (a transaction of their own, so they survive) with an audit row saying the refresh
 * was rolled back, and ExpectationFailedError names the expectation and its counts. Readers see the
 * previous contents until the commit; a view refreshed without CONCURRENTLY is locked against
 * readers until then, not only while it is rebuilt. `warn`/`drop` expectations are evaluated after
 * the refresh, by Data Quality › Evaluate.
 */
import { randomUUID } from 'node:crypto';
import type { Pool, PoolClient } from 'pg';
import { evaluateOnClient, expectationsToEvaluate, recordEvaluation } from '../dq/evaluate';
import { ExpectationFailedError, type ExpectationOutcome } from '../dq/types';
import { writeAudit } from './audit';
import { inTransaction } from './connection';
import { qualifiedName } from './sql';

export interface RefreshedView {
	view: string;
	concurrently: boolean;
	durationMs: number;
	/** 'table' for a table republished from its build view; absent for a materialized view. */
	kind?: 'table';
	rowsWritten?: number;
}

export interface RefreshOptions {
	/** Masked in the recorded failing samples. */
	secrets?: readonly string[];
}

interface MatView {
	oid: number;
	schema: string;
	name: string;
	populated: boolean;
	concurrentOk: boolean;
	dependsOn: number[];
}

export async function refreshMaterializedViews(pool: Pool, schemas: string[], options: RefreshOptions = {}): Promise<RefreshedView[]> {
	const client = await pool.connect();
	let open = false;
	let broken = false;
	try {
		await client.query('begin');
		open = true;
		const refreshed = await refreshIn(client, schemas);
		const outcomes = await evaluateOnClient(client, await expectationsToEvaluate(client, { schemas, actions: ['fail'] }));
		const evaluationId = randomUUID();
		const failures = outcomes.filter((o) => o.status === 'fail');
		if (failures.length > 0) {
			open = false;
			await client.query('rollback');
			await recordRolledBackRefresh(pool, schemas, refreshed, outcomes, failures, { evaluationId, secrets: options.secrets });
			throw new ExpectationFailedError(failures, null);
		}
		await recordEvaluation(client, outcomes, { evaluationId, secrets: options.secrets });
		if (refreshed.length > 0) {
			await writeAudit(client, { eventType: 'schema_change', entityType: 'table', action: 'refresh', details: { schemas, refreshed, ...expectationsChecked(outcomes) } });
		}
		open = false;
		await client.query('commit');
		return refreshed;
	} catch (error) {
		if (open) await client.query('rollback').catch(() => (broken = true));
		throw error;
	} finally {
		client.release(broken);
	}
}

async function refreshIn(client: PoolClient, schemas: string[]): Promise<RefreshedView[]> {
	const { rows } = await client.query<MatView>(
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
		await client.query(`refresh materialized view${concurrently ? ' concurrently' : ''} ${qualifiedName(view.schema, view.name)}`);
		refreshed.push({ view: `${view.schema}.${view.name}`, concurrently, durationMs: Date.now() - started });
	}
	const { rows: fn } = await client.query<{ present: boolean }>(
		`select to_regprocedure('ipai_meta.refresh_transform_tables(text[])') is not null as present`,
	);
	if (fn[0]?.present) {
		const { rows: tables } = await client.query<{ relation: string; rows_written: string; duration_ms: string }>(
			'select relation, rows_written, duration_ms from ipai_meta.refresh_transform_tables($1::text[])',
			[schemas],
		);
		for (const t of tables) {
			refreshed.push({ view: t.relation, concurrently: true, durationMs: Number(t.duration_ms), kind: 'table', rowsWritten: Number(t.rows_written) });
		}
	}
	return refreshed;
}

/** What the audit row says about the `fail` expectations a refresh was checked against. */
function expectationsChecked(outcomes: ExpectationOutcome[]): Record<string, unknown> {
	if (outcomes.length === 0) return {};
	return { expectations: outcomes.map((o) => ({ expectation: `${o.expectation.targetTable}.${o.expectation.name}`, status: o.status, evaluated: o.evaluated, failed: o.failed })) };
}

/**
 * After a `fail` expectation rolled the refresh back: its results and an audit row that names
 * what would have been refreshed, in a transaction of their own so they outlive the rollback.
 * The error to raise names the expectation whether or not these could be written.
 */
async function recordRolledBackRefresh(
	pool: Pool,
	schemas: string[],
	attempted: RefreshedView[],
	outcomes: ExpectationOutcome[],
	failures: ExpectationOutcome[],
	where: { evaluationId: string; secrets?: readonly string[] },
): Promise<void> {
	await inTransaction(pool, async (client) => {
		await recordEvaluation(client, outcomes, where);
		await writeAudit(client, {
			eventType: 'schema_change',
			entityType: 'table',
			action: 'refresh_rolled_back',
			details: {
				schemas,
				rolledBack: attempted.map((v) => v.view),
				failedExpectations: failures.map((o) => `${o.expectation.targetTable}.${o.expectation.name}`),
				...expectationsChecked(outcomes),
			},
		});
	}).catch(() => undefined);
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
