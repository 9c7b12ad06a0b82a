/**
 * Odoo fields → bronze columns, by the field's type from fields_get (never by its value: Odoo
 * sends False for every empty value, and only a boolean field's False is a real value).
 *   many2one         [id, "Name"] | False → <field> bigint + <field>_name text
 *   one2many/m2m     [ids]                → bigint[]
 *   boolean          true/false           → boolean
 *   char/text/html/selection/reference   → text (False → NULL)
 *   integer/many2one_reference            → bigint;   float/monetary → numeric
 *   date "YYYY-MM-DD" → date;  datetime "YYYY-MM-DD HH:MM:SS" (naive UTC) → timestamptz
 *   json/properties → jsonb;  binary (base64) → text, only when asked
 */
import type { ColumnType } from '../../lakehouse/columnTypes';
import type { ColumnSpec } from '../../lakehouse/tables';

export interface OdooField {
	type: string;
	string?: string;
	store?: boolean;
	relation?: string;
}

export type FieldsGet = Record<string, OdooField>;

export interface FieldSelection {
	/** Exactly these fields (plus id, write_date); otherwise stored fields of supported types. */
	fields?: string[];
	/** Non-stored fields to add (e.g. product.product's template fields). */
	extraFields?: string[];
	includeNonStored?: boolean;
	includeBinary?: boolean;
	includeOne2many?: boolean;
}

export interface FieldPlan {
	field: string;
	type: string;
	columns: ColumnSpec[];
	convert: (value: unknown, out: Record<string, unknown>) => void;
}

const SCALAR: Record<string, ColumnType> = {
	boolean: 'boolean',
	char: 'text',
	text: 'text',
	html: 'text',
	selection: 'text',
	reference: 'text',
	integer: 'bigint',
	many2one_reference: 'bigint',
	float: 'numeric',
	monetary: 'numeric',
	date: 'date',
	datetime: 'timestamptz',
	json: 'jsonb',
	properties: 'jsonb',
	binary: 'text',
	one2many: 'bigint[]',
	many2many: 'bigint[]',
};

/** Which fields of a model a sync reads, and how each lands. Unknown field types are skipped. */
export function planFields(fieldsGet: FieldsGet, selection: FieldSelection = {}): FieldPlan[] {
	const wanted = (name: string, def: OdooField): boolean => {
		if (name === 'id' || name === 'write_date') return true;
		if (selection.fields && selection.fields.length > 0) return selection.fields.includes(name);
		if (selection.extraFields?.includes(name)) return true;
		// A one2many has no column of its own: whether fields_get calls it stored varies, so only
		// the option decides.
		if (def.type === 'one2many') return selection.includeOne2many === true;
		if (def.store === false && !selection.includeNonStored) return false;
		if (def.type === 'binary' && !selection.includeBinary) return false;
		return true;
	};
	const missing = (selection.fields ?? []).filter((f) => !(f in fieldsGet));
	if (missing.length > 0) throw new Error(`These fields do not exist on the model: ${missing.join(', ')}`);
	const plans: FieldPlan[] = [];
	for (const [name, def] of Object.entries(fieldsGet)) {
		if (!wanted(name, def)) continue;
		const plan = planField(name, def);
		if (plan) plans.push(plan);
	}
	return plans;
}

function planField(name: string, def: OdooField): FieldPlan | null {
	if (name === 'id') {
		return { field: name, type: def.type, columns: [{ field: 'id', type: 'bigint' }], convert: (v, out) => (out.id = v) };
	}
	if (def.type === 'many2one') {
		const nameColumn = `${name}_name`;
		return {
			field: name,
			type: def.type,
			columns: [
				{ field: name, type: 'bigint' },
				{ field: nameColumn, type: 'text' },
			],
			convert: (v, out) => {
				if (Array.isArray(v)) {
					out[name] = v[0];
					out[nameColumn] = v[1] ?? null;
				} else {
					out[name] = null;
					out[nameColumn] = null;
				}
			},
		};
	}
	const type = SCALAR[def.type];
	if (!type) return null;
	const columns = [{ field: name, type }];
	switch (def.type) {
		case 'boolean':
			return { field: name, type: def.type, columns, convert: (v, out) => (out[name] = v === null || v === undefined ? null : Boolean(v)) };
		case 'datetime':
			return { field: name, type: def.type, columns, convert: (v, out) => (out[name] = typeof v === 'string' ? `${v.replace(' ', 'T')}Z` : null) };
		case 'one2many':
		case 'many2many':
			return { field: name, type: def.type, columns, convert: (v, out) => (out[name] = Array.isArray(v) ? v : []) };
		default:
			return { field: name, type: def.type, columns, convert: (v, out) => (out[name] = v === false || v === undefined ? null : v) };
	}
}

export function mapRecord(record: Record<string, unknown>, plans: FieldPlan[]): Record<string, unknown> {
	const out: Record<string, unknown> = {};
	for (const plan of plans) plan.convert(record[plan.field], out);
	return out;
}

export function planColumns(plans: FieldPlan[]): ColumnSpec[] {
	return plans.flatMap((p) => p.columns);
}
