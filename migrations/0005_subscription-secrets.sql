-- Up Migration
-- Secrets that stay secret. include_secret_in_body: whether the CloudEvent carries `secrettoken`
-- (true is hammer's format). previous_secret_token: the secret a rotation replaced, which still signs
-- webhooks (a second `v1,` signature) until previous_secret_expires_at; both null outside a grace period.
alter table subscriptions
  add column include_secret_in_body boolean not null default true,
  add column previous_secret_token text,
  add column previous_secret_expires_at timestamptz(3),
  add constraint subscriptions_previous_secret_check
    check ((previous_secret_token is null) = (previous_secret_expires_at is null));

-- Down Migration
alter table subscriptions
  drop constraint subscriptions_previous_secret_check,
  drop column previous_secret_expires_at,
  drop column previous_secret_token,
  drop column include_secret_in_body;
