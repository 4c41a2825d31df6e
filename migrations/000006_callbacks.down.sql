DROP FUNCTION hammer_timestamp(timestamptz);
DROP TABLE callback_attempts;
DROP TABLE callbacks;
ALTER TABLE subscriptions DROP COLUMN callback_url, DROP COLUMN callback_events;
