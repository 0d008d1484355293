//! `deploy:` as the swarm applies it: the mode and replicas, the restart policy (from
//! `deploy.restart_policy`, else `restart:`), update and rollback settings, resources,
//! placement and the endpoint mode. These are what a service is on a cluster; compose's local
//! target reads only a few of them.

use bollard::models::{
    EndpointPortConfig, EndpointPortConfigProtocolEnum, EndpointPortConfigPublishModeEnum,
    EndpointSpec, EndpointSpecModeEnum, GenericResourcesInner,
    GenericResourcesInnerDiscreteResourceSpec, GenericResourcesInnerNamedResourceSpec, Limit,
    ResourceObject, ServiceSpecMode, ServiceSpecModeReplicated, ServiceSpecModeReplicatedJob,
    ServiceSpecRollbackConfig, ServiceSpecRollbackConfigFailureActionEnum,
    ServiceSpecRollbackConfigOrderEnum, ServiceSpecUpdateConfig,
    ServiceSpecUpdateConfigFailureActionEnum, ServiceSpecUpdateConfigOrderEnum, TaskSpecPlacement,
    TaskSpecPlacementPreferences, TaskSpecPlacementSpread, TaskSpecResources,
    TaskSpecRestartPolicy, TaskSpecRestartPolicyConditionEnum,
};

use super::container::nanos;
use crate::spec::model::{
    FailureAction, PortConfig, Resource, RestartCondition, Service, UpdateConfig, UpdateOrder,
};

/// Why a service's `deploy` cannot be applied as written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("service {service}: {message}")]
pub struct DeployError {
    pub service: String,
    pub message: String,
}

/// `deploy.mode` with its replica count: replicated (the default), global, replicated-job,
/// global-job.
pub fn mode(name: &str, service: &Service) -> Result<ServiceSpecMode, DeployError> {
    let replicas = i64::from(service.replicas());
    let written = service.deploy.as_ref().and_then(|d| d.mode.as_deref());
    Ok(match written.unwrap_or("replicated") {
        "replicated" => ServiceSpecMode {
            replicated: Some(ServiceSpecModeReplicated {
                replicas: Some(replicas),
            }),
            ..Default::default()
        },
        "global" => ServiceSpecMode {
            global: Some(Default::default()),
            ..Default::default()
        },
        "replicated-job" => ServiceSpecMode {
            replicated_job: Some(ServiceSpecModeReplicatedJob {
                max_concurrent: Some(replicas),
                total_completions: Some(replicas),
            }),
            ..Default::default()
        },
        "global-job" => ServiceSpecMode {
            global_job: Some(Default::default()),
            ..Default::default()
        },
        other => {
            return Err(DeployError {
                service: name.to_string(),
                message: format!(
                    "deploy.mode {other:?} is none of replicated, global, replicated-job, \
                     global-job"
                ),
            });
        }
    })
}

/// `mode` with `up --scale`'s count in place of the file's replicas: the count `deploy.replicas`
/// would give, for this `up`. A replicated job's is its total completions and how many run at a
/// time, as `deploy.replicas` sets both (`docker service scale` sets the completions alone; wharf
/// keeps the one rule that `--scale` stands for `deploy.replicas`). A global service or job runs
/// one task per node: there is no count to set, so it is refused rather than ignored.
pub fn scaled(mode: &mut ServiceSpecMode, replicas: u32) -> Result<(), String> {
    let replicas = Some(i64::from(replicas));
    if let Some(replicated) = mode.replicated.as_mut() {
        replicated.replicas = replicas;
        return Ok(());
    }
    if let Some(job) = mode.replicated_job.as_mut() {
        job.max_concurrent = replicas;
        job.total_completions = replicas;
        return Ok(());
    }
    let kind = match mode.global_job.is_some() {
        true => "global-job",
        false => "global",
    };
    Err(format!(
        "its deploy.mode is {kind}: a swarm runs one task of it on each node, there is no count \
         to scale (use deploy.placement to choose the nodes)"
    ))
}

/// The restart policy: `deploy.restart_policy`, else the one `restart:` means (as `docker
/// stack deploy` reads it), else the swarm's own default (none sent).
pub fn restart_policy(service: &Service) -> Option<TaskSpecRestartPolicy> {
    use TaskSpecRestartPolicyConditionEnum as C;
    if let Some(policy) = service
        .deploy
        .as_ref()
        .and_then(|d| d.restart_policy.as_ref())
    {
        let condition = policy.condition.map(|c| match c {
            RestartCondition::None | RestartCondition::No => C::NONE,
            RestartCondition::OnFailure => C::ON_FAILURE,
            RestartCondition::Any | RestartCondition::Always | RestartCondition::UnlessStopped => {
                C::ANY
            }
        });
        return Some(TaskSpecRestartPolicy {
            condition,
            delay: policy.delay.map(nanos),
            max_attempts: policy.max_attempts.map(|n| n as i64),
            window: policy.window.map(nanos),
        });
    }
    let restart = service.restart.as_deref()?;
    let (condition, attempts) = match restart.split_once(':') {
        Some(("on-failure", n)) => (C::ON_FAILURE, n.parse().ok()),
        _ => match restart {
            "no" => (C::NONE, None),
            "on-failure" => (C::ON_FAILURE, None),
            _ => (C::ANY, None),
        },
    };
    Some(TaskSpecRestartPolicy {
        condition: Some(condition),
        max_attempts: attempts,
        ..Default::default()
    })
}

