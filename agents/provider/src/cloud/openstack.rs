//! The [`Cloud`] on a real OpenStack: Keystone v3 for tokens, Nova for servers, flavors and limits,
//! Glance v2 for images, Neutron v2.0 for networks, ports and floating IPs.
//!
//! # Why a small client of our own rather than the `openstack` crate
//!
//! - `openstack` 0.6 sends no compute microversion and always creates servers with `networks: []`.
//!   Tags at creation need Nova microversion 2.52 or later (a server must never exist untagged, or a
//!   crash between create and tag could leave a server no lease owns), and a cloud without Neutron
//!   networks for the project (the lab) needs `networks: "none"`. It also brings reqwest 0.12 and
//!   native-tls next to the workspace's reqwest 0.13.
//! - `openstack_sdk` 0.22 could do it (per-request microversions, tags), but it is a family of about
//!   twenty generated crates (every service, every auth plugin) and its own config loader and error
//!   types; we need ten calls, a precise mapping of failures to [`CloudError`] (auth / not found /
//!   rejected / unavailable) and a timeout on every request.
//!
//! So this module speaks the REST API directly with reqwest (rustls): about the same code as the glue
//! around either crate, no second HTTP stack, and every request and header visible here.
//!
//! # Behaviour
//!
//! - [`OpenStack::connect`] issues a token (`POST /v3/auth/tokens`, password or application
//!   credential), picks the `compute` and `image` endpoints from the catalog (the configured interface
//!   and region; `network` too when the catalog has it), resolves a network named by name to its id,
//!   and negotiates the compute microversion: the highest Nova supports, at most
//!   [`MAX_COMPUTE_MICROVERSION`]; it refuses a Nova older than [`MIN_COMPUTE_MICROVERSION`].
//!   Every compute request carries `OpenStack-API-Version: compute 2.x` and
//!   `X-OpenStack-Nova-API-Version: 2.x`.
//! - The token is renewed before it expires (at 90% of its lifetime, at most 5 minutes early) and
//!   once on a 401 (the request is then sent again, once). Nothing else is retried here: retries are
//!   the caller's business.
//! - Every request has a timeout ([`Options::timeout`], 30 s by default).
//! - Failures: 401/403 → [`CloudError::Auth`], 404 → [`CloudError::NotFound`], other 4xx →
//!   [`CloudError::Rejected`] with the cloud's message, 5xx, timeouts and connection failures →
//!   [`CloudError::Unavailable`]. Each message names the call, the HTTP status and what the cloud said.
//!   A 403 that says a quota or limit is exceeded (Nova answers an exceeded quota with 403) is
//!   [`CloudError::Rejected`]: only the other 403s (policy refusals) are permission problems.
//! - Starting a running server or stopping a stopped one is not an error (Nova's 409 is checked
//!   against the server's status); a 409 while the server is in another state is
//!   [`CloudError::Unavailable`] (it may settle), or [`CloudError::Rejected`] when it is in ERROR.
//! - Nothing here logs; secrets (password, credential secret, token) are never in a `Debug` output
//!   or an error message. Nor is the user data (the buyer's cloud-init, which may hold secrets):
//!   Nova's validation errors quote the offending value, so the errors of the calls that send it
//!   have every trace of it replaced by `<user data>`.

use super::{
    Cloud, CloudError, CloudServer, CreateServer, Flavor, FloatingIp, NetworkInfo, Room,
    clouds_yaml::{Auth, CloudConfig, NameOrId, Project, Secret, User},
};
use crate::plan::ServerStatus;
use base64::Engine as _;
use reqwest::{Method, StatusCode};
use serde::Deserialize;
use serde_json::{Value, json};
use std::{
    collections::BTreeMap,
    fmt,
    str::FromStr,
    sync::Arc,
    time::{Duration, Instant},
};

/// The oldest compute microversion the agent works with: 2.52 sets tags at creation.
pub const MIN_COMPUTE_MICROVERSION: (u32, u32) = (2, 52);
/// The newest compute microversion the agent asks for (tested against Nova 34 of the lab).
pub const MAX_COMPUTE_MICROVERSION: (u32, u32) = (2, 90);

/// Which network a new server is attached to.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub enum Network {
    /// `networks: "none"`: no port (the lab, which has no Neutron).
    #[default]
    None,
    /// `networks: "auto"`: Nova picks or creates the project's network.
    Auto,
    /// `networks: [{"uuid": id}]`: this network (a name is resolved to its id on connecting).
    Id(String),
}

impl FromStr for Network {
    type Err = String;

    /// `none`, `auto`, or a network's id or name.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "" => Err("empty network: use none, auto, or a network's id or name".to_owned()),
            "none" => Ok(Self::None),
            "auto" => Ok(Self::Auto),
            id => Ok(Self::Id(id.to_owned())),
        }
    }
}

impl Network {
    fn to_json(&self) -> Value {
        match self {
            Self::None => json!("none"),
            Self::Auto => json!("auto"),
            Self::Id(id) => json!([{ "uuid": id }]),
        }
    }
}

/// Settings of the client that are not in `clouds.yaml`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Options {
    /// The timeout of each request (connection, request and response together).
    pub timeout: Duration,
    /// The network of new servers.
    pub network: Network,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(30),
            network: Network::None,
        }
    }
}

/// A token and the endpoints its catalog names.
struct Session {
    token: Secret,
    renew_at: Instant,
    compute: String,
    image: String,
    /// Neutron's base (`…/v2.0`), when the catalog has a network service.
    network: Option<String>,
}

#[derive(Clone, Copy, Debug)]
enum Service {
    Compute,
    Image,
    Network,
}

/// A response: status and body.
struct Reply {
    status: StatusCode,
    body: Vec<u8>,
}

/// An OpenStack cloud, connected.
pub struct OpenStack {
    config: CloudConfig,
    options: Options,
    http: reqwest::Client,
    microversion: String,
    session: tokio::sync::Mutex<Option<Arc<Session>>>,
}

