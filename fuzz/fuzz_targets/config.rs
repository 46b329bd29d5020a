//! The TOML account config (`Registry::from_toml_str`): any text gives a
//! registry or one `Config` error, never a panic.
#![no_main]

use jobstop::{ErrorKind, Registry};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    match Registry::from_toml_str(&text, |name| Some(format!("value-of-{name}"))) {
        Ok(registry) => {
            for account in registry.accounts() {
                assert!(!account.name.is_empty());
                let _ = format!("{account:?}");
            }
        }
        Err(e) => {
            assert_eq!(e.kind(), ErrorKind::Config, "{e}");
            jobstop_testkit::fuzz::check_error(&e);
        }
    }
});
