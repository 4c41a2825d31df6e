-- Which hammer binaries may run against this schema: those built for schema `oldest_binary_schema` or newer. A
-- binary accepts a schema at or above the version it was built for only while this allows it; otherwise it refuses
-- to start (and a running worker stops claiming), naming both versions. A migration that older binaries cannot live
-- with raises it in the same transaction. Migration 10 moved leases to delivery_queue: a binary built for schema 9
-- would lease through deliveries.leased_until and send what newer workers send too.
CREATE TABLE schema_compatibility (
    oldest_binary_schema bigint NOT NULL,
    -- one row only
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton)
);

INSERT INTO schema_compatibility (oldest_binary_schema) VALUES (10);

-- A webhook URL as lists, dumps and callback bodies show it: user info and query values replaced by [redacted]
-- (URLRedaction.redacted in Swift is the same rule). Only a subscription's own GET shows its URL whole.
CREATE FUNCTION hammer_redacted_url(p_url text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT regexp_replace(u.base, '^([^:/?#]*://)[^/]*@', '\1[redacted]@')
        || CASE WHEN u.query IS NULL THEN '' WHEN u.query = '' THEN '?' ELSE '?' || (
            SELECT string_agg(CASE WHEN strpos(p.part, '=') > 0 THEN split_part(p.part, '=', 1) || '=[redacted]' ELSE '[redacted]' END, '&'
                ORDER BY p.n)
            FROM unnest(string_to_array(u.query, '&')) WITH ORDINALITY AS p(part, n)) END
        || u.fragment
    FROM (
        SELECT split_part(f.head, '?', 1) AS base,
            CASE WHEN strpos(f.head, '?') > 0 THEN substr(f.head, strpos(f.head, '?') + 1) END AS query,
            f.fragment
        FROM (SELECT split_part(p_url, '#', 1) AS head,
            CASE WHEN strpos(p_url, '#') > 0 THEN substr(p_url, strpos(p_url, '#')) ELSE '' END AS fragment) f
    ) u
$$;
