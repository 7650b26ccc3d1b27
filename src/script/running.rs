//! `Running`: which script or function runs now, since when and for
//! whom, read by other connections without the [`Scripting`] lock that the
//! running code holds (BUSY, SCRIPT KILL, FUNCTION KILL, FUNCTION STATS),
//! and the sizes INFO shows.

use super::{functions, ErrorReply};
use crate::resp::Protocol;
use bytes::Bytes;
use mlua::VmState;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

#[cfg(doc)]
use super::Scripting;

/// How long a script runs before its thread's other work moves away.
const HAND_OFF_AFTER: Duration = Duration::from_millis(5);

/// And again this often while it runs: a hand-off can fail (the thread
/// that should take the worker over may start only after this one took
/// it back), and a worker held by a script strands the tasks queued on it,
/// such as the one accepting connections.
const HAND_OFF_AGAIN: Duration = Duration::from_millis(100);

/// The script running now, for other connections: BUSY replies, SCRIPT
/// KILL; and the cache's size for INFO. Outside the [`Scripting`] lock,
/// which the running script holds.
pub struct Running {
    /// Scripts compiled (`number_of_cached_scripts`).
    pub(super) cached: AtomicU64,
    /// Bytes the Lua state holds (`used_memory_lua`), as of the last run.
    pub(super) lua_bytes: AtomicU64,
    /// When it started (unix ms), 0 when none runs.
    pub(super) started_ms: AtomicU64,
    /// The same, on the monotonic clock, for the hand-off.
    pub(super) started: Mutex<Option<Instant>>,
    /// The client running it.
    pub(super) client: AtomicU64,
    /// Set by SCRIPT KILL; the Lua hook stops the script.
    pub(super) kill: AtomicBool,
    /// It wrote: SCRIPT KILL would leave half its writes, so it refuses.
    pub(super) wrote: AtomicBool,
    /// When (time since it started) the running script next hands its
    /// worker off.
    pub(super) next_hand_off: Mutex<Duration>,
    /// The script running now said `redis.setresp(3)`.
    pub(super) resp3: AtomicBool,
    /// The function running now (its name and the FCALL that called it),
    /// `None` for a script: FUNCTION STATS, and which KILL may stop it.
    pub(super) function: Mutex<Option<(String, Vec<Bytes>)>>,
    /// A library loading since then (FUNCTION LOAD's time limit), if limited.
    pub(super) loading_since: Mutex<Option<Instant>>,
    /// The functions' Lua state's bytes, functions and libraries (INFO).
    pub(super) functions_lua_bytes: AtomicU64,
    pub(super) functions: AtomicU64,
    pub(super) libraries: AtomicU64,
    /// The libraries' own bytes: code and names (`used_memory_functions`).
    pub(super) libraries_bytes: AtomicU64,
    /// Called once a script has run for [`HAND_OFF_AFTER`] (and every
    /// [`HAND_OFF_AGAIN`] after): the driver
    /// moves its thread's other work elsewhere (tokio's `block_in_place`,
    /// too dear to pay for every short script).
    pub(super) hand_off: fn(),
}

/// Why SCRIPT KILL or FUNCTION KILL did not kill.
pub enum KillRefused {
    NotBusy,
    Unkillable,
    /// SCRIPT KILL of a function, FUNCTION KILL of a script.
    OtherKind,
}

/// What FUNCTION STATS tells of the function running now.
pub struct RunningFunction {
    pub name: String,
    pub command: Vec<Bytes>,
    pub duration_ms: u64,
}

impl Default for Running {
    fn default() -> Running {
        Running::new(|| {})
    }
}

impl Running {
    pub fn new(hand_off: fn()) -> Running {
        Running {
            cached: AtomicU64::new(0),
            lua_bytes: AtomicU64::new(0),
            started_ms: AtomicU64::new(0),
            started: Mutex::new(None),
            client: AtomicU64::new(0),
            kill: AtomicBool::new(false),
            wrote: AtomicBool::new(false),
            next_hand_off: Mutex::new(HAND_OFF_AFTER),
            resp3: AtomicBool::new(false),
            function: Mutex::new(None),
            loading_since: Mutex::new(None),
            functions_lua_bytes: AtomicU64::new(0),
            functions: AtomicU64::new(0),
            libraries: AtomicU64::new(0),
            libraries_bytes: AtomicU64::new(0),
            hand_off,
        }
    }

    /// Whether a script of another client than `client` has been running
    /// for `threshold_ms` or more at `now_ms`: other commands then get
    /// BUSY, as in Redis. The threshold is asked only while a script runs.
    pub fn busy_for(&self, client: u64, now_ms: u64, threshold_ms: impl FnOnce() -> u64) -> bool {
        let started = self.started_ms.load(Ordering::Acquire);
        started != 0
            && self.client.load(Ordering::Acquire) != client
            && now_ms.saturating_sub(started) >= threshold_ms()
    }

