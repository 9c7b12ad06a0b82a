-- Silver and gold ERP models, gold connector-operations views, and the refresh path (issue 7).
--
-- Design (why it is shaped this way):
--  1. Bronze tables are normally created by the loader on the first sync, but the silver views
--     below must compile when the migration runs. So this file creates the Odoo bronze tables the
--     transforms read, with only the columns they use, under the same names and types the Odoo
--     connector produces (lib/sources/odoo/fields.ts: many2one → <field> bigint + <field>_name
--     text, selection/char → text, monetary/float → numeric, date → date, datetime → timestamptz),
--     the metadata columns exactly as lib/lakehouse/tables.ts createTable makes them and the
--     primary key (_ipai_connector_id, id). The loader then finds the table and only adds the
--     remaining columns. On a lakehouse where the loader already made them, nothing changes.
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
--  5. Gold connector operations (ipai_gold_core) are security_invoker views over the run ledger:
--     always current, and only staff (admin/data_engineer) see rows, through the ledger's RLS.
-- Company scope: company_id is Odoo's company id. Two Odoo instances (two connectors) sharing
-- this lakehouse share company ids too; every gold row also carries connector_id.

-- Bronze tables ------------------------------------------------------------------------------

create function pg_temp.ensure_bronze(schema_name text, table_name text, columns text[]) returns void
  language plpgsql
as $$
declare
  rel text := format('%I.%I', schema_name, table_name);
  col text;
begin
  execute format(
    'create table if not exists %s (
       id bigint not null,
       _ipai_connector_id uuid not null,
       _ipai_run_id uuid not null,
       _ipai_extracted_at timestamptz not null,
       _ipai_deleted_at timestamptz,
       _ipai_raw jsonb not null,
       primary key (_ipai_connector_id, id))', rel);
  foreach col in array columns loop
    execute format('alter table %s add column if not exists %s', rel, col);
  end loop;
  perform ipai_meta.secure_relation(rel::regclass);
end
$$;

select pg_temp.ensure_bronze('ipai_bronze_erp', 'odoo_account_move', array[
  'write_date timestamptz', 'name text', 'ref text', 'date date', 'move_type text', 'state text', 'payment_state text',
  'journal_id bigint', 'journal_id_name text', 'company_id bigint', 'company_id_name text',
  'currency_id bigint', 'currency_id_name text', 'partner_id bigint', 'partner_id_name text',
  'invoice_date date', 'invoice_date_due date', 'payment_reference text',
  'reversed_entry_id bigint', 'reversed_entry_id_name text',
  'amount_untaxed numeric', 'amount_tax numeric', 'amount_total numeric', 'amount_residual numeric',
  'amount_total_signed numeric', 'amount_residual_signed numeric']);

select pg_temp.ensure_bronze('ipai_bronze_erp', 'odoo_account_move_line', array[
  'write_date timestamptz', 'move_id bigint', 'move_id_name text', 'move_name text', 'date date', 'ref text',
  'parent_state text', 'journal_id bigint', 'journal_id_name text', 'company_id bigint', 'company_id_name text',
  'company_currency_id bigint', 'company_currency_id_name text', 'account_id bigint', 'account_id_name text',
  'account_type text', 'partner_id bigint', 'partner_id_name text', 'name text', 'display_type text',
  'debit numeric', 'credit numeric', 'balance numeric', 'amount_currency numeric',
  'currency_id bigint', 'currency_id_name text', 'amount_residual numeric', 'amount_residual_currency numeric',
  'reconciled boolean', 'date_maturity date', 'matching_number text']);

select pg_temp.ensure_bronze('ipai_bronze_erp', 'odoo_account_account', array[
  'write_date timestamptz', 'name text', 'code text', 'account_type text', 'internal_group text',
  'reconcile boolean', 'company_id bigint', 'company_id_name text']);

select pg_temp.ensure_bronze('ipai_bronze_erp', 'odoo_account_journal', array[
  'write_date timestamptz', 'name text', 'code text', 'type text', 'active boolean',
  'company_id bigint', 'company_id_name text', 'default_account_id bigint', 'default_account_id_name text']);

