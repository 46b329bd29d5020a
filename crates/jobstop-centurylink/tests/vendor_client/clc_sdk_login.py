"""clc-sdk (the CenturyLink Cloud Python SDK, PyPI `clc-sdk`, pinned in
crates/jobstop-testkit/python/vendor-clients.txt) against the simulator.

The SDK logs in at `{clc.defaults.ENDPOINT_URL_V2}/v2/authentication/login`
(clc/APIv2/api.py `API._Login`, a JSON body; clc/APIv2/__init__.py
`get_session`, a form body), pointed here at the simulator's login server.
The bearer token it then holds is used on the Runner simulator: with
`requests`, and through the SDK's own `API.Call` (which sends the token it
holds to `{ENDPOINT_URL_V2}{path}` for an absolute path).

Environment: CLC_ENDPOINT_URL_V2 (the login server's root), CLC_USERNAME,
CLC_PASSWORD, RUNNER_BASE_URL. Prints one JSON object per line; exits
non-zero on any failure.
"""
import json
import os
import sys
import types

import clc
import requests


def out(**fields):
    print(json.dumps(fields), flush=True)


def fail(why):
    print("FAIL: " + why, file=sys.stderr, flush=True)
    sys.exit(1)


endpoint = os.environ["CLC_ENDPOINT_URL_V2"]
runner = os.environ["RUNNER_BASE_URL"]
username = os.environ["CLC_USERNAME"]
password = os.environ["CLC_PASSWORD"]
endpoints = types.SimpleNamespace(ENDPOINT_URL_V2=endpoint)

# 1. The global login (API._Login: JSON body, reads bearerToken,
#    accountAlias, locationAlias).
clc.defaults.ENDPOINT_URL_V2 = endpoint
clc.v2.SetCredentials(username, password)
clc.v2.API._Login()
token = clc._LOGIN_TOKEN_V2
alias = clc.ALIAS
if not token or not alias or not clc.LOCATION:
    fail("the SDK did not read a token, an alias and a location")
out(step="login", alias=alias, location=clc.LOCATION, token=token)

# 2. get_session (form body), which returns its own token.
session = clc.v2.get_session(username, password, default_endpoints=endpoints)
out(step="get_session", alias=session["alias"], location=session["location"],
    token=session["token"])

# 3. A wrong password: the SDK raises with the service's message.
try:
    clc.v2.get_session(username, "wrong-" + password, default_endpoints=endpoints)
    fail("a wrong password logged in")
except Exception as e:  # the SDK raises a bare Exception here
    out(step="bad_password", error=str(e))

# 4. The SDK's token on the Runner, with requests.
bearer = {"Authorization": "Bearer " + token}
r = requests.get("%s/jobs/%s" % (runner, alias), params={"page": 0, "size": 100},
                 headers=bearer, timeout=30)
if r.status_code != 200:
    fail("list jobs answered %s: %s" % (r.status_code, r.text))
jobs = r.json()
out(step="list_jobs", status=r.status_code, total=jobs["totalSize"],
    ids=[j["id"] for j in jobs["results"]])
job = jobs["results"][0]["id"]
r = requests.get("%s/jobs/%s/%s/executions" % (runner, alias, job), headers=bearer, timeout=30)
if r.status_code != 200:
    fail("list executions answered %s: %s" % (r.status_code, r.text))
execs = r.json()["results"]
out(step="list_executions", job=job,
    executions=[[e["execution_id"], e["status"]] for e in execs])
r = requests.get("%s/jobs/%s/%s/executions" % (runner, alias, job),
                 headers={"Authorization": "Bearer " + session["token"]}, timeout=30)
out(step="session_token", status=r.status_code)
r = requests.get("%s/jobs/%s" % (runner, alias),
                 headers={"Authorization": "Bearer not-a-token"}, timeout=30)
out(step="wrong_token", status=r.status_code, body=r.json())

# 5. The SDK's own call machinery, aimed at the Runner with the token it holds.
clc.defaults.ENDPOINT_URL_V2 = runner
listed = clc.v2.API.Call("GET", "/jobs/%s" % alias, {"page": 0, "size": 100})
out(step="sdk_call_list_jobs", total=listed["totalSize"],
    ids=[j["id"] for j in listed["results"]])
try:
    clc.v2.API.Call("GET", "/jobs/%s/no-such-job" % alias)
    fail("an unknown job was found")
except clc.APIFailedResponse as e:
    out(step="sdk_call_404", status=e.response_status_code,
        message=e.response_json.get("message"))
out(step="done")
