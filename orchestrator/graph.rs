//! The service dependency graph of a compose project.
//!
//! Services are nodes and every `depends_on` entry is an edge from the dependent service to its
//! dependency. [`ServiceGraph::new`] validates the graph (no unknown dependencies, no cycles) and
//! computes the parallel start levels once; every query afterwards is a cheap read.
//!
//! Determinism: every list of services this module returns is in *start order* (by start level,
//! then by name), and "alphabetical" means byte-wise [`str`] ordering. Internally the nodes are
//! inserted into the petgraph graph in alphabetical order, so node-index order is name order and
//! results never depend on the order services were declared in (except which unknown dependency
//! is reported first, which follows file order).

use std::collections::{HashSet, VecDeque};

use indexmap::IndexMap;
use petgraph::Direction;
use petgraph::algo::kosaraju_scc;
use petgraph::graph::{DiGraph, NodeIndex};

/// Why a set of services cannot be ordered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GraphError {
    /// `a -> b -> c -> a`: the whole cycle, following `depends_on` direction, starting from the
    /// alphabetically-smallest service in it and ending with that service again. A
    /// self-dependency is `[a, a]`.
    ///
    /// With several cycles, the reported one goes through the alphabetically-smallest service
    /// that lies on any cycle; it is the shortest cycle through that service, ties broken by
    /// preferring alphabetically-smaller services at each step.
    #[error("dependency cycle detected: {}", .0.join(" -> "))]
    Cycle(Vec<String>),
    /// A `depends_on` entry names a service that is not defined. The first such entry in file
    /// order is reported.
    #[error("service {service:?} depends on undefined service {dependency:?}")]
    UnknownDependency { service: String, dependency: String },
}

/// The validated, acyclic dependency graph of a project's services.
#[derive(Debug, Clone)]
pub struct ServiceGraph {
    /// Edges point from a dependent to its dependency. Node indices are in alphabetical order of
    /// the service names.
    graph: DiGraph<String, ()>,
    /// Every service, in file (first-declared) order.
    index: IndexMap<String, NodeIndex>,
    /// Start levels; each level is in node-index (that is, alphabetical) order.
    levels: Vec<Vec<NodeIndex>>,
}

impl ServiceGraph {
    /// Builds and validates the graph.
    ///
    /// `services`: every service with the names it depends on, in file order. A service listed
    /// twice has its dependencies merged; repeated dependencies are ignored.
    ///
    /// Runs in O(V log V + E): one sort of the names, then linear work.
    pub fn new<'a, I, D>(services: I) -> Result<Self, GraphError>
    where
        I: IntoIterator<Item = (&'a str, D)>,
        D: IntoIterator<Item = &'a str>,
    {
        let entries: Vec<(&'a str, Vec<&'a str>)> = services
            .into_iter()
            .map(|(name, deps)| (name, deps.into_iter().collect()))
            .collect();

        // Add the nodes in alphabetical order so that index order is name order.
        let mut names: Vec<&str> = entries.iter().map(|(name, _)| *name).collect();
        names.sort_unstable();
        names.dedup();
        let mut graph = DiGraph::with_capacity(
            names.len(),
            entries.iter().map(|(_, deps)| deps.len()).sum(),
        );
        let mut by_name: std::collections::HashMap<&str, NodeIndex> =
            std::collections::HashMap::with_capacity(names.len());
        for name in names {
            by_name.insert(name, graph.add_node(name.to_owned()));
        }
        let index: IndexMap<String, NodeIndex> = entries
            .iter()
            .map(|(name, _)| ((*name).to_owned(), by_name[name]))
            .collect();

        let mut seen_edges = HashSet::new();
        for (name, deps) in &entries {
            let from = by_name[name];
            for dep in deps {
                let Some(&to) = by_name.get(dep) else {
                    return Err(GraphError::UnknownDependency {
                        service: (*name).to_owned(),
                        dependency: (*dep).to_owned(),
                    });
                };
                if seen_edges.insert((from, to)) {
                    graph.add_edge(from, to, ());
                }
            }
        }

        let levels = match levels_of(&graph) {
            Some(levels) => levels,
            None => return Err(GraphError::Cycle(find_cycle(&graph))),
        };
        Ok(Self {
            graph,
            index,
            levels,
        })
    }

    /// Number of services.
    pub fn len(&self) -> usize {
        self.graph.node_count()
    }

    /// Whether the project has no services.
    pub fn is_empty(&self) -> bool {
        self.graph.node_count() == 0
    }

    /// Whether `name` is a service of this graph.
    pub fn contains(&self, name: &str) -> bool {
        self.index.contains_key(name)
    }

    /// Every service name, in file order.
    pub fn services(&self) -> impl Iterator<Item = &str> + '_ {
        self.index.keys().map(String::as_str)
    }

