DROP INDEX deliveries_unfinished_status_created_at_id_idx;

CREATE INDEX deliveries_status_created_at_id_idx ON deliveries (status, created_at, id);

ALTER TABLE callback_attempts ALTER COLUMN id TYPE varchar(26) COLLATE "default", ALTER COLUMN callback_id TYPE varchar(26) COLLATE "default";

ALTER TABLE callbacks
    ALTER COLUMN id TYPE varchar(26) COLLATE "default",
    ALTER COLUMN subscription_id TYPE varchar(255) COLLATE "default",
    ALTER COLUMN delivery_id TYPE varchar(26) COLLATE "default";

ALTER TABLE delivery_attempts ALTER COLUMN id TYPE varchar(26) COLLATE "default", ALTER COLUMN delivery_id TYPE varchar(26) COLLATE "default";

ALTER TABLE deliveries
    ALTER COLUMN id TYPE varchar(26) COLLATE "default",
    ALTER COLUMN topic_id TYPE varchar(255) COLLATE "default",
    ALTER COLUMN subscription_id TYPE varchar(255) COLLATE "default",
    ALTER COLUMN message_id TYPE varchar(26) COLLATE "default";

ALTER TABLE messages ALTER COLUMN id TYPE varchar(26) COLLATE "default", ALTER COLUMN topic_id TYPE varchar(255) COLLATE "default";

ALTER TABLE subscriptions ALTER COLUMN id TYPE varchar(255) COLLATE "default", ALTER COLUMN topic_id TYPE varchar(255) COLLATE "default";

ALTER TABLE topics ALTER COLUMN id TYPE varchar(255) COLLATE "default";
