// Model and field definitions, with Odoo 17 field names (../shared/reference/connectors.md §1.5)
// and the 18/19 differences that matter to a connector (`since`/`until` on a field):
//  - account.account: `deprecated` (17/18) → `active` (19); `company_id` (17) → `company_ids` (18+)
//  - account.move: `payment_id` (17) → `origin_payment_id` (18+)
//  - product: `type` consu/service/product (17) → consu/service/combo + `is_storable` (18+)
//  - res.partner: `mobile` gone in 19; project: `analytic_account_id` (17) → `account_id` (18+)
//  - account.payment: `ref` (17) → `memo` (18+)
//
// Fields are stored unless they have `compute` (then they are read-time values, `store: false`
// in fields_get, like Odoo's non-stored computed and related fields). product.product's template
// fields are `_inherits` fields: readable, searchable, sortable, but `store: false` in fields_get,
// exactly the trap a "stored fields only" connector falls into on a real Odoo.

import { Row, StoredValue } from './types';

export type FieldType =
  | 'char'
  | 'text'
  | 'html'
  | 'integer'
  | 'float'
  | 'monetary'
  | 'boolean'
  | 'date'
  | 'datetime'
  | 'selection'
  | 'many2one'
  | 'one2many'
  | 'many2many'
  | 'json'
  | 'binary';

/** Read access to the committed data, for read-time computed fields. */
export interface ReadEnv {
  readonly major: number;
  row(model: string, id: number): Row | undefined;
  /** ids of `model` rows whose many2one `field` points at `id` (an index lookup). */
  children(model: string, field: string, id: number): number[];
  displayName(model: string, id: number): string;
}

export type ComputeFn = (row: Row, env: ReadEnv) => StoredValue;

export interface FieldSpec {
  type: FieldType;
  string: string;
  help?: string;
  required?: boolean;
  readonly?: boolean;
  relation?: string;
  /** one2many: the comodel's many2one pointing back. */
  relationField?: string;
  selection?: Array<[string, string]>;
  translate?: boolean;
  companyDependent?: boolean;
  /** many2one: what the database does when the target row is deleted (FK ON DELETE). */
  ondelete?: 'cascade' | 'set null' | 'restrict';
  default?: StoredValue;
  /** Read-time value: the field is not stored (fields_get says store: false). */
  compute?: ComputeFn;
  /** `related` path shown by fields_get for related/inherited fields. */
  related?: string;
  /** Non-stored fields are not sortable unless they are _inherits fields (joined in SQL). */
  sortable?: boolean;
  since?: number;
  until?: number;
}

export interface FieldDef extends FieldSpec {
  name: string;
  store: boolean;
  required: boolean;
  readonly: boolean;
  sortable: boolean;
}

export interface ModelSpec {
  name: string;
  description: string;
  /** `_order`: the default ORDER BY. */
  order: string;
  /** A different `_order` from a later major version on. */
  orderSince?: { major: number; order: string };
  /** `_rec_name`: matched by name_search and by string values on relational domain leaves. */
  recName?: string;
  /** `_parent_name`: the hierarchy child_of/parent_of walk. */
  parentName?: string;
  transient?: boolean;
  /** Group names listed in the AccessError text for users that may not read the model. */
  readGroups: string[];
  fields: Record<string, FieldSpec>;
  displayName?: (row: Row, env: ReadEnv) => string;
  since?: number;
}

export interface ModelDef extends ModelSpec {
  fields: Record<string, FieldDef>;
  /** `_active_name`: 'active' when the model has that field (active_test applies). */
  activeName: string | null;
}

// ----------------------------------------------------------------------------------------------
// Field DSL

type Opts = Partial<FieldSpec>;
const char = (string: string, o: Opts = {}): FieldSpec => ({ type: 'char', string, ...o });
const text = (string: string, o: Opts = {}): FieldSpec => ({ type: 'text', string, ...o });
const html = (string: string, o: Opts = {}): FieldSpec => ({ type: 'html', string, ...o });
const int = (string: string, o: Opts = {}): FieldSpec => ({ type: 'integer', string, default: 0, ...o });
const float = (string: string, o: Opts = {}): FieldSpec => ({ type: 'float', string, default: 0, ...o });
const money = (string: string, o: Opts = {}): FieldSpec => ({ type: 'monetary', string, default: 0, ...o });
const bool = (string: string, o: Opts = {}): FieldSpec => ({ type: 'boolean', string, default: false, ...o });
const date = (string: string, o: Opts = {}): FieldSpec => ({ type: 'date', string, ...o });
const datetime = (string: string, o: Opts = {}): FieldSpec => ({ type: 'datetime', string, ...o });
const sel = (string: string, selection: Array<[string, string]>, o: Opts = {}): FieldSpec => ({
  type: 'selection',
  string,
  selection,
  ...o,
});
const m2o = (relation: string, string: string, o: Opts = {}): FieldSpec => ({
  type: 'many2one',
  relation,
  string,
  ondelete: 'set null',
  ...o,
});
const o2m = (relation: string, relationField: string, string: string, o: Opts = {}): FieldSpec => ({
  type: 'one2many',
  relation,
  relationField,
  string,
  compute: (row, env) => env.children(relation, relationField, row.id),
  ...o,
});
const m2m = (relation: string, string: string, o: Opts = {}): FieldSpec => ({
  type: 'many2many',
  relation,
  string,
  default: [],
  ...o,
});
const json = (string: string, o: Opts = {}): FieldSpec => ({ type: 'json', string, ...o });

