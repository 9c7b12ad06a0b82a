/**
 * What a Mattermost post says: an SLO notification (page, ticket, repeat, flapping, resolved) or a
 * plain message, with one attachment, every text redacted and the whole post within Mattermost's
 * size limit. Delivery is mattermost.ts.
 */
import { redact } from '../lakehouse/secrets';
import type { DueNotification } from './types';
import { formatDuration } from './windows';

/** Mattermost's post limit since 5.0 (PostMessageMaxRunesV2); counted in code points. */
export const MAX_POST_RUNES = 16_383;

export interface Attachment {
	fallback: string;
	color: string;
	pretext?: string;
	title: string;
	title_link?: string;
	text: string;
	fields: Array<{ title: string; value: string; short: boolean }>;
	footer?: string;
}

export interface PostBody {
	text: string;
	attachments: Attachment[];
	priority?: { priority: 'urgent' | 'important' | 'standard'; requested_ack?: boolean };
}

/** Cuts to `max` code points (never splits a surrogate pair), marking the cut. */
export function cutRunes(text: string, max = MAX_POST_RUNES): string {
	const runes = Array.from(text);
	if (runes.length <= max) return text;
	return `${runes.slice(0, max - 1).join('')}…`;
}

const COLOURS = { page: '#d0021b', ticket: '#f5a623', resolved: '#2eb886' } as const;

function pct(value: number | null | undefined): string {
	return value === null || value === undefined ? 'n/a' : `${Math.round(value * 1000) / 10}%`;
}

/** The message for one notification: text, one attachment, and priority for pages. */
export function buildPost(n: DueNotification, secrets: readonly string[] = []): PostBody {
	const p = n.payload;
	const resolved = n.kind === 'resolved';
	const flapping = n.kind === 'flapping';
	const tag = resolved ? 'RESOLVED' : flapping ? 'FLAPPING' : n.severity === 'page' ? 'PAGE' : 'TICKET';
	const icon = resolved ? ':white_check_mark:' : flapping ? ':repeat:' : n.severity === 'page' ? ':rotating_light:' : ':warning:';
	const repeat = n.kind === 'repeat' ? ' (still firing)' : '';
	const headline = `${icon} **[${tag}]** ${p.title}${repeat}`;
	const second = resolved
		? `Resolved at ${p.resolvedAt ?? 'now'} after firing since ${p.startedAt ?? 'n/a'}.`
		: flapping
			? `The condition cleared and came back within the hold${p.flapCount && p.flapCount > 1 ? ` (${p.flapCount} times)` : ''}: this is still the incident paged at ${p.startedAt ?? 'n/a'}, not a new one. It resolves once every window stays under its threshold for the hold period.`
			: p.summary;
	const lines = [headline, second];

	const failing = (p.failingConnectors ?? []).map((f) => {
		const error = f.lastError?.message ? `: ${oneLine(f.lastError.message, 300)}` : '';
		const link = f.lastError?.executionUrl ? ` ([execution](${f.lastError.executionUrl}))` : '';
		return `- ${f.type}/${f.name}${error}${link}`;
	});
	const windows = (p.firingWindows ?? []).map(
		(w) => `${w.name}: ${w.longBurnRate}× over ${formatDuration(w.longSeconds)}, ${w.shortBurnRate}× over ${formatDuration(w.shortSeconds)} (threshold ${w.factor}×)`,
	);
	const links = [
		p.executionUrl ? `[Failed n8n execution](${p.executionUrl})` : '',
		p.runbookUrl ? `[Runbook](${p.runbookUrl})` : '',
		p.alertRunbookUrl && p.alertRunbookUrl !== p.runbookUrl ? `[${p.runbookUrl ? 'Alert runbook' : 'Runbook'}](${p.alertRunbookUrl})` : '',
	].filter(Boolean);

	const fields: Attachment['fields'] = [
		{ title: 'SLO', value: `${p.slo} (${pct(p.objective)} over ${formatDuration(p.periodSeconds)})`, short: true },
		{ title: 'Severity', value: resolved ? `resolved (${n.severity})` : n.severity, short: true },
		{ title: 'Error budget left', value: pct(p.errorBudgetRemaining), short: true },
	];
	// A resolved message has no current burn to report; the firing one said how fast it burned.
	// A budget alert has no burn rate: it says what was used of which limit, and what to do.
	if (!resolved && p.budget) fields.splice(2, 0, { title: 'Budget', value: budgetLine(p.budget), short: true });
	else if (!resolved) fields.splice(2, 0, { title: 'Burn rate', value: p.burnRate === null || p.burnRate === undefined ? 'n/a' : `${p.burnRate}×`, short: true });
	if (!resolved && p.action) fields.push({ title: 'What to do', value: p.action, short: false });
	else if (resolved) fields.push({ title: 'What to do', value: 'Nothing urgent: note the cause in the incident thread; the runbook lists follow-ups.', short: false });
	if (windows.length && !resolved) fields.push({ title: 'Windows', value: windows.join('\n'), short: false });
	if (failing.length) fields.push({ title: 'Failing connectors', value: failing.join('\n'), short: false });
	if (links.length) fields.push({ title: 'Links', value: links.join(' · '), short: false });

	const attachment: Attachment = {
		fallback: cutRunes(`[${tag}] ${p.title}`, 1000),
		color: resolved ? COLOURS.resolved : COLOURS[n.severity],
		title: p.title,
		title_link: p.runbookUrl ?? p.alertRunbookUrl ?? undefined,
		text: p.sloDescription ?? '',
		fields,
		footer: `IPAI SLO monitor · alert ${n.fingerprint.slice(0, 12)}`,
	};
	const body: PostBody = { text: lines.join('\n'), attachments: [attachment] };
	if (!resolved && !flapping && n.severity === 'page') body.priority = { priority: 'urgent', requested_ack: true };
	return sanitize(body, secrets);
}

