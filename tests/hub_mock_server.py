#!/usr/bin/env python3
"""hub_mock_server.py -- a small stand-in for the Hugging Face hub, for milrun's hub tests.

Serves repositories from local folders on 127.0.0.1 (port 0: the OS picks; the first stdout
line is "PORT <n>"), with the endpoints milrun uses:
  GET  /api/models/ORG/NAME/revision/REV            {"id", "sha", "siblings"}
  GET  /api/models/ORG/NAME/tree/REV?recursive=true  entries, paged with Link: rel="next"
  HEAD/GET /ORG/NAME/resolve/REV/PATH               regular files: 200 + ETag (git sha1);
                                                    LFS files: 302 to /cdn/<sha256> (absolute)
                                                    with X-Linked-Etag / X-Linked-Size
  GET  /cdn/SHA256                                  the LFS body, with Range support
Every answer carries X-Repo-Commit where the hub sends it. Scripted faults:
  --alias OLD/NAME=ORG/NAME   resolve requests of OLD/NAME get a relative 307 to ORG/NAME
  --cut PATH:N                the first body of PATH is cut after N bytes (connection closed)
  --corrupt PATH              every body of PATH has one byte flipped (same length)
  --missing PATH              PATH is listed by the tree API but its resolve URL answers 404
  --status ORG/NAME=CODE      401, 404 or "gated" for every request about that repository
  --private ORG/NAME=TOKEN    401 unless "Authorization: Bearer TOKEN" is sent
  --page-size N               tree API page size (default 1000)
  --fault KIND                a malformed answer: badjson, nosha (revision API), notarray,
                              notype, unsafepath (tree API), noetag, badetag, wrongsize (resolve),
                              status500 (every API call)
  --no-range                  ignore Range headers (answer 200 with the whole body)
  --log FILE                  append "METHOD PATH RANGE" for each request
A file is LFS when it is 1024 bytes or more, or ends in .bin or .zip. The server exits when its
parent process goes away, or after 10 minutes.
Python 3 standard library only.
"""
import argparse
import hashlib
import json
import os
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Repo:
    def __init__(self, name, dirs):
        self.name = name
        self.files = {}
        for d in dirs:
            for root, _, names in os.walk(d):
                for n in names:
                    full = os.path.join(root, n)
                    rel = os.path.relpath(full, d).replace(os.sep, "/")
                    with open(full, "rb") as f:
                        self.files[rel] = f.read()
        self.oid = {p: hashlib.sha1(b"blob %d\0" % len(b) + b).hexdigest() for p, b in self.files.items()}
        self.sha = {p: hashlib.sha256(b).hexdigest() for p, b in self.files.items()}
        h = hashlib.sha1()
        for p in sorted(self.files):
            h.update((p + self.oid[p]).encode())
        self.commit = h.hexdigest()

    def lfs(self, path):
        return len(self.files[path]) >= 1024 or path.endswith((".bin", ".zip"))

    def entries(self):
        dirs = set()
        for p in self.files:
            parts = p.split("/")[:-1]
            for i in range(1, len(parts) + 1):
                dirs.add("/".join(parts[:i]))
        out = [{"type": "directory", "oid": hashlib.sha1(d.encode()).hexdigest(), "size": 0, "path": d}
               for d in dirs]
        for p in self.files:
            e = {"type": "file", "oid": self.oid[p], "size": len(self.files[p]), "path": p}
            if self.lfs(p):
                e["lfs"] = {"oid": self.sha[p], "size": len(self.files[p]), "pointerSize": 134}
            out.append(e)
        return sorted(out, key=lambda e: e["path"])


