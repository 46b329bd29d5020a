//! The vendor's own code against the simulator and the adapter: the Huawei
//! Cloud Python SDK (`huaweicloudsdkdgc` and `huaweicloudsdkcore`, pinned in
//! `crates/jobstop-testkit/python/vendor-clients.txt`) runs
//! `tests/vendor_client/hsdk.py`. These tests fail, never skip, when Python
//! or the SDK is missing.

use std::collections::BTreeMap;
use std::path::PathBuf;

use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use jobstop_core::{ErrorKind, JobController, JobControllerExt, ListQuery, RunId, StopRequest};
use jobstop_dataarts::DataArtsBuilder;
use jobstop_sim::AnySim;
use jobstop_sim::dataarts::{DataArtsSim, JobType};
use jobstop_testkit::python::run_vendor_script;
use serde_json::{Value, json};

fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/vendor_client/hsdk.py")
}

fn ms(t: &str) -> i64 {
    t.parse::<DateTime<Utc>>()
        .expect("a test time")
        .timestamp_millis()
}

fn base_env(sim: &DataArtsSim, mode: &str) -> Vec<(String, String)> {
    [
        ("DA_MODE", mode.to_owned()),
        ("DA_URL", sim.base_url()),
        ("DA_AK", sim.ak().to_owned()),
        ("DA_SK", sim.sk().to_owned()),
        ("DA_PROJECT", sim.project_id().to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

/// The script's JSON lines by `op` (the last of each).
fn by_op(lines: Vec<Value>) -> BTreeMap<String, Value> {
    lines
        .into_iter()
        .filter_map(|l| Some((l.get("op")?.as_str()?.to_owned(), l)))
        .collect()
}

#[tokio::test]
async fn huawei_sdk_accepts_every_answer_and_reads_the_fields() {
    let sim = DataArtsSim::builder()
        .seeded_epoch()
        .seed(31)
        .realtime_jobs(1, 0)
        .batch_jobs(2)
        .instances(12)
        .running_instances(2)
        .start()
        .await
        .expect("simulator");
    let rt = sim.job_names(JobType::RealTime)[0].clone();
    let batch = sim.job_names(JobType::Batch)[0].clone();
    let instance = sim.instance_ids(Some("running"))[0].clone();
    // The default epoch is 2024-06-19T04:00:00Z; the window ends after it.
    let max = ms("2024-06-19T06:00:00Z");
    let mut env = base_env(&sim, "client");
    env.extend(
        [
            ("DA_RT_JOB", rt.clone()),
            ("DA_BATCH_JOB", batch.clone()),
            ("DA_INSTANCE", instance.clone()),
            ("DA_MIN_PLAN", (max - 6 * 86_400_000).to_string()),
            ("DA_MAX_PLAN", max.to_string()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v)),
    );
    let out = run_vendor_script(&script(), &env).await;
    let ops = by_op(out.json_lines());
    for op in [
        "list_jobs",
        "show_job",
        "show_job_batch",
        "show_job_status",
        "list_job_instances",
        "list_window_error",
        "show_job_instance",
        "stop_job_instance",
        "stop_job",
        "error",
    ] {
        assert!(ops.contains_key(op), "no {op} in {}", out.stdout);
    }
    assert!(!ops.contains_key("failure"), "{}", out.stdout);
    // The job detail the SDK read: processType, an int createTime; no status.
    let show = &ops["show_job"];
    assert_eq!(show["process_type"], "REAL_TIME");
    assert!(show["create_time"].is_i64());
    let keys: Vec<&str> = show["raw_keys"]
        .as_array()
        .expect("keys")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(!keys.contains(&"status") && !keys.contains(&"jobType"));
    assert_eq!(ops["show_job_batch"]["process_type"], "BATCH");
    // The status: `starttime`, a string of epoch ms.
    let st = &ops["show_job_status"];
    assert_eq!(st["status"], "NORMAL");
    let start: i64 = st["starttime"]
        .as_str()
        .expect("starttime is a string")
        .parse()
        .expect("epoch ms");
    assert!(start > 0);
    // The list the SDK read, filtered by a window; over 7 days: DLF.3051.
    let listed: Vec<&str> = ops["list_job_instances"]["ids"]
        .as_array()
        .expect("ids")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(listed.contains(&instance.as_str()));
    assert_eq!(
        (
            &ops["list_window_error"]["status"],
            &ops["list_window_error"]["error_code"]
        ),
        (&json!(400), &json!("DLF.3051"))
    );
    assert_eq!(ops["stop_job_instance"]["status"], 204);
    assert_eq!(ops["stop_job"]["status"], 204);
    assert_eq!(
        (&ops["error"]["status"], &ops["error"]["error_code"]),
        (&json!(400), &json!("DLF.0100"))
    );
    // What the SDK did happened.
    let (job, id) = instance.split_once('/').expect("job/id");
    let d = sim
        .instance_json(job, id.parse().expect("id"))
        .expect("instance");
    assert_eq!(d["status"], "manual-stop");
    assert!(matches!(
        sim.raw_state(&rt).as_deref(),
        Some("STOPPING" | "STOPPED")
    ));
    // Every SDK request was signed right, with X-Project-Id signed too.
    assert_eq!(sim.signature_failures(), 0);
    let signed = sim.signed_requests();
    assert!(signed.len() >= 10, "{} signed requests", signed.len());
    for r in &signed {
        let auth = r
            .headers
            .iter()
            .find(|(k, _)| k == "authorization")
            .map(|(_, v)| v.as_str())
            .unwrap_or_default();
        assert!(auth.contains("x-project-id"), "{auth}");
    }
}

#[tokio::test]
async fn huawei_sdk_signer_agrees_with_every_jobstop_signature() {
    let sim = DataArtsSim::builder()
        .seed(32)
        .workspace("ws-7")
        .realtime_jobs(1, 1)
        .batch_jobs(2)
        .instances(20)
        .running_instances(2)
        .start()
        .await
        .expect("simulator");
    let vars = sim.env();
    let ctrl =
        DataArtsBuilder::from_lookup(|k| vars.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()))
            .build()
            .expect("controller");
    // Listing (with and without a time window), status of each kind of run,
    // a stop, and ids that need escaping.
    let all: Vec<_> = ctrl
        .list_all(ListQuery::new().with_page_size(3))
        .try_collect()
        .await
        .expect("list");
    assert!(!all.is_empty());
    let from = "2024-06-15T00:00:00Z".parse().expect("time");
    let _: Vec<_> = ctrl
        .list_all(
            ListQuery::new()
                .with_kind("batch_instance")
                .with_created_after(from),
        )
        .try_collect()
        .await
        .expect("list");
    ctrl.status(&RunId::new(sim.job_names(JobType::RealTime)[0].clone()))
        .await
        .expect("real-time status");
    ctrl.status(&RunId::new(sim.job_names(JobType::Batch)[0].clone()))
        .await
        .expect("batch status");
    let running = RunId::new(sim.instance_ids(Some("running"))[0].clone());
    ctrl.stop(&running, &StopRequest::graceful())
        .await
        .expect("stop");
    for odd in ["a b+c", "作业_1", "x%y~z", "semi;colon=1&2"] {
        let err = ctrl
            .status(&RunId::new(odd))
            .await
            .expect_err("no such job");
        assert_eq!(err.kind(), ErrorKind::NotFound, "{odd}");
    }
    let signed = sim.signed_requests();
    assert_eq!(sim.signature_failures(), 0);
    assert!(signed.len() >= 12, "{} signed requests", signed.len());
    let file = std::env::temp_dir().join(format!(
        "jobstop-dataarts-signed-{}-{}.json",
        std::process::id(),
        sim.project_id()
    ));
    let requests: Vec<Value> = signed
        .iter()
        .map(|r| {
            json!({
                "method": r.method,
                "target": r.target,
                "headers": r.headers,
                "body": r.body,
            })
        })
        .collect();
    std::fs::write(&file, serde_json::to_vec(&requests).expect("json")).expect("write");
    let mut env = base_env(&sim, "resign");
    env.push((
        "DA_SIGNED_FILE".to_owned(),
        file.to_string_lossy().into_owned(),
    ));
    let out = run_vendor_script(&script(), &env).await;
    let _ = std::fs::remove_file(&file);
    let resigned: Vec<Value> = out
        .json_lines()
        .into_iter()
        .filter(|l| l["op"] == "resign")
        .collect();
    assert_eq!(resigned.len(), signed.len(), "{}", out.stdout);
    assert!(
        resigned.iter().all(|l| l["match"] == true),
        "{}",
        out.stdout
    );
    // jobstop signs what the SDK signs: x-project-id and the workspace too.
    let headers: Vec<&str> = resigned[0]["signed_headers"]
        .as_array()
        .expect("signed headers")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(
        headers,
        [
            "content-type",
            "host",
            "workspace",
            "x-project-id",
            "x-sdk-date"
        ]
    );
}
