import type { IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';
import { openLakehouse } from '../../shared/lakehouse';
import type { Operation } from './context';
import { evaluate, getStatus } from './evaluate.operation';
import { notify } from './notify.operation';
import { postMessage } from './postMessage.operation';
import { setSlo } from './setSlo.operation';
import { silence, unsilence } from './silence.operation';

const OPERATIONS: Record<string, Operation> = { evaluate, getStatus, notify, postMessage, setSlo, silence, unsilence };

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
