import { fitIdentifier, IdentifierError, MAX_IDENTIFIER_BYTES, qualifiedName, quoteIdent, quoteLiteral } from '../../lib/lakehouse/sql';

describe('quoteIdent', () => {
	it.each([
		['simple', '"simple"'],
		['Mixed Case', '"Mixed Case"'],
		['select', '"select"'],
		['a"b', '"a""b"'],
		['x"; drop table t; --', '"x""; drop table t; --"'],
		['ünïcødé', '"ünïcødé"'],
	])('quotes %j as %s', (input, expected) => expect(quoteIdent(input)).toBe(expected));

	it('refuses empty names, NUL bytes and names PostgreSQL would truncate', () => {
		expect(() => quoteIdent('')).toThrow(IdentifierError);
		expect(() => quoteIdent('a\u0000b')).toThrow(/NUL/);
		expect(() => quoteIdent('x'.repeat(64))).toThrow(/longer than 63 bytes/);
		expect(() => quoteIdent('é'.repeat(32))).toThrow(/longer than 63 bytes/); // 64 bytes in UTF-8
		expect(quoteIdent('x'.repeat(63))).toBe(`"${'x'.repeat(63)}"`);
	});

	it('qualifies schema and name', () => expect(qualifiedName('ipai_bronze_erp', 'odoo "moves"')).toBe('"ipai_bronze_erp"."odoo ""moves"""'));
});

describe('quoteLiteral', () => {
	it('doubles single quotes and refuses NUL', () => {
		expect(quoteLiteral("it's")).toBe("'it''s'");
		expect(() => quoteLiteral('a\u0000')).toThrow(IdentifierError);
	});
});

describe('fitIdentifier', () => {
	it('keeps names that fit', () => expect(fitIdentifier('partner_id')).toBe('partner_id'));

	it('shortens long names deterministically and keeps them distinct', () => {
		const a = `${'long_column_name_'.repeat(6)}a`;
		const b = `${'long_column_name_'.repeat(6)}b`;
		expect(Buffer.byteLength(fitIdentifier(a))).toBeLessThanOrEqual(MAX_IDENTIFIER_BYTES);
		expect(fitIdentifier(a)).toBe(fitIdentifier(a));
		expect(fitIdentifier(a)).not.toBe(fitIdentifier(b));
		expect(() => quoteIdent(fitIdentifier(a))).not.toThrow();
	});

	it('never cuts a multi-byte character in half', () => {
		const fitted = fitIdentifier('ü'.repeat(80));
		expect(fitted).toMatch(/^ü+_[0-9a-f]{8}$/);
		expect(Buffer.byteLength(fitted)).toBeLessThanOrEqual(MAX_IDENTIFIER_BYTES);
	});
});
