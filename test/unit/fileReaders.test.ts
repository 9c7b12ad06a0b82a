/**
 * File readers without a database: the lossless JSON parser against JSON.parse (the oracle), and
 * the CSV sniffer on random tables written in random dialects with ragged rows anywhere.
 */
import fc from 'fast-check';
import { sniffDialect } from '../../lib/sources/files/csvSniff';
import { ExactNumber } from '../../lib/lakehouse/copyText';
import { parseJson, parseJsonExact, sameDecimal } from '../../lib/sources/files/jsonParse';

/**
 * Equal to JSON.parse's result, where a BigInt of ours stands for a number past 2^53 of theirs and
 * an ExactNumber for a number their double rounded.
 */
function sameValue(ours: unknown, theirs: unknown): boolean {
	if (typeof ours === 'bigint') return typeof theirs === 'number' && !Number.isSafeInteger(theirs) && Number(ours) === theirs;
	if (ours instanceof ExactNumber) return typeof theirs === 'number' && Number(ours.text) === theirs && !sameDecimal(String(theirs), ours.text);
	if (Array.isArray(ours)) return Array.isArray(theirs) && ours.length === theirs.length && ours.every((v, i) => sameValue(v, theirs[i]));
	if (ours !== null && typeof ours === 'object') {
		if (theirs === null || typeof theirs !== 'object' || Array.isArray(theirs)) return false;
		const a = Object.keys(ours);
		const b = Object.keys(theirs);
		return a.length === b.length && a.every((k, i) => k === b[i] && sameValue((ours as Record<string, unknown>)[k], (theirs as Record<string, unknown>)[k]));
	}
	return Object.is(ours, theirs);
}

describe('lossless JSON parsing', () => {
	it('reads any JSON text as JSON.parse does, integers past 2^53 as exact BigInts', () => {
		fc.assert(
			fc.property(fc.jsonValue(), fc.constantFrom(0, 2, '\t'), (value, space) => {
				const text = JSON.stringify(value, null, space);
				const theirs = JSON.parse(text);
				const ours = parseJsonExact(text);
				expect(sameValue(ours, theirs)).toBe(true);
				expect(sameValue(parseJson(text), theirs)).toBe(true);
			}),
			{ numRuns: 500 },
		);
	});

	it('keeps every digit of big integers, wherever they are', () => {
		fc.assert(
			fc.property(fc.array(fc.bigInt({ min: -(10n ** 40n), max: 10n ** 40n }), { minLength: 1, maxLength: 5 }), (numbers) => {
				const text = `{"a":[${numbers.join(', ')}],"b":{"c":${numbers[0]}}}`;
				const parsed = parseJson(text) as { a: unknown[]; b: { c: unknown } };
				expect(parsed.a.map(String)).toEqual(numbers.map(String));
				expect(String(parsed.b.c)).toBe(String(numbers[0]));
				for (const n of parsed.a) expect(typeof n === 'bigint' ? !Number.isSafeInteger(Number(n)) : Number.isSafeInteger(n)).toBe(true);
			}),
			{ numRuns: 300 },
		);
		expect(parseJson('[12345678901234567890]')).toEqual([12345678901234567890n]);
		expect(parseJson('{"__proto__": 12345678901234567890}')).toHaveProperty('__proto__', 12345678901234567890n);
	});

	it('keeps a decimal as a number exactly when the shortest form of the double has its value (BigInt arithmetic is the oracle)', () => {
		// value of a decimal literal as a fraction numerator / 10^k, compared by cross-multiplying
		const asFraction = (text: string): [bigint, number] => {
			const m = /^(-?)(\d+)(?:\.(\d+))?(?:e([+-]?\d+))?$/i.exec(text)!;
			const fraction = m[3] ?? '';
			const exponent = Number(m[4] ?? 0) - fraction.length;
			const digits = BigInt(`${m[1]}${m[2]}${fraction}`);
			return exponent >= 0 ? [digits * 10n ** BigInt(exponent), 0] : [digits, -exponent];
		};
		const equal = (a: string, b: string) => {
			const [x, i] = asFraction(a);
			const [y, j] = asFraction(b);
			return x * 10n ** BigInt(Math.max(i, j) - i) === y * 10n ** BigInt(Math.max(i, j) - j);
		};
		fc.assert(
			fc.property(fc.stringMatching(/^-?(0|[1-9]\d{0,24})\.\d{1,24}(e[+-]?\d{1,2})?$/), (token) => {
				const [value] = parseJson(`[${token}, 1234567890123456789]`) as [unknown];
				if (value instanceof ExactNumber) {
					expect(value.text).toBe(token);
					expect(equal(String(Number(token)), token)).toBe(false);
				} else expect(equal(String(value), token)).toBe(true);
				expect(sameDecimal(String(Number(token)), token)).toBe(equal(String(Number(token)), token));
			}),
			{ numRuns: 1000 },
		);
		expect(parseJson('[0.1, 1e400, 12345678901234567.89]')).toEqual([0.1, new ExactNumber('1e400'), new ExactNumber('12345678901234567.89')]);
	});

	it('refuses exactly what JSON.parse refuses (texts one edit away from valid JSON)', () => {
		fc.assert(
			fc.property(fc.jsonValue(), fc.nat(), fc.constantFrom('', '"', ',', '}', ']', '1', ' ', '\\', ':', '{'), (value, at, insert) => {
				const valid = `[${JSON.stringify(value)}, 12345678901234567890]`;
				const i = at % valid.length;
				for (const text of [valid.slice(0, i) + insert + valid.slice(i + 1), valid.slice(0, i) + insert + valid.slice(i)]) {
					let theirs = true;
					try {
						JSON.parse(text);
					} catch {
						theirs = false;
					}
					let ours = true;
					try {
						parseJsonExact(text);
					} catch {
						ours = false;
					}
					expect({ text, ok: ours }).toEqual({ text, ok: theirs });
				}
			}),
			{ numRuns: 500 },
		);
	});
});

