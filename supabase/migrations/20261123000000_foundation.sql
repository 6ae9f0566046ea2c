-- creditgate's schema: profiles, virtual keys with their gateway sync state, the credit ledger
-- and payments. The same file runs on Supabase, on Postgres 15+ and on PGlite; off Supabase,
-- supabase/bootstrap/auth.sql provides `auth.users`, `auth.uid()` and the API roles first.
--
-- Access model: users reach these tables only through transactions that run as
-- `role authenticated` with their JWT claims set (lib/db/transactions.ts, or PostgREST on
-- Supabase), so the row-level security policies below are what protect each user's data.
-- Server code that must write (signup, keys, payments, sync) runs as the schema owner.

-- API roles get nothing by default; each table grants below exactly what its policies allow.
alter default privileges in schema public revoke all on tables from anon, authenticated;
alter default privileges in schema public revoke all on functions from anon, authenticated;

create or replace function public.touch_updated_at() returns trigger
language plpgsql
set search_path = ''
as $$
begin
  new.updated_at := now();
  return new;
end;
$$;

-- profiles ------------------------------------------------------------------------------------
-- Who may see it: each user their own row; admins every row. Nobody writes through the API:
-- roles are changed by operators (`creditgate admin grant`), never from user-editable metadata.
create table public.profiles (
  id uuid primary key references auth.users (id) on delete cascade,
  email text not null,
  role text not null default 'user' check (role in ('user', 'admin')),
  tier text, -- governance tier name, as in the CLI's tiers file; null for self-serve users
  created_at timestamptz not null default now()
);
alter table public.profiles enable row level security;
create index profiles_email_idx on public.profiles (lower(email));

-- Reads profiles.role for the caller; security definer so that policies on profiles can use it
-- without recursing into themselves.
create or replace function public.is_admin() returns boolean
language sql
stable
security definer
set search_path = ''
as $$
  select exists (
    select 1 from public.profiles p where p.id = (select auth.uid()) and p.role = 'admin'
  );
$$;
revoke execute on function public.is_admin() from public;
grant execute on function public.is_admin() to authenticated;

create policy "Users can read their own profile" on public.profiles
  for select to authenticated using ((select auth.uid()) = id);
create policy "Admins can read every profile" on public.profiles
  for select to authenticated using ((select public.is_admin()));
grant select on public.profiles to authenticated;

