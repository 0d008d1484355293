//! Registry credentials, as the docker CLI resolves them and compose v2 sends them: the CLI's
//! `config.json` (`$DOCKER_CONFIG`, else `~/.docker`), where a registry's credentials come from
//! its `credHelpers` entry, else the `credsStore`, through the `docker-credential-<name>`
//! protocol, else from the static `auths` entry. The engine is given them with the request
//! that needs them (a pull, a push, a build, a swarm service), for the registry of the image's
//! host alone. A registry with no credentials is reached anonymously, as by the CLI.

use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use base64::Engine as _;
use bollard::auth::DockerCredentials;
use serde::Deserialize;

/// Docker Hub's key in `config.json`, as `docker login` writes it.
pub const DOCKER_HUB: &str = "https://index.docker.io/v1/";

/// What a credential helper says when it has nothing for a registry (`credentials not found
/// in native keychain`): anonymous, not an error.
const NOT_FOUND: &str = "credentials not found";

/// Where the docker CLI keeps its configuration, read anew at each lookup (a `docker login`
/// made meanwhile counts).
#[derive(Debug, Clone, Default)]
pub struct RegistryAuth {
    /// The directory of `config.json`; none when neither `DOCKER_CONFIG` nor `HOME` is set.
    dir: Option<PathBuf>,
    /// Where the `docker-credential-*` programs are; none: on `PATH`, as the CLI runs them.
    helpers: Option<PathBuf>,
}

/// The parts of `config.json` that say where credentials are.
#[derive(Debug, Default, Deserialize)]
struct ConfigFile {
    #[serde(default)]
    auths: HashMap<String, AuthEntry>,
    #[serde(default, rename = "credsStore")]
    creds_store: Option<String>,
    #[serde(default, rename = "credHelpers")]
    cred_helpers: HashMap<String, String>,
}

/// One `auths` entry: `auth` is base64 of `user:password`.
#[derive(Debug, Default, Clone, Deserialize)]
struct AuthEntry {
    auth: Option<String>,
    username: Option<String>,
    password: Option<String>,
    identitytoken: Option<String>,
    registrytoken: Option<String>,
    email: Option<String>,
}

/// A credential helper's answer to `get`.
#[derive(Debug, Deserialize)]
struct HelperAnswer {
    #[serde(rename = "Username", default)]
    username: String,
    #[serde(rename = "Secret", default)]
    secret: String,
}

