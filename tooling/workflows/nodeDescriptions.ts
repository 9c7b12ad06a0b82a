/**
 * Node and credential descriptions for tooling/workflows/validate.ts:
 * - this package's, from its node and credential classes (the TypeScript sources listed in
 *   package.json `n8n`, loaded through ts-jest / ts-node: `new Class().description`;
 *   versioned nodes contribute every `nodeVersions` entry);
 * - n8n's own, from the installed n8n (tooling/n8n/n8nRuntime.ts n8nHome()):
 *   `node_modules/n8n-nodes-base/dist/types/{nodes,credentials}.json` and the same files of
 *   `@n8n/n8n-nodes-langchain` — the files n8n's editor reads.
 */
import * as fs from 'fs';
import * as path from 'path';
import type { INodeTypeDescription } from 'n8n-workflow';
import { type CredentialTypeDescription, NodeTypeRegistry } from './nodeTypes';
import { n8nHome } from '../n8n/n8nRuntime';

const ROOT = path.resolve(__dirname, '..', '..');

interface PackageJson {
	name: string;
	n8n: { nodes: string[]; credentials: string[] };
}

/** dist/nodes/X/X.node.js → <root>/nodes/X/X.node.ts */
function sourceOf(distPath: string): string {
	return path.join(ROOT, distPath.replace(/^dist\//, '').replace(/\.js$/, '.ts'));
}

function loadClasses(distPaths: string[]): Array<{ file: string; instance: Record<string, unknown> }> {
	return distPaths.map((distPath) => {
		const file = sourceOf(distPath);
		// eslint-disable-next-line @typescript-eslint/no-require-imports
		const exported = require(file) as Record<string, unknown>;
		const className = path.basename(file).split('.')[0];
		const Class = (exported[className] ?? Object.values(exported).find((value) => typeof value === 'function')) as
			| (new () => Record<string, unknown>)
			| undefined;
		if (!Class) throw new Error(`${file} exports no class ${className}`);
		return { file, instance: new Class() };
	});
}

export function packageJson(): PackageJson {
	return JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as PackageJson;
}

export function loadPackageNodeDescriptions(): INodeTypeDescription[] {
	const descriptions: INodeTypeDescription[] = [];
	for (const { instance } of loadClasses(packageJson().n8n.nodes)) {
		const base = instance.description as INodeTypeDescription;
		const versions = instance.nodeVersions as Record<string, { description: INodeTypeDescription }> | undefined;
		if (versions) {
			// VersionedNodeType: the base description (name, defaultVersion…) + each version's own.
			for (const node of Object.values(versions)) descriptions.push({ ...base, ...node.description });
		} else descriptions.push(base);
	}
	return descriptions;
}

export function loadPackageCredentialDescriptions(): CredentialTypeDescription[] {
	return loadClasses(packageJson().n8n.credentials).map(({ instance }) => ({
		name: instance.name as string,
		displayName: instance.displayName as string,
	}));
}

const N8N_PACKAGES = ['n8n-nodes-base', '@n8n/n8n-nodes-langchain'];

/** Where n8n's description files are; throws with the install command when n8n is missing. */
export function n8nTypesDir(packageName: string): string {
	const dir = path.join(n8nHome(), 'node_modules', packageName, 'dist', 'types');
	if (!fs.existsSync(path.join(dir, 'nodes.json'))) {
		throw new Error(
			`n8n's node descriptions are missing (${path.join(dir, 'nodes.json')}). ` +
				'Install the n8n the tests use with `bash scripts/n8n-runtime.sh install` (CI does this before `npm test`), ' +
				'or point IPAI_N8N_HOME at an existing install.',
		);
	}
	return dir;
}

let cached: NodeTypeRegistry | undefined;

/** Registry with this package's nodes and credentials and n8n's built-in ones. */
export function loadRegistry(): NodeTypeRegistry {
	if (cached) return cached;
	const registry = new NodeTypeRegistry();
	registry.addNodes(packageJson().name, loadPackageNodeDescriptions());
	registry.addCredentials(loadPackageCredentialDescriptions());
	for (const name of N8N_PACKAGES) {
		const dir = n8nTypesDir(name);
		registry.addNodes(name, JSON.parse(fs.readFileSync(path.join(dir, 'nodes.json'), 'utf8')) as INodeTypeDescription[]);
		registry.addCredentials(JSON.parse(fs.readFileSync(path.join(dir, 'credentials.json'), 'utf8')) as CredentialTypeDescription[]);
	}
	cached = registry;
	return registry;
}
