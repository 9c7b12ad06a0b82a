/**
 * The byte-level CSV scanner of the COPY path against csv-parse, the reader the checked path uses:
 * random tables (delimiters, quotes, line ends and multi-byte characters inside fields, empty
 * fields, ragged rows) rendered with RFC 4180 quoting in a random dialect and fed in random chunks.
 * Invariant: the scanner accepts every such file and finds exactly csv-parse's records and fields.
 */
import fc from 'fast-check';
import { parse as parseCsv } from 'csv-parse/sync';
import { CsvScanner, ESCAPED } from '../../lib/sources/files/csvScanner';

interface Dialect {
	delimiter: string;
	quote: string;
	newline: '\n' | '\r\n';
}

const dialects = fc.record({
	delimiter: fc.constantFrom(',', ';', '\t', '|'),
	quote: fc.constantFrom('"', "'"),
	newline: fc.constantFrom<'\n' | '\r\n'>('\n', '\r\n'),
});

const field = fc.array(fc.constantFrom('a', 'Z', '7', ' ', 'é', '€', ',', ';', '\t', '|', '"', "'", '\n', '\r\n', ''), { maxLength: 6 }).map((parts) => parts.join(''));

/** A table of 1–30 rows, each 1–5 fields wide (rows may differ in width). */
const tables = fc.array(fc.array(field, { minLength: 1, maxLength: 5 }), { minLength: 1, maxLength: 30 });

function render(rows: string[][], d: Dialect, quoteAll: boolean[]): string {
	const needs = (v: string) => v.includes(d.delimiter) || v.includes(d.quote) || v.includes('\n') || v.includes('\r');
	const cell = (v: string, i: number) => (needs(v) || quoteAll[i % quoteAll.length] ? `${d.quote}${v.split(d.quote).join(d.quote + d.quote)}${d.quote}` : v);
	return rows.map((row, r) => row.map((v, c) => cell(v, r * 7 + c)).join(d.delimiter)).join(d.newline) + d.newline;
}

function scan(bytes: Buffer, d: Dialect, cuts: number[]): string[][] {
	const scanner = new CsvScanner(d, 8);
	const records: string[][] = [];
	const quote = Buffer.from(d.quote);
	const onRecord = (buf: Buffer, _start: number, _end: number, _next: number, count: number) => {
		if (count === 0) return; // an empty line: no record for csv-parse either
		const fields: string[] = [];
		for (let i = 0; i < count; i++) {
			const text = buf.toString('utf8', scanner.starts[i], scanner.ends[i]);
			fields.push(scanner.flags[i] & ESCAPED ? text.split(quote.toString() + quote.toString()).join(quote.toString()) : text);
		}
		records.push(fields);
	};
	let from = 0;
	for (const cut of [...new Set(cuts.map((c) => Math.floor(c * bytes.length)))].sort((a, b) => a - b)) {
		scanner.push(bytes.subarray(from, cut), onRecord);
		from = cut;
	}
	scanner.push(bytes.subarray(from), onRecord);
	scanner.push(null, onRecord);
	return records;
}

it('finds csv-parse’s records and fields in any RFC 4180 file, however it is chunked', () => {
	fc.assert(
		fc.property(tables, dialects, fc.array(fc.boolean(), { minLength: 1, maxLength: 5 }), fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 6 }), (rows, d, quoteAll, cuts) => {
			const text = render(rows, d, quoteAll);
			// As the checked reader configures csv-parse (csv.ts): a doubled quote is the escape.
			const expected = parseCsv(text, { delimiter: d.delimiter, quote: d.quote, escape: d.quote, relax_column_count: true, skip_empty_lines: true, record_delimiter: d.newline }) as string[][];
			expect(scan(Buffer.from(text, 'utf8'), d, cuts)).toEqual(expected);
		}),
		{ numRuns: 500 },
	);
});

it('refuses what csv-parse and COPY could read differently, instead of guessing', () => {
	const d: Dialect = { delimiter: ',', quote: '"', newline: '\n' };
	for (const text of ['a,"b"c\n', 'a,b"c\n', 'a,"open\n', 'a,b\r\nc,d\n', 'a\u0000b,c\n']) {
		expect(() => scan(Buffer.from(text), d, [])).toThrow(/quote|carriage|NUL|closed/);
	}
});
