/**
 * Silences, as Alertmanager has them: label matchers (=, !=, =~, !~; regexes anchored), a time
 * window, who created it and why. A silence is active from starts_at until ends_at (or until it is
 * expired early); nothing has to remove it — past ends_at it simply stops matching.
 */
import type { ClientBase, Pool } from 'pg';
import { writeAudit } from '../lakehouse/audit';
import { inTransaction } from '../lakehouse/connection';

export type MatcherOp = '=' | '!=' | '=~' | '!~';

export interface Matcher {
	label: string;
	op: MatcherOp;
	value: string;
}

export interface Silence {
	id: string;
	matchers: Matcher[];
	startsAt: string;
	endsAt: string;
	createdBy: string;
	comment: string;
	createdAt: string;
	expiredAt: string | null;
	expiredBy: string | null;
	state: 'pending' | 'active' | 'expired';
}

export class SilenceError extends Error {}

const OPS: readonly MatcherOp[] = ['=', '!=', '=~', '!~'];

export function validateMatchers(value: unknown): Matcher[] {
	if (!Array.isArray(value) || value.length === 0) {
		throw new SilenceError('A silence needs at least one matcher, e.g. [{"label": "connector", "op": "=", "value": "odoo-prod"}]');
	}
	const matchers = value.map((raw, i) => {
		const m = (raw ?? {}) as Record<string, unknown>;
		const label = typeof m.label === 'string' ? m.label.trim() : '';
		const op = (m.op ?? '=') as MatcherOp;
		const v = m.value;
		if (!label) throw new SilenceError(`Matcher ${i + 1} has no label name`);
		if (!OPS.includes(op)) throw new SilenceError(`Matcher ${i + 1} has operator "${String(op)}"; use one of ${OPS.join(' ')}`);
		if (typeof v !== 'string') throw new SilenceError(`Matcher ${i + 1} needs a string value`);
		if (op === '=~' || op === '!~') {
			try {
				new RegExp(`^(?:${v})$`);
			} catch {
				throw new SilenceError(`Matcher ${i + 1}: "${v}" is not a valid regular expression`);
			}
		}
		return { label, op, value: v };
	});
	// Alertmanager refuses silences that match everything: at least one matcher must not match "".
	if (matchers.every((m) => matches([m], {}))) {
		throw new SilenceError('Every matcher also matches an empty label, so the silence would mute every alert; add a matcher that names something');
	}
	return matchers;
}

/** A missing label is the empty string (Alertmanager's rule). */
export function matches(matchers: Matcher[], labels: Record<string, string>): boolean {
	return matchers.every((m) => {
		const value = labels[m.label] ?? '';
		switch (m.op) {
			case '=':
				return value === m.value;
			case '!=':
				return value !== m.value;
			case '=~':
				return new RegExp(`^(?:${m.value})$`).test(value);
			case '!~':
				return !new RegExp(`^(?:${m.value})$`).test(value);
		}
		return false;
	});
}

interface SilenceRow {
	id: string;
	matchers: Matcher[];
	starts_at: Date;
	ends_at: Date;
	created_by: string;
	comment: string;
	created_at: Date;
	expired_at: Date | null;
	expired_by: string | null;
}

function toSilence(row: SilenceRow, now: Date): Silence {
	const end = row.expired_at && row.expired_at < row.ends_at ? row.expired_at : row.ends_at;
	return {
		id: row.id,
		matchers: row.matchers,
		startsAt: row.starts_at.toISOString(),
		endsAt: row.ends_at.toISOString(),
		createdBy: row.created_by,
		comment: row.comment,
		createdAt: row.created_at.toISOString(),
		expiredAt: row.expired_at?.toISOString() ?? null,
		expiredBy: row.expired_by,
		state: now < row.starts_at ? 'pending' : now < end ? 'active' : 'expired',
	};
}

const ACTIVE = `starts_at <= $1 and ends_at > $1 and (expired_at is null or expired_at > $1)`;