/** An `_inherits` field of product.product read through product_tmpl_id. */
function inherited(spec: FieldSpec, name: string): FieldSpec {
  return {
    ...spec,
    related: `product_tmpl_id.${name}`,
    sortable: true,
    compute: (row, env) => {
      const tmpl = typeof row.product_tmpl_id === 'number' ? env.row('product.template', row.product_tmpl_id) : undefined;
      const v = tmpl ? tmpl[name] : null;
      return v === undefined ? null : v;
    },
  };
}

const str = (v: StoredValue | undefined): string => (typeof v === 'string' ? v : '');

// ----------------------------------------------------------------------------------------------
// Selections

const ACCOUNT_TYPES: Array<[string, string]> = [
  ['asset_receivable', 'Receivable'],
  ['asset_cash', 'Bank and Cash'],
  ['asset_current', 'Current Assets'],
  ['asset_non_current', 'Non-current Assets'],
  ['asset_prepayments', 'Prepayments'],
  ['asset_fixed', 'Fixed Assets'],
  ['liability_payable', 'Payable'],
  ['liability_credit_card', 'Credit Card'],
  ['liability_current', 'Current Liabilities'],
  ['liability_non_current', 'Non-current Liabilities'],
  ['equity', 'Equity'],
  ['equity_unaffected', 'Current Year Earnings'],
  ['income', 'Income'],
  ['income_other', 'Other Income'],
  ['expense', 'Expenses'],
  ['expense_depreciation', 'Depreciation'],
  ['expense_direct_cost', 'Cost of Revenue'],
  ['off_balance', 'Off-Balance Sheet'],
];

export function internalGroup(accountType: string): string {
  if (accountType === 'off_balance') return 'off';
  return accountType.split('_')[0]; // asset/liability/equity/income/expense
}

const MOVE_TYPES: Array<[string, string]> = [
  ['entry', 'Journal Entry'],
  ['out_invoice', 'Customer Invoice'],
  ['out_refund', 'Customer Credit Note'],
  ['in_invoice', 'Vendor Bill'],
  ['in_refund', 'Vendor Credit Note'],
  ['out_receipt', 'Sales Receipt'],
  ['in_receipt', 'Purchase Receipt'],
];

const PAYMENT_STATES: Array<[string, string]> = [
  ['not_paid', 'Not Paid'],
  ['in_payment', 'In Payment'],
  ['paid', 'Paid'],
  ['partial', 'Partially Paid'],
  ['reversed', 'Reversed'],
  ['invoicing_legacy', 'Invoicing App Legacy'],
];

const DISPLAY_TYPES: Array<[string, string]> = [
  ['product', 'Product'],
  ['cogs', 'Cost of Goods Sold'],
  ['tax', 'Tax'],
  ['rounding', 'Rounding'],
  ['payment_term', 'Payment Term'],
  ['line_section', 'Section'],
  ['line_note', 'Note'],
  ['epd', 'Early Payment Discount'],
];

const DRAFT_LABEL: Record<string, string> = {
  entry: 'Draft Entry',
  out_invoice: 'Draft Invoice',
  out_refund: 'Draft Credit Note',
  in_invoice: 'Draft Bill',
  in_refund: 'Draft Vendor Credit Note',
  out_receipt: 'Draft Sales Receipt',
  in_receipt: 'Draft Purchase Receipt',
};

// ----------------------------------------------------------------------------------------------
// Models

const ACCOUNTING = ['Accounting / Billing', 'Accounting / Read-only'];
const INTERNAL = ['User types / Internal User'];

