/**
 * The alert state machine, persisted in the lakehouse (public.ipai_alert and
 * public.ipai_alert_notification), so any n8n worker can run the monitor and none keeps state.
 *
 *   candidate appears        → alert firing, new episode (started_at), a `firing` notification due
 *   still firing             → annotations refreshed; a `repeat` due once repeat_interval has passed
 *                              since the last delivered notification
 *   candidate gone           → alert resolved; undelivered firing/repeat notifications superseded;
 *                              one `resolved` notification due if a firing one was delivered
 *   silenced                 → nothing new is due while a silence matches; when it expires and the
 *                              alert still fires, the firing message (or a repeat) becomes due
 *   page firing              → the ticket alert of the same SLO and target is inhibited
 *
 * Concurrency: evaluators serialise on a transaction-scoped advisory lock (works through poolers),
 * and every notification is inserted under a unique (fingerprint, dedup_key) — `firing:<episode>`,
 * `repeat:<episode>:<n>`, `resolved:<episode>` — so a second evaluator deciding the same thing
 * inserts nothing. Delivery (notify.ts) claims rows with FOR UPDATE SKIP LOCKED.
 */
import type { ClientBase, Pool } from 'pg';
import { inTransaction } from '../lakehouse/connection';
import { abandonExpiredRuns } from '../lakehouse/runs';
import { evaluateSlos, evaluationTime, type EvaluateOptions } from './evaluate';
import { firingGroups, GROUP_LABEL, groupCandidates, isGroupAlert, isGroupMember, labelSources, SOURCE_LABEL } from './grouping';
import { repeatIntervalSeconds } from './params';
import { activeSilences, matches, type Silence } from './silences';
import { dueNotifications, listAlerts, type AlertRow, type AlertView } from './alerts';
import type { AlertAnnotations, AlertCandidate, DueNotification, EvaluationResult, NotificationKind } from './types';

export interface MonitorResult extends EvaluationResult {
	alerts: AlertView[];
	/** Notifications decided in this evaluation (inserted by it, not by a concurrent one). */
	enqueued: Array<{ fingerprint: string; kind: NotificationKind; dedupKey: string; status: string }>;
	/** Everything now waiting for delivery. */
	due: DueNotification[];
	silences: Silence[];
}

const LOCK_KEY = 'ipai_slo_monitor';

export const episodeOf = (startedAt: Date): string => String(startedAt.getTime());

/** Evaluates every SLO and applies the result to the alert state in one transaction. */
export async function runEvaluation(pool: Pool, options: EvaluateOptions = {}): Promise<MonitorResult> {
	const now = options.now ?? (await evaluationTime(pool));
	// Runs whose worker died stop counting as running before the SLOs read the ledger.
	await abandonExpiredRuns(pool, { now });
	const evaluation = await evaluateSlos(pool, { ...options, now });
	return applyEvaluation(pool, evaluation, now);
}

export async function applyEvaluation(pool: Pool, evaluation: EvaluationResult, now: Date): Promise<MonitorResult> {
	const enqueued: MonitorResult['enqueued'] = [];
	const repeatBySlo = await repeatIntervals(pool);
	const labelled = await labelSources(pool, evaluation, now);
	await inTransaction(pool, async (client) => {
		// One evaluator at a time applies state; a second one waits and then finds nothing to do.
		await client.query(`select pg_advisory_xact_lock(hashtextextended($1, 0))`, [LOCK_KEY]);
		// First each alert (per SLO and target), then the group alerts announcing the members of a source (grouping.ts).
		const alerts = await applyCandidates(client, 'alerts', { ...evaluation, candidates: labelled }, now, repeatBySlo, enqueued);
		const groups = groupCandidates(alerts, await firingGroups(client));
		await applyCandidates(client, 'groups', { ...evaluation, candidates: groups, burning: [] }, now, repeatBySlo, enqueued);
	});

	const [alerts, due, silences] = await Promise.all([listAlerts(pool, now), dueNotifications(pool), activeSilences(pool, now)]);
	return { ...evaluation, alerts, enqueued, due, silences };
}

/**
 * The state machine over one kind of alert row: 'alerts' (one per SLO and target) or 'groups'
 * (grouping.ts). Returns the rows of that kind as they stand afterwards.
 */
