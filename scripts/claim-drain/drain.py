# drain.py PORT SQLFILE IDLE [held]: seeds 10 busy subscriptions with 3,000 pending deliveries each and IDLE subscriptions
# with nothing pending, then drains the busy ones with the claim statement in SQLFILE, 100 per claim, deleting what each
# claim took; with "held", a REPEATABLE READ transaction holds its snapshot open on another connection for the whole
# drain. Prints deliveries per second, milliseconds per claim, and the first claim's buffers.
import sys, time, psycopg
port, sqlfile, idle = sys.argv[1], sys.argv[2], int(sys.argv[3]); held = len(sys.argv) > 4
claim = open(sqlfile).read()
admin = psycopg.connect(f"host=127.0.0.1 port={port} user=hammer dbname=postgres", autocommit=True)
conn = psycopg.connect(f"host=127.0.0.1 port={port} user=hammer dbname=idle", autocommit=True)
c = conn.execute
c("TRUNCATE topics CASCADE")
c("INSERT INTO topics (id, name) VALUES ('busy', 'b'), ('quiet', 'q')")
c("""INSERT INTO subscriptions (id, topic_id, name, url, secret_token, max_delivery_attempts, delivery_attempt_delay, delivery_attempt_timeout)
     SELECT 'b' || i, 'busy', 's', 'http://127.0.0.1:1/', 'x', 5, 1, 5 FROM generate_series(1, 10) i""")
c("""INSERT INTO subscriptions (id, topic_id, name, url, secret_token, max_delivery_attempts, delivery_attempt_delay, delivery_attempt_timeout)
     SELECT 'q' || i, 'quiet', 's', 'http://127.0.0.1:1/', 'x', 5, 1, 5 FROM generate_series(1, %s) i""" % idle)
c("""INSERT INTO messages (id, topic_id, content_type, data, created_at)
     SELECT hammer_ulid(), 'busy', 'application/json', 'e30=', now() - interval '1 hour' + i * interval '1 millisecond' FROM generate_series(1, 3000) i""")
c("""INSERT INTO deliveries (id, topic_id, subscription_id, message_id, url, max_delivery_attempts, delivery_attempt_delay, delivery_attempt_timeout, scheduled_at, created_at)
     SELECT hammer_ulid(), 'busy', s.id, m.id, s.url, 5, 1, 5, m.created_at, m.created_at FROM messages m CROSS JOIN subscriptions s WHERE s.topic_id = 'busy'""")
c("""INSERT INTO delivery_queue (delivery_id, subscription_id, scheduled_at, created_at, message_id, topic_id, message_bytes)
     SELECT d.id, d.subscription_id, d.scheduled_at, d.created_at, d.message_id, d.topic_id, 4 FROM deliveries d""")
c("VACUUM ANALYZE")
c("PREPARE claim(int, int, text[], int[], int, text[], int, int, text[], int[]) AS " + claim)
plan = c("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF, TIMING OFF) EXECUTE claim(100, 30, '{}', '{}', 100, '{}', 33554432, 25, '{}', '{}')").fetchall()
c("UPDATE delivery_queue SET leased_until = NULL")
buffers = [r[0] for r in plan if 'Buffers' in r[0]][:1]
holder = psycopg.connect(f"host=127.0.0.1 port={port} user=hammer dbname=idle")
if held:
    holder.execute("BEGIN ISOLATION LEVEL REPEATABLE READ"); holder.execute("SELECT count(*) FROM topics").fetchall()
done, start, claims = 0, time.time(), 0
while True:
    rows = c("EXECUTE claim(100, 30, '{}', '{}', 100, '{}', 33554432, 25, '{}', '{}')").fetchall()
    ids = [r[1] for r in rows if r[0] == 'delivery']
    claims += 1
    if not ids: break
    c("DELETE FROM delivery_queue WHERE delivery_id = ANY(%s)", (ids,))
    done += len(ids)
elapsed = time.time() - start
holder.rollback()
print(f"held={held} idle={idle}: {done} deliveries in {claims} claims, {done/elapsed:.0f}/s, {1000*elapsed/claims:.2f} ms per claim; first claim {buffers}")
