//! What each task of a service runs: a compose service's container keys as a swarm
//! `ContainerSpec` (entrypoint and command as `docker stack deploy` sends them: the
//! entrypoint is the spec's `Command`, the command its `Args`).

use bollard::models::{
    HealthConfig, ResourcesUlimits, TaskSpecContainerSpec, TaskSpecContainerSpecDnsConfig,
    TaskSpecLogDriver,
};

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
        hosts: some_list(&hosts(&service.extra_hosts)),
        dns_config: dns_config(service),
        groups: some_list(&service.group_add),
        ulimits: ulimits(service),
        ..Default::default()
    }
}

/// `extra_hosts` (`host:address`, the canonical form) as a swarm writes `/etc/hosts`
/// entries: `address host`, as `docker stack deploy` sends them.
fn hosts(extra_hosts: &[String]) -> Vec<String> {
    extra_hosts
        .iter()
        .filter_map(|entry| {
            let (host, address) = entry.split_once(':')?;
            Some(format!("{address} {host}"))
        })
        .collect()
}

/// `dns`, `dns_search` and `dns_opt` as the task's resolver configuration.
fn dns_config(service: &Service) -> Option<TaskSpecContainerSpecDnsConfig> {
    let set = [&service.dns, &service.dns_search, &service.dns_opt];
    set.iter()
        .any(|list| !list.is_empty())
        .then(|| TaskSpecContainerSpecDnsConfig {
            nameservers: some_list(&service.dns),
            search: some_list(&service.dns_search),
            options: some_list(&service.dns_opt),
        })
}

fn ulimits(service: &Service) -> Option<Vec<ResourcesUlimits>> {
    let ulimits = crate::desired::Ulimit::all(&service.ulimits);
    (!ulimits.is_empty()).then(|| {
        ulimits
            .into_iter()
            .map(|u| ResourcesUlimits {
                name: Some(u.name),
                soft: Some(u.soft),
                hard: Some(u.hard),
            })
            .collect()
    })
}

/// `logging`: the tasks' log driver and its options.
pub fn log_driver(service: &Service) -> Option<TaskSpecLogDriver> {
    let logging = service.logging.as_ref()?;
    Some(TaskSpecLogDriver {
        name: logging.driver.clone(),
        options: (!logging.options.is_empty())
            .then(|| logging.options.clone().into_iter().collect()),
    })
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
    fn hosts_resolver_groups_and_ulimits_are_the_tasks() {
        let spec = container_spec(
            "shop",
            &service(
                "image: b\nextra_hosts: [\"db:10.0.0.5\", \"v6=::1\"]\ndns: [10.0.0.53]\n\
                 dns_search: [example.org]\ndns_opt: [ndots:2]\ngroup_add: [audio]\n\
                 ulimits: {nofile: {soft: 1024, hard: 2048}, nproc: 512}\n",
            ),
            "b",
        );
        assert_eq!(
            spec.hosts,
            Some(vec!["10.0.0.5 db".into(), "::1 v6".into()])
        );
        let dns = spec.dns_config.unwrap();
        assert_eq!(dns.nameservers, Some(vec!["10.0.0.53".into()]));
        assert_eq!(dns.search, Some(vec!["example.org".into()]));
        assert_eq!(dns.options, Some(vec!["ndots:2".into()]));
        assert_eq!(spec.groups, Some(vec!["audio".into()]));
        let ulimits = spec.ulimits.unwrap();
        assert_eq!(ulimits[0].name.as_deref(), Some("nofile"));
        assert_eq!((ulimits[0].soft, ulimits[0].hard), (Some(1024), Some(2048)));
        assert_eq!((ulimits[1].soft, ulimits[1].hard), (Some(512), Some(512)));
        let bare = container_spec("shop", &service("image: b\n"), "b");
        assert_eq!(
            (bare.hosts, bare.dns_config, bare.ulimits),
            (None, None, None)
        );
    }

    #[test]
    fn logging_is_the_tasks_log_driver() {
        let web = service("image: b\nlogging: {driver: json-file, options: {max-size: 1m}}\n");
        let driver = log_driver(&web).unwrap();
        assert_eq!(driver.name.as_deref(), Some("json-file"));
        assert_eq!(driver.options.unwrap()["max-size"], "1m");
        assert_eq!(log_driver(&service("image: b\n")), None);
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