impl fmt::Debug for OpenStack {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpenStack")
            .field("cloud", &self.config.name)
            .field("auth_url", &self.config.auth_url)
            .field("region", &self.config.region_name)
            .field("interface", &self.config.interface)
            .field("compute_microversion", &self.microversion)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl OpenStack {
    /// Authenticates, finds the compute and image endpoints and negotiates the compute
    /// microversion. Wrong credentials are [`CloudError::Auth`]; an unreachable Keystone is
    /// [`CloudError::Unavailable`].
    pub async fn connect(config: CloudConfig, options: Options) -> Result<Self, CloudError> {
        let mut builder = reqwest::Client::builder()
            .timeout(options.timeout)
            .connect_timeout(options.timeout)
            .user_agent(concat!("utter-provider-agent/", env!("CARGO_PKG_VERSION")));
        if let Some(path) = &config.cacert {
            let pem = std::fs::read(path).map_err(|e| {
                CloudError::Rejected(format!(
                    "cloud `{}`: cannot read cacert {}: {e}",
                    config.name,
                    path.display()
                ))
            })?;
            let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| {
                CloudError::Rejected(format!(
                    "cloud `{}`: cacert {} is not a PEM bundle: {e}",
                    config.name,
                    path.display()
                ))
            })?;
            builder = builder.tls_certs_only(certs);
        }
        if !config.verify {
            builder = builder.tls_danger_accept_invalid_certs(true);
        }
        let http = builder.build().map_err(|e| {
            CloudError::Rejected(format!("cloud `{}`: HTTP client: {e}", config.name))
        })?;
        let mut cloud = Self {
            config,
            options,
            http,
            microversion: format!(
                "{}.{}",
                MAX_COMPUTE_MICROVERSION.0, MAX_COMPUTE_MICROVERSION.1
            ),
            session: tokio::sync::Mutex::new(None),
        };
        let session = cloud.session().await?;
        cloud.microversion = cloud.negotiate(&session.compute).await?;
        if let Network::Id(wanted) = &cloud.options.network
            && session.network.is_some()
        {
            // A name is resolved once, so every boot names the network by id as Nova wants.
            let found = cloud.find_network(wanted).await?.ok_or_else(|| {
                CloudError::NotFound(format!(
                    "cloud `{}` has no network {wanted:?} (cloud.network)",
                    cloud.config.name
                ))
            })?;
            cloud.options.network = Network::Id(found.id);
        }
        Ok(cloud)
    }

    /// The cloud's configuration.
    pub fn config(&self) -> &CloudConfig {
        &self.config
    }

    /// The compute microversion in use, e.g. `2.90`.
    pub fn compute_microversion(&self) -> &str {
        &self.microversion
    }

    /// The compute endpoint's version document decides the microversion.
    async fn negotiate(&self, compute: &str) -> Result<String, CloudError> {
        let want = MAX_COMPUTE_MICROVERSION;
        let min = MIN_COMPUTE_MICROVERSION;
        let url = format!("{compute}/");
        let reply = self
            .http
            .get(&url)
            .send()
            .await
            .map_err(|e| transport_error("GET", &url, &e))?;
        let status = reply.status();
        let body = reply
            .bytes()
            .await
            .map_err(|e| transport_error("GET", &url, &e))?;
        // Some clouds put the project id in the endpoint, whose root then has no version
        // document: ask for the newest we know and let Nova refuse it if it must.
        let fallback = format!("{}.{}", want.0, want.1);
        if !status.is_success() {
            return Ok(fallback);
        }
        #[derive(Deserialize)]
        struct Doc {
            version: Version,
        }
        #[derive(Deserialize)]
        struct Version {
            #[serde(default)]
            version: String,
        }
        let Ok(doc) = serde_json::from_slice::<Doc>(&body) else {
            return Ok(fallback);
        };
        let max = parse_microversion(&doc.version.version).ok_or_else(|| {
            CloudError::Rejected(format!(
                "Nova at {compute} supports no compute microversions; the agent needs {}.{} (tags at creation)",
                min.0, min.1
            ))
        })?;
        if max < min {
            return Err(CloudError::Rejected(format!(
                "Nova at {compute} supports compute microversions up to {}.{}; the agent needs {}.{} (tags at creation)",
                max.0, max.1, min.0, min.1
            )));
        }
        let use_ = max.min(want);
        Ok(format!("{}.{}", use_.0, use_.1))
    }

    /// The current session, renewed when it is about to expire.
    async fn session(&self) -> Result<Arc<Session>, CloudError> {
        let mut guard = self.session.lock().await;
        if let Some(session) = guard.as_ref()
            && Instant::now() < session.renew_at
        {
            return Ok(session.clone());
        }
        *guard = None;
        let session = Arc::new(self.authenticate().await?);
        *guard = Some(session.clone());
        Ok(session)
    }

    /// Forgets `stale` (after a 401), unless another request already replaced it.
    async fn forget(&self, stale: &Arc<Session>) {
        let mut guard = self.session.lock().await;
        if guard.as_ref().is_some_and(|s| Arc::ptr_eq(s, stale)) {
            *guard = None;
        }
    }

    async fn authenticate(&self) -> Result<Session, CloudError> {
        let config = &self.config;
        let identity = match &config.auth {
            Auth::Password {
                user,
                password,
                project,
            } => {
                let mut user = user_json(user);
                user["password"] = json!(password.expose());
                let project = match project {
                    Project::Id(id) => json!({ "id": id }),
                    Project::Name { name, domain } => {
                        json!({ "name": name, "domain": name_or_id(domain) })
                    }
                };
                json!({
                    "identity": { "methods": ["password"], "password": { "user": user } },
                    "scope": { "project": project },
                })
            }
            Auth::ApplicationCredential {
                credential,
                user,
                secret,
            } => {
                let mut credential = name_or_id(credential);
                credential["secret"] = json!(secret.expose());
                if let Some(user) = user {
                    credential["user"] = user_json(user);
                }
                json!({
                    "identity": {
                        "methods": ["application_credential"],
                        "application_credential": credential,
                    },
                })
            }
        };
        let url = format!("{}/auth/tokens", config.auth_url);
        let what = format!("cloud `{}`: POST {url}", config.name);
        let reply = self
            .http
            .post(&url)
            .json(&json!({ "auth": identity }))
            .send()
            .await
            .map_err(|e| transport_error(&format!("cloud `{}`: POST", config.name), &url, &e))?;
        let status = reply.status();
        let token = reply
            .headers()
            .get("x-subject-token")
            .and_then(|t| t.to_str().ok())
            .map(Secret::new);
        let body = reply
            .bytes()
            .await
            .map_err(|e| transport_error(&format!("cloud `{}`: POST", config.name), &url, &e))?;
        if !status.is_success() {
            return Err(status_error(&what, status, &body));
        }
        let token = token.ok_or_else(|| {
            CloudError::Unavailable(format!("{what}: Keystone answered without X-Subject-Token"))
        })?;
        #[derive(Deserialize)]
        struct Body {
            token: Token,
        }
        #[derive(Deserialize)]
        struct Token {
            expires_at: Option<String>,
            issued_at: Option<String>,
            #[serde(default)]
            catalog: Vec<CatalogEntry>,
        }
        let body: Body = serde_json::from_slice(&body).map_err(|e| {
            CloudError::Unavailable(format!("{what}: unreadable token response: {e}"))
        })?;
        let lifetime = match (
            body.token.expires_at.as_deref().and_then(parse_timestamp),
            body.token.issued_at.as_deref().and_then(parse_timestamp),
        ) {
            (Some(expires), Some(issued)) if expires > issued => {
                Duration::from_secs((expires - issued) as u64)
            }
            _ => Duration::from_secs(3600),
        };
        let early = (lifetime / 10).min(Duration::from_secs(300));
        let compute = match &self.config.compute_endpoint_override {
            Some(url) => url.clone(),
            None => self.endpoint(&body.token.catalog, "compute")?,
        };
        let image = self.endpoint(&body.token.catalog, "image")?;
        let network = self
            .endpoint(&body.token.catalog, "network")
            .ok()
            .map(|url| neutron_base(&url));
        Ok(Session {
            token,
            renew_at: Instant::now() + lifetime - early,
            compute: compute.trim_end_matches('/').to_owned(),
            image: glance_base(&image),
            network,
        })
    }

