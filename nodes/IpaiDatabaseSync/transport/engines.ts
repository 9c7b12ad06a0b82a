/**
 * The database engines the node can sync from: each names its credential type and builds the
 * engine from that credential. An engine is added here (with its credential in package.json).
 */
import type { ICredentialDataDecryptedObject } from 'n8n-workflow';
import type { DbConnectionSettings, DbEngine, DbEngineName } from '../../../lib/sources/db/engine';
import { PgEngine } from '../../../lib/sources/db/postgres/engine';
import { MySqlEngine } from '../../../lib/sources/db/mysql/engine';

export interface EngineEntry {
	label: string;
	credential: string;
	/** The credential's connection settings (host, port, database, user, password, TLS). */
	settings(data: ICredentialDataDecryptedObject): DbConnectionSettings;
	/** The source as the lakehouse server reaches it (mode fdw); omit for engines without that path. */
	fdwSettings?(data: ICredentialDataDecryptedObject): DbConnectionSettings;
	create(settings: DbConnectionSettings): DbEngine;
}

function connectionSettings(data: ICredentialDataDecryptedObject, defaultPort: number): DbConnectionSettings {
	return {
		host: String(data.host ?? '').trim(),
		port: Number(data.port) || defaultPort,
		database: String(data.database ?? '').trim(),
		user: String(data.user ?? '').trim(),
		password: String(data.password ?? ''),
		ssl: (data.ssl as DbConnectionSettings['ssl']) || 'require',
		ca: String(data.ca ?? '') || undefined,
	};
}

export const ENGINES: Partial<Record<DbEngineName, EngineEntry>> = {
	postgres: {
		label: 'PostgreSQL',
		credential: 'ipaiPostgresSourceApi',
		settings: (data) => connectionSettings(data, 5432),
		fdwSettings: (data) => {
			const settings = connectionSettings(data, 5432);
			return { ...settings, host: String(data.fdwHost ?? '').trim() || settings.host, port: Number(data.fdwPort) || settings.port };
		},
		create: (settings) => new PgEngine(settings),
	},
	mysql: {
		label: 'MySQL / MariaDB',
		credential: 'ipaiMySqlSourceApi',
		settings: (data) => ({ ...connectionSettings(data, 3306), checkBinlog: data.testBinlog === true }),
		create: (settings) => new MySqlEngine(settings),
	},
};

export function engineEntry(name: string): EngineEntry {
	const entry = ENGINES[name as DbEngineName];
	if (!entry) throw new Error(`Unknown database engine "${name}"; choose one of ${Object.keys(ENGINES).join(', ')}`);
	return entry;
}
