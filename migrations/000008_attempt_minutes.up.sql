-- The console's chart (docs/console.md): attempts per minute by outcome, added to by the worker's record statement, one row
-- per minute and shard (the recording connection's pid modulo 8, so workers seldom wait on each other's row). Reading
-- the last hour is at most 480 rows however many attempts there were. `hammer cleanup` deletes rows older than a day.
CREATE TABLE delivery_attempt_minutes (
    minute timestamptz NOT NULL,
    shard smallint NOT NULL,
    succeeded bigint NOT NULL DEFAULT 0,
    failed bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (minute, shard)
);

-- The last hour as far as it is recorded.
INSERT INTO delivery_attempt_minutes (minute, shard, succeeded, failed)
SELECT date_trunc('minute', created_at), 0, count(*) FILTER (WHERE success), count(*) FILTER (WHERE NOT success)
FROM delivery_attempts WHERE created_at > now() - interval '1 hour'
GROUP BY 1;
