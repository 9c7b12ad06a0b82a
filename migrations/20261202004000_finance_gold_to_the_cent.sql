-- Finance gold to the cent on inputs nobody here wrote (issue 22, "Finance gold").
--
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
-- Views are replaced in place (same columns, same order, new ones appended), so the gold build
-- views and the platinum views that read them stay valid.

create or replace function pg_temp.ensure_bronze_columns(schema_name text, table_name text, columns text[]) returns void
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

select pg_temp.ensure_bronze_columns('ipai_bronze_erp', 'odoo_res_currency', array[
  'write_date timestamptz', 'name text', 'symbol text', 'rounding numeric', 'decimal_places bigint', 'active boolean']);

select pg_temp.ensure_bronze_columns('ipai_bronze_erp', 'odoo_res_company', array[
  'write_date timestamptz', 'name text', 'currency_id bigint', 'currency_id_name text']);

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

comment on column ipai_gold_erp.open_items.amount_open is
  'Open amount in the company currency (column currency); sums within one currency.';
comment on column ipai_gold_erp.open_items.amount_open_currency is
  'Open amount in the document currency (column document_currency): add it up only grouped by document_currency.';
comment on column ipai_gold_erp.open_items.document_currency is
  'Currency of amount_open_currency; part of the grain of any sum of amount_open_currency.';

update public.ipai_semantic_model
   set description = 'Unreconciled receivable and payable items with their open amount and aging bucket as of the refresh date. '
                     'amount_open is in the company currency (currency); amount_open_currency is in the document currency '
                     '(document_currency) and may be summed only grouped by document_currency.',
       grain = 'one row per connector and open journal item, in one company currency (currency) and one document currency (document_currency)',
       measures = '[{"name":"amount_open","agg":"sum","unit":"currency","summable_by":["currency"]},'
                  '{"name":"amount_open_currency","agg":"sum","unit":"document_currency","summable_by":["document_currency"]},'
                  '{"name":"days_past_due","agg":"avg"}]',
       updated_at = now()
 where object_schema = 'ipai_gold_erp' and object_name = 'open_items';