async function applyCandidates(
	client: ClientBase,
	scope: 'alerts' | 'groups',
	evaluation: EvaluationResult,
	now: Date,
	repeatBySlo: Map<string, number>,
	enqueued: MonitorResult['enqueued'],
): Promise<AlertRow[]> {
	const candidates = new Map(evaluation.candidates.map((c) => [c.fingerprint, c]));
	const { rows: existing } = await client.query<AlertRow>(
		`select * from public.ipai_alert
		  where (fingerprint = any ($1) or state = 'firing' or (state = 'resolved' and notified_state = 'firing'))
		    and (labels ? $2) = $3
		  order by fingerprint for update`,
		[[...candidates.keys()], GROUP_LABEL, scope === 'groups'],
	);
	const byFingerprint = new Map(existing.map((a) => [a.fingerprint, a]));

	// Still firing: annotations refreshed in one statement. Back within the hold: the same
	// incident, flapping (its thread gets one notice).
	const still = [...candidates.values()].filter((c) => byFingerprint.get(c.fingerprint)?.state === 'firing');
	if (still.length) {
		const { rows } = await client.query<AlertRow>(
			`update public.ipai_alert a
			    set labels = u.labels, annotations = u.annotations, last_evaluated_at = $5, keep_firing_until = u.keep_until,
			        flap_count = a.flap_count + (case when a.quiet_since is null then 0 else 1 end), quiet_since = null
			   from unnest($1::text[], $2::jsonb[], $3::jsonb[], $4::timestamptz[]) as u(fingerprint, labels, annotations, keep_until)
			  where a.fingerprint = u.fingerprint
			  returning a.*`,
			[
				still.map((c) => c.fingerprint),
				still.map((c) => JSON.stringify(c.labels)),
				still.map((c) => annotationsJson(c.annotations)),
				still.map((c) => keepUntil(c.keepFiringForSeconds, now)),
				now,
			],
		);
		for (const row of rows) byFingerprint.set(row.fingerprint, row);
	}
	for (const c of candidates.values()) {
		const current = byFingerprint.get(c.fingerprint);
		if (current?.state === 'firing') {
			continue;
		} else {
			// A new episode: notification bookkeeping starts over.
			const { rows } = await client.query<AlertRow>(
				`insert into public.ipai_alert (fingerprint, slo_id, labels, annotations, severity, state, started_at,
				                                resolved_at, last_evaluated_at, last_notified_at, notified_state,
				                                notification_count, thread_ref, target_id, keep_firing_until)
				 values ($1, $2, $3, $4, $5, 'firing', $6, null, $6, null, null, 0, null, $7, $8)
				 on conflict (fingerprint) do update
				    set slo_id = excluded.slo_id, labels = excluded.labels, annotations = excluded.annotations,
				        severity = excluded.severity, state = 'firing', started_at = excluded.started_at,
				        resolved_at = null, last_evaluated_at = excluded.last_evaluated_at, last_notified_at = null,
				        notified_state = null, notification_count = 0, thread_ref = null, target_id = excluded.target_id,
				        keep_firing_until = excluded.keep_firing_until, inhibited_by = null, quiet_since = null, flap_count = 0
				 returning *`,
				[c.fingerprint, c.sloId, c.labels, annotationsJson(c.annotations), c.severity, now, c.targetId, keepUntil(c.keepFiringForSeconds, now)],
			);
			byFingerprint.set(c.fingerprint, rows[0]);
		}
	}

	// Firing alerts of evaluated SLOs that no longer hold resolve (as do alerts of SLOs that were
	// disabled since: nothing evaluates them any more).
	// A firing alert whose windows still burn stays firing with its hold restarted; one that
	// neither fires nor burns holds for keep_firing_for (quiet_since marks the start) and then
	// resolves.
	const evaluated = new Set(evaluation.evaluatedSloIds);
	const burning = new Map((evaluation.burning ?? []).map((b) => [b.fingerprint, b.keepFiringForSeconds]));
	const enabled = await enabledSloIds(client);
	for (const alert of [...byFingerprint.values()]) {
		if (alert.state !== 'firing' || candidates.has(alert.fingerprint)) continue;
		if (alert.slo_id && !evaluated.has(alert.slo_id) && enabled.has(alert.slo_id)) continue;
		const live = alert.slo_id !== null && enabled.has(alert.slo_id);
		const burn = live ? burning.get(alert.fingerprint) : undefined;
		const holding = live && alert.keep_firing_until !== null && now < alert.keep_firing_until;
		const { rows } =
			burn !== undefined
				? await client.query<AlertRow>(
						`update public.ipai_alert set last_evaluated_at = $2, keep_firing_until = $3,
						        flap_count = flap_count + (case when quiet_since is null then 0 else 1 end), quiet_since = null
						  where fingerprint = $1 returning *`,
						[alert.fingerprint, now, keepUntil(burn, now)],
					)
				: await client.query<AlertRow>(
						holding
							? `update public.ipai_alert set last_evaluated_at = $2, quiet_since = coalesce(quiet_since, $2) where fingerprint = $1 returning *`
							: `update public.ipai_alert set state = 'resolved', resolved_at = $2, last_evaluated_at = $2, quiet_since = null
							    where fingerprint = $1 returning *`,
						[alert.fingerprint, now],
					);
		byFingerprint.set(alert.fingerprint, rows[0]);
	}

	// Inhibition and silences, recorded on the alert so Get Status and the notifier see them.
	const silences = await activeSilences(client, now);
	const alerts = [...byFingerprint.values()];
	for (const alert of alerts) {
		const inhibitor = alert.state === 'firing' ? alerts.find((other) => inhibits(other, alert)) : undefined;
		// Sticky: a ticket that began under a page and was never announced belongs to that
		// incident, so it stays quiet for the rest of its episode instead of surfacing as a new
		// alert right after the page resolves.
		const sticky = alert.state === 'firing' && alert.inhibited_by !== null && alert.notified_state === null ? alert.inhibited_by : null;
		const silencedBy = silences.filter((s) => matches(s.matchers, alert.labels)).map((s) => s.id);
		const inhibitedBy = inhibitor?.fingerprint ?? sticky;
		const silenced = silencedBy.length ? silencedBy : null;
		if (inhibitedBy === alert.inhibited_by && JSON.stringify(silenced) === JSON.stringify(alert.silenced_by)) continue;
		alert.inhibited_by = inhibitedBy;
		alert.silenced_by = silenced;
		await client.query('update public.ipai_alert set inhibited_by = $2, silenced_by = $3 where fingerprint = $1', [
			alert.fingerprint,
			alert.inhibited_by,
			alert.silenced_by,
		]);
	}

	for (const alert of alerts) {
		const episode = episodeOf(alert.started_at);
		const quiet = alert.silenced_by !== null || alert.inhibited_by !== null;
		if (alert.state === 'firing') {
			if (quiet) continue;
			// A member of a source's group is announced by the group alert (unless it was announced on its own already).
			if (alert.notified_state === null && isGroupMember(alert.labels)) continue;
			if (alert.notified_state === null) {
				await enqueue(client, alert, 'firing', `firing:${episode}`, now, enqueued);
			} else if (alert.notified_state === 'firing' && alert.flap_count > 0) {
				// Once per episode, in the thread: the on-call person learns the alert is flapping
				// without a second page.
				await enqueue(client, alert, 'flapping', `flapping:${episode}`, now, enqueued);
			}
			if (alert.labels.alertname === 'SLODefinitionInvalid') continue; // reported once
			if (alert.notified_state === 'firing' && alert.last_notified_at) {
				const repeat = repeatBySlo.get(`${alert.slo_id}/${alert.severity}`) ?? (alert.severity === 'page' ? 4 : 24) * 3600;
				const due = now.getTime() - alert.last_notified_at.getTime() >= repeat * 1000;
				const pending = due
					? await client.query(`select 1 from public.ipai_alert_notification where fingerprint = $1 and episode = $2 and status = 'pending'`, [alert.fingerprint, episode])
					: null;
				if (due && pending!.rowCount === 0) {
					await enqueue(client, alert, 'repeat', `repeat:${episode}:${alert.notification_count}`, now, enqueued);
				}
			}
		} else {
			// Resolved: whatever was not delivered for this episode is moot …
			await client.query(
				`update public.ipai_alert_notification set status = 'superseded'
				  where fingerprint = $1 and episode = $2 and kind in ('firing', 'repeat', 'flapping') and status = 'pending'`,
				[alert.fingerprint, episode],
			);
			// … and exactly one resolved message follows a delivered firing one. It goes out even
			// under a silence created meanwhile: it closes the thread the person on call already saw.
			if (alert.notified_state === 'firing') {
				// The budget as it stands now, not as it was while firing.
				const current = evaluation.statuses.find((st) => st.sloId === alert.slo_id && st.target.id === alert.target_id);
				const resolvedAlert = current
					? { ...alert, annotations: { ...alert.annotations, errorBudgetRemaining: current.errorBudgetRemaining } }
					: alert;
				await enqueue(client, resolvedAlert, 'resolved', `resolved:${episode}`, now, enqueued);
			}
		}
	}
	return alerts;
}

