#!/usr/bin/env python3
"""hammer's gRPC API tried as a user of hammer would: a Python grpcio client generated from a hammer.proto (by default
allisson/hammer v0.9.1's own, Tests/Fixtures/hammer-v0.9.1.proto) creates, reads, lists, updates and deletes every
resource against a running `hammer all`, publishes a message, waits for it to reach a local receiver, verifies the
request's Standard Webhooks signature, and checks the status codes of bad calls.

    python3 scripts/grpc-trial.py [--proto PATH] [--target 127.0.0.1:50051] [--api-key KEY]
Needs grpcio, grpcio-tools, googleapis-common-protos (hammer's proto imports google/api/annotations.proto) and
standardwebhooks: scripts/grpc-trial.sh installs them and starts the server.
"""
import argparse, base64, importlib, json, os, shutil, sys, tempfile, threading, time, uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import grpc
import grpc_tools
from grpc_tools import protoc
import google.api
import standardwebhooks


def generate(proto):
    """Generates hammer_pb2 and hammer_pb2_grpc from `proto` as grpcio-tools does for any user."""
    out = tempfile.mkdtemp(prefix="hammer-grpc-trial-")
    os.makedirs(f"{out}/src/hammer/v1")
    shutil.copy(proto, f"{out}/src/hammer/v1/hammer.proto")
    googleapis = os.path.dirname(os.path.dirname(list(google.api.__path__)[0]))
    well_known = os.path.join(os.path.dirname(grpc_tools.__file__), "_proto")
    args = ["protoc", f"-I{out}/src", f"-I{googleapis}", f"-I{well_known}", f"--python_out={out}", f"--grpc_python_out={out}", "hammer/v1/hammer.proto"]
    if protoc.main(args) != 0:
        sys.exit(f"protoc failed on {proto}")
    sys.path.insert(0, out)
    return importlib.import_module("hammer.v1.hammer_pb2"), importlib.import_module("hammer.v1.hammer_pb2_grpc")


class Receiver(BaseHTTPRequestHandler):
    """Answers 200 to every webhook and keeps what arrived."""
    received = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        Receiver.received.append((dict(self.headers), body))
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


