//! The cloud's connection settings from a standard `clouds.yaml`, as every OpenStack tool reads it.
//!
//! The file is searched like openstacksdk does ([`search_paths`]): an explicit path, then
//! `$OS_CLIENT_CONFIG_FILE`, `./clouds.yaml`, `~/.config/openstack/clouds.yaml` and
//! `/etc/openstack/clouds.yaml`; the first that exists is read, and the cloud is picked by name.
//!
//! Supported: `auth_type` `password` (the default) and `v3applicationcredential`, `region_name`,
//! `compute_endpoint_override`,
//! `interface` (`public` by default), `verify` and `cacert`. Not supported: `secure.yaml`,
//! `clouds-public.yaml` profiles and other auth plugins (they are refused with a clear error).
//!
//! Every error names the file, the cloud and the field. Secrets are held in [`Secret`], whose `Debug`
//! prints `<redacted>`, so a configuration can be logged whole.

use serde_yaml_ng::{Mapping, Value};
use std::{
    fmt,
    path::{Path, PathBuf},
};

/// A password or credential secret: printed as `<redacted>` by `Debug` and `Display`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret.
    pub fn new(secret: impl Into<String>) -> Self {
        Self(secret.into())
    }

    /// The secret itself, for the one request that needs it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// Something named either by name or by id (users, projects, domains, credentials).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NameOrId {
    /// By name.
    Name(String),
    /// By id.
    Id(String),
}

/// A user: by id, or by name within a domain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum User {
    /// `user_id`.
    Id(String),
    /// `username` and its domain (`user_domain_name`/`user_domain_id`, else `domain_name`/`domain_id`).
    Name {
        /// The user's name.
        name: String,
        /// Its domain.
        domain: NameOrId,
    },
}

/// The project a password token is scoped to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Project {
    /// `project_id` (also `tenant_id`).
    Id(String),
    /// `project_name` (also `tenant_name`) and its domain.
    Name {
        /// The project's name.
        name: String,
        /// Its domain (`project_domain_name`/`project_domain_id`, else `domain_name`/`domain_id`).
        domain: NameOrId,
    },
}

/// How to obtain a token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Auth {
    /// `auth_type: password`.
    Password {
        /// The user.
        user: User,
        /// Its password.
        password: Secret,
        /// The project to scope the token to.
        project: Project,
    },
    /// `auth_type: v3applicationcredential` (the credential carries its own project).
    ApplicationCredential {
        /// `application_credential_id`, or `application_credential_name`.
        credential: NameOrId,
        /// The owner, needed only when the credential is named rather than given by id.
        user: Option<User>,
        /// `application_credential_secret`.
        secret: Secret,
    },
}

/// Which of the catalog's endpoints to use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Interface {
    /// `public` (the default).
    #[default]
    Public,
    /// `internal`.
    Internal,
    /// `admin`.
    Admin,
}

impl Interface {
    /// The name the catalog uses.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Public => "public",
            Self::Internal => "internal",
            Self::Admin => "admin",
        }
    }
}

/// One cloud of a `clouds.yaml`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CloudConfig {
    /// The cloud's name in the file.
    pub name: String,
    /// The file it was read from (or a description of the text's origin).
    pub source: PathBuf,
    /// Keystone's URL, always ending in `/v3` (appended when the file leaves it out).
    pub auth_url: String,
    /// The credentials.
    pub auth: Auth,
    /// `region_name`; `None` takes the catalog's endpoint whatever its region.
    pub region_name: Option<String>,
    /// `interface`.
    pub interface: Interface,
    /// `verify` (default true): whether TLS certificates are checked.
    pub verify: bool,
    /// `cacert`: a PEM file of extra trusted CA certificates.
    pub cacert: Option<PathBuf>,
    /// `compute_endpoint_override`: Nova's URL instead of the catalog's (e.g. through a proxy).
    pub compute_endpoint_override: Option<String>,
}

