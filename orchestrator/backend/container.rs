//! The local target: a project's containers on one Docker-compatible engine, as compose makes
//! them. The engine restarts nothing, rolls nothing out and resolves service names only as
//! Docker aliases, so wharf owns all three; the plan is `plan::reconcile`, the executor the
//! DAG runner over the engine port.

use std::sync::Arc;

use async_trait::async_trait;
use futures_util::StreamExt;
use futures_util::stream::BoxStream;

use super::{Backend, Fact, Owned, Progress, Replica};
use crate::desired::Desired;
use crate::engine::labels;
use crate::engine::{ContainerEngine, EngineError, EngineEvent, EventAction, EventKind, Health};
use crate::execute::{self, ExecuteOptions, Report};
use crate::observe::{self, Observed};
use crate::plan::{self, Plan, PlanError, ReconcileOptions};

/// Compose's containers on one engine.
#[derive(Clone)]
pub struct ContainerBackend {
    engine: Arc<dyn ContainerEngine>,
}

impl ContainerBackend {
    pub fn new(engine: Arc<dyn ContainerEngine>) -> ContainerBackend {
        ContainerBackend { engine }
    }

    /// The engine port, for what is not converging (logs, exec, copies).
    pub fn engine(&self) -> &Arc<dyn ContainerEngine> {
        &self.engine
    }
}

#[async_trait]
impl Backend for ContainerBackend {
    type Observed = Observed;
    type Plan = Plan;

    fn owns(&self) -> Owned {
        Owned::default()
    }

    async fn observe(
        &self,
        project: &str,
        desired: Option<&Desired>,
    ) -> Result<Observed, EngineError> {
        observe::observe(self.engine.as_ref(), project, desired).await
    }

    fn plan(
        &self,
        desired: &Desired,
        observed: &Observed,
        options: &ReconcileOptions,
    ) -> Result<Plan, PlanError> {
        plan::reconcile(desired, observed, options)
    }

    async fn execute(&self, project: &str, plan: &Plan, progress: Progress<'_>) -> Report {
        let options = ExecuteOptions::new(project);
        execute::run(plan, self.engine.clone(), &options, progress).await
    }

    async fn facts(&self, project: &str) -> Result<BoxStream<'static, Fact>, EngineError> {
        let events = self.engine.events(project).await?;
        let facts = events.filter_map(|event| async move {
            match event {
                Ok(event) => fact(&event),
                Err(_) => Some(Fact::Resync),
            }
        });
        Ok(facts.boxed())
    }
}

impl super::Planned for Plan {
    fn warnings(&self) -> &[String] {
        &self.warnings
    }

    fn operations(&self) -> usize {
        self.operations.len()
    }
}

/// The fact an engine event states about a replica; `None` for what concerns no replica
/// (networks, volumes, one-off containers, a rename, an exec).
pub fn fact(event: &EngineEvent) -> Option<Fact> {
    if event.kind != EventKind::Container || labels::is_one_off(&event.labels) {
        return None;
    }
    let replica = Replica {
        service: event.service()?.to_string(),
        number: event.number()?,
        id: event.id.clone(),
    };
    Some(match &event.action {
        EventAction::Die { exit_code } => Fact::Exited {
            replica,
            code: *exit_code,
        },
        EventAction::HealthStatus(Health::Unhealthy) => Fact::Unhealthy { replica },
        EventAction::HealthStatus(Health::Healthy) => Fact::Healthy { replica },
        EventAction::Start | EventAction::Unpause => Fact::Started { replica },
        EventAction::Stop | EventAction::Kill { .. } | EventAction::Pause => {
            Fact::Stopped { replica }
        }
        EventAction::Destroy => Fact::Removed { replica },
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn event(kind: EventKind, action: EventAction, labels: &[(&str, &str)]) -> EngineEvent {
        EngineEvent {
            kind,
            action,
            id: "c0ffee".into(),
            name: "shop-web-2".into(),
            labels: labels
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<HashMap<_, _>>(),
            time_nanos: 0,
        }
    }

    fn replica() -> Replica {
        Replica {
            service: "web".into(),
            number: 2,
            id: "c0ffee".into(),
        }
    }

    const WEB_2: [(&str, &str); 2] = [(labels::SERVICE, "web"), (labels::NUMBER, "2")];

    #[test]
    fn a_replicas_engine_events_are_facts() {
        let container = |action| fact(&event(EventKind::Container, action, &WEB_2));
        assert_eq!(
            container(EventAction::Die { exit_code: Some(3) }),
            Some(Fact::Exited {
                replica: replica(),
                code: Some(3)
            })
        );
        assert_eq!(
            container(EventAction::HealthStatus(Health::Unhealthy)),
            Some(Fact::Unhealthy { replica: replica() })
        );
        assert_eq!(
            container(EventAction::Kill { signal: Some(9) }),
            Some(Fact::Stopped { replica: replica() })
        );
        assert_eq!(
            container(EventAction::Destroy),
            Some(Fact::Removed { replica: replica() })
        );
        assert_eq!(container(EventAction::Create), None);
    }

    #[test]
    fn what_is_not_a_replica_states_no_fact() {
        let network = event(EventKind::Network, EventAction::Destroy, &WEB_2);
        assert_eq!(fact(&network), None);
        let one_off = event(
            EventKind::Container,
            EventAction::Die { exit_code: Some(0) },
            &[
                (labels::SERVICE, "web"),
                (labels::NUMBER, "1"),
                (labels::ONEOFF, "True"),
            ],
        );
        assert_eq!(fact(&one_off), None);
    }
}
