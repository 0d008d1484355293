//! The swarm's plans as golden text: each case's plan is compared with
//! `specs/swarm_plans/<case>.txt` (`WHARF_BLESS=1` rewrites them), as `plan::reconcile`'s are.

use std::fs;
use std::path::{Path, PathBuf};

use indexmap::IndexMap;
use serde_json::json;

use super::observed::{ObservedFile, ObservedNetwork, ObservedService, ObservedStack};
use super::plan::{self, SwarmOperation, SwarmPlan, UpOptions};
use super::scope::{Scope, dependencies};
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

/// `up` of the whole stack, with or without `--remove-orphans`.
fn up_all(stack: &Stack, observed: &ObservedStack, remove_orphans: bool) -> SwarmPlan {
    let options = UpOptions {
        remove_orphans,
        ..UpOptions::default()
    };
    plan::up(stack, observed, &options)
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
    let plan = up_all(&stack(SHOP), &ObservedStack::default(), false);
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
    let plan = up_all(&stack, &deployed(&stack), false);
    assert!(plan.operations.is_empty(), "{plan}");
}

#[test]
fn one_changed_service_is_the_only_one_updated_naming_the_fields() {
    let before = deployed(&stack(SHOP));
    let changed = SHOP
        .replace("GREETING=hello", "GREETING=bonjour")
        .replace("replicas: 3", "replicas: 4");
    let plan = up_all(&stack(&changed), &before, false);
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
    let kept = up_all(&stack(smaller), &before, false);
    golden(
        "up_orphans_kept",
        "db and the back network left the file: without --remove-orphans they stay, with a warning.",
        "--target swarm up -d",
        &kept,
    );
    let removed = up_all(&stack(smaller), &before, true);
    golden(
        "up_orphans_removed",
        "The same with --remove-orphans: db is removed, then the back network.",
        "--target swarm up -d --remove-orphans",
        &removed,
    );
}

#[test]
fn down_removes_services_then_networks() {
    let plan = plan::down(&deployed(&stack(SHOP)), &Scope::all(), &[]);
    golden(
        "down",
        "down: every service of the stack, then its networks.",
        "--target swarm down",
        &plan,
    );
}

#[test]
fn down_v_removes_the_stacks_volumes_on_the_node_last_and_a_scoped_down_none() {
    let volumes = ["shop_data".to_string()];
    let before = deployed(&stack(SHOP));
    golden(
        "down_volumes",
        "down -v: every service, its networks, then the stack's volumes on the node wharf talks to (each node that ran a task mounting one has its own copy).",
        "--target swarm down -v",
        &plan::down(&before, &Scope::all(), &volumes),
    );
    let graph = dependencies(&project(SHOP));
    let known = |name: &str| before.services.contains_key(name);
    let web = Scope::down("shop", &["web".into()], &graph, known).unwrap();
    let scoped = plan::down(&before, &web, &volumes).to_string();
    assert!(!scoped.contains("volume"), "db keeps its volumes: {scoped}");
}

#[test]
fn a_service_whose_mode_changes_is_replaced_and_a_removed_label_updates_it() {
    let before = deployed(&stack(SHOP));
    let changed = SHOP.replace("replicas: 3\n", "mode: global\n").replace(
        "      mode: global\n      restart_policy",
        "      restart_policy",
    );
    let plan = up_all(&stack(&changed), &before, false);
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
    let plan = up_all(&stack(SHOP), &deployed(&stack(&unlabelled)), false);
    assert!(
        plan.to_string()
            .contains("update service shop_db (TaskTemplate.ContainerSpec.Labels)"),
        "{plan}"
    );
}

