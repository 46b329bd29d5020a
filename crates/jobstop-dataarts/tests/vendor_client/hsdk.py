"""The Huawei Cloud Python SDK (huaweicloudsdkdgc + huaweicloudsdkcore,
pinned in crates/jobstop-testkit/python/vendor-clients.txt) against the
DataArts simulator.

Mode `client` (DA_MODE=client): the SDK's own DgcClient lists jobs, shows a
job, shows a real-time job's status, lists and shows instances, stops a job
and an instance, and meets an error. Every answer must be accepted, every
field of every answer must be one the SDK's model declares (recursively,
through `openapi_types` and `attribute_map`), and the models must read the
values the test expects. No SDK type-conversion warning is allowed.

Mode `resign` (DA_MODE=resign): re-signs the requests jobstop sent (a JSON
file written by the Rust test from the simulator's record of verified
requests) with the SDK's signer (huaweicloudsdkcore/signer/signer.py) and
compares the Authorization headers.

One JSON object per line on stdout; any failure exits non-zero.
"""

import json
import os
import re
import sys
import warnings
from urllib.parse import parse_qsl, urlsplit

from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkcore.exceptions.exceptions import ClientRequestException
from huaweicloudsdkcore.http.http_config import HttpConfig
from huaweicloudsdkcore.sdk_request import SdkRequest
from huaweicloudsdkcore.signer.signer import Signer
from huaweicloudsdkcore.warning.warning import SdkWarning
import huaweicloudsdkdgc.v1 as dgc
import huaweicloudsdkdgc.v1.model as models

# A value the SDK cannot convert to its declared type is a failure.
warnings.simplefilter("error", SdkWarning)


def emit(**fields):
    print(json.dumps(fields, sort_keys=True), flush=True)


def fail(message):
    emit(op="failure", message=message)
    sys.exit(1)


def check(cond, message):
    if not cond:
        fail(message)


def model_class(type_name):
    m = re.match(r"list\[(.*)\]", type_name)
    if m:
        type_name = m.group(1)
    return getattr(models, type_name, None)


def unknown_fields(data, klass, where):
    """Fields of `data` the SDK's model `klass` does not declare."""
    out = []
    if not isinstance(data, dict):
        return out
    by_json = {v: k for k, v in klass.attribute_map.items()}
    for key, value in data.items():
        attr = by_json.get(key)
        if attr is None:
            out.append(f"{where}.{key}")
            continue
        sub = model_class(klass.openapi_types[attr])
        if sub is None or not getattr(sub, "openapi_types", None):
            continue
        items = value if isinstance(value, list) else [value]
        for i, item in enumerate(items):
            out.extend(unknown_fields(item, sub, f"{where}.{key}[{i}]"))
    return out


def accepted(op, resp, klass, status=200):
    check(resp.status_code == status, f"{op}: status {resp.status_code}, expected {status}")
    raw = resp.raw_content or b""
    body = json.loads(raw) if raw else None
    if body is not None:
        extra = unknown_fields(body, klass, op)
        check(not extra, f"{op}: fields the SDK model does not declare: {extra}")
    return body


