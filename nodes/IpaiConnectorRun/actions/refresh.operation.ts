/**
 * Refresh Transforms: refresh the materialized views and transform tables of chosen layers in
 * dependency order, checked against their `fail` expectations before the refresh commits.
 */
import type { IDataObject, INodeProperties } from 'n8n-workflow';
import { ExpectationFailedError } from '../../../lib/dq/types';
import { redact } from '../../../lib/lakehouse/secrets';
import { refreshMaterializedViews } from '../../../lib/lakehouse/refresh';
import { nodeError } from '../../shared/lakehouse';
import { actionableError, perItem, type Operation } from '../../shared/items';
import { forOperations } from '../../shared/resources';

export const description: INodeProperties[] = forOperations(['refresh'], [
	{
		displayName: 'Schema Names or IDs',
		name: 'schemas',
		type: 'multiOptions',
		typeOptions: { loadOptionsMethod: 'getTransformSchemas' },
		default: [],
		required: true,
		description: 'Layers whose materialized views to refresh. Choose from the list, or specify IDs using an <a href="https://docs.n8n.io/code/expressions/">expression</a>.',
	},
]);

export const execute: Operation = async function (session, items) {
	return perItem(this, items.slice(0, 1), async (i) => {
		const schemas = this.getNodeParameter('schemas', i) as string[];
		const refreshed = await refreshMaterializedViews(session.pool, schemas, { secrets: session.secrets });
		return { schemas, refreshed } as unknown as IDataObject;
	}, (e, i) =>
		e instanceof ExpectationFailedError
			? actionableError(this.getNode(), redact(e.message, session.secrets), {
					itemIndex: i,
					description: 'The refresh was rolled back: readers keep the previous contents. Every result is recorded in ipai_dq_result; see IPAI Data Quality › List Results and the runbook.',
				})
			: nodeError(this.getNode(), e, i, session.secrets));
};
