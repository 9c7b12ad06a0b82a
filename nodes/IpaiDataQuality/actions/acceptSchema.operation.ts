/** Accept Schema: the table's current columns become what its schema_drift expectation compares against. */
import type { IDataObject, IExecuteFunctions, INodeProperties } from 'n8n-workflow';
import { acceptCurrentSchema } from '../../../lib/dq/evaluate';
import { listExpectations } from '../../../lib/dq/definitions';
import { nodeError } from '../../shared/lakehouse';
import { actionableError, perItem, type Operation } from '../../shared/items';

/** Table and Expectation Name are shared with Define (./common.ts). */
export const description: INodeProperties[] = [];

export const execute: Operation = async function (this: IExecuteFunctions, session, items) {
	return perItem(
		this,
		items,
		async (i) => {
			const table = this.getNodeParameter('targetTable', i) as string;
			const name = this.getNodeParameter('name', i) as string;
			const expectation = (await listExpectations(session.pool, { targetTable: table })).find((e) => e.name === name && e.kind === 'schema_drift');
			if (!expectation) throw actionableError(this.getNode(), `${table} has no schema_drift expectation named ${name}`, { itemIndex: i });
			const accepted = await acceptCurrentSchema(session.pool, expectation.id);
			return { table, expectation: name, acceptedSchema: accepted } as IDataObject;
		},
		(e, i) => (e instanceof Error && e.name === 'NodeOperationError' ? (e as never) : nodeError(this.getNode(), e, i, session.secrets)),
	);
};
