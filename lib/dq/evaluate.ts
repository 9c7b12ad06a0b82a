/**
 * Evaluation outside a load: inside Refresh Transforms (its `fail` expectations, before the refresh
 * commits: lib/lakehouse/refresh.ts), after it and on a schedule. Table-level kinds
 * (row_count, volume_anomaly, freshness, schema_drift, custom_sql) on any layer, and row-level
 * kinds over whole silver/gold/platinum tables (bronze rows are checked as they load). One
 * statement per expectation; an expectation that cannot run is an `error` result naming why, not
 * a skipped one. Where the target has company_id, row-level and custom_sql results are written per
 * company, so analysts read the results about their companies under RLS.
 */
import { randomUUID } from 'node:crypto';
import type { ClientBase, Pool } from 'pg';
import { inTransaction, type Queryable } from '../lakehouse/connection';
import { quoteIdent, quoteLiteral } from '../lakehouse/sql';
import { statusFor, writeOutcomes } from './results';
import { compileRowChecks, qualifiedTarget } from './rowChecks';
import { EXPECTATION_COLUMNS, ExpectationFailedError, expectationFromRow, isRowKind, SAMPLE_SIZE, type Expectation, type ExpectationAction, type ExpectationOutcome } from './types';
import { robustZ, volumeVerdict } from './volume';

export interface EvaluateOptions {
	/** schema.table targets to evaluate. */
	tables?: string[];
	/** Every target in these schemas. With neither, every enabled expectation not enforced at load. */
	schemas?: string[];
	/** Only these expectation names. */
	names?: string[];
	/** Throw ExpectationFailedError when a `fail` expectation failed (after recording every result). */
	throwOnFail?: boolean;
	secrets?: readonly string[];
}

export interface EvaluationReport {
	evaluationId: string;
	outcomes: ExpectationOutcome[];
	passed: number;
	failed: number;
	errors: number;
}

export async function evaluateExpectations(pool: Pool, options: EvaluateOptions = {}): Promise<EvaluationReport> {
	const expectations = await expectationsToEvaluate(pool, options);
	const evaluationId = randomUUID();
	const outcomes: ExpectationOutcome[] = [];
	for (const expectation of expectations) {
		// A transaction per expectation: each check reads its own snapshot and holds nothing long.
		outcomes.push(...(await inTransaction(pool, (client) => evaluateOnClient(client, [expectation]))));
	}
	await inTransaction(pool, (client) => recordEvaluation(client, outcomes, { evaluationId, secrets: options.secrets }));
	const failures = outcomes.filter((o) => o.status === 'fail');
	if (options.throwOnFail && failures.length > 0) throw new ExpectationFailedError(failures, null);
	return {
		evaluationId,
		outcomes,
		passed: outcomes.filter((o) => o.status === 'pass').length,
		failed: outcomes.filter((o) => o.status === 'fail' || o.status === 'warn').length,
		errors: outcomes.filter((o) => o.status === 'error').length,
	};
}

/** The enabled expectations evaluation outside a load covers, filtered as EvaluateOptions says. */
export async function expectationsToEvaluate(db: Queryable, options: Pick<EvaluateOptions, 'tables' | 'schemas' | 'names'> & { actions?: ExpectationAction[] }): Promise<Expectation[]> {
	const { rows } = await db.query(
		`select ${EXPECTATION_COLUMNS} from public.ipai_dq_expectation
		  where is_enabled
		    and ($1::text[] is null or target_table = any ($1))
		    and ($2::text[] is null or split_part(target_table, '.', 1) = any ($2))
		    and ($3::text[] is null or name = any ($3))
		    and ($4::text[] is null or action = any ($4))
		  order by target_table, name`,
		[
			options.tables?.length ? options.tables : null,
			options.schemas?.length ? options.schemas : null,
			options.names?.length ? options.names : null,
			options.actions?.length ? options.actions : null,
		],
	);
	const explicit = (options.tables?.length ?? 0) > 0;
	return rows
		.map(expectationFromRow)
		// Bronze rows are checked as they load; a whole bronze table only when it is asked for by name.
		.filter((e) => explicit || !(isRowKind(e.kind) && /^ipai_bronze_/.test(e.targetTable)));
}

