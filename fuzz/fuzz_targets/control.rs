//! The control socket's request parser: one line from a client of the supervisor.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wharf::supervisor::control::parse_request;

fuzz_target!(|line: &str| {
    if let Ok(request) = parse_request(line) {
        // What was understood can be sent again.
        let _ = serde_json::to_string(&request);
    }
});
