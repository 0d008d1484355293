//! The swarm's plans as golden text: each case's plan is compared with
//! `specs/swarm_plans/<case>.txt` (`WHARF_BLESS=1` rewrites them), as `plan::reconcile`'s are.

use std::fs;
use std::path::{Path, PathBuf};

use serde_json::json;

use super::observed::{ObservedFile, ObservedNetwork, ObservedService, ObservedStack};
use super::plan::{self, SwarmPlan};
use super::stack::Stack;
use super::stack::tests::project;

const SHOP: &str = r#"
services:
  web:
    image: wharf-test/busybox:latest
    command: [httpd, -f, -p, "80"]
    environment: [GREETING=hello]
    depends_on: [db]
    networks: [front, back]
    ports: [{target: 80, published: 8080, mode: host}]
    deploy:
      replicas: 3
      endpoint_mode: dnsrr
      update_config: {parallelism: 1, order: start-first}
      placement: {constraints: [node.role == worker]}
  db:
    image: wharf-test/busybox:latest
    command: [sleep, "3600"]
    networks:
      back: {aliases: [database]}
    healthcheck: {test: [CMD, "true"], interval: 2s}
    deploy:
      mode: global
      restart_policy: {condition: on-failure, max_attempts: 3}
      resources: {limits: {cpus: "0.5", memory: 64M}}
    privileged: true
networks:
  front: {}
  back: {}
"#;

/// A service with a secret and a config, and one that shares the secret.
const FILES: &str = r#"
services:
  api:
    image: wharf-test/busybox:latest
    secrets: [{source: token, target: api-token, mode: 0400}]
    configs: [settings]
  worker:
    image: wharf-test/busybox:latest
    secrets: [token]
secrets:
  token: {file: TOKEN_FILE}
configs:
  settings: {content: "level=debug"}
"#;

/// The stack of `FILES` (or of `yaml`, written like it) with the secret `token` holding
/// `token`.
fn files_stack(yaml: &str, token: &str) -> Stack {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("token");
    fs::write(&path, token).expect("the secret's file");
    stack(&yaml.replace("TOKEN_FILE", &path.display().to_string()))
}

fn stack(yaml: &str) -> Stack {
    Stack::new(&project(yaml)).expect("the stack maps")
}

/// The swarm after `stack` was deployed: its specs as the engine returns them, with what the
/// engine fills in by itself.
fn deployed(stack: &Stack) -> ObservedStack {
    let services = stack.services.iter().enumerate().map(|(i, (name, spec))| {
        let mut spec = serde_json::to_value(spec).unwrap();
        spec["TaskTemplate"]["Runtime"] = json!("container");
        spec["TaskTemplate"]["ForceUpdate"] = json!(0);
        spec["TaskTemplate"]["ContainerSpec"]["Isolation"] = json!("default");
        for config in ["UpdateConfig", "RollbackConfig"] {
            if let Some(config) = spec.get_mut(config) {
                config["FailureAction"] = json!("pause");
                config["Order"] = config.get("Order").cloned().unwrap_or(json!("stop-first"));
            }
        }
        // bollard reads the engine's `Healthcheck` as nothing.
        if let Some(container) = spec.pointer_mut("/TaskTemplate/ContainerSpec") {
            container.as_object_mut().unwrap().remove("HealthCheck");
        }
        let service = ObservedService {
            id: format!("service{i}"),
            version: 10 + i as u64,
            spec,
        };
        (name.clone(), service)
    });
    let networks = stack.networks.keys().enumerate().map(|(i, name)| {
        let network = ObservedNetwork {
            id: format!("network{i}"),
        };
        (name.clone(), network)
    });
    let files = stack.files.owned.values().enumerate().map(|(i, file)| {
        let id = format!("file{i}");
        (
            file.name.clone(),
            ObservedFile {
                kind: file.kind,
                id,
            },
        )
    });
    ObservedStack {
        services: services.collect(),
        networks: networks.collect(),
        files: files.collect(),
    }
}

