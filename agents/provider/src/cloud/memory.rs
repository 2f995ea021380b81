//! An in-memory cloud for unit tests of the agent's logic. Servers become ACTIVE (or ERROR, for a
//! flavor marked failing) on the next [`MemoryCloud::settle`]; failures can be injected per call.
//! Each server has one port; an external network `public` hands out floating IPs from a pool of
//! [`MemoryCloud::FLOATING_POOL`] addresses, and a deleted server's port takes its association along,
//! as in Neutron.

use super::{Cloud, CloudError, CloudServer, CreateServer, Flavor, FloatingIp, NetworkInfo, Room};
use crate::plan::ServerStatus;
use std::{collections::BTreeMap, sync::Mutex};

#[derive(Debug, Default)]
struct Inner {
    servers: BTreeMap<String, (CloudServer, String)>,
    flavors: BTreeMap<String, Flavor>,
    images: BTreeMap<String, String>,
    failing_flavors: BTreeMap<String, String>,
    fail_next: Vec<CloudError>,
    next_id: u64,
    clock: u64,
    max_instances: Option<u64>,
    max_cores: Option<u64>,
    user_data: BTreeMap<String, String>,
    listings: u64,
    floating_ips: BTreeMap<String, FloatingIp>,
    floating_pool: Option<usize>,
    hide_host_keys: bool,
}

impl Inner {
    /// Adds a server with the next id (and one port, see [`port_of`]); returns the id.
    fn add_server(
        &mut self,
        name: &str,
        status: ServerStatus,
        tags: Vec<String>,
        flavor_id: String,
    ) -> String {
        self.next_id += 1;
        self.clock += 1;
        let id = format!("server-{}", self.next_id);
        let server = CloudServer {
            id: id.clone(),
            name: name.to_owned(),
            status,
            tags,
            created_at: self.clock,
            addresses: vec![format!("10.0.0.{}", self.next_id)],
            fault: None,
        };
        self.servers.insert(id.clone(), (server, flavor_id));
        id
    }
}

/// A cloud in memory.
#[derive(Debug, Default)]
pub struct MemoryCloud {
    inner: Mutex<Inner>,
}

impl MemoryCloud {
    /// The id (and name) of the external network.
    pub const PUBLIC_NETWORK: &'static str = "public";
    /// Floating IPs the external network has unless [`Self::set_floating_pool`] says otherwise.
    pub const FLOATING_POOL: usize = 16;

    /// The floating pool holds `size` addresses.
    pub fn set_floating_pool(&self, size: usize) {
        self.lock().floating_pool = Some(size);
    }

    /// Every floating IP the project holds.
    pub fn all_floating_ips(&self) -> Vec<FloatingIp> {
        self.lock().floating_ips.values().cloned().collect()
    }

    /// Adds an ACTIVE server without tags (someone else's) and returns its id.
    pub fn insert_server(&self, name: &str) -> String {
        self.lock()
            .add_server(name, ServerStatus::Active, Vec::new(), String::new())
    }

    /// Allocates a floating IP for `port_id` as someone else (or an earlier agent) would.
    pub fn allocate_floating_ip(
        &self,
        port_id: &str,
        description: &str,
    ) -> Result<FloatingIp, CloudError> {
        allocate(&mut self.lock(), port_id, description)
    }

    /// The port of a server (each has one).
    pub fn port_of(server_id: &str) -> String {
        port_of(server_id)
    }

    /// A cloud with the given flavors and images (name to id).
    pub fn new(flavors: Vec<Flavor>, images: Vec<(String, String)>) -> Self {
        let cloud = Self::default();
        {
            let mut inner = cloud.inner.lock().expect("fresh");
            inner.flavors = flavors.into_iter().map(|f| (f.name.clone(), f)).collect();
            inner.images = images.into_iter().collect();
        }
        cloud
    }

    /// How many times the servers were listed.
    pub fn listings(&self) -> u64 {
        self.lock().listings
    }

    /// Servers of this flavor id go to ERROR instead of ACTIVE, with `fault` as Nova's reason
    /// (e.g. "No valid host was found. ").
    pub fn fail_flavor(&self, flavor_id: &str, fault: &str) {
        self.lock()
            .failing_flavors
            .insert(flavor_id.to_owned(), fault.to_owned());
    }

    /// Servers of this flavor id boot again.
    pub fn heal_flavor(&self, flavor_id: &str) {
        self.lock().failing_flavors.remove(flavor_id);
    }

    /// The next call fails with `error`.
    pub fn fail_next(&self, error: CloudError) {
        self.lock().fail_next.push(error);
    }

    /// At most this many servers.
    pub fn set_max_instances(&self, max: Option<u64>) {
        self.lock().max_instances = max;
    }

    /// Replaces the image called `name` (a new upload under the same name gets a new id; the old
    /// one is gone).
    pub fn replace_image(&self, name: &str, id: &str) {
        self.lock().images.insert(name.to_owned(), id.to_owned());
    }

    /// Whether consoles show the SSH host key fingerprints yet (they do unless told otherwise).
    pub fn print_host_keys(&self, print: bool) {
        self.lock().hide_host_keys = !print;
    }

