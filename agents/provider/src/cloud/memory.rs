//! An in-memory cloud for unit tests of the agent's logic. Servers become ACTIVE (or ERROR, for a
//! flavor marked failing) on the next [`MemoryCloud::settle`]; failures can be injected per call.

use super::{Cloud, CloudError, CloudServer, CreateServer, Flavor, Room};
use crate::plan::ServerStatus;
use std::{
    collections::{BTreeMap, BTreeSet},
    sync::Mutex,
};

#[derive(Debug, Default)]
struct Inner {
    servers: BTreeMap<String, (CloudServer, String)>,
    flavors: BTreeMap<String, Flavor>,
    images: BTreeMap<String, String>,
    failing_flavors: BTreeSet<String>,
    fail_next: Vec<CloudError>,
    next_id: u64,
    clock: u64,
    max_instances: Option<u64>,
    user_data: BTreeMap<String, String>,
    listings: u64,
}

/// A cloud in memory.
#[derive(Debug, Default)]
pub struct MemoryCloud {
    inner: Mutex<Inner>,
}

impl MemoryCloud {
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

    /// Servers of this flavor id go to ERROR instead of ACTIVE.
    pub fn fail_flavor(&self, flavor_id: &str) {
        self.lock().failing_flavors.insert(flavor_id.to_owned());
    }

    /// The next call fails with `error`.
    pub fn fail_next(&self, error: CloudError) {
        self.lock().fail_next.push(error);
    }

    /// At most this many servers.
    pub fn set_max_instances(&self, max: Option<u64>) {
        self.lock().max_instances = max;
    }

    /// Moves building servers to ACTIVE (or ERROR).
    pub fn settle(&self) {
        let mut inner = self.lock();
        let failing = inner.failing_flavors.clone();
        for (server, flavor) in inner.servers.values_mut() {
            if server.status == ServerStatus::Building {
                server.status = if failing.contains(flavor) {
                    ServerStatus::Error
                } else {
                    ServerStatus::Active
                };
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
        if inner
            .max_instances
            .is_some_and(|max| inner.servers.len() as u64 >= max)
        {
            return Err(CloudError::Rejected("quota exceeded for instances".into()));
        }
        inner.next_id += 1;
        inner.clock += 1;
        let id = format!("server-{}", inner.next_id);
        let server = CloudServer {
            id: id.clone(),
            name: request.name.clone(),
            status: ServerStatus::Building,
            tags: request.tags.clone(),
            created_at: inner.clock,
            addresses: vec![format!("10.0.0.{}", inner.next_id)],
            fault: None,
        };
        inner
            .servers
            .insert(id.clone(), (server, request.flavor_id.clone()));
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
        self.check()?.servers.remove(id);
        Ok(())
    }

    async fn console_log(&self, id: &str, _lines: u32) -> Result<String, CloudError> {
        let inner = self.check()?;
        inner
            .servers
            .get(id)
            .map(|(s, _)| format!("console of {}\n", s.name))
            .ok_or_else(|| CloudError::NotFound(format!("server {id}")))
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
            cores: None,
            ram_mib: None,
        })
    }
}
