//! What the integration tests share: one handle over the four vendor
//! simulators, with the questions every test asks of them.

#![allow(dead_code, clippy::unwrap_used)]

use jobstop_sim::amperity::AmperitySim;
use jobstop_sim::centurylink::CenturyLinkSim;
use jobstop_sim::chorus::ChorusSim;
use jobstop_sim::dataarts::DataArtsSim;
use jobstop_sim::{Faults, SimServer};

pub(crate) enum Sim {
    Amperity(AmperitySim),
    Chorus(ChorusSim),
    DataArts(DataArtsSim),
    CenturyLink(CenturyLinkSim),
}

impl Sim {
    pub(crate) fn server(&self) -> &SimServer {
        match self {
            Sim::Amperity(s) => s.server(),
            Sim::Chorus(s) => s.server(),
            Sim::DataArts(s) => s.server(),
            Sim::CenturyLink(s) => s.server(),
        }
    }

    pub(crate) fn faults(&self) -> &Faults {
        match self {
            Sim::Amperity(s) => s.faults(),
            Sim::Chorus(s) => s.faults(),
            Sim::DataArts(s) => s.faults(),
            Sim::CenturyLink(s) => s.faults(),
        }
    }

    /// Stops of `id` that reached the simulator's vendor logic.
    pub(crate) fn stop_requests(&self, id: &str) -> u64 {
        match self {
            Sim::Amperity(s) => s.stop_requests(id),
            Sim::Chorus(s) => s.stop_requests(id),
            Sim::DataArts(s) => s.stop_requests(id),
            Sim::CenturyLink(s) => s.stop_requests(id),
        }
    }

    /// The run's raw state as the simulator holds it.
    pub(crate) fn raw_state(&self, id: &str) -> String {
        let v = match self {
            Sim::Amperity(s) => s.run_json(id).unwrap()["state"].clone(),
            Sim::Chorus(s) => s.workfile_json(id).unwrap()["status"].clone(),
            Sim::DataArts(s) => match id.split_once('/') {
                Some((job, n)) => {
                    s.instance_json(job, n.parse().unwrap()).unwrap()["status"].clone()
                }
                None => s.job_json(id).unwrap()["status"].clone(),
            },
            Sim::CenturyLink(s) => s.execution_json(id).unwrap()["status"].clone(),
        };
        v.as_str().unwrap_or_default().to_owned()
    }
}
