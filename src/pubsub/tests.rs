use super::*;

const NO_LIMIT: BufferLimit = BufferLimit {
    hard: 0,
    soft: 0,
    soft_seconds: 0,
};

fn subscriber(id: u64, protocol: Protocol) -> Arc<Subscriber> {
    Arc::new(Subscriber::new(id, protocol))
}

fn drained(subscriber: &Subscriber) -> String {
    let mut out = BytesMut::new();
    subscriber.drain_into(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

fn b(s: &str) -> Bytes {
    Bytes::copy_from_slice(s.as_bytes())
}

#[test]
fn a_message_reaches_channel_then_pattern_subscribers() {
    let registry = Registry::default();
    let (one, two) = (
        subscriber(1, Protocol::Resp2),
        subscriber(2, Protocol::Resp3),
    );
    registry.subscribe(Kind::Channel, &b("news"), &one);
    registry.subscribe(Kind::Pattern, &b("n*"), &one);
    registry.subscribe(Kind::Pattern, &b("n*"), &two);
    registry.subscribe(Kind::Pattern, &b("x*"), &two);

    let delivery = registry.publish(false, b"news", b"hi", &NO_LIMIT, 0);
    assert_eq!(delivery.receivers, 3);
    assert!(delivery.over_limit.is_empty());
    assert_eq!(
        drained(&one),
        "*3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$2\r\nhi\r\n\
         *4\r\n$8\r\npmessage\r\n$2\r\nn*\r\n$4\r\nnews\r\n$2\r\nhi\r\n"
    );
    assert_eq!(
        drained(&two),
        ">4\r\n$8\r\npmessage\r\n$2\r\nn*\r\n$4\r\nnews\r\n$2\r\nhi\r\n"
    );
    assert_eq!(
        registry
            .publish(false, b"other", b"hi", &NO_LIMIT, 0)
            .receivers,
        0
    );
}

#[test]
fn shard_channels_are_a_separate_namespace_without_patterns() {
    let registry = Registry::default();
    let one = subscriber(1, Protocol::Resp3);
    registry.subscribe(Kind::Shard, &b("s"), &one);
    registry.subscribe(Kind::Pattern, &b("*"), &one);
    assert_eq!(
        registry.publish(true, b"s", b"m", &NO_LIMIT, 0).receivers,
        1
    );
    assert_eq!(
        drained(&one),
        ">3\r\n$8\r\nsmessage\r\n$1\r\ns\r\n$1\r\nm\r\n"
    );
    // PUBLISH to the same name reaches the pattern only.
    assert_eq!(
        registry.publish(false, b"s", b"m", &NO_LIMIT, 0).receivers,
        1
    );
    assert!(drained(&one).starts_with(">4\r\n$8\r\npmessage"));
}

#[test]
fn encoding_matches_the_frame_encoder() {
    for protocol in [Protocol::Resp2, Protocol::Resp3] {
        let parts: [&[u8]; 3] = [b"message", b"ch", b"\x00binary\r\n"];
        let frame = crate::resp::Frame::Push(
            parts
                .iter()
                .map(|p| crate::resp::Frame::Bulk(Bytes::copy_from_slice(p)))
                .collect(),
        );
        let mut expected = BytesMut::new();
        crate::resp::encode(&frame, protocol, &mut expected);
        assert_eq!(
            Encoded::new(parts.to_vec()).get(protocol),
            expected.freeze()
        );
    }
}

#[test]
fn names_counts_and_unsubscribe_keep_the_tables_exact() {
    let registry = Registry::default();
    let (one, two) = (
        subscriber(1, Protocol::Resp2),
        subscriber(2, Protocol::Resp2),
    );
    registry.subscribe(Kind::Channel, &b("b"), &one);
    registry.subscribe(Kind::Channel, &b("a"), &one);
    registry.subscribe(Kind::Channel, &b("a"), &two);
    registry.subscribe(Kind::Channel, &b("a"), &two);
    registry.subscribe(Kind::Pattern, &b("p*"), &one);
    registry.subscribe(Kind::Pattern, &b("p*"), &two);
    assert_eq!(registry.names(Kind::Channel, None), vec![b("a"), b("b")]);
    assert_eq!(registry.names(Kind::Channel, Some(b"[b]")), vec![b("b")]);
    assert_eq!(registry.subscribers(Kind::Channel, b"a"), 2);
    assert_eq!(
        registry.len(Kind::Pattern),
        1,
        "NUMPAT counts distinct patterns"
    );

    registry.unsubscribe(Kind::Channel, b"a", 1);
    registry.unsubscribe(Kind::Channel, b"b", 1);
    registry.unsubscribe(Kind::Channel, b"nope", 1);
    assert_eq!(registry.names(Kind::Channel, None), vec![b("a")]);
    assert_eq!(registry.len(Kind::Channel), 1);

    let mut subs = Subscriptions::default();
    subs.channels.insert(&b("a"));
    subs.patterns.insert(&b("p*"));
    registry.remove_client(&subs, 2);
    assert_eq!(registry.len(Kind::Channel), 0);
    assert_eq!(registry.len(Kind::Pattern), 1);
    assert_eq!(registry.subscribers(Kind::Pattern, b"p*"), 1);
}

#[test]
fn a_slow_subscriber_is_reported_once_and_others_still_receive() {
    let registry = Registry::default();
    let (slow, fast) = (
        subscriber(1, Protocol::Resp2),
        subscriber(2, Protocol::Resp2),
    );
    registry.subscribe(Kind::Channel, &b("c"), &slow);
    registry.subscribe(Kind::Channel, &b("c"), &fast);
    let limit = BufferLimit {
        hard: 1000,
        soft: 0,
        soft_seconds: 0,
    };
    let payload = vec![b'x'; 100];
    let mut reported = Vec::new();
    for _ in 0..20 {
        let delivery = registry.publish(false, b"c", &payload, &limit, 0);
        assert_eq!(delivery.receivers, 2);
        reported.extend(delivery.over_limit);
        drained(&fast);
    }
    assert_eq!(reported, vec![1]);
    assert!(slow.is_closed());
    assert!(!slow.has_queued(), "a closed outbox holds nothing");
    assert!(!fast.is_closed());
}

#[test]
fn unbalanced_patterns_match_like_redis() {
    let registry = Registry::default();
    let one = subscriber(1, Protocol::Resp2);
    registry.subscribe(Kind::Pattern, &b("a["), &one);
    assert_eq!(
        registry.publish(false, b"a[", b"x", &NO_LIMIT, 0).receivers,
        0
    );
}
