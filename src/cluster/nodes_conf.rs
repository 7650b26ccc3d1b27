//! nodes.conf and CLUSTER NODES, in Redis 7.0's text format, so tools that
//! read Redis' output (redis-cli --cluster, client libraries, operators'
//! scripts) read ours, and a Redis 7.0 nodes.conf loads here.
//!
//! One line per node:
//!
//! ```text
//! <id> <ip>:<port>@<cport>[,<hostname>] <flags> <master|-> <ping_sent> <pong_recv> <config_epoch> <connected|disconnected> <slots...>
//! ```
//!
//! then, in the file only, `vars currentEpoch <n> lastVoteEpoch <m>`.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use super::{ClusterConfig, NodeFlags, NodeId, NodeRecord};
use crate::slot::SLOT_COUNT;

/// Redis' offset from the client port to the bus port, assumed for pre-4.0
/// lines that have no `@cport`.
const BUS_PORT_OFFSET: u16 = 10000;

/// Why a nodes.conf could not be loaded, naming the 1-based line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    pub line: usize,
    pub reason: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "nodes.conf line {}: {}", self.line, self.reason)
    }
}

impl std::error::Error for ParseError {}

/// One CLUSTER NODES line for `record`, without the trailing newline, exactly
/// as Redis 7.0's `clusterGenNodeDescription` prints it:
///
/// - the hostname follows the address after a comma only when it is set
///   (7.0 prints no trailing comma; 7.2 does);
/// - the myself node always prints `connected` (Redis checks "has a link or
///   is myself"), whatever `record.connected` says;
/// - flags without a CLUSTER NODES name (MEET, MIGRATE_TO) are transient
///   and not printed;
/// - only the myself node prints its `[slot->-id]` (migrating) and
///   `[slot-<-id]` (importing) entries, in slot order. Redis keeps one entry
///   per slot with migrating winning over importing; so do we, so duplicate
///   slots in those vectors collapse.
///
/// Strings are printed as they are: hostnames are expected to be what Redis
/// allows (no whitespace or commas).
pub fn node_line(record: &NodeRecord) -> String {
    let myself = record.flags.contains(NodeFlags::MYSELF);
    let mut line = format!(
        "{} {}:{}@{}",
        record.id, record.ip, record.port, record.bus_port
    );
    if !record.hostname.is_empty() {
        line.push(',');
        line.push_str(&record.hostname);
    }
    let master = record.master.map_or("-".to_string(), |id| id.to_string());
    let link = if record.connected || myself {
        "connected"
    } else {
        "disconnected"
    };
    line.push_str(&format!(
        " {} {} {} {} {} {}",
        record.flags.names(),
        master,
        record.ping_sent_ms,
        record.pong_received_ms,
        record.config_epoch,
        link
    ));
    for (first, last) in record.slots.ranges() {
        if first == last {
            line.push_str(&format!(" {first}"));
        } else {
            line.push_str(&format!(" {first}-{last}"));
        }
    }
    if myself {
        let mut moving = BTreeMap::new();
        for (slot, id) in &record.importing {
            moving.insert(*slot, format!("[{slot}-<-{id}]"));
        }
        for (slot, id) in &record.migrating {
            moving.insert(*slot, format!("[{slot}->-{id}]"));
        }
        for entry in moving.values() {
            line.push(' ');
            line.push_str(entry);
        }
    }
    line
}

/// The whole nodes.conf: a line per node in `config.nodes` order, then the
/// vars line. Redis writes its dict order; any order loads the same.
///
/// Like Redis' `clusterSaveConfig`, nodes still in HANDSHAKE are left out:
/// their ids are provisional (replaced once the peer answers), and a
/// persisted one would come back after a restart as a ghost node.
pub fn serialize(config: &ClusterConfig) -> String {
    let mut text = String::new();
    for record in &config.nodes {
        if record.flags.contains(NodeFlags::HANDSHAKE) {
            continue;
        }
        text.push_str(&node_line(record));
        text.push('\n');
    }
    text.push_str(&format!(
        "vars currentEpoch {} lastVoteEpoch {}\n",
        config.current_epoch, config.last_vote_epoch
    ));
    text
}

