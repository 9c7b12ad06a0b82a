/**
 * GitHub webhook deliveries: signature check and landing in bronze.
 *
 * - X-Hub-Signature-256 is `sha256=` + hex HMAC-SHA256(secret, raw body bytes). It is computed over
 *   the bytes as received (never re-serialised JSON) and compared with crypto.timingSafeEqual
 *   (GitHub docs: validating-webhook-deliveries.md).
 * - X-GitHub-Delivery is the same GUID on a redelivery: the events table's key. Landing is
 *   `insert … on conflict do nothing`, so a redelivery, or two n8n mains receiving the same
 *   delivery, lands once — decided by the lakehouse, not by any process's memory.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { ClientBase, Pool } from 'pg';
import { inTransaction } from '../../lakehouse/connection';
import { registerConnector } from '../../lakehouse/runs';
import { qualifiedName } from '../../lakehouse/sql';
import { BRONZE_SCHEMA, EVENTS_TABLE, STREAM_SPECS } from './streams';

export function signPayload(secret: string, body: Buffer | string): string {
	return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

export type SignatureCheck = { valid: true } | { valid: false; reason: string };

/** Verifies X-Hub-Signature-256 over the raw body, in constant time. */
export function verifySignature(secret: string, body: Buffer | string, header: string | string[] | undefined): SignatureCheck {
	if (!secret) return { valid: false, reason: 'no webhook secret is configured' };
	const value = Array.isArray(header) ? header[0] : header;
	if (!value) return { valid: false, reason: 'the X-Hub-Signature-256 header is missing' };
	if (!/^sha256=[0-9a-f]{64}$/i.test(value.trim())) return { valid: false, reason: 'the X-Hub-Signature-256 header is not sha256=<64 hex digits>' };
	const expected = Buffer.from(signPayload(secret, body), 'utf8');
	const given = Buffer.from(value.trim().toLowerCase(), 'utf8');
	// Same length by the format check above; timingSafeEqual throws on different lengths.
	return expected.length === given.length && timingSafeEqual(expected, given)
		? { valid: true }
		: { valid: false, reason: 'the signature does not match the body and the configured secret' };
}

export interface DeliveryHeaders {
	event: string;
	deliveryId: string;
	hookId?: string;
	targetType?: string;
	targetId?: string;
	userAgent?: string;
}

/** Reads GitHub's X-GitHub-* headers (names are case-insensitive; n8n gives them lower-cased). */
export function deliveryHeaders(headers: Record<string, unknown>): DeliveryHeaders | { error: string } {
	const get = (name: string): string | undefined => {
		const value = headers[name] ?? headers[name.toLowerCase()];
		const text = Array.isArray(value) ? value[0] : value;
		return typeof text === 'string' && text.length > 0 ? text : undefined;
	};
	const event = get('x-github-event');
	const deliveryId = get('x-github-delivery');
	if (!event) return { error: 'the X-GitHub-Event header is missing' };
	if (!deliveryId) return { error: 'the X-GitHub-Delivery header is missing' };
	return {
		event,
		deliveryId,
		hookId: get('x-github-hook-id'),
		targetType: get('x-github-hook-installation-target-type'),
		targetId: get('x-github-hook-installation-target-id'),
		userAgent: get('user-agent'),
	};
}

export interface GitHubEvent {
	delivery_id: string;
	event: string;
	action: string | null;
	repository_id: number | null;
	repository_full_name: string | null;
	sender_id: number | null;
	sender_login: string | null;
	installation_id: number | null;
	hook_id: number | null;
	received_at: string;
	payload: Record<string, unknown>;
}

function num(value: unknown): number | null {
	return typeof value === 'number' && Number.isFinite(value) ? value : typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : null;
}

