/**
 * Splits an SQL script into statements, so a failing migration can be reported by the exact
 * statement and line. Understands what can hide a semicolon: -- and nested /* *\/ comments,
 * 'strings' (with '' and E'\'' escapes), "identifiers" and $tag$ dollar quotes $tag$.
 */
export interface ScriptStatement {
	sql: string;
	/** 1-based line where the statement starts in the file. */
	line: number;
}

export function splitSqlScript(script: string): ScriptStatement[] {
	const statements: ScriptStatement[] = [];
	let start = 0;
	let i = 0;
	const n = script.length;

	const push = (end: number) => {
		const raw = script.slice(start, end);
		const leading = leadingCommentsLength(raw);
		const sql = raw.slice(leading).trim();
		if (sql.length > 0) statements.push({ sql, line: lineAt(script, start + leading) });
	};

	while (i < n) {
		const c = script[i];
		const next = script[i + 1];
		if (c === '-' && next === '-') {
			const eol = script.indexOf('\n', i);
			i = eol === -1 ? n : eol + 1;
		} else if (c === '/' && next === '*') {
			let depth = 1;
			i += 2;
			while (i < n && depth > 0) {
				if (script[i] === '/' && script[i + 1] === '*') {
					depth++;
					i += 2;
				} else if (script[i] === '*' && script[i + 1] === '/') {
					depth--;
					i += 2;
				} else i++;
			}
		} else if (c === "'") {
			const escapes = i > 0 && /[eE]/.test(script[i - 1]) && !/[\w$]/.test(script[i - 2] ?? ' ');
			i++;
			while (i < n) {
				if (escapes && script[i] === '\\') i += 2;
				else if (script[i] === "'" && script[i + 1] === "'") i += 2;
				else if (script[i] === "'") {
					i++;
					break;
				} else i++;
			}
		} else if (c === '"') {
			i++;
			while (i < n) {
				if (script[i] === '"' && script[i + 1] === '"') i += 2;
				else if (script[i] === '"') {
					i++;
					break;
				} else i++;
			}
		} else if (c === '$' && !/[\w$]/.test(script[i - 1] ?? ' ')) {
			const tag = /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/.exec(script.slice(i, i + 64));
			if (tag) {
				const close = script.indexOf(tag[0], i + tag[0].length);
				i = close === -1 ? n : close + tag[0].length;
			} else i++;
		} else if (c === ';') {
			push(i);
			i++;
			start = i;
		} else i++;
	}
	push(n);
	return statements;
}

function lineAt(text: string, offset: number): number {
	let line = 1;
	for (let i = 0; i < offset; i++) if (text.charCodeAt(i) === 10) line++;
	return line;
}

/** Length of the whitespace and comments before a statement's first token. */
function leadingCommentsLength(text: string): number {
	const match = /^(?:\s+|--[^\n]*(?:\n|$)|\/\*[\s\S]*?\*\/)*/.exec(text);
	return match ? match[0].length : 0;
}
