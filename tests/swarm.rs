//! `--target swarm` on a real 3-node Docker Swarm made of lab nodes (`support::swarm`): the
//! swarm lives inside docker-in-docker nodes, never on the engine the other tests share. This
//! host has no IPVS, so the files use `endpoint_mode: dnsrr` and host-mode ports.

mod support;

use support::swarm::Swarm;

#[test]
fn a_lab_swarm_has_three_ready_nodes_that_hold_the_test_image() {
    let swarm = Swarm::start("swarm-lab", 3);
    for node in swarm.lab.nodes() {
        assert!(
            !node
                .docker(&["image", "ls", "-q", support::BUSYBOX_IMAGE])
                .is_empty()
        );
    }
    let roles = swarm
        .manager()
        .docker(&["node", "ls", "--format", "{{.ManagerStatus}}"]);
    assert_eq!(roles.lines().filter(|r| *r == "Leader").count(), 1);
}
