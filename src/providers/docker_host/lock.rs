//! The deploy lock of a Docker-host environment: a volume named after the container. The engine creates volumes
//! one at a time and answers a create of an existing name with the volume that is there, labels and all, so
//! "create, then see whose nonce came back" is atomic without any store of our own. A volume's labels cannot
//! change, so there is no heartbeat: the lock's expiry is set, when it is taken, past the deploy's own bound.

use std::collections::HashMap;

use bollard::models::VolumeCreateRequest;
use bollard::query_parameters::RemoveVolumeOptions;

use super::{DockerHostError, DockerTarget};
use crate::error::chain;
use crate::rollout::{LockAttempt, LockRecord};

const LABEL_LOCK: &str = "dev.shipit.lock";

impl DockerTarget {
    fn lock_volume(&self) -> String {
        format!("{}--shipit-lock", self.name)
    }

    pub async fn read_lock(&self) -> Result<Option<LockRecord>, DockerHostError> {
        match self.docker.inspect_volume(&self.lock_volume()).await {
            Ok(v) => Ok(Some(record_of(&v.labels).ok_or_else(|| self.foreign_volume())?)),
            Err(bollard::errors::Error::DockerResponseServerError { status_code: 404, .. }) => Ok(None),
            Err(e) => Err(self.lock_api("inspect the lock volume", e)),
        }
    }

    /// Take the lock; with `replacing`, only if the lock there now is exactly that one (expired or broken by
    /// `--force-unlock`), so two runs taking over the same stale lock cannot both win.
    pub async fn try_lock(
        &self,
        ours: &LockRecord,
        replacing: Option<&LockRecord>,
    ) -> Result<LockAttempt, DockerHostError> {
        if let Some(stale) = replacing {
            match self.read_lock().await? {
                Some(now) if now.nonce != stale.nonce => return Ok(LockAttempt::Held(now)),
                Some(_) => self.remove_lock_volume().await?,
                None => {}
            }
        }
        let text = serde_json::to_string(ours).expect("a lock record always serializes");
        let request = VolumeCreateRequest {
            name: Some(self.lock_volume()),
            labels: Some(HashMap::from([(LABEL_LOCK.to_string(), text)])),
            ..Default::default()
        };
        let volume =
            self.docker.create_volume(request).await.map_err(|e| self.lock_api("create the lock volume", e))?;
        match record_of(&volume.labels) {
            Some(rec) if rec.nonce == ours.nonce => Ok(LockAttempt::Acquired),
            Some(rec) => Ok(LockAttempt::Held(rec)),
            None => Err(self.foreign_volume()),
        }
    }

    /// Volumes cannot be relabelled; the expiry set at `try_lock` already covers the deploy's bound.
    pub async fn renew_lock(&self, _ours: &LockRecord) -> Result<(), DockerHostError> {
        Ok(())
    }

    /// Release the lock if it is still ours (a lock broken and re-taken by someone else stays theirs).
    pub async fn unlock(&self, ours: &LockRecord) -> Result<(), DockerHostError> {
        match self.read_lock().await? {
            Some(now) if now.nonce == ours.nonce => self.remove_lock_volume().await,
            _ => Ok(()),
        }
    }

    pub fn can_renew_lock(&self) -> bool {
        false
    }

    async fn remove_lock_volume(&self) -> Result<(), DockerHostError> {
        match self.docker.remove_volume(&self.lock_volume(), Some(RemoveVolumeOptions { force: true })).await {
            Ok(()) | Err(bollard::errors::Error::DockerResponseServerError { status_code: 404, .. }) => Ok(()),
            Err(e) => Err(self.lock_api("remove the lock volume", e)),
        }
    }

    fn lock_api(&self, what: &str, e: bollard::errors::Error) -> DockerHostError {
        DockerHostError::Api { host: self.host.clone(), what: what.to_string(), detail: chain(&e) }
    }

    fn foreign_volume(&self) -> DockerHostError {
        DockerHostError::Api {
            host: self.host.clone(),
            what: format!("read the deploy lock {}", self.lock_volume()),
            detail: "a volume of that name exists but was not made by shipit (no dev.shipit.lock label)".into(),
        }
    }
}

fn record_of(labels: &HashMap<String, String>) -> Option<LockRecord> {
    labels.get(LABEL_LOCK).and_then(|t| serde_json::from_str(t).ok())
}