export interface PlainMessage {
	title: string;
	text: string;
	severity: 'page' | 'ticket' | 'info';
	link?: string | null;
	fields?: Array<{ title: string; value: string }>;
	footer?: string;
}

/**
 * A message that is not an SLO alert (a failed pipeline from the error workflow, a dispatcher
 * problem): the same look, redaction and size limits as the alerts.
 */
export function buildMessagePost(m: PlainMessage, secrets: readonly string[] = []): PostBody {
	const icon = m.severity === 'page' ? ':rotating_light:' : m.severity === 'ticket' ? ':warning:' : ':information_source:';
	const tag = m.severity === 'info' ? '' : ` **[${m.severity.toUpperCase()}]**`;
	const body: PostBody = {
		text: `${icon}${tag} ${m.title}\n${m.text}`,
		attachments: [
			{
				fallback: cutRunes(m.title, 1000),
				color: m.severity === 'info' ? COLOURS.resolved : COLOURS[m.severity],
				title: m.title,
				title_link: m.link ?? undefined,
				text: '',
				fields: (m.fields ?? []).filter((f) => f.value !== '').map((f) => ({ ...f, short: f.value.length <= 40 })),
				footer: m.footer ?? 'IPAI lakehouse',
			},
		],
	};
	if (m.severity === 'page') body.priority = { priority: 'urgent', requested_ack: true };
	return sanitize(body, secrets);
}

function budgetLine(b: NonNullable<DueNotification['payload']['budget']>): string {
	const fmt = (v: number | null) => (v === null ? 'n/a' : b.unit === 'usd' ? `$${Number(v.toFixed(4))}` : `${Math.round(v).toLocaleString('en-US')} ms`);
	const name = b.kind.replace('_', ' ');
	return b.kind.startsWith('daily_') ? `${name}: ${fmt(b.used)} of ${fmt(b.limit)} (UTC ${b.day ?? 'today'})` : `${name}: ${b.events} × over ${fmt(b.limit)} (worst ${fmt(b.used)})`;
}

function oneLine(text: string, max: number): string {
	return cutRunes(text.replace(/\s+/g, ' ').trim(), max);
}

/** Redacts every string and keeps the whole post within Mattermost's limit. */
function sanitize(body: PostBody, secrets: readonly string[]): PostBody {
	const clean = (s: string) => redact(s, secrets);
	const attachments = body.attachments.map((a) => ({
		...a,
		fallback: clean(a.fallback),
		title: clean(a.title),
		text: cutRunes(clean(a.text), 4000),
		fields: a.fields.map((f) => ({ ...f, title: clean(f.title), value: cutRunes(clean(f.value), 8000) })),
	}));
	return { ...body, text: cutRunes(clean(body.text)), attachments };
}
