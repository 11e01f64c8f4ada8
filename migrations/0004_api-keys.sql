-- Up Migration
-- API keys (issue 14). A key is `hmk_<id>_<secret>`; only the SHA-256 of its random 32-byte secret
-- is stored, in hex (a random key needs no slow hash), and it is compared in constant time. A key is never
-- deleted: revoking sets revoked_at, so a leaked key stays recognisable in the list.
create table api_keys (
  id text primary key,
  name text not null,
  scope text not null check (scope in ('read', 'publish', 'admin')),
  secret_sha256 text not null,
  expires_at timestamptz(3),
  revoked_at timestamptz(3),
  created_at timestamptz(3) not null default now()
);
create index api_keys_created_at_idx on api_keys (created_at, id);

-- Down Migration
drop table api_keys;
