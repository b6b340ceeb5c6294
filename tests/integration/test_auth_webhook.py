"""AUTH_WEBHOOK: a site not written in C++ says which tokens are good; answers are cached."""
import http.server
import json
import threading

import pytest

import seedcast_harness as H


class Site:
    """A stand-in for the operator's site: 'good-token' is alice, anything else is refused."""

    def __init__(self):
        self.hits = 0
        site = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                site.hits += 1
                if self.headers.get("Authorization") == "Bearer good-token":
                    body = json.dumps({"userId": "alice"}).encode()
                    self.send_response(200)
                else:
                    body = b'{"error":"no"}'
                    self.send_response(401)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *a):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/check"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()


@pytest.fixture
def site():
    s = Site()
    yield s
    s.close()


def test_webhook_decides_and_is_cached(library, server_factory, site):
    srv = server_factory(library.root, AUTH_WEBHOOK=site.url)
    with srv.running():
        assert srv.get("/").status == 401
        assert site.hits == 0, "no token: the site is not even asked"
        for _ in range(3):
            assert srv.get("/?token=good-token").status == 200
            assert srv.get("/", {"token": "good-token"}).status == 200
        assert site.hits == 1, f"a good answer is cached: {site.hits} round trips"
        r = srv.get("/?token=bad-token")
        assert r.status == 401 and "refused" in r.json()["error"]["message"]
        assert srv.get("/?token=bad-token").status == 401
        assert site.hits == 2, "a refusal is cached too (briefly)"


def test_webhook_down_refuses(library, server_factory, site):
    url = site.url
    site.close()
    srv = server_factory(library.root, AUTH_WEBHOOK=url)
    with srv.running():
        r = srv.get("/?token=good-token")
        assert r.status == 401, r.describe()
        assert "unavailable" in r.json()["error"]["message"]
