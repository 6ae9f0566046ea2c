-- Sync state for what the gateway must learn: each key row's pushes are leased to one worker at
-- a time, and each user's gateway budget (their credit balance, absolute) has a row of its own.

-- A worker leases a row for one push; another worker skips it until the lease ends. Pushes are
-- short (seconds) and the lease long (a minute), so an expired lease means a dead worker.
alter table public.virtual_keys add column sync_claimed_until timestamptz;

-- gateway_users ---------------------------------------------------------------------------------
-- Who may see it: each user their own row (sync status of their budget); admins every row.
-- Written only by the server: the ledger trigger below and the sync worker.
create table public.gateway_users (
  user_id uuid primary key references public.profiles (id) on delete cascade,
  -- Bumped by every ledger entry; the push sends the balance as it is at push time.
  desired_version integer not null default 1,
  synced_version integer not null default 0,
  synced_budget_cents bigint, -- the max_budget the gateway confirmed, cents
  sync_status varchar(20) not null default 'pending' check (sync_status in ('pending', 'synced', 'failed')),
  sync_attempts integer not null default 0,
  last_sync_error text,
  next_sync_at timestamptz default now(),
  sync_claimed_until timestamptz,
  last_synced_at timestamptz,
  updated_at timestamptz not null default now()
);
alter table public.gateway_users enable row level security;
create index gateway_users_sync_due_idx on public.gateway_users (next_sync_at) where sync_status <> 'synced';
create trigger gateway_users_touch before update on public.gateway_users
  for each row execute function public.touch_updated_at();

create policy "Users can read their own gateway budget sync" on public.gateway_users
  for select to authenticated using ((select auth.uid()) = user_id);
create policy "Admins can read every gateway budget sync" on public.gateway_users
  for select to authenticated using ((select public.is_admin()));
grant select on public.gateway_users to authenticated;

-- Every ledger entry changes the user's gateway budget: record that in the same transaction, so
-- a purchase or an adjustment can never be credited without its push being queued.
create or replace function public.queue_gateway_budget() returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  insert into public.gateway_users (user_id) values (new.user_id)
  on conflict (user_id) do update
    set desired_version = public.gateway_users.desired_version + 1,
        sync_status = 'pending',
        sync_attempts = 0,
        next_sync_at = now();
  return new;
end;
$$;
revoke execute on function public.queue_gateway_budget() from public;

create trigger credit_transactions_queue_gateway_budget after insert on public.credit_transactions
  for each row execute function public.queue_gateway_budget();

-- Users who signed up before this migration.
insert into public.gateway_users (user_id)
select id from public.profiles
on conflict (user_id) do nothing;
