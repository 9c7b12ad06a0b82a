-- Platinum ERP (issue 7): per-partner payment behaviour and reconciliation candidates, published
-- like gold (tables with company-scoped RLS, built by silver views, republished by
-- ipai_meta.refresh_transform_tables after the gold tables they read; see 20261122005000).

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

-- When each invoice/bill was paid: the latest payment (a journal entry, not a credit note)
-- matched with its receivable/payable line. Days late = paid date − due date (negative = early).
create or replace view ipai_silver_erp.invoice_settlements as
with terms as (
  select t.connector_id, t.company_id, t.company_currency as currency, t.move_id, t.move_name, t.move_type,
         t.partner_id, t.partner_name, t.account_id, t.line_id, t.matching_number, t.reconciled,
         coalesce(t.date_maturity, t.date) as date_due, t.date
    from ipai_silver_erp.journal_items t
   where t.display_type = 'payment_term' and t.move_type in ('out_invoice', 'in_invoice')
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
select j.*
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
-- when this migration runs (a view cannot compile a call to a function that does not exist).
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
  ('ipai_platinum_erp.reconciliation_candidates', 'ipai_silver_erp.build_reconciliation_candidates', 210)
on conflict (target) do update set source = excluded.source, refresh_order = excluded.refresh_order;

insert into public.ipai_semantic_model (dataset_name, object_schema, object_name, description, grain, measures, dimensions, rls_policy_refs) values
  ('finance.partner_payment_behaviour', 'ipai_platinum_erp', 'partner_payment_behaviour',
   'Per partner and role: posted invoices/bills, how many are paid, average and worst days late (paid date − due date), the lateness trend per 30 days, open and overdue balance.',
   'one row per connector, company, partner and role (customer/vendor)',
   '[{"name":"invoice_count","agg":"sum"},{"name":"paid_count","agg":"sum"},{"name":"avg_days_late","agg":"avg"},{"name":"max_days_late","agg":"max"},{"name":"days_late_trend_per_30d","agg":"avg"},{"name":"open_balance","agg":"sum"},{"name":"overdue_balance","agg":"sum"}]',
   '["connector_id","company_id","currency","partner_id","partner_role","partner_name"]',
   '{ipai_platinum_erp.partner_payment_behaviour.ipai_authenticated_read,ipai_platinum_erp.partner_payment_behaviour.ipai_read_all}'),
  ('finance.reconciliation_candidates', 'ipai_platinum_erp', 'reconciliation_candidates',
   'For each unreconciled bank/cash line, up to 5 open items ranked by score = 0.5 amount + 0.25 partner + 0.25 reference similarity.',
   'one row per connector, unreconciled bank line and candidate open item',
   '[{"name":"score","agg":"max"},{"name":"amount_score","agg":"avg"},{"name":"reference_score","agg":"avg"},{"name":"bank_amount","agg":"sum"},{"name":"amount_open","agg":"sum"}]',
   '["connector_id","company_id","currency","bank_line_id","bank_move_name","bank_date","journal_code","kind","open_move_name","partner_id","partner_name","candidate_rank"]',
   '{ipai_platinum_erp.reconciliation_candidates.ipai_authenticated_read,ipai_platinum_erp.reconciliation_candidates.ipai_read_all}')
on conflict (object_schema, object_name) do update
  set dataset_name = excluded.dataset_name, description = excluded.description, grain = excluded.grain,
      measures = excluded.measures, dimensions = excluded.dimensions, rls_policy_refs = excluded.rls_policy_refs,
      updated_at = now();
