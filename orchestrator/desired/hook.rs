//! Lifecycle hooks (`post_start`, `pre_stop`): commands run inside a service's container after
//! wharf starts it and before wharf stops it, as compose v2 runs them (an exec with the hook's
//! user, privileges, working directory and environment).

use crate::engine::ExecRequest;

/// One hook, in engine terms.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Hook {
    pub command: Vec<String>,
    pub user: Option<String>,
    pub privileged: bool,
    pub working_dir: Option<String>,
    /// `KEY=VALUE`, or `KEY` for a key written without a value (as compose passes it).
    pub environment: Vec<String>,
}

/// When a hook runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HookStage {
    PostStart,
    PreStop,
}

impl HookStage {
    /// The compose key.
    pub fn key(self) -> &'static str {
        match self {
            HookStage::PostStart => "post_start",
            HookStage::PreStop => "pre_stop",
        }
    }
}

/// A service's hooks, in the order the file lists them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Hooks {
    pub post_start: Vec<Hook>,
    pub pre_stop: Vec<Hook>,
}

impl Hooks {
    /// From the model's hooks, which `spec::normalize` left in compose-go's long form.
    pub fn from_model(post_start: &[serde_json::Value], pre_stop: &[serde_json::Value]) -> Hooks {
        Hooks {
            post_start: post_start.iter().map(Hook::from_model).collect(),
            pre_stop: pre_stop.iter().map(Hook::from_model).collect(),
        }
    }

    pub fn at(&self, stage: HookStage) -> &[Hook] {
        match stage {
            HookStage::PostStart => &self.post_start,
            HookStage::PreStop => &self.pre_stop,
        }
    }
}

impl Hook {
    fn from_model(hook: &serde_json::Value) -> Hook {
        let text = |key: &str| hook.get(key).and_then(|v| v.as_str()).map(str::to_string);
        let command = match hook.get("command") {
            Some(serde_json::Value::Array(words)) => words
                .iter()
                .map(|w| w.as_str().map_or_else(|| w.to_string(), str::to_string))
                .collect(),
            _ => Vec::new(),
        };
        let environment = hook
            .get("environment")
            .and_then(|e| e.as_object())
            .into_iter()
            .flatten()
            .map(|(key, value)| match value {
                serde_json::Value::Null => key.clone(),
                serde_json::Value::String(s) => format!("{key}={s}"),
                other => format!("{key}={other}"),
            })
            .collect();
        Hook {
            command,
            user: text("user"),
            privileged: hook.get("privileged").and_then(|p| p.as_bool()) == Some(true),
            working_dir: text("working_dir"),
            environment,
        }
    }

    /// The exec that runs it.
    pub fn exec_request(&self) -> ExecRequest {
        ExecRequest {
            command: self.command.clone(),
            user: self.user.clone(),
            working_dir: self.working_dir.clone(),
            environment: self.environment.clone(),
            privileged: self.privileged,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_form_hook_becomes_an_exec() {
        let hook = serde_json::json!({
            "command": ["sh", "-c", "id -u"],
            "user": "1000",
            "privileged": true,
            "working_dir": "/etc",
            "environment": {"FOO": "bar", "BARE": null},
        });
        let hooks = Hooks::from_model(std::slice::from_ref(&hook), &[]);
        assert_eq!(
            hooks.at(HookStage::PostStart)[0].exec_request(),
            ExecRequest {
                command: vec!["sh".into(), "-c".into(), "id -u".into()],
                user: Some("1000".into()),
                working_dir: Some("/etc".into()),
                environment: vec!["FOO=bar".into(), "BARE".into()],
                privileged: true,
            }
        );
        assert!(hooks.at(HookStage::PreStop).is_empty());
    }
}
