-- The gateway's own schema: virtual keys, users, teams and spend, in the shape of LiteLLM's
-- tables so the admin API maps onto them one to one. Only the gateway process reads or writes
-- it (with the database owner's role); every table keeps row level security on with no
-- policies, so the app's `anon` / `authenticated` roles can never reach it through PostgREST.

create schema if not exists gateway;

-- Gateway users (LiteLLM_UserTable). Private to the gateway: RLS on, no policies.
create table gateway.users (
  user_id text primary key,
  user_email text,
  user_alias text,
  user_role text not null default 'internal_user'
    check (user_role in ('proxy_admin', 'proxy_admin_viewer', 'internal_user', 'internal_user_viewer', 'team', 'customer')),
  max_budget numeric,                          -- US dollars; null = no budget
  spend numeric not null default 0,            -- US dollars since the last budget reset
  budget_duration text,                        -- LiteLLM duration: 30s, 30m, 30h, 30d, 1mo, ...
  budget_reset_at timestamptz,
  models text[] not null default '{}',
  tpm_limit integer,                           -- tokens per minute
  rpm_limit integer,                           -- requests per minute
  max_parallel_requests integer,
  metadata jsonb not null default '{}',
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
alter table gateway.users enable row level security;
create unique index users_email_unique on gateway.users (lower(user_email)) where user_email is not null;

-- Teams (LiteLLM_TeamTable). Private to the gateway: RLS on, no policies.
create table gateway.teams (
  team_id text primary key,
  team_alias text,
  models text[] not null default '{}',
  max_budget numeric,                          -- US dollars; null = no budget
  spend numeric not null default 0,            -- US dollars since the last budget reset
  budget_duration text,
  budget_reset_at timestamptz,
  tpm_limit integer,                           -- tokens per minute
  rpm_limit integer,                           -- requests per minute
  max_parallel_requests integer,
  blocked boolean not null default false,
  metadata jsonb not null default '{}',
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
alter table gateway.teams enable row level security;

-- Team membership (LiteLLM_TeamMembership + members_with_roles). Private: RLS on, no policies.
create table gateway.team_members (
  team_id text not null references gateway.teams (team_id) on delete cascade,
  user_id text not null references gateway.users (user_id) on delete cascade,
  role text not null default 'user' check (role in ('admin', 'user')),
  max_budget_in_team numeric,                  -- US dollars; null = no per-member budget
  spend numeric not null default 0,            -- US dollars
  created_at timestamptz not null default now(),
  primary key (team_id, user_id)
);
alter table gateway.team_members enable row level security;
create index team_members_user on gateway.team_members (user_id);

-- Virtual keys (LiteLLM_VerificationToken). `token` is the SHA-256 hex of the secret; the
-- secret itself is never stored. Private to the gateway: RLS on, no policies.
create table gateway.keys (
  token text primary key check (token ~ '^[0-9a-f]{64}$'),
  key_name text not null,                      -- display form: sk-...abcd
  key_alias text unique,
  user_id text,                                -- LiteLLM does not require the user row to exist
  team_id text references gateway.teams (team_id) on delete set null,
  models text[] not null default '{}',
  aliases jsonb not null default '{}',
  max_budget numeric,                          -- US dollars; null = no budget
  spend numeric not null default 0,            -- US dollars since the last budget reset
  budget_duration text,
  budget_reset_at timestamptz,
  expires timestamptz,                         -- null = never expires
  tpm_limit integer,                           -- tokens per minute
  rpm_limit integer,                           -- requests per minute
  max_parallel_requests integer,
  metadata jsonb not null default '{}',
  blocked boolean,
  created_by text,
  updated_by text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
alter table gateway.keys enable row level security;
create index keys_user on gateway.keys (user_id);
create index keys_team on gateway.keys (team_id);

-- One row per LLM call (LiteLLM_SpendLogs), written in batches. Private: RLS on, no policies.
create table gateway.spend_logs (
  request_id text primary key,
  call_type text not null,                     -- acompletion, atext_completion, aembedding
  api_key text not null,                       -- SHA-256 hex of the key, never the key
  spend numeric not null default 0,            -- US dollars
  total_tokens integer not null default 0,
  prompt_tokens integer not null default 0,
  completion_tokens integer not null default 0,
  start_time timestamptz not null,
  end_time timestamptz not null,
  model text not null,                         -- the upstream model
  model_id text,                               -- the deployment's model_info.id
  model_group text not null,                   -- the model name the caller asked for
  custom_llm_provider text not null,
  api_base text,
  user_id text,
  team_id text,
  end_user text,                               -- the request's `user` field
  status text not null check (status in ('success', 'failure')),
  metadata jsonb not null default '{}'
);
alter table gateway.spend_logs enable row level security;
create index spend_logs_start on gateway.spend_logs (start_time);
create index spend_logs_key_start on gateway.spend_logs (api_key, start_time);
create index spend_logs_user_start on gateway.spend_logs (user_id, start_time);
