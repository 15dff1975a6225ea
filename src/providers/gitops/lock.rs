//! The deploy lock of a gitops environment: a branch `shipit-lock/<environment>` in the config repository,
//! pointing at a commit (with no parent) whose one file, `lock.json`, is the lock record. Every change is a
//! compare-and-swap push (`--force-with-lease`): taking it pushes only if the ref does not exist, a renewal or
//! a take-over only if it still points at the commit that was read, a release deletes it only if it is still
//! ours. Two runs racing for it cannot both win, and anyone who can fetch the repository sees who holds it.

use git2::Oid;

use super::repo::{Expect, Pushed};
use super::{GitOpsError, GitOpsTarget};
use crate::rollout::{LockAttempt, LockRecord};

pub const REMOTE_PREFIX: &str = "refs/heads/shipit-lock/";
pub const LOCAL_PREFIX: &str = "refs/shipit/locks/";
const FILE: &str = "lock.json";

impl GitOpsTarget {
    fn lock_ref(&self) -> String {
        format!("{REMOTE_PREFIX}{}", self.env_name)
    }

    /// The lock as the repository has it now, with the commit holding it.
    fn current_lock(&self) -> Result<Option<(Oid, LockRecord)>, GitOpsError> {
        self.repo.fetch(&[format!("+{REMOTE_PREFIX}*:{LOCAL_PREFIX}*")])?;
        let Some(oid) = self.repo.resolve(&format!("{LOCAL_PREFIX}{}", self.env_name))? else { return Ok(None) };
        let record = self
            .repo
            .file_at(oid, FILE)?
            .and_then(|b| serde_json::from_slice::<LockRecord>(&b).ok())
            .ok_or_else(|| GitOpsError::ForeignLock { reference: self.lock_ref() })?;
        Ok(Some((oid, record)))
    }

    pub async fn read_lock(&self) -> Result<Option<LockRecord>, GitOpsError> {
        Ok(self.current_lock()?.map(|(_, r)| r))
    }

    fn lock_commit(&self, ours: &LockRecord) -> Result<Oid, GitOpsError> {
        let json = serde_json::to_vec_pretty(ours).expect("a lock record always serializes");
        let message = format!("shipit deploy lock of {}\n\n{}\n", self.env_name, ours.describe());
        self.repo.commit_root(FILE, &json, &message)
    }

    /// Take the lock; with `replacing`, only if the lock there now is exactly that one.
    pub async fn try_lock(
        &self,
        ours: &LockRecord,
        replacing: Option<&LockRecord>,
    ) -> Result<LockAttempt, GitOpsError> {
        let commit = self.lock_commit(ours)?;
        // A lock released between our push and our read: look again (a few times at most).
        for _ in 0..3 {
            let expect = match replacing {
                None => Expect::Absent,
                Some(stale) => match self.current_lock()? {
                    Some((oid, now)) if now.nonce == stale.nonce => Expect::At(oid),
                    Some((_, now)) => return Ok(LockAttempt::Held(now)),
                    None => Expect::Absent,
                },
            };
            if self.repo.push(Some(commit), &self.lock_ref(), expect)? == Pushed::Done {
                return Ok(LockAttempt::Acquired);
            }
            if let Some((_, now)) = self.current_lock()? {
                return Ok(LockAttempt::Held(now));
            }
        }
        match self.current_lock()? {
            Some((_, now)) => Ok(LockAttempt::Held(now)),
            None => Err(GitOpsError::LockLost { reference: self.lock_ref(), now: None }),
        }
    }

    /// Store a later expiry, only while the lock is still ours.
    pub async fn renew_lock(&self, ours: &LockRecord) -> Result<(), GitOpsError> {
        let lost = |now: Option<LockRecord>| GitOpsError::LockLost {
            reference: self.lock_ref(),
            now: now.map(|n| n.describe()),
        };
        let (oid, now) = self.current_lock()?.ok_or_else(|| lost(None))?;
        if now.nonce != ours.nonce {
            return Err(lost(Some(now)));
        }
        let commit = self.lock_commit(ours)?;
        match self.repo.push(Some(commit), &self.lock_ref(), Expect::At(oid))? {
            Pushed::Done => Ok(()),
            Pushed::Stale(_) => Err(lost(self.current_lock()?.map(|(_, r)| r))),
        }
    }

    /// Release the lock if it is still ours (a lock broken and re-taken by someone else stays theirs).
    pub async fn unlock(&self, ours: &LockRecord) -> Result<(), GitOpsError> {
        match self.current_lock()? {
            Some((oid, now)) if now.nonce == ours.nonce => {
                self.repo.push(None, &self.lock_ref(), Expect::At(oid))?;
                Ok(())
            }
            _ => Ok(()),
        }
    }

    pub fn can_renew_lock(&self) -> bool {
        true
    }
}
