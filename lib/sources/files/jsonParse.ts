/**
 * JSON.parse that keeps every digit of a number: `12345678901234567890` becomes a BigInt and
 * `0.12345678901234567891` (or `1e400`) an ExactNumber holding its text — the engine writes both
 * as exact numbers, in typed columns and in _ipai_raw — while numbers a double holds exactly
 * (whose shortest decimal form has the token's value) stay numbers. Text without a long run of
 * digits or a long exponent — nearly all of it — goes to the built-in JSON.parse; the rest is
 * parsed here, by RFC 8259's grammar.
 */
import { ExactNumber } from '../../lakehouse/copyText';

/**
 * A number token that might not survive a double: 16 or more digits (a '.' may sit between), or an
 * exponent of three digits (past a double's range, which JSON.parse turns into Infinity or 0).
 */
const LONG_NUMBER = /(?:\d\.?){16,}|[eE][+-]?\d{3,}/;

export function parseJson(text: string): unknown {
	if (!LONG_NUMBER.test(text)) return JSON.parse(text);
	return parseJsonExact(text);
}

/** The parser for text with long numbers (exported for its tests: JSON.parse is their oracle). */
export function parseJsonExact(text: string): unknown {
	return new Parser(text).document();
}

const WS = new Set([0x20, 0x0a, 0x0d, 0x09]);
const NUMBER = /-?(?:0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/y;

class Parser {
	private pos = 0;

	constructor(private readonly text: string) {}

	document(): unknown {
		const value = this.value();
		this.space();
		if (this.pos < this.text.length) this.fail('Unexpected non-whitespace character after JSON');
		return value;
	}

	private fail(what: string): never {
		throw new SyntaxError(`${what} at position ${this.pos}`);
	}

	private space(): void {
		const { text } = this;
		while (this.pos < text.length && WS.has(text.charCodeAt(this.pos))) this.pos++;
	}

	private value(): unknown {
		this.space();
		const { text } = this;
		const c = text[this.pos];
		if (c === '{') return this.object();
		if (c === '[') return this.array();
		if (c === '"') return this.string();
		if (c === '-' || (c >= '0' && c <= '9')) return this.number();
		for (const [word, value] of [['true', true], ['false', false], ['null', null]] as const) {
			if (text.startsWith(word, this.pos)) {
				this.pos += word.length;
				return value;
			}
		}
		return this.fail(this.pos >= text.length ? 'Unexpected end of JSON input' : `Unexpected token ${JSON.stringify(c)}`);
	}

	private object(): Record<string, unknown> {
		this.pos++; // {
		const result: Record<string, unknown> = {};
		this.space();
		if (this.text[this.pos] === '}') {
			this.pos++;
			return result;
		}
		for (;;) {
			this.space();
			if (this.text[this.pos] !== '"') this.fail('Expected a property name');
			const key = this.string();
			this.space();
			if (this.text[this.pos] !== ':') this.fail("Expected ':' after a property name");
			this.pos++;
			const value = this.value();
			// As JSON.parse: an own property even for "__proto__", the last of repeated keys wins.
			Object.defineProperty(result, key, { value, enumerable: true, writable: true, configurable: true });
			this.space();
			const c = this.text[this.pos++];
			if (c === '}') return result;
			if (c !== ',') this.fail("Expected ',' or '}' after a property value");
		}
	}

	private array(): unknown[] {
		this.pos++; // [
		const result: unknown[] = [];
		this.space();
		if (this.text[this.pos] === ']') {
			this.pos++;
			return result;
		}
		for (;;) {
			result.push(this.value());
			this.space();
			const c = this.text[this.pos++];
			if (c === ']') return result;
			if (c !== ',') this.fail("Expected ',' or ']' after an array element");
		}
	}

	private string(): string {
		const { text } = this;
		let end = this.pos + 1;
		for (;;) {
			if (end >= text.length) this.fail('Unterminated string in JSON');
			const c = text.charCodeAt(end);
			if (c === 0x5c) end += 2;
			else if (c === 0x22) break;
			else end++;
		}
		// The built-in parser decodes escapes and refuses control characters, as for the whole text.
		const value = JSON.parse(text.slice(this.pos, end + 1)) as string;
		this.pos = end + 1;
		return value;
	}

	private number(): number | bigint | ExactNumber {
		NUMBER.lastIndex = this.pos;
		const match = NUMBER.exec(this.text);
		if (!match) return this.fail('No number after minus sign in JSON');
		this.pos += match[0].length;
		const token = match[0];
		const n = Number(token);
		if (match[1] === undefined && match[2] === undefined) return Number.isSafeInteger(n) ? n : BigInt(token);
		return Number.isFinite(n) && sameDecimal(String(n), token) ? n : new ExactNumber(token);
	}
}

/** Whether two decimal literals (JSON number grammar, or JavaScript's shortest form) have one value. */
export function sameDecimal(a: string, b: string): boolean {
	const x = canonicalDecimal(a);
	const y = canonicalDecimal(b);
	return x.digits === y.digits && (x.digits === '' || (x.negative === y.negative && x.exponent === y.exponent));
}

/** sign, significant digits without leading/trailing zeros, and the power of ten of the last one. */
function canonicalDecimal(text: string): { negative: boolean; digits: string; exponent: number } {
	const m = /^(-?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/.exec(text)!;
	const fraction = m[3] ?? '';
	let digits = (m[2] + fraction).replace(/^0+/, '');
	let exponent = Number(m[4] ?? 0) - fraction.length;
	const trailing = /0*$/.exec(digits)![0].length;
	digits = digits.slice(0, digits.length - trailing);
	exponent += trailing;
	return { negative: m[1] === '-', digits, exponent };
}