#[test]
fn a_fresh_stack_creates_networks_then_services_dependencies_first() {
    let plan = plan::up(&stack(SHOP), &ObservedStack::default(), false);
    golden(
        "up_fresh",
        "A fresh project: its overlay networks, then db before web (web depends on it); privileged warned about.",
        "--target swarm up -d",
        &plan,
    );
}

#[test]
fn an_unchanged_stack_plans_nothing() {
    let stack = stack(SHOP);
    let plan = plan::up(&stack, &deployed(&stack), false);
    assert!(plan.operations.is_empty(), "{plan}");
}

#[test]
fn one_changed_service_is_the_only_one_updated_naming_the_fields() {
    let before = deployed(&stack(SHOP));
    let changed = SHOP
        .replace("GREETING=hello", "GREETING=bonjour")
        .replace("replicas: 3", "replicas: 4");
    let plan = plan::up(&stack(&changed), &before, false);
    golden(
        "up_one_changed",
        "web's environment and replicas changed: only web is updated, with the fields that differ.",
        "--target swarm up -d",
        &plan,
    );
}

#[test]
fn orphans_are_warned_about_or_removed_with_their_networks() {
    let before = deployed(&stack(SHOP));
    let smaller = "services:\n  web:\n    image: wharf-test/busybox:latest\n    command: [httpd, -f, -p, \"80\"]\n    environment: [GREETING=hello]\n    networks: [front]\n    ports: [{target: 80, published: 8080, mode: host}]\n    deploy:\n      replicas: 3\n      endpoint_mode: dnsrr\n      update_config: {parallelism: 1, order: start-first}\n      placement: {constraints: [node.role == worker]}\nnetworks:\n  front: {}\n";
    let kept = plan::up(&stack(smaller), &before, false);
    golden(
        "up_orphans_kept",
        "db and the back network left the file: without --remove-orphans they stay, with a warning.",
        "--target swarm up -d",
        &kept,
    );
    let removed = plan::up(&stack(smaller), &before, true);
    golden(
        "up_orphans_removed",
        "The same with --remove-orphans: db is removed, then the back network.",
        "--target swarm up -d --remove-orphans",
        &removed,
    );
}

#[test]
fn down_removes_services_then_networks() {
    let plan = plan::down(&deployed(&stack(SHOP)));
    golden(
        "down",
        "down: every service of the stack, then its networks.",
        "--target swarm down",
        &plan,
    );
}

#[test]
fn a_service_whose_mode_changes_is_replaced_and_a_removed_label_updates_it() {
    let before = deployed(&stack(SHOP));
    let changed = SHOP.replace("replicas: 3\n", "mode: global\n").replace(
        "      mode: global\n      restart_policy",
        "      restart_policy",
    );
    let plan = plan::up(&stack(&changed), &before, false);
    golden(
        "up_mode_changed",
        "web turns global and db replicated: a swarm cannot change a mode in place, so both are replaced.",
        "--target swarm up -d",
        &plan,
    );
    let unlabelled = SHOP.replace(
        "    privileged: true\n",
        "    privileged: true\n    labels: [gone=soon]\n",
    );
    let plan = plan::up(&stack(SHOP), &deployed(&stack(&unlabelled)), false);
    assert!(
        plan.to_string()
            .contains("update service shop_db (TaskTemplate.ContainerSpec.Labels)"),
        "{plan}"
    );
}

#[test]
fn a_changed_healthcheck_is_told_by_its_label() {
    let before = deployed(&stack(SHOP));
    let plan = plan::up(
        &stack(&SHOP.replace("interval: 2s", "interval: 3s")),
        &before,
        false,
    );
    assert_eq!(plan.operations.len(), 1, "{plan}");
    assert!(
        plan.to_string().contains("(Labels.dev.wharf.healthcheck)"),
        "{plan}"
    );
}