    /// The services `name` depends on directly, alphabetically. Empty for an unknown name.
    pub fn direct_dependencies(&self, name: &str) -> Vec<String> {
        self.direct(name, Direction::Outgoing)
    }

    /// The services that depend directly on `name`, alphabetically. Empty for an unknown name.
    pub fn direct_dependents(&self, name: &str) -> Vec<String> {
        self.direct(name, Direction::Incoming)
    }

    /// Start order as parallel levels: level 0 has the services with no dependencies; every
    /// service appears after all of its dependencies, in the earliest level possible (its level
    /// is the length of its longest dependency chain); names inside a level are sorted
    /// alphabetically. Empty for an empty project.
    ///
    /// The levels are computed in O(V + E) when the graph is built; this only clones names.
    pub fn start_levels(&self) -> Vec<Vec<String>> {
        self.levels
            .iter()
            .map(|level| self.names(level.iter().copied()))
            .collect()
    }

    /// Stop order: the reverse of [`start_levels`](Self::start_levels) (dependents stop before
    /// their dependencies). Names inside a level stay alphabetical.
    pub fn stop_levels(&self) -> Vec<Vec<String>> {
        let mut levels = self.start_levels();
        levels.reverse();
        levels
    }

    /// [`start_levels`](Self::start_levels) restricted to `names` (unknown names are ignored);
    /// levels left empty are dropped. Combine with [`dependencies_of`](Self::dependencies_of) to
    /// start a service together with its dependencies.
    pub fn start_levels_for<'a>(
        &self,
        names: impl IntoIterator<Item = &'a str>,
    ) -> Vec<Vec<String>> {
        let mut selected = vec![false; self.len()];
        for name in names {
            if let Some(&node) = self.index.get(name) {
                selected[node.index()] = true;
            }
        }
        self.levels
            .iter()
            .map(|level| self.names(level.iter().copied().filter(|node| selected[node.index()])))
            .filter(|level| !level.is_empty())
            .collect()
    }

    /// [`start_levels_for`](Self::start_levels_for), reversed.
    pub fn stop_levels_for<'a>(
        &self,
        names: impl IntoIterator<Item = &'a str>,
    ) -> Vec<Vec<String>> {
        let mut levels = self.start_levels_for(names);
        levels.reverse();
        levels
    }

    /// The services `name` depends on, transitively, excluding `name` itself, in start order
    /// (by level, then alphabetically). Empty for an unknown name. O(V + E).
    pub fn dependencies_of(&self, name: &str) -> Vec<String> {
        self.reachable(name, Direction::Outgoing)
    }

    /// The services that depend on `name`, transitively, excluding `name` itself, in start order
    /// (by level, then alphabetically; reverse it to stop them). Empty for an unknown name.
    /// O(V + E).
    pub fn dependents_of(&self, name: &str) -> Vec<String> {
        self.reachable(name, Direction::Incoming)
    }

    fn names(&self, nodes: impl Iterator<Item = NodeIndex>) -> Vec<String> {
        nodes.map(|node| self.graph[node].clone()).collect()
    }

    fn direct(&self, name: &str, direction: Direction) -> Vec<String> {
        let Some(&node) = self.index.get(name) else {
            return Vec::new();
        };
        let mut neighbors: Vec<NodeIndex> =
            self.graph.neighbors_directed(node, direction).collect();
        neighbors.sort_unstable();
        self.names(neighbors.into_iter())
    }

    fn reachable(&self, name: &str, direction: Direction) -> Vec<String> {
        let Some(&start) = self.index.get(name) else {
            return Vec::new();
        };
        let mut visited = vec![false; self.len()];
        visited[start.index()] = true;
        let mut stack = vec![start];
        while let Some(node) = stack.pop() {
            for next in self.graph.neighbors_directed(node, direction) {
                if !visited[next.index()] {
                    visited[next.index()] = true;
                    stack.push(next);
                }
            }
        }
        visited[start.index()] = false;
        self.levels
            .iter()
            .flatten()
            .copied()
            .filter(|node| visited[node.index()])
            .map(|node| self.graph[node].clone())
            .collect()
    }
}

