//! Who a container is in its project, in neutral terms. The container backend writes it on
//! the engine in compose's label encoding (`engine::labels`), and `observe` reads it back.

/// A container's place in the project and what it was made from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContainerIdentity {
    pub project: String,
    pub service: String,
    /// The replica's number: none on a service's spec (the plan numbers each replica) and on
    /// a one-off.
    pub number: Option<u32>,
    /// A one-off container (`run`), never a replica: its random slug, 64 hexadecimal digits.
    pub one_off: Option<String>,
    /// compose's config hash of the service: a replica whose hash differs is recreated.
    pub config_hash: String,
    /// wharf's hash of what the service's secrets and configs hold (`content.rs`), when it
    /// has any.
    pub content_hash: Option<String>,
    /// The services it depends on, in the file's order.
    pub depends_on: Vec<DependencyMark>,
    /// The project's working directory and compose files, as `docker compose ls` shows them.
    pub working_dir: String,
    pub config_files: Vec<String>,
    /// On a replacement: the replica it replaces (`<service>-<number>`, or its
    /// `container_name`), so that compose reports a recreation rather than a creation.
    pub replaces: Option<String>,
    /// The ID of the image it runs, known at create time (compose leaves it off one-offs).
    pub image_id: Option<String>,
}

impl ContainerIdentity {
    pub fn is_one_off(&self) -> bool {
        self.one_off.is_some()
    }
}

/// A `depends_on` entry as a container records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DependencyMark {
    pub service: String,
    /// compose's condition: `service_started`, `service_healthy`, ….
    pub condition: String,
    /// Whether the container is restarted when that service is.
    pub restart: bool,
}

/// A network's or volume's place in the project: none on an external one, which is not ours.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceIdentity {
    pub project: String,
    /// compose's `NetworkHash` / `VolumeHash` of its definition (`hash.rs`).
    pub config_hash: String,
}