#[test]
fn secrets_and_configs_are_created_before_their_services() {
    let plan = plan::up(
        &files_stack(FILES, "first"),
        &ObservedStack::default(),
        false,
    );
    golden(
        "up_files_fresh",
        "A secret and a config, named by a hash of their content, created before the services that use them.",
        "--target swarm up -d",
        &plan,
    );
    let stack = files_stack(FILES, "first");
    assert!(
        plan::up(&stack, &deployed(&stack), false)
            .operations
            .is_empty()
    );
}

#[test]
fn a_changed_secret_is_a_new_version_rolled_into_its_services_and_the_old_one_removed() {
    let before = deployed(&files_stack(FILES, "first"));
    let plan = plan::up(&files_stack(FILES, "second"), &before, false);
    golden(
        "up_secret_rotated",
        "token's content changed: its new version is created, both services that use it are updated to it, then the old version is removed.",
        "--target swarm up -d",
        &plan,
    );
    let (deploy, old) = plan.split_old_files();
    assert_eq!(
        (deploy.operations.len(), old.operations.len()),
        (3, 1),
        "{plan}"
    );
    assert!(
        old.to_string().contains("remove secret shop_token_"),
        "{old}"
    );
    let down = plan::down(&before);
    golden(
        "down_files",
        "down: the services, then the stack's own secrets and configs.",
        "--target swarm down",
        &down,
    );
}

#[test]
fn an_old_version_that_a_kept_orphan_still_uses_is_not_removed() {
    let before = deployed(&files_stack(FILES, "first"));
    let without_worker = FILES.replace(
        "  worker:\n    image: wharf-test/busybox:latest\n    secrets: [token]\n",
        "",
    );
    let changed = files_stack(&without_worker, "second");
    let kept = plan::up(&changed, &before, false).to_string();
    assert!(!kept.contains("remove secret"), "{kept}");
    let removed = plan::up(&changed, &before, true).to_string();
    assert!(removed.contains("remove secret shop_token_"), "{removed}");
}

/// `depends_on` with each condition: a job that migrates, a database that becomes healthy,
/// and a web service that waits for both; a worker that waits for the database to start.
const DEPENDS: &str = r#"
services:
  web:
    image: wharf-test/busybox:latest
    environment: [GREETING=hello]
    depends_on:
      db: {condition: service_healthy}
      migrate: {condition: service_completed_successfully}
  worker:
    image: wharf-test/busybox:latest
    depends_on: [db]
  migrate:
    image: wharf-test/busybox:latest
    command: [sh, -c, "echo migrated"]
    deploy: {mode: replicated-job}
  db:
    image: wharf-test/busybox:latest
    healthcheck: {test: [CMD, "true"], interval: 2s}
    deploy: {replicas: 2}
"#;

#[test]
fn a_dependent_waits_for_its_dependencies_conditions_before_it_is_created_or_updated() {
    let fresh = plan::up(&stack(DEPENDS), &ObservedStack::default(), false);
    golden(
        "up_depends_on",
        "web waits for db to be healthy and for the migrate job to complete, worker for db to start; each wait comes after the dependency's own operation and before the dependent's.",
        "--target swarm up -d",
        &fresh,
    );
    let before = deployed(&stack(DEPENDS));
    let changed = plan::up(
        &stack(&DEPENDS.replace("GREETING=hello", "GREETING=bonjour")),
        &before,
        false,
    );
    golden(
        "up_depends_on_changed",
        "Only web changed: it is updated once its unchanged dependencies are healthy and complete; worker, unchanged, waits for nothing.",
        "--target swarm up -d",
        &changed,
    );
    assert!(
        plan::up(&stack(DEPENDS), &before, false)
            .operations
            .is_empty()
    );
}

