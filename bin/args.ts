/** Minimal `--name value` / `--flag` parsing for the project's small CLIs. */
export interface ParsedArgs {
	values: Record<string, string | undefined>;
	flags: Set<string>;
}

export function parseArgs(argv: string[], valueNames: string[], flagNames: string[] = []): ParsedArgs {
	const values: Record<string, string | undefined> = {};
	const flags = new Set<string>();
	for (let i = 0; i < argv.length; i++) {
		const arg = argv[i];
		if (!arg.startsWith('--')) throw new Error(`unexpected argument "${arg}"`);
		const [name, inline] = arg.slice(2).split(/=(.*)/s, 2);
		if (flagNames.includes(name)) flags.add(name);
		else if (valueNames.includes(name)) {
			const value = inline ?? argv[++i];
			if (value === undefined) throw new Error(`--${name} needs a value`);
			values[name] = value;
		} else throw new Error(`unknown option --${name}`);
	}
	return { values, flags };
}