/// A `clouds.yaml` that cannot be used; the message names the file, the cloud and the field.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(String);

impl ConfigError {
    /// The message.
    pub fn message(&self) -> &str {
        &self.0
    }
}

/// The places searched for a `clouds.yaml`, in order: `explicit`, `$OS_CLIENT_CONFIG_FILE`,
/// `./clouds.yaml`, `~/.config/openstack/clouds.yaml`, `/etc/openstack/clouds.yaml`.
pub fn search_paths(explicit: Option<&Path>) -> Vec<PathBuf> {
    search_paths_with(
        explicit,
        std::env::var_os("OS_CLIENT_CONFIG_FILE").map(PathBuf::from),
        std::env::var_os("HOME").map(PathBuf::from),
    )
}

/// [`search_paths`] with the environment given: `os_client_config_file` is
/// `$OS_CLIENT_CONFIG_FILE`, `home` is `$HOME`.
pub fn search_paths_with(
    explicit: Option<&Path>,
    os_client_config_file: Option<PathBuf>,
    home: Option<PathBuf>,
) -> Vec<PathBuf> {
    let mut paths = Vec::new();
    paths.extend(explicit.map(Path::to_path_buf));
    paths.extend(os_client_config_file.filter(|p| !p.as_os_str().is_empty()));
    paths.push(PathBuf::from("clouds.yaml"));
    if let Some(home) = home.filter(|h| !h.as_os_str().is_empty()) {
        paths.push(home.join(".config/openstack/clouds.yaml"));
    }
    paths.push(PathBuf::from("/etc/openstack/clouds.yaml"));
    paths
}

/// Finds the `clouds.yaml` ([`search_paths`]) and reads the cloud `cloud` from it. An explicit path,
/// and `$OS_CLIENT_CONFIG_FILE` when set, must exist; the other places are skipped when absent.
pub fn load(explicit: Option<&Path>, cloud: &str) -> Result<CloudConfig, ConfigError> {
    let env_file = std::env::var_os("OS_CLIENT_CONFIG_FILE")
        .map(PathBuf::from)
        .filter(|p| !p.as_os_str().is_empty());
    let path = if let Some(path) = explicit {
        path.to_path_buf()
    } else if let Some(path) = env_file {
        if !path.exists() {
            return Err(ConfigError(format!(
                "$OS_CLIENT_CONFIG_FILE names {}, which does not exist",
                path.display()
            )));
        }
        path
    } else {
        let candidates = search_paths(None);
        match candidates.iter().find(|p| p.is_file()) {
            Some(path) => path.clone(),
            None => {
                let list: Vec<String> =
                    candidates.iter().map(|p| p.display().to_string()).collect();
                return Err(ConfigError(format!(
                    "no clouds.yaml found (looked in {}); name one explicitly or set $OS_CLIENT_CONFIG_FILE",
                    list.join(", ")
                )));
            }
        }
    };
    load_file(&path, cloud)
}

/// Reads the cloud `cloud` from the `clouds.yaml` at `path`.
pub fn load_file(path: &Path, cloud: &str) -> Result<CloudConfig, ConfigError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| ConfigError(format!("cannot read clouds.yaml {}: {e}", path.display())))?;
    parse(&text, path, cloud)
}

