//! The project name: `-p`, then `COMPOSE_PROJECT_NAME`, then the top-level `name:`, then the
//! project directory's name.

use std::path::Path;

use super::diagnostic::Diagnostic;

/// The rule compose applies to names the user sets explicitly.
pub const RULE: &str = "a project name must consist only of lowercase letters, digits, hyphens and underscores, and start with a letter or digit";

/// What compose makes of a name it derives: lower case, other characters dropped.
pub fn normalize(name: &str) -> String {
    let kept: String = name
        .to_lowercase()
        .chars()
        .filter(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '_' | '-'))
        .collect();
    kept.trim_start_matches(['_', '-']).to_string()
}

/// An explicit name (`-p`, `COMPOSE_PROJECT_NAME`) is used as written, or refused.
pub fn explicit(name: &str, origin: &str) -> Result<String, Diagnostic> {
    if name.is_empty() || normalize(name) != name {
        return Err(
            Diagnostic::new(format!("invalid project name {name:?} (from {origin})"))
                .with_help(format!("{RULE}; for example {:?}", suggestion(name))),
        );
    }
    Ok(name.to_string())
}

fn suggestion(name: &str) -> String {
    match normalize(name) {
        n if n.is_empty() => "myproject".to_string(),
        n => n,
    }
}

/// The name derived from the file's `name:` or, failing that, the project directory.
pub fn derived(from_file: Option<&str>, project_dir: &Path) -> Result<String, Diagnostic> {
    if let Some(name) = from_file.map(normalize).filter(|n| !n.is_empty()) {
        return Ok(name);
    }
    let base = project_dir
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    let name = normalize(&base);
    if name.is_empty() {
        return Err(Diagnostic::new(format!(
            "cannot derive a project name from the directory {}",
            project_dir.display()
        ))
        .with_help("name the project with -p NAME or a top-level `name:`"));
    }
    Ok(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_names_are_normalized() {
        assert_eq!(normalize("My App.v2"), "myappv2");
        assert_eq!(normalize("__x-y"), "x-y");
        assert_eq!(
            derived(None, Path::new("/tmp/Web Site")).unwrap(),
            "website"
        );
        assert_eq!(derived(Some("Shop"), Path::new("/tmp/x")).unwrap(), "shop");
    }

    #[test]
    fn explicit_names_are_checked() {
        assert_eq!(explicit("shop_2", "-p").unwrap(), "shop_2");
        let err = explicit("Shop!", "-p").unwrap_err();
        assert!(err.message.contains("invalid project name"));
        assert!(err.help.unwrap().contains("\"shop\""));
        assert!(explicit("-x", "-p").is_err());
    }
}
