/**
 * Appends to ipai_audit_log (append-only by design; see the control-table migration). The server
 * sets the row's id and time; every string in the entry is masked first (secrets.ts), so an error
 * text quoted in details cannot carry a password into a log nobody can edit afterwards.
 */
import type { ClientBase } from 'pg';
import { redact, redactDeep } from './secrets';

export type AuditEventType = 'connector_run' | 'agent_run' | 'app_action' | 'schema_change' | 'alert';
export type AuditEntityType = 'connector' | 'agent' | 'app' | 'table' | 'slo';

export interface AuditEntry {
	eventType: AuditEventType;
	entityType: AuditEntityType;
	entityId?: string | null;
	action: string;
	details?: Record<string, unknown>;
	userId?: string | null;
}

const UNSTORABLE = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/**
 * Text PostgreSQL can store: NUL (refused by text and jsonb) and lone UTF-16 surrogates (refused by
 * jsonb, silently replaced in text) become U+FFFD; `replaced` counts them, so the fact is noted.
 */
export function storable(text: string): { text: string; replaced: number } {
	let replaced = 0;
	const out = text.replace(UNSTORABLE, () => {
		replaced++;
		return '\uFFFD';
	});
	return { text: out, replaced };
}

/** storable() over every string (and key) of a JSON-like value. */
export function storableDeep<T>(value: T): T {
	const walk = (v: unknown, depth: number): unknown => {
		if (typeof v === 'string') return storable(v).text;
		if (v === null || typeof v !== 'object' || depth > 50 || v instanceof Date) return v;
		if (Array.isArray(v)) return v.map((x) => walk(x, depth + 1));
		return Object.fromEntries(Object.entries(v as Record<string, unknown>).map(([k, x]) => [storable(k).text, walk(x, depth + 1)]));
	};
	return walk(value, 0) as T;
}

export async function writeAudit(client: ClientBase, entry: AuditEntry): Promise<void> {
	await client.query(
		`insert into public.ipai_audit_log (event_type, entity_type, entity_id, user_id, action, details)
		 values ($1, $2, $3, $4, $5, $6)`,
		[entry.eventType, entry.entityType, entry.entityId ?? null, entry.userId ?? null, storable(redact(entry.action)).text, storableDeep(redactDeep(entry.details ?? {}))],
	);
}
