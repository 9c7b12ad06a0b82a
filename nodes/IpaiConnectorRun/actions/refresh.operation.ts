/** Refresh Transforms: refresh the materialized views of chosen layers in dependency order. */
import type { IDataObject } from 'n8n-workflow';
import { refreshMaterializedViews } from '../../../lib/lakehouse/refresh';
import { nodeError } from '../../shared/lakehouse';
import { perItem, type Operation } from '../../shared/items';

export const refresh: Operation = async function (session, items) {
	return perItem(this, items.slice(0, 1), async (i) => {
		const schemas = this.getNodeParameter('schemas', i) as string[];
		const refreshed = await refreshMaterializedViews(session.pool, schemas);
		return { schemas, refreshed } as unknown as IDataObject;
	}, (e, i) => nodeError(this.getNode(), e, i, session.secrets));
};
