use redstone::engine::fjall::{FjallEngine, FjallOptions};
use redstone::engine::Engine;
use redstone::keyspace::{Meta, Store};
use std::sync::Arc;
use std::time::Instant;
fn main() {
    let dir = std::env::args().nth(1).unwrap();
    let size: usize = std::env::args()
        .nth(2)
        .map(|s| s.parse().unwrap())
        .unwrap_or(1000);
    let n: u64 = 300_000;
    let engine: Arc<dyn Engine> = Arc::new(
        FjallEngine::open(
            std::path::Path::new(&dir),
            FjallOptions {
                cache_bytes: 64 << 20,
                write_buffer_bytes: 64 << 20,
            },
        )
        .unwrap(),
    );
    let value = bytes::Bytes::from(vec![b'x'; size]);
    let mut seed = 12345u64;
    let mut next_key = || {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        format!("key:{:012}", (seed >> 33) % 1_000_000)
    };
    let t = Instant::now();
    for _ in 0..n {
        let mut b = redstone::engine::Batch::default();
        b.put(
            redstone::engine::Partition::Data,
            next_key().into_bytes(),
            value.clone(),
        );
        engine.write(b).unwrap();
    }
    println!(
        "raw batch put: {:.0}/s",
        n as f64 / t.elapsed().as_secs_f64()
    );
    let t = Instant::now();
    for _ in 0..n {
        let _ = engine
            .get(redstone::engine::Partition::Data, next_key().as_bytes())
            .unwrap();
    }
    println!("raw get: {:.0}/s", n as f64 / t.elapsed().as_secs_f64());
    let store = Store::open(engine.clone(), 16).unwrap();
    let t = Instant::now();
    for _ in 0..n {
        let key = next_key();
        let mut txn = store.begin(0);
        txn.put(0, key.as_bytes(), Meta::string(value.clone(), 0))
            .unwrap();
        txn.commit().unwrap();
    }
    println!("txn put: {:.0}/s", n as f64 / t.elapsed().as_secs_f64());
    let t = Instant::now();
    for _ in 0..n {
        let _ = store.get(0, next_key().as_bytes(), 0).unwrap();
    }
    println!("store get: {:.0}/s", n as f64 / t.elapsed().as_secs_f64());
}
