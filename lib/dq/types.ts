/** Data quality expectations as the engine reads them from public.ipai_dq_expectation. */

export const ROW_KINDS = ['not_null', 'accepted_values', 'range', 'regex', 'unique', 'relationship', 'expression'] as const;
export const TABLE_KINDS = ['row_count', 'volume_anomaly', 'freshness', 'schema_drift', 'custom_sql'] as const;
export type RowKind = (typeof ROW_KINDS)[number];
export type TableKind = (typeof TABLE_KINDS)[number];
export type ExpectationKind = RowKind | TableKind;
export type ExpectationAction = 'warn' | 'drop' | 'fail';
export type ResultStatus = 'pass' | 'warn' | 'dropped' | 'fail' | 'error';

export interface Expectation {
	id: string;
	/** schema.table */
	targetTable: string;
	name: string;
	kind: ExpectationKind;
	args: Record<string, unknown>;
	action: ExpectationAction;
	enabled: boolean;
	owner: string | null;
	runbookUrl: string | null;
	description: string | null;
	acceptedSchema: Record<string, string> | null;
}

export interface ExpectationOutcome {
	expectation: Expectation;
	status: ResultStatus;
	evaluated: number;
	failed: number;
	/** Up to SAMPLE_SIZE failing keys (or values), secrets masked. */
	sample: unknown[];
	observed?: Record<string, unknown>;
	message: string;
	companyId?: string | null;
}

export const SAMPLE_SIZE = 10;

export function isRowKind(kind: string): kind is RowKind {
	return (ROW_KINDS as readonly string[]).includes(kind);
}

/** The failure an expectation with action `fail` raises: the page or evaluation rolls back. */
export class ExpectationFailedError extends Error {
	constructor(
		readonly outcomes: ExpectationOutcome[],
		readonly runId: string | null,
	) {
		super(outcomes.map(describeFailure).join('; '));
		this.name = 'ExpectationFailedError';
	}
}

/** A definition the engine cannot apply to the table as it is now (a column since removed…). */
export class ExpectationDefinitionError extends Error {}

export function describeFailure(outcome: ExpectationOutcome): string {
	const e = outcome.expectation;
	const sample = outcome.sample.length > 0 ? `; failing keys e.g. ${JSON.stringify(outcome.sample.slice(0, 5))}` : '';
	const runbook = e.runbookUrl ? `; runbook ${e.runbookUrl}` : '';
	return (
		`Data quality expectation ${e.targetTable}.${e.name} (${e.kind}, action ${e.action}) failed: ` +
		`${outcome.failed} of ${outcome.evaluated} ${isRowKind(e.kind) ? 'rows' : 'checks'}${outcome.message ? ` (${outcome.message})` : ''}${sample}${runbook}`
	);
}

interface ExpectationRow {
	id: string;
	target_table: string;
	name: string;
	kind: ExpectationKind;
	args: Record<string, unknown>;
	action: ExpectationAction;
	is_enabled: boolean;
	owner: string | null;
	runbook_url: string | null;
	description: string | null;
	accepted_schema: Record<string, string> | null;
}

export const EXPECTATION_COLUMNS = 'id, target_table, name, kind, args, action, is_enabled, owner, runbook_url, description, accepted_schema';

export function expectationFromRow(r: ExpectationRow): Expectation {
	return {
		id: r.id,
		targetTable: r.target_table,
		name: r.name,
		kind: r.kind,
		args: r.args ?? {},
		action: r.action,
		enabled: r.is_enabled,
		owner: r.owner,
		runbookUrl: r.runbook_url,
		description: r.description,
		acceptedSchema: r.accepted_schema,
	};
}