/// Reads the cloud `cloud` from the text of a `clouds.yaml`; `source` names it in errors.
pub fn parse(text: &str, source: &Path, cloud: &str) -> Result<CloudConfig, ConfigError> {
    let file = source.display().to_string();
    let root: Value = serde_yaml_ng::from_str(text)
        .map_err(|e| ConfigError(format!("{file} is not valid YAML: {e}")))?;
    let clouds = match &root {
        Value::Mapping(m) => match m.get("clouds") {
            Some(Value::Mapping(clouds)) => clouds,
            Some(_) => return Err(ConfigError(format!("{file}: `clouds` is not a mapping"))),
            None => return Err(ConfigError(format!("{file} has no `clouds` section"))),
        },
        _ => {
            return Err(ConfigError(format!(
                "{file}: expected a mapping with a `clouds` key"
            )));
        }
    };
    let entry = match clouds.get(cloud) {
        Some(Value::Mapping(entry)) => entry,
        Some(_) => {
            return Err(ConfigError(format!(
                "{file}: cloud `{cloud}` is not a mapping"
            )));
        }
        None => {
            let names: Vec<String> = clouds.keys().filter_map(scalar).collect();
            return Err(ConfigError(format!(
                "{file} has no cloud named `{cloud}` (it has: {})",
                if names.is_empty() {
                    "none".to_owned()
                } else {
                    names.join(", ")
                }
            )));
        }
    };
    let at = Fields {
        file: &file,
        cloud,
        section: "",
    };
    if entry.contains_key("profile") {
        return Err(at.error(
            "profile",
            "is not supported (name every setting in clouds.yaml)",
        ));
    }
    let auth_type = at
        .string(entry, "auth_type")?
        .unwrap_or_else(|| "password".to_owned());
    let auth_map = match entry.get("auth") {
        Some(Value::Mapping(m)) => m,
        Some(_) => return Err(at.error("auth", "is not a mapping")),
        None => return Err(at.error("auth", "is missing")),
    };
    let a = Fields {
        file: &file,
        cloud,
        section: "auth.",
    };
    let auth_url = a.required(auth_map, "auth_url")?;
    let auth_url = normalize_auth_url(&auth_url)
        .ok_or_else(|| a.error("auth_url", &format!("`{auth_url}` is not an http(s) URL")))?;
    let auth = match auth_type.as_str() {
        "password" | "v3password" => {
            let user = a.user(auth_map)?.ok_or_else(|| {
                a.error(
                    "username",
                    "is missing (give auth.username or auth.user_id)",
                )
            })?;
            let password = Secret(a.required(auth_map, "password")?);
            let project = if let Some(id) = a.string_any(auth_map, &["project_id", "tenant_id"])? {
                Project::Id(id)
            } else if let Some(name) = a.string_any(auth_map, &["project_name", "tenant_name"])? {
                let domain = a.domain(auth_map, "project_domain")?.ok_or_else(|| {
                    a.error(
                        "project_domain_name",
                        "is missing (give auth.project_domain_name, auth.project_domain_id or auth.domain_name)",
                    )
                })?;
                Project::Name { name, domain }
            } else {
                return Err(a.error(
                    "project_name",
                    "is missing (give auth.project_name or auth.project_id: the servers live in a project)",
                ));
            };
            Auth::Password {
                user,
                password,
                project,
            }
        }
        "v3applicationcredential" | "applicationcredential" => {
            let secret = Secret(a.required(auth_map, "application_credential_secret")?);
            let (credential, user) = if let Some(id) =
                a.string(auth_map, "application_credential_id")?
            {
                (NameOrId::Id(id), None)
            } else if let Some(name) = a.string(auth_map, "application_credential_name")? {
                let user = a.user(auth_map)?.ok_or_else(|| {
                        a.error(
                            "username",
                            "is missing (a credential given by name needs auth.username or auth.user_id)",
                        )
                    })?;
                (NameOrId::Name(name), Some(user))
            } else {
                return Err(a.error(
                        "application_credential_id",
                        "is missing (give auth.application_credential_id or auth.application_credential_name)",
                    ));
            };
            Auth::ApplicationCredential {
                credential,
                user,
                secret,
            }
        }
        other => {
            return Err(at.error(
                "auth_type",
                &format!("`{other}` is not supported (use password or v3applicationcredential)"),
            ));
        }
    };
    if let Some(version) = at.string(entry, "identity_api_version")?
        && version != "3"
        && version != "3.0"
    {
        return Err(at.error(
            "identity_api_version",
            &format!("`{version}` is not supported (only 3)"),
        ));
    }
    let interface = match at.string(entry, "interface")?.as_deref() {
        None | Some("public") | Some("publicURL") => Interface::Public,
        Some("internal") | Some("internalURL") => Interface::Internal,
        Some("admin") | Some("adminURL") => Interface::Admin,
        Some(other) => {
            return Err(at.error(
                "interface",
                &format!("`{other}` is not public, internal or admin"),
            ));
        }
    };
    let verify = match entry.get("verify") {
        None | Some(Value::Null) => true,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(at.error("verify", "is not true or false")),
    };
    Ok(CloudConfig {
        name: cloud.to_owned(),
        source: source.to_path_buf(),
        auth_url,
        auth,
        region_name: at.string(entry, "region_name")?,
        compute_endpoint_override: at.string(entry, "compute_endpoint_override")?,
        interface,
        verify,
        cacert: at.string(entry, "cacert")?.map(PathBuf::from),
    })
}

