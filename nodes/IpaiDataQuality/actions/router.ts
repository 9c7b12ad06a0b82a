import type { IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';
import { chosenOperation, type Operation } from '../../shared/items';
import { openLakehouse } from '../../shared/lakehouse';
import * as acceptSchema from './acceptSchema.operation';
import * as define from './define.operation';
import * as evaluate from './evaluate.operation';
import * as listExpectations from './listExpectations.operation';
import * as listResults from './listResults.operation';

const OPERATIONS: Record<string, Operation> = {
	define: define.execute,
	evaluate: evaluate.execute,
	listExpectations: listExpectations.execute,
	listResults: listResults.execute,
	acceptSchema: acceptSchema.execute,
};

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
