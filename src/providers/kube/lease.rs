//! The deploy lock of a Kubernetes environment: a `coordination.k8s.io/v1` Lease next to the Deployment, the
//! platform's own lock. Create is atomic (409 AlreadyExists when the name is taken) and every update carries the
//! resourceVersion it read (409 Conflict when someone else wrote in between), so two shipit runs — or a run and
//! anything else that speaks Leases — can never both hold it. The full record rides in an annotation;
//! `holderIdentity`, `renewTime` and `leaseDurationSeconds` say the same for `kubectl get lease`.

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use kube::Api;
use kube::api::{DeleteParams, PostParams, Preconditions};

use super::error::Action;
use super::{KubeError, KubeTarget};
use crate::rollout::{LockAttempt, LockRecord};

const ANN_LOCK: &str = "shipit.dev/lock";

impl KubeTarget {
    fn leases(&self) -> Api<Lease> {
        Api::namespaced(self.client.clone(), &self.namespace)
    }

    /// `shipit-lock-<deployment>`: one per Deployment, so two apps in one namespace do not block each other.
    pub fn lease_name(&self) -> String {
        format!("shipit-lock-{}", self.deployment)
    }

    fn lease_error(&self, verb: &'static str, e: kube::Error) -> KubeError {
        KubeError::from_api(e, Action { verb, resource: "leases" }, self)
    }

    async fn get_lease(&self) -> Result<Option<Lease>, KubeError> {
        match self.leases().get_opt(&self.lease_name()).await {
            Ok(l) => Ok(l),
            Err(e) => Err(self.lease_error("get", e)),
        }
    }

    pub async fn read_lock(&self) -> Result<Option<LockRecord>, KubeError> {
        Ok(self.get_lease().await?.map(|l| record_of(&l)))
    }

    pub async fn try_lock(&self, ours: &LockRecord, replacing: Option<&LockRecord>) -> Result<LockAttempt, KubeError> {
        let created = self.leases().create(&PostParams::default(), &lease_for(&self.lease_name(), ours, None)).await;
        match created {
            Ok(_) => return Ok(LockAttempt::Acquired),
            Err(e) if KubeError::is_conflict(&e) => {}
            Err(e) => return Err(self.lease_error("create", e)),
        }
        let Some(current) = self.get_lease().await? else {
            // Released between our create and our read: try once more from the start.
            return match self.leases().create(&PostParams::default(), &lease_for(&self.lease_name(), ours, None)).await
            {
                Ok(_) => Ok(LockAttempt::Acquired),
                Err(e) if KubeError::is_conflict(&e) => {
                    Ok(self.read_lock().await?.map(LockAttempt::Held).unwrap_or(LockAttempt::Acquired))
                }
                Err(e) => Err(self.lease_error("create", e)),
            };
        };
        let holder = record_of(&current);
        match replacing {
            Some(stale) if stale.nonce == holder.nonce => {
                let rv = current.metadata.resource_version.clone();
                match self
                    .leases()
                    .replace(&self.lease_name(), &PostParams::default(), &lease_for(&self.lease_name(), ours, rv))
                    .await
                {
                    Ok(_) => Ok(LockAttempt::Acquired),
                    // Someone else took it over first.
                    Err(e) if KubeError::is_conflict(&e) => {
                        Ok(self.read_lock().await?.map(LockAttempt::Held).unwrap_or(LockAttempt::Held(holder)))
                    }
                    Err(e) => Err(self.lease_error("update", e)),
                }
            }
            _ => Ok(LockAttempt::Held(holder)),
        }
    }

    /// Move `until` forward; an error when the lock is no longer ours (broken with --force-unlock elsewhere).
    pub async fn renew_lock(&self, ours: &LockRecord) -> Result<(), KubeError> {
        let Some(current) = self.get_lease().await? else {
            return Err(KubeError::LockLost { lease: self.lease_name(), now: None });
        };
        let holder = record_of(&current);
        if holder.nonce != ours.nonce {
            return Err(KubeError::LockLost { lease: self.lease_name(), now: Some(holder.describe()) });
        }
        let rv = current.metadata.resource_version.clone();
        self.leases()
            .replace(&self.lease_name(), &PostParams::default(), &lease_for(&self.lease_name(), ours, rv))
            .await
            .map(|_| ())
            .map_err(|e| self.lease_error("update", e))
    }