def client_mode():
    env = os.environ
    config = HttpConfig.get_default_config()
    config.ignore_ssl_verification = True
    config.timeout = (5, 20)
    creds = BasicCredentials(env["DA_AK"], env["DA_SK"], env["DA_PROJECT"])
    client = (
        dgc.DgcClient.new_builder()
        .with_http_config(config)
        .with_credentials(creds)
        .with_endpoint(env["DA_URL"])
        .build()
    )
    rt, batch = env["DA_RT_JOB"], env["DA_BATCH_JOB"]
    inst_job, inst_id = env["DA_INSTANCE"].split("/")

    # ListJobs: JobResult keeps jobType and status (real there).
    resp = client.list_jobs(dgc.ListJobsRequest(job_type="REAL_TIME", limit=100, offset=0))
    body = accepted("list_jobs", resp, models.ListJobsResponse)
    names = [j.name for j in resp.jobs]
    check(rt in names, f"list_jobs: {rt} not in {names}")
    check(all(j.job_type == "REAL_TIME" and j.status for j in resp.jobs), "list_jobs: jobType/status")
    check(all(isinstance(j.create_time, int) for j in resp.jobs), "list_jobs: createTime not int")
    emit(op="list_jobs", total=resp.total, names=names,
         statuses=[j.status for j in resp.jobs], raw_keys=sorted(body["jobs"][0].keys()))

    # ShowJob: processType, id, createTime; no status, no jobType.
    resp = client.show_job(dgc.ShowJobRequest(job_name=rt))
    body = accepted("show_job", resp, models.ShowJobResponse)
    check(resp.process_type == "REAL_TIME", f"show_job: processType {resp.process_type!r}")
    check(isinstance(resp.id, int), "show_job: id not int")
    check(isinstance(resp.create_time, int), "show_job: createTime not read as int")
    check("status" not in body and "jobType" not in body, "show_job: status/jobType present")
    emit(op="show_job", name=resp.name, process_type=resp.process_type, id=resp.id,
         create_time=resp.create_time, raw_create_time=body["createTime"],
         raw_keys=sorted(body.keys()))

    resp = client.show_job(dgc.ShowJobRequest(job_name=batch))
    accepted("show_job_batch", resp, models.ShowJobResponse)
    check(resp.process_type == "BATCH", f"show_job batch: processType {resp.process_type!r}")
    emit(op="show_job_batch", name=resp.name, process_type=resp.process_type)

    # ShowJobStatus: string times, `starttime`.
    resp = client.show_job_status(dgc.ShowJobStatusRequest(job_name=rt))
    body = accepted("show_job_status", resp, models.ShowJobStatusResponse)
    check(isinstance(body.get("starttime"), str), "show_job_status: starttime not a string")
    for key in ("endTime", "lastUpdateTime"):
        check(key not in body or isinstance(body[key], str), f"show_job_status: {key} not a string")
    check(resp.starttime == body["starttime"], "show_job_status: starttime not read")
    emit(op="show_job_status", name=resp.name, status=resp.status, starttime=resp.starttime,
         end_time=resp.end_time, last_update_time=resp.last_update_time,
         create_user=resp.create_user, raw_keys=sorted(body.keys()))

    # ListJobInstances inside a window (the SDK sends what it is given).
    resp = client.list_job_instances(dgc.ListJobInstancesRequest(
        limit=100, offset=0, min_plan_time=int(env["DA_MIN_PLAN"]),
        max_plan_time=int(env["DA_MAX_PLAN"])))
    body = accepted("list_job_instances", resp, models.ListJobInstancesResponse)
    ids = [f"{i.job_name}/{i.instance_id}" for i in resp.instances]
    check(env["DA_INSTANCE"] in ids, f"list_job_instances: {env['DA_INSTANCE']} not in {ids}")
    check(all(isinstance(i.instance_id, int) and isinstance(i.plan_time, int) for i in resp.instances),
          "list_job_instances: instanceId/planTime not int")
    emit(op="list_job_instances", total=resp.total, ids=ids,
         statuses=sorted({i.status for i in resp.instances}))

    # A range over 7 days is refused.
    try:
        client.list_job_instances(dgc.ListJobInstancesRequest(
            min_plan_time=int(env["DA_MAX_PLAN"]) - 8 * 86400000, max_plan_time=int(env["DA_MAX_PLAN"])))
        fail("list_job_instances over 8 days was accepted")
    except ClientRequestException as e:
        emit(op="list_window_error", status=e.status_code, error_code=e.error_code, error_msg=e.error_msg)

    resp = client.show_job_instance(dgc.ShowJobInstanceRequest(job_name=inst_job, instance_id=inst_id))
    accepted("show_job_instance", resp, models.ShowJobInstanceResponse)
    check(resp.instance_id == int(inst_id), "show_job_instance: instanceId")
    emit(op="show_job_instance", job_name=resp.job_name, instance_id=resp.instance_id,
         status=resp.status, nodes=len(resp.nodes or []))

    resp = client.stop_job_instance(dgc.StopJobInstanceRequest(job_name=inst_job, instance_id=inst_id))
    accepted("stop_job_instance", resp, models.StopJobInstanceResponse, status=204)
    emit(op="stop_job_instance", status=resp.status_code)

    resp = client.stop_job(dgc.StopJobRequest(job_name=rt))
    accepted("stop_job", resp, models.StopJobResponse, status=204)
    emit(op="stop_job", status=resp.status_code)

    # An error: a job that does not exist.
    try:
        client.show_job(dgc.ShowJobRequest(job_name="no_such_job"))
        fail("show_job of a missing job succeeded")
    except ClientRequestException as e:
        emit(op="error", status=e.status_code, error_code=e.error_code, error_msg=e.error_msg,
             request_id=e.request_id)


def resign_mode():
    env = os.environ
    with open(env["DA_SIGNED_FILE"], encoding="utf-8") as f:
        requests = json.load(f)
    check(requests, "resign: no requests to re-sign")
    creds = BasicCredentials(env["DA_AK"], env["DA_SK"], env["DA_PROJECT"])
    for n, r in enumerate(requests):
        headers = {k.lower(): v for k, v in r["headers"]}
        auth = headers["authorization"]
        m = re.match(r"SDK-HMAC-SHA256 Access=([^,]+), SignedHeaders=([^,]+), Signature=([0-9a-f]+)$", auth)
        check(m is not None, f"resign #{n}: unexpected Authorization {auth!r}")
        signed = m.group(2).split(";")
        target = urlsplit(r["target"])
        request = SdkRequest(
            method=r["method"],
            schema="http",
            host=headers["host"],
            resource_path=target.path,
            query_params=parse_qsl(target.query, keep_blank_values=True),
            header_params={h: headers[h] for h in signed},
            body=bytes(r["body"]),
        )
        Signer(creds).sign(request)
        theirs = request.header_params["Authorization"]
        same = theirs == auth
        emit(op="resign", index=n, method=r["method"], path=target.path,
             signed_headers=signed, match=same)
        check(same, f"resign #{n}: jobstop {auth!r} != SDK {theirs!r}")


if __name__ == "__main__":
    mode = os.environ.get("DA_MODE", "client")
    {"client": client_mode, "resign": resign_mode}.get(mode, lambda: fail(f"mode {mode}"))()
