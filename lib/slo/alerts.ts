/**
 * Reading the alert state (public.ipai_alert) and the notifications waiting for delivery
 * (public.ipai_alert_notification). The state machine that writes them is alertState.ts.
 */
import type { ClientBase, Pool } from 'pg';
import type { AlertAnnotations, DueNotification, NotificationKind } from './types';
import type { Severity } from './windows';

export interface AlertRow {
	fingerprint: string;
	slo_id: string | null;
	labels: Record<string, string>;
	annotations: AlertAnnotations;
	severity: Severity;
	state: 'firing' | 'resolved';
	started_at: Date;
	resolved_at: Date | null;
	last_evaluated_at: Date;
	last_notified_at: Date | null;
	notified_state: 'firing' | 'resolved' | null;
	notification_count: number;
	thread_ref: string | null;
	target_id: string | null;
	silenced_by: string[] | null;
	inhibited_by: string | null;
	keep_firing_until: Date | null;
	quiet_since: Date | null;
	flap_count: number;
}

export interface AlertView {
	fingerprint: string;
	state: 'firing' | 'resolved';
	severity: Severity;
	labels: Record<string, string>;
	title: string;
	startedAt: string;
	resolvedAt: string | null;
	silencedBy: string[];
	inhibitedBy: string | null;
	notifiedState: string | null;
	notificationCount: number;
}

/** Among notifications decided at the same moment: pages first, then firing before repeat before resolved. */
export const DELIVERY_ORDER = `case n.severity when 'page' then 0 else 1 end, case n.kind when 'firing' then 0 when 'repeat' then 1 else 2 end, n.id`;

export async function listAlerts(db: Pool | ClientBase, now: Date, includeResolvedSeconds = 24 * 3600): Promise<AlertView[]> {
	const { rows } = await db.query<AlertRow>(
		`select * from public.ipai_alert
		  where state = 'firing' or resolved_at > $1
		  order by state, severity, started_at desc`,
		[new Date(now.getTime() - includeResolvedSeconds * 1000)],
	);
	return rows.map((a) => ({
		fingerprint: a.fingerprint,
		state: a.state,
		severity: a.severity,
		labels: a.labels,
		title: a.annotations?.title ?? '',
		startedAt: a.started_at.toISOString(),
		resolvedAt: a.resolved_at?.toISOString() ?? null,
		silencedBy: a.silenced_by ?? [],
		inhibitedBy: a.inhibited_by,
		notifiedState: a.notified_state,
		notificationCount: a.notification_count,
	}));
}

interface NotificationRow {
	id: string;
	fingerprint: string;
	kind: NotificationKind;
	severity: Severity;
	episode: string;
	dedup_key: string;
	payload: DueNotification['payload'];
	attempts: number;
	last_error: string | null;
	created_at: Date;
}

export function toDue(r: NotificationRow): DueNotification {
	return {
		id: r.id,
		fingerprint: r.fingerprint,
		kind: r.kind,
		severity: r.severity,
		episode: r.episode,
		dedupKey: r.dedup_key,
		payload: r.payload,
		attempts: r.attempts,
		lastError: r.last_error,
		createdAt: r.created_at.toISOString(),
	};
}

/** Pending notifications whose alert is neither silenced nor inhibited (resolved ones always go). */
export async function dueNotifications(db: Pool | ClientBase, limit = 500): Promise<DueNotification[]> {
	const { rows } = await db.query<NotificationRow>(
		`select n.* from public.ipai_alert_notification n join public.ipai_alert a using (fingerprint)
		  where n.status = 'pending'
		    and (n.kind = 'resolved' or (a.silenced_by is null and a.inhibited_by is null))
		  order by n.created_at, ${DELIVERY_ORDER} limit $1`,
		[limit],
	);
	return rows.map(toDue);
}
