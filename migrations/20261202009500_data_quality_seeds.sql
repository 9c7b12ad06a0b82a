-- Data quality, seeded (issue 19): the data_quality SLI type with its SLOs, and expectations for
-- what this package ships (finance gold, Odoo and GitHub bronze). Each seeded definition passes
-- the validation trigger of 20261202009000_data_quality.sql like any other.

-- The data_quality SLI: share of evaluations passing per expectation ---------------------------

alter table public.ipai_slo drop constraint if exists ipai_slo_sli_type_check;
alter table public.ipai_slo add constraint ipai_slo_sli_type_check
  check (sli_type in ('connector_success', 'connector_freshness', 'connector_warnings', 'agent_failures', 'agent_latency',
                      'agent_budget', 'data_quality'));

-- labels.dq_action picks the expectations an SLO watches: fail → a page when one trips; warn →
-- a ticket when an expectation warned on each of its last `warning_runs` evaluations, or a
-- volume anomaly was found, within `run_window`.
insert into public.ipai_slo (code_name, description, sli_type, objective, period, params, labels, runbook_url)
values
  ('dq-fail-expectations',
   'Per expectation with action fail: pages when a load or evaluation tripped it (the page or refresh was rolled back); 99% of evaluations pass over 7 days.',
   'data_quality', 0.99, interval '7 days',
   '{"run_window": "1 hour", "page_repeat_interval": "4 hours"}',
   '{"team": "data-platform", "dq_action": "fail"}', null),
  ('dq-warn-expectations',
   'Per expectation with action warn or drop: a ticket when it failed on each of its last 3 evaluations, or when a volume anomaly was found; 95% of evaluations pass over 7 days.',
   'data_quality', 0.95, interval '7 days',
   '{"warning_runs": 3, "run_window": "1 day", "ticket_repeat_interval": "1 day"}',
   '{"team": "data-platform", "dq_action": "warn"}', null)
on conflict (code_name) do nothing;

-- Seeded expectations for what this package ships ------------------------------------------------

