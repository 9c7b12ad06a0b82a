/** Dropdowns (schemas → tables → columns) and the credential test, read from the source itself. */
import type {
	ICredentialsDecrypted,
	ICredentialTestFunctions,
	ILoadOptionsFunctions,
	INodeCredentialTestResult,
	INodeListSearchResult,
	INodePropertyOptions,
} from 'n8n-workflow';
import { DbSourceError, type DbEngine } from '../../../lib/sources/db/engine';
import { ENGINES, openEngine } from '../transport';

function locatorValue(value: unknown): string {
	if (value && typeof value === 'object' && 'value' in value) return String((value as { value: unknown }).value ?? '');
	return String(value ?? '');
}

async function withEngine<T>(fn: ILoadOptionsFunctions, work: (engine: DbEngine) => Promise<T>): Promise<T> {
	const { engine } = await openEngine(fn, (fn.getCurrentNodeParameter('engine') as string) || 'postgres');
	try {
		return await work(engine);
	} finally {
		await engine.close();
	}
}

const matches = (filter: string | undefined) => (name: string) => !filter || name.toLowerCase().includes(filter.toLowerCase());

/** The schema of the table being edited (inside Tables), or of Discover. */
function currentSchema(fn: ILoadOptionsFunctions): string {
	return locatorValue(fn.getCurrentNodeParameter('&schema') ?? fn.getCurrentNodeParameter('schema'));
}

export const listSearch = {
	async searchSchemas(this: ILoadOptionsFunctions, filter?: string): Promise<INodeListSearchResult> {
		const schemas = await withEngine(this, (engine) => engine.listSchemas());
		return { results: schemas.filter(matches(filter)).map((s) => ({ name: s, value: s })) };
	},
	async searchTables(this: ILoadOptionsFunctions, filter?: string): Promise<INodeListSearchResult> {
		const schema = currentSchema(this);
		if (!schema) return { results: [] };
		const tables = await withEngine(this, (engine) => engine.listTables(schema));
		return {
			results: tables
				.filter((t) => matches(filter)(t.name))
				.map((t) => ({ name: t.estimatedRows === null ? t.name : `${t.name} (~${t.estimatedRows} rows)`, value: t.name })),
		};
	},
};

export const loadOptions = {
	async getColumns(this: ILoadOptionsFunctions): Promise<INodePropertyOptions[]> {
		const schema = currentSchema(this);
		const table = locatorValue(this.getCurrentNodeParameter('&table'));
		if (!schema || !table) return [];
		const info = await withEngine(this, (engine) => engine.describeTable({ schema, name: table }));
		return info.columns.map((c) => ({
			name: `${c.name} (${c.sourceType}${info.primaryKey?.includes(c.name) ? ', key' : ''}${c.bronzeType ? '' : ', no bronze mapping'})`,
			value: c.name,
		}));
	},
};

/** One credential test per engine: connect and say what failed. */
export const credentialTest = Object.fromEntries(
	Object.entries(ENGINES).map(([name, entry]) => [
		`${name}SourceTest`,
		async function (this: ICredentialTestFunctions, credential: ICredentialsDecrypted): Promise<INodeCredentialTestResult> {
			const settings = entry!.settings(credential.data ?? {});
			const engine = entry!.create(settings);
			try {
				await engine.test();
				return { status: 'OK', message: `Connected to ${entry!.label} database "${settings.database}" as ${settings.user}` };
			} catch (error) {
				const message = error instanceof DbSourceError ? error.message : String((error as Error).message);
				return { status: 'Error', message: settings.password ? message.split(settings.password).join('***') : message };
			} finally {
				await engine.close();
			}
		},
	]),
);