/// `deploy.update_config`, with swarm's parallelism of 1 when it is not written.
pub fn update_config(service: &Service) -> Option<ServiceSpecUpdateConfig> {
    let config = service.deploy.as_ref()?.update_config.as_ref()?;
    Some(ServiceSpecUpdateConfig {
        parallelism: Some(parallelism(config)),
        delay: config.delay.map(nanos),
        failure_action: config.failure_action.map(|a| match a {
            FailureAction::Continue => ServiceSpecUpdateConfigFailureActionEnum::CONTINUE,
            FailureAction::Rollback => ServiceSpecUpdateConfigFailureActionEnum::ROLLBACK,
            FailureAction::Pause => ServiceSpecUpdateConfigFailureActionEnum::PAUSE,
        }),
        monitor: config.monitor.map(nanos),
        max_failure_ratio: config.max_failure_ratio,
        order: config.order.map(|o| match o {
            UpdateOrder::StopFirst => ServiceSpecUpdateConfigOrderEnum::STOP_FIRST,
            UpdateOrder::StartFirst => ServiceSpecUpdateConfigOrderEnum::START_FIRST,
        }),
    })
}

/// `deploy.rollback_config`; a rollback cannot itself roll back, so that action is refused.
pub fn rollback_config(
    name: &str,
    service: &Service,
) -> Result<Option<ServiceSpecRollbackConfig>, DeployError> {
    let Some(config) = service
        .deploy
        .as_ref()
        .and_then(|d| d.rollback_config.as_ref())
    else {
        return Ok(None);
    };
    let failure_action = match config.failure_action {
        None => None,
        Some(FailureAction::Continue) => Some(ServiceSpecRollbackConfigFailureActionEnum::CONTINUE),
        Some(FailureAction::Pause) => Some(ServiceSpecRollbackConfigFailureActionEnum::PAUSE),
        Some(FailureAction::Rollback) => {
            return Err(DeployError {
                service: name.to_string(),
                message: "deploy.rollback_config.failure_action cannot be rollback".into(),
            });
        }
    };
    Ok(Some(ServiceSpecRollbackConfig {
        parallelism: Some(parallelism(config)),
        delay: config.delay.map(nanos),
        failure_action,
        monitor: config.monitor.map(nanos),
        max_failure_ratio: config.max_failure_ratio,
        order: config.order.map(|o| match o {
            UpdateOrder::StopFirst => ServiceSpecRollbackConfigOrderEnum::STOP_FIRST,
            UpdateOrder::StartFirst => ServiceSpecRollbackConfigOrderEnum::START_FIRST,
        }),
    }))
}

fn parallelism(config: &UpdateConfig) -> i64 {
    config.parallelism.map_or(1, |n| n as i64)
}

/// `deploy.resources`: limits and reservations of CPUs and memory, and a limit of PIDs.
pub fn resources(service: &Service) -> Option<TaskSpecResources> {
    let resources = &service.deploy.as_ref()?.resources;
    if resources.is_empty() {
        return None;
    }
    let cpus = |r: &Resource| r.cpus.map(|c| (c * 1e9).round() as i64);
    let memory = |r: &Resource| r.memory.map(|m| m as i64);
    Some(TaskSpecResources {
        limits: resources.limits.as_ref().map(|r| Limit {
            nano_cpus: cpus(r),
            memory_bytes: memory(r),
            pids: r.pids,
        }),
        reservations: resources.reservations.as_ref().map(|r| ResourceObject {
            nano_cpus: cpus(r),
            memory_bytes: memory(r),
            generic_resources: generic_resources(&r.generic_resources),
        }),
        ..Default::default()
    })
}