select pg_temp.ensure_bronze('ipai_bronze_erp', 'odoo_res_partner', array[
  'write_date timestamptz', 'name text', 'complete_name text', 'is_company boolean', 'ref text', 'vat text', 'email text',
  'parent_id bigint', 'parent_id_name text', 'commercial_partner_id bigint', 'commercial_partner_id_name text',
  'country_id bigint', 'country_id_name text', 'company_id bigint', 'company_id_name text',
  'customer_rank bigint', 'supplier_rank bigint', 'active boolean']);

select pg_temp.ensure_bronze('ipai_bronze_erp', 'odoo_product_product', array[
  'write_date timestamptz', 'default_code text', 'name text', 'type text', 'categ_id bigint', 'categ_id_name text',
  'list_price numeric', 'sale_ok boolean', 'purchase_ok boolean', 'active boolean',
  'company_id bigint', 'company_id_name text']);

select pg_temp.ensure_bronze('ipai_bronze_erp', 'odoo_project_project', array[
  'write_date timestamptz', 'name text', 'active boolean', 'partner_id bigint', 'partner_id_name text',
  'user_id bigint', 'user_id_name text', 'company_id bigint', 'company_id_name text',
  'date_start date', 'date date', 'stage_id bigint', 'stage_id_name text', 'last_update_status text']);

select pg_temp.ensure_bronze('ipai_bronze_erp', 'odoo_project_task', array[
  'write_date timestamptz', 'name text', 'active boolean', 'project_id bigint', 'project_id_name text',
  'stage_id bigint', 'stage_id_name text', 'partner_id bigint', 'partner_id_name text',
  'company_id bigint', 'company_id_name text', 'state text', 'priority text',
  'date_deadline timestamptz', 'date_end timestamptz', 'allocated_hours numeric', 'effective_hours numeric']);

-- Odoo's account groups: the first word of account_type, 'off' for off-balance accounts
-- (account.account._compute_internal_group).
create or replace function ipai_meta.odoo_account_group(account_type text) returns text
  language sql immutable
  set search_path = ''
as $$
  select case when account_type = 'off_balance' then 'off' else split_part(account_type, '_', 1) end
$$;
grant execute on function ipai_meta.odoo_account_group(text) to authenticated, service_role, ipai_transform, ipai_read;

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

-- Invoices, bills and their credit notes (every state; gold filters on posted).
create or replace view ipai_silver_erp.invoices as
select m._ipai_connector_id as connector_id, m.id as move_id, m.name as move_name, m.move_type,
       case m.move_type when 'out_invoice' then 'customer_invoice' when 'out_refund' then 'customer_credit_note'
                        when 'in_invoice' then 'vendor_bill' when 'in_refund' then 'vendor_credit_note'
                        when 'out_receipt' then 'sales_receipt' else 'purchase_receipt' end as document_kind,
       m.state, m.payment_state, m.company_id, m.journal_id, m.partner_id,
       coalesce(p.partner_name, m.partner_id_name) as partner_name, m.currency_id_name as currency,
       m.date, m.invoice_date, m.invoice_date_due, m.ref, m.payment_reference, m.reversed_entry_id,
       m.amount_untaxed, m.amount_tax, m.amount_total, m.amount_residual,
       m.amount_total_signed, m.amount_residual_signed
  from ipai_bronze_erp.odoo_account_move m
  left join ipai_silver_erp.partners p on p.connector_id = m._ipai_connector_id and p.partner_id = m.partner_id
 where m._ipai_deleted_at is null
   and m.move_type in ('out_invoice', 'out_refund', 'in_invoice', 'in_refund', 'out_receipt', 'in_receipt');
select ipai_meta.secure_relation('ipai_silver_erp.invoices');

