//! The vendor clients' interpreter exists and imports every pinned client at
//! its pinned version (this is the test `.ci/run` runs first, to build the
//! environment once).

use std::path::Path;

use jobstop_testkit::python::{REQUIREMENTS, run_vendor_script};

#[tokio::test]
async fn every_pinned_vendor_client_imports_at_its_pinned_version() {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/imports.py");
    let out = run_vendor_script(&script, &[]).await;
    let versions = out
        .json_lines()
        .pop()
        .expect("the script prints its versions");
    for name in [
        "alpine",
        "clc-sdk",
        "huaweicloudsdkcore",
        "huaweicloudsdkdgc",
    ] {
        let got = versions[name].as_str().expect("a version string");
        let pin = format!("{name}=={got}");
        assert!(
            REQUIREMENTS.lines().any(|l| l.trim() == pin),
            "{name} {got} is not the pinned version"
        );
    }
}
