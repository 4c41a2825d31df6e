#!/usr/bin/env python3
"""A webhook receiver that verifies hammer's Standard Webhooks signature.

    pip install standardwebhooks
    python3 examples/receiver.py 9999 whsec_...   # port, the subscription's secret_token

Prints one line per webhook: whether the signature verified, the method and path, the
webhook-id, the Content-Type, any Authorization and X-* headers, and the body. Answers 200
when the signature verifies (with either secret during a rotation), 401 otherwise. Use
webhook-id to drop duplicates: delivery is at-least-once.
"""
import http.server
import sys

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

port = int(sys.argv[1]) if len(sys.argv) > 1 else 9999
secret = sys.argv[2] if len(sys.argv) > 2 else None
if not secret:
    sys.exit("usage: receiver.py PORT SECRET (the subscription's secret_token)")
verifier = Webhook(secret)


class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        headers = {name.lower(): value for name, value in self.headers.items()}
        try:
            verifier.verify(body, headers, json_parse=False)  # any body: raw and templated payloads need not be JSON
            verdict, status = "verified", 200
        except WebhookVerificationError as error:
            verdict, status = f"REJECTED ({error})", 401
        extra = [f"{name}: {value}" for name, value in headers.items() if name == "authorization" or name.startswith("x-")]
        print(verdict, self.command, self.path, headers.get("webhook-id"), headers.get("content-type"), *extra, body.decode(), flush=True)
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b'{"ok": true}' if status == 200 else b'{"ok": false}')

    do_PUT = do_POST
    do_PATCH = do_POST

    def log_message(self, *args):
        pass


http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()
