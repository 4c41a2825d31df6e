-- Back to one table each, under lock: stop servers and workers first. The foreign keys between them come back, so
-- the rows retention left without what they belonged to (attempts of a dropped delivery, the queue's rows of one)
-- are deleted first.
DROP TRIGGER messages_delete_deliveries ON messages;
DROP TRIGGER deliveries_delete_history ON deliveries;
DROP TRIGGER callbacks_delete_attempts ON callbacks;
DROP FUNCTION hammer_delete_message_deliveries();
DROP FUNCTION hammer_delete_delivery_history();
DROP FUNCTION hammer_delete_callback_attempts();

ALTER TABLE messages RENAME TO messages_partitioned;
ALTER TABLE deliveries RENAME TO deliveries_partitioned;
ALTER TABLE delivery_attempts RENAME TO delivery_attempts_partitioned;
ALTER TABLE callbacks RENAME TO callbacks_partitioned;
ALTER TABLE callback_attempts RENAME TO callback_attempts_partitioned;

CREATE TABLE messages (LIKE messages_partitioned INCLUDING DEFAULTS INCLUDING CONSTRAINTS);
CREATE TABLE deliveries (LIKE deliveries_partitioned INCLUDING DEFAULTS INCLUDING CONSTRAINTS) WITH (fillfactor = 70);
CREATE TABLE delivery_attempts (LIKE delivery_attempts_partitioned INCLUDING DEFAULTS INCLUDING CONSTRAINTS);
CREATE TABLE callbacks (LIKE callbacks_partitioned INCLUDING DEFAULTS INCLUDING CONSTRAINTS);
CREATE TABLE callback_attempts (LIKE callback_attempts_partitioned INCLUDING DEFAULTS INCLUDING CONSTRAINTS);

INSERT INTO messages SELECT * FROM messages_partitioned;
INSERT INTO deliveries SELECT d.* FROM deliveries_partitioned d WHERE EXISTS (SELECT 1 FROM messages m WHERE m.id = d.message_id);
INSERT INTO delivery_attempts SELECT a.* FROM delivery_attempts_partitioned a WHERE EXISTS (SELECT 1 FROM deliveries d WHERE d.id = a.delivery_id);
INSERT INTO callbacks SELECT * FROM callbacks_partitioned;
INSERT INTO callback_attempts SELECT a.* FROM callback_attempts_partitioned a WHERE EXISTS (SELECT 1 FROM callbacks c WHERE c.id = a.callback_id);
DELETE FROM delivery_queue q WHERE NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.id = q.delivery_id);

DROP TABLE messages_partitioned;
DROP TABLE deliveries_partitioned;
DROP TABLE delivery_attempts_partitioned;
DROP TABLE callbacks_partitioned;
DROP TABLE callback_attempts_partitioned;

DROP FUNCTION hammer_drop_partition(text, timestamptz, text);
DROP FUNCTION hammer_add_partitions(bigint, timestamptz, boolean);
DROP FUNCTION hammer_add_partition_period(timestamptz, timestamptz);
DROP FUNCTION hammer_create_partition_table(text, text);
DROP FUNCTION hammer_partition_name(text, timestamptz);
DROP TABLE partition_periods;
DROP FUNCTION hammer_id_bound(timestamptz);
DROP FUNCTION hammer_partitioned_tables();

ALTER TABLE messages ADD CONSTRAINT messages_pkey PRIMARY KEY (id);
ALTER TABLE messages ADD CONSTRAINT messages_topic_id_fkey FOREIGN KEY (topic_id) REFERENCES topics (id) ON DELETE CASCADE;
CREATE INDEX messages_created_at_id_idx ON messages (created_at, id);
CREATE INDEX messages_topic_id_created_at_id_idx ON messages (topic_id, created_at, id);

ALTER TABLE deliveries ADD CONSTRAINT deliveries_pkey PRIMARY KEY (id);
ALTER TABLE deliveries ADD CONSTRAINT deliveries_message_id_fkey FOREIGN KEY (message_id) REFERENCES messages (id) ON DELETE CASCADE;
ALTER TABLE deliveries ADD CONSTRAINT deliveries_subscription_id_fkey FOREIGN KEY (subscription_id) REFERENCES subscriptions (id) ON DELETE CASCADE;
CREATE INDEX deliveries_created_at_id_idx ON deliveries (created_at, id);
CREATE INDEX deliveries_message_id_created_at_id_idx ON deliveries (message_id, created_at, id);
CREATE INDEX deliveries_subscription_id_created_at_id_idx ON deliveries (subscription_id, created_at, id);
CREATE INDEX deliveries_topic_id_created_at_id_idx ON deliveries (topic_id, created_at, id);

ALTER TABLE delivery_attempts ADD CONSTRAINT delivery_attempts_pkey PRIMARY KEY (id);
ALTER TABLE delivery_attempts ADD CONSTRAINT delivery_attempts_delivery_id_fkey FOREIGN KEY (delivery_id) REFERENCES deliveries (id) ON DELETE CASCADE;
CREATE INDEX delivery_attempts_created_at_id_idx ON delivery_attempts (created_at, id);
CREATE INDEX delivery_attempts_delivery_id_created_at_id_idx ON delivery_attempts (delivery_id, created_at, id);

ALTER TABLE delivery_queue ADD CONSTRAINT delivery_queue_delivery_id_fkey FOREIGN KEY (delivery_id) REFERENCES deliveries (id) ON DELETE CASCADE;

ALTER TABLE callbacks ADD CONSTRAINT callbacks_pkey PRIMARY KEY (id);
ALTER TABLE callbacks ADD CONSTRAINT callbacks_subscription_id_fkey FOREIGN KEY (subscription_id) REFERENCES subscriptions (id) ON DELETE CASCADE;
CREATE INDEX callbacks_pending_scheduled_at_idx ON callbacks (scheduled_at) WHERE status = 'pending';
CREATE INDEX callbacks_created_at_id_idx ON callbacks (created_at, id);
CREATE INDEX callbacks_subscription_id_created_at_id_idx ON callbacks (subscription_id, created_at, id);

ALTER TABLE callback_attempts ADD CONSTRAINT callback_attempts_pkey PRIMARY KEY (id);
ALTER TABLE callback_attempts ADD CONSTRAINT callback_attempts_callback_id_fkey FOREIGN KEY (callback_id) REFERENCES callbacks (id) ON DELETE CASCADE;
CREATE INDEX callback_attempts_callback_id_created_at_id_idx ON callback_attempts (callback_id, created_at, id);

UPDATE schema_compatibility SET oldest_binary_schema = 12;
