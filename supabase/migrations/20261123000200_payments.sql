-- Payments through Paystack: why a payment needs an admin's look, Paystack's transaction id,
-- and a log of every authentic webhook event with what we did about it. Crediting itself is the ledger's unique reference: a purchase is
-- recorded as `paystack:<reference>`, so it can exist once whatever Paystack delivers.

alter table public.payments
  add column review_reason text, -- set with status needs_review: what did not match, for an admin
  add column provider_transaction_id text, -- Paystack's data.id (an unsigned 64-bit integer, kept as text)
  add column refunded_credits integer not null default 0 check (refunded_credits >= 0); -- credits taken back by refunds

comment on column public.payments.review_reason is 'Why the payment needs an admin''s look (status needs_review); null otherwise.';
create index payments_status_idx on public.payments (status, created_at);

-- payment_events ----------------------------------------------------------------------------------
-- Private: no policies, so only server code (the schema owner) reads or writes it; admins see it
-- through the admin API. One row per authentic webhook delivery, including ignored events and
-- events for references we do not know (those are the rows admins must look at).
create table public.payment_events (
  id uuid primary key default gen_random_uuid(),
  event text not null, -- Paystack's event name, e.g. charge.success
  reference text, -- data.reference (or the refunded transaction's reference)
  outcome text not null, -- the short outcome string the handler returned
  needs_review boolean not null default false, -- true when nothing matched and an admin must look
  payload jsonb not null, -- the event as Paystack signed it
  received_at timestamptz not null default now()
);
alter table public.payment_events enable row level security;
comment on table public.payment_events is 'Private: every authentic Paystack webhook event and its outcome; RLS on with no policies, server code only.';
create index payment_events_reference_idx on public.payment_events (reference);
create index payment_events_review_idx on public.payment_events (received_at) where needs_review;
