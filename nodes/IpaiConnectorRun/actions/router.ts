import type { IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';
import { openLakehouse } from '../../shared/lakehouse';
import type { Operation } from '../../shared/items';
import { dispatch } from './dispatch.operation';
import { loadItems } from './load.operation';
import { refresh } from './refresh.operation';
import { fail, finish, getRuns, heartbeatRun, start } from './run.operation';
import { getState, setState } from './state.operation';

const OPERATIONS: Record<string, Operation> = {
	start,
	dispatch,
	heartbeat: heartbeatRun,
	finish,
	fail,
	getRuns,
	getState,
	setState,
	loadItems,
	refresh,
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