#[test]
fn settings_removed_from_the_file_update_the_service_back_to_swarms_defaults() {
    let before = deployed(&stack(SHOP));
    let plain = SHOP
        .replace(
            "      update_config: {parallelism: 1, order: start-first}\n      placement: {constraints: [node.role == worker]}\n",
            "",
        )
        .replace(
            "      restart_policy: {condition: on-failure, max_attempts: 3}\n      resources: {limits: {cpus: \"0.5\", memory: 64M}}\n",
            "",
        );
    golden(
        "up_settings_removed",
        "web's update_config and placement, db's restart_policy and resources left the file: both services are updated back to swarm's defaults.",
        "--target swarm up -d",
        &plan::up(&stack(&plain), &before, false),
    );
    let with_rollback = SHOP.replace(
        "      endpoint_mode: dnsrr\n      update_config",
        "      endpoint_mode: dnsrr\n      rollback_config: {parallelism: 2}\n      update_config",
    );
    let removed = plan::up(&stack(SHOP), &deployed(&stack(&with_rollback)), false);
    assert!(
        removed
            .to_string()
            .contains("update service shop_web (RollbackConfig)"),
        "{removed}"
    );
}

#[test]
fn a_failed_up_is_undone_service_by_service_last_first() {
    let before = deployed(&stack(SHOP));
    let changed = SHOP
        .replace("GREETING=hello", "GREETING=bonjour")
        .replace(
            "      mode: global\n      restart_policy",
            "      restart_policy",
        )
        .replace(
            "\nnetworks:\n  front: {}",
            "\n  cache:\n    image: wharf-test/busybox:latest\n    configs: [cache]\n    networks: [side]\nconfigs:\n  cache: {content: size=1m}\nnetworks:\n  side: {}\n  front: {}",
        );
    let up = plan::up(&stack(&changed), &before, false);
    let ran: Vec<_> = up.operations.iter().collect();
    golden(
        "up_rollback",
        "An up that created the network side, a config and cache, replaced db (global to replicated) and updated web, then failed: last changed, first undone: web goes back to its previous spec, db is removed and created again as it was, cache is removed, then the config version it made (the network side stays).",
        "--target swarm up -d  (failed)",
        &plan::rollback(&ran, &before),
    );
}

#[test]
fn every_golden_file_has_a_test() {
    let source = include_str!("plan_tests.rs");
    for entry in fs::read_dir(specs_dir()).expect("specs/swarm_plans") {
        let path = entry.expect("a directory entry").path();
        let case = path.file_stem().unwrap().to_str().unwrap().to_string();
        assert!(
            source.contains(&format!("\"{case}\",")),
            "{} has no test",
            path.display()
        );
    }
}

fn specs_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("specs/swarm_plans")
}

/// Compares (or with `WHARF_BLESS=1` writes) `specs/swarm_plans/<case>.txt`.
fn golden(case: &str, about: &str, command: &str, plan: &SwarmPlan) {
    let mut text = format!("# {about}\n$ wharf {command}\n");
    match plan.operations.is_empty() && plan.warnings.is_empty() {
        true => text.push_str("(no operations)\n"),
        false => text.push_str(&plan.to_string()),
    }
    let path = specs_dir().join(format!("{case}.txt"));
    if std::env::var("WHARF_BLESS").is_ok_and(|v| !v.is_empty() && v != "0") {
        assert!(
            std::env::var_os("CI").is_none(),
            "WHARF_BLESS is refused under CI"
        );
        fs::create_dir_all(specs_dir()).expect("specs/swarm_plans");
        fs::write(&path, &text).expect("write the golden file");
        return;
    }
    let expected = fs::read_to_string(&path).unwrap_or_else(|_| {
        panic!(
            "no {} (run with WHARF_BLESS=1 to create it)\nactual:\n{text}",
            path.display()
        )
    });
    pretty_assertions::assert_eq!(
        expected,
        text,
        "{case}: plan differs from {}",
        path.display()
    );
}
