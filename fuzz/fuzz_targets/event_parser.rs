//! Fuzz target: the tolerant event parser and the observation of every handled event type. Any
//! body must parse into an envelope or give an error message (never echoing the body), and any
//! `data.object` must give an observation or an error for every type, never a panic.
#![no_main]
use gateway::webhooks::rules::{HANDLED_TYPES, observe};
use gateway::webhooks::rules::event::Envelope;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(envelope) = Envelope::parse(data) else {
        return;
    };
    let _ = observe(&envelope.event_type, &envelope.data.object);
    for event_type in HANDLED_TYPES {
        let _ = observe(event_type, &envelope.data.object);
    }
});