-- Posted journal items only (drafts and cancelled entries are not accounting), current only.
-- Amounts are in the company's currency (balance = debit − credit); amount_currency in the
-- document's currency.
create or replace view ipai_silver_erp.journal_items as
select l._ipai_connector_id as connector_id, l.id as line_id, l.move_id, coalesce(l.move_name, m.name) as move_name,
       m.move_type, l.date, l.company_id, l.company_currency_id_name as company_currency,
       l.journal_id, j.journal_code, j.journal_name, j.journal_type,
       l.account_id, a.account_code, coalesce(a.account_name, l.account_id_name) as account_name,
       coalesce(l.account_type, a.account_type) as account_type,
       ipai_meta.odoo_account_group(coalesce(l.account_type, a.account_type)) as account_group,
       l.partner_id, coalesce(p.partner_name, l.partner_id_name) as partner_name,
       l.name as label, coalesce(l.ref, m.ref) as ref, m.payment_reference, l.display_type,
       coalesce(l.debit, 0) as debit, coalesce(l.credit, 0) as credit, coalesce(l.balance, 0) as balance,
       l.amount_currency, l.currency_id_name as currency,
       coalesce(l.amount_residual, 0) as amount_residual, coalesce(l.amount_residual_currency, 0) as amount_residual_currency,
       coalesce(l.reconciled, false) as reconciled, l.date_maturity, l.matching_number
  from ipai_bronze_erp.odoo_account_move_line l
  left join ipai_bronze_erp.odoo_account_move m on m._ipai_connector_id = l._ipai_connector_id and m.id = l.move_id
  left join ipai_silver_erp.journals j on j.connector_id = l._ipai_connector_id and j.journal_id = l.journal_id
  left join ipai_silver_erp.accounts a on a.connector_id = l._ipai_connector_id and a.account_id = l.account_id
  left join ipai_silver_erp.partners p on p.connector_id = l._ipai_connector_id and p.partner_id = l.partner_id
 where l._ipai_deleted_at is null
   and l.parent_state = 'posted'
   and (m.id is null or m._ipai_deleted_at is null)
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

-- Gold connector operations (views over the run ledger) --------------------------------------

create or replace view ipai_gold_core.connector_success_rate as
select c.id as connector_id, c.connector_type, c.name as connector_name, c.is_enabled,
       count(r.id) filter (where r.started_at >= now() - interval '1 day' and r.status in ('success', 'failed', 'abandoned')) as finished_runs_1d,
       count(r.id) filter (where r.started_at >= now() - interval '1 day' and r.status = 'success') as successful_runs_1d,
       round(count(r.id) filter (where r.started_at >= now() - interval '1 day' and r.status = 'success')::numeric
             / nullif(count(r.id) filter (where r.started_at >= now() - interval '1 day' and r.status in ('success', 'failed', 'abandoned')), 0), 4) as success_rate_1d,
       count(r.id) filter (where r.status in ('success', 'failed', 'abandoned')) as finished_runs_7d,
       count(r.id) filter (where r.status = 'success') as successful_runs_7d,
       round(count(r.id) filter (where r.status = 'success')::numeric
             / nullif(count(r.id) filter (where r.status in ('success', 'failed', 'abandoned')), 0), 4) as success_rate_7d
  from public.ipai_connector_config c
  left join public.ipai_connector_run r on r.connector_id = c.id and r.started_at >= now() - interval '7 days'
 group by c.id, c.connector_type, c.name, c.is_enabled;
select ipai_meta.secure_relation('ipai_gold_core.connector_success_rate');

-- Newest source change: the newest timestamp held in any of the connector's stream cursors
-- (Odoo: write_date, naive UTC; GitHub: updated_at/created windows), i.e. how current the
-- source data in bronze is, independent of how recently a run succeeded.
create or replace view ipai_gold_core.connector_freshness as
with last_success as (
  select r.connector_id, max(r.ended_at) as last_success_at
    from public.ipai_connector_run r where r.status = 'success' group by r.connector_id
), newest_change as (
  select s.connector_id,
         max((case when e.value ~ '(Z|[+-]\d\d(:?\d\d)?)$' then e.value else e.value || 'Z' end)::timestamptz) as newest_source_change_at
    from public.ipai_connector_state s
    cross join lateral jsonb_each_text(case when jsonb_typeof(s.cursor) = 'object' then s.cursor else '{}'::jsonb end) e
   where e.value ~ '^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d\d(:?\d\d)?)?$'
   group by s.connector_id
)
select c.id as connector_id, c.connector_type, c.name as connector_name, c.schedule,
       ls.last_success_at, extract(epoch from now() - ls.last_success_at)::bigint as seconds_since_success,
       nc.newest_source_change_at, extract(epoch from now() - nc.newest_source_change_at)::bigint as seconds_since_source_change
  from public.ipai_connector_config c
  left join last_success ls on ls.connector_id = c.id
  left join newest_change nc on nc.connector_id = c.id;
