//! How a client is described to operators: its `CLIENT LIST` line, which
//! CLIENT LIST and CLIENT INFO reply with and the pub/sub output-buffer
//! limit logs when it disconnects a subscriber. A file of its own so that
//! `connection.rs` (which also runs RESET through pub/sub) and `pubsub.rs`
//! both build on it without importing each other.

use super::context::{ClientHandle, ClientInfo, LinkKind};
use bytes::Bytes;

/// One `CLIENT LIST` line, with the fields Redis 7 prints. `running` is the
/// command the described client runs now, when that is the caller itself.
pub(crate) fn describe(
    handle: &ClientHandle,
    now_ms: u64,
    running: Option<super::Resolved>,
) -> String {
    let info = crate::sync::lock(&handle.info);
    let command = running
        .or(info.last_command)
        .map_or_else(|| "NULL".to_string(), |c| c.full_name());

    let text = |v: &Option<Bytes>| {
        v.as_ref()
            .map(|b| String::from_utf8_lossy(b).into_owned())
            .unwrap_or_default()
    };
    let mut flags = String::new();
    match info.link {
        Some(LinkKind::Replica) => flags.push('S'),
        Some(LinkKind::Master) => flags.push('M'),
        None => {}
    }
    if info.monitor {
        flags.push('O');
    }
    if is_pubsub(&info) {
        flags.push('P');
    }
    if info.multi >= 0 {
        flags.push('x');
    }
    if info.blocked {
        flags.push('b');
    }
    if info
        .watch_dirty
        .as_ref()
        .is_some_and(|dirty| dirty.load(std::sync::atomic::Ordering::Acquire))
    {
        flags.push('d');
    }
    if flags.is_empty() {
        flags.push('N');
    }
    let [sub, psub, ssub] = info.subscriptions;
    let omem = info.subscriber.as_ref().map_or(0, |s| s.pending_bytes());
    format!(
        "id={} addr={} laddr={} fd=8 name={} age={} idle={} flags={} db={} sub={} psub={} ssub={} multi={} qbuf=0 qbuf-free=0 argv-mem=0 multi-mem=0 rbs=16384 rbp=0 obl=0 oll=0 omem={} tot-mem=0 events=r cmd={} user=default redir=-1 resp={} lib-name={} lib-ver={}",
        handle.id,
        handle.addr,
        handle.laddr,
        text(&info.name),
        now_ms.saturating_sub(handle.created_ms) / 1000,
        now_ms.saturating_sub(info.last_active_ms) / 1000,
        flags,
        info.db,
        sub,
        psub,
        ssub,
        info.multi,
        omem,
        command,

        info.resp,
        text(&info.lib_name),
        text(&info.lib_ver),
    )
}

/// Redis' CLIENT_PUBSUB flag: subscribed to anything.
pub(super) fn is_pubsub(info: &ClientInfo) -> bool {
    info.subscriptions.iter().any(|&n| n > 0)
}
