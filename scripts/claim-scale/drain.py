# Drains the scale database with the real claim SQL: claim 100, mark them completed, repeat; prints claim ms per tenth.
import re, statistics, sys, time

import psycopg

port = sys.argv[1]
s = open('Sources/Hammer/Storage/Queue/ClaimStatement.swift').read()
claim = re.findall(r'static let sql = """\n(.*?)\n        """', s, re.S)[0]
conn = psycopg.connect(f"host=127.0.0.1 port={port} user=hammer dbname=scale", autocommit=True)
conn.execute("PREPARE claim(int,int,text[],int[],int,text[],int,int,text[],int[]) AS " + claim)
total = conn.execute("SELECT count(*) FROM delivery_queue WHERE status='pending' AND scheduled_at <= now() AND subscription_id IN (SELECT id FROM subscriptions WHERE status='active' AND NOT ordered AND rate_limit IS NULL)").fetchone()[0]
done, times, start = 0, [], time.time()
while done < total:
    t0 = time.perf_counter()
    rows = conn.execute("EXECUTE claim(100, 30, '{}', '{}', 16, '{}', 33554432, 25, '{}', '{}')").fetchall()
    times.append((time.perf_counter() - t0) * 1000)
    ids = [r[1] for r in rows if r[0] == 'delivery']
    if not ids:
        break
    conn.execute("DELETE FROM delivery_queue WHERE delivery_id = ANY(%s)", (ids,))
    conn.execute("UPDATE deliveries SET status='completed', updated_at=now() WHERE id = ANY(%s)", (ids,))
    done += len(ids)
tenth = max(1, len(times) // 10)
parts = [statistics.mean(times[i:i + tenth]) for i in range(0, len(times), tenth)][:10]
print(f"claims {len(times)}, delivered {done} of {total} plain due, {time.time() - start:.1f}s")
print("mean claim ms per tenth:", " ".join(f"{p:.2f}" for p in parts))
print(f"last tenth / first tenth: {parts[-1] / parts[0]:.2f}")