/// Parses what [`serialize`] writes and Redis 7.0 nodes.conf files.
///
/// Also accepted, as Redis accepts them: blank lines, CRLF, the pre-4.0
/// `ip:port` address (bus port = port + 10000), `:0@0` noaddr addresses,
/// unknown `vars` keys (ignored), a missing `vars` line (epochs 0). Redis
/// treats a zero-length nodes.conf as "no config yet"; here a file with no
/// node line is an error ("empty"), so the caller decides that case before
/// calling. Exactly one node must be flagged myself, ids must be unique, and
/// only the myself line may carry migrating/importing entries (only it ever
/// prints them).
///
/// Parsed values are kept as written: Redis replaces a loaded ping/pong time
/// by "now" and bumps currentEpoch to the largest configEpoch; that is the
/// loader's policy, not the format's.
pub fn parse(text: &str) -> Result<ClusterConfig, ParseError> {
    let mut config = ClusterConfig {
        nodes: Vec::new(),
        current_epoch: 0,
        last_vote_epoch: 0,
    };
    let mut myself_line = None;
    let mut last_line = 1;
    for (index, line) in text.lines().enumerate() {
        let line_no = index + 1;
        last_line = line_no;
        let error = |reason: String| ParseError {
            line: line_no,
            reason,
        };
        let tokens: Vec<&str> = line.split_whitespace().collect();
        match tokens.first() {
            None => continue,
            Some(&"vars") => parse_vars(&tokens[1..], &mut config).map_err(error)?,
            Some(_) => {
                let record = parse_node(&tokens).map_err(error)?;
                if config.nodes.iter().any(|n| n.id == record.id) {
                    return Err(error(format!("duplicate node id {}", record.id)));
                }
                if record.flags.contains(NodeFlags::MYSELF) {
                    if let Some(first) = myself_line {
                        return Err(error(format!(
                            "second node flagged myself (first on line {first})"
                        )));
                    }
                    myself_line = Some(line_no);
                }
                config.nodes.push(record);
            }
        }
    }
    if config.nodes.is_empty() {
        return Err(ParseError {
            line: last_line,
            reason: "empty: no node lines".to_string(),
        });
    }
    if myself_line.is_none() {
        return Err(ParseError {
            line: last_line,
            reason: "no node is flagged myself".to_string(),
        });
    }
    Ok(config)
}

/// `currentEpoch <n> lastVoteEpoch <m>`, in any order, unknown keys skipped.
fn parse_vars(pairs: &[&str], config: &mut ClusterConfig) -> Result<(), String> {
    let pairs = pairs.chunks_exact(2);
    if let [key] = pairs.remainder() {
        return Err(format!("vars key {key:?} has no value"));
    }
    for pair in pairs {
        match pair[0] {
            "currentEpoch" => config.current_epoch = number(pair[1], "currentEpoch")?,
            "lastVoteEpoch" => config.last_vote_epoch = number(pair[1], "lastVoteEpoch")?,
            _ => {}
        }
    }
    Ok(())
}

fn parse_node(tokens: &[&str]) -> Result<NodeRecord, String> {
    if tokens.len() < 8 {
        return Err(format!(
            "expected at least 8 fields, found {}",
            tokens.len()
        ));
    }
    let id = node_id(tokens[0], "node id")?;
    let (ip, port, bus_port, hostname) = parse_address(tokens[1])?;
    let flags = parse_flags(tokens[2])?;
    let master = match tokens[3] {
        "-" => None,
        text => Some(node_id(text, "master id")?),
    };
    let connected = match tokens[7] {
        "connected" => true,
        "disconnected" => false,
        other => {
            return Err(format!(
                "bad link state {other:?} (want connected or disconnected)"
            ))
        }
    };
    let mut record = NodeRecord {
        id,
        ip,
        port,
        bus_port,
        hostname,
        flags,
        master,
        ping_sent_ms: number(tokens[4], "ping_sent")?,
        pong_received_ms: number(tokens[5], "pong_received")?,
        config_epoch: number(tokens[6], "config epoch")?,
        connected,
        slots: Default::default(),
        migrating: Vec::new(),
        importing: Vec::new(),
    };
    for token in &tokens[8..] {
        parse_slot_token(token, &mut record)?;
    }
    Ok(record)
}

