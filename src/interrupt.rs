//! SIGINT, SIGTERM and SIGHUP, handled alike. A signal never cuts a change in half: code that must finish once
//! started (a Docker-host swap, a restore) holds a [`Critical`] guard, and `main` only drops the running command
//! when no guard is held. Waits (a rollout watch) look at [`requested`] or race [`first`] and stop themselves,
//! so the command can say what state each environment is in. A second signal aborts waits, never a restore.
//!
//! This module sits at the bottom of the crate: providers may use it, it uses nothing of shipit's.

use std::sync::LazyLock;

use tokio::sync::watch;

#[derive(Debug, Clone, Copy, Default)]
struct Status {
    /// Signals received so far.
    signals: u32,
    /// The name of the last one ("SIGINT"), for messages.
    last: Option<&'static str>,
    /// Critical sections in progress: nothing may drop them, not even their own caller.
    critical: usize,
    /// Sections that handle signals themselves (the engine while it holds a deploy lock): `main` must not drop
    /// them, but they may drop what they run once no critical section is in progress.
    holds: usize,
}

static STATUS: LazyLock<watch::Sender<Status>> = LazyLock::new(|| watch::Sender::new(Status::default()));

/// Listen for the three signals for the rest of the process. Call once, inside the runtime.
pub fn install() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        for (kind, name) in [
            (SignalKind::interrupt(), "SIGINT"),
            (SignalKind::terminate(), "SIGTERM"),
            (SignalKind::hangup(), "SIGHUP"),
        ] {
            // Registration only fails when the runtime has no signal driver; then signals keep their default.
            let Ok(mut stream) = signal(kind) else { continue };
            tokio::spawn(async move {
                while stream.recv().await.is_some() {
                    raise(name);
                }
            });
        }
    }
    #[cfg(not(unix))]
    tokio::spawn(async {
        while tokio::signal::ctrl_c().await.is_ok() {
            raise("Ctrl-C");
        }
    });
}

/// Record a signal as if it had arrived (tests, and the handlers above).
pub fn raise(name: &'static str) {
    STATUS.send_modify(|s| {
        s.signals += 1;
        s.last = Some(name);
    });
}

/// Whether a signal has arrived.
pub fn requested() -> bool {
    STATUS.borrow().signals > 0
}

/// Whether blocking work (a helper program that cannot be dropped like a future) should stop now: a second
/// signal arrived and no critical section is running. After the first signal it runs to its end (bounded by
/// its own timeout), so the command can still say what runs and release its lock.
pub fn abort_requested() -> bool {
    let s = STATUS.borrow();
    s.signals >= 2 && s.critical == 0
}

/// The name of the signal that arrived, if one did.
pub fn signal_name() -> Option<&'static str> {
    STATUS.borrow().last
}

/// Resolves once `n` signals have arrived.
async fn signals(n: u32) {
    let mut rx = STATUS.subscribe();
    let _ = rx.wait_for(|s| s.signals >= n).await;
}

/// Resolves at the first signal.
pub async fn first() {
    signals(1).await
}

/// Resolves at the second signal: a wait that kept going after the first should stop now.
pub async fn second() {
    signals(2).await
}

/// Resolves when a signal has arrived and no critical section is running: the moment a section that handles
/// signals itself may drop the work it runs (a rollout watch).
pub async fn outside_critical() {
    let mut rx = STATUS.subscribe();
    let _ = rx.wait_for(|s| s.signals > 0 && s.critical == 0).await;
}

/// Resolves when a signal has arrived and nothing is critical or handling the signal itself: the moment `main`
/// may drop the command and exit.
pub async fn may_exit() {
    let mut rx = STATUS.subscribe();
    let _ = rx.wait_for(|s| s.signals > 0 && s.critical == 0 && s.holds == 0).await;
}

/// While alive, `main` leaves the signal to the holder (which must then return promptly with its own error).
#[must_use = "the section handles signals only while the guard lives"]
pub struct Hold(());

pub fn hold() -> Hold {
    STATUS.send_modify(|s| s.holds += 1);
    Hold(())
}

impl Drop for Hold {
    fn drop(&mut self) {
        STATUS.send_modify(|s| s.holds = s.holds.saturating_sub(1));
    }
}

/// While alive, a signal does not stop the command (see the module docs).
#[must_use = "the section is critical only while the guard lives"]
pub struct Critical(());

pub fn critical() -> Critical {
    STATUS.send_modify(|s| s.critical += 1);
    Critical(())
}

impl Drop for Critical {
    fn drop(&mut self) {
        STATUS.send_modify(|s| s.critical = s.critical.saturating_sub(1));
    }
}

/// Run `fut` unless a signal arrives first; `None` when it was interrupted (the future is dropped).
pub async fn unless_interrupted<F: std::future::Future>(fut: F) -> Option<F::Output> {
    if requested() {
        return None;
    }
    tokio::select! {
        out = fut => Some(out),
        _ = first() => None,
    }
}
