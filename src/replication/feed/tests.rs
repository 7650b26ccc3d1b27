use super::*;
use quickcheck::quickcheck;

fn set(db: usize, key: &str, value: &str) -> Effect {
    Effect::command(db, [b"SET", key.as_bytes(), value.as_bytes()])
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn commands_are_resp_arrays_with_a_select_when_the_database_changes() {
    let mut feed = ChangeFeed::new(DEFAULT_BACKLOG);
    feed.append(&[set(0, "a", "1"), set(0, "b", "2")]);
    feed.append(&[set(3, "c", "3"), Effect::del(3, b"a")]);
    let all = feed.read_from(0, usize::MAX).expect("read");
    assert_eq!(
        text(&all),
        "*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n\
         *3\r\n$3\r\nSET\r\n$1\r\na\r\n$1\r\n1\r\n\
         *3\r\n$3\r\nSET\r\n$1\r\nb\r\n$1\r\n2\r\n\
         *2\r\n$6\r\nSELECT\r\n$1\r\n3\r\n\
         *3\r\n$3\r\nSET\r\n$1\r\nc\r\n$1\r\n3\r\n\
         *2\r\n$3\r\nDEL\r\n$1\r\na\r\n"
    );
    assert_eq!(feed.offset(), all.len() as u64);
}

#[test]
fn an_atomic_unit_selects_before_multi() {
    let mut feed = ChangeFeed::new(DEFAULT_BACKLOG);
    feed.append(&[Effect::Multi, set(5, "k", "v"), Effect::Exec]);
    let all = feed.read_from(0, usize::MAX).expect("read");
    assert_eq!(
        text(&all),
        "*2\r\n$6\r\nSELECT\r\n$1\r\n5\r\n*1\r\n$5\r\nMULTI\r\n\
         *3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n*1\r\n$4\r\nEXEC\r\n"
    );
}

#[test]
fn a_reader_continues_from_its_offset_until_the_backlog_drops_it() {
    let mut feed = ChangeFeed::new(64);
    feed.append(&[set(0, "a", "1")]);
    let after_first = feed.offset();
    feed.append(&[set(0, "b", "2")]);
    let rest = feed.read_from(after_first, usize::MAX).expect("read");
    assert_eq!(text(&rest), "*3\r\n$3\r\nSET\r\n$1\r\nb\r\n$1\r\n2\r\n");
    assert_eq!(feed.read_from(feed.offset(), 10), Ok(Bytes::new()));
    assert_eq!(feed.read_from(feed.offset() + 1, 10), Err(Gap::Future));
    for _ in 0..4 {
        feed.append(&[set(0, "c", "3")]);
    }
    assert_eq!(feed.read_from(0, 10), Err(Gap::Overrun));
    assert_eq!(feed.first_offset(), feed.offset() - 64);
}

quickcheck! {
    /// Whatever the appends and the capacity, also when it was changed
    /// part way (`resize`: after how many appends, to what; CONFIG SET
    /// repl-backlog-size), the backlog holds the newest bytes that fit
    /// (never more than `capacity`, and nothing a shrink dropped), and any
    /// offset in it reads the stream from there.
    fn the_backlog_is_the_tail_of_the_stream(
        values: Vec<Vec<u8>>,
        first_capacity: u8,
        resize: Option<(u8, u8)>,
        at: u16
    ) -> bool {
        let mut capacity = usize::from(first_capacity) + 1;
        let mut feed = ChangeFeed::new(capacity);
        let mut reference = ChangeFeed::new(usize::MAX >> 8);
        // A shrink drops bytes that a later growth cannot bring back.
        let mut expected_held = 0;
        for (n, value) in values.iter().enumerate() {
            if let Some((_, resized)) = resize.filter(|&(after, _)| usize::from(after) == n) {
                capacity = usize::from(resized) + 1;
                feed.set_capacity(capacity);
                expected_held = expected_held.min(capacity);
            }
            let effect = Effect::command(0, [b"SET", b"k", value]);
            let before = reference.offset();
            feed.append(std::slice::from_ref(&effect));
            reference.append(&[effect]);
            let appended = (reference.offset() - before) as usize;
            expected_held = (expected_held + appended).min(capacity);
        }
        let stream = reference.read_from(0, usize::MAX).expect("reference");
        let first = feed.first_offset();
        let expected_first = stream.len() as u64 - expected_held as u64;
        let from = first + u64::from(at) % (feed.offset() - first + 1);
        first == expected_first
            && feed.read_from(from, usize::MAX).ok().as_deref() == Some(&stream[from as usize..])
            && feed.read_from(from, 3).ok().as_deref()
                == Some(&stream[from as usize..(from as usize + 3).min(stream.len())])
    }
}
