import type { IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';
import { openLakehouse } from '../../shared/lakehouse';
import type { Operation } from './common';
import * as evaluate from './evaluate.operation';
import * as getStatus from './getStatus.operation';
import * as notify from './notify.operation';
import * as postMessage from './postMessage.operation';
import * as setSlo from './setSlo.operation';
import * as silence from './silence.operation';
import * as unsilence from './unsilence.operation';

const OPERATIONS: Record<string, Operation> = {
	evaluate: evaluate.execute,
	getStatus: getStatus.execute,
	notify: notify.execute,
	postMessage: postMessage.execute,
	setSlo: setSlo.execute,
	silence: silence.execute,
	unsilence: unsilence.execute,
};

/** One pool per execution of the node, shared by all its items and closed when they are done. */
export async function router(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
	const operation = this.getNodeParameter('operation', 0) as string;
	const run = OPERATIONS[operation];
	if (!run) throw new NodeOperationError(this.getNode(), `Unknown operation "${operation}"`);
	const session = await openLakehouse(this);
	try {
		return [await run.call(this, session, this.getInputData())];
	} finally {
		await session.close();
	}
}
