//! The deploy lock of an ECS environment, kept in the service's own tags so every machine sees it. ECS has no
//! atomic primitive (no conditional TagResource), so this is a lease with a nonce: write our tags only when no
//! live lock is there, read them back, and have the engine check again right before UpdateService. Two runs
//! that tag within the same few milliseconds are told apart by the read-back (the last writer's nonce wins and
//! the other backs off); docs/deploy-locks.md says what that leaves open.
//!
//! Tag values may only hold letters, digits, spaces and `_ . : / = + - @` (at most 256 characters), so the record
//! is one tag per field, each cleaned to that alphabet.

use aws_sdk_ecs::types::Tag;
use chrono::{DateTime, Utc};

use super::{EcsError, EcsTarget};
use crate::rollout::{LockAttempt, LockRecord};

const PREFIX: &str = "shipit:lock:";
const FIELDS: [&str; 7] = ["nonce", "holder", "host", "command", "what", "since", "until"];

impl EcsTarget {
    async fn service_arn(&self) -> Result<String, EcsError> {
        let service = self.active_service().await?;
        service.service_arn().map(str::to_string).ok_or_else(|| EcsError::Api {
            op: "DescribeServices",
            code: None,
            message: format!("service {} has no ARN in the answer", self.service),
        })
    }

    async fn lock_tags(&self, arn: &str) -> Result<Vec<Tag>, EcsError> {
        let out = self
            .client
            .list_tags_for_resource()
            .resource_arn(arn)
            .send()
            .await
            .map_err(|e| EcsError::api("ListTagsForResource", e))?;
        Ok(out.tags().to_vec())
    }

    pub async fn read_lock(&self) -> Result<Option<LockRecord>, EcsError> {
        let arn = self.service_arn().await?;
        Ok(record_of(&self.lock_tags(&arn).await?))
    }

    pub async fn try_lock(&self, ours: &LockRecord, replacing: Option<&LockRecord>) -> Result<LockAttempt, EcsError> {
        let arn = self.service_arn().await?;
        if let Some(now) = record_of(&self.lock_tags(&arn).await?) {
            let replaceable = replacing.is_some_and(|stale| stale.nonce == now.nonce);
            if now.nonce != ours.nonce && !replaceable {
                return Ok(LockAttempt::Held(now));
            }
        }
        self.write_lock(&arn, ours).await?;
        match record_of(&self.lock_tags(&arn).await?) {
            Some(now) if now.nonce == ours.nonce => Ok(LockAttempt::Acquired),
            Some(now) => Ok(LockAttempt::Held(now)),
            // Removed between our write and our read (a --force-unlock elsewhere): not ours.
            None => self.lost(None),
        }
    }

    pub async fn renew_lock(&self, ours: &LockRecord) -> Result<(), EcsError> {
        let arn = self.service_arn().await?;
        match record_of(&self.lock_tags(&arn).await?) {
            Some(now) if now.nonce == ours.nonce => self.write_lock(&arn, ours).await,
            now => self.lost(now),
        }
    }

    pub async fn unlock(&self, ours: &LockRecord) -> Result<(), EcsError> {
        let arn = self.service_arn().await?;
        match record_of(&self.lock_tags(&arn).await?) {
            Some(now) if now.nonce == ours.nonce => {
                let keys: Vec<String> = FIELDS.iter().map(|f| format!("{PREFIX}{f}")).collect();
                self.client
                    .untag_resource()
                    .resource_arn(&arn)
                    .set_tag_keys(Some(keys))
                    .send()
                    .await
                    .map_err(|e| EcsError::api("UntagResource", e))?;
                Ok(())
            }
            _ => Ok(()),
        }
    }

    pub fn can_renew_lock(&self) -> bool {
        true
    }

    async fn write_lock(&self, arn: &str, rec: &LockRecord) -> Result<(), EcsError> {
        let values = [
            rec.nonce.clone(),
            rec.holder.clone(),
            rec.host.clone(),
            rec.command.clone(),
            rec.what.clone(),
            rec.since.to_rfc3339(),
            rec.until.to_rfc3339(),
        ];
        let tags: Vec<Tag> = FIELDS
            .iter()
            .zip(values)
            .map(|(field, value)| Tag::builder().key(format!("{PREFIX}{field}")).value(clean(&value)).build())
            .collect();
        self.client
            .tag_resource()
            .resource_arn(arn)
            .set_tags(Some(tags))
            .send()
            .await
            .map_err(|e| EcsError::api("TagResource", e))?;
        Ok(())
    }

    fn lost<T>(&self, now: Option<LockRecord>) -> Result<T, EcsError> {
        Err(EcsError::LockLost { service: self.service.clone(), now: now.map(|n| n.describe()) })
    }
}

/// ECS's tag alphabet: anything else becomes `_`, and a value keeps at most 256 characters.
fn clean(value: &str) -> String {
    value.chars().map(|c| if c.is_alphanumeric() || " _.:/=+-@".contains(c) { c } else { '_' }).take(256).collect()
}

fn record_of(tags: &[Tag]) -> Option<LockRecord> {
    let get = |field: &str| {
        let key = format!("{PREFIX}{field}");
        tags.iter().find(|t| t.key() == Some(key.as_str())).and_then(|t| t.value()).map(str::to_string)
    };
    let time =
        |field: &str| get(field).and_then(|t| DateTime::parse_from_rfc3339(&t).ok()).map(|t| t.with_timezone(&Utc));
    Some(LockRecord {
        nonce: get("nonce")?,
        holder: get("holder").unwrap_or_default(),
        host: get("host").unwrap_or_default(),
        command: get("command").unwrap_or_default(),
        what: get("what").unwrap_or_default(),
        since: time("since").unwrap_or_default(),
        // A lock whose expiry cannot be read counts as expired: better a warning and a take-over than a
        // service nobody can deploy to.
        until: time("until").unwrap_or_default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_keep_to_the_tag_alphabet() {
        assert_eq!(clean("ann (run 42), host#1"), "ann _run 42__ host_1");
        assert_eq!(clean("2026-12-01T20:00:00+00:00"), "2026-12-01T20:00:00+00:00");
        assert_eq!(clean(&"x".repeat(300)).len(), 256);
    }

    #[test]
    fn a_record_round_trips_through_tags() {
        let rec = LockRecord {
            holder: "ann".into(),
            host: "build-7".into(),
            command: "shipit ship prod".into(),
            what: "sha256:abc".into(),
            since: DateTime::parse_from_rfc3339("2026-12-01T20:00:00Z").unwrap().with_timezone(&Utc),
            until: DateTime::parse_from_rfc3339("2026-12-01T20:02:00Z").unwrap().with_timezone(&Utc),
            nonce: "n-1".into(),
        };
        let values = [&rec.nonce, &rec.holder, &rec.host, &rec.command, &rec.what];
        let mut tags: Vec<Tag> = FIELDS
            .iter()
            .zip(values)
            .map(|(f, v)| Tag::builder().key(format!("{PREFIX}{f}")).value(v.clone()).build())
            .take(5)
            .collect();
        tags.push(Tag::builder().key(format!("{PREFIX}since")).value(rec.since.to_rfc3339()).build());
        tags.push(Tag::builder().key(format!("{PREFIX}until")).value(rec.until.to_rfc3339()).build());
        assert_eq!(record_of(&tags), Some(rec));
        assert_eq!(record_of(&[]), None);
    }
}