    fn endpoint(&self, catalog: &[CatalogEntry], kind: &str) -> Result<String, CloudError> {
        let interface = self.config.interface.as_str();
        let region = self.config.region_name.as_deref();
        catalog
            .iter()
            .filter(|entry| entry.kind == kind)
            .flat_map(|entry| &entry.endpoints)
            .find(|e| {
                e.interface == interface
                    && region.is_none_or(|r| {
                        e.region.as_deref() == Some(r) || e.region_id.as_deref() == Some(r)
                    })
            })
            .map(|e| e.url.clone())
            .ok_or_else(|| {
                let regions = region
                    .map(|r| format!(" in region {r}"))
                    .unwrap_or_default();
                CloudError::Rejected(format!(
                    "cloud `{}`: the catalog has no {interface} {kind} endpoint{regions}",
                    self.config.name
                ))
            })
    }

    /// One request with the token (and the microversion for compute); on a 401 the token is
    /// renewed and the request sent once more. Returns any status: the caller maps it.
    async fn call(
        &self,
        method: Method,
        service: Service,
        path: &str,
        query: &[(&str, &str)],
        body: Option<&Value>,
    ) -> Result<Reply, CloudError> {
        let mut renewed = false;
        loop {
            let session = self.session().await?;
            let base = match service {
                Service::Compute => &session.compute,
                Service::Image => &session.image,
                Service::Network => session.network.as_ref().ok_or_else(|| {
                    CloudError::Rejected(format!(
                        "cloud `{}`: the catalog has no network (Neutron) endpoint",
                        self.config.name
                    ))
                })?,
            };
            let url = format!("{base}{path}");
            let mut request = self
                .http
                .request(method.clone(), &url)
                .header("X-Auth-Token", session.token.expose())
                .header("Accept", "application/json");
            if !query.is_empty() {
                request = request.query(query);
            }
            if let Service::Compute = service {
                request = request
                    .header(
                        "OpenStack-API-Version",
                        format!("compute {}", self.microversion),
                    )
                    .header("X-OpenStack-Nova-API-Version", &self.microversion);
            }
            if let Some(body) = body {
                request = request.json(body);
            }
            let response = request
                .send()
                .await
                .map_err(|e| transport_error(method.as_str(), &url, &e))?;
            let status = response.status();
            let bytes = response
                .bytes()
                .await
                .map_err(|e| transport_error(method.as_str(), &url, &e))?;
            if status == StatusCode::UNAUTHORIZED && !renewed {
                renewed = true;
                self.forget(&session).await;
                continue;
            }
            return Ok(Reply {
                status,
                body: bytes.to_vec(),
            });
        }
    }

    /// [`Self::call`], with any non-2xx status turned into an error.
    async fn call_ok(
        &self,
        method: Method,
        service: Service,
        path: &str,
        query: &[(&str, &str)],
        body: Option<&Value>,
    ) -> Result<Vec<u8>, CloudError> {
        let what = format!("{method} {path}");
        let reply = self.call(method, service, path, query, body).await?;
        if reply.status.is_success() {
            Ok(reply.body)
        } else {
            Err(status_error(&what, reply.status, &reply.body))
        }
    }

    /// `DELETE path`; a resource already gone is not an error.
    async fn delete(&self, service: Service, path: &str) -> Result<(), CloudError> {
        match self.call_ok(Method::DELETE, service, path, &[], None).await {
            Ok(_) | Err(CloudError::NotFound(_)) => Ok(()),
            Err(error) => Err(error),
        }
    }

    async fn get_json<T: for<'de> Deserialize<'de>>(
        &self,
        service: Service,
        path: &str,
        query: &[(&str, &str)],
    ) -> Result<T, CloudError> {
        let body = self
            .call_ok(Method::GET, service, path, query, None)
            .await?;
        decode(&format!("GET {path}"), &body)
    }

    /// A server action (`os-start`, `os-stop`) that is done when the server reaches `target`.
    async fn power_action(
        &self,
        id: &str,
        action: &str,
        target: ServerStatus,
    ) -> Result<(), CloudError> {
        let path = format!("/servers/{id}/action");
        let what = format!("POST {path} {action}");
        let reply = self
            .call(
                Method::POST,
                Service::Compute,
                &path,
                &[],
                Some(&json!({ action: null })),
            )
            .await?;
        if reply.status.is_success() {
            return Ok(());
        }
        if reply.status != StatusCode::CONFLICT {
            return Err(status_error(&what, reply.status, &reply.body));
        }
        let message = cloud_message(&reply.body);
        match self.get_server(id).await? {
            Some(server) if server.status == target => Ok(()),
            Some(server) if server.status == ServerStatus::Error => Err(CloudError::Rejected(
                format!("{what}: 409 Conflict (server in ERROR): {message}"),
            )),
            Some(server) => Err(CloudError::Unavailable(format!(
                "{what}: 409 Conflict (server {:?}, may settle): {message}",
                server.status
            ))),
            None => Err(CloudError::NotFound(format!("{what}: server {id}"))),
        }
    }
}

