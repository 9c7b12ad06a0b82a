/**
 * Property test of the loader's COPY text encoding (fast-check), with PostgreSQL's own parsing of
 * bind parameters as the oracle: random records — integers anywhere a double can hold in a bigint
 * (past 2^53 too), text with backslashes, tabs, line breaks, NULs and non-ASCII, and raw records
 * of nested JSON with the same strings — are loaded through loadStream, and every stored value
 * must equal the same value sent to PostgreSQL as a parameter (text as is, integers as their
 * exact digits, the raw record as JSON text), NUL replaced by U+FFFD and counted.
 */
import fc from 'fast-check';
import { loadStream, type Page } from '../../lib/lakehouse/loader';
import { NUL_REPLACEMENT } from '../../lib/lakehouse/copyText';
import { runningConnector } from '../helpers/connector';
import { useScratchDatabase } from '../../tooling/helpers/database';

jest.setTimeout(180_000);
const db = useScratchDatabase();

const UNITS = ['a', 'Z', '0', ' ', '\\', '\t', '\n', '\r', '"', '\u0000', 'é', '日', '😀', '{', ',', 'N'];
const text = fc.string({ unit: fc.constantFrom(...UNITS), maxLength: 10 });
/** Integers a double holds exactly and a bigint column takes: safe ones and ones past 2^53. */
const integer = fc.oneof(
	fc.integer(),
	fc.maxSafeInteger(),
	fc.double({ min: -(2 ** 63) + 2048, max: 2 ** 63 - 2048, noNaN: true }).map(Math.trunc),
	fc.constantFrom(2 ** 53, 2 ** 53 + 2, 2 ** 60, -(2 ** 62), 1e18, 2 ** 63 - 1024),
);
const json = fc.letrec((tie) => ({
	value: fc.oneof({ depthSize: 'small' }, text, fc.integer(), fc.boolean(), fc.constant(null), tie('array'), tie('object')),
	array: fc.array(tie('value'), { maxLength: 3 }),
	object: fc.dictionary(text, tie('value'), { maxKeys: 3 }),
})).value;
const record = fc.record({ n: fc.option(integer), t: fc.option(text), raw: fc.dictionary(text, json, { maxKeys: 4 }) });

const withoutNul = (s: string): string => s.replace(/\u0000/g, NUL_REPLACEMENT);
const cleanJson = (value: unknown): unknown => {
	if (typeof value === 'string') return withoutNul(value);
	if (Array.isArray(value)) return value.map(cleanJson);
	if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [withoutNul(k), cleanJson(v)]));
	return value;
};

describe('COPY text encoding', () => {
	test('every value lands as PostgreSQL parses the same value sent as a parameter', async () => {
		const run = await runningConnector(db.pool);
		let round = 0;
		await fc.assert(
			fc.asyncProperty(fc.array(record, { minLength: 1, maxLength: 30 }), async (generated) => {
				const table = { schema: 'ipai_bronze_core', name: `copy_encoding_${++round}` };
				const page: Page = {
					records: generated.map((r, i) => ({ id: i + 1, n: r.n, t: r.t })),
					raws: generated.map((r) => r.raw),
				};
				const columns = [
					{ field: 'id', type: 'bigint' as const },
					{ field: 'n', type: 'bigint' as const },
					{ field: 't', type: 'text' as const },
				];
				const loaded = await loadStream(db.pool, [page], { ...run, stream: table.name, table, key: ['id'], columns });
				expect(loaded.rowsWritten).toBe(generated.length);
				const nuls = generated.some((r) => (r.t ?? '').includes('\u0000') || JSON.stringify(r.raw).includes('\\u0000'));
				expect(loaded.nulReplaced > 0).toBe(nuls);
				const { rows } = await db.pool.query<{ id: string; n_same: boolean; t_same: boolean; raw_same: boolean }>(
					`select b.id::text,
					        b.n is not distinct from e.n::numeric as n_same,
					        b.t is not distinct from e.t as t_same,
					        b._ipai_raw = e.raw::jsonb as raw_same
					   from ${table.schema}.${table.name} b
					   join unnest($1::bigint[], $2::text[], $3::text[], $4::text[]) as e(id, n, t, raw) on e.id = b.id
					  order by b.id`,
					[
						generated.map((_, i) => i + 1),
						generated.map((r) => (r.n === null ? null : BigInt(r.n).toString())),
						generated.map((r) => (r.t === null ? null : withoutNul(r.t))),
						generated.map((r) => JSON.stringify(cleanJson(r.raw))),
					],
				);
				expect(rows).toHaveLength(generated.length);
				for (const row of rows) expect({ id: row.id, n: row.n_same, t: row.t_same, raw: row.raw_same }).toEqual({ id: row.id, n: true, t: true, raw: true });
				await db.pool.query(`drop table ${table.schema}.${table.name}`);
			}),
			{ numRuns: Number(process.env.PROPERTY_RUNS ?? 40) },
		);
	});
});
