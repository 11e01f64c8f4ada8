-- Up Migration
-- Standards (issue 19). A subscription chooses how its webhooks carry the CloudEvent (content_mode:
-- hammer's body, or the CloudEvents structured or binary mode), which Standard Webhooks signatures
-- they carry (v1 HMAC, v1a Ed25519: hammer keeps the private key, `whsk_…`, and shows the public one,
-- `whpk_…`; after a rotation the replaced key signs too until previous_secret_expires_at), whether
-- its endpoint is validated with the CloudEvents webhook handshake first (a new status,
-- pending_validation, parks its deliveries until the receiver allowed validated_url = url), and extra
-- headers to send.
alter table subscriptions
  add column content_mode text not null default 'hammer' check (content_mode in ('hammer', 'structured', 'binary')),
  add column signature_schemes text[] not null default '{v1}' check (signature_schemes <@ '{v1,v1a}' and cardinality(signature_schemes) > 0),
  add column signing_key text,
  add column previous_signing_key text,
  add column public_key text not null default '',
  add column validation text not null default 'none' check (validation in ('none', 'cloudevents')),
  add column validated_url text,
  add column headers jsonb not null default '{}',
  drop constraint subscriptions_status_check,
  add constraint subscriptions_status_check check (status in ('active', 'paused', 'disabled', 'pending_validation'));

-- Down Migration
update subscriptions set status = 'paused' where status = 'pending_validation';
alter table subscriptions
  drop constraint subscriptions_status_check,
  add constraint subscriptions_status_check check (status in ('active', 'paused', 'disabled')),
  drop column content_mode, drop column signature_schemes, drop column signing_key, drop column previous_signing_key,
  drop column public_key, drop column validation, drop column validated_url, drop column headers;
