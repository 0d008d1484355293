//! wharf's values in the shapes of the engine API's fields: a list or map that is empty is
//! left out of a request, durations go in whole seconds (rounded up) or in nanoseconds.

use std::collections::HashMap;
use std::time::Duration;

pub(super) fn non_empty_map(
    map: &indexmap::IndexMap<String, String>,
) -> Option<HashMap<String, String>> {
    (!map.is_empty()).then(|| map.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
}

pub(super) fn non_empty<T: Clone>(items: &[T]) -> Option<Vec<T>> {
    (!items.is_empty()).then(|| items.to_vec())
}

pub(super) fn ceil_secs(duration: Duration) -> i64 {
    let secs = duration.as_secs() as i64;
    if duration.subsec_nanos() > 0 {
        secs + 1
    } else {
        secs
    }
}

pub(super) fn nanos(duration: Option<Duration>) -> Option<i64> {
    duration.map(|d| d.as_nanos().min(i64::MAX as u128) as i64)
}
