//! The `.env` parser: quotes, escapes, `export`, comments, multi-line values, interpolation.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wharf::spec::dotenv::{into_map, parse};

fuzz_target!(|text: &str| {
    let lookup = |name: &str| (name == "SET").then(|| "value".to_string());
    if let Ok(entries) = parse(text, &lookup) {
        let _ = into_map(entries);
    }
});
