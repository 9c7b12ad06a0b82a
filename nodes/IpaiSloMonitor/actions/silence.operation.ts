/** Silence and Unsilence. */
import type { IDataObject } from 'n8n-workflow';
import { createSilence, expireSilence } from '../../../lib/slo/silences';
import { parseDuration } from '../../../lib/slo/windows';
import { nodeError } from '../../shared/lakehouse';
import { perItem, plain } from '../../shared/items';
import type { Operation } from './context';

const OPS: Record<string, string> = { equals: '=', notEquals: '!=', regex: '=~', notRegex: '!~' };

function optionalDate(value: unknown, what: string): Date | undefined {
	if (value === undefined || value === null || value === '') return undefined;
	const date = new Date(String(value));
	if (Number.isNaN(date.getTime())) throw new Error(`${what} "${String(value)}" is not a date`);
	return date;
}

export const silence: Operation = async function (session, items) {
	return perItem(this, items, async (i) => {
		const raw = ((this.getNodeParameter('matchers', i, {}) as IDataObject).matcher ?? []) as IDataObject[];
		const matchers = raw.map((m) => ({ ...m, op: OPS[String(m.op)] ?? m.op }));
		const endsAt = optionalDate(this.getNodeParameter('endsAt', i, ''), 'Ends At');
		const duration = this.getNodeParameter('duration', i, '') as string;
		const created = await createSilence(session.pool, {
			matchers,
			startsAt: optionalDate(this.getNodeParameter('startsAt', i, ''), 'Starts At'),
			endsAt,
			durationSeconds: endsAt ? undefined : duration ? parseDuration(duration, 'Duration') : undefined,
			createdBy: this.getNodeParameter('createdBy', i) as string,
			comment: this.getNodeParameter('comment', i) as string,
		});
		return plain(created as unknown as IDataObject);
	}, (e, i) => nodeError(this.getNode(), e, i, session.secrets));
};

export const unsilence: Operation = async function (session, items) {
	return perItem(this, items, async (i) => {
		const expired = await expireSilence(
			session.pool,
			String(this.getNodeParameter('silenceId', i)).trim(),
			(this.getNodeParameter('expiredBy', i, '') as string) || `n8n execution ${this.getExecutionId()}`,
		);
		return plain(expired as unknown as IDataObject);
	}, (e, i) => nodeError(this.getNode(), e, i, session.secrets));
};
