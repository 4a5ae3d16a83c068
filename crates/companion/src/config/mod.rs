//! Configuration, layered: compiled defaults < managed file (IT) < user file < `COMPANION_*`
//! environment < command-line `--set key=value`. Keys the managed file lists under `locked` cannot be
//! changed by later layers. A bad file stops the engine with an error naming the file, line and key.

use serde::Serialize;

mod expand;
mod layers;
pub mod policy;
#[cfg(windows)]
mod policy_windows;
mod schema;
mod validate;

pub use layers::{Sources, load, managed_path};
pub use schema::*;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// Where a value came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Layer {
    Default,
    Managed,
    /// The operating system's policy channel (Windows registry policy, macOS managed preferences).
    Policy,
    User,
    Environment,
    CommandLine,
}

/// A configuration that could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The operating system's policy could not be read or has a value of the wrong kind.
    #[error("the policy in {origin} cannot be used: {message}")]
    Policy { origin: String, message: String },
    /// A file could not be read.
    #[error("cannot read the configuration file {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A file is not valid TOML or has an unknown key or a wrong type (the message names line and key).
    #[error("configuration file {path}: {message}")]
    File { path: PathBuf, message: String },
    /// An environment variable or flag is malformed or names an unknown key.
    #[error("{origin}: {message}")]
    Override { origin: String, message: String },
    /// IT's managed file could have been written by someone other than IT.
    #[error("the managed configuration {path} is not used: {why}. Ask IT to fix its ownership and permissions")]
    Insecure { path: PathBuf, why: String },
    /// A value is well-formed but not acceptable.
    #[error("configuration key {key} ({layer:?} layer): {message}")]
    Invalid { key: String, layer: Layer, message: String },
}

/// The configuration in force, where each key came from, and which keys IT locked.
#[derive(Debug, Clone)]
pub struct LoadedConfig {
    pub config: Config,
    pub origins: BTreeMap<String, Layer>,
    pub locked: Vec<String>,
    /// Changes that were refused because the key is locked: (key, layer that tried).
    pub refused: Vec<(String, Layer)>,
    /// Keys of the managed file this version does not know (a newer policy): ignored, and reported by
    /// `doctor` as a warning.
    pub ignored: Vec<String>,
}

impl LoadedConfig {
    /// True when IT locked this key (or a section containing it).
    pub fn is_locked(&self, key: &str) -> bool {
        self.locked.iter().any(|l| key == l || key.starts_with(&format!("{l}.")))
    }

    /// Which layer set a key.
    pub fn origin(&self, key: &str) -> Layer {
        self.origins.get(key).copied().unwrap_or(Layer::Default)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn write(dir: &tempfile::TempDir, name: &str, text: &str) -> PathBuf {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        // As IT installs it: writable by its owner only (whatever this machine's umask).
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
        }
        p
    }

    #[test]
    fn an_installed_build_ignores_an_environment_variable_that_would_replace_its_managed_file() {
        let env = vec![("COMPANION_MANAGED_CONFIG".to_string(), "/tmp/anything.toml".to_string())];
        let installed = Sources::from_env(env.clone(), vec![], None, false);
        assert_eq!(installed.managed, Some(managed_path()), "IT's file, at its own place");
        let demo = Sources::from_env(env, vec![], None, true);
        assert_eq!(demo.managed, Some(PathBuf::from("/tmp/anything.toml")), "tests and demos may point elsewhere");
    }

