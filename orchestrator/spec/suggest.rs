//! "Did you mean" for misspelled keys and names.

/// The candidate closest to `word`, when it is close enough to be what the user meant.
pub fn closest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(word, c), c))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::closest;

    #[test]
    fn finds_near_misses_and_ignores_the_unrelated() {
        let keys = ["image", "build", "environment", "depends_on"];
        assert_eq!(closest("imgae", keys), Some("image"));
        assert_eq!(closest("enviroment", keys), Some("environment"));
        assert_eq!(closest("depends-on", keys), Some("depends_on"));
        assert_eq!(closest("zzz", keys), None);
    }
}
