/**
 * Column names from file headers: snake_case, unique, never an SQL reserved word, never the
 * lakehouse's metadata prefix, and within PostgreSQL's identifier length (fitIdentifier). The
 * original names are kept as column comments by the ingest (see ingest.ts).
 */
import { fitIdentifier, RESERVED_WORDS, snakeWords } from '../../lakehouse/sql';

/** snake_case: "Cost Total $" → cost_total, "flightDate" → flight_date, "1st" → _1st. */
export function snakeCase(name: string): string {
	const s = snakeWords(name);
	return /^[0-9]/.test(s) ? `_${s}` : s;
}

/** Column names for a list of source names, in order: normalised and de-duplicated. */
export class ColumnNamer {
	private readonly used = new Set<string>();
	private readonly bySource = new Map<string, string>();

	/** The column for a source name (the same source name always gets the same column). */
	name(source: string, position?: number): string {
		const known = this.bySource.get(source);
		if (known !== undefined) return known;
		const candidate = this.fresh(source, position);
		this.bySource.set(source, candidate);
		return candidate;
	}

	/**
	 * A new column for a header at a position, even when the same header came before (a CSV file
	 * may repeat one: `a,a,b,A` → a, a_2, b, a_3). Names depend only on the headers and their
	 * order, so the same header row always gives the same columns.
	 */
	fresh(source: string, position?: number): string {
		const base = baseName(source, position ?? this.used.size);
		let candidate = base;
		for (let n = 2; this.used.has(candidate); n++) candidate = fitIdentifier(`${base}_${n}`);
		this.used.add(candidate);
		return candidate;
	}
}

/** The column name a header asks for before de-duplication (position: 0-based, for empty headers). */
export function baseName(source: string, position: number): string {
	let base = snakeCase(source);
	if (base === '') base = `column_${position + 1}`;
	if (RESERVED_WORDS.has(base)) base = `${base}_`;
	if (base.startsWith('_ipai_') || base === '_ipai') base = `src${base}`;
	return fitIdentifier(base);
}
