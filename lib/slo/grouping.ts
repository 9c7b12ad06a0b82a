/**
 * One incident, one message: the burn-rate alerts of connectors whose failing runs hit the same
 * source (one Odoo server and database, one GitHub API, one bucket) are announced as one group
 * alert, like Alertmanager's group_by on a `source` label.
 *
 * A source node records where it reads in its run's metadata (`source`, no credentials in it). A
 * connector's burn-rate alert whose latest failed run names a source is a member: it keeps its own
 * state (holds, flapping, inhibition and silences work per connector as before) but posts nothing
 * itself. The group alert of (alert, SLO, severity, source) fires while at least one member fires
 * unsilenced and uninhibited, and goes through the same state machine: one page when the first
 * member fires, one resolved message when the last one has resolved, repeats and flapping notices
 * in its thread. Connectors that join while it fires are named in its later messages; the group
 * keeps every connector of the episode, so the resolved message names them all.
 *
 * Alerts without a recorded source (runs written by other tools) stay one alert per connector.
 */
import type { ClientBase, Pool } from 'pg';
import type { AlertRow } from './alerts';
import { fingerprintOf } from './evaluate';
import type { AlertAnnotations, AlertCandidate, EvaluationResult, FailingConnector } from './types';

/** The label that marks a group alert (its value says what it groups by). */
export const GROUP_LABEL = 'alertgroup';
/** The label carrying the source on members and groups. */
export const SOURCE_LABEL = 'source';
/** Alerts grouped by source: failing runs share a cause when their source is down. */
const GROUPED_ALERTS = new Set(['SLOBurnRate']);
/** Connectors a group message lists by name (the rest are counted). */
const MAX_LISTED = 20;

/** What grouping reads of a stored alert. */
export type GroupableAlert = Pick<AlertRow, 'fingerprint' | 'slo_id' | 'labels' | 'annotations' | 'severity' | 'state' | 'silenced_by' | 'inhibited_by'>;

/** True for an alert that is announced through its source's group alert. */
export function isGroupMember(labels: Record<string, string>): boolean {
	return !labels[GROUP_LABEL] && GROUPED_ALERTS.has(labels.alertname) && Boolean(labels[SOURCE_LABEL]) && Boolean(labels.connector_id);
}

export function isGroupAlert(labels: Record<string, string>): boolean {
	return Boolean(labels[GROUP_LABEL]);
}

/**
 * The candidates with a `source` label on every connector burn-rate alert whose latest failed run
 * (by the evaluation instant) recorded one.
 */
export async function labelSources(pool: Pool, evaluation: EvaluationResult, now: Date): Promise<AlertCandidate[]> {
	const ids = [...new Set(evaluation.candidates.filter((c) => GROUPED_ALERTS.has(c.alertname) && c.labels.connector_id).map((c) => c.targetId))];
	if (ids.length === 0) return evaluation.candidates;
	const { rows } = await pool.query<{ connector_id: string; source: string | null }>(
		`select c.id as connector_id,
		        (select r.metadata ->> 'source' from public.ipai_connector_run r
		          where r.connector_id = c.id and r.status in ('failed', 'abandoned') and r.ended_at <= $2
		          order by r.ended_at desc limit 1) as source
		   from unnest($1::uuid[]) as c(id)`,
		[ids, now],
	);
	const sources = new Map(rows.filter((r) => r.source).map((r) => [r.connector_id, r.source!]));
	return evaluation.candidates.map((c) => {
		const source = GROUPED_ALERTS.has(c.alertname) && c.labels.connector_id ? sources.get(c.targetId) : undefined;
		return source ? { ...c, labels: { ...c.labels, [SOURCE_LABEL]: source } } : c;
	});
}

const connectorKey = (f: FailingConnector) => `${f.type}/${f.name}`;

/**
 * The group alerts that should be firing now, from the member alerts as they stand after this
 * evaluation (firing, not silenced, not inhibited). `previous` holds the group alerts already
 * firing, whose connectors stay listed for the rest of their episode.
 */
