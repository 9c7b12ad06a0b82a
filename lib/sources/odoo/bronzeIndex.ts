/** Bronze's side of an Odoo sync: which of the ids and write_dates Odoo lists bronze already holds. */
import type { Pool } from 'pg';
import { tableName, type TableRef } from '../../lakehouse/tables';

/** Ids per light `search` of a full sync, and per bronze comparison of an id scan. */
export const ID_BATCH = 50_000;

/** Bronze's view of one model's rows, for comparing with what Odoo lists. */
export class BronzeIndex {
	private exists: boolean | undefined;
	constructor(
		private readonly pool: Pool,
		private readonly table: TableRef,
		private readonly connectorId: string,
	) {}

	private async ready(): Promise<boolean> {
		if (this.exists) return true;
		const { rows } = await this.pool.query<{ t: string | null }>('select to_regclass($1) as t', [tableName(this.table)]);
		this.exists = rows[0].t !== null;
		return this.exists;
	}

	async anyDeleted(): Promise<boolean> {
		if (!(await this.ready())) return false;
		const { rows } = await this.pool.query(`select 1 from ${tableName(this.table)} where _ipai_connector_id = $1 and _ipai_deleted_at is not null limit 1`, [this.connectorId]);
		return rows.length > 0;
	}

	/** How many of these ids bronze has marked deleted (they are about to be loaded again). */
	async deletedAmong(ids: number[]): Promise<number> {
		if (ids.length === 0 || !(await this.ready())) return 0;
		const { rows } = await this.pool.query<{ n: number }>(
			`select count(*)::int as n from ${tableName(this.table)} where _ipai_connector_id = $1 and id = any($2::bigint[]) and _ipai_deleted_at is not null`,
			[this.connectorId, ids],
		);
		return rows[0].n;
	}

	/**
	 * Of Odoo's [id, write_date] pairs, the ids bronze lacks, holds with another write_date, or
	 * holds marked deleted (counted in `deleted`), plus every id whose copy `recheck` does not trust.
	 * write_date is compared at Odoo's precision (whole seconds, UTC).
	 */
	async changedOf(light: Array<Record<string, unknown>>, recheck: (writeDate: string) => boolean): Promise<{ changed: number[]; deleted: number }> {
		const ids = light.map((r) => r.id as number);
		if (!(await this.ready())) return { changed: ids, deleted: 0 };
		const { rows } = await this.pool.query<{ id: string; w: string | null; gone: boolean }>(
			`select id::text, to_char(write_date at time zone 'UTC', 'YYYY-MM-DD HH24:MI:SS') as w, _ipai_deleted_at is not null as gone
			   from ${tableName(this.table)} where _ipai_connector_id = $1 and id = any($2::bigint[])`,
			[this.connectorId, ids],
		);
		const held = new Map(rows.map((r) => [Number(r.id), r]));
		const changed: number[] = [];
		let deleted = 0;
		for (const record of light) {
			const row = held.get(record.id as number);
			if (row?.gone) deleted++;
			if (!row || row.gone || row.w !== record.write_date || recheck(record.write_date as string)) changed.push(record.id as number);
		}
		return { changed, deleted };
	}

	/** Of ids Odoo lists, those bronze lacks or holds marked deleted. */
	async absentOf(ids: number[]): Promise<number[]> {
		if (ids.length === 0) return [];
		if (!(await this.ready())) return ids;
		const absent: number[] = [];
		for (const chunk of chunks(ids, ID_BATCH)) {
			const { rows } = await this.pool.query<{ id: string }>(
				`select x.id::text from unnest($2::bigint[]) as x(id)
				  where not exists (select 1 from ${tableName(this.table)} t where t._ipai_connector_id = $1 and t.id = x.id and t._ipai_deleted_at is null)`,
				[this.connectorId, chunk],
			);
			for (const r of rows) absent.push(Number(r.id));
		}
		return absent;
	}
}

/** The items in consecutive slices of at most `size`. */
export function* chunks<T>(items: T[], size: number): Generator<T[]> {
	for (let i = 0; i < items.length; i += size) yield items.slice(i, i + size);
}
