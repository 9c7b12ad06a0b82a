-- ERP in the lakehouse: the Odoo bronze tables the transforms read, silver ERP views, the gold
-- finance tables (profit and loss, daily account balances, cash flow, open items, DSO/DPO) with the
-- balance sheet and aged balance as of any date, the platinum ERP tables (partner payment
-- behaviour, reconciliation candidates), and the refresh path that publishes gold and platinum.
--
-- Design (why it is shaped this way):
--  1. Bronze tables are normally created by the loader on the first sync, but the silver views
--     below must compile when the migrations run. So this file creates the Odoo bronze tables the
--     transforms read, with only the columns they use, under the same names and types the Odoo
--     connector produces (lib/sources/odoo/fields.ts: many2one → <field> bigint + <field>_name
--     text, selection/char → text, monetary/float → numeric, date → date, datetime → timestamptz),
--     the metadata columns exactly as lib/lakehouse/tables.ts createTable makes them and the
--     primary key (_ipai_connector_id, id). The loader then finds the table and only adds the
--     remaining columns.
--  2. Silver (ipai_silver_erp) = security_invoker views over bronze: current (not deleted), posted
--     where it matters, conformed names. Cheap, always up to date, and unreadable for analysts
--     because bronze RLS only lets admin/data_engineer through.
--  3. Gold/platinum data that apps read must carry company-scoped RLS, which a materialized view
--     cannot. So each gold model is a TABLE (secured by ipai_meta.secure_relation: RLS with the
--     company_id scope for analysts, ipai_read reads all, anon nothing), computed by a
--     security_invoker "build" view in silver (ipai_silver_erp.build_<model>) and published by
--     ipai_meta.refresh_transform_tables(schemas): one transaction that deletes and re-inserts
--     each registered table in order. Readers keep seeing the previous contents until it commits
--     (MVCC), which is what REFRESH … CONCURRENTLY would give, and the tables need no unique index
--     to be refreshed. refreshMaterializedViews (the Connector Run node's Refresh operation)
--     calls it after the materialized views of the same schemas.
--  4. Balance sheet as of any date and aging as of any date are SECURITY INVOKER SQL functions
--     over the gold tables, so the caller's RLS applies to every row they read.
--  5. Gold connector operations (ipai_gold_core) are security_invoker views over the run ledger
--     (20261122000600_connector_operations.sql): always current, and only staff
--     (admin/data_engineer) see rows, through the ledger's RLS.
-- Company scope: company_id is Odoo's company id. Two Odoo instances (two connectors) sharing
-- this lakehouse share company ids too; every gold row also carries connector_id.
--
-- Money (finance gold to the cent on inputs nobody here wrote):
--  1. Journal items without parent_state/company_id (an Odoo or a field list that does not send
--     them): the move's state and company_id stand in, and the company's currency comes from
--     res.company when the line lacks company_currency_id.
--  2. A line counts only when its move is in bronze, not deleted and posted: a line whose move is
--     missing (filtered, not yet synced) or deleted is not accounting we can vouch for. The move's
--     state decides (it is the document; a line's parent_state is a copy that can lag behind);
--     the line's parent_state is used only when the move row carries no state at all.
--  3. Money is rounded at silver to the decimal places of its currency (res.currency.decimal_places,
--     else derived from its rounding as Odoo does, else ISO 4217 minor units, else 2): Odoo stores
--     monetary values rounded, but floats reach bronze with binary noise (2183.5499999999997).
--     Every sum above silver adds exact decimals.
--  4. Document-currency measures (amount_open_currency) add up only within one document currency:
--     declared in the semantic model and on the gold column.
--  5. Invoice settlements fall back to receivable/payable lines when display_type is absent.

-- Bronze tables ------------------------------------------------------------------------------

create table ipai_bronze_erp.odoo_account_move (
    id bigint not null,
    _ipai_connector_id uuid not null,
    _ipai_run_id uuid not null,
    _ipai_extracted_at timestamptz not null,
    _ipai_deleted_at timestamptz,
    _ipai_raw jsonb not null,
    write_date timestamptz,
    name text,
    ref text,
    date date,
    move_type text,
    state text,
    payment_state text,
    journal_id bigint,
    journal_id_name text,
    company_id bigint,
    company_id_name text,
    currency_id bigint,
    currency_id_name text,
    partner_id bigint,
    partner_id_name text,
    invoice_date date,
    invoice_date_due date,
    payment_reference text,
    reversed_entry_id bigint,
    reversed_entry_id_name text,
    amount_untaxed numeric,
    amount_tax numeric,
    amount_total numeric,
    amount_residual numeric,
    amount_total_signed numeric,
    amount_residual_signed numeric,
    primary key (_ipai_connector_id, id)
);
select ipai_meta.secure_relation('ipai_bronze_erp.odoo_account_move');

create table ipai_bronze_erp.odoo_account_move_line (
    id bigint not null,
    _ipai_connector_id uuid not null,
    _ipai_run_id uuid not null,
    _ipai_extracted_at timestamptz not null,
    _ipai_deleted_at timestamptz,
    _ipai_raw jsonb not null,
    write_date timestamptz,
    move_id bigint,
    move_id_name text,
    move_name text,
    date date,
    ref text,
    parent_state text,
    journal_id bigint,
    journal_id_name text,
    company_id bigint,
    company_id_name text,
    company_currency_id bigint,
    company_currency_id_name text,
    account_id bigint,
    account_id_name text,
    account_type text,
    partner_id bigint,
    partner_id_name text,
    name text,
    display_type text,
    debit numeric,
    credit numeric,
    balance numeric,
    amount_currency numeric,
    currency_id bigint,
    currency_id_name text,
    amount_residual numeric,
    amount_residual_currency numeric,
    reconciled boolean,
    date_maturity date,
    matching_number text,
    primary key (_ipai_connector_id, id)
);
select ipai_meta.secure_relation('ipai_bronze_erp.odoo_account_move_line');

create table ipai_bronze_erp.odoo_account_account (
    id bigint not null,
    _ipai_connector_id uuid not null,
    _ipai_run_id uuid not null,
    _ipai_extracted_at timestamptz not null,
    _ipai_deleted_at timestamptz,
    _ipai_raw jsonb not null,
    write_date timestamptz,
    name text,
    code text,
    account_type text,
    internal_group text,
    reconcile boolean,
    company_id bigint,
    company_id_name text,
    primary key (_ipai_connector_id, id)
);
select ipai_meta.secure_relation('ipai_bronze_erp.odoo_account_account');

create table ipai_bronze_erp.odoo_account_journal (
    id bigint not null,
    _ipai_connector_id uuid not null,
    _ipai_run_id uuid not null,
    _ipai_extracted_at timestamptz not null,
    _ipai_deleted_at timestamptz,
    _ipai_raw jsonb not null,
    write_date timestamptz,
    name text,
    code text,
    type text,
    active boolean,
    company_id bigint,
    company_id_name text,
    default_account_id bigint,
    default_account_id_name text,
    primary key (_ipai_connector_id, id)
);
select ipai_meta.secure_relation('ipai_bronze_erp.odoo_account_journal');

create table ipai_bronze_erp.odoo_res_partner (
    id bigint not null,
    _ipai_connector_id uuid not null,
    _ipai_run_id uuid not null,
    _ipai_extracted_at timestamptz not null,
    _ipai_deleted_at timestamptz,
    _ipai_raw jsonb not null,
    write_date timestamptz,
    name text,
    complete_name text,
    is_company boolean,
    ref text,
    vat text,
    email text,
    parent_id bigint,
    parent_id_name text,
    commercial_partner_id bigint,
    commercial_partner_id_name text,
    country_id bigint,
    country_id_name text,
    company_id bigint,
    company_id_name text,
    customer_rank bigint,
    supplier_rank bigint,
    active boolean,
    primary key (_ipai_connector_id, id)
);
select ipai_meta.secure_relation('ipai_bronze_erp.odoo_res_partner');

create table ipai_bronze_erp.odoo_product_product (
    id bigint not null,
    _ipai_connector_id uuid not null,
    _ipai_run_id uuid not null,
    _ipai_extracted_at timestamptz not null,
    _ipai_deleted_at timestamptz,
    _ipai_raw jsonb not null,
    write_date timestamptz,
    default_code text,
    name text,
    type text,
    categ_id bigint,
    categ_id_name text,
    list_price numeric,
    sale_ok boolean,
    purchase_ok boolean,
    active boolean,
    company_id bigint,
    company_id_name text,
    primary key (_ipai_connector_id, id)
);
select ipai_meta.secure_relation('ipai_bronze_erp.odoo_product_product');

create table ipai_bronze_erp.odoo_project_project (
    id bigint not null,
    _ipai_connector_id uuid not null,
    _ipai_run_id uuid not null,
    _ipai_extracted_at timestamptz not null,
    _ipai_deleted_at timestamptz,
    _ipai_raw jsonb not null,
    write_date timestamptz,
    name text,
    active boolean,
    partner_id bigint,
    partner_id_name text,
    user_id bigint,
    user_id_name text,
    company_id bigint,
    company_id_name text,
    date_start date,
    date date,
    stage_id bigint,
    stage_id_name text,
    last_update_status text,
    primary key (_ipai_connector_id, id)
);
select ipai_meta.secure_relation('ipai_bronze_erp.odoo_project_project');

create table ipai_bronze_erp.odoo_project_task (
    id bigint not null,
    _ipai_connector_id uuid not null,
    _ipai_run_id uuid not null,
    _ipai_extracted_at timestamptz not null,
    _ipai_deleted_at timestamptz,
    _ipai_raw jsonb not null,
    write_date timestamptz,
    name text,
    active boolean,
    project_id bigint,
    project_id_name text,
    stage_id bigint,
    stage_id_name text,
    partner_id bigint,
    partner_id_name text,
    company_id bigint,
    company_id_name text,
    state text,
    priority text,
    date_deadline timestamptz,
    date_end timestamptz,
    allocated_hours numeric,
    effective_hours numeric,
    primary key (_ipai_connector_id, id)
);
select ipai_meta.secure_relation('ipai_bronze_erp.odoo_project_task');

create table ipai_bronze_erp.odoo_res_currency (
    id bigint not null,
    _ipai_connector_id uuid not null,
    _ipai_run_id uuid not null,
    _ipai_extracted_at timestamptz not null,
    _ipai_deleted_at timestamptz,
    _ipai_raw jsonb not null,
    write_date timestamptz,
    name text,
    symbol text,
    rounding numeric,
    decimal_places bigint,
    active boolean,
    primary key (_ipai_connector_id, id)
);
select ipai_meta.secure_relation('ipai_bronze_erp.odoo_res_currency');

create table ipai_bronze_erp.odoo_res_company (
    id bigint not null,
    _ipai_connector_id uuid not null,
    _ipai_run_id uuid not null,
    _ipai_extracted_at timestamptz not null,
    _ipai_deleted_at timestamptz,
    _ipai_raw jsonb not null,
    write_date timestamptz,
    name text,
    currency_id bigint,
    currency_id_name text,
    primary key (_ipai_connector_id, id)
);
select ipai_meta.secure_relation('ipai_bronze_erp.odoo_res_company');

-- Odoo's account groups: the first word of account_type, 'off' for off-balance accounts
-- (account.account._compute_internal_group).
create or replace function ipai_meta.odoo_account_group(account_type text) returns text
  language sql immutable
  set search_path = ''
as $$
  select case when account_type = 'off_balance' then 'off' else split_part(account_type, '_', 1) end
$$;
grant execute on function ipai_meta.odoo_account_group(text) to authenticated, service_role, ipai_transform, ipai_read;

-- ISO 4217 minor units of the currencies whose minor unit is not 2 (list of 2024-01-01), for a
-- currency Odoo's res.currency did not tell us about. Anything else has 2.
create or replace function ipai_meta.iso_currency_decimals(code text) returns integer
  language sql immutable
  set search_path = ''
as $$
  select case upper(code)
           when 'BIF' then 0 when 'CLP' then 0 when 'DJF' then 0 when 'GNF' then 0 when 'ISK' then 0
           when 'JPY' then 0 when 'KMF' then 0 when 'KRW' then 0 when 'PYG' then 0 when 'RWF' then 0
           when 'UGX' then 0 when 'UYI' then 0 when 'VND' then 0 when 'VUV' then 0 when 'XAF' then 0
           when 'XOF' then 0 when 'XPF' then 0
           when 'BHD' then 3 when 'IQD' then 3 when 'JOD' then 3 when 'KWD' then 3 when 'LYD' then 3
           when 'OMR' then 3 when 'TND' then 3
           when 'CLF' then 4 when 'UYW' then 4
           else 2 end
$$;
grant execute on function ipai_meta.iso_currency_decimals(text) to authenticated, service_role, ipai_transform, ipai_read;

-- Silver ERP ---------------------------------------------------------------------------------

create or replace view ipai_silver_erp.partners as
select p._ipai_connector_id as connector_id, p.id as partner_id, coalesce(p.complete_name, p.name) as partner_name,
       p.is_company, p.commercial_partner_id, p.parent_id, p.ref, p.vat, p.email, p.country_id_name as country,
       p.company_id, coalesce(p.customer_rank, 0) > 0 as is_customer, coalesce(p.supplier_rank, 0) > 0 as is_vendor,
       coalesce(p.active, true) as active
  from ipai_bronze_erp.odoo_res_partner p
 where p._ipai_deleted_at is null;
select ipai_meta.secure_relation('ipai_silver_erp.partners');

create or replace view ipai_silver_erp.accounts as
select a._ipai_connector_id as connector_id, a.id as account_id, a.code as account_code, a.name as account_name,
       a.account_type, coalesce(a.internal_group, ipai_meta.odoo_account_group(a.account_type)) as account_group,
       coalesce(a.reconcile, false) as reconcile, a.company_id
  from ipai_bronze_erp.odoo_account_account a
 where a._ipai_deleted_at is null;
select ipai_meta.secure_relation('ipai_silver_erp.accounts');

create or replace view ipai_silver_erp.journals as
select j._ipai_connector_id as connector_id, j.id as journal_id, j.code as journal_code, j.name as journal_name,
       j.type as journal_type, j.company_id, j.default_account_id, coalesce(j.active, true) as active
  from ipai_bronze_erp.odoo_account_journal j
 where j._ipai_deleted_at is null;
select ipai_meta.secure_relation('ipai_silver_erp.journals');

create or replace view ipai_silver_erp.products as
select p._ipai_connector_id as connector_id, p.id as product_id, p.default_code, p.name as product_name,
       p.type as product_type, p.categ_id_name as category, p.list_price, p.sale_ok, p.purchase_ok,
       coalesce(p.active, true) as active, p.company_id
  from ipai_bronze_erp.odoo_product_product p
 where p._ipai_deleted_at is null;
select ipai_meta.secure_relation('ipai_silver_erp.products');

create or replace view ipai_silver_erp.projects as
select p._ipai_connector_id as connector_id, p.id as project_id, p.name as project_name, p.partner_id,
       p.partner_id_name as partner_name, p.user_id_name as manager, p.company_id, p.date_start, p.date as date_end,
       p.stage_id_name as stage, p.last_update_status as status, coalesce(p.active, true) as active
  from ipai_bronze_erp.odoo_project_project p
 where p._ipai_deleted_at is null;
select ipai_meta.secure_relation('ipai_silver_erp.projects');

create or replace view ipai_silver_erp.tasks as
select t._ipai_connector_id as connector_id, t.id as task_id, t.name as task_name, t.project_id,
       t.project_id_name as project_name, t.stage_id_name as stage, t.state, t.priority = '1' as high_priority,
       t.partner_id, t.company_id, t.date_deadline, t.date_end, t.allocated_hours, t.effective_hours,
       coalesce(t.active, true) as active
  from ipai_bronze_erp.odoo_project_task t
 where t._ipai_deleted_at is null;
select ipai_meta.secure_relation('ipai_silver_erp.tasks');

-- Currencies with the number of decimals their amounts carry. Odoo 17: decimal_places is computed
-- from rounding (ceil(log10(1 / rounding)) for 0 < rounding < 1, else 0).
create or replace view ipai_silver_erp.currencies as
select c._ipai_connector_id as connector_id, c.id as currency_id, c.name as currency,
       coalesce(c.decimal_places::integer,
                case when c.rounding > 0 and c.rounding < 1 then ceil(log(1 / c.rounding))::integer
                     when c.rounding >= 1 then 0 end,
                ipai_meta.iso_currency_decimals(c.name)) as decimal_places,
       c.rounding, coalesce(c.active, true) as active
  from ipai_bronze_erp.odoo_res_currency c
 where c._ipai_deleted_at is null;
select ipai_meta.secure_relation('ipai_silver_erp.currencies');

create or replace view ipai_silver_erp.companies as
select c._ipai_connector_id as connector_id, c.id as company_id, c.name as company_name,
       c.currency_id, c.currency_id_name as currency
  from ipai_bronze_erp.odoo_res_company c
 where c._ipai_deleted_at is null;
select ipai_meta.secure_relation('ipai_silver_erp.companies');

-- Invoices, bills and their credit notes (every state; gold filters on posted), amounts rounded
-- to the document's currency (amount_*) and the company's (amount_*_signed).
create or replace view ipai_silver_erp.invoices as
select m._ipai_connector_id as connector_id, m.id as move_id, m.name as move_name, m.move_type,
       case m.move_type when 'out_invoice' then 'customer_invoice' when 'out_refund' then 'customer_credit_note'
                        when 'in_invoice' then 'vendor_bill' when 'in_refund' then 'vendor_credit_note'
                        when 'out_receipt' then 'sales_receipt' else 'purchase_receipt' end as document_kind,
       m.state, m.payment_state, m.company_id, m.journal_id, m.partner_id,
       coalesce(p.partner_name, m.partner_id_name) as partner_name, m.currency_id_name as currency,
       m.date, m.invoice_date, m.invoice_date_due, m.ref, m.payment_reference, m.reversed_entry_id,
       round(m.amount_untaxed, d.digits) as amount_untaxed, round(m.amount_tax, d.digits) as amount_tax,
       round(m.amount_total, d.digits) as amount_total, round(m.amount_residual, d.digits) as amount_residual,
       round(m.amount_total_signed, d.company_digits) as amount_total_signed,
       round(m.amount_residual_signed, d.company_digits) as amount_residual_signed
  from ipai_bronze_erp.odoo_account_move m
  left join ipai_silver_erp.partners p on p.connector_id = m._ipai_connector_id and p.partner_id = m.partner_id
  left join ipai_silver_erp.companies co on co.connector_id = m._ipai_connector_id and co.company_id = m.company_id
  left join ipai_silver_erp.currencies dc on dc.connector_id = m._ipai_connector_id and dc.currency_id = m.currency_id
  left join ipai_silver_erp.currencies cc on cc.connector_id = m._ipai_connector_id and cc.currency_id = co.currency_id
  cross join lateral (
    select coalesce(dc.decimal_places, ipai_meta.iso_currency_decimals(m.currency_id_name)) as digits,
           coalesce(cc.decimal_places, ipai_meta.iso_currency_decimals(co.currency)) as company_digits
  ) d
 where m._ipai_deleted_at is null
   and m.move_type in ('out_invoice', 'out_refund', 'in_invoice', 'in_refund', 'out_receipt', 'in_receipt');
select ipai_meta.secure_relation('ipai_silver_erp.invoices');

-- Posted journal items of present, current, posted moves. Amounts in the company's currency
-- (balance = debit − credit) rounded to its decimals; amount_currency and
-- amount_residual_currency in the document's currency (currency), rounded to its decimals.
create or replace view ipai_silver_erp.journal_items as
select l._ipai_connector_id as connector_id, l.id as line_id, l.move_id, coalesce(l.move_name, m.name) as move_name,
       m.move_type, coalesce(l.date, m.date) as date, k.company_id, c.company_currency,
       k.journal_id, j.journal_code, j.journal_name, j.journal_type,
       l.account_id, a.account_code, coalesce(a.account_name, l.account_id_name) as account_name,
       coalesce(l.account_type, a.account_type) as account_type,
       ipai_meta.odoo_account_group(coalesce(l.account_type, a.account_type)) as account_group,
       k.partner_id, coalesce(p.partner_name, l.partner_id_name, m.partner_id_name) as partner_name,
       l.name as label, coalesce(l.ref, m.ref) as ref, m.payment_reference, l.display_type,
       round(coalesce(l.debit, greatest(l.balance, 0), 0), c.company_digits) as debit,
       round(coalesce(l.credit, greatest(-l.balance, 0), 0), c.company_digits) as credit,
       round(coalesce(l.balance, l.debit - l.credit, 0), c.company_digits) as balance,
       round(l.amount_currency, c.document_digits) as amount_currency, c.document_currency as currency,
       round(coalesce(l.amount_residual, 0), c.company_digits) as amount_residual,
       round(coalesce(l.amount_residual_currency, 0), c.document_digits) as amount_residual_currency,
       coalesce(l.reconciled, false) as reconciled, l.date_maturity, l.matching_number,
       c.company_digits as company_currency_decimals, c.document_digits as currency_decimals
  from ipai_bronze_erp.odoo_account_move_line l
  join ipai_bronze_erp.odoo_account_move m
    on m._ipai_connector_id = l._ipai_connector_id and m.id = l.move_id and m._ipai_deleted_at is null
  cross join lateral (
    select coalesce(l.company_id, m.company_id) as company_id, coalesce(l.journal_id, m.journal_id) as journal_id,
           coalesce(l.partner_id, m.partner_id) as partner_id
  ) k
  left join ipai_silver_erp.companies co on co.connector_id = l._ipai_connector_id and co.company_id = k.company_id
  left join ipai_silver_erp.currencies cc
    on cc.connector_id = l._ipai_connector_id and cc.currency_id = coalesce(l.company_currency_id, co.currency_id)
  left join ipai_silver_erp.currencies dc
    on dc.connector_id = l._ipai_connector_id and dc.currency_id = coalesce(l.currency_id, m.currency_id, l.company_currency_id, co.currency_id)
  cross join lateral (
    select x.company_currency, x.document_currency,
           coalesce(cc.decimal_places, ipai_meta.iso_currency_decimals(x.company_currency)) as company_digits,
           coalesce(dc.decimal_places, ipai_meta.iso_currency_decimals(x.document_currency)) as document_digits
      from (select coalesce(l.company_currency_id_name, cc.currency, co.currency) as company_currency,
                   coalesce(l.currency_id_name, m.currency_id_name, dc.currency, l.company_currency_id_name, co.currency) as document_currency) x
  ) c
  left join ipai_silver_erp.journals j on j.connector_id = l._ipai_connector_id and j.journal_id = k.journal_id
  left join ipai_silver_erp.accounts a on a.connector_id = l._ipai_connector_id and a.account_id = l.account_id
  left join ipai_silver_erp.partners p on p.connector_id = l._ipai_connector_id and p.partner_id = k.partner_id
 where l._ipai_deleted_at is null
   and coalesce(m.state, l.parent_state) = 'posted'
   and coalesce(l.display_type, '') not in ('line_section', 'line_note');
select ipai_meta.secure_relation('ipai_silver_erp.journal_items');

-- Build views of the gold tables (what refresh_transform_tables publishes) -------------------

create or replace view ipai_silver_erp.build_profit_and_loss as
select connector_id, company_id, company_currency as currency, date_trunc('month', date)::date as month,
       account_group, account_type, account_id, account_code, account_name,
       sum(-balance) as amount,   -- income positive, expenses negative: the sum is the net profit
       count(*)::bigint as line_count
  from ipai_silver_erp.journal_items
 where account_group in ('income', 'expense') and company_id is not null and account_id is not null
 group by connector_id, company_id, company_currency, date_trunc('month', date), account_group, account_type,
          account_id, account_code, account_name;
select ipai_meta.secure_relation('ipai_silver_erp.build_profit_and_loss');

create or replace view ipai_silver_erp.build_account_balance_daily as
select connector_id, company_id, company_currency as currency, date, account_id, account_code, account_name,
       account_type, account_group, sum(debit) as debit, sum(credit) as credit, sum(balance) as balance
  from ipai_silver_erp.journal_items
 where company_id is not null and account_id is not null and date is not null
 group by connector_id, company_id, company_currency, date, account_id, account_code, account_name, account_type, account_group;
select ipai_meta.secure_relation('ipai_silver_erp.build_account_balance_daily');

-- Money through the liquidity accounts of bank and cash journals.
create or replace view ipai_silver_erp.build_cash_flow as
select connector_id, company_id, company_currency as currency, date_trunc('month', date)::date as month,
       journal_id, journal_code, journal_name, journal_type,
       sum(debit) as inflow, sum(credit) as outflow, sum(balance) as net_change, count(*)::bigint as line_count
  from ipai_silver_erp.journal_items
 where journal_type in ('bank', 'cash') and account_type = 'asset_cash' and company_id is not null
 group by connector_id, company_id, company_currency, date_trunc('month', date), journal_id, journal_code, journal_name, journal_type;
select ipai_meta.secure_relation('ipai_silver_erp.build_cash_flow');

-- Unreconciled receivable/payable items; amount_open is what the partner owes us (receivable)
-- or we owe the partner (payable), in company currency; aged as of the refresh date.
create or replace view ipai_silver_erp.build_open_items as
with items as (
  select connector_id, company_id, company_currency as currency, line_id, move_id, move_name, move_type,
         case account_type when 'asset_receivable' then 'receivable' else 'payable' end as kind,
         partner_id, partner_name, ref, payment_reference, date, coalesce(date_maturity, date) as date_due,
         case account_type when 'asset_receivable' then amount_residual else -amount_residual end as amount_open,
         currency as document_currency,
         case account_type when 'asset_receivable' then amount_residual_currency else -amount_residual_currency end as amount_open_currency
    from ipai_silver_erp.journal_items
   where account_type in ('asset_receivable', 'liability_payable') and amount_residual <> 0 and company_id is not null
)
select items.*, (current_date - date_due) as days_past_due,
       case when current_date - date_due <= 0 then 'current' when current_date - date_due <= 30 then '1-30'
            when current_date - date_due <= 60 then '31-60' when current_date - date_due <= 90 then '61-90'
            else '90+' end as aging_bucket
  from items;
select ipai_meta.secure_relation('ipai_silver_erp.build_open_items');

-- Days sales / payables outstanding per month: month-end balance ÷ the month's invoiced amount
-- (credit notes net) × days in the month.
create or replace view ipai_silver_erp.build_dso_dpo as
with monthly as (
  select connector_id, company_id, company_currency as currency, date_trunc('month', date)::date as month,
         coalesce(sum(balance) filter (where account_type = 'asset_receivable'), 0) as receivable_change,
         coalesce(sum(balance) filter (where account_type = 'asset_receivable' and move_type in ('out_invoice', 'out_refund', 'out_receipt')), 0) as credit_sales,
         coalesce(sum(-balance) filter (where account_type = 'liability_payable'), 0) as payable_change,
         coalesce(sum(-balance) filter (where account_type = 'liability_payable' and move_type in ('in_invoice', 'in_refund', 'in_receipt')), 0) as credit_purchases
    from ipai_silver_erp.journal_items
   where company_id is not null
   group by connector_id, company_id, company_currency, date_trunc('month', date)
), running as (
  select monthly.*,
         sum(receivable_change) over w as receivables_end,
         sum(payable_change) over w as payables_end,
         extract(day from (month + interval '1 month' - interval '1 day'))::int as days_in_month
    from monthly
  window w as (partition by connector_id, company_id order by month)
)
select connector_id, company_id, currency, month, credit_sales, credit_purchases, receivables_end, payables_end, days_in_month,
       case when credit_sales > 0 then round(receivables_end / credit_sales * days_in_month, 1) end as dso_days,
       case when credit_purchases > 0 then round(payables_end / credit_purchases * days_in_month, 1) end as dpo_days
  from running;
select ipai_meta.secure_relation('ipai_silver_erp.build_dso_dpo');

-- Gold ERP tables ----------------------------------------------------------------------------

create table ipai_gold_erp.profit_and_loss as select * from ipai_silver_erp.build_profit_and_loss with no data;
alter table ipai_gold_erp.profit_and_loss add primary key (connector_id, company_id, month, account_id);
select ipai_meta.secure_relation('ipai_gold_erp.profit_and_loss');

create table ipai_gold_erp.account_balance_daily as select * from ipai_silver_erp.build_account_balance_daily with no data;
alter table ipai_gold_erp.account_balance_daily add primary key (connector_id, company_id, account_id, date);
select ipai_meta.secure_relation('ipai_gold_erp.account_balance_daily');

create table ipai_gold_erp.cash_flow as select * from ipai_silver_erp.build_cash_flow with no data;
alter table ipai_gold_erp.cash_flow add primary key (connector_id, company_id, month, journal_id);
select ipai_meta.secure_relation('ipai_gold_erp.cash_flow');

create table ipai_gold_erp.open_items as select * from ipai_silver_erp.build_open_items with no data;
alter table ipai_gold_erp.open_items add primary key (connector_id, line_id);
create index on ipai_gold_erp.open_items (company_id, kind, partner_id);
select ipai_meta.secure_relation('ipai_gold_erp.open_items');
comment on column ipai_gold_erp.open_items.amount_open is
  'Open amount in the company currency (column currency); sums within one currency.';
comment on column ipai_gold_erp.open_items.amount_open_currency is
  'Open amount in the document currency (column document_currency): add it up only grouped by document_currency.';
comment on column ipai_gold_erp.open_items.document_currency is
  'Currency of amount_open_currency; part of the grain of any sum of amount_open_currency.';

create table ipai_gold_erp.dso_dpo as select * from ipai_silver_erp.build_dso_dpo with no data;
alter table ipai_gold_erp.dso_dpo add primary key (connector_id, company_id, month);
select ipai_meta.secure_relation('ipai_gold_erp.dso_dpo');

-- Balance sheet as of any date: assets (debit positive) = liabilities + equity (credit
-- positive), where equity includes this year's earnings to date and earlier years' earnings
-- not yet allocated to an equity account. SECURITY INVOKER: the caller's RLS on
-- account_balance_daily decides which companies it sees.
create or replace function ipai_gold_erp.balance_sheet(as_of date default current_date)
  returns table (connector_id uuid, company_id bigint, currency text, section text, account_id bigint,
                 account_code text, account_name text, amount numeric)
  language sql stable
  set search_path = ''
as $$
  with b as (
    select * from ipai_gold_erp.account_balance_daily d where d.date <= as_of
  )
  select b.connector_id, b.company_id, b.currency,
         case b.account_group when 'asset' then 'assets' when 'liability' then 'liabilities' else 'equity' end,
         b.account_id, b.account_code, b.account_name,
         sum(case when b.account_group = 'asset' then b.balance else -b.balance end)
    from b
   where b.account_group in ('asset', 'liability', 'equity')
   group by b.connector_id, b.company_id, b.currency, b.account_group, b.account_id, b.account_code, b.account_name
  union all
  select b.connector_id, b.company_id, b.currency, 'equity', null, null,
         case when b.date >= date_trunc('year', as_of)::date then 'Current Year Earnings' else 'Previous Years Unallocated Earnings' end,
         sum(-b.balance)
    from b
   where b.account_group in ('income', 'expense')
   group by b.connector_id, b.company_id, b.currency, b.date >= date_trunc('year', as_of)::date
$$;

-- Receivable/payable aging as of any date, from today's residual amounts: items entered after
-- as_of are left out; buckets by days past the due date.
create or replace function ipai_gold_erp.aged_balance(as_of date default current_date)
  returns table (connector_id uuid, company_id bigint, currency text, kind text, partner_id bigint, partner_name text,
                 not_due numeric, days_1_30 numeric, days_31_60 numeric, days_61_90 numeric, days_90_plus numeric, total numeric)
  language sql stable
  set search_path = ''
as $$
  select o.connector_id, o.company_id, o.currency, o.kind, o.partner_id, max(o.partner_name),
         coalesce(sum(o.amount_open) filter (where as_of - o.date_due <= 0), 0),
         coalesce(sum(o.amount_open) filter (where as_of - o.date_due between 1 and 30), 0),
         coalesce(sum(o.amount_open) filter (where as_of - o.date_due between 31 and 60), 0),
         coalesce(sum(o.amount_open) filter (where as_of - o.date_due between 61 and 90), 0),
         coalesce(sum(o.amount_open) filter (where as_of - o.date_due > 90), 0),
         sum(o.amount_open)
    from ipai_gold_erp.open_items o
   where o.date <= as_of
   group by o.connector_id, o.company_id, o.currency, o.kind, o.partner_id
$$;

revoke all on function ipai_gold_erp.balance_sheet(date), ipai_gold_erp.aged_balance(date) from public, anon;
grant execute on function ipai_gold_erp.balance_sheet(date), ipai_gold_erp.aged_balance(date)
  to authenticated, service_role, ipai_read, ipai_transform;
alter function ipai_gold_erp.balance_sheet(date) owner to ipai_transform;
alter function ipai_gold_erp.aged_balance(date) owner to ipai_transform;

-- The refresh path ---------------------------------------------------------------------------

-- Tables published from a build view, in refresh order (a table built from another comes after).
create table ipai_meta.transform_table (
    target regclass primary key,
    source regclass not null,
    refresh_order integer not null
);
revoke all on ipai_meta.transform_table from public;
alter table ipai_meta.transform_table enable row level security;
create policy ipai_transform_read on ipai_meta.transform_table for select to ipai_transform, service_role using (true);
grant select on ipai_meta.transform_table to ipai_transform, service_role;

insert into ipai_meta.transform_table (target, source, refresh_order) values
  ('ipai_gold_erp.profit_and_loss', 'ipai_silver_erp.build_profit_and_loss', 100),
  ('ipai_gold_erp.account_balance_daily', 'ipai_silver_erp.build_account_balance_daily', 110),
  ('ipai_gold_erp.cash_flow', 'ipai_silver_erp.build_cash_flow', 120),
  ('ipai_gold_erp.open_items', 'ipai_silver_erp.build_open_items', 130),
  ('ipai_gold_erp.dso_dpo', 'ipai_silver_erp.build_dso_dpo', 140);

-- Republishes the registered tables of the given schemas in one transaction (the caller's):
-- DELETE + INSERT under an EXCLUSIVE lock, which blocks a second refresh but not readers, who
-- see the previous contents until commit. Runs with the caller's rights (a member of
-- ipai_transform, which owns the tables and reads bronze through the build views).
create or replace function ipai_meta.refresh_transform_tables(schemas text[])
  returns table (relation text, rows_written bigint, duration_ms numeric)
  language plpgsql
  set search_path = ''
as $$
declare
  t record;
  started timestamptz;
  n bigint;
begin
  for t in
    select tt.target, tt.source
      from ipai_meta.transform_table tt
      join pg_catalog.pg_class c on c.oid = tt.target
      join pg_catalog.pg_namespace ns on ns.oid = c.relnamespace
     where ns.nspname = any (schemas)
     order by tt.refresh_order, tt.target::text
  loop
    started := clock_timestamp();
    execute format('lock table %s in exclusive mode', t.target);
    execute format('delete from %s', t.target);
    execute format('insert into %s select * from %s', t.target, t.source);
    get diagnostics n = row_count;
    relation := t.target::text;
    rows_written := n;
    duration_ms := round(extract(epoch from clock_timestamp() - started) * 1000, 1);
    return next;
  end loop;
end
$$;
revoke all on function ipai_meta.refresh_transform_tables(text[]) from public;
grant execute on function ipai_meta.refresh_transform_tables(text[]) to ipai_transform, service_role;

-- Platinum ERP -----------------------------------------------------------------------------------
-- Per-partner payment behaviour and reconciliation candidates, published like gold (tables with
-- company-scoped RLS, built by silver views, republished by ipai_meta.refresh_transform_tables
-- after the gold tables they read).

create schema if not exists ipai_platinum_erp;
revoke all on schema ipai_platinum_erp from public, anon;
grant usage on schema ipai_platinum_erp to authenticated, service_role, ipai_transform, ipai_read;
grant create on schema ipai_platinum_erp to ipai_transform;
-- pg_trgm's similarity() lives in the extensions schema; the refresh runs as ipai_transform.
do $$
begin
  if exists (select 1 from pg_namespace where nspname = 'extensions') then
    execute 'grant usage on schema extensions to ipai_transform';
  end if;
end
$$;

-- When each invoice/bill was paid. The receivable/payable line of an invoice is its payment term
-- line (display_type = 'payment_term' from Odoo 16); without display_type, the
-- receivable/payable lines stand for it.
create or replace view ipai_silver_erp.invoice_settlements as
with terms as (
  select t.connector_id, t.company_id, t.company_currency as currency, t.move_id, t.move_name, t.move_type,
         t.partner_id, t.partner_name, t.account_id, t.line_id, t.matching_number, t.reconciled,
         coalesce(t.date_maturity, t.date) as date_due, t.date
    from ipai_silver_erp.journal_items t
   where t.move_type in ('out_invoice', 'in_invoice')
     and case when t.display_type is not null then t.display_type = 'payment_term'
              else t.account_type in ('asset_receivable', 'liability_payable') end
)
select terms.*,
       case when terms.reconciled then (
         select max(o.date) from ipai_silver_erp.journal_items o
          where o.connector_id = terms.connector_id and o.account_id = terms.account_id
            and o.matching_number = terms.matching_number and o.line_id <> terms.line_id and o.move_type = 'entry')
       end as paid_date
  from terms;
select ipai_meta.secure_relation('ipai_silver_erp.invoice_settlements');

create or replace view ipai_silver_erp.build_partner_payment_behaviour as
with settled as (
  select s.*, s.paid_date - s.date_due as days_late
    from ipai_silver_erp.invoice_settlements s
), per_partner as (
  select connector_id, company_id, currency, partner_id,
         case when move_type = 'out_invoice' then 'customer' else 'vendor' end as partner_role,
         max(partner_name) as partner_name,
         count(distinct move_id)::bigint as invoice_count,
         count(distinct move_id) filter (where days_late is not null)::bigint as paid_count,
         round(avg(days_late), 1) as avg_days_late,
         max(days_late) as max_days_late,
         -- Change in lateness per 30 days of due dates (least squares; > 0 = paying later and later).
         round((regr_slope(days_late, date_due - date '2000-01-01') * 30)::numeric, 2) as days_late_trend_per_30d
    from settled
   where partner_id is not null
   group by connector_id, company_id, currency, partner_id, case when move_type = 'out_invoice' then 'customer' else 'vendor' end
), balances as (
  select connector_id, company_id, partner_id,
         case kind when 'receivable' then 'customer' else 'vendor' end as partner_role,
         sum(amount_open) as open_balance,
         coalesce(sum(amount_open) filter (where days_past_due > 0), 0) as overdue_balance
    from ipai_gold_erp.open_items
   where partner_id is not null
   group by connector_id, company_id, partner_id, kind
)
select p.connector_id, p.company_id, p.currency, p.partner_id, p.partner_role, p.partner_name,
       p.invoice_count, p.paid_count, p.avg_days_late, p.max_days_late, p.days_late_trend_per_30d,
       coalesce(b.open_balance, 0) as open_balance, coalesce(b.overdue_balance, 0) as overdue_balance
  from per_partner p
  left join balances b on b.connector_id = p.connector_id and b.company_id = p.company_id
                      and b.partner_id = p.partner_id and b.partner_role = p.partner_role;
select ipai_meta.secure_relation('ipai_silver_erp.build_partner_payment_behaviour');

create table ipai_platinum_erp.partner_payment_behaviour as
  select * from ipai_silver_erp.build_partner_payment_behaviour with no data;
alter table ipai_platinum_erp.partner_payment_behaviour add primary key (connector_id, company_id, partner_id, partner_role);
select ipai_meta.secure_relation('ipai_platinum_erp.partner_payment_behaviour');

-- Bank/cash lines still waiting for reconciliation: liquidity lines of bank and cash journals
-- whose entry is booked against a clearing account (suspense: current asset/liability), not
-- against a receivable/payable (a registered payment), income/expense (a direct booking) or
-- another liquidity account (a transfer).
create or replace view ipai_silver_erp.unreconciled_bank_lines as
select j.connector_id, j.line_id, j.move_id, j.move_name, j.move_type, j.date, j.company_id, j.company_currency,
       j.journal_id, j.journal_code, j.journal_name, j.journal_type, j.account_id, j.account_code, j.account_name,
       j.account_type, j.account_group, j.partner_id, j.partner_name, j.label, j.ref, j.payment_reference,
       j.display_type, j.debit, j.credit, j.balance, j.amount_currency, j.currency, j.amount_residual,
       j.amount_residual_currency, j.reconciled, j.date_maturity, j.matching_number
  from ipai_silver_erp.journal_items j
 where j.journal_type in ('bank', 'cash') and j.account_type = 'asset_cash' and j.balance <> 0
   and exists (select 1 from ipai_silver_erp.journal_items o
                where o.connector_id = j.connector_id and o.move_id = j.move_id
                  and o.account_type in ('asset_current', 'liability_current'))
   and not exists (select 1 from ipai_silver_erp.journal_items o
                    where o.connector_id = j.connector_id and o.move_id = j.move_id
                      and (o.account_type in ('asset_receivable', 'liability_payable') or o.account_group in ('income', 'expense')));
select ipai_meta.secure_relation('ipai_silver_erp.unreconciled_bank_lines');

-- How well a bank line's text matches an open item's number or payment reference, 0..1:
-- pg_trgm's similarity() where the server has the extension, else the plain fallback (1 when one
-- contains the other, case-insensitively). Both exist; reference_score is bound to one of them
-- when the migrations run (a view cannot compile a call to a function that does not exist).
create or replace function ipai_meta.reference_score_plain(bank_text text, move_name text, payment_reference text)
  returns numeric
  language sql immutable
  set search_path = ''
as $$
  select case when coalesce(bank_text, '') <> '' and (
                   (coalesce(move_name, '') <> '' and (strpos(lower(bank_text), lower(move_name)) > 0 or strpos(lower(move_name), lower(bank_text)) > 0))
                or (coalesce(payment_reference, '') <> '' and strpos(lower(bank_text), lower(payment_reference)) > 0))
              then 1 else 0 end::numeric
$$;

do $$
begin
  if ipai_meta.has_extension('pg_trgm') then
    execute $f$
      create or replace function ipai_meta.reference_score(bank_text text, move_name text, payment_reference text)
        returns numeric
        language sql stable
        set search_path = ''
      as $b$
        select greatest(extensions.similarity(lower(coalesce(bank_text, '')), lower(coalesce(move_name, ''))),
                        extensions.similarity(lower(coalesce(bank_text, '')), lower(coalesce(nullif(payment_reference, ''), move_name, ''))))::numeric
      $b$ $f$;
  else
    execute $f$
      create or replace function ipai_meta.reference_score(bank_text text, move_name text, payment_reference text)
        returns numeric
        language sql stable
        set search_path = ''
      as $b$ select ipai_meta.reference_score_plain(bank_text, move_name, payment_reference) $b$ $f$;
  end if;
end
$$;
revoke all on function ipai_meta.reference_score(text, text, text), ipai_meta.reference_score_plain(text, text, text) from public;
grant execute on function ipai_meta.reference_score(text, text, text), ipai_meta.reference_score_plain(text, text, text)
  to authenticated, service_role, ipai_transform, ipai_read;

-- Candidates: open items of the right kind (money in → receivables, out → payables) of the same
-- company, scored 0.5 × amount closeness + 0.25 × same partner + 0.25 × reference_score.
-- Only the 5 best per bank line with a score of at least 0.3 are kept.
create or replace view ipai_silver_erp.build_reconciliation_candidates as
with b as (
  select connector_id, company_id, currency, line_id as bank_line_id, move_id as bank_move_id, move_name as bank_move_name,
         date as bank_date, journal_code, partner_id as bank_partner_id, abs(balance) as bank_amount,
         case when balance > 0 then 'receivable' else 'payable' end as kind,
         btrim(coalesce(ref, '') || ' ' || coalesce(label, '')) as ref_text
    from ipai_silver_erp.unreconciled_bank_lines
), scored as (
  select b.connector_id, b.company_id, b.currency, b.bank_line_id, b.bank_move_name, b.bank_date, b.journal_code,
         b.bank_amount, b.ref_text as bank_reference, b.kind,
         o.line_id as open_line_id, o.move_id as open_move_id, o.move_name as open_move_name, o.partner_id, o.partner_name,
         o.amount_open, o.date_due,
         greatest(0, 1 - abs(b.bank_amount - o.amount_open) / greatest(b.bank_amount, o.amount_open)) as amount_score,
         case when b.bank_partner_id is not null and b.bank_partner_id = o.partner_id then 1 else 0 end as partner_score,
         ipai_meta.reference_score(b.ref_text, o.move_name, o.payment_reference) as reference_score
    from b
    join ipai_gold_erp.open_items o
      on o.connector_id = b.connector_id and o.company_id = b.company_id and o.kind = b.kind and o.amount_open > 0
), ranked as (
  select scored.*, round(0.5 * amount_score + 0.25 * partner_score + 0.25 * reference_score, 4) as score
    from scored
)
select connector_id, company_id, currency, bank_line_id, bank_move_name, bank_date, journal_code, bank_amount, bank_reference,
       kind, open_line_id, open_move_id, open_move_name, partner_id, partner_name, amount_open, date_due,
       round(amount_score, 4) as amount_score, partner_score, round(reference_score, 4) as reference_score, score, candidate_rank
  from (select ranked.*, row_number() over (partition by connector_id, bank_line_id order by score desc, open_line_id) as candidate_rank
          from ranked where score >= 0.3) r
 where candidate_rank <= 5;
select ipai_meta.secure_relation('ipai_silver_erp.build_reconciliation_candidates');

create table ipai_platinum_erp.reconciliation_candidates as
  select * from ipai_silver_erp.build_reconciliation_candidates with no data;
alter table ipai_platinum_erp.reconciliation_candidates add primary key (connector_id, bank_line_id, open_line_id);
select ipai_meta.secure_relation('ipai_platinum_erp.reconciliation_candidates');

-- Where the server has pgvector, a column for an embedding of the bank line's text (filled by an
-- embedding job; refresh_transform_tables re-inserts the other columns and leaves it NULL).
do $$
begin
  if ipai_meta.has_extension('vector') then
    execute 'alter table ipai_platinum_erp.reconciliation_candidates add column if not exists bank_reference_embedding extensions.vector(1536)';
  end if;
end
$$;

insert into ipai_meta.transform_table (target, source, refresh_order) values
  ('ipai_platinum_erp.partner_payment_behaviour', 'ipai_silver_erp.build_partner_payment_behaviour', 200),
  ('ipai_platinum_erp.reconciliation_candidates', 'ipai_silver_erp.build_reconciliation_candidates', 210);

