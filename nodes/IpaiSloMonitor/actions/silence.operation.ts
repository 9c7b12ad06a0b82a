/** Silence: mute matching alerts for a while (the silence expires by itself). */
import type { IDataObject, INodeProperties } from 'n8n-workflow';
import { createSilence } from '../../../lib/slo/silences';
import { parseDuration } from '../../../lib/slo/windows';
import { nodeError } from '../../shared/lakehouse';
import { perItem, plain } from '../../shared/items';
import { forOperations } from '../../shared/resources';
import type { Operation } from './common';

const OPS: Record<string, string> = { equals: '=', notEquals: '!=', regex: '=~', notRegex: '!~' };

function optionalDate(value: unknown, what: string): Date | undefined {
	if (value === undefined || value === null || value === '') return undefined;
	const date = new Date(String(value));
	if (Number.isNaN(date.getTime())) throw new Error(`${what} "${String(value)}" is not a date`);
	return date;
}

export const description: INodeProperties[] = forOperations(['silence'], [
	{
		displayName: 'Matchers',
		name: 'matchers',
		type: 'fixedCollection',
		typeOptions: { multipleValues: true },
		default: { matcher: [{ label: 'connector', op: 'equals', value: '' }] },
		placeholder: 'Add Matcher',
		description: 'Alerts whose labels match all of these are muted. Labels: alertname, slo, severity, connector, connector_type, agent, team.',
		options: [
			{
				displayName: 'Matcher',
				name: 'matcher',
				values: [
					{ displayName: 'Label', name: 'label', type: 'string', default: 'connector' },
					{
						displayName: 'Operator',
						name: 'op',
						type: 'options',
						options: [
							{ name: 'Equals', value: 'equals' },
							{ name: 'Not Equals', value: 'notEquals' },
							{ name: 'Matches Regex', value: 'regex' },
							{ name: 'Does Not Match Regex', value: 'notRegex' },
						],
						default: 'equals',
					},
					{ displayName: 'Value', name: 'value', type: 'string', default: '' },
				],
			},
		],
	},
	{
		displayName: 'Duration',
		name: 'duration',
		type: 'string',
		default: '2h',
		placeholder: '2h, 30m, 1d',
		description: 'How long the silence lasts from its start; ignored when Ends At is set',
	},
	{
		displayName: 'Starts At',
		name: 'startsAt',
		type: 'dateTime',
		default: '',
		description: 'Empty: now',
	},
	{
		displayName: 'Ends At',
		name: 'endsAt',
		type: 'dateTime',
		default: '',
	},
	{
		displayName: 'Created By',
		name: 'createdBy',
		type: 'string',
		default: '',
		required: true,
		placeholder: 'alice',
	},
	{
		displayName: 'Comment',
		name: 'comment',
		type: 'string',
		default: '',
		required: true,
		placeholder: 'Odoo upgrade, maintenance window',
		description: 'Why: the person on call reads it',
	},
]);

export const execute: Operation = async function (session, items) {
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