select ipai_meta.secure_relation('ipai_gold_core.connector_freshness');

create or replace view ipai_gold_core.connector_run_rows as
select r.id as run_id, r.connector_id, c.connector_type, c.name as connector_name, r.status, r.started_at, r.ended_at,
       extract(epoch from r.ended_at - r.started_at) as duration_seconds, r.rows_read, r.rows_written,
       case when r.ended_at > r.started_at then round(coalesce(r.rows_written, 0) / extract(epoch from r.ended_at - r.started_at), 2) end as rows_written_per_second
  from public.ipai_connector_run r
  join public.ipai_connector_config c on c.id = r.connector_id;
select ipai_meta.secure_relation('ipai_gold_core.connector_run_rows');

-- The refresh path ---------------------------------------------------------------------------

-- Tables published from a build view, in refresh order (a table built from another comes after).
create table if not exists ipai_meta.transform_table (
    target regclass primary key,
    source regclass not null,
    refresh_order integer not null
);
revoke all on ipai_meta.transform_table from public;
grant select on ipai_meta.transform_table to ipai_transform, service_role;

insert into ipai_meta.transform_table (target, source, refresh_order) values
  ('ipai_gold_erp.profit_and_loss', 'ipai_silver_erp.build_profit_and_loss', 100),
  ('ipai_gold_erp.account_balance_daily', 'ipai_silver_erp.build_account_balance_daily', 110),
  ('ipai_gold_erp.cash_flow', 'ipai_silver_erp.build_cash_flow', 120),
  ('ipai_gold_erp.open_items', 'ipai_silver_erp.build_open_items', 130),
  ('ipai_gold_erp.dso_dpo', 'ipai_silver_erp.build_dso_dpo', 140)
on conflict (target) do update set source = excluded.source, refresh_order = excluded.refresh_order;

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

-- Semantic models ----------------------------------------------------------------------------