/// `http(s)://host[:port]/path` with `/v3` at the end.
fn normalize_auth_url(url: &str) -> Option<String> {
    let url = url.trim();
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return None;
    }
    let url = url.trim_end_matches('/');
    if url.ends_with("/v3") {
        Some(url.to_owned())
    } else {
        Some(format!("{url}/v3"))
    }
}

/// A YAML scalar as text (numbers and booleans too: `project_id: 1234` is common).
fn scalar(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

struct Fields<'a> {
    file: &'a str,
    cloud: &'a str,
    section: &'static str,
}

impl Fields<'_> {
    fn error(&self, field: &str, what: &str) -> ConfigError {
        ConfigError(format!(
            "{}: cloud `{}`: {}{field} {what}",
            self.file, self.cloud, self.section
        ))
    }

    /// An optional string field; empty strings count as absent.
    fn string(&self, map: &Mapping, field: &str) -> Result<Option<String>, ConfigError> {
        match map.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(value) => match scalar(value) {
                Some(s) if s.trim().is_empty() => Ok(None),
                Some(s) => Ok(Some(s)),
                None => Err(self.error(field, "is not a string")),
            },
        }
    }

    fn string_any(&self, map: &Mapping, fields: &[&str]) -> Result<Option<String>, ConfigError> {
        for field in fields {
            if let Some(s) = self.string(map, field)? {
                return Ok(Some(s));
            }
        }
        Ok(None)
    }

    fn required(&self, map: &Mapping, field: &str) -> Result<String, ConfigError> {
        self.string(map, field)?
            .ok_or_else(|| self.error(field, "is missing"))
    }

    /// `{prefix}_domain_id` / `{prefix}_domain_name`, else `domain_id` / `domain_name`.
    fn domain(&self, map: &Mapping, prefix: &str) -> Result<Option<NameOrId>, ConfigError> {
        if let Some(id) = self.string(map, &format!("{prefix}_id"))? {
            return Ok(Some(NameOrId::Id(id)));
        }
        if let Some(name) = self.string(map, &format!("{prefix}_name"))? {
            return Ok(Some(NameOrId::Name(name)));
        }
        if let Some(id) = self.string(map, "domain_id")? {
            return Ok(Some(NameOrId::Id(id)));
        }
        Ok(self.string(map, "domain_name")?.map(NameOrId::Name))
    }

    fn user(&self, map: &Mapping) -> Result<Option<User>, ConfigError> {
        if let Some(id) = self.string(map, "user_id")? {
            return Ok(Some(User::Id(id)));
        }
        let Some(name) = self.string(map, "username")? else {
            return Ok(None);
        };
        let domain = self.domain(map, "user_domain")?.ok_or_else(|| {
            self.error(
                "user_domain_name",
                "is missing (give auth.user_domain_name, auth.user_domain_id or auth.domain_name)",
            )
        })?;
        Ok(Some(User::Name { name, domain }))
    }
}
