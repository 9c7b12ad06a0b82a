/**
 * A JSON document split into its records by a small scanner (strings, escapes, nesting), so only
 * one record at a time is parsed, never the whole document.
 */
import type { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { FileFormatError } from './types';

export interface Element {
	text: string;
	line: number;
}

type Frame =
	| { kind: 'object'; level: number; state: 'keyOrEnd' | 'key' | 'colon' | 'value' | 'commaOrEnd'; key: string; found: boolean; keys: string[] }
	| { kind: 'array'; state: 'first' | 'value' | 'commaOrEnd' };

/**
 * The records of a JSON document, as text, with the line each starts on. The document is one or
 * more JSON values (whitespace between them, however much: pretty-printed or not). Without a
 * records path, an array's elements are records and any other value is one record; with one
 * (`features`, `data.items`), the value at that path in each top-level object is: an array's
 * elements, or one record. Only one record at a time is held, never the document.
 */
export async function* documentRecords(stream: Readable, file: string, path: string[]): AsyncGenerator<Element> {
	const decoder = new StringDecoder('utf8');
	const frames: Frame[] = [];
	let line = 1;
	let values = 0; // top-level values seen
	// The value being scanned (skipped or captured): nesting depth, string state, scalar state.
	let inValue = false;
	let capture = false;
	let depth = 0;
	let inString = false;
	let escaped = false;
	let scalar = false;
	let startLine = 1;
	let pending = '';
	// A key being read (object frames on the path).
	let inKey = false;
	let keyText = '';
	let keyEscaped = false;
	const where = () => `line ${line}`;
	const pathText = (level: number) => path.slice(0, level + 1).join('.');

	/** What the frame on top (or the top level) does with a value that starts with char `c`. */
	const startValue = (c: string): void => {
		const top = frames[frames.length - 1];
		let action: 'capture' | 'skip' | 'records' | 'descend';
		if (!top) {
			values++;
			if (path.length === 0) action = c === '[' ? 'records' : 'capture';
			else if (c === '{') action = 'descend';
			else throw new FileFormatError(file, `the records path "${path.join('.')}" needs a JSON object at the top, found ${c === '[' ? 'an array' : 'a scalar'} (${where()})`);
		} else if (top.kind === 'array') action = 'capture';
		else {
			const level = top.level;
			if (top.key !== path[level]) action = 'skip';
			else {
				top.found = true;
				if (level + 1 < path.length) {
					if (c !== '{') throw new FileFormatError(file, `the records path "${path.join('.')}": "${pathText(level)}" is not an object (${where()})`);
					action = 'descend';
				} else action = c === '[' ? 'records' : c === 'n' ? 'skip' : 'capture';
			}
		}
		if (action === 'descend') {
			frames.push({ kind: 'object', level: top && top.kind === 'object' ? top.level + 1 : 0, state: 'keyOrEnd', key: '', found: false, keys: [] });
			return;
		}
		if (action === 'records') {
			frames.push({ kind: 'array', state: 'first' });
			return;
		}
		inValue = true;
		capture = action === 'capture';
		depth = c === '{' || c === '[' ? 1 : 0;
		inString = c === '"';
		escaped = false;
		scalar = depth === 0 && !inString;
		startLine = line;
	};
	/** The value on top of a frame (or at the top level) has ended. */
	const valueEnded = (): void => {
		const top = frames[frames.length - 1];
		if (top) top.state = 'commaOrEnd';
	};
	const closeFrame = (): void => {
		const frame = frames.pop()!;
		if (frame.kind === 'object' && !frame.found) {
			const at = frame.level === 0 ? 'the top-level object' : `"${pathText(frame.level - 1)}"`;
			const keys = frame.keys.slice(0, 10).map((k) => JSON.stringify(k)).join(', ');
			throw new FileFormatError(file, `the records path "${path.join('.')}" is not in the file: ${at} has no "${path[frame.level]}" (its keys: ${keys || 'none'}${frame.keys.length > 10 ? ', …' : ''}; ${where()})`);
		}
		valueEnded();
	};

	const handle = function* (chunk: string): Generator<Element> {
		let start = inValue && capture ? 0 : -1;
		for (let i = 0; i < chunk.length; i++) {
			const code = chunk.charCodeAt(i);
			if (code === 10) line++;
			if (inValue) {
				if (inString) {
					if (escaped) escaped = false;
					else if (code === 92) escaped = true;
					else if (code === 34) {
						inString = false;
						if (depth === 0) {
							// a string scalar ends with its closing quote
							inValue = false;
							if (capture) {
								yield { text: pending + chunk.slice(start, i + 1), line: startLine };
								pending = '';
							}
							valueEnded();
						}
					}
					continue;
				}
				if (scalar) {
					if (code === 44 || code === 93 || code === 125 || code === 32 || code === 10 || code === 13 || code === 9) {
						inValue = false;
						scalar = false;
						if (capture) {
							yield { text: pending + chunk.slice(start, i), line: startLine };
							pending = '';
						}
						valueEnded();
						// this character belongs to the frame: fall through to it below
					} else continue;
				} else {
					if (code === 34) inString = true;
					else if (code === 123 || code === 91) depth++;
					else if (code === 125 || code === 93) {
						if (--depth === 0) {
							inValue = false;
							if (capture) {
								yield { text: pending + chunk.slice(start, i + 1), line: startLine };
								pending = '';
							}
							valueEnded();
						}
					}
					continue;
				}
			}
			if (inKey) {
				if (keyEscaped) keyEscaped = false;
				else if (code === 92) keyEscaped = true;
				else if (code === 34) {
					inKey = false;
					const top = frames[frames.length - 1] as Extract<Frame, { kind: 'object' }>;
					try {
						top.key = JSON.parse(`"${keyText}"`) as string;
					} catch {
						throw new FileFormatError(file, `not valid JSON: a property name cannot be read (${where()})`);
					}
					if (top.keys.length <= 10) top.keys.push(top.key);
					top.state = 'colon';
					continue;
				}
				keyText += chunk[i];
				continue;
			}
			if (code === 32 || code === 10 || code === 13 || code === 9) continue;
			const c = chunk[i];
			const top = frames[frames.length - 1];
			const unexpected = (): never => {
				throw new FileFormatError(file, `not valid JSON: unexpected ${JSON.stringify(c)} (${where()})`);
			};
			if (!top) {
				if (c === ']' || c === '}' || c === ',' || c === ':') unexpected();
			} else if (top.kind === 'array') {
				if (top.state === 'commaOrEnd') {
					if (c === ',') top.state = 'value';
					else if (c === ']') closeFrame();
					else unexpected();
					continue;
				}
				if (c === ']' && top.state === 'first') {
					closeFrame();
					continue;
				}
				if (c === ']' || c === ',' || c === '}' || c === ':') unexpected();
			} else {
				if (top.state === 'keyOrEnd' || top.state === 'key') {
					if (c === '"') {
						inKey = true;
						keyText = '';
						keyEscaped = false;
					} else if (c === '}' && top.state === 'keyOrEnd') closeFrame();
					else unexpected();
					continue;
				}
				if (top.state === 'colon') {
					if (c === ':') top.state = 'value';
					else unexpected();
					continue;
				}
				if (top.state === 'commaOrEnd') {
					if (c === ',') top.state = 'key';
					else if (c === '}') closeFrame();
					else unexpected();
					continue;
				}
				if (c === ']' || c === ',' || c === '}' || c === ':') unexpected();
			}
			startValue(c);
			if (inValue && capture) start = i;
		}
		if (inValue && capture) pending += chunk.slice(start === -1 ? 0 : start);
	};
	let bomChecked = false;
	for await (const chunk of stream) {
		let text = decoder.write(chunk as Buffer);
		if (!bomChecked) {
			if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
			bomChecked = text.length > 0;
		}
		yield* handle(text);
	}
	const tail = decoder.end();
	if (tail) yield* handle(tail);
	if (inValue && scalar && frames.length === 0) {
		// a scalar at the very end of the file
		inValue = false;
		if (capture) yield { text: pending, line: startLine };
	}
	if (values === 0) throw new FileFormatError(file, 'the file is empty');
	if (inValue || inKey || frames.length > 0) {
		throw new FileFormatError(file, `the JSON ${frames.some((f) => f.kind === 'array') ? 'array' : 'document'} is not closed: the file ends inside it (line ${line}); it may be truncated`);
	}
}
