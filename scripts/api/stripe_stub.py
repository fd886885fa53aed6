"""A stand-in for Stripe's API during the API checks: answers the calls the gateway makes (key
check, Checkout Sessions, refunds, event and PaymentIntent lists) with minimal valid objects, so the
gateway's answers under test never depend on reaching the real Stripe. PaymentIntents created
here (`POST /v1/payment_intents`, as a card reader or Stripe.js would) keep their state, and
`capture`, `increment_authorization` and `cancel` answer as Stripe does: only from
`requires_capture`, amounts checked, Stripe's error shapes, an idempotency key replaying its
first answer and refusing other parameters.
Usage: python3 stripe_stub.py PORT"""
import json
import re
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl

LOCK = threading.Lock()
INTENTS = {}
KEYS = {}
ACTION = re.compile(r"^/v1/payment_intents/([^/]+)/(capture|increment_authorization|cancel)$")


def error(status, code, message, kind="invalid_request_error"):
    body = {"type": kind, "message": message}
    if code:
        body["code"] = code
    return status, {"error": body}


def create_intent(form):
    pi = {"id": f"pi_stub{len(INTENTS) + 1:06d}", "object": "payment_intent", "amount": int(form["amount"]),
          "amount_capturable": 0, "amount_received": 0, "currency": form.get("currency", "usd").lower(),
          "capture_method": form.get("capture_method", "automatic"), "created": int(time.time()),
          "livemode": False, "status": "requires_payment_method", "latest_charge": None,
          "metadata": {k[9:-1]: v for k, v in form.items() if k.startswith("metadata[")}}
    if form.get("confirm") == "true":
        if pi["capture_method"] == "manual":
            pi.update(status="requires_capture", amount_capturable=pi["amount"])
        else:
            pi.update(status="succeeded", amount_received=pi["amount"])
        pi["latest_charge"] = "ch_" + pi["id"][3:]
    INTENTS[pi["id"]] = pi
    return 200, pi


def act(pi_id, action, form):
    pi = INTENTS.get(pi_id)
    if pi is None:
        return error(404, "resource_missing", f"No such payment_intent: '{pi_id}'")
    if pi["status"] != "requires_capture" and action != "cancel":
        verb = "captured" if action == "capture" else "incremented"
        return error(400, "payment_intent_unexpected_state",
                     f"This PaymentIntent could not be {verb} because it has a status of {pi['status']}. "
                     f"Only a PaymentIntent with one of the following statuses may be {verb}: requires_capture.")
    if action == "capture":
        amount = int(form.get("amount_to_capture", pi["amount_capturable"]))
        if amount > pi["amount_capturable"]:
            return error(400, "amount_too_large", f"The amount to capture ({amount}) must be less than or "
                         f"equal to the amount capturable ({pi['amount_capturable']}).")
        pi["metadata"].update({k[9:-1]: v for k, v in form.items() if k.startswith("metadata[")})
        pi.update(status="succeeded", amount_received=amount, amount_capturable=0)
    elif action == "increment_authorization":
        return error(400, "incremental_authorization_not_available",
                     "This PaymentIntent is not eligible for incremental authorization.")
    else:
        if pi["status"] in ("succeeded", "canceled"):
            return error(400, "payment_intent_unexpected_state",
                         f"You cannot cancel this PaymentIntent because it has a status of {pi['status']}.")
        pi.update(status="canceled", amount_capturable=0)
    return 200, pi


class Stub(BaseHTTPRequestHandler):
    def answer(self, body, status=200):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        path = self.path.split("?")[0]
        if path == "/v1/balance":
            live = "_live_" in self.headers.get("Authorization", "")
            self.answer({"object": "balance", "available": [], "pending": [], "livemode": live})
        elif path.startswith("/v1/payment_intents/"):
            with LOCK:
                pi = INTENTS.get(path.rsplit("/", 1)[1])
            if pi:
                self.answer(pi)
            else:
                status, body = error(404, "resource_missing", "No such payment_intent")
                self.answer(body, status)
        else:
            self.answer({"object": "list", "data": [], "has_more": False, "url": path})

    def do_POST(self):
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
        form = dict(parse_qsl(raw))
        path = self.path.split("?")[0]
        if path == "/v1/refunds":
            self.answer({"id": "re_test_stub", "object": "refund", "amount": int(form["amount"]),
                         "currency": "usd", "payment_intent": form["payment_intent"],
                         "status": "succeeded"})
            return
        if path == "/v1/payment_intents" or ACTION.match(path):
            key = self.headers.get("Idempotency-Key")
            params = sorted(form.items())
            with LOCK:
                if key and (path, key) in KEYS:
                    first, status, body = KEYS[(path, key)]
                    if first != params:
                        status, body = error(400, None, "Keys for idempotent requests can only be used with "
                                             "the same parameters they were first used with.", "idempotency_error")
                else:
                    m = ACTION.match(path)
                    status, body = act(m.group(1), m.group(2), form) if m else create_intent(form)
                    body = json.loads(json.dumps(body))
                    if key:
                        KEYS[(path, key)] = (params, status, body)
            self.answer(body, status)
            return
        self.answer({"id": "cs_test_stub", "object": "checkout.session",
                     "url": "https://checkout.stripe.com/c/pay/cs_test_stub", "livemode": False})

    def log_message(self, *args):
        pass


ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Stub).serve_forever()