impl Cloud for OpenStack {
    async fn list_servers(&self, tag: &str) -> Result<Vec<CloudServer>, CloudError> {
        #[derive(Deserialize)]
        struct Page {
            servers: Vec<ServerJson>,
            #[serde(default)]
            servers_links: Vec<Link>,
        }
        let mut out = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            let mut query = vec![("tags", tag)];
            if let Some(marker) = &marker {
                query.push(("marker", marker.as_str()));
            }
            let page: Page = self
                .get_json(Service::Compute, "/servers/detail", &query)
                .await?;
            let next = has_next(&page.servers_links);
            let last = page.servers.last().map(|s| s.id.clone());
            out.extend(page.servers.into_iter().map(ServerJson::into_server));
            match (next, last) {
                (true, Some(last)) if marker.as_deref() != Some(&last) => marker = Some(last),
                _ => return Ok(out),
            }
        }
    }

    async fn get_server(&self, id: &str) -> Result<Option<CloudServer>, CloudError> {
        #[derive(Deserialize)]
        struct One {
            server: ServerJson,
        }
        match self
            .get_json::<One>(Service::Compute, &format!("/servers/{id}"), &[])
            .await
        {
            Ok(one) => Ok(Some(one.server.into_server())),
            Err(CloudError::NotFound(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn create_server(&self, request: &CreateServer) -> Result<String, CloudError> {
        let mut server = json!({
            "name": request.name,
            "flavorRef": request.flavor_id,
            "imageRef": request.image_id,
            "tags": request.tags,
            "metadata": request.metadata,
            "networks": self.options.network.to_json(),
        });
        let user_data =
            base64::engine::general_purpose::STANDARD.encode(request.user_data.as_bytes());
        if !user_data.is_empty() {
            server["user_data"] = json!(user_data);
        }
        #[derive(Deserialize)]
        struct Created {
            server: CreatedServer,
        }
        #[derive(Deserialize)]
        struct CreatedServer {
            id: String,
        }
        let body = self
            .call_ok(
                Method::POST,
                Service::Compute,
                "/servers",
                &[],
                Some(&json!({ "server": server })),
            )
            .await
            .map_err(|e| without_user_data(e, &user_data))?;
        let created: Created =
            decode("POST /servers", &body).map_err(|e| without_user_data(e, &user_data))?;
        Ok(created.server.id)
    }

    async fn set_tags(&self, id: &str, tags: &[String]) -> Result<(), CloudError> {
        // `PUT /servers/{id}/tags` replaces the whole set atomically (microversion 2.26+).
        self.call_ok(
            Method::PUT,
            Service::Compute,
            &format!("/servers/{id}/tags"),
            &[],
            Some(&json!({ "tags": tags })),
        )
        .await
        .map(|_| ())
    }

    async fn rebuild_server(
        &self,
        id: &str,
        image_id: &str,
        user_data: &str,
    ) -> Result<(), CloudError> {
        // `user_data` in a rebuild needs microversion 2.57+.
        let user_data = base64::engine::general_purpose::STANDARD.encode(user_data.as_bytes());
        self.call_ok(
            Method::POST,
            Service::Compute,
            &format!("/servers/{id}/action"),
            &[],
            Some(&json!({ "rebuild": { "imageRef": image_id, "user_data": user_data } })),
        )
        .await
        .map(|_| ())
        .map_err(|e| without_user_data(e, &user_data))
    }

    async fn start_server(&self, id: &str) -> Result<(), CloudError> {
        self.power_action(id, "os-start", ServerStatus::Active)
            .await
    }

    async fn stop_server(&self, id: &str) -> Result<(), CloudError> {
        self.power_action(id, "os-stop", ServerStatus::Shutoff)
            .await
    }

    async fn delete_server(&self, id: &str) -> Result<(), CloudError> {
        self.delete(Service::Compute, &format!("/servers/{id}"))
            .await
    }

    async fn console_log(&self, id: &str, lines: u32) -> Result<String, CloudError> {
        let path = format!("/servers/{id}/action");
        #[derive(Deserialize)]
        struct Output {
            #[serde(default)]
            output: Option<String>,
        }
        let body = self
            .call_ok(
                Method::POST,
                Service::Compute,
                &path,
                &[],
                Some(&json!({ "os-getConsoleOutput": { "length": lines } })),
            )
            .await?;
        let output: Output = decode(&format!("POST {path} os-getConsoleOutput"), &body)?;
        Ok(output.output.unwrap_or_default())
    }

    async fn find_flavor(&self, name: &str) -> Result<Option<Flavor>, CloudError> {
        #[derive(Deserialize)]
        struct Page {
            flavors: Vec<FlavorJson>,
            #[serde(default)]
            flavors_links: Vec<Link>,
        }
        #[derive(Deserialize)]
        struct FlavorJson {
            id: String,
            name: String,
            vcpus: u64,
            ram: u64,
            disk: u64,
        }
        let mut marker: Option<String> = None;
        loop {
            let mut query = Vec::new();
            if let Some(marker) = &marker {
                query.push(("marker", marker.as_str()));
            }
            let page: Page = self
                .get_json(Service::Compute, "/flavors/detail", &query)
                .await?;
            if let Some(f) = page.flavors.iter().find(|f| f.name == name) {
                return Ok(Some(Flavor {
                    id: f.id.clone(),
                    name: f.name.clone(),
                    vcpus: u16::try_from(f.vcpus).unwrap_or(u16::MAX),
                    ram_mib: u32::try_from(f.ram).unwrap_or(u32::MAX),
                    disk_gib: u32::try_from(f.disk).unwrap_or(u32::MAX),
                }));
            }
            let last = page.flavors.last().map(|f| f.id.clone());
            match (has_next(&page.flavors_links), last) {
                (true, Some(last)) if marker.as_deref() != Some(&last) => marker = Some(last),
                _ => return Ok(None),
            }
        }
    }

    async fn find_image(&self, name: &str) -> Result<Option<String>, CloudError> {
        #[derive(Deserialize)]
        struct Page {
            images: Vec<ImageJson>,
            next: Option<String>,
        }
        #[derive(Deserialize)]
        struct ImageJson {
            id: String,
            #[serde(default)]
            status: String,
            #[serde(default)]
            created_at: String,
        }
        let mut best: Option<ImageJson> = None;
        let mut marker: Option<String> = None;
        loop {
            let mut query = vec![("name", name), ("limit", "100")];
            if let Some(marker) = &marker {
                query.push(("marker", marker.as_str()));
            }
            let page: Page = self.get_json(Service::Image, "/images", &query).await?;
            let last = page.images.last().map(|i| i.id.clone());
            for image in page.images {
                // Only an active image can boot; of several, the newest.
                if image.status == "active"
                    && best
                        .as_ref()
                        .is_none_or(|b| image.created_at > b.created_at)
                {
                    best = Some(image);
                }
            }
            match (page.next, last) {
                (Some(_), Some(last)) if marker.as_deref() != Some(&last) => marker = Some(last),
                _ => return Ok(best.map(|b| b.id)),
            }
        }
    }

    async fn room(&self) -> Result<Room, CloudError> {
        #[derive(Deserialize)]
        struct Limits {
            limits: Inner,
        }
        #[derive(Deserialize)]
        struct Inner {
            absolute: BTreeMap<String, Value>,
        }
        let limits: Limits = self.get_json(Service::Compute, "/limits", &[]).await?;
        let absolute = limits.limits.absolute;
        let left = |max: &str, used: &str| -> Option<u64> {
            let max = absolute.get(max).and_then(Value::as_i64)?;
            if max < 0 {
                return None;
            }
            let used = absolute.get(used).and_then(Value::as_i64).unwrap_or(0);
            Some(max.saturating_sub(used).max(0) as u64)
        };
        Ok(Room {
            instances: left("maxTotalInstances", "totalInstancesUsed"),
            cores: left("maxTotalCores", "totalCoresUsed"),
            ram_mib: left("maxTotalRAMSize", "totalRAMUsed"),
        })
    }

    async fn find_network(&self, name_or_id: &str) -> Result<Option<NetworkInfo>, CloudError> {
        #[derive(Deserialize)]
        struct One {
            network: NetworkJson,
        }
        #[derive(Deserialize)]
        struct Page {
            networks: Vec<NetworkJson>,
        }
        let path = format!("/networks/{name_or_id}");
        match self.get_json::<One>(Service::Network, &path, &[]).await {
            Ok(one) => return Ok(Some(one.network.into())),
            Err(CloudError::NotFound(_)) => {}
            Err(error) => return Err(error),
        }
        let page: Page = self
            .get_json(Service::Network, "/networks", &[("name", name_or_id)])
            .await?;
        match page.networks.len() {
            0 => Ok(None),
            1 => Ok(page.networks.into_iter().next().map(Into::into)),
            n => Err(CloudError::Rejected(format!(
                "cloud `{}`: {n} networks are named {name_or_id:?}: name one by id",
                self.config.name
            ))),
        }
    }

    async fn server_ports(&self, server_id: &str) -> Result<Vec<String>, CloudError> {
        #[derive(Deserialize)]
        struct Page {
            ports: Vec<IdJson>,
        }
        let page: Page = self
            .get_json(
                Service::Network,
                "/ports",
                &[("device_id", server_id), ("fields", "id")],
            )
            .await?;
        Ok(page.ports.into_iter().map(|p| p.id).collect())
    }

    async fn floating_ips(&self, network_id: &str) -> Result<Vec<FloatingIp>, CloudError> {
        #[derive(Deserialize)]
        struct Page {
            floatingips: Vec<FloatingIpJson>,
        }
        let page: Page = self
            .get_json(
                Service::Network,
                "/floatingips",
                &[("floating_network_id", network_id)],
            )
            .await?;
        Ok(page.floatingips.into_iter().map(Into::into).collect())
    }

    async fn create_floating_ip(
        &self,
        network_id: &str,
        port_id: &str,
        description: &str,
    ) -> Result<FloatingIp, CloudError> {
        let body = json!({ "floatingip": {
            "floating_network_id": network_id,
            "port_id": port_id,
            "description": description,
        }});
        let reply = self
            .call_ok(
                Method::POST,
                Service::Network,
                "/floatingips",
                &[],
                Some(&body),
            )
            .await?;
        let created: OneFloatingIp = decode("POST /floatingips", &reply)?;
        Ok(created.floatingip.into())
    }

    async fn associate_floating_ip(
        &self,
        id: &str,
        port_id: &str,
    ) -> Result<FloatingIp, CloudError> {
        let path = format!("/floatingips/{id}");
        let body = json!({ "floatingip": { "port_id": port_id } });
        let reply = self
            .call_ok(Method::PUT, Service::Network, &path, &[], Some(&body))
            .await?;
        let updated: OneFloatingIp = decode(&format!("PUT {path}"), &reply)?;
        Ok(updated.floatingip.into())
    }

    async fn delete_floating_ip(&self, id: &str) -> Result<(), CloudError> {
        self.delete(Service::Network, &format!("/floatingips/{id}"))
            .await
    }
}

#[derive(Deserialize)]
struct IdJson {
    id: String,
}

#[derive(Deserialize)]
struct NetworkJson {
    id: String,
    #[serde(default)]
    name: String,
    #[serde(rename = "router:external", default)]
    external: bool,
}

impl From<NetworkJson> for NetworkInfo {
    fn from(n: NetworkJson) -> Self {
        Self {
            id: n.id,
            name: n.name,
            external: n.external,
        }
    }
}

#[derive(Deserialize)]
struct OneFloatingIp {
    floatingip: FloatingIpJson,
}

#[derive(Deserialize)]
struct FloatingIpJson {
    id: String,
    floating_ip_address: String,
    port_id: Option<String>,
    #[serde(default)]
    description: Option<String>,
}

impl From<FloatingIpJson> for FloatingIp {
    fn from(f: FloatingIpJson) -> Self {
        Self {
            id: f.id,
            address: f.floating_ip_address,
            port_id: f.port_id,
            description: f.description.unwrap_or_default(),
        }
    }
}

#[derive(Deserialize)]
struct CatalogEntry {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    endpoints: Vec<Endpoint>,
}

#[derive(Deserialize)]
struct Endpoint {
    interface: String,
    region: Option<String>,
    region_id: Option<String>,
    url: String,
}

#[derive(Deserialize)]
struct Link {
    rel: String,
}

fn has_next(links: &[Link]) -> bool {
    links.iter().any(|l| l.rel == "next")
}

#[derive(Deserialize)]
struct ServerJson {
    id: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    tags: Option<Vec<String>>,
    #[serde(default)]
    created: Option<String>,
    #[serde(default)]
    addresses: Option<BTreeMap<String, Vec<AddressJson>>>,
    #[serde(default, rename = "accessIPv4")]
    access_ipv4: Option<String>,
    #[serde(default, rename = "accessIPv6")]
    access_ipv6: Option<String>,
    #[serde(default)]
    fault: Option<FaultJson>,
}

#[derive(Deserialize)]
struct AddressJson {
    addr: String,
    #[serde(default, rename = "OS-EXT-IPS:type")]
    kind: Option<String>,
}

#[derive(Deserialize)]
struct FaultJson {
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    details: Option<String>,
}

impl ServerJson {
    fn into_server(self) -> CloudServer {
        let status = match self.status.as_str() {
            "BUILD" | "REBUILD" => ServerStatus::Building,
            "ACTIVE" => ServerStatus::Active,
            "SHUTOFF" => ServerStatus::Shutoff,
            "ERROR" => ServerStatus::Error,
            other => ServerStatus::Other(other.to_owned()),
        };
        // Public first: the access addresses, then floating IPs, then the rest.
        let mut public = Vec::new();
        let mut other = Vec::new();
        for ip in [self.access_ipv4, self.access_ipv6].into_iter().flatten() {
            if !ip.is_empty() {
                public.push(ip);
            }
        }
        for addresses in self.addresses.unwrap_or_default().into_values() {
            for a in addresses {
                if a.kind.as_deref() == Some("floating") {
                    public.push(a.addr);
                } else {
                    other.push(a.addr);
                }
            }
        }
        public.extend(other);
        let mut addresses = Vec::new();
        for ip in public {
            if !addresses.contains(&ip) {
                addresses.push(ip);
            }
        }
        let fault = self
            .fault
            .and_then(|f| f.message.filter(|m| !m.is_empty()).or(f.details));
        CloudServer {
            id: self.id,
            name: self.name,
            status,
            tags: self.tags.unwrap_or_default(),
            created_at: self
                .created
                .as_deref()
                .and_then(parse_timestamp)
                .map_or(0, |t| t.max(0) as u64),
            addresses,
            fault,
        }
    }
}

fn user_json(user: &User) -> Value {
    match user {
        User::Id(id) => json!({ "id": id }),
        User::Name { name, domain } => json!({ "name": name, "domain": name_or_id(domain) }),
    }
}

fn name_or_id(value: &NameOrId) -> Value {
    match value {
        NameOrId::Name(name) => json!({ "name": name }),
        NameOrId::Id(id) => json!({ "id": id }),
    }
}

/// Neutron's base: the catalog's URL with `/v2.0` once at the end.
fn neutron_base(url: &str) -> String {
    let url = url.trim_end_matches('/');
    let url = url.strip_suffix("/v2.0").unwrap_or(url);
    format!("{url}/v2.0")
}

/// Glance's base for `/images`: the catalog's URL with `/v2` once at the end.
fn glance_base(url: &str) -> String {
    let url = url.trim_end_matches('/');
    let url = url.strip_suffix("/v2").unwrap_or(url);
    format!("{url}/v2")
}

/// `2.90` → `(2, 90)`.
fn parse_microversion(text: &str) -> Option<(u32, u32)> {
    let (major, minor) = text.trim().split_once('.')?;
    Some((major.parse().ok()?, minor.parse().ok()?))
}

fn decode<T: for<'de> Deserialize<'de>>(what: &str, body: &[u8]) -> Result<T, CloudError> {
    serde_json::from_slice(body).map_err(|e| {
        CloudError::Unavailable(format!(
            "{what}: unreadable response ({e}): {}",
            snippet(body)
        ))
    })
}

fn transport_error(method: &str, url: &str, error: &reqwest::Error) -> CloudError {
    let mut cause = String::new();
    let mut source = std::error::Error::source(error);
    while let Some(s) = source {
        cause.push_str(": ");
        cause.push_str(&s.to_string());
        source = s.source();
    }
    let kind = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "cannot connect"
    } else if error.is_builder() {
        return CloudError::Rejected(format!("{method} {url}: bad request: {error}{cause}"));
    } else {
        "failed"
    };
    CloudError::Unavailable(format!("{method} {url}: {kind}{cause}"))
}

/// A non-2xx status as an error, with what the cloud said.
fn status_error(what: &str, status: StatusCode, body: &[u8]) -> CloudError {
    let said = cloud_message(body);
    let quota = status == StatusCode::FORBIDDEN && is_quota_refusal(&said, body);
    let message = format!("{what}: {status}: {said}");
    match status.as_u16() {
        403 if quota => CloudError::Rejected(message),
        401 | 403 => CloudError::Auth(message),
        404 => CloudError::NotFound(message),
        // Rate limited (an API gateway in front of the cloud): worth retrying after a pause.
        429 => CloudError::Unavailable(message),
        400..=499 => CloudError::Rejected(message),
        _ => CloudError::Unavailable(message),
    }
}

/// Whether an error says a quota or limit is exceeded (rather than that the caller may not do it).
///
/// Nova answers its `QuotaError`s and `PortLimitExceeded` with 403 Forbidden, as it does policy
/// refusals ("Policy doesn't allow os_compute_api:servers:create to be performed."). The texts,
/// matched without regard to case:
/// - "Quota exceeded for instances: Requested 1, but already used 10 of 10 instances" (and cores,
///   ram: `TooManyInstances`), "Quota exceeded for resources: …" (`OverQuota`, Nova's and
///   Neutron's), "Quota exceeded, too many server groups." and the like: `quota exceeded`;
/// - "Maximum number of ports exceeded", "… floating IPs …", "… key pairs …", "Maximum number of
///   metadata items exceeds 128" (the `*LimitExceeded` quota errors): `maximum number of` and
///   `exceed`;
/// - with Keystone unified limits (oslo.limit's `ProjectOverLimit`): "Project … is over a limit for
///   [Resource servers is over limit of 10 due to current usage 10 and delta 1]": `over a limit`
///   or `over limit of`;
/// - Neutron's error type `OverQuota` (`{"NeutronError": {"type": "OverQuota", …}}`), whatever
///   its message says.
fn is_quota_refusal(message: &str, body: &[u8]) -> bool {
    let text = message.to_lowercase();
    let said = text.contains("quota exceeded")
        || text.contains("over a limit")
        || text.contains("over limit of")
        || (text.contains("maximum number of") && text.contains("exceed"));
    said || matches!(
        serde_json::from_slice::<Value>(body),
        Ok(Value::Object(map)) if map.values().any(|v| {
            v.get("type").and_then(Value::as_str) == Some("OverQuota")
        })
    )
}

/// The shortest piece of the encoded user data that is redacted when found alone (a quoted value
/// cut short, say); the whole of it is redacted whatever its length.
const USER_DATA_PIECE: usize = 40;

/// `error` with every trace of `user_data` (as sent: base64) in its message replaced by
/// `<user data>`: see [`redact`].
fn without_user_data(error: CloudError, user_data: &str) -> CloudError {
    match error {
        CloudError::Auth(m) => CloudError::Auth(redact(&m, user_data)),
        CloudError::NotFound(m) => CloudError::NotFound(redact(&m, user_data)),
        CloudError::Rejected(m) => CloudError::Rejected(redact(&m, user_data)),
        CloudError::Unavailable(m) => CloudError::Unavailable(redact(&m, user_data)),
    }
}

/// `text` with every occurrence of `secret`, and of any piece of it at least [`USER_DATA_PIECE`]
/// characters long (a prefix where a quote was cut short, for one), replaced by `<user data>`.
/// Overlapping or adjacent pieces become one `<user data>`.
fn redact(text: &str, secret: &str) -> String {
    const MARK: &str = "<user data>";
    if secret.is_empty() {
        return text.to_owned();
    }
    let text = text.replace(secret, MARK);
    // Pieces are compared as bytes: only for an ASCII secret (base64 is) are their ends sure to
    // fall between characters of `text`.
    if !secret.is_ascii() || secret.len() < USER_DATA_PIECE || text.len() < USER_DATA_PIECE {
        return text;
    }
    let pieces: std::collections::HashSet<&[u8]> =
        secret.as_bytes().windows(USER_DATA_PIECE).collect();
    let bytes = text.as_bytes();
    // Byte ranges to redact, merged as they are found (windows come in order of their start).
    let mut ranges: Vec<(usize, usize)> = Vec::new();
    for (start, window) in bytes.windows(USER_DATA_PIECE).enumerate() {
        if !pieces.contains(window) {
            continue;
        }
        let end = start + USER_DATA_PIECE;
        match ranges.last_mut() {
            Some(last) if start <= last.1 => last.1 = end,
            _ => ranges.push((start, end)),
        }
    }
    if ranges.is_empty() {
        return text;
    }
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for (start, end) in ranges {
        out.push_str(&text[at..start]);
        out.push_str(MARK);
        at = end;
    }
    out.push_str(&text[at..]);
    out
}

/// The message in an OpenStack error body: Nova's `{"badRequest": {"message": ...}}`, Keystone's
/// `{"error": {"message": ...}}`, Glance's text; else the start of the body.
fn cloud_message(body: &[u8]) -> String {
    if let Ok(Value::Object(map)) = serde_json::from_slice::<Value>(body) {
        for value in map.values() {
            if let Some(message) = value.get("message").and_then(Value::as_str) {
                return message.to_owned();
            }
        }
        if let Some(message) = map.get("message").and_then(Value::as_str) {
            return message.to_owned();
        }
    }
    snippet(body)
}

fn snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let text: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if text.chars().count() > 300 {
        format!("{}…", text.chars().take(300).collect::<String>())
    } else {
        text
    }
}

/// RFC 3339 (`2026-11-23T23:21:21Z`, `…21.000000Z`, `…21+01:00`, or without a zone, as Nova's
/// `created` can be) to unix seconds.
fn parse_timestamp(text: &str) -> Option<i64> {
    let text = text.trim();
    let (date, time) = text.split_once(['T', ' '])?;
    let mut d = date.splitn(3, '-');
    let year: i64 = d.next()?.parse().ok()?;
    let month: i64 = d.next()?.parse().ok()?;
    let day: i64 = d.next()?.parse().ok()?;
    let (clock, offset) = if let Some(clock) = time.strip_suffix(['Z', 'z']) {
        (clock, 0)
    } else if let Some(at) = time.rfind(['+', '-']) {
        let (clock, zone) = time.split_at(at);
        let sign = if zone.starts_with('-') { -1 } else { 1 };
        let (h, m) = zone[1..].split_once(':').unwrap_or((&zone[1..], "0"));
        (
            clock,
            sign * (h.parse::<i64>().ok()? * 3600 + m.parse::<i64>().ok()? * 60),
        )
    } else {
        (time, 0)
    };
    let clock = clock.split('.').next()?;
    let mut c = clock.splitn(3, ':');
    let hour: i64 = c.next()?.parse().ok()?;
    let minute: i64 = c.next()?.parse().ok()?;
    let second: i64 = c.next().unwrap_or("0").parse().ok()?;
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    // Days from civil (Howard Hinnant's algorithm).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + hour * 3600 + minute * 60 + second - offset)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps() {
        assert_eq!(parse_timestamp("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_timestamp("2026-11-23T23:21:21Z"), Some(1_795_476_081));
        assert_eq!(
            parse_timestamp("2026-11-23T23:21:21.000000Z"),
            Some(1_795_476_081)
        );
        assert_eq!(
            parse_timestamp("2026-11-24T00:21:21+01:00"),
            Some(1_795_476_081)
        );
        assert_eq!(
            parse_timestamp("2026-11-23T23:21:21.123456"),
            Some(1_795_476_081)
        );
        assert_eq!(parse_timestamp("nonsense"), None);
    }

    #[test]
    fn microversions_and_bases() {
        assert_eq!(parse_microversion("2.104"), Some((2, 104)));
        assert!(parse_microversion("2.104").unwrap() > parse_microversion("2.90").unwrap());
        assert_eq!(parse_microversion(""), None);
        assert_eq!(glance_base("http://h:9292"), "http://h:9292/v2");
        assert_eq!(glance_base("http://h:9292/v2/"), "http://h:9292/v2");
        assert_eq!(glance_base("https://h/image"), "https://h/image/v2");
    }

    #[test]
    fn messages() {
        let nova = br#"{"badRequest": {"code": 400, "message": "Invalid tag"}}"#;
        assert_eq!(cloud_message(nova), "Invalid tag");
        let keystone = br#"{"error": {"code": 401, "message": "The request you have made requires authentication.", "title": "Unauthorized"}}"#;
        assert_eq!(
            cloud_message(keystone),
            "The request you have made requires authentication."
        );
        assert!(matches!(
            status_error("x", StatusCode::FORBIDDEN, b""),
            CloudError::Auth(_)
        ));
        assert!(matches!(
            status_error("x", StatusCode::CONFLICT, b""),
            CloudError::Rejected(_)
        ));
        assert!(matches!(
            status_error("x", StatusCode::BAD_GATEWAY, b""),
            CloudError::Unavailable(_)
        ));
    }

    /// `status_error` of a 403 with `{"forbidden": {"code": 403, "message": message}}`.
    fn forbidden(message: &str) -> CloudError {
        let body = json!({"forbidden": {"code": 403, "message": message}}).to_string();
        status_error("POST /servers", StatusCode::FORBIDDEN, body.as_bytes())
    }

    #[test]
    fn rate_limiting_is_retried_not_rejected() {
        let error = status_error(
            "GET /servers/detail",
            StatusCode::TOO_MANY_REQUESTS,
            b"{\"message\": \"slow down\"}",
        );
        assert!(error.is_transient(), "{error}");
        assert!(error.to_string().contains("slow down"), "{error}");
    }

    #[test]
    fn a_quota_403_is_rejected_and_a_policy_403_is_auth() {
        for message in [
            // Nova's TooManyInstances (instances, cores, ram).
            "Quota exceeded for instances: Requested 1, but already used 10 of 10 instances",
            "Quota exceeded for cores: Requested 4, but already used 18 of 20 cores",
            "Quota exceeded for ram: Requested 8192, but already used 49152 of 51200 ram",
            // Nova's OverQuota, and the older form.
            "Quota exceeded for resources: ['instances']",
            "Quota exceeded: code=InstanceLimitExceeded",
            "Quota exceeded, too many server groups.",
            // Nova's *LimitExceeded quota errors.
            "Maximum number of ports exceeded",
            "Maximum number of floating IPs exceeded",
            "Maximum number of metadata items exceeds 128",
            // Unified limits (oslo.limit).
            "Project 9f2c is over a limit for [Resource servers is over limit of 10 due to current usage 10 and delta 1]",
        ] {
            match forbidden(message) {
                CloudError::Rejected(m) => {
                    assert!(m.contains(message), "{m}");
                    assert!(m.starts_with("POST /servers: 403 Forbidden: "), "{m}");
                }
                other => panic!("{message}: {other:?}"),
            }
        }
        // Neutron's OverQuota type, whatever the message; as a 409 it was rejected anyway.
        let neutron = br#"{"NeutronError": {"type": "OverQuota", "message": "Quota exceeded for resources: ['floatingip'].", "detail": ""}}"#;
        for status in [StatusCode::FORBIDDEN, StatusCode::CONFLICT] {
            let e = status_error("POST /floatingips", status, neutron);
            assert!(matches!(e, CloudError::Rejected(_)), "{e:?}");
            assert!(e.to_string().contains("['floatingip']"), "{e}");
        }
        let typed =
            br#"{"NeutronError": {"type": "OverQuota", "message": "no room", "detail": ""}}"#;
        assert!(matches!(
            status_error("POST /ports", StatusCode::FORBIDDEN, typed),
            CloudError::Rejected(_)
        ));
        // Permission problems stay Auth, even when they name a quota API.
        for message in [
            "Policy doesn't allow os_compute_api:servers:create to be performed.",
            "Policy doesn't allow os_compute_api:os-quota-sets:show to be performed.",
            "You are not authorized to perform the requested action: identity:get_project.",
            "",
        ] {
            let e = forbidden(message);
            assert!(matches!(e, CloudError::Auth(_)), "{message}: {e:?}");
        }
        let keystone = br#"{"error": {"code": 403, "message": "You are not authorized to perform the requested action.", "title": "Forbidden"}}"#;
        assert!(matches!(
            status_error("x", StatusCode::FORBIDDEN, keystone),
            CloudError::Auth(_)
        ));
        // A 401 is never a quota.
        let e = status_error("x", StatusCode::UNAUTHORIZED, b"Quota exceeded");
        assert!(matches!(e, CloudError::Auth(_)), "{e:?}");
    }

    #[test]
    fn user_data_is_redacted_whole_and_in_pieces() {
        let plain =
            "#cloud-config\nchpasswd: {list: 'root:s3cret-buyer-password'}\nruncmd: [echo hi]\n";
        let encoded = base64::engine::general_purpose::STANDARD.encode(plain);
        assert!(encoded.len() > 2 * USER_DATA_PIECE);
        // Nova's validation message quotes the value twice.
        let nova = format!(
            "Invalid input for field/attribute user_data. Value: {encoded}. '{encoded}' is too long"
        );
        assert_eq!(
            redact(&nova, &encoded),
            "Invalid input for field/attribute user_data. Value: <user data>. '<user data>' is too long"
        );
        // A quote cut short (a body truncated to its first characters): the prefix goes.
        let cut = format!("bad user_data '{}…", &encoded[..USER_DATA_PIECE + 7]);
        assert_eq!(redact(&cut, &encoded), "bad user_data '<user data>…");
        // So does a piece from the middle, and one exactly USER_DATA_PIECE long, next to other text.
        let middle = format!("x{}y", &encoded[5..5 + USER_DATA_PIECE + 3]);
        assert_eq!(redact(&middle, &encoded), "x<user data>y");
        let exact = format!("é {} é", &encoded[..USER_DATA_PIECE]);
        assert_eq!(redact(&exact, &encoded), "é <user data> é");
        // A shorter piece is not the user data (nor anything to hide by itself).
        let short = format!("a {} b", &encoded[..USER_DATA_PIECE - 1]);
        assert_eq!(redact(&short, &encoded), short);
        // Nothing else changes.
        assert_eq!(redact("Invalid imageRef", &encoded), "Invalid imageRef");
        assert_eq!(redact("no user data", ""), "no user data");
        // Short user data is replaced where it appears whole.
        assert_eq!(
            redact("Value: aGk=. bad", "aGk="),
            "Value: <user data>. bad"
        );

        // The error keeps its kind.
        let e = without_user_data(CloudError::Rejected(nova.clone()), &encoded);
        assert!(
            matches!(&e, CloudError::Rejected(m) if !m.contains(&encoded[..20])),
            "{e:?}"
        );
        let e = without_user_data(CloudError::Unavailable(cut), &encoded);
        assert!(
            matches!(&e, CloudError::Unavailable(m) if m.contains("<user data>")),
            "{e:?}"
        );
    }
}