/// `generic_resources` (a node's named or counted resources, such as GPUs, that a task
/// reserves): `discrete_resource_spec` `{kind, value}` a count, `named_resource_spec` a name.
fn generic_resources(written: &[serde_json::Value]) -> Option<Vec<GenericResourcesInner>> {
    let text = |v: &serde_json::Value, key: &str| v.get(key)?.as_str().map(str::to_string);
    let resources: Vec<GenericResourcesInner> = written
        .iter()
        .map(|resource| GenericResourcesInner {
            discrete_resource_spec: resource.get("discrete_resource_spec").map(|spec| {
                GenericResourcesInnerDiscreteResourceSpec {
                    kind: text(spec, "kind"),
                    value: spec.get("value").and_then(serde_json::Value::as_i64),
                }
            }),
            named_resource_spec: resource.get("named_resource_spec").map(|spec| {
                GenericResourcesInnerNamedResourceSpec {
                    kind: text(spec, "kind"),
                    value: text(spec, "value"),
                }
            }),
        })
        .collect();
    (!resources.is_empty()).then_some(resources)
}

/// `deploy.placement`: constraints, spread preferences and the most replicas per node.
pub fn placement(service: &Service) -> Option<TaskSpecPlacement> {
    let placement = service.deploy.as_ref()?.placement.as_ref()?;
    let strings = |key: &str| -> Option<Vec<String>> {
        let list = placement.get(key)?.as_array()?;
        Some(
            list.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect(),
        )
    };
    let preferences = placement
        .get("preferences")
        .and_then(|p| p.as_array())
        .map(|list| {
            list.iter()
                .filter_map(|p| p.get("spread")?.as_str())
                .map(|spread| TaskSpecPlacementPreferences {
                    spread: Some(TaskSpecPlacementSpread {
                        spread_descriptor: Some(spread.to_string()),
                    }),
                })
                .collect()
        });
    Some(TaskSpecPlacement {
        constraints: strings("constraints"),
        preferences,
        max_replicas: placement
            .get("max_replicas_per_node")
            .and_then(|n| n.as_i64()),
        platforms: None,
    })
}

/// The endpoint: `deploy.endpoint_mode` (a virtual IP unless `dnsrr`) and the published
/// ports, through the routing mesh (`ingress`, the default) or on the task's node (`host`).
pub fn endpoint(name: &str, service: &Service) -> Result<EndpointSpec, DeployError> {
    let written = service
        .deploy
        .as_ref()
        .and_then(|d| d.endpoint_mode.as_deref());
    let mode = match written.unwrap_or("vip") {
        "vip" => EndpointSpecModeEnum::VIP,
        "dnsrr" => EndpointSpecModeEnum::DNSRR,
        other => {
            return Err(DeployError {
                service: name.to_string(),
                message: format!("deploy.endpoint_mode {other:?} is neither vip nor dnsrr"),
            });
        }
    };
    let ports = service
        .ports
        .iter()
        .map(|port| endpoint_port(name, port))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(EndpointSpec {
        mode: Some(mode),
        ports: Some(ports),
    })
}

fn endpoint_port(name: &str, port: &PortConfig) -> Result<EndpointPortConfig, DeployError> {
    let error = |message: String| DeployError {
        service: name.to_string(),
        message,
    };
    let published = match port.published.as_deref() {
        None | Some("") => None,
        Some(text) => Some(text.parse::<u16>().map_err(|_| {
            error(format!(
                "published port {text:?}: the swarm publishes one port per entry, not a range"
            ))
        })?),
    };
    let protocol = match port.protocol.as_str() {
        "tcp" | "" => EndpointPortConfigProtocolEnum::TCP,
        "udp" => EndpointPortConfigProtocolEnum::UDP,
        "sctp" => EndpointPortConfigProtocolEnum::SCTP,
        other => return Err(error(format!("port protocol {other:?}"))),
    };
    let publish_mode = match port.mode.as_str() {
        "host" => EndpointPortConfigPublishModeEnum::HOST,
        _ => EndpointPortConfigPublishModeEnum::INGRESS,
    };
    Ok(EndpointPortConfig {
        name: None,
        protocol: Some(protocol),
        target_port: Some(i64::from(port.target)),
        published_port: published.map(i64::from),
        publish_mode: Some(publish_mode),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generic_resources_are_reserved_as_the_swarm_counts_and_names_them() {
        let web = crate::backend::swarm::stack::tests::service(
            "image: b\ndeploy:\n  resources:\n    reservations:\n      generic_resources:\n\
             \x20       - discrete_resource_spec: {kind: gpu, value: 2}\n\
             \x20       - named_resource_spec: {kind: ssd, value: fast}\n",
        );
        let reserved = resources(&web).unwrap().reservations.unwrap();
        let generic = reserved.generic_resources.unwrap();
        let discrete = generic[0].discrete_resource_spec.clone().unwrap();
        assert_eq!(
            (discrete.kind.as_deref(), discrete.value),
            (Some("gpu"), Some(2))
        );
        let named = generic[1].named_resource_spec.clone().unwrap();
        assert_eq!(
            (named.kind.as_deref(), named.value.as_deref()),
            (Some("ssd"), Some("fast"))
        );
    }
}
