//! compose's label encoding: how a project's containers, networks and volumes say on a
//! Docker-compatible engine whose they are. `docker compose` and wharf both rebuild a project's
//! state from these labels alone.

pub const PROJECT: &str = "com.docker.compose.project";
pub const SERVICE: &str = "com.docker.compose.service";
pub const NUMBER: &str = "com.docker.compose.container-number";
pub const CONFIG_HASH: &str = "com.docker.compose.config-hash";
pub const ONEOFF: &str = "com.docker.compose.oneoff";
/// The one-off's random identity; its name ends with the first 12 digits.
pub const SLUG: &str = "com.docker.compose.slug";
pub const VERSION: &str = "com.docker.compose.version";
pub const NETWORK: &str = "com.docker.compose.network";
pub const VOLUME: &str = "com.docker.compose.volume";
pub const IMAGE: &str = "com.docker.compose.image";
pub const WORKING_DIR: &str = "com.docker.compose.project.working_dir";
pub const CONFIG_FILES: &str = "com.docker.compose.project.config_files";
pub const DEPENDS_ON: &str = "com.docker.compose.depends_on";
/// On a container made to replace another: `<service>-<number>` (or its `container_name`),
/// which compose reads to report a recreation rather than a creation.
pub const REPLACE: &str = "com.docker.compose.replace";
/// Marks what wharf itself created, beside the compose labels.
pub const MANAGED_BY: &str = "dev.wharf.managed-by";
/// The hash of what the container's secrets and configs hold (see `desired::content`).
pub const CONTENT_HASH: &str = "dev.wharf.content-hash";

/// The value of `com.docker.compose.version` on what wharf creates.
pub const WHARF_VERSION: &str = env!("CARGO_PKG_VERSION");