export const MODEL_SPECS: ModelSpec[] = [
  {
    name: 'res.company',
    description: 'Companies',
    order: 'sequence, name',
    recName: 'name',
    parentName: 'parent_id',
    readGroups: INTERNAL,
    fields: {
      name: char('Company Name', { required: true }),
      active: bool('Active', { default: true }),
      sequence: int('Sequence', { default: 10 }),
      parent_id: m2o('res.company', 'Parent Company'),
      partner_id: m2o('res.partner', 'Partner', { required: true }),
      currency_id: m2o('res.currency', 'Currency', { required: true }),
      country_id: m2o('res.country', 'Country'),
      street: char('Street'),
      city: char('City'),
      zip: char('Zip'),
      email: char('Email'),
      phone: char('Phone'),
      vat: char('Tax ID'),
    },
  },
  {
    name: 'res.currency',
    description: 'Currency',
    order: 'active desc, name',
    recName: 'name',
    readGroups: INTERNAL,
    fields: {
      name: char('Currency', { required: true, help: 'Currency Code (ISO 4217)' }),
      full_name: char('Name'),
      symbol: char('Symbol', { required: true }),
      rounding: float('Rounding Factor', { default: 0.01 }),
      decimal_places: int('Decimal Places', { default: 2, readonly: true }),
      active: bool('Active', { default: true }),
      position: sel('Symbol Position', [['after', 'After Amount'], ['before', 'Before Amount']], { default: 'after' }),
      currency_unit_label: char('Currency Unit'),
      currency_subunit_label: char('Currency Subunit'),
      // res.currency.rate is not simulated; the current rate (units per company currency unit)
      // is kept in a hidden cell and exposed the way Odoo does: a non-stored computed float.
      rate: float('Current Rate', { compute: (row) => (typeof row.__rate === 'number' ? row.__rate : 1), readonly: true }),
    },
  },
  {
    name: 'res.country',
    description: 'Country',
    order: 'name',
    recName: 'name',
    readGroups: INTERNAL,
    fields: {
      name: char('Country Name', { required: true, translate: true }),
      code: char('Country Code', { help: 'The ISO country code in two chars.' }),
      currency_id: m2o('res.currency', 'Currency'),
      phone_code: int('Country Calling Code'),
    },
  },
  {
    name: 'res.users',
    description: 'User',
    order: 'name, login',
    recName: 'name',
    readGroups: INTERNAL,
    fields: {
      name: char('Name', { required: true }),
      login: char('Login', { required: true }),
      partner_id: m2o('res.partner', 'Related Partner', { required: true, ondelete: 'restrict' }),
      active: bool('Active', { default: true }),
      share: bool('Share User', { readonly: true }),
      company_id: m2o('res.company', 'Company', { default: 1 }),
      company_ids: m2m('res.company', 'Companies', { default: [1] }),
      email: char('Email'),
      lang: sel('Language', [['en_US', 'English (US)'], ['de_DE', 'German / Deutsch'], ['fr_FR', 'French / Français']], {
        default: 'en_US',
      }),
      tz: char('Timezone', { default: 'Europe/Brussels' }),
    },
  },
  {
    name: 'res.partner.category',
    description: 'Partner Tags',
    order: 'name',
    recName: 'name',
    parentName: 'parent_id',
    readGroups: INTERNAL,
    fields: {
      name: char('Tag Name', { required: true, translate: true }),
      parent_id: m2o('res.partner.category', 'Parent Category', { ondelete: 'cascade' }),
      active: bool('Active', { default: true }),
      color: int('Color'),
    },
  },
  {
    name: 'res.partner',
    description: 'Contact',
    order: 'complete_name ASC, id DESC',
    recName: 'complete_name',
    parentName: 'parent_id',
    readGroups: INTERNAL,
    displayName: (row) => str(row.complete_name) || str(row.name),
    fields: {
      name: char('Name'),
      complete_name: char('Complete Name', { readonly: true }),
      is_company: bool('Is a Company'),
      parent_id: m2o('res.partner', 'Related Company'),
      child_ids: o2m('res.partner', 'parent_id', 'Contact'),
      commercial_partner_id: m2o('res.partner', 'Commercial Entity', { readonly: true }),
      type: sel(
        'Address Type',
        [
          ['contact', 'Contact'],
          ['invoice', 'Invoice Address'],
          ['delivery', 'Delivery Address'],
          ['other', 'Other Address'],
        ],
        { default: 'contact' },
      ),
      ref: char('Reference'),
      vat: char('Tax ID'),
      email: char('Email'),
      phone: char('Phone'),
      mobile: char('Mobile', { until: 18 }),
      website: char('Website Link'),
      function: char('Job Position'),
      street: char('Street'),
      street2: char('Street2'),
      city: char('City'),
      zip: char('Zip'),
      country_id: m2o('res.country', 'Country', { ondelete: 'restrict' }),
      company_id: m2o('res.company', 'Company'),
      user_id: m2o('res.users', 'Salesperson'),
      category_id: m2m('res.partner.category', 'Tags'),
      lang: sel('Language', [['en_US', 'English (US)'], ['de_DE', 'German / Deutsch'], ['fr_FR', 'French / Français']], {
        default: 'en_US',
      }),
      tz: char('Timezone'),
      customer_rank: int('Customer Rank'),
      supplier_rank: int('Supplier Rank'),
      active: bool('Active', { default: true }),
      color: int('Color Index'),
      comment: html('Notes'),
    },
  },
  {
    name: 'uom.uom',
    description: 'Product Unit of Measure',
    order: 'factor DESC, id',
    recName: 'name',
    readGroups: INTERNAL,
    fields: {
      name: char('Unit of Measure', { required: true, translate: true }),
      factor: float('Ratio', { default: 1 }),
      rounding: float('Rounding Precision', { default: 0.01 }),
      uom_type: sel(
        'Type',
        [
          ['bigger', 'Bigger than the reference Unit of Measure'],
          ['reference', 'Reference Unit of Measure for this category'],
          ['smaller', 'Smaller than the reference Unit of Measure'],
        ],
        { default: 'reference' },
      ),
      active: bool('Active', { default: true }),
    },
  },
  {
    name: 'product.category',
    description: 'Product Category',
    order: 'complete_name',
    recName: 'complete_name',
    parentName: 'parent_id',
    readGroups: INTERNAL,
    displayName: (row) => str(row.complete_name) || str(row.name),
    fields: {
      name: char('Name', { required: true }),
      complete_name: char('Complete Name', { readonly: true }),
      parent_id: m2o('product.category', 'Parent Category', { ondelete: 'cascade' }),
      child_id: o2m('product.category', 'parent_id', 'Child Categories'),
    },
  },
  {
    name: 'product.template',
    description: 'Product',
    order: 'priority desc, name',
    recName: 'name',
    readGroups: INTERNAL,
    fields: {
      name: char('Name', { required: true, translate: true }),
      description: html('Description', { translate: true }),
      priority: sel('Favorite', [['0', 'Normal'], ['1', 'Favorite']], { default: '0' }),
      type: sel('Product Type', [['consu', 'Consumable'], ['service', 'Service'], ['product', 'Storable Product']], {
        default: 'consu',
        until: 17,
      }),
      detailed_type: sel('Product Type', [['consu', 'Consumable'], ['service', 'Service'], ['product', 'Storable Product']], {
        default: 'consu',
        until: 17,
      }),
      // 18 split "storable" off the type (connectors.md §1.5); `type__18` is registered as `type`.
      type__18: sel('Product Type', [['consu', 'Goods'], ['service', 'Service'], ['combo', 'Combo']], { default: 'consu', since: 18 }),
      is_storable: bool('Track Inventory', { since: 18 }),
      categ_id: m2o('product.category', 'Product Category', { default: 1 }),
      list_price: float('Sales Price', { default: 1 }),
      sale_ok: bool('Can be Sold', { default: true }),
      purchase_ok: bool('Can be Purchased', { default: true }),
      uom_id: m2o('uom.uom', 'Unit of Measure', { default: 1 }),
      uom_po_id: m2o('uom.uom', 'Purchase Unit of Measure', { default: 1, until: 18 }),
      company_id: m2o('res.company', 'Company'),
      active: bool('Active', { default: true }),
      product_variant_ids: o2m('product.product', 'product_tmpl_id', 'Products'),
    },
  },
  {
    name: 'product.product',
    description: 'Product Variant',
    order: 'priority desc, default_code, name, id',
    recName: 'name',
    readGroups: INTERNAL,
    displayName: (row, env) => {
      const tmpl = typeof row.product_tmpl_id === 'number' ? env.row('product.template', row.product_tmpl_id) : undefined;
      const name = str(tmpl?.name);
      return row.default_code ? `[${str(row.default_code)}] ${name}` : name;
    },
    fields: {
      product_tmpl_id: m2o('product.template', 'Product Template', { required: true, ondelete: 'cascade' }),
      default_code: char('Internal Reference'),
      barcode: char('Barcode'),
      active: bool('Active', { default: true }),
      standard_price: float('Cost', { companyDependent: true, compute: (row) => (typeof row.__cost === 'number' ? row.__cost : 0) }),
      lst_price: float('Sales Price', { compute: (row, env) => inheritedValue(row, env, 'list_price') ?? 0 }),
      code: char('Reference', { compute: (row) => row.default_code ?? null }),
      // _inherits fields (product_tmpl_id): readable and searchable, but not stored on this table.
      name: inherited(char('Name', { translate: true }), 'name'),
      priority: inherited(sel('Favorite', [['0', 'Normal'], ['1', 'Favorite']]), 'priority'),
      type: inherited(sel('Product Type', [['consu', 'Consumable'], ['service', 'Service'], ['product', 'Storable Product']], { until: 17 }), 'type'),
      detailed_type: inherited(
        sel('Product Type', [['consu', 'Consumable'], ['service', 'Service'], ['product', 'Storable Product']], { until: 17 }),
        'detailed_type',
      ),
      type__18: inherited(sel('Product Type', [['consu', 'Goods'], ['service', 'Service'], ['combo', 'Combo']], { since: 18 }), 'type'),
      is_storable: inherited(bool('Track Inventory', { since: 18 }), 'is_storable'),
      categ_id: inherited(m2o('product.category', 'Product Category'), 'categ_id'),
      list_price: inherited(float('Sales Price'), 'list_price'),
      sale_ok: inherited(bool('Can be Sold'), 'sale_ok'),
      purchase_ok: inherited(bool('Can be Purchased'), 'purchase_ok'),
      uom_id: inherited(m2o('uom.uom', 'Unit of Measure'), 'uom_id'),
      company_id: inherited(m2o('res.company', 'Company'), 'company_id'),
    },
  },
  {
    name: 'account.account',
    description: 'Account',
    order: 'code, company_id',
    // 18 sorts on `code, placeholder_code` (company-dependent codes); `code` is what remains here.
    orderSince: { major: 18, order: 'code' },
    recName: 'name',
    readGroups: ACCOUNTING,
    displayName: (row) => `${str(row.code)} ${str(row.name)}`.trim(),
    fields: {
      name: char('Account Name', { required: true, translate: true }),
      code: char('Code', { required: true }),
      account_type: sel('Type', ACCOUNT_TYPES, { required: true }),
      internal_group: sel(
        'Internal Group',
        [
          ['equity', 'Equity'],
          ['asset', 'Asset'],
          ['liability', 'Liability'],
          ['income', 'Income'],
          ['expense', 'Expense'],
          ['off', 'Off Balance'],
        ],
        { readonly: true },
      ),
      reconcile: bool('Allow Reconciliation'),
      deprecated: bool('Deprecated', { until: 18 }),
      active: bool('Active', { default: true, since: 19 }),
      currency_id: m2o('res.currency', 'Account Currency'),
      company_id: m2o('res.company', 'Company', { default: 1, until: 17 }),
      company_ids: m2m('res.company', 'Companies', { default: [1], since: 18 }),
      include_initial_balance: bool('Bring Accounts Balance Forward', { readonly: true }),
      non_trade: bool('Non-Trade'),
      note: text('Internal Notes'),
    },
  },
  {
    name: 'account.journal',
    description: 'Journal',
    order: 'sequence, type, code',
    recName: 'name',
    readGroups: ACCOUNTING,
    fields: {
      name: char('Journal Name', { required: true, translate: true }),
      code: char('Short Code', { required: true }),
      type: sel(
        'Type',
        [
          ['sale', 'Sales'],
          ['purchase', 'Purchase'],
          ['cash', 'Cash'],
          ['bank', 'Bank'],
          ['general', 'Miscellaneous'],
        ],
        { required: true },
      ),
      active: bool('Active', { default: true }),
      sequence: int('Sequence', { default: 10 }),
      company_id: m2o('res.company', 'Company', { default: 1 }),
      currency_id: m2o('res.currency', 'Currency'),
      default_account_id: m2o('account.account', 'Default Account', { ondelete: 'restrict' }),
      refund_sequence: bool('Dedicated Credit Note Sequence'),
    },
  },
  {
    name: 'account.tax',
    description: 'Tax',
    order: 'sequence,id',
    recName: 'name',
    readGroups: ACCOUNTING,
    fields: {
      name: char('Tax Name', { required: true, translate: true }),
      amount: float('Amount'),
      amount_type: sel('Tax Computation', [['group', 'Group of Taxes'], ['fixed', 'Fixed'], ['percent', 'Percentage of Price'], ['division', 'Percentage of Price Tax Included']], {
        default: 'percent',
      }),
      type_tax_use: sel('Tax Type', [['sale', 'Sales'], ['purchase', 'Purchases'], ['none', 'None']], { default: 'sale' }),
      price_include: bool('Included in Price'),
      sequence: int('Sequence', { default: 1 }),
      active: bool('Active', { default: true }),
      company_id: m2o('res.company', 'Company', { default: 1 }),
      // Repartition lines are not simulated: the tax account lives in a hidden `__account_id` cell.
    },
  },
  {
    name: 'account.payment.term',
    description: 'Payment Terms',
    order: 'sequence, id',
    recName: 'name',
    readGroups: ACCOUNTING,
    fields: {
      name: char('Payment Terms', { required: true, translate: true }),
      active: bool('Active', { default: true }),
      sequence: int('Sequence', { default: 10 }),
      note: html('Description on the Invoice', { translate: true }),
    },
  },
  {
    name: 'account.analytic.account',
    description: 'Analytic Account',
    order: 'code, name asc',
    recName: 'name',
    readGroups: ACCOUNTING,
    fields: {
      name: char('Analytic Account', { required: true, translate: true }),
      code: char('Reference'),
      active: bool('Active', { default: true }),
      company_id: m2o('res.company', 'Company'),
      partner_id: m2o('res.partner', 'Customer'),
    },
  },
  {
    name: 'account.full.reconcile',
    description: 'Full Reconcile',
    order: 'id',
    recName: 'name',
    readGroups: ACCOUNTING,
    fields: {
      name: char('Number', { required: true }),
      reconciled_line_ids: o2m('account.move.line', 'full_reconcile_id', 'Matched Journal Items'),
    },
  },
  {
    name: 'account.move',
    description: 'Journal Entry',
    order: 'date desc, name desc, invoice_date desc, id desc',
    recName: 'name',
    readGroups: ACCOUNTING,
    displayName: (row) => {
      const name = str(row.name);
      if (row.state === 'draft' && (!name || name === '/')) return `${DRAFT_LABEL[str(row.move_type)] ?? 'Draft Entry'} (* ${row.id})`;
      return name;
    },
    fields: {
      name: char('Number', { readonly: true, default: '/' }),
      ref: char('Reference'),
      date: date('Date', { required: true }),
      move_type: sel('Type', MOVE_TYPES, { required: true, readonly: true, default: 'entry' }),
      state: sel('Status', [['draft', 'Draft'], ['posted', 'Posted'], ['cancel', 'Cancelled']], {
        required: true,
        readonly: true,
        default: 'draft',
      }),
      payment_state: sel('Payment Status', PAYMENT_STATES, { readonly: true, default: 'not_paid' }),
      journal_id: m2o('account.journal', 'Journal', { required: true }),
      company_id: m2o('res.company', 'Company', { default: 1, readonly: true }),
      currency_id: m2o('res.currency', 'Currency', { required: true, default: 1 }),
      company_currency_id: m2o('res.currency', 'Company Currency', {
        related: 'company_id.currency_id',
        readonly: true,
        compute: (row, env) => {
          const company = typeof row.company_id === 'number' ? env.row('res.company', row.company_id) : undefined;
          return company ? (company.currency_id as number | null) : null;
        },
      }),
      partner_id: m2o('res.partner', 'Partner', { ondelete: 'restrict' }),
      commercial_partner_id: m2o('res.partner', 'Commercial Entity', { readonly: true }),
      invoice_date: date('Invoice/Bill Date'),
      invoice_date_due: date('Due Date'),
      invoice_origin: char('Origin'),
      invoice_user_id: m2o('res.users', 'Salesperson'),
      invoice_payment_term_id: m2o('account.payment.term', 'Payment Terms'),
      payment_reference: char('Payment Reference'),
      reversed_entry_id: m2o('account.move', 'Reversal of', { readonly: true }),
      payment_id: m2o('account.payment', 'Payment', { until: 17 }),
      origin_payment_id: m2o('account.payment', 'Payment', { since: 18 }),
      narration: html('Terms and Conditions'),
      amount_untaxed: money('Untaxed Amount', { readonly: true }),
      amount_tax: money('Tax', { readonly: true }),
      amount_total: money('Total', { readonly: true }),
      amount_residual: money('Amount Due', { readonly: true }),
      amount_untaxed_signed: money('Untaxed Amount Signed', { readonly: true }),
      amount_tax_signed: money('Tax Signed', { readonly: true }),
      amount_total_signed: money('Total Signed', { readonly: true }),
      amount_total_in_currency_signed: money('Total in Currency Signed', { readonly: true }),
      amount_residual_signed: money('Amount Due Signed', { readonly: true }),
      posted_before: bool('Posted Before', { readonly: true }),
      line_ids: o2m('account.move.line', 'move_id', 'Journal Items'),
      invoice_line_ids: o2m('account.move.line', 'move_id', 'Invoice lines', {
        compute: (row, env) =>
          env.children('account.move.line', 'move_id', row.id).filter((id) => env.row('account.move.line', id)?.display_type === 'product'),
      }),
    },
  },
  {
    name: 'account.move.line',
    description: 'Journal Item',
    order: 'date desc, move_name desc, id',
    recName: 'name',
    readGroups: ACCOUNTING,
    displayName: (row, env) => {
      const move = typeof row.move_id === 'number' ? env.row('account.move', row.move_id) : undefined;
      const parts = [move ? str(move.name) : '', row.ref ? `(${str(row.ref)})` : '', str(row.name)];
      return parts.filter((p) => p !== '').join(' ');
    },
    fields: {
      move_id: m2o('account.move', 'Journal Entry', { required: true, ondelete: 'cascade', readonly: true }),
      move_name: char('Number', { readonly: true, related: 'move_id.name' }),
      date: date('Date', { readonly: true, related: 'move_id.date' }),
      ref: char('Reference', { readonly: true, related: 'move_id.ref' }),
      parent_state: sel('Status', [['draft', 'Draft'], ['posted', 'Posted'], ['cancel', 'Cancelled']], {
        readonly: true,
        related: 'move_id.state',
      }),
      journal_id: m2o('account.journal', 'Journal', { readonly: true, related: 'move_id.journal_id' }),
      company_id: m2o('res.company', 'Company', { readonly: true, default: 1 }),
      company_currency_id: m2o('res.currency', 'Company Currency', { readonly: true, default: 1 }),
      account_id: m2o('account.account', 'Account', { ondelete: 'restrict' }),
      account_type: sel('Internal Type', ACCOUNT_TYPES, { readonly: true, related: 'account_id.account_type' }),
      partner_id: m2o('res.partner', 'Partner', { ondelete: 'restrict' }),
      name: char('Label'),
      display_type: sel('Display Type', DISPLAY_TYPES, { required: true, default: 'product' }),
      sequence: int('Sequence', { default: 10 }),
      debit: money('Debit'),
      credit: money('Credit'),
      balance: money('Balance'),
      amount_currency: money('Amount in Currency'),
      currency_id: m2o('res.currency', 'Currency', { required: true, default: 1 }),
      amount_residual: money('Residual Amount', { readonly: true }),
      amount_residual_currency: money('Residual Amount in Currency', { readonly: true }),
      reconciled: bool('Reconciled', { readonly: true }),
      full_reconcile_id: m2o('account.full.reconcile', 'Matching', { readonly: true }),
      matching_number: char('Matching #', { readonly: true }),
      product_id: m2o('product.product', 'Product', { ondelete: 'restrict' }),
      product_uom_id: m2o('uom.uom', 'Unit of Measure'),
      quantity: float('Quantity', { default: 1 }),
      price_unit: float('Unit Price'),
      discount: float('Discount (%)'),
      price_subtotal: money('Subtotal', { readonly: true }),
      price_total: money('Total', { readonly: true }),
      tax_ids: m2m('account.tax', 'Taxes'),
      tax_line_id: m2o('account.tax', 'Originator Tax', { readonly: true, ondelete: 'restrict' }),
      tax_base_amount: money('Base Amount', { readonly: true }),
      analytic_distribution: json('Analytic Distribution'),
      date_maturity: date('Due Date'),
      payment_id: m2o('account.payment', 'Originator Payment', { readonly: true }),
      move_type: sel('Type', MOVE_TYPES, {
        related: 'move_id.move_type',
        readonly: true,
        compute: (row, env) => {
          const move = typeof row.move_id === 'number' ? env.row('account.move', row.move_id) : undefined;
          return move ? (move.move_type as string) : null;
        },
      }),
    },
  },
  {
    name: 'account.payment',
    description: 'Payments',
    order: 'date desc, name desc',
    recName: 'name',
    readGroups: ACCOUNTING,
    fields: {
      name: char('Number', { readonly: true }),
      move_id: m2o('account.move', 'Journal Entry', { required: true, readonly: true, ondelete: 'cascade' }),
      date: date('Date', { required: true }),
      amount: money('Amount'),
      payment_type: sel('Payment Type', [['outbound', 'Send'], ['inbound', 'Receive']], { required: true, default: 'inbound' }),
      partner_type: sel('Partner Type', [['customer', 'Customer'], ['supplier', 'Vendor']], { default: 'customer' }),
      partner_id: m2o('res.partner', 'Customer/Vendor', { ondelete: 'restrict' }),
      journal_id: m2o('account.journal', 'Journal', { required: true }),
      currency_id: m2o('res.currency', 'Currency', { default: 1 }),
      company_id: m2o('res.company', 'Company', { default: 1 }),
      destination_account_id: m2o('account.account', 'Destination Account'),
      state: sel('Status', [['draft', 'Draft'], ['posted', 'Posted'], ['cancel', 'Cancelled']], { default: 'draft', until: 17 }),
      state__18: sel(
          'Status',
          [
            ['draft', 'Draft'],
            ['in_process', 'In Process'],
            ['paid', 'Paid'],
            ['canceled', 'Canceled'],
            ['rejected', 'Rejected'],
          ],
          { default: 'draft', since: 18 },
        ),
      ref: char('Memo', { until: 17 }),
      memo: char('Memo', { since: 18 }),
      is_reconciled: bool('Is Reconciled', { readonly: true }),
      is_matched: bool('Is Matched With a Bank Statement', { readonly: true }),
      reconciled_invoice_ids: m2m('account.move', 'Reconciled Invoices', {
        readonly: true,
        compute: (row) => (Array.isArray(row.__invoice_ids) ? row.__invoice_ids : []),
      }),
    },
  },
  {
    name: 'project.project.stage',
    description: 'Project Stage',
    order: 'sequence, id',
    recName: 'name',
    readGroups: ['Project / User'],
    fields: {
      name: char('Name', { required: true, translate: true }),
      sequence: int('Sequence', { default: 50 }),
      active: bool('Active', { default: true }),
      fold: bool('Folded'),
    },
  },
  {
    name: 'project.task.type',
    description: 'Task Stage',
    order: 'sequence, id',
    recName: 'name',
    readGroups: ['Project / User'],
    fields: {
      name: char('Name', { required: true, translate: true }),
      sequence: int('Sequence', { default: 1 }),
      active: bool('Active', { default: true }),
      fold: bool('Folded in Kanban'),
      project_ids: m2m('project.project', 'Projects'),
    },
  },
  {
    name: 'project.tags',
    description: 'Project Tags',
    order: 'name',
    recName: 'name',
    readGroups: ['Project / User'],
    fields: {
      name: char('Name', { required: true, translate: true }),
      color: int('Color'),
    },
  },
  {
    name: 'project.project',
    description: 'Project',
    order: 'sequence, name, id',
    recName: 'name',
    readGroups: ['Project / User'],
    fields: {
      name: char('Name', { required: true, translate: true }),
      active: bool('Active', { default: true }),
      sequence: int('Sequence', { default: 10 }),
      partner_id: m2o('res.partner', 'Customer'),
      user_id: m2o('res.users', 'Project Manager'),
      company_id: m2o('res.company', 'Company'),
      date_start: date('Start Date'),
      date: date('Expiration Date'),
      stage_id: m2o('project.project.stage', 'Stage', { ondelete: 'restrict' }),
      tag_ids: m2m('project.tags', 'Tags'),
      allow_timesheets: bool('Timesheets', { default: true }),
      analytic_account_id: m2o('account.analytic.account', 'Analytic Account', { until: 17 }),
      account_id: m2o('account.analytic.account', 'Analytic Account', { since: 18 }),
      privacy_visibility: sel(
        'Visibility',
        [
          ['followers', 'Invited internal users (private)'],
          ['employees', 'All internal users'],
          ['portal', 'Invited portal users and all internal users (public)'],
        ],
        { default: 'portal' },
      ),
      last_update_status: sel(
        'Status',
        [
          ['on_track', 'On Track'],
          ['at_risk', 'At Risk'],
          ['off_track', 'Off Track'],
          ['on_hold', 'On Hold'],
          ['to_define', 'Set Status'],
          ['done', 'Done'],
        ],
        { default: 'to_define' },
      ),
      description: html('Description'),
      color: int('Color Index'),
      task_ids: o2m('project.task', 'project_id', 'Tasks'),
      task_count: int('Task Count', {
        compute: (row, env) => env.children('project.task', 'project_id', row.id).filter((id) => env.row('project.task', id)?.active === true).length,
      }),
    },
  },
  {
    name: 'project.task',
    description: 'Task',
    order: 'priority desc, sequence, date_deadline asc, id desc',
    recName: 'name',
    parentName: 'parent_id',
    readGroups: ['Project / User'],
    fields: {
      name: char('Title', { required: true }),
      active: bool('Active', { default: true }),
      project_id: m2o('project.project', 'Project'),
      parent_id: m2o('project.task', 'Parent Task'),
      child_ids: o2m('project.task', 'parent_id', 'Sub-tasks'),
      stage_id: m2o('project.task.type', 'Stage', { ondelete: 'restrict' }),
      user_ids: m2m('res.users', 'Assignees'),
      partner_id: m2o('res.partner', 'Customer'),
      company_id: m2o('res.company', 'Company'),
      priority: sel('Priority', [['0', 'Low'], ['1', 'High']], { default: '0' }),
      sequence: int('Sequence', { default: 10 }),
      state: sel(
        'Status',
        [
          ['01_in_progress', 'In Progress'],
          ['02_changes_requested', 'Changes Requested'],
          ['03_approved', 'Approved'],
          ['1_done', 'Done'],
          ['1_canceled', 'Canceled'],
          ['04_waiting_normal', 'Waiting'],
        ],
        { required: true, default: '01_in_progress' },
      ),
      date_deadline: datetime('Deadline'),
      date_assign: datetime('Assigning Date'),
      date_end: datetime('Ending Date'),
      date_last_stage_update: datetime('Last Stage Update'),
      allocated_hours: float('Allocated Time'),
      effective_hours: float('Time Spent', { readonly: true }),
      tag_ids: m2m('project.tags', 'Tags'),
      description: html('Description'),
      color: int('Color Index'),
    },
  },
  {
    name: 'ir.model',
    description: 'Models',
    order: 'model',
    recName: 'name',
    readGroups: INTERNAL,
    fields: {
      name: char('Model Description', { required: true, translate: true }),
      model: char('Model', { required: true }),
      order: char('Order', { readonly: true }),
      info: text('Information'),
      state: sel('Type', [['manual', 'Custom Object'], ['base', 'Base Object']], { default: 'base', readonly: true }),
      transient: bool('Transient Model'),
      modules: char('In Apps', { readonly: true, compute: (row) => (typeof row.__module === 'string' ? row.__module : null) }),
    },
  },
];