    /// Delete the Lease if it is still ours, with its uid and resourceVersion as preconditions.
    pub async fn unlock(&self, ours: &LockRecord) -> Result<(), KubeError> {
        let Some(current) = self.get_lease().await? else { return Ok(()) };
        if record_of(&current).nonce != ours.nonce {
            return Ok(());
        }
        let params = DeleteParams {
            preconditions: Some(Preconditions {
                uid: current.metadata.uid.clone(),
                resource_version: current.metadata.resource_version.clone(),
            }),
            ..Default::default()
        };
        match self.leases().delete(&self.lease_name(), &params).await {
            Ok(_) => Ok(()),
            // Gone already, or changed hands between our read and the delete: not ours to remove either way.
            Err(kube::Error::Api(s)) if s.code == 404 || s.code == 409 => Ok(()),
            Err(e) => Err(self.lease_error("delete", e)),
        }
    }

    pub fn can_renew_lock(&self) -> bool {
        true
    }
}

fn lease_for(name: &str, rec: &LockRecord, resource_version: Option<String>) -> Lease {
    let text = serde_json::to_string(rec).expect("a lock record always serializes");
    let seconds = (rec.until - rec.since).num_seconds().clamp(1, i64::from(i32::MAX)) as i32;
    Lease {
        metadata: ObjectMeta {
            name: Some(name.to_string()),
            resource_version,
            annotations: Some([(ANN_LOCK.to_string(), text)].into()),
            labels: Some([("app.kubernetes.io/managed-by".to_string(), "shipit".to_string())].into()),
            ..Default::default()
        },
        spec: Some(LeaseSpec {
            holder_identity: Some(format!("{}@{}", rec.holder, rec.host)),
            lease_duration_seconds: Some(seconds),
            acquire_time: Some(micro(rec.since)),
            renew_time: Some(micro(rec.until - chrono::Duration::seconds(i64::from(seconds)))),
            ..Default::default()
        }),
    }
}

fn micro(t: chrono::DateTime<chrono::Utc>) -> MicroTime {
    let ts = k8s_openapi::jiff::Timestamp::new(t.timestamp(), t.timestamp_subsec_nanos() as i32)
        .unwrap_or(k8s_openapi::jiff::Timestamp::UNIX_EPOCH);
    MicroTime(ts)
}

/// The record in the annotation; a Lease without one (another tool's, or hand-made) is described from its spec
/// and counts as held until `renewTime + leaseDurationSeconds`, as the platform's own leader election reads it.
fn record_of(lease: &Lease) -> LockRecord {
    if let Some(rec) =
        lease.metadata.annotations.as_ref().and_then(|a| a.get(ANN_LOCK)).and_then(|t| serde_json::from_str(t).ok())
    {
        return rec;
    }
    let spec = lease.spec.clone().unwrap_or_default();
    let to_chrono = |m: &MicroTime| chrono::DateTime::from_timestamp(m.0.as_second(), m.0.subsec_nanosecond() as u32);
    let renewed = spec.renew_time.as_ref().or(spec.acquire_time.as_ref()).and_then(to_chrono).unwrap_or_default();
    let since = spec.acquire_time.as_ref().and_then(to_chrono).unwrap_or(renewed);
    LockRecord {
        holder: spec.holder_identity.unwrap_or_else(|| "(unknown holder)".into()),
        host: "(unknown host)".into(),
        command: "(not shipit)".into(),
        what: format!("Lease {}", lease.metadata.name.clone().unwrap_or_default()),
        since,
        until: renewed + chrono::Duration::seconds(i64::from(spec.lease_duration_seconds.unwrap_or(0))),
        nonce: lease.metadata.uid.clone().unwrap_or_default(),
    }
}
