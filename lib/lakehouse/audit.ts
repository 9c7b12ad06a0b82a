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

export async function writeAudit(client: ClientBase, entry: AuditEntry): Promise<void> {
	await client.query(
		`insert into public.ipai_audit_log (event_type, entity_type, entity_id, user_id, action, details)
		 values ($1, $2, $3, $4, $5, $6)`,
		[entry.eventType, entry.entityType, entry.entityId ?? null, entry.userId ?? null, redact(entry.action), redactDeep(entry.details ?? {})],
	);
}
