import type { IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';
import type { Operation } from '../../shared/items';
import { openLakehouse } from '../../shared/lakehouse';
import { acceptSchemaOperation } from './acceptSchema.operation';
import { defineOperation } from './define.operation';
import { evaluateOperation } from './evaluate.operation';
import { listExpectationsOperation } from './listExpectations.operation';
import { listResultsOperation } from './listResults.operation';

const OPERATIONS: Record<string, Operation> = {
	define: defineOperation,
	evaluate: evaluateOperation,
	listExpectations: listExpectationsOperation,
	listResults: listResultsOperation,
	acceptSchema: acceptSchemaOperation,
};

/** One pool per execution of the node, closed when its items are done. */
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
