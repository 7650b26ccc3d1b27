use super::*;
use crate::keyspace::Effect;

const ID: &str = "8f1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c";

fn feed_with(bytes_of_sets: usize, capacity: usize) -> ChangeFeed {
    let mut feed = ChangeFeed::new(capacity);
    for _ in 0..bytes_of_sets {
        feed.append(&[Effect::command(0, [b"SET", b"k", b"v"])]);
    }
    feed
}

#[test]
fn a_replica_of_our_history_continues_from_the_byte_it_needs() {
    let master = Master::new(ID.into());
    let feed = feed_with(3, 1 << 20);
    let next = (feed.offset() + 1).to_string();
    assert_eq!(
        master.psync(ID.as_bytes(), next.as_bytes(), &feed),
        Psync::Continue {
            from: feed.offset()
        }
    );
    assert_eq!(
        master.psync(ID.as_bytes(), b"1", &feed),
        Psync::Continue { from: 0 }
    );
}

#[test]
fn anything_else_resynchronises_in_full() {
    let master = Master::new(ID.into());
    let feed = feed_with(3, 1 << 20);
    let beyond = (feed.offset() + 2).to_string();
    for (replid, offset) in [
        (&b"?"[..], &b"-1"[..]),
        (b"0000000000000000000000000000000000000000", b"1"),
        (ID.as_bytes(), beyond.as_bytes()),
        (ID.as_bytes(), b"0"),
        (ID.as_bytes(), b"x"),
    ] {
        assert_eq!(master.psync(replid, offset, &feed), Psync::FullResync);
    }
}

#[test]
fn an_offset_dropped_from_the_backlog_resynchronises_in_full() {
    let master = Master::new(ID.into());
    let feed = feed_with(100, 64);
    assert_eq!(master.psync(ID.as_bytes(), b"1", &feed), Psync::FullResync);
    let last = (feed.offset() - 10).to_string();
    assert!(matches!(
        master.psync(ID.as_bytes(), last.as_bytes(), &feed),
        Psync::Continue { .. }
    ));
}

#[test]
fn wait_counts_online_replicas_that_acknowledged_the_offset() {
    let mut master = Master::new(ID.into());
    let handshake = Handshake::default();
    master.attach(1, "127.0.0.1".into(), handshake.clone(), LinkState::Syncing);
    master.attach(2, "127.0.0.1".into(), handshake, LinkState::Online);
    master.ack(1, 500, 10);
    master.ack(2, 400, 10);
    assert_eq!(master.acked(400), 1, "replica 1 is still syncing");
    master.online(1);
    assert_eq!(master.acked(400), 2);
    assert_eq!(master.acked(450), 1);
    master.ack(2, 300, 20);
    assert_eq!(master.acked(400), 2, "acknowledgements never go back");
    master.detach(1);
    assert_eq!(master.replicas().count(), 1);
}

#[test]
fn a_replica_resumes_the_history_its_data_is_a_point_of() {
    const OLD: &str = "1111111111111111111111111111111111111111";
    const NEW: &str = "2222222222222222222222222222222222222222";
    let mut master = Master::new(ID.into());
    assert_eq!(master.resume_id(0), ID);
    master.adopt(OLD.into());
    assert_eq!(master.resume_id(50), OLD);
    // Promoted (or restarted from its origin) at 50: until something is
    // written, its data is still the old history's point 50.
    master.promote(NEW.into(), 50);
    assert_eq!(master.resume_id(50), OLD);
    assert_eq!(master.resume_id(64), NEW, "after writes of its own");
    // Once it continues a master's history, it asks for that one.
    master.follow_switch(OLD.into(), 50);
    assert_eq!(master.resume_id(50), OLD);
    master.follow_switch(ID.into(), 50);
    assert_eq!(master.resume_id(50), ID, "the master's new history");
}