    /// The ED25519 host key fingerprint a server's console shows.
    pub fn host_key_fingerprint(id: &str) -> String {
        let digest = alloy::primitives::keccak256(id.as_bytes());
        let text =
            base64::Engine::encode(&base64::engine::general_purpose::STANDARD_NO_PAD, digest);
        format!("SHA256:{text}")
    }

    /// At most this many vCPUs across the servers.
    pub fn set_max_cores(&self, max: Option<u64>) {
        self.lock().max_cores = max;
    }

    /// Moves building servers to ACTIVE (or ERROR).
    pub fn settle(&self) {
        let mut inner = self.lock();
        let failing = inner.failing_flavors.clone();
        for (server, flavor) in inner.servers.values_mut() {
            if server.status == ServerStatus::Building {
                match failing.get(flavor) {
                    Some(fault) => {
                        server.status = ServerStatus::Error;
                        server.fault = Some(fault.clone());
                    }
                    None => server.status = ServerStatus::Active,
                }
            }
        }
    }

    /// The user data a server was created with.
    pub fn user_data(&self, id: &str) -> Option<String> {
        self.lock().user_data.get(id).cloned()
    }

    /// Every server.
    pub fn servers(&self) -> Vec<CloudServer> {
        self.lock()
            .servers
            .values()
            .map(|(s, _)| s.clone())
            .collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn check(&self) -> Result<std::sync::MutexGuard<'_, Inner>, CloudError> {
        let mut inner = self.lock();
        match inner.fail_next.pop() {
            Some(error) => Err(error),
            None => Ok(inner),
        }
    }

    fn with_server(
        &self,
        id: &str,
        change: impl FnOnce(&mut CloudServer),
    ) -> Result<(), CloudError> {
        let mut inner = self.check()?;
        let (server, _) = inner
            .servers
            .get_mut(id)
            .ok_or_else(|| CloudError::NotFound(format!("server {id}")))?;
        change(server);
        Ok(())
    }
}

impl Cloud for MemoryCloud {
    async fn list_servers(&self, tag: &str) -> Result<Vec<CloudServer>, CloudError> {
        let mut inner = self.check()?;
        inner.listings += 1;
        Ok(inner
            .servers
            .values()
            .filter(|(s, _)| s.tags.iter().any(|t| t == tag))
            .map(|(s, _)| s.clone())
            .collect())
    }

    async fn get_server(&self, id: &str) -> Result<Option<CloudServer>, CloudError> {
        Ok(self.check()?.servers.get(id).map(|(s, _)| s.clone()))
    }

    async fn create_server(&self, request: &CreateServer) -> Result<String, CloudError> {
        let mut inner = self.check()?;
        if !inner.images.values().any(|id| id == &request.image_id) {
            // As Nova answers for an image Glance no longer has.
            return Err(CloudError::Rejected(format!(
                "400 Bad Request: Image {} could not be found.",
                request.image_id
            )));
        }
        if inner
            .max_instances
            .is_some_and(|max| inner.servers.len() as u64 >= max)
        {
            return Err(CloudError::Rejected("quota exceeded for instances".into()));
        }
        let id = inner.add_server(
            &request.name,
            ServerStatus::Building,
            request.tags.clone(),
            request.flavor_id.clone(),
        );
        inner
            .user_data
            .insert(id.clone(), request.user_data.clone());
        Ok(id)
    }

    async fn start_server(&self, id: &str) -> Result<(), CloudError> {
        self.with_server(id, |s| s.status = ServerStatus::Active)
    }

    async fn stop_server(&self, id: &str) -> Result<(), CloudError> {
        self.with_server(id, |s| s.status = ServerStatus::Shutoff)
    }

    async fn delete_server(&self, id: &str) -> Result<(), CloudError> {
        let mut inner = self.check()?;
        inner.servers.remove(id);
        let port = port_of(id);
        for ip in inner.floating_ips.values_mut() {
            if ip.port_id.as_deref() == Some(port.as_str()) {
                ip.port_id = None;
            }
        }
        Ok(())
    }

    async fn console_log(&self, id: &str, _lines: u32) -> Result<String, CloudError> {
        let inner = self.check()?;
        let (server, _) = inner
            .servers
            .get(id)
            .ok_or_else(|| CloudError::NotFound(format!("server {id}")))?;
        let mut console = format!("console of {}\n", server.name);
        if !inner.hide_host_keys && server.status == ServerStatus::Active {
            // As cloud-init prints them.
            console.push_str(&format!(
                "-----BEGIN SSH HOST KEY FINGERPRINTS-----\n256 {} root@{} (ED25519)\n-----END SSH HOST KEY FINGERPRINTS-----\n",
                Self::host_key_fingerprint(id),
                server.name
            ));
        }
        Ok(console)
    }

    async fn find_flavor(&self, name: &str) -> Result<Option<Flavor>, CloudError> {
        Ok(self.check()?.flavors.get(name).cloned())
    }

    async fn find_image(&self, name: &str) -> Result<Option<String>, CloudError> {
        Ok(self.check()?.images.get(name).cloned())
    }

