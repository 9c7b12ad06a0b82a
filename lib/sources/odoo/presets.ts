import type { FieldSelection, FieldsGet } from './fields';

/** The models the connector knows well: where they land and which fields the transforms need. */
export interface ModelPreset {
	model: string;
	label: string;
	/** Non-stored fields worth reading (they do not bump the record's write_date; see README). */
	extraFields?: string[];
	/**
	 * Fields the ERP transforms read (silver views, and through them gold and platinum; see
	 * migrations/20261122000400_erp.sql). A sync of the model always requests the ones the model
	 * has, also when a field list was chosen: without them gold falls back or stays empty. test/integration/transformsGold.test.ts fails when one is missing.
	 */
	transformFields: string[];
}

export const PRESETS: ModelPreset[] = [
	{
		model: 'account.move',
		label: 'Invoices and Journal Entries (account.move)',
		transformFields: [
			'name', 'ref', 'date', 'move_type', 'state', 'payment_state', 'journal_id', 'company_id', 'currency_id', 'partner_id',
			'invoice_date', 'invoice_date_due', 'payment_reference', 'reversed_entry_id',
			'amount_untaxed', 'amount_tax', 'amount_total', 'amount_residual', 'amount_total_signed', 'amount_residual_signed',
		],
	},
	{
		model: 'account.move.line',
		label: 'Journal Items (account.move.line)',
		transformFields: [
			'move_id', 'move_name', 'date', 'ref', 'parent_state', 'journal_id', 'company_id', 'company_currency_id',
			'account_id', 'account_type', 'partner_id', 'name', 'display_type', 'debit', 'credit', 'balance',
			'amount_currency', 'currency_id', 'amount_residual', 'amount_residual_currency', 'reconciled', 'date_maturity',
			'matching_number',
		],
	},
	{
		model: 'account.account',
		label: 'Chart of Accounts (account.account)',
		transformFields: ['name', 'code', 'account_type', 'internal_group', 'reconcile', 'company_id'],
	},
	{
		model: 'account.journal',
		label: 'Journals (account.journal)',
		transformFields: ['name', 'code', 'type', 'active', 'company_id', 'default_account_id'],
	},
	{
		model: 'res.partner',
		label: 'Partners (res.partner)',
		transformFields: [
			'name', 'complete_name', 'is_company', 'ref', 'vat', 'email', 'parent_id', 'commercial_partner_id', 'country_id',
			'company_id', 'customer_rank', 'supplier_rank', 'active',
		],
	},
	// The company's currency, for journal items that do not carry company_currency_id.
	{ model: 'res.company', label: 'Companies (res.company)', transformFields: ['name', 'currency_id'] },
	// Decimal places of each currency: silver rounds money to them.
	{ model: 'res.currency', label: 'Currencies (res.currency)', transformFields: ['name', 'rounding', 'decimal_places', 'active'] },
	// product.product inherits name, prices and type from its template: non-stored on the variant.
	{
		model: 'product.product',
		label: 'Products (product.product)',
		extraFields: ['name', 'list_price', 'type', 'categ_id', 'uom_id', 'sale_ok', 'purchase_ok'],
		transformFields: ['default_code', 'name', 'type', 'categ_id', 'list_price', 'sale_ok', 'purchase_ok', 'active', 'company_id'],
	},
	{
		model: 'project.project',
		label: 'Projects (project.project)',
		transformFields: ['name', 'active', 'partner_id', 'user_id', 'company_id', 'date_start', 'date', 'stage_id', 'last_update_status'],
	},
	{
		model: 'project.task',
		label: 'Tasks (project.task)',
		transformFields: [
			'name', 'active', 'project_id', 'stage_id', 'partner_id', 'company_id', 'state', 'priority', 'date_deadline', 'date_end',
			'allocated_hours', 'effective_hours',
		],
	},
];

export function presetOf(model: string): ModelPreset | undefined {
	return PRESETS.find((p) => p.model === model);
}

/**
 * The field selection a sync of `model` uses: the caller's, plus the preset's non-stored extras
 * (unless the caller named its own) and every transform field the model has, so a trimmed field
 * list cannot starve gold. Fields this Odoo does not have are left out (planFields would refuse
 * them); the transforms fall back where they can.
 */
export function withPresetFields(model: string, fieldsGet: FieldsGet, selection: FieldSelection): FieldSelection {
	const preset = presetOf(model);
	if (!preset) return selection;
	const needed = preset.transformFields.filter((f) => f in fieldsGet);
	const union = (a: string[] | undefined, b: string[]) => [...new Set([...(a ?? []), ...b])];
	return {
		...selection,
		extraFields: union(selection.extraFields ?? preset.extraFields, needed),
		fields: selection.fields && selection.fields.length > 0 ? union(selection.fields, needed) : selection.fields,
	};
}

/** The bronze table of a model: odoo_<model with dots as underscores>. */
export function tableNameFor(model: string): string {
	return `odoo_${model.replace(/\./g, '_')}`;
}
