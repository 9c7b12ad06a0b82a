/** The models the connector knows well: where they land and which non-stored fields matter. */
export interface ModelPreset {
	model: string;
	label: string;
	/** Non-stored fields worth reading (they do not bump the record's write_date; see README). */
	extraFields?: string[];
}

export const PRESETS: ModelPreset[] = [
	{ model: 'account.move', label: 'Invoices and Journal Entries (account.move)' },
	{ model: 'account.move.line', label: 'Journal Items (account.move.line)' },
	{ model: 'account.account', label: 'Chart of Accounts (account.account)' },
	{ model: 'account.journal', label: 'Journals (account.journal)' },
	{ model: 'res.partner', label: 'Partners (res.partner)' },
	// product.product inherits name, prices and type from its template: non-stored on the variant.
	{ model: 'product.product', label: 'Products (product.product)', extraFields: ['name', 'list_price', 'type', 'categ_id', 'uom_id', 'sale_ok', 'purchase_ok'] },
	{ model: 'project.project', label: 'Projects (project.project)' },
	{ model: 'project.task', label: 'Tasks (project.task)' },
];

export function presetOf(model: string): ModelPreset | undefined {
	return PRESETS.find((p) => p.model === model);
}

/** The bronze table of a model: odoo_<model with dots as underscores>. */
export function tableNameFor(model: string): string {
	return `odoo_${model.replace(/\./g, '_')}`;
}
