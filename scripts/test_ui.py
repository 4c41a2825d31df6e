#!/usr/bin/env python3
"""The web console in a real browser (Debian's headless chromium through Selenium) against a live `hammer all` with an
API key: login is required and its cookie is HttpOnly, pages render, filters filter, a failed delivery shows why,
redeliver redelivers, disable/enable work, forms without the CSRF token are refused. Saves docs/console.png.

    python3 scripts/test_ui.py --base http://127.0.0.1:8220 --key KEY [--screenshot docs/console.png]
scripts/test-ui.sh (`make test-ui`) installs what it needs and starts the server.
"""
import argparse, json, sys, threading, time, urllib.error, urllib.parse, urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from selenium import webdriver
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select


class Receiver(BaseHTTPRequestHandler):
    """`/ok` answers 200; `/broken` answers 500 with a JSON body until `healed`."""
    healed = False

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        failing = self.path == "/broken" and not Receiver.healed
        body = b'{"error":"database is down","retry":true}' if failing else b'{"ok":true}'
        self.send_response(500 if failing else 200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--base", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--screenshot", default="docs/console.png")
    options = parser.parse_args()
    base, key = options.base, options.key
    checks = []

    def check(condition, what):
        if not condition:
            sys.exit(f"FAIL: {what}")
        checks.append(what)
        print(f"ok  {what}")

    def api(method, path, body=None):
        request = urllib.request.Request(base + path, method=method, data=json.dumps(body).encode() if body else None)
        request.add_header("Authorization", f"Bearer {key}")
        request.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(request) as response:
            return json.loads(response.read() or b"{}")

    def eventually(condition, what, timeout=30):
        """Waits for `condition`; a page still loading (an element gone stale or not there yet) is not there yet."""
        deadline = time.time() + timeout
        while True:
            try:
                if condition():
                    return
            except (StaleElementReferenceException, NoSuchElementException):
                pass
            if time.time() > deadline:
                sys.exit(f"FAIL: timed out waiting for {what}")
            time.sleep(0.2)

    receiver = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    hooks = f"http://127.0.0.1:{receiver.server_address[1]}"
    api("POST", "/v1/topics", {"id": "orders", "name": "Orders"})
    for name in ["ok", "broken"]:
        api("POST", "/v1/subscriptions", {
            "id": name, "topic_id": "orders", "name": f"The {name} endpoint", "url": f"{hooks}/{name}",
            "max_delivery_attempts": 1, "delivery_attempt_delay": 1, "delivery_attempt_timeout": 5,
        })
    messages = [api("POST", "/v1/messages", {"topic_id": "orders", "data": json.dumps({"order": n}), "event_type": "order.created"}) for n in range(3)]
    eventually(lambda: len(api("GET", "/v1/deliveries?status=failed")["deliveries"]) == 3, "three failed deliveries")
    eventually(lambda: len(api("GET", "/v1/deliveries?status=completed")["deliveries"]) == 3, "three completed deliveries")

    chrome = webdriver.ChromeOptions()
    for argument in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1400,1100"]:
        chrome.add_argument(argument)
    chrome.binary_location = "/usr/bin/chromium"
    browser = webdriver.Chrome(options=chrome, service=webdriver.ChromeService(executable_path="/usr/bin/chromedriver"))
    try:
        browser.get(base + "/ui")
        check(browser.current_url.endswith("/ui/login"), "without a session, /ui sends the browser to /ui/login")
        browser.find_element(By.NAME, "key").send_keys("not-the-key")
        browser.find_element(By.CSS_SELECTOR, "form.login button").click()
        eventually(lambda: "not one of the server" in browser.page_source, "the login page to answer")
        check(browser.current_url.endswith("/ui/login"), "a wrong key is refused")
        browser.find_element(By.NAME, "key").send_keys(key)
        browser.find_element(By.CSS_SELECTOR, "form.login button").click()
        eventually(lambda: browser.current_url.endswith("/ui"), "the overview to load")
        check("<h1>Overview</h1>" in browser.page_source, "the right key opens the overview")
        session = browser.get_cookie("hammer_session")
        check(session is not None and session["httpOnly"] and session.get("sameSite") == "Strict", "the session cookie is HttpOnly and SameSite=Strict")
        check(browser.execute_script("return document.cookie") == "", "page scripts cannot read the console's cookies")

        counts = {s: browser.find_element(By.ID, f"count-{s}").text for s in ["pending", "completed", "failed"]}
        check(counts == {"pending": "0", "completed": "3", "failed": "3"}, f"the overview counts deliveries by status {counts}")
        bars = browser.find_elements(By.CSS_SELECTOR, "svg.chart rect")
        check(len(bars) >= 2, "the chart draws succeeded and failed attempts")
        check("broken" in browser.find_element(By.TAG_NAME, "main").text, "the broken subscription is listed as failing")

        browser.get(base + "/ui/deliveries")
        Select(browser.find_element(By.NAME, "status")).select_by_visible_text("failed")
        browser.find_element(By.CSS_SELECTOR, "form.filters button").click()
        eventually(lambda: "status=failed" in browser.current_url, "the filter form to load")
        rows = browser.find_elements(By.CSS_SELECTOR, "tr.delivery")
        check(len(rows) == 3 and all("failed" in r.text and "broken" in r.text for r in rows), "the status filter shows the failed ones only")
        browser.get(base + "/ui/deliveries?subscription_id=ok")
        rows = browser.find_elements(By.CSS_SELECTOR, "tr.delivery")
        check(len(rows) == 3 and all("completed" in r.text for r in rows), "the subscription filter shows that subscription's only")
        browser.get(base + "/ui/deliveries?limit=2")
        check(len(browser.find_elements(By.CSS_SELECTOR, "tr.delivery")) == 2, "pages hold limit rows")
        browser.find_element(By.CSS_SELECTOR, "a[rel=next]").click()
        eventually(lambda: "offset=2" in browser.current_url, "the next page to load")
        check(len(browser.find_elements(By.CSS_SELECTOR, "tr.delivery")) == 2 and "offset=2" in browser.current_url, "Next shows the next page")
        browser.get(base + "/ui/deliveries?created_at_gte=yesterday")
        check("created_at_gte must be an RFC 3339 timestamp" in browser.page_source, "a bad filter is explained on the page")

        browser.get(base + "/ui/deliveries?status=failed")
        browser.find_element(By.CSS_SELECTOR, "tr.delivery a").click()
        eventually(lambda: "/ui/deliveries/" in browser.current_url, "the delivery page to load")
        main = browser.find_element(By.TAG_NAME, "main").text
        check("http_status" in main and "500 Internal Server Error" in main, "the delivery page shows the error kind and the response status")
        body = browser.find_element(By.CSS_SELECTOR, ".attempt pre.body.json").text
        check('"data_base64"' in body and "\n" in body, "the request body is pretty-printed JSON")
        check('"database is down"' in main, "the response body is shown")
        browser.save_screenshot(options.screenshot)
        check(True, f"screenshot saved to {options.screenshot}")

        Receiver.healed = True
        delivery_url = browser.current_url
        browser.find_element(By.ID, "redeliver").click()
        eventually(lambda: len(browser.find_elements(By.ID, "redeliver")) == 0 or browser.find_element(By.ID, "delivery-status").text != "failed", "the redelivery")
        check(browser.current_url == delivery_url, "Redeliver comes back to the delivery")

        def completed():
            browser.refresh()
            return browser.find_element(By.ID, "delivery-status").text == "completed"

        eventually(completed, "the redelivered delivery to complete")
        check(len(browser.find_elements(By.CSS_SELECTOR, "section.attempt")) == 2, "redeliver redelivers: a second, successful attempt")

        browser.get(base + "/ui/subscriptions")
        browser.find_element(By.CSS_SELECTOR, "#subscription-ok form button").click()
        eventually(lambda: "disabled" in browser.find_element(By.ID, "subscription-ok").text, "the subscription list to show it disabled")
        check(True, "Disable disables the subscription")
        check(api("GET", "/v1/subscriptions/ok")["status"] == "disabled", "the API sees it disabled")
        browser.find_element(By.CSS_SELECTOR, "#subscription-ok form button").click()
        eventually(lambda: api("GET", "/v1/subscriptions/ok")["status"] == "active", "the subscription to be enabled")
        check(True, "Enable enables it again")
        check("whsec_" not in browser.page_source, "no secret is rendered in the list")

        browser.get(base + f"/ui/messages/{messages[0]['id']}")
        check(len(browser.find_elements(By.CSS_SELECTOR, "tr.delivery")) == 2 and '"order" : 0' in browser.page_source, "a message page shows its data and deliveries")
        browser.get(base + "/ui/topics")
        check("Orders" in browser.page_source, "the topics page lists topics")

        # A form posted from elsewhere carries the session cookie (not with SameSite=Strict, but say it did) and no token.
        forged = urllib.request.Request(base + f"/ui/deliveries/{messages[0]['id']}/redeliver", method="POST", data=b"csrf=guess")
        forged.add_header("Cookie", f"hammer_session={session['value']}; hammer_csrf=other")
        forged.add_header("Content-Type", "application/x-www-form-urlencoded")
        try:
            urllib.request.urlopen(forged)
            status = 200
        except urllib.error.HTTPError as error:
            status = error.code
        check(status == 403, "a POST without the matching CSRF token is refused (403)")

        browser.get(base + "/ui")
        browser.find_element(By.CSS_SELECTOR, "form.logout button").click()
        eventually(lambda: browser.current_url.endswith("/ui/login"), "signing out")
        browser.get(base + "/ui/deliveries")
        check(browser.current_url.endswith("/ui/login"), "after signing out, pages need a session again")
    finally:
        browser.quit()
    print(f"test-ui: {len(checks)} checks passed in chromium")


if __name__ == "__main__":
    main()