/**
 * Inhibition rules (Alertmanager's inhibit_rules, fixed): a firing page mutes the ticket of the same
 * SLO and target; a connector that stopped reporting runs, or pages for failing runs, mutes its
 * "stale" alerts (one cause, one message).
 */
function inhibits(source: AlertRow, target: AlertRow): boolean {
	if (source.state !== 'firing' || source.fingerprint === target.fingerprint || source.target_id !== target.target_id) return false;
	// Group alerts: their members were inhibited one by one; a page of a source mutes its ticket.
	if (isGroupAlert(source.labels) || isGroupAlert(target.labels)) {
		return isGroupAlert(source.labels) && isGroupAlert(target.labels) && source.labels[SOURCE_LABEL] === target.labels[SOURCE_LABEL] &&
			source.slo_id === target.slo_id && source.severity === 'page' && target.severity === 'ticket';
	}
	if (target.severity === 'ticket' && source.severity === 'page' && source.slo_id === target.slo_id) return true;
	if (target.labels.alertname !== 'ConnectorStale') return false;
	// Failing runs are why the data goes stale: the burn-rate page already says so.
	return source.labels.alertname === 'ConnectorAbsent' || (source.labels.alertname === 'SLOBurnRate' && source.severity === 'page');
}

function keepUntil(seconds: number, now: Date): Date | null {
	return seconds > 0 ? new Date(now.getTime() + seconds * 1000) : null;
}

