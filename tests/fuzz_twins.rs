//! The property-test twin of the `config` fuzz target (`fuzz/`): the TOML
//! account config gives a registry or one `Config` error for any text, on
//! every `cargo test`.
#![allow(clippy::unwrap_used)]

use jobstop::{ErrorKind, Registry};
use jobstop_testkit::fuzz::{check_error, hostile_string, write_seeds};
use proptest::prelude::*;

/// Documented configs and near misses: the seeds of the fuzz corpus.
const SEEDS: [&str; 5] = [
    "[accounts.amperity-prod]\nvendor = \"amperity\"\ntenant = \"acme\"\ntoken_env = \"AMPERITY_PROD_TOKEN\"\n\n[accounts.runner-eu]\nvendor = \"centurylink\"\nusername = \"ops@example.com\"\npassword_env = \"RUNNER_EU_PASSWORD\"\n",
    "[accounts.c]\nvendor = \"chorus\"\nbase_url = \"https://chorus.example.com\"\nusername = \"u\"\npassword = \"p\"\nworkspace_id = \"1000008\"\n",
    "[accounts.d]\nvendor = \"dataarts\"\nregion = \"cn-north-4\"\nproject_id = \"p\"\nworkspace = \"w\"\naccess_key = \"ak\"\nsecret_key_env = \"SK\"\n",
    "[accounts.x]\nvendor = \"nope\"\n",
    "accounts = 3\n",
];

fn check(text: &str) {
    match Registry::from_toml_str(text, |name| Some(format!("value-of-{name}"))) {
        Ok(registry) => {
            for account in registry.accounts() {
                assert!(!account.name.is_empty());
                let _ = format!("{account:?}");
            }
        }
        Err(e) => {
            assert_eq!(e.kind(), ErrorKind::Config, "{e}");
            check_error(&e);
        }
    }
}

/// TOML that is mostly well formed: accounts of every vendor (and unknown
/// ones) with settings drawn from the real names, values hostile or not.
fn near_valid_toml() -> impl Strategy<Value = String> {
    let key = prop_oneof![
        Just("vendor"),
        Just("tenant"),
        Just("token"),
        Just("token_env"),
        Just("base_url"),
        Just("username"),
        Just("password"),
        Just("password_env"),
        Just("workspace_id"),
        Just("region"),
        Just("project_id"),
        Just("workspace"),
        Just("access_key"),
        Just("secret_key"),
        Just("client_id"),
        Just("client_secret"),
        Just("account_alias"),
        Just("insecure_http"),
        Just("timeout"),
    ];
    let value = prop_oneof![
        prop_oneof![
            Just("amperity"),
            Just("chorus"),
            Just("dataarts"),
            Just("centurylink"),
            Just("https://api.example.com"),
            Just("http://127.0.0.1:1"),
            Just("http://evil.example.com"),
        ]
        .prop_map(|s| format!("{s:?}")),
        hostile_string().prop_map(|s| format!("{s:?}")),
        Just("true".to_owned()),
        Just("-1".to_owned()),
        Just("[1, \"a\"]".to_owned()),
        Just("{ x = 1 }".to_owned()),
    ];
    let account = (
        "[a-z0-9_-]{0,12}",
        prop::collection::vec((key, value), 0..8),
    )
        .prop_map(|(name, settings)| {
            let mut t = format!("[accounts.\"{name}\"]\n");
            for (k, v) in settings {
                t.push_str(&format!("{k} = {v}\n"));
            }
            t
        });
    prop::collection::vec(account, 0..4).prop_map(|a| a.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn any_text(text in ".{0,200}") {
        check(&text);
    }

    #[test]
    fn near_valid(text in near_valid_toml()) {
        check(&text);
    }
}

#[test]
fn seeds_give_registries_or_config_errors() {
    for s in SEEDS {
        check(s);
    }
    #[cfg(all(feature = "amperity", feature = "centurylink"))]
    assert_eq!(
        Registry::from_toml_str(SEEDS[0], |n| Some(n.to_owned()))
            .unwrap()
            .len(),
        2
    );
}

/// Writes the seeds to `fuzz/seeds/config/`:
/// `cargo test -p jobstop --test fuzz_twins -- --ignored`.
#[test]
#[ignore = "writes the fuzz seed corpus"]
fn write_fuzz_seeds() {
    let seeds: Vec<Vec<u8>> = SEEDS.iter().map(|s| s.as_bytes().to_vec()).collect();
    write_seeds("config", &seeds);
}