    #[cfg(unix)]
    #[test]
    fn a_managed_file_others_could_write_is_refused_with_the_reason() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let managed = write(&dir, "managed.toml", "locked = [\"genesys\"]\n[genesys]\nregion = \"mypurecloud.ie\"\n");
        assert!(load(&Sources { managed: Some(managed.clone()), ..Default::default() }).is_ok());
        std::fs::set_permissions(&managed, std::fs::Permissions::from_mode(0o666)).unwrap();
        let e = load(&Sources { managed: Some(managed.clone()), ..Default::default() }).unwrap_err();
        assert!(matches!(e, ConfigError::Insecure { .. }), "{e:?}");
        assert!(e.to_string().contains("can be changed by other users (mode 666)"), "{e}");
        std::fs::set_permissions(&managed, std::fs::Permissions::from_mode(0o644)).unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
        let e = load(&Sources { managed: Some(managed), ..Default::default() }).unwrap_err();
        assert!(e.to_string().contains("its folder can be changed by other users"), "{e}");
    }

    #[test]
    fn a_newer_policy_loads_its_known_keys_and_names_the_ones_this_version_ignores() {
        let dir = tempfile::tempdir().unwrap();
        let managed = write(
            &dir,
            "managed.toml",
            "locked = [\"pop.trigger\", \"future.knob\"]\n[pop]\ntrigger = \"connected\"\nsmarter = true\n[future]\nknob = 1\n",
        );
        let user = write(&dir, "user.toml", "[pop]\ntrigger = \"alerting\"\n");
        let l = load(&Sources { managed: Some(managed), user: Some(user.clone()), ..Default::default() }).unwrap();
        assert_eq!(l.config.pop.trigger, PopTrigger::Connected, "the known lock still holds");
        assert_eq!(l.ignored, vec!["future", "pop.smarter", "locked: future.knob"]);
        // The user's own file is not a policy: an unknown key there is still an error naming it.
        std::fs::write(&user, "[pop]\nsmarter = true\n").unwrap();
        let e = load(&Sources { user: Some(user), ..Default::default() }).unwrap_err();
        assert!(e.to_string().contains("smarter"), "{e}");
    }

    #[test]
    fn one_managed_store_path_serves_every_user_of_a_shared_host() {
        let dir = tempfile::tempdir().unwrap();
        let managed = write(&dir, "managed.toml", "[store]\npath = \"${HOME}/.agent-companion/companion.db\"\n");
        let for_user = |home: &str| {
            let env = vec![("HOME".to_string(), home.to_string())];
            load(&Sources { managed: Some(managed.clone()), env, ..Default::default() })
        };
        assert_eq!(
            for_user("/home/ana").unwrap().config.store.path.unwrap(),
            Path::new("/home/ana/.agent-companion/companion.db")
        );
        assert_eq!(
            for_user("/home/raj").unwrap().config.store.path.unwrap(),
            Path::new("/home/raj/.agent-companion/companion.db")
        );
        let e = load(&Sources { managed: Some(managed), ..Default::default() }).unwrap_err();
        assert!(matches!(&e, ConfigError::Invalid { key, layer: Layer::Managed, .. } if key == "store.path"), "{e}");
        assert!(e.to_string().contains("HOME"), "{e}");
    }

    /// A policy channel standing in for the registry or managed preferences.
    #[derive(Debug)]
    struct StandIn(Vec<(String, Vec<(String, policy::RegistryValue)>)>);

    impl policy::PolicySource for StandIn {
        fn origin(&self) -> String {
            "the stand-in registry".into()
        }
        fn read(&self) -> Result<(toml::Table, Vec<String>), String> {
            Ok(policy::from_registry(&self.0))
        }
    }

    #[test]
    fn an_os_policy_overrides_the_managed_file_and_locks_what_it_sets() {
        use policy::RegistryValue::*;
        let dir = tempfile::tempdir().unwrap();
        let managed = write(
            &dir,
            "managed.toml",
            "locked = [\"pop.trigger\"]\n[pop]\ntrigger = \"connected\"\n[cache]\nnegative_ttl_secs = 600\n",
        );
        let user = write(
            &dir,
            "user.toml",
            "[cache]\nnegative_ttl_secs = 1200\nfresh_secs = 90\n[network]\nproxy = \"http://mine:8080\"\n",
        );
        let registry = StandIn(vec![
            ("cache".into(), vec![("negative_ttl_secs".into(), Dword(900))]),
            ("network".into(), vec![("proxy".into(), String("http://proxy.corp:3128".into()))]),
            ("future".into(), vec![("knob".into(), Dword(1))]),
        ]);
        let sources = Sources {
            managed: Some(managed),
            user: Some(user),
            policy: Some(std::sync::Arc::new(registry)),
            flags: vec!["cache.negative_ttl_secs=5".into()],
            ..Default::default()
        };
        let l = load(&sources).unwrap();
        assert_eq!(l.config.cache.negative_ttl_secs, 900, "the policy's value, over the file's and the user's");
        assert_eq!(l.origin("cache.negative_ttl_secs"), Layer::Policy);
        assert_eq!(l.config.network.proxy.as_deref(), Some("http://proxy.corp:3128"));
        assert_eq!(l.config.pop.trigger, PopTrigger::Connected, "the managed file's lock holds");
        assert_eq!(l.config.cache.fresh_secs, 90, "what no policy sets stays the user's");
        for (key, layer) in [
            ("cache.negative_ttl_secs", Layer::User),
            ("network.proxy", Layer::User),
            ("cache.negative_ttl_secs", Layer::CommandLine),
        ] {
            assert!(l.refused.contains(&(key.to_string(), layer)), "{key} from {layer:?}: {:?}", l.refused);
        }
        assert!(l.ignored.iter().any(|i| i.contains("future")), "{:?}", l.ignored);
    }

    #[test]
    fn every_group_policy_template_sets_a_real_setting_of_the_right_kind() {
        let admx = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../docs/policies/windows/AgentCompanion.admx"
        ))
        .unwrap();
        let defaults = serde_json::to_value(Config::default()).unwrap();
        let mut seen = 0;
        for policy in admx.split("<policy ").skip(1) {
            let attr = |text: &str, name: &str| {
                text.split(&format!("{name}=\"")).nth(1).and_then(|r| r.split('"').next()).map(str::to_string)
            };
            let section = attr(policy, "key").unwrap().rsplit('\\').next().unwrap().to_string();
            let value_name = attr(policy, "valueName").unwrap();
            let key = format!("{section}.{value_name}");
            let default = &defaults[&section][&value_name];
            let kind_ok = if policy.contains("<enabledValue>") {
                default.is_boolean()
            } else if policy.contains("<multiText") {
                default.is_array()
            } else if policy.contains("<decimal id") {
                default.is_number()
            } else {
                default.is_string() || default.is_null()
            };
            assert!(layers::known_key(&key) && kind_ok, "{key} ({default}) in the ADMX");
            seen += 1;
        }
        assert!(seen >= 15, "{seen} policies");
    }

    #[test]
    fn the_macos_configuration_profile_loads_as_a_policy() {
        let profile = plist::Value::from_file(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../docs/policies/macos/com.agentcompanion.desktop.mobileconfig"
        ))
        .unwrap();
        let payload = &profile.as_dictionary().unwrap()["PayloadContent"].as_array().unwrap()[0];
        let dir = tempfile::tempdir().unwrap();
        // What macOS keeps of the payload in /Library/Managed Preferences.
        let prefs = dir.path().join("com.agentcompanion.desktop.plist");
        payload.to_file_xml(&prefs).unwrap();
        let source = policy::ManagedPreferences { files: vec![prefs] };
        let l = load(&Sources { policy: Some(std::sync::Arc::new(source)), ..Default::default() }).unwrap();
        assert!(l.ignored.is_empty(), "{:?}", l.ignored);
        assert_eq!(l.config.genesys.region, "mypurecloud.ie");
        assert_eq!(l.config.network.no_proxy, vec![".corp.example"]);
        assert!(l.config.store.encrypt && !l.config.updates.prompts);
        assert!(l.is_locked("network.proxy") && l.is_locked("store.encrypt"));
    }

    #[test]
    fn a_proxy_that_is_not_an_http_url_is_refused_with_its_key() {
        for bad in ["proxy.corp:3128", "socks5://proxy.corp:1080"] {
            let e = load(&Sources { flags: vec![format!("network.proxy={bad}")], ..Default::default() }).unwrap_err();
            assert!(matches!(&e, ConfigError::Invalid { key, .. } if key == "network.proxy"), "{bad}: {e}");
        }
        let ok =
            load(&Sources { flags: vec!["network.proxy=http://u:p@proxy.corp:3128".into()], ..Default::default() });
        assert!(ok.is_ok());
    }

    #[test]
    fn tokens_are_configured_for_the_clouds_own_https_hosts_only() {
        for (flag, key) in [
            ("salesforce.instance_url=http://acme.my.salesforce.com", "salesforce.instance_url"),
            ("salesforce.instance_url=https://collector.example", "salesforce.instance_url"),
            ("salesforce.login_base=http://login.salesforce.com", "salesforce.login_base"),
            ("genesys.api_base=http://api.mypurecloud.com", "genesys.api_base"),
            ("genesys.streaming_base=ws://streaming.mypurecloud.com", "genesys.streaming_base"),
            ("genesys.login_base=https://login.evil.example", "genesys.login_base"),
            ("salesforce.lightning_host=evil.example", "salesforce.lightning_host"),
            ("genesys.redirect_uri=http://example.com/cb", "genesys.redirect_uri"),
        ] {
            let e = load(&Sources { flags: vec![flag.into()], ..Default::default() }).unwrap_err();
            assert!(matches!(&e, ConfigError::Invalid { key: k, .. } if k == key), "{flag}: {e}");
        }
        // The simulator on this machine's loopback may be plain.
        let sim = ["salesforce.login_base=http://127.0.0.1:18004", "genesys.streaming_base=ws://127.0.0.1:18002"];
        assert!(load(&Sources { flags: sim.map(String::from).to_vec(), ..Default::default() }).is_ok());
    }

    #[test]
    fn defaults_load_and_derive_urls_from_the_region() {
        let l = load(&Sources::default()).unwrap();
        assert_eq!(l.config.genesys.api(), "https://api.mypurecloud.com");
        assert_eq!(l.config.genesys.streaming(), "wss://streaming.mypurecloud.com");
        assert_eq!(l.origin("pop.trigger"), Layer::Default);
    }

    #[test]
    fn a_wrapup_code_with_a_dot_in_its_name_loads_instead_of_stopping_the_app() {
        let dir = tempfile::tempdir().unwrap();
        let user =
            write(&dir, "user.toml", "[disposition.code_map]\n\"No. Answer\" = \"Failed\"\n\"Sale\" = \"Completed\"\n");
        let l = load(&Sources { user: Some(user), ..Default::default() }).unwrap();
        assert_eq!(l.config.disposition.code_map.get("No. Answer").map(String::as_str), Some("Failed"));
        assert_eq!(l.origin("disposition.code_map.No. Answer"), Layer::User);
    }

    #[test]
    fn every_key_of_the_schema_is_known_including_optional_ones() {
        for key in
            ["genesys.api_base", "salesforce.instance_url", "store.path", "updates.feed_url", "disposition.code_map"]
        {
            assert!(layers::known_key(key), "{key}");
        }
        assert!(!layers::known_key("genesys.nope"));
        assert!(!layers::known_key("genesys"), "a section is not a key");
    }

    #[test]
    fn layers_override_in_order_and_locks_hold() {
        let dir = tempfile::tempdir().unwrap();
        let managed = write(
            &dir,
            "managed.toml",
            "locked = [\"pop.trigger\", \"salesforce\"]\n[pop]\ntrigger = \"connected\"\n[salesforce]\nlogin_base = \"https://acme.my.salesforce.com\"\n[cache]\nnegative_ttl_secs = 600\n",
        );
        let user = write(
            &dir,
            "user.toml",
            "[pop]\ntrigger = \"alerting\"\nlookup_budget_ms = 1500\n[cache]\nnegative_ttl_secs = 900\n",
        );
        let sources = Sources {
            managed: Some(managed),
            user: Some(user),
            env: vec![
                ("COMPANION_CACHE__NEGATIVE_TTL_SECS".into(), "1200".into()),
                ("COMPANION_SALESFORCE__API_VERSION".into(), "61.0".into()),
                ("PATH".into(), "/bin".into()),
            ],
            flags: vec!["pop.lookup_budget_ms=2500".into()],
            policy: None,
        };
        let l = load(&sources).unwrap();
        assert_eq!(l.config.pop.trigger, PopTrigger::Connected, "locked by IT");
        assert_eq!(l.config.salesforce.login_base, "https://acme.my.salesforce.com");
        assert_eq!(l.config.salesforce.api_version, "62.0", "the whole section is locked");
        assert_eq!(l.config.cache.negative_ttl_secs, 1200);
        assert_eq!(l.origin("cache.negative_ttl_secs"), Layer::Environment);
        assert_eq!(l.config.pop.lookup_budget_ms, 2500);
        assert_eq!(l.origin("pop.lookup_budget_ms"), Layer::CommandLine);
        assert!(l.is_locked("salesforce.api_version"));
        assert!(l.refused.contains(&("pop.trigger".into(), Layer::User)));
        assert!(l.refused.contains(&("salesforce.api_version".into(), Layer::Environment)));
    }

    #[test]
    fn the_shipped_managed_example_loads_and_locks_autostart_and_update_notices() {
        let dir = tempfile::tempdir().unwrap();
        let managed = write(&dir, "managed.toml", include_str!("../../../../docs/managed.example.toml"));
        // An agent tries to turn the login item off and the notices on, by file and by flag.
        let user = write(&dir, "user.toml", "[desktop]\nautostart = false\n[updates]\nprompts = true\n");
        let sources = Sources {
            managed: Some(managed),
            user: Some(user),
            env: vec![("COMPANION_UPDATES__FEED_URL".into(), "https://updates.example.com/latest.json".into())],
            flags: vec!["desktop.autostart=false".into()],
            policy: None,
        };
        let l = load(&sources).unwrap();
        assert!(l.config.desktop.autostart);
        assert!(!l.config.updates.prompts);
        assert_eq!(l.config.updates.feed_url, None, "the whole updates section is locked");
        assert_eq!(l.origin("desktop.autostart"), Layer::Managed);
        assert!(l.is_locked("updates.prompts") && l.is_locked("desktop.autostart"));
        for refused in [
            ("desktop.autostart".to_string(), Layer::User),
            ("desktop.autostart".to_string(), Layer::CommandLine),
            ("updates.prompts".to_string(), Layer::User),
            ("updates.feed_url".to_string(), Layer::Environment),
        ] {
            assert!(l.refused.contains(&refused), "{refused:?} in {:?}", l.refused);
        }
    }

    #[test]
    fn an_insecure_release_feed_is_refused() {
        let e = load(&Sources {
            flags: vec!["updates.feed_url=http://updates.example.com/x.json".into()],
            ..Default::default()
        })
        .unwrap_err()
        .to_string();
        assert!(e.contains("updates.feed_url") && e.contains("https"), "{e}");
    }

    #[test]
    fn a_bad_file_names_the_file_the_line_and_the_key() {
        let dir = tempfile::tempdir().unwrap();
        let user = write(&dir, "user.toml", "[pop]\nlookup_budget_ms = 100\ntrigerr = \"alerting\"\n");
        let e = load(&Sources { user: Some(user.clone()), ..Default::default() }).unwrap_err().to_string();
        assert!(e.contains(&user.display().to_string()), "{e}");
        assert!(e.contains("line 3"), "{e}");
        assert!(e.contains("trigerr"), "{e}");
        let user = write(&dir, "user2.toml", "[cache]\npositive_ttl_secs = \"a week\"\n");
        let e = load(&Sources { user: Some(user), ..Default::default() }).unwrap_err().to_string();
        assert!(e.contains("line 2") && e.contains("positive_ttl_secs"), "{e}");
        let user = write(&dir, "user3.toml", "[pop\n");
        assert!(load(&Sources { user: Some(user), ..Default::default() }).is_err());
    }

    #[test]
    fn bad_values_and_overrides_are_refused_clearly() {
        let env = |k: &str, v: &str| Sources { env: vec![(k.into(), v.into())], ..Default::default() };
        let e = load(&env("COMPANION_PHONE__DEFAULT_COUNTRY", "Atlantis")).unwrap_err().to_string();
        assert!(e.contains("phone.default_country") && e.contains("Environment"), "{e}");
        let e = load(&env("COMPANION_NOPE", "1")).unwrap_err().to_string();
        assert!(e.contains("COMPANION_NOPE"), "{e}");
        let e = load(&Sources { flags: vec!["genesys.api_base=ftp://x".into()], ..Default::default() })
            .unwrap_err()
            .to_string();
        assert!(e.contains("genesys.api_base"), "{e}");
        let e = load(&Sources { flags: vec!["pop.trigger=sometimes".into()], ..Default::default() })
            .unwrap_err()
            .to_string();
        assert!(e.contains("trigger"), "{e}");
        let dir = tempfile::tempdir().unwrap();
        let user =
            write(&dir, "u.toml", "[[search.objects]]\nname = \"Contact\"\nfields = [\"Id\", \"Name) , User(Id\"]\n");
        let e = load(&Sources { user: Some(user), ..Default::default() }).unwrap_err().to_string();
        assert!(e.contains("search.objects"), "{e}");
    }
}
