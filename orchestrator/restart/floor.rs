//! The floor under the supervisor: the restart policy the engine itself applies
//! (`HostConfig.RestartPolicy`), so that replicas come back after an engine restart or a reboot
//! with no wharf process running, as they do under compose.
//!
//! A replica gets the policy compose v2 writes for the same service — `restart:` as written,
//! `deploy.restart_policy` mapped (`any` → `always`, `on-failure` with `max_attempts` as the
//! retry count, `none` → `no`) — whenever the engine can apply wharf's resolved policy exactly:
//! `always`/`unless-stopped` without `max_attempts`, `delay` or `window`; `on-failure` with or
//! without `max_attempts` but without `delay` or `window`. Any other policy (the engine has no
//! delay, no window, and no retry limit outside `on-failure`) stays with the supervisor alone,
//! under the engine policy `no`. docs/decisions.md says why.

use super::{Condition, RestartPolicy};
use crate::spec::model::{RestartCondition, Service};

/// The engine's restart policy for a replica.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EngineRestart {
    /// The file asks for no restart at all: compose leaves the policy's name empty, which the
    /// engine reads as `no`.
    #[default]
    Unset,
    /// `restart: "no"`, `condition: none`, and every policy the supervisor keeps to itself.
    No,
    Always,
    UnlessStopped,
    /// `on-failure[:N]`; zero retries is unlimited.
    OnFailure {
        max_retries: u64,
    },
}

impl EngineRestart {
    /// The engine policy for `service` (see the module documentation).
    pub fn from_service(service: &Service) -> EngineRestart {
        let policy = RestartPolicy::from_service(service);
        if policy.delay.is_some() || policy.window.is_some() {
            return EngineRestart::No;
        }
        match policy.condition {
            Condition::Never if asks_nothing(service) => EngineRestart::Unset,
            Condition::Never => EngineRestart::No,
            Condition::Always if policy.max_attempts.is_some() => EngineRestart::No,
            Condition::Always if asks_unless_stopped(service) => EngineRestart::UnlessStopped,
            Condition::Always => EngineRestart::Always,
            Condition::OnFailure => EngineRestart::OnFailure {
                max_retries: policy.max_attempts.unwrap_or(0),
            },
        }
    }

    /// The policy's name as the engine spells it (`""` when unset).
    pub fn name(self) -> &'static str {
        match self {
            EngineRestart::Unset => "",
            EngineRestart::No => "no",
            EngineRestart::Always => "always",
            EngineRestart::UnlessStopped => "unless-stopped",
            EngineRestart::OnFailure { .. } => "on-failure",
        }
    }

    /// `MaximumRetryCount`: only `on-failure` has one.
    pub fn max_retries(self) -> u64 {
        match self {
            EngineRestart::OnFailure { max_retries } => max_retries,
            _ => 0,
        }
    }

    /// Whether the engine restarts some exits by itself: the supervisor then leaves those to it.
    pub fn restarts_exits(self) -> bool {
        !matches!(self, EngineRestart::Unset | EngineRestart::No)
    }

    /// Whether the engine restarts every exit it is allowed to (`always`, `unless-stopped`): a
    /// replica it leaves exited was stopped or killed through the engine's API.
    pub fn restarts_every_exit(self) -> bool {
        matches!(self, EngineRestart::Always | EngineRestart::UnlessStopped)
    }
}

/// Neither `restart` nor a `deploy.restart_policy` condition is written.
fn asks_nothing(service: &Service) -> bool {
    service.restart.is_none() && deploy_condition(service).is_none()
}

/// The condition that decided is `unless-stopped` (`deploy.restart_policy` wins over `restart`).
fn asks_unless_stopped(service: &Service) -> bool {
    match deploy_condition(service) {
        Some(condition) => condition == RestartCondition::UnlessStopped,
        None => service.restart.as_deref() == Some("unless-stopped"),
    }
}

