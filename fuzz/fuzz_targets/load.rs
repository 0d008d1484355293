//! The whole loader on a compose file given as text (`-f -`): discover, parse, interpolate,
//! merge, type, normalize, validate. Any input must load or give a diagnostic, never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wharf::spec::{LoadOptions, load};

fuzz_target!(|text: &str| {
    // An empty directory of its own: relative `include`, `extends` and `env_file` find nothing.
    let dir = std::env::temp_dir().join(format!("wharf-fuzz-load-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    let options = LoadOptions {
        files: vec!["-".into()],
        stdin: Some(text.to_string()),
        environment: [("HOME", "/root"), ("TAG", "1.0"), ("EMPTY", "")]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        cwd: dir,
        ..LoadOptions::default()
    };
    if let Ok(project) = load(&options) {
        // What `config` prints must be printable.
        let _ = serde_json::to_string(&project.model);
    }
});
