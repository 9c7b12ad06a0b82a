/**
 * FDW tables: a PostgreSQL source the lakehouse server can reach is read by the lakehouse itself
 * (postgres_fdw), so rows never pass through n8n. Per run: a foreign server for the connector,
 * a user mapping whose password comes from the credential (never from config), IMPORT FOREIGN
 * SCHEMA … LIMIT TO the table into the staging schema ipai_fdw_staging, then in ONE lakehouse
 * transaction: create/evolve the bronze table, merge by key (only changed rows are rewritten),
 * mark rows the source no longer has as deleted, add the counts to the run and commit the cursor.
 */
import type { ClientBase, Pool } from 'pg';
import { sqlTypeName } from '../../lakehouse/columnTypes';
import { inTransaction } from '../../lakehouse/connection';
import { addRunCounts, holdLease } from '../../lakehouse/runs';
import { quoteIdent, quoteLiteral } from '../../lakehouse/sql';
import { setStreamState } from '../../lakehouse/streamState';
import type { StreamRun } from '../../lakehouse/stream';
import { columnNameFor, createTable, describeTable, evolveTable, META, tableName } from '../../lakehouse/tables';
import { DbSourceError, type DbConnectionSettings } from './engine';
import type { PgColumn } from './postgres/engine';
import { keepsRaw } from './rawRecord';
import type { DbTablePlan } from './streams';

export const FDW_STAGING_SCHEMA = 'ipai_fdw_staging';

/** The source as the lakehouse server reaches it (often the same as n8n's view of it). */
export type FdwOptions = DbConnectionSettings;

export interface FdwTableSummary {
	table: string;
	rowsRead: number;
	rowsWritten: number;
	pages: number;
	deleted: number;
}

/** The expression turning a foreign column into its bronze type. */
function bronzeExpression(column: PgColumn, quoted: string): string {
	const type = column.bronzeType!;
	if (column.type.typname === 'money') return `${quoted}::numeric`;
	if (type === 'jsonb') return column.type.typname === 'json' || column.type.typname === 'jsonb' ? `${quoted}::text::jsonb` : `to_jsonb(${quoted})`;
	if (type === 'bigint[]' || type === 'text[]') return `${quoted}::text::${sqlTypeName(type)}`;
	return `${quoted}::text::${sqlTypeName(type)}`;
}

async function prepareServer(client: ClientBase, server: string, source: FdwOptions): Promise<void> {
	const { rows } = await client.query(`select exists (select 1 from pg_extension where extname = 'postgres_fdw') as ok`);
	if (!rows[0].ok) throw new DbSourceError('config', 'The lakehouse database has no postgres_fdw extension, which mode fdw needs', 'CREATE EXTENSION postgres_fdw in the lakehouse database (Supabase: Database → Extensions), then run the migrations again');
	const options = { host: source.host, port: String(source.port), dbname: source.database };
	const exists = await client.query('select 1 from pg_foreign_server where srvname = $1', [server]);
	const list = (verb: string) => Object.entries(options).map(([k, v]) => `${verb}${k} ${quoteLiteral(v)}`).join(', ');
	if (exists.rowCount === 0) await client.query(`create server ${quoteIdent(server)} foreign data wrapper postgres_fdw options (${list('')})`);
	else await client.query(`alter server ${quoteIdent(server)} options (${list('set ')})`);
	const mapping = await client.query('select 1 from pg_user_mappings where srvname = $1 and usename = current_user', [server]);
	const auth = `user ${quoteLiteral(source.user)}, password ${quoteLiteral(source.password)}`;
	if (mapping.rowCount === 0) await client.query(`create user mapping for current_user server ${quoteIdent(server)} options (${auth})`);
	else await client.query(`alter user mapping for current_user server ${quoteIdent(server)} options (set ${auth.replace(', password', ', set password')})`);
}