/**
 * Evaluates expectations on a client inside its open transaction (its own, or a refresh that must
 * see what it is about to publish). Each check runs in a read-only savepoint with a statement
 * timeout, rolled back afterwards: a check never writes, and one that cannot run becomes an
 * `error` outcome naming why without aborting the caller's transaction.
 */
export async function evaluateOnClient(client: ClientBase, expectations: Expectation[]): Promise<ExpectationOutcome[]> {
	const outcomes: ExpectationOutcome[] = [];
	for (const expectation of expectations) {
		await client.query('savepoint ipai_dq_check');
		try {
			await client.query(`set local transaction_read_only = on`);
			await client.query(`set local statement_timeout = '5min'`);
			outcomes.push(...(await evaluateOne(client, expectation)));
		} catch (error) {
			outcomes.push({ expectation, status: 'error', evaluated: 0, failed: 0, sample: [], message: `could not evaluate: ${(error as Error).message}` });
		} finally {
			// Also restores read-write and the caller's timeout (SET LOCAL ends with the savepoint).
			await client.query('rollback to savepoint ipai_dq_check');
			await client.query('release savepoint ipai_dq_check');
		}
	}
	return outcomes;
}

/** Writes an evaluation's results (and accepts first-seen schemas) in the client's transaction. */
export async function recordEvaluation(
	client: ClientBase,
	outcomes: ExpectationOutcome[],
	where: { evaluationId: string; secrets?: readonly string[] },
): Promise<void> {
	await writeOutcomes(client, outcomes, { runId: null, evaluationId: where.evaluationId, secrets: where.secrets });
	await recordAcceptedSchemas(client, outcomes);
}

async function columnTypesOf(client: ClientBase, target: string): Promise<Record<string, string>> {
	const { rows } = await client.query<{ cols: Record<string, string> | null }>(`select ipai_meta.dq_columns($1) as cols`, [target]);
	if (!rows[0].cols) throw new Error(`${target} does not exist`);
	return rows[0].cols;
}

function outcome(expectation: Expectation, evaluated: number, failed: number, extra: Partial<ExpectationOutcome> = {}): ExpectationOutcome {
	return { expectation, status: statusFor(expectation.action, failed), evaluated, failed: Math.min(failed, evaluated), sample: [], message: '', ...extra };
}