    async fn set_tags(&self, id: &str, tags: &[String]) -> Result<(), CloudError> {
        self.with_server(id, |s| s.tags = tags.to_vec())
    }

    async fn rebuild_server(
        &self,
        id: &str,
        _image_id: &str,
        user_data: &str,
    ) -> Result<(), CloudError> {
        self.with_server(id, |s| s.status = ServerStatus::Building)?;
        self.lock()
            .user_data
            .insert(id.to_owned(), user_data.to_owned());
        Ok(())
    }

    async fn room(&self) -> Result<Room, CloudError> {
        let inner = self.check()?;
        Ok(Room {
            instances: inner
                .max_instances
                .map(|max| max.saturating_sub(inner.servers.len() as u64)),
            cores: inner.max_cores.map(|max| {
                let used: u64 = inner
                    .servers
                    .values()
                    .filter_map(|(_, flavor_id)| {
                        inner.flavors.values().find(|f| &f.id == flavor_id)
                    })
                    .map(|f| u64::from(f.vcpus))
                    .sum();
                max.saturating_sub(used)
            }),
            ram_mib: None,
        })
    }

    async fn find_network(&self, name_or_id: &str) -> Result<Option<NetworkInfo>, CloudError> {
        drop(self.check()?);
        Ok(match name_or_id {
            Self::PUBLIC_NETWORK => Some(NetworkInfo {
                id: Self::PUBLIC_NETWORK.into(),
                name: Self::PUBLIC_NETWORK.into(),
                external: true,
            }),
            "private" => Some(NetworkInfo {
                id: "private".into(),
                name: "private".into(),
                external: false,
            }),
            _ => None,
        })
    }

    async fn server_ports(&self, server_id: &str) -> Result<Vec<String>, CloudError> {
        let inner = self.check()?;
        Ok(if inner.servers.contains_key(server_id) {
            vec![port_of(server_id)]
        } else {
            Vec::new()
        })
    }

    async fn floating_ips(&self, network_id: &str) -> Result<Vec<FloatingIp>, CloudError> {
        let inner = self.check()?;
        Ok(if network_id == Self::PUBLIC_NETWORK {
            inner.floating_ips.values().cloned().collect()
        } else {
            Vec::new()
        })
    }

    async fn create_floating_ip(
        &self,
        network_id: &str,
        port_id: &str,
        description: &str,
    ) -> Result<FloatingIp, CloudError> {
        let mut inner = self.check()?;
        if network_id != Self::PUBLIC_NETWORK {
            return Err(CloudError::NotFound(format!("network {network_id}")));
        }
        allocate(&mut inner, port_id, description)
    }

    async fn associate_floating_ip(
        &self,
        id: &str,
        port_id: &str,
    ) -> Result<FloatingIp, CloudError> {
        let mut inner = self.check()?;
        check_port(&inner, port_id, Some(id))?;
        let ip = inner
            .floating_ips
            .get_mut(id)
            .ok_or_else(|| CloudError::NotFound(format!("floating IP {id}")))?;
        ip.port_id = Some(port_id.to_owned());
        Ok(ip.clone())
    }

    async fn delete_floating_ip(&self, id: &str) -> Result<(), CloudError> {
        self.check()?.floating_ips.remove(id);
        Ok(())
    }
}

/// Allocates a floating IP on the external network, associated with `port_id`.
fn allocate(inner: &mut Inner, port_id: &str, description: &str) -> Result<FloatingIp, CloudError> {
    check_port(inner, port_id, None)?;
    let size = inner.floating_pool.unwrap_or(MemoryCloud::FLOATING_POOL);
    let address = (10..10 + size)
        .map(|i| format!("203.0.113.{i}"))
        .find(|a| !inner.floating_ips.values().any(|ip| &ip.address == a))
        .ok_or_else(|| {
            CloudError::Rejected(format!(
                "409 Conflict: No more IP addresses available on network {}.",
                MemoryCloud::PUBLIC_NETWORK
            ))
        })?;
    inner.next_id += 1;
    let ip = FloatingIp {
        id: format!("fip-{}", inner.next_id),
        address,
        port_id: Some(port_id.to_owned()),
        description: description.to_owned(),
    };
    inner.floating_ips.insert(ip.id.clone(), ip.clone());
    Ok(ip)
}

/// What a server's one port id starts with.
const PORT_PREFIX: &str = "port-of-";

/// The one port of a server.
fn port_of(server_id: &str) -> String {
    format!("{PORT_PREFIX}{server_id}")
}

/// Neutron's checks before an association: the port exists and has no other floating IP.
fn check_port(inner: &Inner, port_id: &str, except: Option<&str>) -> Result<(), CloudError> {
    let server = port_id.strip_prefix(PORT_PREFIX).unwrap_or_default();
    if !inner.servers.contains_key(server) {
        return Err(CloudError::NotFound(format!("port {port_id}")));
    }
    if inner
        .floating_ips
        .values()
        .any(|ip| ip.port_id.as_deref() == Some(port_id) && Some(ip.id.as_str()) != except)
    {
        return Err(CloudError::Rejected(format!(
            "409 Conflict: port {port_id} already has a floating IP"
        )));
    }
    Ok(())
}
