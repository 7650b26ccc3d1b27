use super::*;
use quickcheck::quickcheck;

const MAX: u64 = 3000;

fn header(encoding: u8, card: [u8; 8]) -> Vec<u8> {
    let mut out = b"HYLL".to_vec();
    out.extend_from_slice(&[encoding, 0, 0, 0]);
    out.extend_from_slice(&card);
    out
}

fn hll_of(elements: impl IntoIterator<Item = Vec<u8>>) -> Hll {
    let mut hll = Hll::new();
    for element in elements {
        hll.add(&element, MAX).expect("valid");
    }
    hll
}

#[test]
fn a_new_hll_is_one_xzero_run_like_redis() {
    let mut expected = header(SPARSE, [0; 8]);
    expected.extend_from_slice(&[0x7f, 0xff]);
    assert_eq!(Hll::new().as_bytes(), &expected[..]);
}

/// The bytes redis-server 7.0.15 stores after `PFADD h a b c`, then after
/// `PFCOUNT h` (which caches 3).
#[test]
fn adding_a_b_c_gives_redis_bytes_and_cache() {
    let mut hll = hll_of([b"a".to_vec(), b"b".to_vec(), b"c".to_vec()]);
    let mut expected = header(SPARSE, [0, 0, 0, 0, 0, 0, 0, 0x80]);
    expected.extend_from_slice(&[
        0x60, 0xf3, 0x80, 0x50, 0xb1, 0x84, 0x4b, 0xfb, 0x80, 0x42, 0x5a,
    ]);
    assert_eq!(hll.as_bytes(), &expected[..]);
    assert_eq!(hll.cached_count(), None);
    assert_eq!(hll.count(), Ok((3, true)));
    assert_eq!(hll.cached_count(), Some(3));
    assert_eq!(hll.count(), Ok((3, false)));
    assert_eq!(
        hll.decode_sparse().as_deref(),
        Some("Z:8436 v:1,1 Z:4274 v:2,1 Z:3068 v:1,1 Z:603")
    );
}

#[test]
fn an_element_already_counted_changes_nothing() {
    let mut hll = hll_of([b"x".to_vec()]);
    let before = hll.clone();
    assert_eq!(hll.add(b"x", MAX), Ok(false));
    assert_eq!(hll, before);
}

#[test]
fn a_value_above_32_promotes_to_dense() {
    let mut hll = Hll::new();
    assert_eq!(hll.set(7, 32, MAX), Ok(true));
    assert!(hll.is_sparse());
    assert_eq!(hll.set(9, 33, MAX), Ok(true));
    assert!(!hll.is_sparse());
    assert_eq!(hll.as_bytes().len(), DENSE_LEN);
    let registers = hll.dense_registers().expect("dense");
    assert_eq!((registers[7], registers[9], registers[8]), (32, 33, 0));
}

#[test]
fn outgrowing_the_sparse_limit_promotes_to_dense() {
    let mut hll = Hll::new();
    let mut index = 0;
    while hll.is_sparse() {
        hll.set(index, 1, 40).expect("valid");
        index += 3;
        assert!(hll.as_bytes().len() <= 40 || !hll.is_sparse());
    }
    let registers = hll.dense_registers().expect("dense");
    assert!((0..index).all(|i| registers[i] == u8::from(i % 3 == 0)));
}

#[test]
fn adjacent_equal_values_merge_into_one_opcode() {
    let mut hll = Hll::new();
    for index in [10, 12, 11, 13] {
        hll.set(index, 5, MAX).expect("valid");
    }
    assert_eq!(hll.decode_sparse().as_deref(), Some("z:10 v:5,4 Z:16370"));
}

#[test]
fn dense_registers_do_not_disturb_their_neighbours() {
    let mut registers = vec![0u8; DENSE_LEN - HEADER_LEN];
    for index in 0..REGISTERS {
        dense_write(&mut registers, index, (index % 64) as u8);
    }
    dense_write(&mut registers, REGISTERS - 1, 63);
    for index in 0..REGISTERS - 1 {
        assert_eq!(dense_read(&registers, index), (index % 64) as u8);
    }
    assert_eq!(dense_read(&registers, REGISTERS - 1), 63);
}

