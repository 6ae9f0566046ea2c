-- Usage, imported from the gateway's spend logs into daily rollups, so /analytics shows usage
-- even while the gateway is down and never asks the gateway for a chart.

-- usage_daily -----------------------------------------------------------------------------------
-- Who may see it: each user their own rows; admins every row. Written only by the importer
-- (lib/analytics/import.ts), which replaces a user's days wholesale, so a re-import of a day
-- can never count a request twice.
create table public.usage_daily (
  user_id uuid not null references public.profiles (id) on delete cascade,
  day date not null, -- UTC day of the request's start
  key_id uuid references public.virtual_keys (id) on delete set null, -- null: a key we no longer know
  model text not null, -- the model name the caller asked for (LiteLLM's model_group)
  requests integer not null check (requests >= 0), -- count
  prompt_tokens bigint not null default 0, -- tokens
  completion_tokens bigint not null default 0, -- tokens
  spend_micros bigint not null default 0 -- millionths of a US dollar (1 cent = 10,000)
);
alter table public.usage_daily enable row level security;
create index usage_daily_user_day_idx on public.usage_daily (user_id, day);

create policy "Users can read their own usage" on public.usage_daily
  for select to authenticated using ((select auth.uid()) = user_id);
create policy "Admins can read every user's usage" on public.usage_daily
  for select to authenticated using ((select public.is_admin()));
grant select on public.usage_daily to authenticated;

-- usage_imports ---------------------------------------------------------------------------------
-- Who may see it: each user their own row (how fresh their usage is); admins every row.
-- Written only by the importer. The cursor is a day: every import re-reads from the day of the
-- previous import (late-flushed rows land there) up to today, and replaces those days.
create table public.usage_imports (
  user_id uuid primary key references public.profiles (id) on delete cascade,
  imported_from date not null, -- first day the next import re-reads (UTC)
  last_imported_at timestamptz, -- last import that reached the gateway
  last_attempt_at timestamptz,
  last_error text -- the last failure, cleared by a success
);
alter table public.usage_imports enable row level security;

create policy "Users can read their own usage import state" on public.usage_imports
  for select to authenticated using ((select auth.uid()) = user_id);
create policy "Admins can read every usage import state" on public.usage_imports
  for select to authenticated using ((select public.is_admin()));
grant select on public.usage_imports to authenticated;