impl RegistryAuth {
    /// The CLI's configuration as the process environment names it: `DOCKER_CONFIG`, else
    /// `$HOME/.docker`.
    pub fn from_environment() -> RegistryAuth {
        let dir = match std::env::var_os("DOCKER_CONFIG").filter(|d| !d.is_empty()) {
            Some(dir) => Some(PathBuf::from(dir)),
            None => std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".docker")),
        };
        RegistryAuth { dir, helpers: None }
    }

    /// The credentials for the registry of the image `reference`; none means anonymous. A
    /// credential helper that fails (other than having nothing) is an error, as in the CLI.
    pub async fn for_image(&self, reference: &str) -> Result<Option<DockerCredentials>, String> {
        let (auth, reference) = (self.clone(), reference.to_string());
        off_runtime(move || auth.lookup(&reference)).await
    }

    /// Every registry's credentials, by key, as the CLI sends them with a build (the classic
    /// builder picks those of each `FROM` image's registry). A registry whose helper fails is
    /// left out, with a warning, as the CLI's build goes on without it: the build may need none.
    pub async fn all(&self) -> Result<HashMap<String, DockerCredentials>, String> {
        let auth = self.clone();
        off_runtime(move || auth.lookup_all()).await
    }

    fn lookup(&self, reference: &str) -> Result<Option<DockerCredentials>, String> {
        self.for_key(&self.config()?, &config_key(reference))
    }

    fn lookup_all(&self) -> Result<HashMap<String, DockerCredentials>, String> {
        let config = self.config()?;
        let mut keys: Vec<String> = config.auths.keys().cloned().collect();
        if let Some(store) = store_name(config.creds_store.as_deref()) {
            match self.helper_list(store) {
                Ok(listed) => keys.extend(listed),
                Err(error) => tracing::warn!("registry credentials left out of the build: {error}"),
            }
        }
        keys.extend(config.cred_helpers.keys().cloned());
        keys.sort();
        keys.dedup();
        let mut all = HashMap::new();
        for key in keys {
            match self.for_key(&config, &key) {
                Ok(Some(credentials)) => {
                    all.insert(key, credentials);
                }
                Ok(None) => {}
                Err(error) => tracing::warn!("registry credentials left out of the build: {error}"),
            }
        }
        Ok(all)
    }

    /// `config.json`, parsed; a missing one is an empty configuration, a broken one an error
    /// (the CLI refuses it too).
    fn config(&self) -> Result<ConfigFile, String> {
        let Some(path) = self.dir.as_ref().map(|dir| dir.join("config.json")) else {
            return Ok(ConfigFile::default());
        };
        match std::fs::read_to_string(&path) {
            Ok(text) => serde_json::from_str(&text).map_err(|e| {
                format!(
                    "reading the registry credentials of {}: {e}",
                    path.display()
                )
            }),
            Err(_) => Ok(ConfigFile::default()),
        }
    }

    /// The CLI's order: the registry's `credHelpers` entry, else the `credsStore`, else the
    /// static `auths`.
    fn for_key(&self, config: &ConfigFile, key: &str) -> Result<Option<DockerCredentials>, String> {
        let helper = config
            .cred_helpers
            .get(key)
            .or_else(|| config.cred_helpers.get(hostname(key)))
            .map(String::as_str)
            .or_else(|| store_name(config.creds_store.as_deref()));
        match helper {
            Some(helper) => self.helper_get(helper, key),
            None => Ok(static_entry(&config.auths, key).and_then(|entry| decode(entry, key))),
        }
    }

    fn helper(&self, name: &str) -> Command {
        let program = format!("docker-credential-{name}");
        match &self.helpers {
            Some(dir) => Command::new(dir.join(program)),
            None => Command::new(program),
        }
    }

    /// `docker-credential-<name> get`: the key on standard input, `{Username, Secret}` out;
    /// `<token>` as the user name means an identity token.
    fn helper_get(&self, name: &str, key: &str) -> Result<Option<DockerCredentials>, String> {
        let Some(output) = self.run_helper(name, "get", key)? else {
            return Ok(None);
        };
        let answer: HelperAnswer = serde_json::from_slice(&output)
            .map_err(|e| format!("docker-credential-{name} get {key}: {e}"))?;
        Ok(from_helper(answer, key))
    }

    /// `docker-credential-<name> list`: the registries it has credentials for.
    fn helper_list(&self, name: &str) -> Result<Vec<String>, String> {
        let Some(output) = self.run_helper(name, "list", "")? else {
            return Ok(Vec::new());
        };
        let listed: HashMap<String, String> = serde_json::from_slice(&output)
            .map_err(|e| format!("docker-credential-{name} list: {e}"))?;
        Ok(listed.into_keys().collect())
    }

    /// A helper's standard output; none when it has nothing for `input`.
    fn run_helper(&self, name: &str, action: &str, input: &str) -> Result<Option<Vec<u8>>, String> {
        let failed = |why: String| format!("docker-credential-{name} {action}: {why}");
        let mut child = self
            .helper(name)
            .arg(action)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| failed(e.to_string()))?;
        if let Some(mut stdin) = child.stdin.take() {
            // A helper that exits without reading its input is judged by its exit below.
            match stdin.write_all(input.as_bytes()) {
                Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
                    return Err(failed(e.to_string()));
                }
                _ => {}
            }
        }
        let output = child
            .wait_with_output()
            .map_err(|e| failed(e.to_string()))?;
        if output.status.success() {
            return Ok(Some(output.stdout));
        }
        // Helpers tell "not found" on standard output, some on standard error.
        let said = [output.stdout, output.stderr]
            .map(|bytes| String::from_utf8_lossy(&bytes).trim().to_string())
            .join(" ");
        match said.contains(NOT_FOUND) {
            true => Ok(None),
            false => Err(failed(said.trim().to_string())),
        }
    }
}

#[cfg(test)]
impl RegistryAuth {
    fn in_dir(dir: &std::path::Path) -> RegistryAuth {
        RegistryAuth {
            dir: Some(dir.to_path_buf()),
            helpers: Some(dir.to_path_buf()),
        }
    }
}

