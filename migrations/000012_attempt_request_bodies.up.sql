-- An attempt keeps its request line and headers, but not another copy of a body its message and delivery determine
-- (the CloudEvents and raw formats): `request_body` says which (0 stored in `request`, 1 CloudEvents, 2 raw), and
-- the store rebuilds the body, byte for byte as it was sent and signed, when the attempt is read. Adding a column
-- with a constant default rewrites nothing: the lock is held for an instant.
ALTER TABLE delivery_attempts ADD COLUMN request_body smallint NOT NULL DEFAULT 0;

-- Binaries built for schema 11 would show these attempts without their body: they no longer run with this schema
-- (migrating down writes the bodies back and lets them run again).
UPDATE schema_compatibility SET oldest_binary_schema = 12;
