-- Rows a load refused (bad-row policy "skip", or a `drop` data quality expectation): the raw line,
-- the file, the line number and why.
-- One table for every file ingest (and any future source with a bad-row policy), written in the
-- same transaction as the file's accepted rows, so a file's rows and its rejects commit together.
create table ipai_bronze_core.ipai_load_reject (
    id bigint generated always as identity primary key,
    connector_id uuid not null references public.ipai_connector_config(id) on delete cascade,
    run_id uuid not null references public.ipai_connector_run(id) on delete cascade,
    target_table text not null,      -- schema.table the row was meant for
    source_file text not null,       -- file name, object key or URL (never credentials)
    line_number bigint,              -- 1-based line (CSV/NDJSON) or line where the element starts (JSON)
    column_name text,                -- the file's own column name, when one value was at fault
    reason text not null,
    raw_line text,                   -- the row as it was in the file
    rejected_at timestamptz not null default now(),
    expectation_name text            -- the `drop` data quality expectation that took the row out, if any
);
create index ipai_load_reject_run_idx on ipai_bronze_core.ipai_load_reject (run_id);
create index ipai_load_reject_target_idx on ipai_bronze_core.ipai_load_reject (target_table, rejected_at);
select ipai_meta.secure_relation('ipai_bronze_core.ipai_load_reject'::regclass);
