//! The cloud the agent boots servers in: the few compute and image calls it needs, behind a trait so
//! the lease state machine's unit tests can use an in-memory cloud ([`memory::MemoryCloud`]). The
//! agent itself and its integration tests use the OpenStack implementation against a real control
//! plane.

pub mod clouds_yaml;
pub mod memory;
pub mod openstack;

use crate::plan::ServerStatus;
use std::{collections::BTreeMap, future::Future};

/// A server as the cloud reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CloudServer {
    /// The cloud's id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Its status.
    pub status: ServerStatus,
    /// Its tags.
    pub tags: Vec<String>,
    /// Creation time, unix seconds.
    pub created_at: u64,
    /// Its IP addresses, public ones first when the cloud tells them apart.
    pub addresses: Vec<String>,
    /// Why it is in ERROR, when the cloud says.
    pub fault: Option<String>,
}

/// A flavor: the machine shape an offer sells.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Flavor {
    /// The cloud's id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// vCPUs.
    pub vcpus: u16,
    /// RAM, MiB.
    pub ram_mib: u32,
    /// Root disk, GiB.
    pub disk_gib: u32,
}

/// What to create.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CreateServer {
    /// Name.
    pub name: String,
    /// Flavor id.
    pub flavor_id: String,
    /// Image id.
    pub image_id: String,
    /// Tags, set at creation so that no server ever exists untagged.
    pub tags: Vec<String>,
    /// Metadata key/values.
    pub metadata: BTreeMap<String, String>,
    /// Cloud-init user data (plain text; the implementation encodes it).
    pub user_data: String,
}

/// Room left in the project for new servers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Room {
    /// Servers that can still be created, `None` when unlimited.
    pub instances: Option<u64>,
    /// vCPUs still available, `None` when unlimited.
    pub cores: Option<u64>,
    /// RAM still available in MiB, `None` when unlimited.
    pub ram_mib: Option<u64>,
}

impl Room {
    /// Whether one more server of `flavor` fits.
    pub fn fits(&self, flavor: &Flavor) -> bool {
        self.instances.is_none_or(|n| n >= 1)
            && self.cores.is_none_or(|n| n >= u64::from(flavor.vcpus))
            && self.ram_mib.is_none_or(|n| n >= u64::from(flavor.ram_mib))
    }
}

/// A network as Neutron reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NetworkInfo {
    /// The cloud's id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Whether floating IPs can be allocated from it (`router:external`).
    pub external: bool,
}

/// A floating IP: a public address the project holds, associated with a server's port or not.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FloatingIp {
    /// The cloud's id.
    pub id: String,
    /// The public address.
    pub address: String,
    /// The port it forwards to, `None` while unassociated.
    pub port_id: Option<String>,
    /// Its description: the agent writes the lease's tags there, so the cloud records whose it is.
    pub description: String,
}

/// A failed cloud call.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CloudError {
    /// Credentials refused or missing.
    #[error("the cloud refused the credentials: {0}")]
    Auth(String),
    /// The thing named does not exist.
    #[error("not found: {0}")]
    NotFound(String),
    /// The request is wrong (4xx other than auth and not found); retrying will not help.
    #[error("the cloud rejected the request: {0}")]
    Rejected(String),
    /// The cloud failed or did not answer (5xx, timeout, connection): worth retrying.
    #[error("the cloud is unavailable: {0}")]
    Unavailable(String),
}

impl CloudError {
    /// Whether retrying later may succeed.
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Unavailable(_))
    }
}

/// The calls the agent makes to its cloud.
pub trait Cloud: Send + Sync {
    /// Every server carrying `tag`.
    fn list_servers(
        &self,
        tag: &str,
    ) -> impl Future<Output = Result<Vec<CloudServer>, CloudError>> + Send;
    /// One server, `None` when it does not exist.
    fn get_server(
        &self,
        id: &str,
    ) -> impl Future<Output = Result<Option<CloudServer>, CloudError>> + Send;
    /// Creates a server; returns its id.
    fn create_server(
        &self,
        request: &CreateServer,
    ) -> impl Future<Output = Result<String, CloudError>> + Send;
    /// Starts a stopped server.
    fn start_server(&self, id: &str) -> impl Future<Output = Result<(), CloudError>> + Send;
    /// Stops a server, keeping its disk.
    fn stop_server(&self, id: &str) -> impl Future<Output = Result<(), CloudError>> + Send;
    /// Deletes a server (a server already gone is not an error).
    fn delete_server(&self, id: &str) -> impl Future<Output = Result<(), CloudError>> + Send;
    /// The tail of a server's console log.
    fn console_log(
        &self,
        id: &str,
        lines: u32,
    ) -> impl Future<Output = Result<String, CloudError>> + Send;
    /// The flavor named `name`.
    fn find_flavor(
        &self,
        name: &str,
    ) -> impl Future<Output = Result<Option<Flavor>, CloudError>> + Send;
    /// The id of the image named `name`.
    fn find_image(
        &self,
        name: &str,
    ) -> impl Future<Output = Result<Option<String>, CloudError>> + Send;
    /// Replaces all of a server's tags in one call.
    fn set_tags(
        &self,
        id: &str,
        tags: &[String],
    ) -> impl Future<Output = Result<(), CloudError>> + Send;
    /// Rebuilds a server with another image and user data (its id and addresses stay).
    fn rebuild_server(
        &self,
        id: &str,
        image_id: &str,
        user_data: &str,
    ) -> impl Future<Output = Result<(), CloudError>> + Send;
    /// Room left for new servers in the project.
    fn room(&self) -> impl Future<Output = Result<Room, CloudError>> + Send;
    /// The network with this id or (unique) name.
    fn find_network(
        &self,
        name_or_id: &str,
    ) -> impl Future<Output = Result<Option<NetworkInfo>, CloudError>> + Send;
    /// The ids of a server's ports.
    fn server_ports(
        &self,
        server_id: &str,
    ) -> impl Future<Output = Result<Vec<String>, CloudError>> + Send;
    /// The project's floating IPs on a network.
    fn floating_ips(
        &self,
        network_id: &str,
    ) -> impl Future<Output = Result<Vec<FloatingIp>, CloudError>> + Send;
    /// Allocates a floating IP on `network_id` and associates it with `port_id` in one call.
    fn create_floating_ip(
        &self,
        network_id: &str,
        port_id: &str,
        description: &str,
    ) -> impl Future<Output = Result<FloatingIp, CloudError>> + Send;
    /// Associates a floating IP with a port.
    fn associate_floating_ip(
        &self,
        id: &str,
        port_id: &str,
    ) -> impl Future<Output = Result<FloatingIp, CloudError>> + Send;
    /// Releases a floating IP (one already gone is not an error).
    fn delete_floating_ip(&self, id: &str) -> impl Future<Output = Result<(), CloudError>> + Send;
}
