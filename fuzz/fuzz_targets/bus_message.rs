#![no_main]
//! Decodes arbitrary bytes as a cluster-bus frame. Whatever decodes must
//! survive a round trip: re-encoding gives a frame that decodes to the same
//! message and is consumed whole. (Frames are not byte-identical in general:
//! node ids are accepted in either case and stored lowercase.)
use libfuzzer_sys::fuzz_target;
use redstone::cluster::codec::{decode, encode, encoded_len};

fuzz_target!(|data: &[u8]| {
    let Ok(Some((msg, consumed))) = decode(data) else {
        return;
    };
    assert!(consumed <= data.len());
    let mut again = Vec::new();
    encode(&msg, &mut again);
    assert_eq!(again.len(), encoded_len(&msg));
    assert_eq!(decode(&again), Ok(Some((msg, again.len()))));
});
