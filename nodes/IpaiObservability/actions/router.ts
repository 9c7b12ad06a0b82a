import type { IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';
import { chosenOperation, type Operation } from '../../shared/items';
import { openLakehouse } from '../../shared/lakehouse';
import * as postDigest from './postDigest.operation';
import * as renderMetrics from './renderMetrics.operation';

const OPERATIONS: Record<string, Operation> = { renderMetrics: renderMetrics.execute, postDigest: postDigest.execute };

/** One pool per execution of the node, closed when its items are done. */
export async function router(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
	const run = chosenOperation(this, OPERATIONS);
	const session = await openLakehouse(this);
	try {
		return [await run.call(this, session, this.getInputData())];
	} finally {
		await session.close();
	}
}
