-- The proxy-wide budget (litellm_settings.max_budget / budget_duration): one row holding the
-- spend of the current period across every key. Private to the gateway: RLS on, no policies.
create table gateway.proxy_budget (
  id text primary key default 'global' check (id = 'global'),
  spend numeric not null default 0,            -- US dollars since the last budget reset
  budget_duration text,
  budget_reset_at timestamptz
);
alter table gateway.proxy_budget enable row level security;
insert into gateway.proxy_budget (id) values ('global');