#[test]
fn a_changed_healthcheck_is_told_by_its_label() {
    let before = deployed(&stack(SHOP));
    let plan = up_all(
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
    let plan = up_all(
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
        up_all(&stack, &deployed(&stack), false)
            .operations
            .is_empty()
    );
}

#[test]
fn a_changed_secret_is_a_new_version_rolled_into_its_services_and_the_old_one_removed() {
    let before = deployed(&files_stack(FILES, "first"));
    let plan = up_all(&files_stack(FILES, "second"), &before, false);
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
    let down = plan::down(&before, &Scope::all(), &[]);
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
    let kept = up_all(&changed, &before, false).to_string();
    assert!(!kept.contains("remove secret"), "{kept}");
    let removed = up_all(&changed, &before, true).to_string();
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
    let fresh = up_all(&stack(DEPENDS), &ObservedStack::default(), false);
    golden(
        "up_depends_on",
        "web waits for db to be healthy and for the migrate job to complete, worker for db to start; each wait comes after the dependency's own operation and before the dependent's.",
        "--target swarm up -d",
        &fresh,
    );
    let before = deployed(&stack(DEPENDS));
    let changed = up_all(
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
        up_all(&stack(DEPENDS), &before, false)
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
        &up_all(&stack(&plain), &before, false),
    );
    let with_rollback = SHOP.replace(
        "      endpoint_mode: dnsrr\n      update_config",
        "      endpoint_mode: dnsrr\n      rollback_config: {parallelism: 2}\n      update_config",
    );
    let removed = up_all(&stack(SHOP), &deployed(&stack(&with_rollback)), false);
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
    let up = up_all(&stack(&changed), &before, false);
    let ran: Vec<_> = up.operations.iter().collect();
    golden(
        "up_rollback",
        "An up that created the network side, a config and cache, replaced db (global to replicated) and updated web, then failed: last changed, first undone: web goes back to its previous spec, db is removed and created again as it was, cache is removed, then the config version it made (the network side stays).",
        "--target swarm up -d  (failed)",
        &plan::rollback(&ran, &before),
    );
}

/// `up` with service arguments (`no_deps`, `force_recreate` as the flags say).
fn up_scoped(
    stack: &Stack,
    observed: &ObservedStack,
    services: &[&str],
    no_deps: bool,
    force_recreate: bool,
) -> SwarmPlan {
    let keys: Vec<String> = services.iter().map(|s| s.to_string()).collect();
    let options = UpOptions {
        scope: Scope::up(stack, &keys, no_deps).expect("known services"),
        force_recreate,
        ..UpOptions::default()
    };
    plan::up(stack, observed, &options)
}

#[test]
fn a_scoped_up_deploys_the_named_service_and_its_dependencies_only() {
    let plan = up_scoped(
        &stack(DEPENDS),
        &ObservedStack::default(),
        &["web"],
        false,
        false,
    );
    golden(
        "up_scoped",
        "up web on an empty swarm: web and what it depends on (db, migrate), with their waits; worker is not created.",
        "--target swarm up -d web",
        &plan,
    );
    assert!(!plan.to_string().contains("worker"), "{plan}");
}

#[test]
fn a_scoped_up_with_no_deps_leaves_the_changed_dependencies_and_waits_for_none() {
    let before = deployed(&stack(DEPENDS));
    let changed = stack(
        &DEPENDS
            .replace("GREETING=hello", "GREETING=bonjour")
            .replace("deploy: {replicas: 2}", "deploy: {replicas: 3}"),
    );
    let plan = up_scoped(&changed, &before, &["web"], true, false);
    golden(
        "up_scoped_no_deps",
        "web and db changed; up --no-deps web updates web alone, waiting for no dependency (compose leaves them out).",
        "--target swarm up -d --no-deps web",
        &plan,
    );
    let with_deps = up_scoped(&changed, &before, &["web"], false, false).to_string();
    assert!(
        with_deps.contains("update service shop_db (Mode.Replicated.Replicas)")
            && with_deps.contains("wait for service shop_db: healthy"),
        "{with_deps}"
    );
}

#[test]
fn scale_sets_the_replicas_of_that_service_for_this_up() {
    let base = stack(SHOP);
    let before = deployed(&base);
    let mut scaled = base.clone();
    scaled.scale("web", 5).unwrap();
    golden(
        "up_scale",
        "--scale web=5 over the file's 3 replicas: only web is updated, its replicas; the next up without it goes back to the file's.",
        "--target swarm up -d --scale web=5",
        &up_all(&scaled, &before, false),
    );
    assert!(up_all(&base, &before, false).operations.is_empty());
    let mut global = base.clone();
    let refused = global.scale("db", 2).unwrap_err();
    assert!(refused.contains("deploy.mode is global"), "{refused}");
}

#[test]
fn force_recreate_updates_the_named_service_moving_its_force_counter_on() {
    let base = stack(SHOP);
    let mut before = deployed(&base);
    before.services["shop_web"].spec["TaskTemplate"]["ForceUpdate"] = json!(4);
    let plan = up_scoped(&base, &before, &["web"], false, true);
    golden(
        "up_force_recreate",
        "Nothing changed; up --force-recreate web updates web alone (its unchanged dependency db is not forced, as compose), its ForceUpdate counter moved on, as docker service update --force does.",
        "--target swarm up -d --force-recreate web",
        &plan,
    );
    let Some(SwarmOperation::UpdateService { spec, .. }) = plan.operations.last() else {
        panic!("{plan}");
    };
    let counter = spec.task_template.as_ref().unwrap().force_update;
    assert_eq!(counter, Some(5));
    // The moved counter is the swarm's: the next up does not take it back.
    assert!(up_all(&base, &before, false).operations.is_empty());
    let all = up_all_forced(&base, &before).to_string();
    assert!(
        all.contains("update service shop_db (TaskTemplate.ForceUpdate)"),
        "{all}"
    );
}

/// `up --force-recreate` without service arguments.
fn up_all_forced(stack: &Stack, observed: &ObservedStack) -> SwarmPlan {
    let options = UpOptions {
        force_recreate: true,
        ..UpOptions::default()
    };
    plan::up(stack, observed, &options)
}

#[test]
fn an_update_keeps_the_swarms_force_counter() {
    let base = stack(SHOP);
    let mut before = deployed(&base);
    before.services["shop_web"].spec["TaskTemplate"]["ForceUpdate"] = json!(2);
    let changed = stack(&SHOP.replace("replicas: 3", "replicas: 4"));
    let plan = up_all(&changed, &before, false);
    let Some(SwarmOperation::UpdateService { spec, fields, .. }) = plan.operations.last() else {
        panic!("{plan}");
    };
    assert_eq!(fields, &["Mode.Replicated.Replicas"]);
    assert_eq!(spec.task_template.as_ref().unwrap().force_update, Some(2));
}

#[test]
fn a_scoped_up_keeps_an_old_secret_version_that_a_service_out_of_scope_uses() {
    let before = deployed(&files_stack(FILES, "first"));
    let changed = files_stack(FILES, "second");
    let api = up_scoped(&changed, &before, &["api"], false, false);
    golden(
        "up_scoped_secret_kept",
        "token changed; up api creates its new version and updates api; worker, out of scope, still uses the old version, which stays.",
        "--target swarm up -d api",
        &api,
    );
    let worker = deployed(&files_stack(FILES, "second"));
    let mut after_api = before.clone();
    after_api.services["shop_api"] = worker.services["shop_api"].clone();
    after_api.files.extend(worker.files.clone());
    let rest = up_scoped(&changed, &after_api, &["worker"], false, false).to_string();
    assert!(rest.contains("remove secret shop_token_"), "{rest}");
}

#[test]
fn a_scoped_down_removes_those_services_and_what_no_other_service_uses() {
    let before = deployed(&stack(SHOP));
    let project = project(SHOP);
    let graph = dependencies(&project);
    let known = |name: &str| before.services.contains_key(name);
    let web = Scope::down("shop", &["web".into()], &graph, known).unwrap();
    golden(
        "down_scoped",
        "down web: web alone (nothing depends on it), then the front network, which only web used; back stays for db.",
        "--target swarm down web",
        &plan::down(&before, &web, &[]),
    );
    let db = Scope::down("shop", &["db".into()], &graph, known).unwrap();
    let both = plan::down(&before, &db, &[]).to_string();
    assert!(
        both.contains("remove service shop_web") && both.contains("remove network shop_back"),
        "down db takes web, which depends on it: {both}"
    );
    let files = deployed(&files_stack(FILES, "first"));
    let known = |name: &str| files.services.contains_key(name);
    let api = Scope::down("shop", &["api".into()], &IndexMap::new(), known).unwrap();
    let plan = plan::down(&files, &api, &[]).to_string();
    assert!(plan.contains("remove config shop_settings_"), "{plan}");
    assert!(
        !plan.contains("remove secret"),
        "worker uses the token: {plan}"
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