/// Kahn's algorithm, level by level, in O(V + E). `None` if the graph has a cycle.
fn levels_of(graph: &DiGraph<String, ()>) -> Option<Vec<Vec<NodeIndex>>> {
    let count = graph.node_count();
    // Dependencies not yet started, per node (self-loops included, so they never reach zero).
    let mut pending: Vec<usize> = graph
        .node_indices()
        .map(|node| graph.neighbors_directed(node, Direction::Outgoing).count())
        .collect();
    let mut level_of = vec![0usize; count];
    let mut frontier: Vec<NodeIndex> = graph
        .node_indices()
        .filter(|node| pending[node.index()] == 0)
        .collect();
    let mut depth = 0;
    let mut placed = 0;
    while !frontier.is_empty() {
        placed += frontier.len();
        let mut next = Vec::new();
        for &node in &frontier {
            level_of[node.index()] = depth;
            for dependent in graph.neighbors_directed(node, Direction::Incoming) {
                pending[dependent.index()] -= 1;
                if pending[dependent.index()] == 0 {
                    next.push(dependent);
                }
            }
        }
        frontier = next;
        depth += 1;
    }
    if placed < count {
        return None;
    }
    // Bucket in node-index order so each level comes out alphabetical without sorting.
    let mut levels = vec![Vec::new(); depth];
    for node in graph.node_indices() {
        levels[level_of[node.index()]].push(node);
    }
    Some(levels)
}