class State:
    repos = {}
    aliases = {}
    cuts = {}
    corrupt = set()
    missing = set()
    status = {}
    private = {}
    page_size = 1000
    fault = None
    no_range = False
    log = None
    lock = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def record(self):
        if State.log:
            with State.lock, open(State.log, "a") as f:
                f.write("%s %s %s\n" % (self.command, self.path, self.headers.get("Range", "-")))

    def send(self, code, body=b"", headers=None, ctype="application/json"):
        self.send_response(code)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def error(self, code, xcode, msg):
        self.send(code, json.dumps({"error": msg}).encode(), {"X-Error-Code": xcode, "X-Error-Message": msg})

    def access(self, name):
        """None when allowed, else the error already sent."""
        st = State.status.get(name)
        if st == "gated":
            return self.error(403, "GatedRepo", "Access to model %s is restricted." % name) or True
        if st == "401" or (name in State.private and
                           self.headers.get("Authorization") != "Bearer " + State.private[name]):
            return self.error(401, "RepoNotFound", "Repository Not Found for url") or True
        if st == "404" or name not in State.repos:
            return self.error(404, "RepoNotFound", "Repository Not Found") or True
        return None

    def revision(self, repo, rev):
        if rev in ("main", repo.commit):
            return True
        self.error(404, "RevisionNotFound", "Invalid rev id: " + rev)
        return False

    def do_HEAD(self):
        self.do_GET()

    def do_GET(self):
        self.record()
        url = urllib.parse.urlsplit(self.path)
        parts = [urllib.parse.unquote(p) for p in url.path.split("/")[1:]]
        try:
            if parts[:2] == ["api", "models"] and len(parts) >= 6:
                return self.api(parts[2] + "/" + parts[3], parts[4], parts[5], "/".join(parts[6:]),
                                urllib.parse.parse_qs(url.query))
            if parts[0] == "cdn" and len(parts) == 2:
                return self.cdn(parts[1])
            if len(parts) >= 5 and parts[2] == "resolve":
                return self.resolve(parts[0] + "/" + parts[1], parts[3], "/".join(parts[4:]))
        except (BrokenPipeError, ConnectionResetError):
            return
        self.error(404, "NotFound", "no such endpoint")

    def api(self, name, kind, rev, path, query):
        if name in State.aliases:  # a renamed repository: the hub answers with a relative redirect
            tail = self.path.split("/", 5)[5]
            return self.send(307, b"", {"Location": "/api/models/%s/%s" % (State.aliases[name], tail)})
        if self.access(name):
            return
        repo = State.repos[name]
        if not self.revision(repo, rev):
            return
        if State.fault == "status500":
            return self.send(500, b"{}", {"X-Error-Message": "Internal Error"})
        if kind == "revision":
            body = {"id": name, "sha": repo.commit, "siblings": [{"rfilename": p} for p in sorted(repo.files)]}
            if State.fault == "badjson":
                return self.send(200, b"{not json")
            if State.fault == "nosha":
                del body["sha"]
            return self.send(200, json.dumps(body).encode())
        if kind != "tree":
            return self.error(404, "NotFound", "no such endpoint")
        entries = [e for e in repo.entries() if not path or e["path"].startswith(path + "/")]
        if State.fault == "notarray":
            return self.send(200, b'{"entries": []}')
        if State.fault == "notype":
            entries = [{"path": "config.json", "size": 1}]
        if State.fault == "unsafepath":
            entries = [{"type": "file", "path": "../evil", "size": 1, "oid": "0" * 40}]
        start = int(query.get("cursor", ["0"])[0])
        page = entries[start:start + State.page_size]
        headers = {}
        if start + State.page_size < len(entries):
            nxt = "http://127.0.0.1:%d/api/models/%s/tree/%s%s?recursive=true&cursor=%d" % (
                self.server.server_address[1], name, rev, "/" + path if path else "", start + State.page_size)
            headers["Link"] = '<%s>; rel="next"' % nxt
        self.send(200, json.dumps(page).encode(), headers)

    def resolve(self, name, rev, path):
        if name in State.aliases:
            loc = "/%s/resolve/%s/%s" % (State.aliases[name], rev, urllib.parse.quote(path))
            return self.send(307, b"", {"Location": loc})
        if self.access(name):
            return
        repo = State.repos[name]
        if not self.revision(repo, rev):
            return
        if path not in repo.files or path in State.missing:
            return self.error(404, "EntryNotFound", "Entry not found")
        common = {"X-Repo-Commit": repo.commit}
        if repo.lfs(path):
            common.update({"ETag": '"%s"' % repo.oid[path], "X-Linked-Etag": '"%s"' % repo.sha[path],
                           "X-Linked-Size": str(len(repo.files[path])),
                           "Location": "http://127.0.0.1:%d/cdn/%s" % (self.server.server_address[1],
                                                                        repo.sha[path])})
            if State.fault == "wrongsize":
                common["X-Linked-Size"] = str(len(repo.files[path]) + 10)
            self.fault_etag(common)
            return self.send(302, b"", common)
        common["ETag"] = '"%s"' % repo.oid[path]
        self.fault_etag(common)
        self.body(path, repo.files[path], common)

    def fault_etag(self, headers):
        if State.fault == "noetag":
            headers.pop("ETag", None)
            headers.pop("X-Linked-Etag", None)
        if State.fault == "badetag":
            headers["ETag"] = headers["X-Linked-Etag"] = '"a/b"'

    def cdn(self, sha):
        for repo in State.repos.values():
            for p, s in repo.sha.items():
                if s == sha:
                    return self.body(p, repo.files[p], {"ETag": '"%s"' % sha})
        self.error(404, "NotFound", "no such blob")

    def body(self, path, data, headers):
        if path in State.corrupt:
            i = len(data) // 2
            data = data[:i] + bytes([data[i] ^ 0xFF]) + data[i + 1:]
        start, code = 0, 200
        rng = self.headers.get("Range")
        if rng and not State.no_range and rng.startswith("bytes=") and rng.endswith("-"):
            start = int(rng[6:-1])
            if start >= len(data):
                self.send_response(416)
                self.send_header("Content-Range", "bytes */%d" % len(data))
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            code = 206
            headers = dict(headers, **{"Content-Range": "bytes %d-%d/%d" % (start, len(data) - 1, len(data))})
        part = data[start:]
        self.send_response(code)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Content-Length", str(len(part)))
        self.end_headers()
        if self.command == "HEAD":
            return
        with State.lock:
            cut = State.cuts.pop(path, None)
        if cut is not None:
            self.wfile.write(part[:cut])
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(part)


