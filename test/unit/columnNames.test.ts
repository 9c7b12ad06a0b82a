/**
 * Column naming is injective (issue 16, security and records 5): distinct source fields never
 * share a column, whatever the fields are named — including a field named exactly like the
 * shortened form of a long field, and names that differ only by NUL.
 */
import fc from 'fast-check';
import { columnNameFor } from '../../lib/lakehouse/tables';
import { MAX_IDENTIFIER_BYTES } from '../../lib/lakehouse/sql';

const long = fc.string({ unit: 'grapheme', minLength: 40, maxLength: 90 }).map((s) => `f${s}`.padEnd(70, 'x'));
const short = fc.string({ minLength: 1, maxLength: 30 }).filter((s) => !s.startsWith('_ipai_'));
/** Fields crafted to collide: the shortened name of a long field, used as a field of its own. */
const crafted = long.map((l) => columnNameFor(l));
const withNul = short.map((s) => `${s.slice(0, 1)}\u0000${s.slice(1)}`);
const field = fc.oneof(long, short, crafted, withNul, fc.constantFrom('a_0123abcd', 'id', 'a\u0000b', 'ab'));

describe('columnNameFor', () => {
	it('maps distinct fields to distinct columns that PostgreSQL keeps as given', () => {
		fc.assert(
			fc.property(fc.uniqueArray(field, { minLength: 1, maxLength: 12 }), (fields) => {
				const columns = fields.map(columnNameFor);
				expect(new Set(columns).size).toBe(fields.length);
				for (const c of columns) {
					expect(Buffer.byteLength(c, 'utf8')).toBeLessThanOrEqual(MAX_IDENTIFIER_BYTES);
					expect(c).not.toContain('\u0000');
				}
				expect(fields.map(columnNameFor)).toEqual(columns); // the same field always lands in the same column
			}),
			{ numRuns: 500 },
		);
	});

	it('gives a field named like a long field\'s shortened column a column of its own', () => {
		const longName = `customer_lifetime_value_${'segment_'.repeat(8)}end`;
		const shortened = columnNameFor(longName);
		expect(shortened).toMatch(/_[0-9a-f]{8}$/);
		expect(columnNameFor(shortened)).not.toBe(shortened);
		expect(columnNameFor('a\u0000b')).not.toBe(columnNameFor('ab'));
		expect(columnNameFor('order_total')).toBe('order_total');
	});
});