export function groupCandidates(alerts: GroupableAlert[], previous: Map<string, GroupableAlert>): AlertCandidate[] {
	const groups = new Map<string, { identity: Record<string, string>; members: GroupableAlert[] }>();
	for (const alert of alerts) {
		if (alert.state !== 'firing' || alert.silenced_by || alert.inhibited_by || !isGroupMember(alert.labels)) continue;
		const identity = {
			alertname: alert.labels.alertname,
			slo: alert.labels.slo,
			severity: alert.severity,
			[SOURCE_LABEL]: alert.labels[SOURCE_LABEL],
			[GROUP_LABEL]: SOURCE_LABEL,
		};
		const fingerprint = fingerprintOf(identity);
		const group = groups.get(fingerprint) ?? { identity, members: [] as GroupableAlert[] };
		group.members.push(alert);
		groups.set(fingerprint, group);
	}
	const out: AlertCandidate[] = [];
	for (const [fingerprint, { identity, members }] of groups) {
		members.sort((a, b) => a.labels.connector_type.localeCompare(b.labels.connector_type) || a.labels.connector.localeCompare(b.labels.connector));
		const first = members[0];
		// Each member lists itself first (then others failing the same SLO anywhere): keep the members' own entries.
		const own = members.map((m) => m.annotations.failingConnectors?.[0] ?? { name: m.labels.connector, type: m.labels.connector_type, lastError: null });
		const before = previous.get(fingerprint);
		const earlier = before?.state === 'firing' ? before.annotations.failingConnectors ?? [] : [];
		const current = new Set(own.map(connectorKey));
		const connectors = [...own, ...earlier.filter((f) => !current.has(connectorKey(f)))];
		const types = [...new Set(members.map((m) => m.labels.connector_type))];
		out.push({
			keepFiringForSeconds: 0, // the members hold; the group fires while any of them does
			fingerprint,
			sloId: first.slo_id!,
			alertname: first.labels.alertname as AlertCandidate['alertname'],
			severity: first.severity,
			targetId: '',
			labels: { ...identity, sli_type: first.labels.sli_type, ...(types.length === 1 ? { connector_type: types[0] } : {}) },
			annotations: groupAnnotations(first.annotations, identity[SOURCE_LABEL], connectors, current.size),
		});
	}
	return out;
}

/** One member: its own words. Several: the first member's numbers under a title naming them all. */
function groupAnnotations(first: AlertAnnotations, source: string, connectors: FailingConnector[], firingNow: number): AlertAnnotations {
	const listed = connectors.slice(0, MAX_LISTED);
	if (connectors.length === 1) return { ...first, failingConnectors: listed };
	const names = connectors.map(connectorKey);
	const shown = names.length > 5 ? `${names.slice(0, 5).join(', ')} and ${names.length - 5} more` : names.join(', ');
	return {
		...first,
		title: `${first.slo}: ${connectors.length} connectors failing on ${source} (${shown})`,
		summary:
			`${firingNow} of the ${connectors.length} connectors reading from ${source} are burning their error budget now: one incident, one message. ` +
			`First of them: ${first.summary}`,
		action:
			`Check ${source} first: its connectors fail together. ${first.action ?? ''} This message resolves when every connector listed is back under its thresholds.`.trim(),
		failingConnectors: listed,
	};
}

/** The group alerts firing now (their connectors stay listed for the rest of the episode). */
export async function firingGroups(client: ClientBase): Promise<Map<string, GroupableAlert>> {
	const { rows } = await client.query<GroupableAlert>(
		`select fingerprint, slo_id, labels, annotations, severity, state, silenced_by, inhibited_by
		   from public.ipai_alert where state = 'firing' and labels ? $1`,
		[GROUP_LABEL],
	);
	return new Map(rows.map((r) => [r.fingerprint, r]));
}
