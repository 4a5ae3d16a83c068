//! Per-user variables in path settings, so one managed file serves every user of a shared host
//! (Citrix, AVD, a Linux thin client): `%LOCALAPPDATA%\AgentCompanion\companion.db`,
//! `${HOME}/.agent-companion/companion.db`, `~/certs/proxy.pem`. A variable that is not set is an
//! error naming the key, never a path with the variable's name in it.

use super::schema::Config;
use std::path::PathBuf;

/// Expands `%VAR%`, `${VAR}`, `$VAR` and a leading `~` in `raw`.
pub fn expand(raw: &str, var: &dyn Fn(&str) -> Option<String>) -> Result<String, String> {
    let missing = |name: &str| format!("`{name}` is not set for this user");
    let mut out = String::new();
    let mut rest = raw;
    if let Some(after) = rest.strip_prefix('~')
        && (after.is_empty() || after.starts_with('/') || after.starts_with('\\'))
    {
        out.push_str(&var("HOME").or_else(|| var("USERPROFILE")).ok_or_else(|| missing("HOME"))?);
        rest = after;
    }
    while let Some(i) = rest.find(['%', '$']) {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        let (name, used) = if let Some(t) = tail.strip_prefix('%') {
            match t.find('%') {
                Some(end) if end > 0 && is_name(&t[..end]) => (&t[..end], end + 2),
                _ => ("", 1),
            }
        } else if let Some(t) = tail.strip_prefix("${") {
            match t.find('}') {
                Some(end) if is_name(&t[..end]) => (&t[..end], end + 3),
                _ => {
                    return Err(format!(
                        "`{}` is not a variable such as ${{HOME}}",
                        tail.chars().take(40).collect::<String>()
                    ));
                }
            }
        } else {
            let t = &tail[1..];
            let end = t.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(t.len());
            if end > 0 { (&t[..end], end + 1) } else { ("", 1) }
        };
        if name.is_empty() {
            out.push_str(&tail[..used]);
        } else {
            out.push_str(&var(name).filter(|v| !v.is_empty()).ok_or_else(|| missing(name))?);
        }
        rest = &tail[used..];
    }
    out.push_str(rest);
    Ok(out)
}

fn is_name(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '(' || c == ')')
}

/// Expands every path setting in place; on failure, the key and why.
pub(super) fn expand_paths(config: &mut Config, var: &dyn Fn(&str) -> Option<String>) -> Result<(), (String, String)> {
    let one = |key: &str, p: &PathBuf| -> Result<PathBuf, (String, String)> {
        let raw = p.to_string_lossy();
        expand(&raw, var).map(PathBuf::from).map_err(|why| (key.to_string(), why))
    };
    if let Some(p) = &config.store.path {
        config.store.path = Some(one("store.path", p)?);
    }
    let files: Result<Vec<PathBuf>, _> =
        config.network.extra_ca_files.iter().map(|p| one("network.extra_ca_files", p)).collect();
    config.network.extra_ca_files = files?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn env(name: &str) -> Option<String> {
        match name {
            "LOCALAPPDATA" => Some(r"C:\Users\ana\AppData\Local".into()),
            "HOME" => Some("/home/ana".into()),
            "USER" => Some("ana".into()),
            _ => None,
        }
    }

    #[test]
    fn each_platforms_variables_expand_to_the_users_own_folders() {
        assert_eq!(
            expand(r"%LOCALAPPDATA%\AgentCompanion\companion.db", &env).unwrap(),
            r"C:\Users\ana\AppData\Local\AgentCompanion\companion.db"
        );
        assert_eq!(expand("${HOME}/.ac/$USER.db", &env).unwrap(), "/home/ana/.ac/ana.db");
        assert_eq!(expand("~/certs/proxy.pem", &env).unwrap(), "/home/ana/certs/proxy.pem");
        assert_eq!(expand("/srv/100%/a$", &env).unwrap(), "/srv/100%/a$", "a lone % or $ is text");
        assert_eq!(expand("/plain/path", &env).unwrap(), "/plain/path");
    }

    #[test]
    fn a_variable_not_set_is_an_error_naming_it() {
        assert!(expand("%APPDATA%/x", &env).unwrap_err().contains("APPDATA"));
        assert!(expand("${XDG_RUNTIME_DIR}/x", &env).unwrap_err().contains("XDG_RUNTIME_DIR"));
        assert!(expand("${oops/x", &env).is_err());
    }

    proptest! {
        #[test]
        fn text_without_variables_is_left_as_it_is(s in "[a-zA-Z0-9 _./\\\\:-]{0,60}") {
            prop_assume!(!s.starts_with('~'));
            prop_assert_eq!(expand(&s, &env).unwrap(), s);
        }

        #[test]
        fn expansion_never_panics(s in ".{0,80}") {
            let _ = expand(&s, &env);
        }
    }
}