insert into public.ipai_semantic_model (dataset_name, object_schema, object_name, description, grain, measures, dimensions, rls_policy_refs) values
  ('finance.profit_and_loss', 'ipai_gold_erp', 'profit_and_loss',
   'Posted income and expense per month and account; amount is income positive, expenses negative, so the sum is the net profit.',
   'one row per connector, company, month and income/expense account',
   '[{"name":"amount","agg":"sum","unit":"currency"},{"name":"line_count","agg":"sum"}]',
   '["connector_id","company_id","currency","month","account_group","account_type","account_id","account_code","account_name"]',
   '{ipai_gold_erp.profit_and_loss.ipai_authenticated_read,ipai_gold_erp.profit_and_loss.ipai_read_all}'),
  ('finance.account_balance_daily', 'ipai_gold_erp', 'account_balance_daily',
   'Posted debit, credit and balance per account and day, the base of balances as of any date.',
   'one row per connector, company, account and day with postings',
   '[{"name":"debit","agg":"sum"},{"name":"credit","agg":"sum"},{"name":"balance","agg":"sum"}]',
   '["connector_id","company_id","currency","date","account_id","account_code","account_name","account_type","account_group"]',
   '{ipai_gold_erp.account_balance_daily.ipai_authenticated_read,ipai_gold_erp.account_balance_daily.ipai_read_all}'),
  ('finance.balance_sheet', 'ipai_gold_erp', 'balance_sheet',
   'Function balance_sheet(as_of date): assets = liabilities + equity (with current-year and unallocated earnings) per company and currency.',
   'one row per connector, company, section and account as of a date (earnings as synthetic equity rows)',
   '[{"name":"amount","agg":"sum","unit":"currency"}]',
   '["connector_id","company_id","currency","section","account_id","account_code","account_name"]',
   '{ipai_gold_erp.account_balance_daily.ipai_authenticated_read}'),
  ('finance.cash_flow', 'ipai_gold_erp', 'cash_flow',
   'Money in and out of the liquidity accounts of bank and cash journals per month.',
   'one row per connector, company, month and bank/cash journal',
   '[{"name":"inflow","agg":"sum"},{"name":"outflow","agg":"sum"},{"name":"net_change","agg":"sum"}]',
   '["connector_id","company_id","currency","month","journal_id","journal_code","journal_name","journal_type"]',
   '{ipai_gold_erp.cash_flow.ipai_authenticated_read,ipai_gold_erp.cash_flow.ipai_read_all}'),
  ('finance.open_items', 'ipai_gold_erp', 'open_items',
   'Unreconciled receivable and payable items with their open amount and aging bucket as of the refresh date.',
   'one row per connector and open journal item',
   '[{"name":"amount_open","agg":"sum","unit":"currency"},{"name":"amount_open_currency","agg":"sum"},{"name":"days_past_due","agg":"avg"}]',
   '["connector_id","company_id","currency","kind","partner_id","partner_name","move_name","date","date_due","aging_bucket","document_currency"]',
   '{ipai_gold_erp.open_items.ipai_authenticated_read,ipai_gold_erp.open_items.ipai_read_all}'),
  ('finance.aged_balance', 'ipai_gold_erp', 'aged_balance',
   'Function aged_balance(as_of date): receivable/payable open amounts per partner in buckets not due, 1-30, 31-60, 61-90, 90+ days past due.',
   'one row per connector, company, kind and partner as of a date',
   '[{"name":"not_due","agg":"sum"},{"name":"days_1_30","agg":"sum"},{"name":"days_31_60","agg":"sum"},{"name":"days_61_90","agg":"sum"},{"name":"days_90_plus","agg":"sum"},{"name":"total","agg":"sum"}]',
   '["connector_id","company_id","currency","kind","partner_id","partner_name"]',
   '{ipai_gold_erp.open_items.ipai_authenticated_read}'),
  ('finance.dso_dpo', 'ipai_gold_erp', 'dso_dpo',
   'Days sales and days payables outstanding per month: month-end receivables (payables) / the month''s invoiced sales (purchases) × days in the month.',
   'one row per connector, company and month with postings',
   '[{"name":"dso_days","agg":"avg"},{"name":"dpo_days","agg":"avg"},{"name":"receivables_end","agg":"last"},{"name":"payables_end","agg":"last"},{"name":"credit_sales","agg":"sum"},{"name":"credit_purchases","agg":"sum"}]',
   '["connector_id","company_id","currency","month"]',
   '{ipai_gold_erp.dso_dpo.ipai_authenticated_read,ipai_gold_erp.dso_dpo.ipai_read_all}'),
  ('operations.connector_success_rate', 'ipai_gold_core', 'connector_success_rate',
   'Finished runs and the share that succeeded per connector over the last day and the last 7 days.',
   'one row per connector',
   '[{"name":"success_rate_1d","agg":"avg"},{"name":"success_rate_7d","agg":"avg"},{"name":"finished_runs_1d","agg":"sum"},{"name":"finished_runs_7d","agg":"sum"}]',
   '["connector_id","connector_type","connector_name","is_enabled"]',
   '{public.ipai_connector_run.ipai_staff_read,public.ipai_connector_config.ipai_staff_read}'),
  ('operations.connector_freshness', 'ipai_gold_core', 'connector_freshness',
   'Time since the last successful run and since the newest source change held in the stream cursors.',
   'one row per connector',
   '[{"name":"seconds_since_success","agg":"max"},{"name":"seconds_since_source_change","agg":"max"}]',
   '["connector_id","connector_type","connector_name","schedule"]',
   '{public.ipai_connector_run.ipai_staff_read,public.ipai_connector_state.ipai_staff_read}'),
  ('operations.connector_run_rows', 'ipai_gold_core', 'connector_run_rows',
   'Rows read and written, duration and throughput of every run.',
   'one row per connector run',
   '[{"name":"rows_read","agg":"sum"},{"name":"rows_written","agg":"sum"},{"name":"duration_seconds","agg":"avg"},{"name":"rows_written_per_second","agg":"avg"}]',
   '["run_id","connector_id","connector_type","connector_name","status","started_at"]',
   '{public.ipai_connector_run.ipai_staff_read}')
on conflict (object_schema, object_name) do update
  set dataset_name = excluded.dataset_name, description = excluded.description, grain = excluded.grain,
      measures = excluded.measures, dimensions = excluded.dimensions, rls_policy_refs = excluded.rls_policy_refs,
      updated_at = now();