/// `ip:port@cport[,hostname]`; the ip may itself contain colons (IPv6).
fn parse_address(text: &str) -> Result<(String, u16, u16, String), String> {
    let (address, hostname) = text.split_once(',').unwrap_or((text, ""));
    let bad = || format!("bad address {text:?} (want ip:port@cport[,hostname])");
    let (ip, ports) = address.rsplit_once(':').ok_or_else(bad)?;
    let (port, bus_port) = match ports.split_once('@') {
        Some((port, bus_port)) => (number(port, "port")?, number(bus_port, "bus port")?),
        None => {
            let port: u16 = number(ports, "port")?;
            let bus_port = port
                .checked_add(BUS_PORT_OFFSET)
                .ok_or_else(|| format!("port {port} has no implicit bus port (add @cport)"))?;
            (port, bus_port)
        }
    };
    Ok((ip.to_string(), port, bus_port, hostname.to_string()))
}

/// Comma-separated flag names, naming the first unknown one.
fn parse_flags(text: &str) -> Result<NodeFlags, String> {
    if let Some(flags) = NodeFlags::parse_names(text) {
        return Ok(flags);
    }
    let unknown = text
        .split(',')
        .find(|name| *name == "noflags" || NodeFlags::parse_names(name).is_none())
        .unwrap_or(text);
    Err(format!("unknown flag {unknown:?} in {text:?}"))
}

/// `N`, `A-B`, `[N->-id]` (migrating to id) or `[N-<-id]` (importing).
fn parse_slot_token(token: &str, record: &mut NodeRecord) -> Result<(), String> {
    if let Some(inner) = token.strip_prefix('[') {
        let inner = inner
            .strip_suffix(']')
            .ok_or_else(|| format!("unterminated slot entry {token:?}"))?;
        if !record.flags.contains(NodeFlags::MYSELF) {
            return Err(format!(
                "migrating/importing entry {token:?} on a node that is not myself"
            ));
        }
        if let Some((slot, id)) = inner.split_once("->-") {
            record
                .migrating
                .push((slot_number(slot)?, node_id(id, "migrating target")?));
        } else if let Some((slot, id)) = inner.split_once("-<-") {
            record
                .importing
                .push((slot_number(slot)?, node_id(id, "importing source")?));
        } else {
            return Err(format!(
                "bad slot entry {token:?} (want [slot->-id] or [slot-<-id])"
            ));
        }
        return Ok(());
    }
    let (first, last) = match token.split_once('-') {
        Some((first, last)) => (slot_number(first)?, slot_number(last)?),
        None => {
            let slot = slot_number(token)?;
            (slot, slot)
        }
    };
    if first > last {
        return Err(format!("slot range {token:?} is backwards"));
    }
    for slot in first..=last {
        record.slots.insert(slot);
    }
    Ok(())
}

fn slot_number(text: &str) -> Result<u16, String> {
    let slot: u16 = number(text, "slot")?;
    if slot >= SLOT_COUNT {
        return Err(format!("slot {slot} out of range (0-{})", SLOT_COUNT - 1));
    }
    Ok(slot)
}

fn node_id(text: &str, what: &str) -> Result<NodeId, String> {
    NodeId::parse(text.as_bytes())
        .ok_or_else(|| format!("bad {what} {text:?} (want 40 hex characters)"))
}

/// Plain decimal digits only (no sign, no spaces), within `T`'s range.
fn number<T: FromStr>(text: &str, what: &str) -> Result<T, String> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("bad {what} {text:?} (want a decimal number)"));
    }
    text.parse()
        .map_err(|_| format!("{what} {text} out of range"))
}

#[cfg(test)]
mod tests;
