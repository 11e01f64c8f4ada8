-- Up Migration
-- Recovery: replaying a subscription's history inserts deliveries with `on conflict do nothing` on
-- this constraint, so two concurrent replays (or a replay racing a publish) never make a message's
-- delivery for one subscription twice. Publishing has always made one delivery per subscription per
-- message, so existing rows satisfy it. deliveries_message_id_idx (message_id, created_at, id) stays:
-- the list queries filtered on message_id read it in their order.
alter table deliveries
  add constraint deliveries_message_id_subscription_id_key unique (message_id, subscription_id);

-- Down Migration
alter table deliveries drop constraint deliveries_message_id_subscription_id_key;
