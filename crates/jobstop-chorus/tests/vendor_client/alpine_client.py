"""Chorus's official Python client (`alpine` 1.0.14 on PyPI, "Alpine Web API
Client") against the jobstop Chorus simulator.

Run by `tests/vendor_client.rs`, which starts the simulator and passes:
  JOBSTOP_CHORUS_BASE_URL      the server root, http://127.0.0.1:PORT
  JOBSTOP_CHORUS_USERNAME      the user
  JOBSTOP_CHORUS_PASSWORD      its password
  JOBSTOP_CHORUS_WORKSPACE_ID  the workspace to list
  ALPINE_PER_PAGE              the client's page size (small, to page)
  ALPINE_WORKFILE_ID           a workflow to read

It prints one JSON object per line with what the client read, and exits
non-zero on any failure (an uncaught exception, or a check below). It never
prints the password or the session id.
"""

import json
import os
import sys
from urllib.parse import urlparse, parse_qsl

import requests

import alpine
from alpine.exception import WorkfileNotFoundException


def emit(**fields):
    print(json.dumps(fields, sort_keys=True), flush=True)


def fail(message):
    print("FAILED: " + message, file=sys.stderr, flush=True)
    sys.exit(1)


# Record every request the client sends (method, path, query keys, and the
# JSON body of GETs, where `get_list` puts its paging), without secrets.
SENT = []
_request = requests.Session.request


def recording_request(self, method, url, *args, **kwargs):
    parsed = urlparse(url)
    query = dict(parse_qsl(parsed.query, keep_blank_values=True))
    entry = {
        "method": method.upper(),
        "path": parsed.path,
        "query_keys": sorted(query),
        "session_id_null": query.get("session_id") == "NULL",
    }
    data = kwargs.get("data")
    if method.upper() == "GET" and isinstance(data, str):
        entry["json_body"] = json.loads(data)
    SENT.append(entry)
    response = _request(self, method, url, *args, **kwargs)
    entry["status"] = response.status_code
    return response


requests.Session.request = recording_request

base = urlparse(os.environ["JOBSTOP_CHORUS_BASE_URL"])
workspace_id = int(os.environ["JOBSTOP_CHORUS_WORKSPACE_ID"])
per_page = int(os.environ["ALPINE_PER_PAGE"])
workfile_id = int(os.environ["ALPINE_WORKFILE_ID"])

# Logs in at construction: POST /api/sessions?session_id=NULL with a form.
client = alpine.APIClient(
    base.hostname,
    base.port,
    os.environ["JOBSTOP_CHORUS_USERNAME"],
    os.environ["JOBSTOP_CHORUS_PASSWORD"],
)
token = client.token or ""
emit(
    login={
        "user_id": client.user_id,
        "token_is_40_hex": len(token) == 40
        and all(c in "0123456789abcdef" for c in token),
    }
)

# Every page of the workspace's workfiles, until pagination.total == page.
files = client.workfile.get_list(workspace_id, per_page=per_page)
emit(
    listed=[
        {
            "id": f["id"],
            "file_name": f["file_name"],
            "file_type": f["file_type"],
            "status": f["status"],
            "workspace_id": f["workspace"]["id"],
        }
        for f in files
    ]
)

# One workfile.
answer = client.workfile.get(workfile_id)
wf = answer["response"]
emit(
    read={
        "id": wf["id"],
        "file_name": wf["file_name"],
        "file_type": wf["file_type"],
        "status": wf["status"],
        "workspace_id": wf["workspace"]["id"],
        "keys": sorted(wf),
    }
)

# The client's name lookup goes through the listing again.
found = client.workfile.get_id(wf["file_name"], workspace_id)
if found != workfile_id:
    fail("get_id found {0}, not {1}".format(found, workfile_id))
emit(get_id=found)

# An unknown workfile: the client turns the 404 into its exception.
try:
    client.workfile.get(999999999)
    fail("an unknown workfile was found")
except WorkfileNotFoundException:
    emit(not_found=True)

# Log out: DELETE /api/sessions?session_id=…, answered 200.
response = client.logout()
emit(logout=response.status_code)

emit(requests=SENT)