def watch_parent(ppid):
    deadline = time.time() + 600
    while os.getppid() == ppid and time.time() < deadline:
        time.sleep(0.2)
    os._exit(0)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repo", action="append", default=[])
    ap.add_argument("--alias", action="append", default=[])
    ap.add_argument("--cut", action="append", default=[])
    ap.add_argument("--corrupt", action="append", default=[])
    ap.add_argument("--missing", action="append", default=[])
    ap.add_argument("--status", action="append", default=[])
    ap.add_argument("--private", action="append", default=[])
    ap.add_argument("--page-size", type=int, default=1000)
    ap.add_argument("--no-range", action="store_true")
    ap.add_argument("--fault")
    ap.add_argument("--log")
    a = ap.parse_args()
    for r in a.repo:
        name, dirs = r.split("=", 1)
        State.repos[name] = Repo(name, dirs.split(","))
    State.aliases = dict(x.split("=", 1) for x in a.alias)
    State.cuts = {p: int(n) for p, n in (x.rsplit(":", 1) for x in a.cut)}
    State.corrupt = set(a.corrupt)
    State.missing = set(a.missing)
    State.status = dict(x.split("=", 1) for x in a.status)
    State.private = dict(x.split("=", 1) for x in a.private)
    State.page_size = a.page_size
    State.no_range = a.no_range
    State.fault = a.fault
    State.log = a.log
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    threading.Thread(target=watch_parent, args=(os.getppid(),), daemon=True).start()
    print("PORT %d" % srv.server_address[1], flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    main()
