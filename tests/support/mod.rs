//! What the integration tests share: a simulator of any vendor, as the
//! simulator crate's [`AnySim`](jobstop_sim::AnySim) (base URL, server,
//! faults, stop counts, raw states, a fresh running run, endless listings).

#![allow(dead_code)]

/// One vendor's running simulator.
pub(crate) type Sim = Box<dyn jobstop_sim::AnySim>;

/// An `[accounts.NAME]` table for an Amperity simulator (its token inline),
/// with `client` as the body of its `[accounts.NAME.client]` table when not
/// empty.
pub(crate) fn amperity_table(
    name: &str,
    sim: &jobstop_sim::amperity::AmperitySim,
    client: &str,
) -> String {
    let mut t = format!(
        "[accounts.{name}]\nvendor = \"amperity\"\nbase_url = \"{}\"\ntenant = \"{}\"\ntoken = \"{}\"\n\n",
        sim.base_url(),
        sim.tenant(),
        sim.token()
    );
    if !client.is_empty() {
        t.push_str(&format!("[accounts.{name}.client]\n{client}\n\n"));
    }
    t
}
