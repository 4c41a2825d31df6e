DROP TABLE delivery_attempt_minutes;