#[test]
fn parse_accepts_only_redis_hll_strings() {
    assert!(Hll::parse(Hll::new().as_bytes()).is_some());
    assert!(Hll::parse(b"HYLL").is_none());
    assert!(Hll::parse(b"hello world, not an HLL").is_none());
    let mut dense = Hll::new();
    dense.to_dense().expect("valid");
    assert!(Hll::parse(dense.as_bytes()).is_some());
    assert!(Hll::parse(&dense.as_bytes()[..DENSE_LEN - 1]).is_none());
    let mut unknown = Hll::new().into_bytes();
    unknown[4] = 2;
    assert!(Hll::parse(&unknown).is_none());
}

#[test]
fn corrupt_sparse_values_are_errors() {
    // Runs that cover fewer than 16384 registers.
    let mut short = header(SPARSE, [0; 8]);
    short.extend_from_slice(&[0x7f, 0xfe]);
    let mut hll = Hll::parse(&short).expect("header is valid");
    hll.invalidate_cache();
    assert_eq!(hll.count(), Err(Corrupt));
    assert_eq!(hll.clone().to_dense(), Err(Corrupt));
    assert_eq!(hll.merge_into(&mut Registers::default()), Err(Corrupt));
    assert_eq!(hll.set(16383, 1, MAX), Err(Corrupt));
    // A truncated XZERO.
    let mut truncated = header(SPARSE, [0; 8]);
    truncated.push(0x7f);
    let mut hll = Hll::parse(&truncated).expect("header is valid");
    assert_eq!(hll.add(b"a", MAX), Err(Corrupt));
}

#[test]
fn the_self_test_passes() {
    assert_eq!(self_test(), Ok(()));
}

#[test]
fn an_empty_hll_counts_zero() {
    assert_eq!(Registers::default().count(), 0);
    let mut hll = Hll::new();
    hll.invalidate_cache();
    assert_eq!(hll.count(), Ok((0, true)));
}

/// The relative error stays within three standard errors (1.04/sqrt(m),
/// 0.81 %) from 100k to 1M distinct elements.
#[test]
fn the_estimate_is_within_three_standard_errors() {
    let mut hll = Hll::new();
    let checkpoints = [100_000u64, 250_000, 500_000, 1_000_000];
    let mut added = 0;
    for checkpoint in checkpoints {
        while added < checkpoint {
            hll.add(format!("element:{added}").as_bytes(), MAX)
                .expect("valid");
            added += 1;
        }
        hll.invalidate_cache();
        let (count, _) = hll.count().expect("valid");
        let error = (count as f64 - checkpoint as f64).abs() / checkpoint as f64;
        assert!(
            error < 3.0 * 0.0081,
            "{count} for {checkpoint}: error {error}"
        );
    }
}

quickcheck! {
    /// Sparse and dense encodings of the same additions hold the same
    /// registers and count the same; the union of two HLLs counts like an
    /// HLL of all the elements.
    fn sparse_and_dense_agree(elements: Vec<Vec<u8>>, others: Vec<Vec<u8>>) -> bool {
        let mut sparse = hll_of(elements.clone());
        let mut dense = Hll::new();
        dense.to_dense().expect("valid");
        for element in &elements {
            dense.add(element, MAX).expect("valid");
        }
        let mut converted = sparse.clone();
        converted.to_dense().expect("valid");
        let mut union = Registers::default();
        sparse.merge_into(&mut union).expect("valid");
        hll_of(others.clone()).merge_into(&mut union).expect("valid");
        let mut all = hll_of(elements.into_iter().chain(others));
        all.invalidate_cache();
        sparse.invalidate_cache();
        dense.invalidate_cache();
        converted.dense_registers() == dense.dense_registers()
            && sparse.count() == dense.count()
            && union.count() == all.count().expect("valid").0
    }
}
