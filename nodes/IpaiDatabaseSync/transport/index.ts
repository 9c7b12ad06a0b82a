import type { IExecuteFunctions, ILoadOptionsFunctions } from 'n8n-workflow';
import type { DbConnectionSettings, DbEngine } from '../../../lib/sources/db/engine';
import { engineEntry, type EngineEntry } from './engines';

export { ENGINES, engineEntry } from './engines';

/** The engine chosen on the node, built from its credential. */
export async function openEngine(fn: IExecuteFunctions | ILoadOptionsFunctions, engineName: string): Promise<{ engine: DbEngine; settings: DbConnectionSettings; entry: EngineEntry; fdw?: DbConnectionSettings }> {
	const entry = engineEntry(engineName);
	const data = await fn.getCredentials(entry.credential);
	const settings = entry.settings(data);
	return { engine: entry.create(settings), settings, entry, fdw: entry.fdwSettings?.(data) };
}
