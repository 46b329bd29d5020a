//! What the CLI test binaries share: running the real `jobstop` binary with a
//! clean environment, and reading what it gave.

#![allow(dead_code, unreachable_pub)]

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::Value;

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_jobstop");

/// What one run of the binary gave.
#[derive(Debug)]
pub struct Out {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Out {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}):\n{}\nstderr:\n{}",
                self.stdout, self.stderr
            )
        })
    }

    #[track_caller]
    pub fn expect_code(&self, code: i32) -> &Self {
        assert_eq!(
            self.code, code,
            "exit code\nstdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }
}

/// A fresh, empty folder (for `HOME`, `XDG_CONFIG_HOME`, config and ticket
/// files), named after `prefix`.
pub fn scratch(prefix: &str) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "{prefix}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("cannot create a scratch folder");
    dir
}

/// `jobstop args…` with exactly `env` as its `JOBSTOP_*` variables, `home` as
/// `HOME` and `home/config` as `XDG_CONFIG_HOME`, stdin closed (not a
/// terminal); killed if dropped.
pub fn command(home: &Path, args: &[&str], env: &[(String, String)]) -> tokio::process::Command {
    command_of(BIN, home, args, env)
}

/// Like [`command`], running `program` (say, a wrapper that runs the
/// binary) with the same environment.
pub fn command_of(
    program: &str,
    home: &Path,
    args: &[&str],
    env: &[(String, String)],
) -> tokio::process::Command {
    let mut cmd = tokio::process::Command::new(program);
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("HOME", home)
        .env_remove("RUST_LOG")
        .env_remove("NO_COLOR")
        .kill_on_drop(true);
    for (k, _) in std::env::vars() {
        if k.starts_with("JOBSTOP_") {
            cmd.env_remove(k);
        }
    }
    cmd.envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    cmd
}

/// Runs [`command`] to the end (at most 30 s).
pub async fn run(home: &Path, args: &[&str], env: &[(String, String)]) -> Out {
    let out = tokio::time::timeout(Duration::from_secs(30), command(home, args, env).output())
        .await
        .expect("jobstop took over 30 s")
        .expect("cannot run jobstop");
    Out {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}
