"""A stand-in for Stripe's API during the API checks: answers the calls the gateway makes (key
check, Checkout Sessions, refunds, event and PaymentIntent lists) with minimal valid objects, so the
gateway's answers under test never depend on reaching the real Stripe.
Usage: python3 stripe_stub.py PORT"""
import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs


class Stub(BaseHTTPRequestHandler):
    def answer(self, body):
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        path = self.path.split("?")[0]
        if path == "/v1/balance":
            live = "_live_" in self.headers.get("Authorization", "")
            self.answer({"object": "balance", "available": [], "pending": [], "livemode": live})
        else:
            self.answer({"object": "list", "data": [], "has_more": False, "url": path})

    def do_POST(self):
        form = parse_qs(self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode())
        if self.path.split("?")[0] == "/v1/refunds":
            self.answer({"id": "re_test_stub", "object": "refund", "amount": int(form["amount"][0]),
                         "currency": "usd", "payment_intent": form["payment_intent"][0],
                         "status": "succeeded"})
            return
        self.answer({"id": "cs_test_stub", "object": "checkout.session",
                     "url": "https://checkout.stripe.com/c/pay/cs_test_stub", "livemode": False})

    def log_message(self, *args):
        pass


ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Stub).serve_forever()