/** The event record: what the events table holds and what the trigger passes on. */
export function eventRecord(headers: DeliveryHeaders, payload: Record<string, unknown>, receivedAt = new Date()): GitHubEvent {
	const repository = (payload.repository ?? null) as { id?: unknown; full_name?: unknown } | null;
	const sender = (payload.sender ?? null) as { id?: unknown; login?: unknown } | null;
	const installation = (payload.installation ?? null) as { id?: unknown } | null;
	return {
		delivery_id: headers.deliveryId,
		event: headers.event,
		action: typeof payload.action === 'string' ? payload.action : null,
		repository_id: num(repository?.id),
		repository_full_name: typeof repository?.full_name === 'string' ? repository.full_name : null,
		sender_id: num(sender?.id),
		sender_login: typeof sender?.login === 'string' ? sender.login : null,
		installation_id: num(installation?.id),
		hook_id: num(headers.hookId),
		received_at: receivedAt.toISOString(),
		payload,
	};
}

export interface LandResult {
	/** false: this delivery id had landed before (a redelivery) and nothing was written. */
	inserted: boolean;
	connectorId: string;
	/** Bronze issue rows an `issues` deleted/transferred delivery marked `_ipai_deleted_at`. */
	issuesMarkedDeleted?: number;
}

/**
 * Lands one event (registering the webhook connector on first use). The table comes from the
 * migration 20261122000300_github.sql. `_ipai_raw` keeps the delivery's GitHub headers (the
 * envelope); the body is `payload`, so it is not stored twice.
 */
export async function landEvent(pool: Pool, connector: { name: string }, event: GitHubEvent, headers: DeliveryHeaders): Promise<LandResult> {
	return inTransaction(pool, async (client) => {
		const connectorId = await registerConnector(client, { connectorType: 'github_webhook', name: connector.name });
		const { rowCount } = await client.query(
			`insert into ${qualifiedName(BRONZE_SCHEMA, EVENTS_TABLE)}
			   (delivery_id, event, action, repository_id, repository_full_name, sender_id, sender_login, installation_id, hook_id,
			    received_at, payload, _ipai_connector_id, _ipai_extracted_at, _ipai_raw)
			 values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, now(), $13)
			 on conflict (_ipai_connector_id, delivery_id) do nothing`,
			[
				event.delivery_id,
				event.event,
				event.action,
				event.repository_id,
				event.repository_full_name,
				event.sender_id,
				event.sender_login,
				event.installation_id,
				event.hook_id,
				event.received_at,
				JSON.stringify(event.payload, withoutNul),
				connectorId,
				JSON.stringify(headers),
			],
		);
		const inserted = (rowCount ?? 0) === 1;
		const gone = inserted ? await markIssueGone(client, event) : 0;
		return { inserted, connectorId, ...(gone > 0 ? { issuesMarkedDeleted: gone } : {}) };
	});
}

/**
 * The fast path for inferred deletes: an `issues` delivery with action `deleted` or `transferred`
 * marks that issue (GitHub ids are global, so under every sync connector) `_ipai_deleted_at` in
 * the same transaction as the delivery lands. The sync's periodic delete scan stays the source of
 * truth (GitHub does not retry failed deliveries); a transferred issue reappears under its new
 * repository when that repository is synced.
 */
async function markIssueGone(client: ClientBase, event: GitHubEvent): Promise<number> {
	if (event.event !== 'issues' || (event.action !== 'deleted' && event.action !== 'transferred')) return 0;
	const issueId = num((event.payload.issue as { id?: unknown } | undefined)?.id);
	if (issueId === null) return 0;
	const { rowCount } = await client.query(
		`update ${qualifiedName(BRONZE_SCHEMA, STREAM_SPECS.issues.table)} set _ipai_deleted_at = $2
		  where id = $1 and _ipai_deleted_at is null`,
		[issueId, event.received_at],
	);
	return rowCount ?? 0;
}

/** PostgreSQL's jsonb cannot hold U+0000: replaced by U+FFFD, as the loader does for bronze. */
function withoutNul(_key: string, value: unknown): unknown {
	return typeof value === 'string' && value.includes('\u0000') ? value.replace(/\u0000/g, '\ufffd') : value;
}
