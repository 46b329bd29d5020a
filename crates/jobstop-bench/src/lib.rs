//! Shared helpers for the jobstop benchmarks (see `BENCHMARKS.md` at the
//! repository root).

use std::time::Duration;

/// The median of `samples` (sorted in place); zero for none.
pub fn median(samples: &mut [Duration]) -> Duration {
    if samples.is_empty() {
        return Duration::ZERO;
    }
    samples.sort();
    samples[samples.len() / 2]
}

/// This process's peak resident set size in KiB (`VmHWM` in
/// `/proc/self/status`), where the platform has it.
pub fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// This process's current resident set size in KiB (`VmRSS` in
/// `/proc/self/status`), where the platform has it.
pub fn current_rss_kib() -> Option<u64> {
    proc_status_kib("VmRSS:")
}

/// A `kB` field of `/proc/self/status` (`field` with its colon).
fn proc_status_kib(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// KiB as MiB, for reports.
pub fn kib_to_mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// CPU time (user and system, all threads) this process has used so far,
/// from `/proc/self/stat`, where the platform has it.
pub fn cpu_time() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The command name, in parentheses, may hold spaces: count fields from
    // the last `)`. utime and stime are the 14th and 15th fields, in clock
    // ticks (USER_HZ, 100 on Linux whatever the kernel's HZ).
    let mut fields = stat
        .get(stat.rfind(')')? + 1..)?
        .split_whitespace()
        .skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(Duration::from_millis((utime + stime) * 10))
}

/// A benchmark binary's `--name value` pairs, each name one of `known`;
/// anything else is an error that names the known flags.
pub fn flags(
    args: &[String],
    known: &[&str],
) -> Result<std::collections::HashMap<String, String>, String> {
    let mut out = std::collections::HashMap::new();
    let mut it = args.iter();
    while let Some(name) = it.next() {
        let key = name
            .strip_prefix("--")
            .filter(|k| known.contains(k))
            .ok_or_else(|| {
                format!(
                    "unexpected argument {name:?} (known: --{})",
                    known.join(", --")
                )
            })?;
        let value = it.next().ok_or_else(|| format!("{name} needs a value"))?;
        out.insert(key.to_owned(), value.clone());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_and_even() {
        let ms = Duration::from_millis;
        assert_eq!(median(&mut [ms(3), ms(1), ms(2)]), ms(2));
        assert_eq!(median(&mut [ms(4), ms(1), ms(2), ms(3)]), ms(3));
        assert_eq!(median(&mut []), Duration::ZERO);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn proc_readings() {
        let rss = current_rss_kib().unwrap();
        assert!(rss > 0 && rss <= peak_rss_kib().unwrap());
        let before = cpu_time().unwrap();
        let mut x = 0u64;
        for i in 0..50_000_000u64 {
            x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(i));
        }
        assert!(cpu_time().unwrap() >= before);
        assert_eq!(kib_to_mib(1536), 1.5);
    }
}
