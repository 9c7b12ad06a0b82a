import type { IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';
import { chosenOperation } from '../../shared/items';
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
	const run = chosenOperation(this, OPERATIONS);
	const session = await openLakehouse(this);
	try {
		return [await run.call(this, session, this.getInputData())];
	} finally {
		await session.close();
	}
}
