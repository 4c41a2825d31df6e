DROP PROCEDURE IF EXISTS hammer_publish(text[], text[], text[], text[], text[], timestamptz[]);