/// The cycle to report for a graph known to be cyclic (see [`GraphError::Cycle`]).
fn find_cycle(graph: &DiGraph<String, ()>) -> Vec<String> {
    // Strongly connected components (Kosaraju's is iterative: no recursion-depth limit).
    let mut component = vec![usize::MAX; graph.node_count()];
    let mut start: Option<NodeIndex> = None;
    for (id, scc) in kosaraju_scc(graph).into_iter().enumerate() {
        for &node in &scc {
            component[node.index()] = id;
        }
        let cyclic = scc.len() > 1 || graph.contains_edge(scc[0], scc[0]);
        if cyclic {
            // Index order is name order, so the smallest index is the smallest name.
            let smallest = *scc.iter().min().expect("components are non-empty");
            start = Some(start.map_or(smallest, |current| current.min(smallest)));
        }
    }
    let start = start.expect("find_cycle is only called on cyclic graphs");

    // Breadth-first search for the shortest path back to `start`, staying in its component and
    // visiting dependencies alphabetically.
    let mut parent: Vec<Option<NodeIndex>> = vec![None; graph.node_count()];
    let mut queue = VecDeque::from([start]);
    let mut neighbors = Vec::new();
    while let Some(node) = queue.pop_front() {
        neighbors.clear();
        neighbors.extend(graph.neighbors_directed(node, Direction::Outgoing));
        neighbors.sort_unstable();
        for &next in &neighbors {
            if next == start {
                let mut path = vec![start];
                let mut current = node;
                while current != start {
                    path.push(current);
                    current = parent[current.index()].expect("visited nodes have a parent");
                }
                path.push(start);
                path.reverse();
                return path.into_iter().map(|node| graph[node].clone()).collect();
            }
            if component[next.index()] == component[start.index()] && parent[next.index()].is_none()
            {
                parent[next.index()] = Some(node);
                queue.push_back(next);
            }
        }
    }
    unreachable!("every node of a cyclic component lies on a cycle through any other of its nodes")
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::*;

    fn graph(services: &[(&'static str, &[&'static str])]) -> Result<ServiceGraph, GraphError> {
        ServiceGraph::new(
            services
                .iter()
                .map(|(name, deps)| (*name, deps.iter().copied())),
        )
    }

    fn levels(levels: &[&[&str]]) -> Vec<Vec<String>> {
        levels
            .iter()
            .map(|level| level.iter().map(|name| (*name).to_owned()).collect())
            .collect()
    }

    fn strings(names: &[&str]) -> Vec<String> {
        names.iter().map(|name| (*name).to_owned()).collect()
    }

    fn cycle(names: &[&str]) -> GraphError {
        GraphError::Cycle(strings(names))
    }

    /// Every service appears exactly once, after all of its dependencies, as early as possible.
    fn assert_valid_levels(graph: &ServiceGraph) {
        let levels = graph.start_levels();
        let mut level_of = std::collections::HashMap::new();
        for (depth, level) in levels.iter().enumerate() {
            assert!(!level.is_empty(), "level {depth} is empty");
            assert!(level.is_sorted(), "level {depth} is not sorted: {level:?}");
            for name in level {
                assert!(
                    level_of.insert(name.clone(), depth).is_none(),
                    "{name} twice"
                );
            }
        }
        assert_eq!(level_of.len(), graph.len());
        for name in graph.services() {
            let deps = graph.direct_dependencies(name);
            let expected = deps.iter().map(|dep| level_of[dep] + 1).max().unwrap_or(0);
            assert_eq!(level_of[name], expected, "level of {name}");
        }
    }

    #[test]
    fn empty_project() {
        let graph = graph(&[]).unwrap();
        assert!(graph.is_empty());
        assert_eq!(graph.start_levels(), Vec::<Vec<String>>::new());
        assert_eq!(graph.stop_levels(), Vec::<Vec<String>>::new());
        assert!(graph.dependencies_of("web").is_empty());
    }

    #[test]
    fn chain() {
        let graph = graph(&[("web", &["api"]), ("api", &["db"]), ("db", &[])]).unwrap();
        assert_eq!(graph.start_levels(), levels(&[&["db"], &["api"], &["web"]]));
        assert_eq!(graph.stop_levels(), levels(&[&["web"], &["api"], &["db"]]));
        assert_eq!(graph.dependencies_of("web"), strings(&["db", "api"]));
        assert_eq!(graph.dependencies_of("db"), strings(&[]));
        assert_eq!(graph.dependents_of("db"), strings(&["api", "web"]));
        assert_eq!(graph.dependents_of("web"), strings(&[]));
        assert_valid_levels(&graph);
    }

    #[test]
    fn diamond() {
        let graph = graph(&[
            ("app", &["cache", "db"]),
            ("db", &["volume-init"]),
            ("cache", &["volume-init"]),
            ("volume-init", &[]),
        ])
        .unwrap();
        assert_eq!(
            graph.start_levels(),
            levels(&[&["volume-init"], &["cache", "db"], &["app"]])
        );
        assert_eq!(
            graph.stop_levels(),
            levels(&[&["app"], &["cache", "db"], &["volume-init"]])
        );
        assert_eq!(
            graph.dependencies_of("app"),
            strings(&["volume-init", "cache", "db"])
        );
        assert_eq!(graph.dependencies_of("db"), strings(&["volume-init"]));
        assert_eq!(
            graph.dependents_of("volume-init"),
            strings(&["cache", "db", "app"])
        );
        assert_eq!(graph.dependents_of("cache"), strings(&["app"]));
        assert_eq!(graph.direct_dependencies("app"), strings(&["cache", "db"]));
        assert_eq!(
            graph.direct_dependents("volume-init"),
            strings(&["cache", "db"])
        );
        assert_valid_levels(&graph);
    }

    #[test]
    fn services_are_placed_as_early_as_possible() {
        // `b` only needs `a`, so it starts alongside `c` even though `d` waits for `c`.
        let graph = graph(&[("d", &["b", "c"]), ("c", &["a"]), ("b", &[]), ("a", &[])]).unwrap();
        assert_eq!(graph.start_levels(), levels(&[&["a", "b"], &["c"], &["d"]]));
        assert_valid_levels(&graph);
    }

    #[test]
    fn independent_services() {
        let graph = graph(&[("zeta", &[]), ("alpha", &[]), ("mid", &[])]).unwrap();
        assert_eq!(graph.start_levels(), levels(&[&["alpha", "mid", "zeta"]]));
        assert_eq!(graph.stop_levels(), levels(&[&["alpha", "mid", "zeta"]]));
        assert!(graph.dependencies_of("zeta").is_empty());
        assert!(graph.dependents_of("zeta").is_empty());
        assert_eq!(
            graph.services().collect::<Vec<_>>(),
            ["zeta", "alpha", "mid"]
        );
    }

    #[test]
    fn unknown_names_are_empty() {
        let graph = graph(&[("a", &[])]).unwrap();
        assert!(!graph.contains("nope"));
        assert!(graph.dependencies_of("nope").is_empty());
        assert!(graph.dependents_of("nope").is_empty());
        assert!(graph.direct_dependencies("nope").is_empty());
    }

    #[test]
    fn duplicates_are_merged() {
        let graph = graph(&[
            ("web", &["db", "db"]),
            ("db", &[]),
            ("web", &["cache", "db"]),
            ("cache", &[]),
        ])
        .unwrap();
        assert_eq!(graph.len(), 3);
        assert_eq!(graph.services().collect::<Vec<_>>(), ["web", "db", "cache"]);
        assert_eq!(graph.direct_dependencies("web"), strings(&["cache", "db"]));
        assert_eq!(graph.start_levels(), levels(&[&["cache", "db"], &["web"]]));
    }

    #[test]
    fn levels_for_a_subset() {
        let graph = graph(&[
            ("web", &["api"]),
            ("api", &["db", "cache"]),
            ("db", &[]),
            ("cache", &[]),
            ("worker", &["db"]),
        ])
        .unwrap();
        let mut wanted = graph.dependencies_of("api");
        wanted.push("api".to_owned());
        assert_eq!(
            graph.start_levels_for(wanted.iter().map(String::as_str)),
            levels(&[&["cache", "db"], &["api"]])
        );
        assert_eq!(
            graph.stop_levels_for(["web", "db", "unknown"]),
            levels(&[&["web"], &["db"]])
        );
    }

    #[test]
    fn self_cycle() {
        let err = graph(&[("a", &[]), ("b", &["b"])]).unwrap_err();
        assert_eq!(err, cycle(&["b", "b"]));
        assert_eq!(err.to_string(), "dependency cycle detected: b -> b");
    }

    #[test]
    fn three_cycle_printed_fully() {
        // Declared starting from the middle; reported from the smallest name, in
        // depends_on direction.
        let err = graph(&[
            ("web", &["api"]),
            ("cache", &["web"]),
            ("api", &["cache"]),
            ("db", &[]),
        ])
        .unwrap_err();
        assert_eq!(err, cycle(&["api", "cache", "web", "api"]));
        assert_eq!(
            err.to_string(),
            "dependency cycle detected: api -> cache -> web -> api"
        );
    }

    #[test]
    fn cycle_behind_a_dependent_is_found() {
        // `a` is not on the cycle, it only depends on it.
        let err = graph(&[("a", &["x"]), ("x", &["y"]), ("y", &["x"])]).unwrap_err();
        assert_eq!(err, cycle(&["x", "y", "x"]));
    }

    #[test]
    fn two_disjoint_cycles_are_reported_deterministically() {
        let services: &[(&str, &[&str])] = &[
            ("q", &["r"]),
            ("r", &["q"]),
            ("d", &["c"]),
            ("c", &["e"]),
            ("e", &["d"]),
            ("a", &[]),
        ];
        let expected = cycle(&["c", "e", "d", "c"]);
        assert_eq!(graph(services).unwrap_err(), expected);
        // Any declaration order gives the same answer.
        let mut reversed = services.to_vec();
        reversed.reverse();
        assert_eq!(graph(&reversed).unwrap_err(), expected);
        let mut rotated = services.to_vec();
        rotated.rotate_left(3);
        assert_eq!(graph(&rotated).unwrap_err(), expected);
    }

    #[test]
    fn shortest_cycle_through_the_smallest_service() {
        // Both a -> b -> a and a -> c -> d -> a exist; the shorter one is reported.
        let err = graph(&[
            ("a", &["c", "b"]),
            ("b", &["a"]),
            ("c", &["d"]),
            ("d", &["a"]),
        ])
        .unwrap_err();
        assert_eq!(err, cycle(&["a", "b", "a"]));
        // Equal lengths: the alphabetically-smaller step wins.
        let err = graph(&[("a", &["c", "b"]), ("b", &["a"]), ("c", &["a"])]).unwrap_err();
        assert_eq!(err, cycle(&["a", "b", "a"]));
    }

    #[test]
    fn unknown_dependency() {
        let err =
            graph(&[("web", &["db"]), ("db", &["ghost"]), ("api", &["phantom"])]).unwrap_err();
        assert_eq!(
            err,
            GraphError::UnknownDependency {
                service: "db".to_owned(),
                dependency: "ghost".to_owned(),
            }
        );
        assert_eq!(
            err.to_string(),
            r#"service "db" depends on undefined service "ghost""#
        );
    }

    #[test]
    fn unknown_dependency_wins_over_cycle() {
        let err = graph(&[("a", &["a"]), ("b", &["c"])]).unwrap_err();
        assert!(
            matches!(err, GraphError::UnknownDependency { .. }),
            "{err:?}"
        );
    }

    fn large(count: usize) -> Vec<(String, Vec<String>)> {
        (0..count)
            .map(|i| {
                let deps = [i / 2, i.saturating_sub(1), i.saturating_sub(7), i / 3]
                    .into_iter()
                    .filter(|&dep| dep < i)
                    .map(|dep| format!("svc-{dep:04}"))
                    .collect();
                (format!("svc-{i:04}"), deps)
            })
            .collect()
    }

    fn build(services: &[(String, Vec<String>)]) -> Result<ServiceGraph, GraphError> {
        ServiceGraph::new(
            services
                .iter()
                .map(|(name, deps)| (name.as_str(), deps.iter().map(String::as_str))),
        )
    }

    #[test]
    fn thousand_services_are_fast() {
        let services = large(1000);
        let started = Instant::now();
        let graph = build(&services).unwrap();
        let start = graph.start_levels();
        let stop = graph.stop_levels();
        let elapsed = started.elapsed();
        assert!(elapsed < Duration::from_millis(200), "took {elapsed:?}");
        // Each service depends on its predecessor: a chain of 1000 levels.
        assert_eq!(start.len(), 1000);
        assert_eq!(stop.first().unwrap(), &strings(&["svc-0999"]));
        assert_eq!(graph.dependencies_of("svc-0999").len(), 999);
        assert_eq!(graph.dependents_of("svc-0000").len(), 999);
        assert_valid_levels(&graph);
    }

    #[test]
    fn thousand_services_wide_graph() {
        // 10 roots, everything else depends on one root and one sibling: few, wide levels.
        let services: Vec<(String, Vec<String>)> = (0..1000)
            .map(|i| {
                let deps = if i < 10 {
                    Vec::new()
                } else {
                    vec![format!("s{}", i % 10), format!("s{}", i / 10)]
                };
                (format!("s{i}"), deps)
            })
            .collect();
        let started = Instant::now();
        let graph = build(&services).unwrap();
        let levels = graph.start_levels();
        let elapsed = started.elapsed();
        assert!(elapsed < Duration::from_millis(200), "took {elapsed:?}");
        assert!(levels.len() <= 4, "{}", levels.len());
        assert_valid_levels(&graph);
    }

    #[test]
    fn cycle_in_a_thousand_services_is_found_fast() {
        let mut services = large(1000);
        services[0].1.push("svc-0999".to_owned());
        let started = Instant::now();
        let err = build(&services).unwrap_err();
        let elapsed = started.elapsed();
        assert!(elapsed < Duration::from_millis(200), "took {elapsed:?}");
        let GraphError::Cycle(path) = err else {
            panic!("expected a cycle, got {err:?}");
        };
        assert_eq!(path.first().unwrap(), "svc-0000");
        assert_eq!(path.last().unwrap(), "svc-0000");
        assert_eq!(path[1], "svc-0999");
        // Every step is a real dependency.
        for step in path.windows(2) {
            let (_, deps) = services.iter().find(|(name, _)| *name == step[0]).unwrap();
            assert!(deps.contains(&step[1]), "{} -> {}", step[0], step[1]);
        }
    }
}