export async function evaluateOne(client: ClientBase, e: Expectation): Promise<ExpectationOutcome[]> {
	const target = qualifiedTarget(e.targetTable);
	const types = await columnTypesOf(client, e.targetTable);
	const byCompany = 'company_id' in types;
	const args = e.args;
	if (isRowKind(e.kind)) {
		const keys = Array.isArray(args.key) ? args.key.map(String) : Array.isArray(args.columns) ? args.columns.map(String) : typeof args.column === 'string' ? [args.column] : [];
		const checks = compileRowChecks([e], { relation: target, columnTypes: types, sampleColumns: keys });
		const failing = `coalesce(${checks.predicates[0]}, false)`;
		const { rows } = await client.query(
			`select ${byCompany ? 's.company_id::text as company_id, ' : ''}count(*) as evaluated, count(*) filter (where ${failing}) as failed,
			        coalesce(to_jsonb((array_agg(${checks.sample}) filter (where ${failing}))[1:${SAMPLE_SIZE}]), '[]'::jsonb) as sample
			   from (select s.*${checks.windows.map((w) => `, ${w}`).join('')} from ${target} s) s
			  ${byCompany ? 'group by s.company_id' : ''}`,
		);
		if (rows.length === 0) return [outcome(e, 0, 0, { message: 'the table is empty' })];
		return rows.map((r) => outcome(e, Number(r.evaluated), Number(r.failed), { sample: r.sample, companyId: r.company_id ?? null }));
	}
	switch (e.kind) {
		case 'row_count': {
			const { rows } = await client.query<{ n: string }>(`select count(*) as n from ${target}`);
			const n = Number(rows[0].n);
			const min = typeof args.min === 'number' ? args.min : -Infinity;
			const max = typeof args.max === 'number' ? args.max : Infinity;
			const bad = n < min || n > max;
			return [outcome(e, 1, bad ? 1 : 0, { observed: { rows: n, min: args.min ?? null, max: args.max ?? null }, message: bad ? `${n} rows, expected between ${args.min ?? '-∞'} and ${args.max ?? '∞'}` : '' })];
		}
		case 'freshness': {
			const column = quoteIdent(typeof args.column === 'string' ? args.column : '_ipai_extracted_at');
			const { rows } = await client.query(
				`select max(${column})::timestamptz as latest, extract(epoch from now() - max(${column})::timestamptz) as age_seconds,
				        coalesce(max(${column})::timestamptz < now() - ${quoteLiteral(String(args.max_age))}::interval, true) as stale
				   from ${target}`,
			);
			const r = rows[0];
			return [outcome(e, 1, r.stale ? 1 : 0, {
				observed: { latest: r.latest, age_seconds: r.age_seconds === null ? null : Number(r.age_seconds), max_age: args.max_age },
				message: r.stale ? (r.latest ? `newest row is from ${new Date(r.latest).toISOString()}, older than ${String(args.max_age)}` : 'the table has no rows') : '',
			})];
		}
		case 'schema_drift': {
			const accepted = e.acceptedSchema;
			if (!accepted) return [outcome(e, Object.keys(types).length, 0, { observed: { accepted: types, first: true }, message: 'current schema accepted as the baseline' })];
			const added = Object.keys(types).filter((c) => !(c in accepted));
			const removed = Object.keys(accepted).filter((c) => !(c in types));
			const retyped = Object.keys(types).filter((c) => c in accepted && accepted[c] !== types[c]).map((c) => ({ column: c, from: accepted[c], to: types[c] }));
			const changes = added.length + removed.length + retyped.length;
			const all = new Set([...Object.keys(types), ...Object.keys(accepted)]).size;
			return [outcome(e, all, changes, {
				observed: { added, removed, retyped },
				sample: [...added.map((c) => ({ added: c })), ...removed.map((c) => ({ removed: c })), ...retyped].slice(0, SAMPLE_SIZE),
				message: changes > 0 ? `since the accepted schema: ${added.length} added, ${removed.length} removed, ${retyped.length} retyped` : '',
			})];
		}
		case 'custom_sql':
			return customSql(client, e, target, byCompany);
		case 'volume_anomaly':
			return volumeAnomaly(client, e, target, types);
		default:
			throw new Error(`unknown kind ${e.kind}`);
	}
}

async function customSql(client: ClientBase, e: Expectation, target: string, byCompany: boolean): Promise<ExpectationOutcome[]> {
	const query = String(e.args.query);
	const { fields } = await client.query(`select * from (${query}) q limit 0`);
	const perCompany = byCompany && fields.some((f) => f.name === 'company_id');
	const keys = Array.isArray(e.args.key) ? e.args.key.map(String).filter((k) => fields.some((f) => f.name === k)) : [];
	const sample = keys.length > 0 ? `jsonb_build_object(${keys.map((k) => `${quoteLiteral(k)}, q.${quoteIdent(k)}`).join(', ')})` : 'to_jsonb(q)';
	// The group key is never NULL (a full join needs an equality): '' stands for "no company".
	const group = perCompany ? `coalesce(company_id::text, '')` : `''`;
	const { rows } = await client.query(
		`with failing as (select ${group} as grp, ${sample} as sample from (${query}) q),
		      f as (select grp, count(*) as failed, to_jsonb((array_agg(sample))[1:${SAMPLE_SIZE}]) as sample from failing group by grp),
		      ev as (select ${group} as grp, count(*) as evaluated from ${target} group by 1)
		 select coalesce(ev.grp, f.grp) as grp, coalesce(ev.evaluated, 0) as evaluated, coalesce(f.failed, 0) as failed, coalesce(f.sample, '[]') as sample
		   from ev full join f on f.grp = ev.grp`,
	);
	if (rows.length === 0) return [outcome(e, 0, 0, { message: 'the table is empty' })];
	return rows.map((r) => {
		const failed = Number(r.failed);
		// A failing row the query found is a check that failed, even where the table has fewer rows.
		const evaluated = Math.max(Number(r.evaluated), failed);
		return outcome(e, evaluated, failed, { sample: r.sample, companyId: perCompany && r.grp !== '' ? r.grp : null, message: failed > 0 ? `${failed} failing rows` : '' });
	});
}