    /// Whether `client` is running a script now (its commands come from it).
    pub fn runs_for(&self, client: u64) -> bool {
        self.started_ms.load(Ordering::Acquire) != 0
            && self.client.load(Ordering::Acquire) == client
    }

    pub fn cached_scripts(&self) -> u64 {
        self.cached.load(Ordering::Relaxed)
    }

    pub fn lua_bytes(&self) -> u64 {
        self.lua_bytes.load(Ordering::Relaxed)
    }

    /// The script it was running wrote something.
    pub fn note_write(&self) {
        self.wrote.store(true, Ordering::Release);
    }

    /// Bytes of the functions' Lua state (`used_memory_vm_functions`).
    pub fn functions_lua_bytes(&self) -> u64 {
        self.functions_lua_bytes.load(Ordering::Relaxed)
    }

    /// What the libraries themselves take (`used_memory_functions`).
    pub fn libraries_bytes(&self) -> u64 {
        self.libraries_bytes.load(Ordering::Relaxed)
    }

    /// Functions and libraries loaded (`number_of_functions`, `..._libraries`).
    pub fn function_counts(&self) -> (u64, u64) {
        (
            self.functions.load(Ordering::Relaxed),
            self.libraries.load(Ordering::Relaxed),
        )
    }

    /// Whether what runs now is a function (FCALL), not a script.
    pub fn runs_function(&self) -> bool {
        self.started_ms.load(Ordering::Acquire) != 0 && crate::sync::lock(&self.function).is_some()
    }

    /// The function running now, at `now_ms`, for FUNCTION STATS.
    pub fn running_function(&self, now_ms: u64) -> Option<RunningFunction> {
        let started = self.started_ms.load(Ordering::Acquire);
        let function = crate::sync::lock(&self.function);
        let (name, command) = function.as_ref().filter(|_| started != 0)?;
        Some(RunningFunction {
            name: name.clone(),
            command: command.clone(),
            duration_ms: now_ms.saturating_sub(started),
        })
    }

    /// SCRIPT KILL (`function` false) or FUNCTION KILL (true).
    pub fn kill(&self, function: bool) -> Result<(), KillRefused> {
        if self.started_ms.load(Ordering::Acquire) == 0 {
            return Err(KillRefused::NotBusy);
        }
        if self.wrote.load(Ordering::Acquire) {
            return Err(KillRefused::Unkillable);
        }
        if crate::sync::lock(&self.function).is_some() != function {
            return Err(KillRefused::OtherKind);
        }
        self.kill.store(true, Ordering::Release);
        Ok(())
    }

    pub(super) fn start(&self, client: u64, now_ms: u64, function: Option<(String, Vec<Bytes>)>) {
        *crate::sync::lock(&self.function) = function;
        self.kill.store(false, Ordering::Release);
        self.wrote.store(false, Ordering::Release);
        *crate::sync::lock(&self.next_hand_off) = HAND_OFF_AFTER;
        self.resp3.store(false, Ordering::Release);
        *crate::sync::lock(&self.started) = Some(Instant::now());
        self.client.store(client, Ordering::Release);
        self.started_ms.store(now_ms.max(1), Ordering::Release);
    }

    pub(super) fn stop(&self) {
        self.started_ms.store(0, Ordering::Release);
    }

    /// How the running script talks to commands (`redis.setresp`).
    pub(super) fn protocol(&self) -> Protocol {
        match self.resp3.load(Ordering::Acquire) {
            true => Protocol::Resp3,
            false => Protocol::Resp2,
        }
    }

    /// The Lua count hook: stops a killed script, hands a long one off.
    pub(super) fn check(&self) -> mlua::Result<VmState> {
        let loading = *crate::sync::lock(&self.loading_since);
        if loading.is_some_and(|since| since.elapsed() > functions::LOAD_TIMEOUT) {
            return Err(mlua::Error::external(ErrorReply(
                "ERR FUNCTION LOAD timeout".into(),
            )));
        }
        // A kill is of the run it was asked for (a library loading is none).
        let running = self.started_ms.load(Ordering::Acquire) != 0;
        if running && self.kill.load(Ordering::Acquire) {
            return Err(mlua::Error::runtime(
                "Script killed by user with SCRIPT KILL...",
            ));
        }
        let elapsed = crate::sync::lock(&self.started).map(|started| started.elapsed());
        let mut next = crate::sync::lock(&self.next_hand_off);
        if elapsed.is_some_and(|elapsed| elapsed >= *next) {
            *next = elapsed.unwrap_or_default() + HAND_OFF_AGAIN;
            drop(next);
            (self.hand_off)();
        }
        Ok(VmState::Continue)
    }
}