-- virtual_keys --------------------------------------------------------------------------------
-- Who may see it: each user their own keys; admins every key. Writes (creation, limits,
-- revocation, sync state) are the server's, after it has authorized the caller.
create table public.virtual_keys (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null references public.profiles (id) on delete cascade,
  alias text,
  -- The signup row: defaults only, no secret and no gateway key until the user creates a key.
  is_placeholder boolean not null default false,
  litellm_key_id text unique, -- the gateway's token (SHA-256 of the secret), never the secret
  secret_hint text, -- last four characters of the secret, for display as sk-…abcd
  secret_ciphertext text, -- AES-256-GCM of the secret, only until the gateway confirms it
  max_budget integer default 1000 check (max_budget is null or max_budget >= 0), -- cents
  budget_duration text default '30d', -- LiteLLM duration: 30s, 30m, 30h, 30d, 1mo, daily…
  rpm_limit integer default 100 check (rpm_limit is null or rpm_limit > 0), -- requests per minute
  tpm_limit integer default 10000 check (tpm_limit is null or tpm_limit > 0), -- tokens per minute
  models text[] not null default '{}', -- allowed model names; empty means every model
  spend_cents integer not null default 0, -- last known gateway spend, cents
  spend_updated_at timestamptz,
  revoked_at timestamptz,
  -- Sync with the gateway (lib/sync): the user changes desired_version; the gateway confirms
  -- synced_version. Pushes carry absolute state, so a retry can never double-apply.
  sync_status varchar(20) not null default 'pending' check (sync_status in ('pending', 'synced', 'failed')),
  desired_version integer not null default 1,
  synced_version integer not null default 0,
  sync_attempts integer not null default 0,
  last_sync_error text,
  next_sync_at timestamptz default now(),
  last_synced_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
alter table public.virtual_keys enable row level security;
create index virtual_keys_user_idx on public.virtual_keys (user_id, created_at);
create index virtual_keys_sync_due_idx on public.virtual_keys (next_sync_at) where sync_status <> 'synced';
create trigger virtual_keys_touch before update on public.virtual_keys
  for each row execute function public.touch_updated_at();

create policy "Users can read their own keys" on public.virtual_keys
  for select to authenticated using ((select auth.uid()) = user_id);
create policy "Admins can read every key" on public.virtual_keys
  for select to authenticated using ((select public.is_admin()));
-- The ciphertext never leaves the server, not even to its owner.
grant select (
  id, user_id, alias, is_placeholder, litellm_key_id, secret_hint, max_budget, budget_duration,
  rpm_limit, tpm_limit, models, spend_cents, spend_updated_at, revoked_at, sync_status,
  desired_version, synced_version, sync_attempts, last_sync_error, next_sync_at, last_synced_at,
  created_at, updated_at
) on public.virtual_keys to authenticated;

-- credit_transactions -------------------------------------------------------------------------
-- Who may see it: each user their own entries; admins every entry. Append-only: nothing
-- updates or deletes a row, and a balance is the sum of a user's rows.
create table public.credit_transactions (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null references public.profiles (id) on delete cascade,
  amount integer not null check (amount <> 0), -- credits, signed; 1 credit = 1 US cent of budget
  kind text not null check (kind in ('signup_grant', 'purchase', 'refund', 'adjustment')),
  reference text not null unique, -- idempotency: the same event can be recorded only once
  description text,
  created_by uuid references public.profiles (id), -- the admin behind an adjustment
  created_at timestamptz not null default now()
);
alter table public.credit_transactions enable row level security;
create index credit_transactions_user_idx on public.credit_transactions (user_id, created_at);

create or replace function public.refuse_ledger_change() returns trigger
language plpgsql
set search_path = ''
as $$
begin
  raise exception 'credit_transactions is append-only: record a correcting entry instead'
    using errcode = 'restrict_violation';
end;
$$;
create trigger credit_transactions_append_only before update or delete on public.credit_transactions
  for each row execute function public.refuse_ledger_change();
create trigger credit_transactions_no_truncate before truncate on public.credit_transactions
  for each statement execute function public.refuse_ledger_change();

create policy "Users can read their own ledger" on public.credit_transactions
  for select to authenticated using ((select auth.uid()) = user_id);
create policy "Admins can read every ledger" on public.credit_transactions
  for select to authenticated using ((select public.is_admin()));
grant select on public.credit_transactions to authenticated;

-- Balances are derived, never stored: the ledger is the only truth.
create view public.credit_balances with (security_invoker = true) as
  select user_id, sum(amount)::bigint as credits, count(*)::integer as entries
  from public.credit_transactions
  group by user_id;
grant select on public.credit_balances to authenticated;

-- payments ------------------------------------------------------------------------------------
-- Who may see it: private to the server (row-level security on, no policies). The app shows
-- users their payments through server code that has checked who is asking.
create table public.payments (
  id uuid primary key default gen_random_uuid(),
  reference text not null unique, -- ours, sent to Paystack at initialize
  user_id uuid not null references public.profiles (id) on delete cascade,
  credits integer not null check (credits > 0),
  amount_subunits bigint not null check (amount_subunits > 0), -- price fixed at initialize, in the currency's subunit (kobo, cents)
  currency text not null check (currency ~ '^[A-Z]{3}$'),
  status text not null default 'pending'
    check (status in ('pending', 'paid', 'failed', 'abandoned', 'refunded', 'needs_review')),
  paid_at timestamptz,
  provider_payload jsonb, -- the verified transaction as Paystack returned it
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
alter table public.payments enable row level security;
create index payments_user_idx on public.payments (user_id, created_at);
create trigger payments_touch before update on public.payments
  for each row execute function public.touch_updated_at();

-- signup --------------------------------------------------------------------------------------
-- A new auth user gets, in the same transaction as their account: a profile, the signup grant
-- of 500 credits, and the placeholder key row with the seed's defaults (sync pending, no
-- gateway key yet). The grant's reference is derived from the user id, so it exists once.
create or replace function public.handle_new_user() returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  insert into public.profiles (id, email)
  values (new.id, lower(new.email));

  insert into public.credit_transactions (user_id, amount, kind, reference, description)
  values (new.id, 500, 'signup_grant', 'signup:' || new.id::text, 'Welcome credits');

  insert into public.virtual_keys (user_id, alias, is_placeholder)
  values (new.id, 'default', true);

  return new;
end;
$$;
revoke execute on function public.handle_new_user() from public;

create trigger on_auth_user_created after insert on auth.users
  for each row execute function public.handle_new_user();
