//! MIGRATE's pure halves: what a round sends, and what settling its
//! answers deletes, keeps or sends again.

use super::migrate::{settle, Answers, MigrateJob, Settled};
use super::tests::{fresh_state, run};
use crate::resp::Frame;

const NOW: u64 = 1_700_000_000_000;

/// MIGRATE run as a client would, up to the point where the connection
/// takes over: the job it left.
fn job_for(words: &[&str]) -> (std::sync::Arc<super::Shared>, MigrateJob) {
    let (shared, mut client) = fresh_state();
    run(&shared, &mut client, &["SET", "a", "1"]);
    run(&shared, &mut client, &["SET", "b", "2", "PX", "5000"]);
    assert_eq!(run(&shared, &mut client, words), Frame::Null);
    let job = client.migrate.take().expect("a job");
    (shared, job)
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn a_round_sends_auth_select_and_a_restore_per_live_key() {
    let (_, job) = job_for(&[
        "MIGRATE", "h", "1", "", "3", "10", "REPLACE", "AUTH2", "u", "p", "KEYS", "a", "nope", "b",
    ]);
    assert_eq!(job.keys.len(), 2, "the missing key is left out");
    let request = job.request(true, NOW);
    let sent = text(&request.bytes);
    assert!(
        sent.starts_with(
            "*3\r\n$4\r\nAUTH\r\n$1\r\nu\r\n$1\r\np\r\n*2\r\n$6\r\nSELECT\r\n$1\r\n3\r\n"
        ),
        "{sent}"
    );
    assert_eq!(sent.matches("RESTORE\r\n").count(), 2, "{sent}");
    assert!(
        sent.contains("$1\r\na\r\n$1\r\n0\r\n"),
        "a has no TTL: {sent}"
    );
    assert!(sent.contains("REPLACE"), "{sent}");
    assert_eq!(request.sent, vec![0, 1]);
    // Without SELECT, and once b's time has passed, only a goes.
    let later = job.request(false, NOW + 10_000);
    assert!(!text(&later.bytes).contains("SELECT"));
    assert_eq!(later.sent, vec![0]);
}

#[test]
fn restored_keys_are_deleted_and_failed_ones_kept_with_the_first_error() {
    let (shared, job) = job_for(&["MIGRATE", "h", "1", "", "0", "10", "KEYS", "a", "b"]);
    let request = job.request(false, NOW);
    let answers = Answers {
        setup_error: None,
        restores: vec![
            Ok(()),
            Err("BUSYKEY Target key name already exists.".into()),
        ],
    };
    let mut txn = shared.store.begin(NOW);
    let settled = settle(&mut txn, &job, &request, &answers).expect("settle");
    crate::command::commit::commit(&shared, &mut txn).expect("commit");
    let Settled::Reply(Frame::Error(error)) = settled else {
        panic!("expected the target's error");
    };
    assert_eq!(
        text(&error),
        "ERR Target instance replied with error: BUSYKEY Target key name already exists."
    );
    assert!(shared.store.get(0, b"a", NOW).expect("get").is_none());
    assert!(shared.store.get(0, b"b", NOW).expect("get").is_some());
    // The deletion reaches replicas as DEL.
    let feed = crate::sync::lock(&shared.feed)
        .read_from(0, usize::MAX)
        .expect("feed");
    assert!(
        text(&feed).ends_with("*2\r\n$3\r\nDEL\r\n$1\r\na\r\n"),
        "{}",
        text(&feed)
    );
}

/// The write MIGRATE must not lose: a key changed after it was read stays
/// here and goes again, with REPLACE; a key deleted meanwhile goes again as
/// gone (an expired RESTORE REPLACE drops the target's copy).
#[test]
fn keys_changed_in_flight_stay_and_are_sent_again() {
    let (shared, job) = job_for(&["MIGRATE", "h", "1", "", "0", "10", "KEYS", "a", "b"]);
    let request = job.request(false, NOW);
    let (_, mut client) = fresh_state();
    let mut writer = |words: &[&str]| {
        let mut txn = None;
        let mut ctx = super::Ctx::new(&shared, &mut client, NOW, &mut txn);
        super::execute(&mut ctx, &super::tests::args(words));
        ctx.commit_pending().expect("commit");
    };
    writer(&["SET", "a", "changed"]);
    writer(&["DEL", "b"]);
    let answers = Answers {
        setup_error: None,
        restores: vec![Ok(()), Ok(())],
    };
    let mut txn = shared.store.begin(NOW);
    let settled = settle(&mut txn, &job, &request, &answers).expect("settle");
    drop(txn);
    let Settled::Again(again) = settled else {
        panic!("expected another round");
    };
    assert!(again.replace);
    assert_eq!(again.keys.len(), 2);
    assert!(again.keys[0].payload.is_some());
    assert_eq!(again.keys[1].payload, None);
    let sent = text(&again.request(false, NOW).bytes);
    assert!(sent.contains("changed"), "{sent}");
    assert!(sent.ends_with("REPLACE\r\n$6\r\nABSTTL\r\n"), "{sent}");
    assert!(
        shared.store.get(0, b"a", NOW).expect("get").is_some(),
        "a was deleted"
    );
    // Once the target has them as they are, the next round settles.
    let request = again.request(false, NOW);
    let mut txn = shared.store.begin(NOW);
    let settled = settle(&mut txn, &again, &request, &answers).expect("settle");
    crate::command::commit::commit(&shared, &mut txn).expect("commit");
    assert!(matches!(settled, Settled::Reply(Frame::Simple(ref ok)) if &ok[..] == b"OK"));
    assert!(shared.store.get(0, b"a", NOW).expect("get").is_none());
}
