/** Inferred deletes: rows a source no longer has, marked deleted from the keys it still has. */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Pool } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { copyFieldWriter, type SerializeStats } from './copyText';
import { inTransaction } from './connection';
import { holdLease } from './runs';
import { quoteIdent } from './sql';
import { columnNameFor, describeTable, META, SchemaError, tableName, type TableRef } from './tables';

/**
 * Inferred deletes: given every key the source still has, marks the stream's other rows
 * `_ipai_deleted_at = now()` and clears the mark on rows that came back. One transaction, under
 * the run's lease.
 */
export async function markMissingAsDeleted(
	pool: Pool,
	options: { connectorId: string; runId: string; table: TableRef; key: string[] },
	liveKeys: AsyncIterable<unknown[]> | Iterable<unknown[]>,
): Promise<{ deleted: number; restored: number; live: number }> {
	return inTransaction(pool, async (client) => {
		await client.query(`set local timezone = 'UTC'`);
		await holdLease(client, options.connectorId, options.runId);
		const shape = await describeTable(client, options.table);
		if (!shape) return { deleted: 0, restored: 0, live: 0 };
		const keyColumns = options.key.map(columnNameFor);
		if ((shape.key ?? []).join(',') !== keyColumns.join(',')) {
			throw new SchemaError(`${tableName(options.table)} is not keyed by (${keyColumns.join(', ')})`);
		}
		const live = quoteIdent(`_ipai_live_${process.pid}`);
		const target = tableName(options.table);
		const quoted = keyColumns.map(quoteIdent);
		await client.query(`create temporary table ${live} on commit drop as select ${quoted.join(', ')} from ${target} with no data`);
		const stats: SerializeStats = { nulReplaced: 0 };
		const writers = keyColumns.map((k) => copyFieldWriter(shape.columns.get(k) ?? 'text', stats));
		let count = 0;
		async function* lines(): AsyncGenerator<string> {
			let chunk = '';
			for await (const key of liveKeys) {
				count++;
				chunk += key.map((v, i) => writers[i](v)).join('\t') + '\n';
				if (chunk.length >= 262_144) {
					yield chunk;
					chunk = '';
				}
			}
			if (chunk.length > 0) yield chunk;
		}
		await pipeline(Readable.from(lines()), client.query(copyFrom(`copy ${live} from stdin with (format text)`)));
		await client.query(`create index on ${live} (${quoted.join(', ')})`);
		await client.query(`analyze ${live}`);
		const match = quoted.map((k) => `l.${k} = t.${k}`).join(' and ');
		const deleted = await client.query(
			`update ${target} t set ${META.deletedAt} = now(), ${META.runId} = $2
			  where t.${META.connectorId} = $1 and t.${META.deletedAt} is null
			    and not exists (select 1 from ${live} l where ${match})`,
			[options.connectorId, options.runId],
		);
		const restored = await client.query(
			`update ${target} t set ${META.deletedAt} = null, ${META.runId} = $2
			  where t.${META.connectorId} = $1 and t.${META.deletedAt} is not null
			    and exists (select 1 from ${live} l where ${match})`,
			[options.connectorId, options.runId],
		);
		return { deleted: deleted.rowCount ?? 0, restored: restored.rowCount ?? 0, live: count };
	});
}