export async function activeSilences(db: Pool | ClientBase, now: Date): Promise<Silence[]> {
	const { rows } = await db.query<SilenceRow>(`select * from public.ipai_silence where ${ACTIVE} order by created_at`, [now]);
	return rows.map((r) => toSilence(r, now));
}

export async function listSilences(db: Pool | ClientBase, now: Date, includeExpired = false): Promise<Silence[]> {
	const { rows } = await db.query<SilenceRow>(
		`select * from public.ipai_silence
		  where $2 or (ends_at > $1 and (expired_at is null or expired_at > $1))
		  order by starts_at desc limit 500`,
		[now, includeExpired],
	);
	return rows.map((r) => toSilence(r, now));
}

export interface CreateSilence {
	matchers: unknown;
	startsAt?: Date;
	endsAt?: Date;
	/** Alternative to endsAt, e.g. "2h". */
	durationSeconds?: number;
	createdBy: string;
	comment: string;
	now?: Date;
}

export async function createSilence(pool: Pool, input: CreateSilence): Promise<Silence> {
	const matchers = validateMatchers(input.matchers);
	const now = input.now ?? new Date();
	const startsAt = input.startsAt ?? now;
	const endsAt = input.endsAt ?? (input.durationSeconds ? new Date(startsAt.getTime() + input.durationSeconds * 1000) : undefined);
	if (!endsAt) throw new SilenceError('A silence needs an end (ends at, or a duration): silences expire by themselves');
	if (Number.isNaN(startsAt.getTime()) || Number.isNaN(endsAt.getTime())) throw new SilenceError('The silence start or end is not a valid date');
	if (endsAt <= startsAt) throw new SilenceError('The silence must end after it starts');
	if (endsAt <= now) throw new SilenceError('The silence would already be over: its end is in the past');
	if (!input.createdBy?.trim()) throw new SilenceError('Say who creates the silence (created by)');
	if (!input.comment?.trim()) throw new SilenceError('Say why (comment): the person on call reads it');
	return inTransaction(pool, async (client) => {
		const { rows } = await client.query<SilenceRow>(
			`insert into public.ipai_silence (matchers, starts_at, ends_at, created_by, comment, created_at)
			 values ($1, $2, $3, $4, $5, $6) returning *`,
			[JSON.stringify(matchers), startsAt, endsAt, input.createdBy.trim(), input.comment.trim(), now],
		);
		await writeAudit(client, {
			eventType: 'alert', entityType: 'slo', action: 'silence',
			details: { silence_id: rows[0].id, matchers, starts_at: startsAt, ends_at: endsAt, created_by: input.createdBy, comment: input.comment },
		});
		return toSilence(rows[0], now);
	});
}

/** Ends a silence now (Alertmanager's "expire"); the record keeps its original window. */
export async function expireSilence(pool: Pool, id: string, expiredBy: string, now = new Date()): Promise<Silence> {
	if (!/^[0-9a-f-]{36}$/i.test(id)) throw new SilenceError(`"${id}" is not a silence id`);
	return inTransaction(pool, async (client) => {
		const { rows } = await client.query<SilenceRow>(
			`update public.ipai_silence set expired_at = $2, expired_by = $3
			  where id = $1 and (expired_at is null or expired_at > $2) returning *`,
			[id, now, expiredBy || 'unknown'],
		);
		if (rows.length === 0) {
			const existing = await client.query<SilenceRow>('select * from public.ipai_silence where id = $1', [id]);
			if (existing.rows.length === 0) throw new SilenceError(`No silence has the id ${id}`);
			return toSilence(existing.rows[0], now); // already expired: nothing to do
		}
		await writeAudit(client, { eventType: 'alert', entityType: 'slo', action: 'unsilence', details: { silence_id: id, expired_by: expiredBy } });
		return toSilence(rows[0], now);
	});
}
