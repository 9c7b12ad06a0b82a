-- The semantic layer's catalog (PRD 4.1.3): one row per dataset this package publishes (finance and
-- platinum ERP, DevOps, connector operations), with its grain, measures, dimensions and the RLS
-- policies that scope it. Measures in a document currency name the columns they may be summed by
-- (summable_by). Users add their own rows; these are the package's.

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
   '{public.ipai_connector_run.ipai_staff_read}');

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
   '{ipai_platinum_erp.reconciliation_candidates.ipai_authenticated_read,ipai_platinum_erp.reconciliation_candidates.ipai_read_all}');

insert into public.ipai_semantic_model (dataset_name, object_schema, object_name, description, grain, measures, dimensions, rls_policy_refs) values
  ('devops.ci_status', 'ipai_gold_devops', 'ci_status',
   'The latest workflow run per repository and branch: running, passing or failing.',
   'one row per connector, repository and branch',
   '[{"name":"latest_run_id","agg":"count"}]',
   '["connector_id","repository_id","repo_full_name","branch","workflow_name","status","conclusion","ci_state"]',
   '{ipai_gold_devops.ci_status.ipai_authenticated_read,ipai_gold_devops.ci_status.ipai_read_all}'),
  ('devops.dora_weekly', 'ipai_gold_devops', 'dora_weekly',
   'DORA metrics of production deployments per week: deployment frequency, lead time for changes (median hours commit → deploy), change failure rate, time to restore (median hours).',
   'one row per connector, repository and ISO week with production deployments',
   '[{"name":"deployments","agg":"sum"},{"name":"failed_deployments","agg":"sum"},{"name":"change_failure_rate","agg":"avg"},{"name":"median_lead_time_hours","agg":"median"},{"name":"changes_deployed","agg":"sum"},{"name":"median_time_to_restore_hours","agg":"median"}]',
   '["connector_id","repository_id","repo_full_name","week"]',
   '{ipai_gold_devops.dora_weekly.ipai_authenticated_read,ipai_gold_devops.dora_weekly.ipai_read_all}'),
  ('devops.pr_cycle_time', 'ipai_gold_devops', 'pr_cycle_time',
   'Pull requests with hours to the first review and from opening to merge.',
   'one row per connector and pull request',
   '[{"name":"cycle_time_hours","agg":"median"},{"name":"hours_to_first_review","agg":"median"}]',
   '["connector_id","repository_id","repo_full_name","number","author","state","base_branch","created_at","merged_at"]',
   '{ipai_gold_devops.pr_cycle_time.ipai_authenticated_read,ipai_gold_devops.pr_cycle_time.ipai_read_all}');

insert into public.ipai_semantic_model (dataset_name, object_schema, object_name, description, grain, measures, dimensions, rls_policy_refs) values
  ('operations.connector_run_features', 'ipai_platinum_core', 'connector_run_features',
   'Per connector over 30 days: success rate this week vs the week before, median/p95 duration, average rows written, and the z-score of the last run''s rows.',
   'one row per connector with a finished run in the last 30 days',
   '[{"name":"success_rate_7d","agg":"avg"},{"name":"success_rate_trend","agg":"avg"},{"name":"median_duration_seconds","agg":"median"},{"name":"p95_duration_seconds","agg":"max"},{"name":"avg_rows_written","agg":"avg"},{"name":"last_rows_zscore","agg":"max"}]',
   '["connector_id","connector_type","connector_name","last_status"]',
   '{public.ipai_connector_run.ipai_staff_read,public.ipai_connector_config.ipai_staff_read}');

insert into public.ipai_semantic_model (dataset_name, object_schema, object_name, description, grain, measures, dimensions, rls_policy_refs) values
  ('finance.open_items', 'ipai_gold_erp', 'open_items',
   'Unreconciled receivable and payable items with their open amount and aging bucket as of the refresh date. '
   'amount_open is in the company currency (currency); amount_open_currency is in the document currency '
   '(document_currency) and may be summed only grouped by document_currency.',
   'one row per connector and open journal item, in one company currency (currency) and one document currency (document_currency)',
   '[{"name":"amount_open","agg":"sum","unit":"currency","summable_by":["currency"]},'
   '{"name":"amount_open_currency","agg":"sum","unit":"document_currency","summable_by":["document_currency"]},'
   '{"name":"days_past_due","agg":"avg"}]',
   '["connector_id","company_id","currency","kind","partner_id","partner_name","move_name","date","date_due","aging_bucket","document_currency"]',
   '{ipai_gold_erp.open_items.ipai_authenticated_read,ipai_gold_erp.open_items.ipai_read_all}');
