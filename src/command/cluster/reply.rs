//! The shapes of CLUSTER NODES, INFO, SLOTS, SHARDS, LINKS and REPLICAS, as
//! Redis 7 prints them: tools (redis-cli --cluster, cluster clients) parse
//! these, so field names and order matter.

use super::handle::LinkInfo;
use crate::cluster::nodes_conf::node_line;
use crate::cluster::{ClusterInfo, Node};
use crate::cluster::{NodeFlags, NodeId, NodeRecord};
use crate::resp::Frame;
use std::fmt::Write;

/// CLUSTER NODES: one line per node, each ending in a newline.
pub fn nodes_text(records: &[NodeRecord]) -> String {
    records
        .iter()
        .map(|record| node_line(record) + "\n")
        .collect()
}

/// CLUSTER REPLICAS: the CLUSTER NODES lines of a master's replicas.
pub fn replica_lines(node: &Node, id: &[u8]) -> Result<Vec<String>, Frame> {
    let unknown = || Frame::error(format!("ERR Unknown node {}", String::from_utf8_lossy(id)));
    let id = NodeId::parse(id).ok_or_else(unknown)?;
    let records = node.records();
    let master = records.iter().find(|r| r.id == id).ok_or_else(unknown)?;
    if !master.flags.contains(NodeFlags::MASTER) {
        return Err(Frame::error("ERR The specified node is not a master"));
    }
    Ok(records
        .iter()
        .filter(|r| r.master == Some(id))
        .map(node_line)
        .collect())
}

/// Message kinds in the order Redis lists their counters.
const MESSAGE_KINDS: [&str; 10] = [
    "ping",
    "pong",
    "meet",
    "fail",
    "publish",
    "publishshard",
    "auth-req",
    "auth-ack",
    "update",
    "mfstart",
];

/// CLUSTER INFO.
pub fn info_text(info: &ClusterInfo) -> String {
    let mut out = String::new();
    let state = if info.state_ok { "ok" } else { "fail" };
    let fields = [
        ("cluster_state", state.to_string()),
        ("cluster_slots_assigned", info.slots_assigned.to_string()),
        ("cluster_slots_ok", info.slots_ok.to_string()),
        ("cluster_slots_pfail", info.slots_pfail.to_string()),
        ("cluster_slots_fail", info.slots_fail.to_string()),
        ("cluster_known_nodes", info.known_nodes.to_string()),
        ("cluster_size", info.size.to_string()),
        ("cluster_current_epoch", info.current_epoch.to_string()),
        ("cluster_my_epoch", info.my_epoch.to_string()),
    ];
    for (name, value) in fields {
        let _ = write!(out, "{name}:{value}\r\n");
    }
    for (direction, counts) in [
        ("sent", &info.messages_sent),
        ("received", &info.messages_received),
    ] {
        let mut total = 0;
        for kind in MESSAGE_KINDS {
            let count = counts.get(kind).copied().unwrap_or(0);
            if count > 0 {
                let _ = write!(out, "cluster_stats_messages_{kind}_{direction}:{count}\r\n");
                total += count;
            }
        }
        let _ = write!(out, "cluster_stats_messages_{direction}:{total}\r\n");
    }
    out.push_str("total_cluster_links_buffer_limit_exceeded:0\r\n");
    out
}

fn is_master(record: &NodeRecord) -> bool {
    record.flags.contains(NodeFlags::MASTER)
}

/// `[ip, port, id, {hostname?}]`, Redis' `addNodeToNodeReply`.
fn node_entry(record: &NodeRecord) -> Frame {
    let metadata = if record.hostname.is_empty() {
        Vec::new()
    } else {
        vec![(
            Frame::bulk("hostname"),
            Frame::bulk(record.hostname.clone()),
        )]
    };
    Frame::Array(vec![
        Frame::bulk(record.ip.clone()),
        Frame::Integer(record.port.into()),
        Frame::bulk(record.id.as_str().to_string()),
        Frame::Map(metadata),
    ])
}

/// CLUSTER SLOTS: one entry per run of consecutive slots with one master,
/// in slot order. Replicas are listed only once they hold data (Redis
/// leaves out replicas whose replication offset is 0), which for now is
/// never: replication comes with a later issue.
pub fn slots(records: &[NodeRecord]) -> Frame {
    let mut runs: Vec<(u16, u16, &NodeRecord)> = records
        .iter()
        .filter(|r| is_master(r))
        .flat_map(|master| {
            master
                .slots
                .ranges()
                .into_iter()
                .map(move |(start, end)| (start, end, master))
        })
        .collect();
    runs.sort_by_key(|(start, _, _)| *start);
    Frame::Array(
        runs.into_iter()
            .map(|(start, end, master)| {
                Frame::Array(vec![
                    Frame::Integer(start.into()),
                    Frame::Integer(end.into()),
                    node_entry(master),
                ])
            })
            .collect(),
    )
}

fn health(record: &NodeRecord) -> &'static str {
    if record.flags.contains(NodeFlags::FAIL) {
        "failed"
    } else if !is_master(record) {
        // A replica that has not synced yet; Redis says "loading".
        "loading"
    } else {
        "online"
    }
}

fn shard_node(record: &NodeRecord) -> Frame {
    let text = |s: &str| Frame::bulk(s.to_string());
    let mut fields = vec![
        (text("id"), text(record.id.as_str())),
        (text("port"), Frame::Integer(record.port.into())),
        (text("ip"), text(&record.ip)),
        (text("endpoint"), text(&record.ip)),
    ];
    if !record.hostname.is_empty() {
        fields.push((text("hostname"), text(&record.hostname)));
    }
    let role = if is_master(record) {
        "master"
    } else {
        "replica"
    };
    fields.push((text("role"), text(role)));
    fields.push((text("replication-offset"), Frame::Integer(0)));
    fields.push((text("health"), text(health(record))));
    Frame::Map(fields)
}

/// CLUSTER SHARDS: each master with its replicas and its slot ranges.
pub fn shards(records: &[NodeRecord]) -> Frame {
    let shards = records
        .iter()
        .filter(|r| is_master(r) && !r.flags.contains(NodeFlags::HANDSHAKE))
        .map(|master| {
            let slots = master
                .slots
                .ranges()
                .into_iter()
                .flat_map(|(start, end)| [Frame::Integer(start.into()), Frame::Integer(end.into())])
                .collect();
            let members = std::iter::once(master)
                .chain(records.iter().filter(|r| r.master == Some(master.id)))
                .map(shard_node)
                .collect();
            Frame::Map(vec![
                (Frame::bulk("slots"), Frame::Array(slots)),
                (Frame::bulk("nodes"), Frame::Array(members)),
            ])
        })
        .collect();
    Frame::Array(shards)
}

/// CLUSTER LINKS.
pub fn links(links: &[LinkInfo]) -> Frame {
    let text = |s: &str| Frame::bulk(s.to_string());
    Frame::Array(
        links
            .iter()
            .map(|link| {
                Frame::Map(vec![
                    (text("direction"), text(link.direction)),
                    (text("node"), text(&link.node)),
                    (text("create-time"), Frame::Integer(link.created_ms as i64)),
                    (
                        text("events"),
                        text(if link.direction == "to" { "rw" } else { "r" }),
                    ),
                    (text("send-buffer-allocated"), Frame::Integer(0)),
                    (text("send-buffer-used"), Frame::Integer(0)),
                ])
            })
            .collect(),
    )
}
