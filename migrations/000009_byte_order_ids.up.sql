-- Ids compare as bytes (COLLATE "C"): every index probe, join and sort on an id otherwise goes through the database's
-- locale (strcoll), which was a tenth of PostgreSQL's time per delivery. Ids are `[\w.+-]` (hammer's own are ULIDs, in
-- upper case), so the order of lists, by created_at then id, only changes for ids created in the same microsecond whose
-- locale order differed from their byte order.
ALTER TABLE topics ALTER COLUMN id TYPE varchar(255) COLLATE "C";

ALTER TABLE subscriptions ALTER COLUMN id TYPE varchar(255) COLLATE "C", ALTER COLUMN topic_id TYPE varchar(255) COLLATE "C";

ALTER TABLE messages ALTER COLUMN id TYPE varchar(26) COLLATE "C", ALTER COLUMN topic_id TYPE varchar(255) COLLATE "C";

ALTER TABLE deliveries
    ALTER COLUMN id TYPE varchar(26) COLLATE "C",
    ALTER COLUMN topic_id TYPE varchar(255) COLLATE "C",
    ALTER COLUMN subscription_id TYPE varchar(255) COLLATE "C",
    ALTER COLUMN message_id TYPE varchar(26) COLLATE "C";

ALTER TABLE delivery_attempts ALTER COLUMN id TYPE varchar(26) COLLATE "C", ALTER COLUMN delivery_id TYPE varchar(26) COLLATE "C";

ALTER TABLE callbacks
    ALTER COLUMN id TYPE varchar(26) COLLATE "C",
    ALTER COLUMN subscription_id TYPE varchar(255) COLLATE "C",
    ALTER COLUMN delivery_id TYPE varchar(26) COLLATE "C";

ALTER TABLE callback_attempts ALTER COLUMN id TYPE varchar(26) COLLATE "C", ALTER COLUMN callback_id TYPE varchar(26) COLLATE "C";

-- Most deliveries end completed, and a list of completed ones reads the (created_at, id) index: the status index keeps
-- only the others, so a delivery's completion writes one index entry fewer and the index stays as small as the
-- pending and failed deliveries.
DROP INDEX deliveries_status_created_at_id_idx;

CREATE INDEX deliveries_unfinished_status_created_at_id_idx ON deliveries (status, created_at, id) WHERE status <> 'completed';