/// Runs `lookup` on a blocking thread: it reads a file and may run helper programs.
async fn off_runtime<T: Send + 'static>(
    lookup: impl FnOnce() -> Result<T, String> + Send + 'static,
) -> Result<T, String> {
    tokio::task::spawn_blocking(lookup)
        .await
        .map_err(|e| format!("looking up registry credentials: {e}"))?
}

/// An empty `credsStore` is none.
fn store_name(store: Option<&str>) -> Option<&str> {
    store.filter(|s| !s.is_empty())
}

/// The registry host of an image reference, as the docker CLI reads references: its first
/// component when that has a `.` or a `:`, is `localhost` or has capitals; none means Docker
/// Hub (`docker.io` and `index.docker.io` are Hub too).
pub fn registry_host(reference: &str) -> Option<&str> {
    let (first, _) = reference.split_once('/')?;
    let named = first.contains(['.', ':'])
        || first == "localhost"
        || first.chars().any(|c| c.is_ascii_uppercase());
    (named && !matches!(first, "docker.io" | "index.docker.io")).then_some(first)
}

/// The key of `config.json` for the image `reference`: its registry host, or Docker Hub's.
pub fn config_key(reference: &str) -> String {
    registry_host(reference).unwrap_or(DOCKER_HUB).to_string()
}

/// A key without scheme and path (`https://r.io/v1/` → `r.io`), as the CLI compares them.
fn hostname(key: &str) -> &str {
    let bare = key
        .strip_prefix("https://")
        .or_else(|| key.strip_prefix("http://"))
        .unwrap_or(key);
    bare.split('/').next().unwrap_or(bare)
}

/// The `auths` entry for `key`: written as is, else one that names the same host.
fn static_entry<'a>(auths: &'a HashMap<String, AuthEntry>, key: &str) -> Option<&'a AuthEntry> {
    auths.get(key).or_else(|| {
        let host = hostname(key);
        let mut same: Vec<_> = auths.iter().filter(|(k, _)| hostname(k) == host).collect();
        same.sort_by_key(|(k, _)| k.as_str());
        same.first().map(|(_, entry)| *entry)
    })
}

/// An entry's credentials (`auth` decoded into user and password); none when it holds none.
fn decode(entry: &AuthEntry, key: &str) -> Option<DockerCredentials> {
    let (mut username, mut password) = (entry.username.clone(), entry.password.clone());
    if let Some(auth) = entry.auth.as_deref().filter(|a| !a.is_empty()) {
        let (user, secret) = decode_auth(auth)?;
        (username, password) = (Some(user), Some(secret));
    }
    let nonempty = |value: &Option<String>| value.clone().filter(|v| !v.is_empty());
    let credentials = DockerCredentials {
        username: nonempty(&username),
        password: nonempty(&password),
        identitytoken: nonempty(&entry.identitytoken),
        registrytoken: nonempty(&entry.registrytoken),
        email: nonempty(&entry.email),
        serveraddress: Some(key.to_string()),
        auth: None,
    };
    let any = credentials.username.is_some()
        || credentials.identitytoken.is_some()
        || credentials.registrytoken.is_some();
    any.then_some(credentials)
}

/// `auth`, base64 of `user:password`; none when it is not that.
fn decode_auth(auth: &str) -> Option<(String, String)> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(auth.trim())
        .ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let (user, password) = text.split_once(':')?;
    Some((
        user.to_string(),
        password.trim_end_matches('\0').to_string(),
    ))
}

fn from_helper(answer: HelperAnswer, key: &str) -> Option<DockerCredentials> {
    if answer.secret.is_empty() {
        return None;
    }
    let mut credentials = DockerCredentials {
        serveraddress: Some(key.to_string()),
        ..DockerCredentials::default()
    };
    match answer.username.as_str() {
        "<token>" => credentials.identitytoken = Some(answer.secret),
        _ => {
            credentials.username = Some(answer.username);
            credentials.password = Some(answer.secret);
        }
    }
    Some(credentials)
}

