/** The node and credential types a workflow is checked against (validate.ts). */
import type { ICredentialType, INodeProperties, INodeTypeDescription } from 'n8n-workflow';

/** What the validator reads of a credential type (n8n's credentials.json has more). */
export type CredentialTypeDescription = Pick<ICredentialType, 'name' | 'displayName'>;

export interface RegisteredType {
	description: INodeTypeDescription;
	versions: number[];
}

/**
 * Node and credential types known to the validator. Node types are registered under their full
 * name (`<package>.<name>`); a package may register several descriptions for one name (n8n's
 * nodes.json lists each version group of a versioned node separately).
 */
export class NodeTypeRegistry {
	private readonly nodes = new Map<string, RegisteredType[]>();
	private readonly credentialTypes = new Map<string, CredentialTypeDescription>();

	/**
	 * Registers descriptions of one package. `usableAsTool` nodes also get the `<name>Tool`
	 * variant n8n synthesizes at load time (n8n/dist/tool-generation/ai-tools.js
	 * convertNodeToAiTool): no inputs, one ai_tool output, plus descriptionType/toolDescription.
	 */
	addNodes(packageName: string, descriptions: INodeTypeDescription[]): this {
		for (const description of descriptions) {
			this.register(`${packageName}.${description.name}`, description);
			if (description.usableAsTool) {
				const tool = toToolDescription(description);
				this.register(`${packageName}.${tool.name}`, tool);
			}
		}
		return this;
	}

	addCredentials(descriptions: CredentialTypeDescription[]): this {
		for (const description of descriptions) this.credentialTypes.set(description.name, description);
		return this;
	}

	private register(fullName: string, description: INodeTypeDescription): void {
		const versions = Array.isArray(description.version) ? description.version : [description.version];
		const list = this.nodes.get(fullName) ?? [];
		list.push({ description, versions });
		this.nodes.set(fullName, list);
	}

	hasCredentialType(name: string): boolean {
		return this.credentialTypes.has(name);
	}

	nodeTypeNames(): string[] {
		return [...this.nodes.keys()];
	}

	/** All versions declared for a node type (empty when the type is unknown). */
	versionsOf(type: string): number[] {
		return [...new Set((this.nodes.get(type) ?? []).flatMap((entry) => entry.versions))].sort((a, b) => a - b);
	}

	/** The description that declares this version, if any. */
	find(type: string, version: number): RegisteredType | undefined {
		return (this.nodes.get(type) ?? []).find((entry) => entry.versions.includes(version));
	}
}

function toToolDescription(description: INodeTypeDescription): INodeTypeDescription {
	const base: INodeTypeDescription =
		typeof description.usableAsTool === 'object'
			? { ...structuredClone(description), ...(description.usableAsTool.replacements ?? {}) }
			: structuredClone(description);
	const properties = [...base.properties];
	if (!properties.some((property) => property.name === 'toolDescription')) {
		const hasResourceOrOperation = properties.some((property) => property.name === 'resource' || property.name === 'operation');
		let lastCallout = -1;
		properties.forEach((property, index) => {
			if (property.type === 'callout') lastCallout = index;
		});
		const toolDescription: INodeProperties = {
			displayName: 'Description',
			name: 'toolDescription',
			type: 'string',
			default: base.description,
		};
		const inserted: INodeProperties[] = [toolDescription];
		if (hasResourceOrOperation) {
			toolDescription.displayOptions = { show: { descriptionType: ['manual'] } };
			inserted.unshift({
				displayName: 'Tool Description',
				name: 'descriptionType',
				type: 'options',
				options: [
					{ name: 'Set Automatically', value: 'auto' },
					{ name: 'Set Manually', value: 'manual' },
				],
				default: 'auto',
			});
		}
		properties.splice(lastCallout + 1, 0, ...inserted);
	}
	return { ...base, name: `${base.name}Tool`, inputs: [], outputs: ['ai_tool'], usableAsTool: undefined, properties };
}
