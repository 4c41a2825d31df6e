-- Writes the rebuilt bodies back into `request`, then drops the column; stop the workers first. The lock keeps any
-- attempt from being recorded meanwhile without its body. A NUL in a raw body is written as U+FFFD, as the store
-- shows it; a raw body that is not UTF-8 text at all is written as a note instead.
LOCK TABLE delivery_attempts IN SHARE ROW EXCLUSIVE MODE;

CREATE FUNCTION hammer_json_quoted(p text) RETURNS text
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    r text := replace(replace(p, '\', '\\'), '"', '\"');
BEGIN
    r := replace(replace(replace(r, chr(10), '\n'), chr(13), '\r'), chr(9), '\t');
    FOR i IN 1..31 LOOP
        IF i NOT IN (9, 10, 13) THEN
            r := replace(r, chr(i), '\u' || lpad(to_hex(i), 4, '0'));
        END IF;
    END LOOP;
    RETURN '"' || r || '"';
END
$$;

CREATE FUNCTION hammer_raw_text(p_data text) RETURNS text
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    -- The bytes in hex, a space after each, so that a NUL byte is " 00 " (twice, for NULs side by side).
    spaced text := ' ' || regexp_replace(encode(decode(p_data, 'base64'), 'hex'), '(..)', '\1 ', 'g');
BEGIN
    spaced := replace(replace(spaced, ' 00 ', ' efbfbd '), ' 00 ', ' efbfbd ');
    RETURN convert_from(decode(replace(spaced, ' ', ''), 'hex'), 'UTF8');
EXCEPTION WHEN others THEN
    RETURN '[body not restored: the message''s bytes are not UTF-8 text]';
END
$$;

UPDATE delivery_attempts a SET request = a.request || CASE a.request_body
    WHEN 1 THEN '{"specversion":"1.0","type":' || coalesce(hammer_json_quoted(m.event_type), '"hammer.message.created"')
        || ',"source":"/v1/messages/' || m.id || '","id":' || hammer_json_quoted(d.id)
        || ',"time":' || hammer_json_quoted(hammer_timestamp(m.created_at))
        || ',"messageid":' || hammer_json_quoted(m.id) || ',"subscriptionid":' || hammer_json_quoted(d.subscription_id)
        || ',"topicid":' || hammer_json_quoted(d.topic_id) || ',"datacontenttype":' || hammer_json_quoted(m.content_type)
        || ',"data_base64":' || hammer_json_quoted(m.data) || '}'
    ELSE hammer_raw_text(m.data) END
FROM deliveries d JOIN messages m ON m.id = d.message_id
WHERE a.request_body <> 0 AND d.id = a.delivery_id;

DROP FUNCTION hammer_raw_text(text);

DROP FUNCTION hammer_json_quoted(text);

UPDATE schema_compatibility SET oldest_binary_schema = 10;

ALTER TABLE delivery_attempts DROP COLUMN request_body;
