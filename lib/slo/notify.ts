/**
 * Delivery of due notifications. Each one is claimed in its own transaction with
 * `FOR UPDATE OF n, a SKIP LOCKED` (the notification and its alert): a second notifier running at
 * the same moment skips what the first holds and never posts it again; a notifier that dies
 * mid-delivery rolls back and the notification stays due. The row lock is held while Mattermost
 * is called, so "posted" and "recorded as sent" commit together (at-least-once: only a crash
 * between Mattermost's answer and the commit can repeat a post, which is the side Alertmanager
 * also errs on).
 */
import type { Pool, PoolClient } from 'pg';
import { writeAudit } from '../lakehouse/audit';
import { inTransaction, redact } from '../lakehouse/connection';
import { MattermostError, postToMattermost, secretsOfTarget, type DeliveryOptions, type MattermostTarget } from './mattermost';
import { buildPost } from './mattermostPosts';
import { activeSilences, matches } from './silences';
import { DELIVERY_ORDER, toDue, type AlertRow } from './alerts';
import { episodeOf } from './alertState';
import type { DueNotification } from './types';

export interface NotifyOptions extends DeliveryOptions {
	now?: Date;
	/** At most this many deliveries per call. */
	limit?: number;
}

export interface DeliveryReport {
	notificationId: string;
	fingerprint: string;
	kind: DueNotification['kind'];
	severity: DueNotification['severity'];
	title: string;
	delivered: boolean;
	postId: string | null;
	attempts: number;
	error?: string;
}

export async function deliverDue(pool: Pool, target: MattermostTarget, options: NotifyOptions = {}): Promise<DeliveryReport[]> {
	const limit = options.limit ?? 100;
	const secrets = [...secretsOfTarget(target), ...(options.secrets ?? [])];
	const reports: DeliveryReport[] = [];
	const tried: string[] = [];
	while (reports.length < limit) {
		const report = await inTransaction(pool, async (client) => {
			const now = options.now ?? (await client.query<{ now: Date }>('select now() as now')).rows[0].now;
			const claimed = await claim(client, tried);
			if (!claimed) return null;
			const { notification, alert } = claimed;
			tried.push(notification.id);
			// A silence created since the last evaluation counts at once; inhibition is as evaluated.
			if (notification.kind !== 'resolved') {
				const silenced = (await activeSilences(client, now)).some((s) => matches(s.matchers, alert.labels));
				if (silenced || alert.inhibited_by) return 'skip' as const;
			}
			// Everything after the page of an episode replies in its thread (bot mode; webhooks cannot thread).
			const rootId = notification.kind !== 'firing' && target.mode === 'bot' ? await threadRoot(client, notification) : null;
			let result: DeliveryReport;
			try {
				const body = buildPost(notification, secrets);
				const delivered = await postToMattermost(target, body, { ...options, secrets, rootId });
				await client.query(
					`update public.ipai_alert_notification
					    set status = 'sent', sent_at = $2, attempts = attempts + $3, last_attempt_at = $2,
					        post_id = $4, channel_id = $5, last_error = null
					  where id = $1`,
					[notification.id, now, delivered.attempts, delivered.postId, delivered.channelId],
				);
				// The alert's bookkeeping follows only its current episode (a late resolved message of
				// an earlier episode must not mark the new one as notified).
				if (episodeOf(alert.started_at) === notification.episode) {
					await client.query(
						`update public.ipai_alert
						    set notified_state = case when $2 = 'resolved' then 'resolved' else 'firing' end,
						        last_notified_at = $3, notification_count = notification_count + 1,
						        thread_ref = case when $2 = 'firing' then coalesce($4, thread_ref) else thread_ref end
						  where fingerprint = $1`,
						[alert.fingerprint, notification.kind, now, delivered.postId],
					);
				}
				await writeAudit(client, {
					eventType: 'alert', entityType: 'slo', entityId: alert.slo_id, action: `notify_${notification.kind}`,
					details: { fingerprint: alert.fingerprint, severity: notification.severity, dedup_key: notification.dedupKey, post_id: delivered.postId, target: target.mode },
				});
				result = reportOf(notification, true, delivered.postId, notification.attempts + delivered.attempts);
			} catch (error) {
				const message = error instanceof MattermostError ? error.message : `Delivery failed: ${(error as Error).message}`;
				// attempts counts HTTP requests made (a failure before any request adds none).
				const requests = error instanceof MattermostError ? error.attempts : 0;
				await client.query(
					`update public.ipai_alert_notification
					    set attempts = attempts + $4, last_attempt_at = $2, last_error = $3
					  where id = $1`,
					[notification.id, now, redact(message, secrets), requests],
				);
				result = { ...reportOf(notification, false, null, notification.attempts + requests), error: redact(message, secrets) };
			}
			return result;
		});
		if (report === null) break;
		if (report === 'skip') continue;
		reports.push(report);
	}
	return reports;
}

function reportOf(n: DueNotification, delivered: boolean, postId: string | null, attempts: number): DeliveryReport {
	return { notificationId: n.id, fingerprint: n.fingerprint, kind: n.kind, severity: n.severity, title: n.payload.title, delivered, postId, attempts };
}

async function claim(client: PoolClient, exclude: string[]): Promise<{ notification: DueNotification; alert: AlertRow } | null> {
	const { rows } = await client.query(
		`select to_jsonb(n.*) as n, to_jsonb(a.*) as a
		   from public.ipai_alert_notification n join public.ipai_alert a using (fingerprint)
		  where n.status = 'pending' and not (n.id = any ($1::uuid[]))
		    and (n.kind = 'resolved' or (a.silenced_by is null and a.inhibited_by is null))
		  order by n.created_at, ${DELIVERY_ORDER}
		  limit 1
		  for update of n, a skip locked`,
		[exclude],
	);
	if (rows.length === 0) return null;
	const n = rows[0].n as Record<string, unknown>;
	const a = rows[0].a as Record<string, unknown>;
	const notification = toDue({
		id: n.id as string,
		fingerprint: n.fingerprint as string,
		kind: n.kind as DueNotification['kind'],
		severity: n.severity as DueNotification['severity'],
		episode: n.episode as string,
		dedup_key: n.dedup_key as string,
		payload: n.payload as DueNotification['payload'],
		attempts: n.attempts as number,
		last_error: n.last_error as string | null,
		created_at: new Date(n.created_at as string),
	});
	const alert = { ...(a as unknown as AlertRow), started_at: new Date(a.started_at as string) };
	return { notification, alert };
}

async function threadRoot(client: PoolClient, n: DueNotification): Promise<string | null> {
	const { rows } = await client.query<{ post_id: string | null }>(
		`select post_id from public.ipai_alert_notification
		  where fingerprint = $1 and dedup_key = $2 and status = 'sent'`,
		[n.fingerprint, `firing:${n.episode}`],
	);
	return rows[0]?.post_id ?? null;
}
