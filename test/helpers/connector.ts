/** Shortcuts for tests that need a registered connector with a running run. */
import type { Pool } from 'pg';
import { startRun } from '../../lib/lakehouse/runs';

let counter = 0;

export async function runningConnector(pool: Pool, name = `test-${process.pid}-${++counter}`): Promise<{ connectorId: string; runId: string }> {
	const started = await startRun(pool, { connector: { connectorType: 'test', name, config: {} }, leaseTimeoutSeconds: 600 });
	if (started.status !== 'running') throw new Error(`could not start a run for ${name}: ${started.status}`);
	return { connectorId: started.connectorId, runId: started.runId };
}
