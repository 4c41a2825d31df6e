DROP FUNCTION hammer_redacted_url(text);
DROP TABLE schema_compatibility;