insert into public.ipai_dq_expectation (target_table, name, kind, args, action, owner, runbook_url, description)
values
  -- finance gold
  ('ipai_gold_erp.account_balance_daily', 'balance_sheet_balances', 'custom_sql',
   jsonb_build_object('query',
     'select connector_id, company_id, date, imbalance from ('
     ' select connector_id, company_id, date,'
     ' sum(sum(balance)) over (partition by connector_id, company_id order by date) as imbalance'
     ' from ipai_gold_erp.account_balance_daily'
     ' where account_group in (''asset'', ''liability'', ''equity'', ''income'', ''expense'')'
     ' group by connector_id, company_id, date) s where round(imbalance, 2) <> 0',
     'key', jsonb_build_array('connector_id', 'company_id', 'date')),
   'fail', 'finance', 'https://github.com/ipai/n8n-nodes-ipai-lakehouse#data-quality',
   'Assets = liabilities + equity (with earnings) per company and date, to the cent'),
  ('ipai_gold_erp.profit_and_loss', 'pnl_totals_equal_lines', 'custom_sql',
   jsonb_build_object('query',
     'select connector_id, company_id, month, p.total as pnl_total, l.total as lines_total from'
     ' (select connector_id, company_id, month, sum(amount) as total from ipai_gold_erp.profit_and_loss group by 1, 2, 3) p'
     ' full join (select connector_id, company_id, date_trunc(''month'', date)::date as month, sum(-balance) as total'
     ' from ipai_silver_erp.journal_items where account_group in (''income'', ''expense'') and company_id is not null'
     ' and account_id is not null group by 1, 2, 3) l using (connector_id, company_id, month)'
     ' where round(coalesce(p.total, 0), 2) <> round(coalesce(l.total, 0), 2)',
     'key', jsonb_build_array('connector_id', 'company_id', 'month')),
   'warn', 'finance', 'https://github.com/ipai/n8n-nodes-ipai-lakehouse#data-quality',
   'P&L totals per company and month equal the sum of their journal lines, to the cent'),
  ('ipai_gold_erp.open_items', 'no_negative_invoice_residual', 'expression',
   jsonb_build_object('expression', 'move_type not in (''out_invoice'', ''in_invoice'') or amount_open >= 0',
                      'key', jsonb_build_array('connector_id', 'line_id')),
   'warn', 'finance', 'https://github.com/ipai/n8n-nodes-ipai-lakehouse#data-quality',
   'No open item of an invoice or vendor bill has a negative residual'),
  ('ipai_silver_erp.journal_items', 'move_line_account_exists', 'relationship',
   jsonb_build_object('columns', jsonb_build_array('connector_id', 'account_id'), 'to_table', 'ipai_silver_erp.accounts',
                      'to_columns', jsonb_build_array('connector_id', 'account_id'), 'key', jsonb_build_array('connector_id', 'line_id')),
   'warn', 'finance', 'https://github.com/ipai/n8n-nodes-ipai-lakehouse#data-quality',
   'Every posted move line''s account exists in the chart of accounts'),
  ('ipai_gold_erp.dso_dpo', 'dso_dpo_within_bounds', 'expression',
   jsonb_build_object('expression', 'coalesce(dso_days between 0 and 365, true) and coalesce(dpo_days between 0 and 365, true)',
                      'key', jsonb_build_array('connector_id', 'company_id', 'month')),
   'warn', 'finance', 'https://github.com/ipai/n8n-nodes-ipai-lakehouse#data-quality',
   'DSO and DPO stay between 0 and 365 days'),
  -- bronze, enforced in every load's page transaction
  ('ipai_bronze_erp.odoo_account_move_line', 'move_line_keys_not_null', 'not_null',
   '{"columns": ["move_id"]}', 'warn', 'data-platform', 'https://github.com/ipai/n8n-nodes-ipai-lakehouse#data-quality',
   'Every journal item belongs to a journal entry'),
  ('ipai_bronze_erp.odoo_account_move', 'write_date_not_in_future', 'expression',
   '{"expression": "write_date is null or write_date <= now() + interval ''5 minutes''"}', 'warn', 'data-platform',
   'https://github.com/ipai/n8n-nodes-ipai-lakehouse#data-quality', 'Odoo''s write_date is not in the future (clock skew or bad data)'),
  ('ipai_bronze_erp.odoo_account_move_line', 'write_date_not_in_future', 'expression',
   '{"expression": "write_date is null or write_date <= now() + interval ''5 minutes''"}', 'warn', 'data-platform',
   'https://github.com/ipai/n8n-nodes-ipai-lakehouse#data-quality', 'Odoo''s write_date is not in the future (clock skew or bad data)'),
  ('ipai_bronze_devops.github_workflow_runs', 'workflow_run_keys_not_null', 'not_null',
   '{"columns": ["repository_id", "workflow_id", "run_number"]}', 'warn', 'data-platform',
   'https://github.com/ipai/n8n-nodes-ipai-lakehouse#data-quality', 'Every workflow run names its repository, workflow and number'),
  ('ipai_bronze_devops.github_workflow_runs', 'workflow_run_number_unique', 'unique',
   '{"columns": ["workflow_id", "run_number", "run_attempt"]}', 'warn', 'data-platform',
   'https://github.com/ipai/n8n-nodes-ipai-lakehouse#data-quality', 'One run per workflow, run number and attempt'),
  ('ipai_bronze_devops.github_workflow_runs', 'workflow_run_conclusion_documented', 'accepted_values',
   '{"column": "conclusion", "values": ["success", "failure", "neutral", "cancelled", "skipped", "timed_out", "action_required", "stale", "startup_failure"]}',
   'warn', 'data-platform', 'https://github.com/ipai/n8n-nodes-ipai-lakehouse#data-quality',
   'A completed run''s conclusion is one of GitHub''s documented values (null while in progress)'),
  ('ipai_bronze_erp.odoo_account_move_line', 'move_line_volume', 'volume_anomaly',
   '{"threshold": 3.5, "min_history": 5, "history": 20}', 'warn', 'data-platform',
   'https://github.com/ipai/n8n-nodes-ipai-lakehouse#data-quality', 'Rows written per run against the trailing 20 runs (robust z-score)')
on conflict (target_table, name) do nothing;
