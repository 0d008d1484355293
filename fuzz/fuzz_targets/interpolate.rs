//! Interpolation of one value: `$VAR`, `${VAR:-default}`, `${VAR:?error}`, nesting, `$$`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wharf::spec::interpolate::substitute;

fuzz_target!(|template: &str| {
    let lookup = |name: &str| match name {
        "SET" => Some("value".to_string()),
        "EMPTY" => Some(String::new()),
        "NESTED" => Some("${SET}".to_string()),
        _ => None,
    };
    if let Ok(done) = substitute(template, &lookup)
        && !template.contains('$')
    {
        assert_eq!(done.value, template, "text without `$` is left as it is");
    }
});