describe('CSV sniffer', () => {
	const DELIMITERS = [',', ';', '\t', '|'];
	const cell = fc.oneof(fc.integer().map(String), fc.stringMatching(/^[a-zA-Z ,;|'"\t\n\u00e9]{0,8}$/), fc.constant(''));

	it('finds the delimiter of random tables with ragged rows anywhere, including the first data rows', () => {
		fc.assert(
			fc.property(
				fc.integer({ min: 2, max: 6 }).chain((width) =>
					fc.record({
						width: fc.constant(width),
						rows: fc.array(fc.array(cell, { minLength: width, maxLength: width }), { minLength: 1, maxLength: 20 }),
						ragged: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: width + 3 }).filter((w) => w !== width)), { maxLength: 4 }),
					}),
				),
				fc.constantFrom(...DELIMITERS),
				fc.constantFrom('"', "'"),
				fc.constantFrom('\n', '\r\n'),
				(table, delimiter, quote, newline) => {
					const ragged = table.ragged.slice(0, table.rows.length);
					const field = (v: string) => (v === '' || /[\n\r"',;|\t]/.test(v) ? quote + v.split(quote).join(quote + quote) + quote : v);
					const lines = [Array.from({ length: table.width }, (_, i) => `name ${i}`).join(delimiter)];
					table.rows.forEach((row, r) => {
						for (const [at, w] of ragged) if (at % table.rows.length === r) lines.push(Array.from({ length: w }, (_, i) => `r${i}`).join(delimiter));
						lines.push(row.map(field).join(delimiter));
					});
					const text = lines.join(newline) + newline;
					const dialect = sniffDialect(Buffer.from(text), true, 'random.csv');
					expect(dialect.delimiter).toBe(delimiter);
					expect(dialect.newline).toBe(newline);
					if (text.includes(quote)) expect(dialect.quote).toBe(quote);
				},
			),
			{ numRuns: 400 },
		);
	});

	it.each([
		['a,b,c\n1,2,3\n4,5,6,7\n8,9,10\n', ','],
		['a,b,c\n1,2\n4,5,6\n', ','],
		['a;b\nfoo;bar, baz\n', ';'],
		['a\tb\n1,5\t2,5\n', '\t'],
		['x|y\n1|2|3\n', '|'],
	])('%j: %j', (text, delimiter) => {
		expect(sniffDialect(Buffer.from(text), true, 'f.csv').delimiter).toBe(delimiter);
	});
});