def expect_code(code, call, *args, **kwargs):
    try:
        call(*args, **kwargs)
    except grpc.RpcError as error:
        if error.code() != code:
            sys.exit(f"FAIL: expected {code}, got {error.code()}: {error.details()}")
        return error
    sys.exit(f"FAIL: expected {code}, the call succeeded")


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--proto", default=os.path.join(here, "..", "Tests", "Fixtures", "hammer-v0.9.1.proto"))
    parser.add_argument("--target", default="127.0.0.1:50051")
    parser.add_argument("--api-key", default="")
    options = parser.parse_args()
    pb, pb_grpc = generate(options.proto)

    receiver = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    hook = f"http://127.0.0.1:{receiver.server_address[1]}/hook"

    channel = grpc.insecure_channel(options.target)
    grpc.channel_ready_future(channel).result(timeout=30)
    hammer = pb_grpc.HammerStub(channel)
    auth = [("authorization", f"Bearer {options.api_key}")] if options.api_key else []
    steps = []

    def step(name):
        steps.append(name)
        print(f"ok  {name}")

    if options.api_key:
        expect_code(grpc.StatusCode.UNAUTHENTICATED, hammer.ListTopics, pb.ListTopicsRequest())
        step("a call without the API key is UNAUTHENTICATED")

    suffix = uuid.uuid4().hex[:8]
    topic_id, subscription_id = f"trial-{suffix}", f"trial-hook-{suffix}"
    topic = hammer.CreateTopic(pb.CreateTopicRequest(topic=pb.Topic(id=topic_id, name="Trial")), metadata=auth)
    assert topic.id == topic_id and topic.created_at.seconds > 0, topic
    assert hammer.GetTopic(pb.GetTopicRequest(id=topic_id), metadata=auth) == topic
    assert topic_id in [t.id for t in hammer.ListTopics(pb.ListTopicsRequest(limit=50), metadata=auth).topics]
    renamed = hammer.UpdateTopic(pb.UpdateTopicRequest(topic=pb.Topic(id=topic_id, name="Trial renamed")), metadata=auth)
    assert renamed.name == "Trial renamed", renamed
    step("topic created, read, listed, renamed")

    expect_code(grpc.StatusCode.ALREADY_EXISTS, hammer.CreateTopic, pb.CreateTopicRequest(topic=pb.Topic(id=topic_id, name="x")), metadata=auth)
    missing = expect_code(grpc.StatusCode.NOT_FOUND, hammer.GetTopic, pb.GetTopicRequest(id=f"missing-{suffix}"), metadata=auth)
    assert "does not exist" in missing.details(), missing.details()
    invalid = expect_code(grpc.StatusCode.INVALID_ARGUMENT, hammer.CreateTopic, pb.CreateTopicRequest(), metadata=auth)
    assert ("hammer-error", "invalid_topic") in invalid.trailing_metadata(), invalid.trailing_metadata()
    step("ALREADY_EXISTS, NOT_FOUND, INVALID_ARGUMENT (with hammer-error metadata)")

    subscription = hammer.CreateSubscription(
        pb.CreateSubscriptionRequest(
            subscription=pb.Subscription(
                id=subscription_id, topic_id=topic_id, name="Trial hook", url=hook,
                max_delivery_attempts=3, delivery_attempt_delay=1, delivery_attempt_timeout=5,
            )
        ),
        metadata=auth,
    )
    assert subscription.secret_token.startswith("whsec_"), subscription
    assert hammer.GetSubscription(pb.GetSubscriptionRequest(id=subscription_id), metadata=auth).url == hook
    listed = hammer.ListSubscriptions(pb.ListSubscriptionsRequest(limit=50), metadata=auth).subscriptions
    assert subscription_id in [s.id for s in listed]
    whole = pb.Subscription()
    whole.CopyFrom(subscription)
    whole.name = "Trial hook renamed"
    updated = hammer.UpdateSubscription(pb.UpdateSubscriptionRequest(subscription=whole), metadata=auth)
    assert updated.name == "Trial hook renamed" and updated.secret_token == subscription.secret_token, updated
    step("subscription created, read, listed, updated")

    data = json.dumps({"hello": "grpc", "n": 1})
    message = hammer.CreateMessage(
        pb.CreateMessageRequest(message=pb.Message(topic_id=topic_id, content_type="application/json", data=data)), metadata=auth
    )
    assert base64.b64decode(message.data).decode() == data, message
    assert hammer.GetMessage(pb.GetMessageRequest(id=message.id), metadata=auth) == message
    assert [m.id for m in hammer.ListMessages(pb.ListMessagesRequest(topic_id=topic_id), metadata=auth).messages] == [message.id]
    step("message published, read, listed")

    deadline = time.time() + 30
    while True:
        deliveries = hammer.ListDeliveries(pb.ListDeliveriesRequest(message_id=message.id), metadata=auth).deliveries
        if deliveries and deliveries[0].status == "completed":
            break
        if time.time() > deadline:
            sys.exit(f"FAIL: no completed delivery after 30 s: {deliveries}")
        time.sleep(0.1)
    delivery = deliveries[0]
    assert hammer.GetDelivery(pb.GetDeliveryRequest(id=delivery.id), metadata=auth) == delivery
    attempts = hammer.ListDeliveryAttempts(pb.ListDeliveryAttemptsRequest(delivery_id=delivery.id), metadata=auth).delivery_attempts
    assert len(attempts) == 1 and attempts[0].success and attempts[0].response_status_code == 200, attempts
    assert hammer.GetDeliveryAttempt(pb.GetDeliveryAttemptRequest(id=attempts[0].id), metadata=auth) == attempts[0]
    step("delivery completed; delivery and attempt read and listed")

    headers, body = Receiver.received[0]
    standardwebhooks.Webhook(subscription.secret_token).verify(body, {k.lower(): v for k, v in headers.items()})
    event = json.loads(body)
    assert base64.b64decode(event["data_base64"]).decode() == data, event
    step("the webhook arrived with a valid Standard Webhooks signature and the published data")

    hammer.DeleteMessage(pb.DeleteMessageRequest(id=message.id), metadata=auth)
    hammer.DeleteSubscription(pb.DeleteSubscriptionRequest(id=subscription_id), metadata=auth)
    hammer.DeleteTopic(pb.DeleteTopicRequest(id=topic_id), metadata=auth)
    expect_code(grpc.StatusCode.NOT_FOUND, hammer.GetSubscription, pb.GetSubscriptionRequest(id=subscription_id), metadata=auth)
    step("message, subscription and topic deleted")
    print(f"grpc-trial: {len(steps)} steps passed against {options.target} with a client generated from {os.path.relpath(options.proto)}")


if __name__ == "__main__":
    main()
