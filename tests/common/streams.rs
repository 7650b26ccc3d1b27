//! Streams in a real redis-server as `rdb::Stream`: read with XRANGE and
//! XINFO STREAM FULL, created with XADD, XSETID and XGROUP CREATE.

use bytes::Bytes;
use redis::Value as Reply;
use redstone::rdb::{Consumer, Group, Pending, Stream, StreamId};

pub fn parse_id(text: &[u8]) -> StreamId {
    let text = std::str::from_utf8(text).expect("an ASCII ID");
    let (ms, seq) = text.split_once('-').expect("ms-seq");
    StreamId {
        ms: ms.parse().expect("ms"),
        seq: seq.parse().expect("seq"),
    }
}

pub fn id_text(id: StreamId) -> String {
    format!("{}-{}", id.ms, id.seq)
}

fn bulk(reply: &Reply) -> Bytes {
    match reply {
        Reply::BulkString(bytes) => Bytes::from(bytes.clone()),
        Reply::SimpleString(text) => Bytes::from(text.clone()),
        other => panic!("a string, not {other:?}"),
    }
}

fn int(reply: &Reply) -> i64 {
    match reply {
        Reply::Int(n) => *n,
        other => panic!("an integer, not {other:?}"),
    }
}

fn array(reply: &Reply) -> &[Reply] {
    match reply {
        Reply::Array(items) => items,
        other => panic!("an array, not {other:?}"),
    }
}

/// A reply of alternating names and values, as RESP2 gives a map.
fn field<'a>(reply: &'a Reply, name: &str) -> &'a Reply {
    array(reply)
        .chunks(2)
        .find(|pair| bulk(&pair[0]) == name.as_bytes())
        .map(|pair| &pair[1])
        .unwrap_or_else(|| panic!("no {name} in {reply:?}"))
}

fn id_of(reply: &Reply) -> StreamId {
    parse_id(&bulk(reply))
}

fn entries(reply: &Reply) -> Vec<(StreamId, Vec<(Bytes, Bytes)>)> {
    array(reply)
        .iter()
        .map(|entry| {
            let entry = array(entry);
            let flat = array(&entry[1]);
            let pairs = flat.chunks(2).map(|p| (bulk(&p[0]), bulk(&p[1]))).collect();
            (id_of(&entry[0]), pairs)
        })
        .collect()
}

/// The stream at `key` in redis-server: its entries by XRANGE, the rest
/// by XINFO STREAM FULL (with COUNT 0: everything).
pub fn read(con: &mut redis::Connection, key: &[u8]) -> Stream {
    let range: Reply = redis::cmd("XRANGE")
        .arg(key)
        .arg("-")
        .arg("+")
        .query(con)
        .expect("XRANGE");
    let info: Reply = redis::cmd("XINFO")
        .arg("STREAM")
        .arg(key)
        .arg("FULL")
        .arg("COUNT")
        .arg(0)
        .query(con)
        .expect("XINFO STREAM FULL");
    let entries = entries(&range);
    assert_eq!(int(field(&info, "length")), entries.len() as i64);
    let groups = array(field(&info, "groups"))
        .iter()
        .map(|group| Group {
            name: bulk(field(group, "name")),
            last_id: id_of(field(group, "last-delivered-id")),
            entries_read: match field(group, "entries-read") {
                Reply::Nil => -1,
                n => int(n),
            },
            pending: array(field(group, "pending"))
                .iter()
                .map(|nack| {
                    let nack = array(nack);
                    Pending {
                        id: id_of(&nack[0]),
                        delivery_time: int(&nack[2]) as u64,
                        delivery_count: int(&nack[3]) as u64,
                    }
                })
                .collect(),
            consumers: array(field(group, "consumers"))
                .iter()
                .map(|consumer| Consumer {
                    name: bulk(field(consumer, "name")),
                    seen_time: int(field(consumer, "seen-time")) as u64,
                    active_time: None,
                    pending: array(field(consumer, "pending"))
                        .iter()
                        .map(|nack| id_of(&array(nack)[0]))
                        .collect(),
                })
                .collect(),
        })
        .collect();
    Stream {
        entries,
        last_id: id_of(field(&info, "last-generated-id")),
        first_id: id_of(field(&info, "recorded-first-entry-id")),
        max_deleted_id: id_of(field(&info, "max-deleted-entry-id")),
        entries_added: int(field(&info, "entries-added")) as u64,
        groups,
    }
}

/// Creates `stream` at `key` with XADD (entries need a field), XSETID and
/// XGROUP CREATE; pending entries lists are not made (XREADGROUP would
/// stamp them with the time).
pub fn create(con: &mut redis::Connection, key: &[u8], stream: &Stream) {
    for (id, pairs) in &stream.entries {
        let mut xadd = redis::cmd("XADD");
        xadd.arg(key).arg(id_text(*id));
        for (field, value) in pairs {
            xadd.arg(&field[..]).arg(&value[..]);
        }
        xadd.exec(con).expect("XADD");
    }
    redis::cmd("XSETID")
        .arg(key)
        .arg(id_text(stream.last_id))
        .arg("ENTRIESADDED")
        .arg(stream.entries_added)
        .arg("MAXDELETEDID")
        .arg(id_text(stream.max_deleted_id))
        .exec(con)
        .expect("XSETID");
    for group in &stream.groups {
        assert!(group.pending.is_empty() && group.consumers.is_empty());
        redis::cmd("XGROUP")
            .arg("CREATE")
            .arg(key)
            .arg(&group.name[..])
            .arg(id_text(group.last_id))
            .arg("ENTRIESREAD")
            .arg(group.entries_read)
            .exec(con)
            .expect("XGROUP CREATE");
    }
}
