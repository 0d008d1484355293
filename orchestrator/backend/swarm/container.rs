//! What each task of a service runs: a compose service's container keys as a swarm
//! `ContainerSpec` (entrypoint and command as `docker stack deploy` sends them: the
//! entrypoint is the spec's `Command`, the command its `Args`).

use bollard::models::{HealthConfig, TaskSpecContainerSpec};

use super::names;
use crate::spec::model::{Healthcheck, Service};
use crate::spec::short::Duration;

/// The container spec of `service` in `project`, running `image`.
pub fn container_spec(project: &str, service: &Service, image: &str) -> TaskSpecContainerSpec {
    TaskSpecContainerSpec {
        image: Some(image.to_string()),
        labels: Some(names::with_namespace(project, &service.labels)),
        command: service.entrypoint.clone(),
        args: service.command.clone(),
        env: Some(environment(service)),
        hostname: service.hostname.clone(),
        dir: service.working_dir.clone(),
        user: service.user.clone(),
        tty: Some(service.tty),
        open_stdin: Some(service.stdin_open),
        read_only: Some(service.read_only),
        init: service.init,
        stop_signal: service.stop_signal.clone(),
        stop_grace_period: service.stop_grace_period.map(nanos),
        health_check: service.healthcheck.as_ref().map(health),
        capability_add: some_list(&service.cap_add),
        capability_drop: some_list(&service.cap_drop),
        sysctls: (!service.sysctls.is_empty())
            .then(|| service.sysctls.clone().into_iter().collect()),
        ..Default::default()
    }
}

/// `KEY=VALUE`, sorted so that the same file always sends the same spec; a variable the file
/// names without a value (and the environment did not set) is left out, as compose does.
fn environment(service: &Service) -> Vec<String> {
    let mut env: Vec<String> = service
        .environment
        .iter()
        .filter_map(|(key, value)| Some(format!("{key}={}", value.as_ref()?)))
        .collect();
    env.sort();
    env
}

fn health(check: &Healthcheck) -> HealthConfig {
    if check.disable {
        return HealthConfig {
            test: Some(vec!["NONE".to_string()]),
            ..Default::default()
        };
    }
    HealthConfig {
        test: check.test.clone(),
        interval: check.interval.map(nanos),
        timeout: check.timeout.map(nanos),
        retries: check.retries.map(|r| r as i64),
        start_period: check.start_period.map(nanos),
        start_interval: check.start_interval.map(nanos),
    }
}

/// A compose duration in the engine's nanoseconds.
pub fn nanos(duration: Duration) -> i64 {
    duration.0.as_nanos() as i64
}

fn some_list(list: &[String]) -> Option<Vec<String>> {
    (!list.is_empty()).then(|| list.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn service(yaml: &str) -> Service {
        crate::backend::swarm::stack::tests::service(yaml)
    }

    #[test]
    fn entrypoint_and_command_are_the_specs_command_and_args() {
        let spec = container_spec(
            "shop",
            &service("image: busybox\nentrypoint: [sh, -c]\ncommand: [echo hi]\n"),
            "busybox",
        );
        assert_eq!(spec.command, Some(vec!["sh".into(), "-c".into()]));
        assert_eq!(spec.args, Some(vec!["echo hi".into()]));
    }

    #[test]
    fn the_environment_is_sorted_and_unset_variables_are_left_out() {
        let spec = container_spec(
            "shop",
            &service("image: busybox\nenvironment: {B: '2', A: '1', UNSET: null}\n"),
            "busybox",
        );
        assert_eq!(spec.env, Some(vec!["A=1".into(), "B=2".into()]));
    }

    #[test]
    fn the_containers_carry_the_stack_label_and_their_own() {
        let spec = container_spec(
            "shop",
            &service("image: busybox\nlabels: [tier=web]\n"),
            "b",
        );
        let labels = spec.labels.unwrap();
        assert_eq!(labels["tier"], "web");
        assert_eq!(labels[names::NAMESPACE], "shop");
    }

    #[test]
    fn a_healthcheck_is_in_nanoseconds_and_disable_is_none() {
        let spec = container_spec(
            "shop",
            &service("image: b\nhealthcheck: {test: [CMD, true], interval: 2s, retries: 3}\n"),
            "b",
        );
        let check = spec.health_check.unwrap();
        assert_eq!(check.interval, Some(2_000_000_000));
        assert_eq!(check.retries, Some(3));
        let off = container_spec(
            "shop",
            &service("image: b\nhealthcheck: {disable: true}\n"),
            "b",
        );
        assert_eq!(off.health_check.unwrap().test, Some(vec!["NONE".into()]));
    }
}