/// Whether an engine's message is a registry refusing for want of (valid) credentials: `no
/// basic auth credentials`, `unauthorized: authentication required`, Hub's `pull access
/// denied … may require 'docker login'`, a push's `denied: requested access to the resource
/// is denied`.
pub fn is_auth_failure(message: &str) -> bool {
    let lower = message.to_lowercase();
    [
        "no basic auth credentials",
        "unauthorized",
        "authentication required",
        "docker login",
        "requested access to the resource is denied",
    ]
    .iter()
    .any(|marker| lower.contains(marker))
}

/// What to do about an auth failure for `reference`: log in to its registry.
pub fn login_hint(reference: &str) -> String {
    let login = match registry_host(reference) {
        Some(host) => format!("docker login {host}"),
        None => "docker login".to_string(),
    };
    format!("authentication is required: log in with `{login}`")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn auth(user_password: &str) -> String {
        base64::engine::general_purpose::STANDARD.encode(user_password)
    }

    fn configured(config: &str) -> (tempfile::TempDir, RegistryAuth) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("config.json"), config).unwrap();
        let registry_auth = RegistryAuth::in_dir(dir.path());
        (dir, registry_auth)
    }

    /// A `docker-credential-NAME` script in `dir` that answers `get` from a table of
    /// `key=json` lines, `list` with `list`, and "credentials not found" otherwise.
    fn helper(dir: &std::path::Path, name: &str, answers: &[(&str, &str)], list: &str) {
        let mut script = String::from("#!/bin/sh\nread -r key || true\ncase \"$1:$key\" in\n");
        for (key, json) in answers {
            script.push_str(&format!("  'get:{key}') echo '{json}' ;;\n"));
        }
        script.push_str(&format!("  list:*) echo '{list}' ;;\n"));
        script.push_str("  *) echo 'credentials not found in native keychain'; exit 1 ;;\nesac\n");
        let path = dir.join(format!("docker-credential-{name}"));
        std::fs::write(&path, script).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }

    #[test]
    fn an_images_registry_host_is_read_as_the_cli_reads_references() {
        assert_eq!(
            registry_host("localhost:5000/web:1"),
            Some("localhost:5000")
        );
        assert_eq!(registry_host("localhost/web"), Some("localhost"));
        assert_eq!(registry_host("10.0.0.1:5000/x"), Some("10.0.0.1:5000"));
        assert_eq!(
            registry_host("r.example/team/web@sha256:ab"),
            Some("r.example")
        );
        assert_eq!(registry_host("Registry/web"), Some("Registry"));
        assert_eq!(registry_host("team/web:1"), None);
        assert_eq!(registry_host("web"), None);
        assert_eq!(registry_host("docker.io/library/web"), None);
        assert_eq!(registry_host("index.docker.io/team/web"), None);
        assert_eq!(config_key("busybox"), DOCKER_HUB);
        assert_eq!(config_key("127.0.0.1:5000/a/b:1"), "127.0.0.1:5000");
    }

    #[test]
    fn static_credentials_are_decoded_from_base64() {
        let (_dir, registry_auth) = configured(&format!(
            r#"{{"auths": {{"r.io": {{"auth": "{}"}}, "{DOCKER_HUB}": {{"auth": "{}"}}}}}}"#,
            auth("alice:pa:ss"),
            auth("hub:secret")
        ));
        let found = registry_auth.lookup("r.io/team/web:1").unwrap().unwrap();
        assert_eq!(found.username.as_deref(), Some("alice"));
        assert_eq!(
            found.password.as_deref(),
            Some("pa:ss"),
            "split at the first colon"
        );
        assert_eq!(found.serveraddress.as_deref(), Some("r.io"));
        let hub = registry_auth.lookup("busybox").unwrap().unwrap();
        assert_eq!(hub.username.as_deref(), Some("hub"));
        assert_eq!(hub.serveraddress.as_deref(), Some(DOCKER_HUB));
        assert_eq!(registry_auth.lookup("other.io/web").unwrap(), None);
    }

    #[test]
    fn an_entry_written_with_a_scheme_counts_for_its_host_and_an_identity_token_is_kept() {
        let (_dir, registry_auth) =
            configured(r#"{"auths": {"https://r.io/v2/": {"identitytoken": "tok"}}}"#);
        let found = registry_auth.lookup("r.io/web").unwrap().unwrap();
        assert_eq!(found.identitytoken.as_deref(), Some("tok"));
        assert_eq!(found.username, None);
    }

    #[test]
    fn undecodable_or_empty_entries_and_no_config_give_no_credentials() {
        let (_dir, registry_auth) =
            configured(r#"{"auths": {"a.io": {"auth": "%%%"}, "b.io": {}, "c.io": {"auth": ""}}}"#);
        for image in ["a.io/x", "b.io/x", "c.io/x"] {
            assert_eq!(registry_auth.lookup(image).unwrap(), None, "{image}");
        }
        let empty = tempfile::tempdir().unwrap();
        assert_eq!(
            RegistryAuth::in_dir(empty.path()).lookup("a.io/x").unwrap(),
            None
        );
        assert!(RegistryAuth::default().lookup_all().unwrap().is_empty());
    }

    #[test]
    fn a_broken_config_is_an_error_naming_the_file() {
        let (_dir, registry_auth) = configured("{not json");
        let error = registry_auth.lookup("r.io/x").unwrap_err();
        assert!(error.contains("config.json"), "{error}");
    }

    #[test]
    fn cred_helpers_come_before_the_store_and_the_store_before_static_auths() {
        let (dir, registry_auth) = configured(&format!(
            r#"{{"auths": {{"r.io": {{"auth": "{}"}}, "s.io": {{"auth": "{}"}}}},
                "credsStore": "store", "credHelpers": {{"r.io": "special"}}}}"#,
            auth("static:x"),
            auth("static:y"),
        ));
        helper(
            dir.path(),
            "special",
            &[(
                "r.io",
                r#"{"ServerURL":"r.io","Username":"helped","Secret":"h"}"#,
            )],
            "{}",
        );
        helper(
            dir.path(),
            "store",
            &[(
                "s.io",
                r#"{"ServerURL":"s.io","Username":"<token>","Secret":"idtok"}"#,
            )],
            r#"{"s.io":"<token>"}"#,
        );
        let r = registry_auth.lookup("r.io/web").unwrap().unwrap();
        assert_eq!(
            (r.username.as_deref(), r.password.as_deref()),
            (Some("helped"), Some("h"))
        );
        let s = registry_auth.lookup("s.io/web").unwrap().unwrap();
        assert_eq!(
            s.identitytoken.as_deref(),
            Some("idtok"),
            "<token> is an identity token"
        );
        assert_eq!(s.username, None);
        // The store has nothing for t.io: anonymous, even with no static entry to fall back to.
        assert_eq!(registry_auth.lookup("t.io/web").unwrap(), None);

        let all = registry_auth.lookup_all().unwrap();
        let mut keys: Vec<_> = all.keys().map(String::as_str).collect();
        keys.sort();
        assert_eq!(keys, ["r.io", "s.io"]);
        assert_eq!(all["r.io"].username.as_deref(), Some("helped"));
    }

    #[test]
    fn a_helper_that_fails_or_is_missing_is_an_error_naming_it_but_not_for_a_build() {
        let (dir, registry_auth) = configured(r#"{"credsStore": "broken"}"#);
        let error = registry_auth.lookup("r.io/web").unwrap_err();
        assert!(error.contains("docker-credential-broken get"), "{error}");
        let path = dir.path().join("docker-credential-broken");
        std::fs::write(&path, "#!/bin/sh\necho 'keychain locked' >&2\nexit 1\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        let error = registry_auth.lookup("r.io/web").unwrap_err();
        assert!(error.contains("keychain locked"), "{error}");
        // A build goes on without that store's registries.
        assert!(registry_auth.lookup_all().unwrap().is_empty());
    }

    #[test]
    fn auth_failures_are_told_apart_and_the_hint_names_the_registry() {
        assert!(is_auth_failure(
            "Head \"http://127.0.0.1:5999/v2/a/manifests/1\": no basic auth credentials"
        ));
        assert!(is_auth_failure("unauthorized: authentication required"));
        assert!(is_auth_failure(
            "pull access denied for x, repository does not exist or may require 'docker login'"
        ));
        assert!(!is_auth_failure("manifest for r.io/x:1 not found"));
        assert_eq!(
            login_hint("127.0.0.1:5999/a:1"),
            "authentication is required: log in with `docker login 127.0.0.1:5999`"
        );
        assert!(login_hint("busybox").ends_with("`docker login`"));
    }
}