function annotationsJson(a: AlertAnnotations): string {
	return JSON.stringify(a);
}

/** Repeat intervals of the enabled SLOs; a row with an unreadable one keeps the default (the evaluator reports it). */
async function repeatIntervals(pool: Pool): Promise<Map<string, number>> {
	const { rows } = await pool.query<{ id: string; code_name: string; params: Record<string, unknown> }>(
		'select id, code_name, params from public.ipai_slo where is_enabled',
	);
	const out = new Map<string, number>();
	for (const r of rows) {
		for (const severity of ['page', 'ticket'] as const) {
			try {
				out.set(`${r.id}/${severity}`, repeatIntervalSeconds({ params: r.params ?? {}, codeName: r.code_name }, severity));
			} catch {
				// default below
			}
		}
	}
	return out;
}

async function enabledSloIds(client: ClientBase): Promise<Set<string>> {
	const { rows } = await client.query<{ id: string }>('select id from public.ipai_slo where is_enabled');
	return new Set(rows.map((r) => r.id));
}

async function enqueue(
	client: ClientBase,
	alert: AlertRow,
	kind: NotificationKind,
	dedupKey: string,
	now: Date,
	enqueued: MonitorResult['enqueued'],
): Promise<void> {
	const status = 'pending';
	const payload = {
		...alert.annotations,
		labels: alert.labels,
		startedAt: alert.started_at.toISOString(),
		...(kind === 'resolved' && alert.resolved_at ? { resolvedAt: alert.resolved_at.toISOString() } : {}),
		...(kind === 'flapping' ? { flapCount: alert.flap_count } : {}),
	};
	// A pending message keeps the latest annotations (Alertmanager: annotations are always the most
	// recent); a delivered or superseded one is history and stays as it was.
	const { rows } = await client.query<{ inserted: boolean }>(
		`insert into public.ipai_alert_notification (fingerprint, dedup_key, episode, kind, severity, status, payload, created_at)
		 values ($1, $2, $3, $4, $5, $6, $7, $8)
		 on conflict (fingerprint, dedup_key) do update set payload = excluded.payload
		   where ipai_alert_notification.status = 'pending'
		 returning (xmax = 0) as inserted`,
		[alert.fingerprint, dedupKey, episodeOf(alert.started_at), kind, alert.severity, status, JSON.stringify(payload), now],
	);
	if (rows[0]?.inserted) enqueued.push({ fingerprint: alert.fingerprint, kind, dedupKey, status });
}

export type { AlertCandidate };