/**
 * Rows written by the latest successful run of each connector loading the table, against that
 * connector's trailing runs: robust z-score over median and MAD (volume.ts). Fewer runs than
 * min_history: not judged yet (pass, with the reason observed).
 */
async function volumeAnomaly(client: ClientBase, e: Expectation, target: string, types: Record<string, string>): Promise<ExpectationOutcome[]> {
	if (!('_ipai_connector_id' in types)) throw new Error(`${e.targetTable} has no _ipai_connector_id: volume is measured on bronze tables`);
	const history = typeof e.args.history === 'number' ? e.args.history : 20;
	const minHistory = typeof e.args.min_history === 'number' ? e.args.min_history : 5;
	const threshold = typeof e.args.threshold === 'number' ? e.args.threshold : 3.5;
	const { rows } = await client.query<{ connector_id: string; name: string; runs: Array<{ id: string; rows: number }> }>(
		`select c.id as connector_id, c.name,
		        (select coalesce(jsonb_agg(jsonb_build_object('id', r.id, 'rows', coalesce(r.rows_written, 0)) order by r.started_at desc), '[]')
		           from (select id, rows_written, started_at from public.ipai_connector_run
		                  where connector_id = c.id and status = 'success' order by started_at desc limit $1) r) as runs
		   from public.ipai_connector_config c
		  where c.id in (select distinct _ipai_connector_id from ${target})`,
		[history + 1],
	);
	if (rows.length === 0) return [outcome(e, 0, 0, { message: 'no connector has loaded the table yet' })];
	return rows.map((r) => {
		const [latest, ...trail] = r.runs;
		if (!latest || trail.length < minHistory) {
			return outcome(e, 1, 0, { observed: { connector: r.name, runs: trail.length, min_history: minHistory }, message: `not judged: ${trail.length} earlier runs, ${minHistory} needed` });
		}
		const z = robustZ(latest.rows, trail.map((t) => t.rows));
		const verdict = volumeVerdict(z, threshold);
		return outcome(e, 1, verdict.anomalous ? 1 : 0, {
			observed: { connector: r.name, run_id: latest.id, rows: latest.rows, ...z, threshold },
			sample: verdict.anomalous ? [{ run_id: latest.id, rows: latest.rows }] : [],
			message: verdict.anomalous ? `run ${latest.id} of ${r.name} wrote ${latest.rows} rows; median of the last ${trail.length} runs is ${z.median} (robust z ${verdict.text})` : '',
		});
	});
}

/** A schema_drift expectation's first evaluation makes the schema it saw the accepted one. */
async function recordAcceptedSchemas(client: ClientBase, outcomes: ExpectationOutcome[]): Promise<void> {
	for (const o of outcomes) {
		if (o.expectation.kind === 'schema_drift' && o.observed?.first) {
			await client.query(`update public.ipai_dq_expectation set accepted_schema = $2 where id = $1 and accepted_schema is null`, [o.expectation.id, o.observed.accepted]);
		}
	}
}

/** Accepts the target's current columns as the schema schema_drift compares against. */
export async function acceptCurrentSchema(pool: Pool, expectationId: string): Promise<Record<string, string>> {
	const { rows } = await pool.query<{ accepted_schema: Record<string, string> }>(
		`update public.ipai_dq_expectation set accepted_schema = ipai_meta.dq_columns(target_table)
		  where id = $1 and kind = 'schema_drift' returning accepted_schema`,
		[expectationId],
	);
	if (rows.length === 0) throw new Error(`No schema_drift expectation ${expectationId}`);
	return rows[0].accepted_schema;
}
