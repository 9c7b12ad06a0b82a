/** List Results: recent evaluations, newest first. */
import type { IDataObject, IExecuteFunctions, INodeProperties } from 'n8n-workflow';
import { listResults } from '../../../lib/dq/results';
import { nodeError } from '../../shared/lakehouse';
import { perItem, type Operation } from '../../shared/items';
import { LIMIT_FIELD, forOperations } from '../../shared/resources';

export const description: INodeProperties[] = forOperations(['listResults'], [
	{
		displayName: 'Statuses',
		name: 'statuses',
		type: 'multiOptions',
		options: [
			{ name: 'Dropped', value: 'dropped' },
			{ name: 'Error', value: 'error' },
			{ name: 'Fail', value: 'fail' },
			{ name: 'Pass', value: 'pass' },
			{ name: 'Warn', value: 'warn' },
		],
		default: [],
	},
	{
		displayName: 'Since (Hours)',
		name: 'sinceHours',
		type: 'number',
		typeOptions: { minValue: 0 },
		default: 24,
		description: 'Results of the last so many hours (0: any time)',
	},
	LIMIT_FIELD,
]);

export const execute: Operation = async function (this: IExecuteFunctions, session, items) {
	return perItem(
		this,
		items.slice(0, 1),
		async (i) => {
			const table = (this.getNodeParameter('filterTable', i, '') as string).trim();
			const hours = this.getNodeParameter('sinceHours', i, 24) as number;
			return (await listResults(session.pool, {
				targetTable: table || undefined,
				status: this.getNodeParameter('statuses', i, []) as string[],
				since: hours > 0 ? new Date(Date.now() - hours * 3_600_000) : undefined,
				limit: this.getNodeParameter('limit', i, 50) as number,
			})) as IDataObject[];
		},
		(e, i) => nodeError(this.getNode(), e, i, session.secrets),
	);
};
