/**
 * A page that lists its fields (Page.fields) skips inference for declared fields: its column types
 * must be exactly what inference over every value gives, for any records, declared types and values.
 */
import fc from 'fast-check';
import type { ColumnType } from '../../lib/lakehouse/columnTypes';
import { inferPageTypes } from '../../lib/lakehouse/prefetch';
import { columnNameFor } from '../../lib/lakehouse/tables';

const fieldNames = fc.uniqueArray(fc.constantFrom('id', 'name', 'amount', 'when', 'flag', 'tags', 'meta', 'partner_id'), { minLength: 1, maxLength: 8 });
const value = fc.oneof(
	fc.constant(null),
	fc.integer(),
	fc.double({ noNaN: true, noDefaultInfinity: true }),
	fc.boolean(),
	fc.string({ maxLength: 12 }),
	fc.constantFrom('2024-01-02', '2024-01-02T03:04:05Z', '12.50'),
	fc.array(fc.integer(), { maxLength: 3 }),
	fc.dictionary(fc.string({ maxLength: 4 }), fc.integer(), { maxKeys: 2 }),
);
const declarable = fc.constantFrom<ColumnType>('bigint', 'text', 'numeric', 'boolean', 'timestamptz', 'jsonb', 'bigint[]');

describe('inferPageTypes with the page’s fields listed', () => {
	it('gives the same types as inference over every value', () => {
		fc.assert(
			fc.property(
				fieldNames.chain((fields) =>
					fc.tuple(
						fc.constant(fields),
						fc.array(fc.tuple(fc.constant(fields), fc.array(value, { minLength: fields.length, maxLength: fields.length })), { maxLength: 6 }),
						fc.array(fc.tuple(fc.constantFrom(...fields), declarable), { maxLength: fields.length }),
					),
				),
				([fields, rows, declaredPairs]) => {
					const records = rows.map(([names, values]) => Object.fromEntries(names.map((f, i) => [f, values[i]])));
					const declared = new Map(declaredPairs.map(([f, t]) => [columnNameFor(f), t]));
					const listed = inferPageTypes(records, declared, fields);
					const visited = inferPageTypes(records, declared);
					// Inference over values only knows fields some record carries; a listed page knows them all.
					for (const [field, type] of visited) expect(listed.get(field)).toBe(type);
					for (const field of fields) if (!visited.has(field)) expect(listed.get(field)).toBe(declared.get(columnNameFor(field)) ?? null);
				},
			),
			{ numRuns: 500 },
		);
	});
});