function inheritedValue(row: Row, env: ReadEnv, name: string): number | null {
  const tmpl = typeof row.product_tmpl_id === 'number' ? env.row('product.template', row.product_tmpl_id) : undefined;
  const v = tmpl?.[name];
  return typeof v === 'number' ? v : null;
}

/** Magic columns of every model (odoo/models.py LOG_ACCESS_COLUMNS + id + display_name). */
function magicFields(): Record<string, FieldSpec> {
  return {
    id: { type: 'integer', string: 'ID', readonly: true },
    display_name: {
      type: 'char',
      string: 'Display Name',
      readonly: true,
      compute: () => null, // replaced by Registry.displayName at read time
    },
    create_uid: m2o('res.users', 'Created by', { readonly: true }),
    create_date: datetime('Created on', { readonly: true }),
    write_uid: m2o('res.users', 'Last Updated by', { readonly: true }),
    write_date: datetime('Last Updated on', { readonly: true }),
  };
}

/** The models of one simulated Odoo version, fields filtered by since/until. */
export class Registry {
  readonly models = new Map<string, ModelDef>();

  constructor(readonly major: number) {
    for (const spec of MODEL_SPECS) {
      if (spec.since !== undefined && major < spec.since) continue;
      const fields: Record<string, FieldDef> = {};
      for (const [key, f] of Object.entries({ ...magicFields(), ...spec.fields })) {
        if (f.since !== undefined && major < f.since) continue;
        if (f.until !== undefined && major > f.until) continue;
        const name = key.replace(/__\d+$/, ''); // 'type__18' is the 18+ variant of 'type'
        const store = f.compute === undefined;
        fields[name] = {
          ...f,
          name,
          store,
          required: f.required ?? false,
          readonly: f.readonly ?? false,
          sortable: f.sortable ?? (store && f.type !== 'one2many' && f.type !== 'many2many'),
        };
      }
      const order = spec.orderSince && major >= spec.orderSince.major ? spec.orderSince.order : spec.order;
      this.models.set(spec.name, { ...spec, order, fields, activeName: fields.active ? 'active' : null });
    }
  }

  get(model: string): ModelDef | undefined {
    return this.models.get(model);
  }

  /** The value a read/domain sees: stored cell or read-time compute. */
  value(def: ModelDef, field: FieldDef, row: Row, env: ReadEnv): StoredValue {
    if (field.name === 'display_name') return this.displayName(def, row, env);
    if (field.compute) return field.compute(row, env);
    const v = row[field.name];
    return v === undefined ? null : v;
  }

  displayName(def: ModelDef, row: Row, env: ReadEnv): string {
    if (def.displayName) return def.displayName(row, env);
    const rec = def.recName && row[def.recName];
    return typeof rec === 'string' ? rec : `${def.name},${row.id}`;
  }
}
