"""ModelScope's file list and file reads on the local Hub stand-in (tests.fakes.fake_hub), same repos.

As ModelScope's own client uses them (modelscope/hub/api.py, file_download.py):
`GET /api/v1/models/{owner}/{name}/repo/files?Revision=&Recursive=` answers
`{"Code": 200, "Data": {"Files": [{"Name", "Path", "Type": "blob", "Size",
"Sha256"}]}, "Success": true}`, and `GET /api/v1/models/{owner}/{name}/repo
?Revision=&FilePath=` serves the file (ranged reads as the Hub's resolve).
"""

from __future__ import annotations

import json
import re
from typing import Any

PREFIX = "/api/v1/models/"
_FILES = re.compile(r"^/api/v1/models/(?P<repo>[^/]+/[^/]+)/repo/files$")
_FILE = re.compile(r"^/api/v1/models/(?P<repo>[^/]+/[^/]+)/repo$")


def route(handler: Any, method: str, path: str, query: dict[str, list[str]]) -> None:
    """Answer a ModelScope request on `handler` (tests.fakes.fake_hub._Handler)."""
    hub = handler.hub
    m = _FILES.match(path) or _FILE.match(path)
    repo = hub.repos.get(m["repo"]) if m else None
    if repo is None:
        body = json.dumps({"Code": 10010205001, "Message": "model not found", "Success": False}).encode()
        handler.send_response(404)
        handler.send_json_headers(len(body))
        handler.wfile.write(body)
        return
    if path.endswith("/files"):
        files = [{"Name": p.rsplit("/", 1)[-1], "Path": p, "Type": "blob", "Size": repo.sibling(p)["size"],
                  "Sha256": repo.sibling(p).get("lfs", {}).get("sha256")} for p in sorted(repo.files)]
        body = json.dumps({"Code": 200, "Data": {"Files": files}, "Success": True}).encode()
        handler.send_response(200)
        handler.send_json_headers(len(body))
        handler.wfile.write(body)
        return
    file_path = (query.get("FilePath") or [""])[0]
    local = repo.files.get(file_path)
    if local is None:
        handler.error(404, "", f"{file_path} does not exist")
        return
    handler.send_file(method, repo, file_path, local)