export async function syncFdwTables(pool: Pool, plans: DbTablePlan[], run: StreamRun, source: FdwOptions): Promise<FdwTableSummary[]> {
	const server = `ipai_src_${run.connectorId.replace(/-/g, '').slice(0, 16)}`;
	await inTransaction(pool, (client) => prepareServer(client, server, source)).catch((error) => {
		throw redactError(error, source.password);
	});
	const out: FdwTableSummary[] = [];
	for (const plan of plans) {
		if (!plan.key) throw new DbSourceError('schema', `${plan.stream} has no key, which mode fdw merges by`, `Set config.tables[${plan.index}].key`);
		const foreign = `${server}_${plan.read.table.name}`.slice(0, 63);
		const staged = `${quoteIdent(FDW_STAGING_SCHEMA)}.${quoteIdent(foreign)}`;
		await inTransaction(pool, async (client) => {
			await client.query(`drop foreign table if exists ${staged}`);
			// IMPORT names the foreign table after the source table: import under a per-connector server into a
			// per-run temporary schema would be cleaner, but the staging schema is shared, so rename right away.
			await client.query(`drop foreign table if exists ${quoteIdent(FDW_STAGING_SCHEMA)}.${quoteIdent(plan.read.table.name)}`);
			await client.query(
				`import foreign schema ${quoteIdent(plan.read.table.schema)} limit to (${quoteIdent(plan.read.table.name)}) from server ${quoteIdent(server)} into ${quoteIdent(FDW_STAGING_SCHEMA)}`,
			);
			await client.query(`alter foreign table ${quoteIdent(FDW_STAGING_SCHEMA)}.${quoteIdent(plan.read.table.name)} rename to ${quoteIdent(foreign)}`);
		}).catch((error) => {
			throw redactError(error, source.password);
		});
		const summary = await inTransaction(pool, async (client) => {
			await client.query(`set local timezone = 'UTC'`);
			await holdLease(client, run.connectorId, run.runId);
			const ids = { connectorId: run.connectorId, runId: run.runId };
			if (!(await describeTable(client, plan.target))) await createTable(client, plan.target, plan.columns, plan.key, ids, { rawOptional: true });
			else await evolveTable(client, plan.target, plan.columns, ids);
			const columns = plan.info.columns as PgColumn[];
			const data = columns.map((c) => quoteIdent(columnNameFor(c.name)));
			const all = [...data, META.connectorId, META.runId, META.extractedAt, META.deletedAt, META.raw];
			const keys = plan.key!.map((k) => quoteIdent(columnNameFor(k)));
			const conflict = [META.connectorId, ...keys];
			const changed = [...data, META.raw].filter((c) => !conflict.includes(c));
			const rawPairs = columns.map((c) => `${quoteLiteral(c.name)}, s.${quoteIdent(columnNameFor(c.name))}`).join(', ');
			const select = columns.map((c) => `${bronzeExpression(c, `f.${quoteIdent(c.name)}`)} as ${quoteIdent(columnNameFor(c.name))}`).join(', ');
			const count = await client.query<{ n: string }>(`select count(*)::text as n from ${staged}`);
			const merged = await client.query(
				`insert into ${tableName(plan.target)} as t (${all.join(', ')})
				 select ${data.map((d) => `s.${d}`).join(', ')}, $1::uuid, $2::uuid, now(), null, ${keepsRaw(plan) ? `jsonb_build_object(${rawPairs})` : 'null::jsonb'}
				   from (select ${select} from ${staged} f) s
				 on conflict (${conflict.join(', ')}) do update
				    set ${all.filter((c) => !conflict.includes(c)).map((c) => `${c} = excluded.${c}`).join(', ')}
				  where (${changed.map((c) => `t.${c}`).join(', ')}) is distinct from (${changed.map((c) => `excluded.${c}`).join(', ')})
				     or t.${META.deletedAt} is not null`,
				[run.connectorId, run.runId],
			);
			const keyExpr = plan.key!.map((k) => `${bronzeExpression(columns.find((c) => c.name === k)!, `f.${quoteIdent(k)}`)}`);
			const deleted = await client.query(
				`update ${tableName(plan.target)} t set ${META.deletedAt} = now(), ${META.runId} = $2
				  where t.${META.connectorId} = $1 and t.${META.deletedAt} is null
				    and (${keys.map((k) => `t.${k}`).join(', ')}) not in (select ${keyExpr.join(', ')} from ${staged} f)`,
				[run.connectorId, run.runId],
			);
			const rowsRead = Number(count.rows[0].n);
			await addRunCounts(client, run.runId, rowsRead, merged.rowCount ?? 0);
			await setStreamState(client, run.connectorId, plan.stream, { cursor: { fullCompletedAt: new Date().toISOString() }, runId: run.runId });
			return { table: plan.stream, rowsRead, rowsWritten: merged.rowCount ?? 0, pages: 1, deleted: deleted.rowCount ?? 0 };
		}).catch((error) => {
			throw redactError(error, source.password);
		});
		out.push(summary);
	}
	return out;
}

function redactError(error: unknown, password: string): Error {
	if (error instanceof DbSourceError) return error;
	const message = String((error as Error)?.message ?? error).split(password).join('***');
	const code = (error as { code?: string }).code;
	if (code === '08001' || /could not connect to server|connection to server/i.test(message)) {
		return new DbSourceError('unreachable', `The lakehouse server cannot reach the source for mode fdw: ${message}`, 'Mode fdw connects from the lakehouse database server, not from n8n: make the source reachable from it, or use another mode');
	}
	if (code === '42501') return new DbSourceError('privilege', `The lakehouse user may not use postgres_fdw: ${message}`, 'Run the migrations (they grant USAGE on postgres_fdw to ipai_ingest) or use another mode');
	return new Error(message);
}
