-- Failed sign-ins per email and per client IP, counted in the database so every app instance
-- behind a load balancer draws on the same count (lib/auth/login-limiter.ts). The layout is
-- rate-limiter-flexible's Postgres store's, with `text` keys: an email may be longer than the
-- 255 characters its default allows.

-- login_limits -----------------------------------------------------------------------------------
-- Who may see it: no one through the API (RLS on, no policies); only the server's own role.
create table public.login_limits (
  key text primary key, -- "login-email:<email>" or "login-ip:<address>"
  points integer not null default 0, -- failed attempts in the current window
  expire bigint -- epoch milliseconds when the window ends
);
alter table public.login_limits enable row level security;