fn deploy_condition(service: &Service) -> Option<RestartCondition> {
    service.deploy.as_ref()?.restart_policy.as_ref()?.condition
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::model::{Deploy, RestartPolicy as DeployRestartPolicy};
    use crate::spec::short::Duration as SpecDuration;

    fn short(restart: &str) -> Service {
        Service {
            restart: Some(restart.to_string()),
            ..Service::default()
        }
    }

    fn deployed(
        restart: Option<&str>,
        condition: Option<RestartCondition>,
        max_attempts: Option<u64>,
        delay: Option<&str>,
        window: Option<&str>,
    ) -> Service {
        let duration = |text: &str| SpecDuration::parse(text).unwrap();
        Service {
            restart: restart.map(str::to_string),
            deploy: Some(Deploy {
                restart_policy: Some(DeployRestartPolicy {
                    condition,
                    delay: delay.map(duration),
                    max_attempts,
                    window: window.map(duration),
                }),
                ..Deploy::default()
            }),
            ..Service::default()
        }
    }

    fn written(service: &Service) -> String {
        let policy = EngineRestart::from_service(service);
        format!("{}:{}", policy.name(), policy.max_retries())
    }

    /// What compose v2.40.3 writes in `HostConfig.RestartPolicy` for the same services
    /// (`docker compose up -d`, then `docker inspect`), where the engine can apply the policy.
    #[test]
    fn the_engine_gets_what_compose_writes() {
        assert_eq!(written(&Service::default()), ":0");
        assert_eq!(written(&short("no")), "no:0");
        assert_eq!(written(&short("always")), "always:0");
        assert_eq!(written(&short("unless-stopped")), "unless-stopped:0");
        assert_eq!(written(&short("on-failure")), "on-failure:0");
        assert_eq!(written(&short("on-failure:3")), "on-failure:3");
        let any = deployed(None, Some(RestartCondition::Any), None, None, None);
        assert_eq!(written(&any), "always:0");
        let none = deployed(None, Some(RestartCondition::None), None, None, None);
        assert_eq!(written(&none), "no:0");
        let on_failure = deployed(None, Some(RestartCondition::OnFailure), Some(4), None, None);
        assert_eq!(written(&on_failure), "on-failure:4");
        // deploy wins over restart.
        let mixed = deployed(
            Some("always"),
            Some(RestartCondition::OnFailure),
            Some(2),
            None,
            None,
        );
        assert_eq!(written(&mixed), "on-failure:2");
        let unless = deployed(
            Some("always"),
            Some(RestartCondition::UnlessStopped),
            None,
            None,
            None,
        );
        assert_eq!(written(&unless), "unless-stopped:0");
    }

    #[test]
    fn what_the_engine_cannot_apply_stays_with_the_supervisor() {
        let keeps = |service: &Service| {
            assert_eq!(EngineRestart::from_service(service), EngineRestart::No);
        };
        // No delay in the engine (compose writes `on-failure:0` and drops it).
        keeps(&deployed(
            None,
            Some(RestartCondition::OnFailure),
            None,
            Some("5s"),
            None,
        ));
        // No window.
        keeps(&deployed(
            Some("on-failure:5"),
            None,
            None,
            None,
            Some("10s"),
        ));
        // No retry limit for `always` (the engine refuses one).
        keeps(&deployed(
            None,
            Some(RestartCondition::Any),
            Some(3),
            None,
            None,
        ));
        // Swarm's default condition `any`, with a delay.
        keeps(&deployed(None, None, None, Some("1s"), None));
        assert!(!EngineRestart::No.restarts_exits());
        assert!(!EngineRestart::Unset.restarts_exits());
        assert!(EngineRestart::OnFailure { max_retries: 0 }.restarts_exits());
        assert!(!EngineRestart::OnFailure { max_retries: 2 }.restarts_every_exit());
        assert!(EngineRestart::UnlessStopped.restarts_every_exit());
    }
}
