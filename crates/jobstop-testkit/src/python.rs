//! Running the vendors' own published Python clients against the simulators.
//!
//! The simulators are worth as much as they resemble the real services, so
//! where a vendor publishes a client (the Huawei Cloud Python SDK, `clc-sdk`,
//! Chorus's `alpine`), a test runs that client against the simulator. The
//! clients are pinned, with their dependencies, in
//! `crates/jobstop-testkit/python/vendor-clients.txt` and installed into a
//! virtual environment under the workspace's `target/` the first time a test
//! asks for it (`python3 -m venv` and `pip install`, from PyPI).
//!
//! Set `JOBSTOP_VENDOR_PYTHON` to an interpreter that already has those
//! packages to skip the installation. A missing Python or a failed
//! installation fails the test that asked: these tests never skip.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The pinned requirements the virtual environment is built from.
pub const REQUIREMENTS: &str = include_str!("../python/vendor-clients.txt");

/// The environment variable naming a ready interpreter (see the module docs).
pub const ENV_PYTHON: &str = "JOBSTOP_VENDOR_PYTHON";

/// How long a vendor script may run before it is killed and the test fails.
pub const SCRIPT_TIMEOUT: Duration = Duration::from_secs(180);

fn target_dir() -> PathBuf {
    match option_env!("CARGO_TARGET_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"),
    }
}

/// The interpreter with the vendor clients installed, creating the virtual
/// environment on first use.
///
/// # Panics
/// When no `python3` is found or the installation fails, with the reason.
pub fn vendor_python() -> PathBuf {
    static PYTHON: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    match PYTHON.get_or_init(prepare) {
        Ok(path) => path.clone(),
        Err(why) => panic!("the vendor clients' Python is not available: {why}"),
    }
}

fn prepare() -> Result<PathBuf, String> {
    if let Some(python) = std::env::var_os(ENV_PYTHON) {
        return Ok(PathBuf::from(python));
    }
    // The requirements' hash names the environment, so a changed pin builds a
    // new one instead of trusting an old one.
    let tag = fnv1a(REQUIREMENTS.as_bytes());
    let dir = target_dir().join(format!("vendor-python-{tag:016x}"));
    let python = dir.join("bin").join("python");
    if dir.join(".ready").is_file() {
        return Ok(python);
    }
    // Build in a directory of our own and rename it into place, so test
    // processes running at the same time never see a half-built environment.
    let scratch = target_dir().join(format!("vendor-python-{tag:016x}.{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&scratch);
    std::fs::create_dir_all(target_dir()).map_err(|e| format!("cannot create target/: {e}"))?;
    run(Command::new("python3").args(["-m", "venv"]).arg(&scratch))
        .map_err(|e| format!("python3 -m venv failed (is python3 installed?): {e}"))?;
    let requirements = scratch.join("requirements.txt");
    std::fs::write(&requirements, REQUIREMENTS)
        .map_err(|e| format!("writing requirements: {e}"))?;
    run(Command::new(scratch.join("bin").join("python"))
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "-r",
        ])
        .arg(&requirements))
    .map_err(|e| format!("pip install of the vendor clients failed: {e}"))?;
    std::fs::write(scratch.join(".ready"), b"").map_err(|e| format!("marking ready: {e}"))?;
    if std::fs::rename(&scratch, &dir).is_err() {
        // Another process finished first; use its environment.
        let _ = std::fs::remove_dir_all(&scratch);
        if !dir.join(".ready").is_file() {
            return Err(format!("{} exists but is not ready", dir.display()));
        }
    }
    Ok(python)
}

fn run(cmd: &mut Command) -> Result<(), String> {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|e| e.to_string())?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{}\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// What a vendor script printed.
#[derive(Debug, Clone)]
pub struct ScriptOutput {
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl ScriptOutput {
    /// Each line of standard output that is a JSON value, parsed; the scripts
    /// report what the vendor client read as one JSON object per line.
    pub fn json_lines(&self) -> Vec<serde_json::Value> {
        self.stdout
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }
}

/// Runs the Python script at `script` with the vendor clients' interpreter,
/// with `env` added to its environment, off the async runtime (so simulators
/// on the same runtime keep serving).
///
/// # Panics
/// When the script cannot start, runs past [`SCRIPT_TIMEOUT`] or exits
/// non-zero; the message holds its output.
pub async fn run_vendor_script(script: &Path, env: &[(String, String)]) -> ScriptOutput {
    let script = script.to_path_buf();
    let env = env.to_vec();
    let joined = tokio::task::spawn_blocking(move || run_blocking(&script, &env)).await;
    match joined {
        Ok(Ok(out)) => out,
        Ok(Err(why)) => panic!("{why}"),
        Err(join) => panic!("the vendor script's thread failed: {join}"),
    }
}

fn run_blocking(script: &Path, env: &[(String, String)]) -> Result<ScriptOutput, String> {
    let python = vendor_python();
    let dir = std::env::temp_dir();
    static RUNS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = RUNS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let tag = format!("{}-{n}", std::process::id());
    let out_path = dir.join(format!("jobstop-vendor-{tag}.out"));
    let err_path = dir.join(format!("jobstop-vendor-{tag}.err"));
    let stdout = std::fs::File::create(&out_path).map_err(|e| e.to_string())?;
    let stderr = std::fs::File::create(&err_path).map_err(|e| e.to_string())?;
    let mut child = Command::new(&python)
        .arg(script)
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(stderr)
        .spawn()
        .map_err(|e| {
            format!(
                "cannot start {} {}: {e}",
                python.display(),
                script.display()
            )
        })?;
    let deadline = Instant::now() + SCRIPT_TIMEOUT;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => return Err(format!("waiting for {}: {e}", script.display())),
        }
    };
    let out = ScriptOutput {
        stdout: std::fs::read_to_string(&out_path).unwrap_or_default(),
        stderr: std::fs::read_to_string(&err_path).unwrap_or_default(),
    };
    let _ = std::fs::remove_file(&out_path);
    let _ = std::fs::remove_file(&err_path);
    match status {
        Some(s) if s.success() => Ok(out),
        Some(s) => Err(format!(
            "{} exited with {s}\n--- stdout\n{}\n--- stderr\n{}",
            script.display(),
            out.stdout,
            out.stderr
        )),
        None => Err(format!(
            "{} ran past {SCRIPT_TIMEOUT:?}\n--- stdout\n{}\n--- stderr\n{}",
            script.display(),
            out.stdout,
            out.stderr
        )),
    }
}
