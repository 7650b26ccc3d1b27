//! HyperLogLog in Redis' own string format, so that a value written by
//! redis-server works here and the other way round (GET/SET round trips,
//! byte-identical results for the same additions).
//!
//! Layout: `"HYLL" | encoding u8 (0 dense, 1 sparse) | 3 unused bytes |
//! cached cardinality u64 little endian (MSB of the last byte set = stale)
//! | registers`. Dense registers are 16384 6-bit values packed LSB first;
//! sparse ones are run-length opcodes (see `sparse.rs`). An element goes to
//! register `hash & (2^P - 1)` with the value "1 + trailing zeros of the
//! remaining Q bits", hash = MurmurHash64A with Redis' seed. The count is
//! Ertl's improved estimator over the register histogram, as in Redis 7.
//!
//! Invariant: pure functions over bytes; a malformed value is an error
//! ([`Corrupt`]), never a panic or an out-of-bounds access.

mod sparse;
#[cfg(test)]
mod tests;

/// Bits of the hash that select a register.
pub const P: u32 = 14;
/// Bits of the hash whose run of zeroes is counted.
pub const Q: u32 = 50;
pub const REGISTERS: usize = 1 << P;
const REGISTER_BITS: usize = 6;
const REGISTER_MAX: u8 = (1 << REGISTER_BITS) - 1;
pub const HEADER_LEN: usize = 16;
pub const DENSE_LEN: usize = HEADER_LEN + (REGISTERS * REGISTER_BITS).div_ceil(8);
const MAGIC: &[u8; 4] = b"HYLL";
const DENSE: u8 = 0;
const SPARSE: u8 = 1;
const CARD: usize = 8;
const STALE: u8 = 1 << 7;
const SEED: u32 = 0xadc8_3b19;

/// A sparse value or a register walk that does not add up to 16384
/// registers (Redis' `INVALIDOBJ Corrupted HLL object detected`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Corrupt;

/// One register value per register: the union of several HLLs while
/// PFCOUNT or PFMERGE computes it (Redis' `HLL_RAW`).
pub struct Registers(pub Box<[u8; REGISTERS]>);

impl Default for Registers {
    fn default() -> Self {
        Registers(Box::new([0; REGISTERS]))
    }
}

impl Registers {
    /// The approximated cardinality of these registers.
    pub fn count(&self) -> u64 {
        let mut histogram = [0u32; 64];
        for &value in self.0.iter() {
            histogram[usize::from(value & 63)] += 1;
        }
        estimate(&histogram)
    }
}

/// An HLL value being read or changed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hll {
    bytes: Vec<u8>,
}

impl Default for Hll {
    fn default() -> Self {
        Hll::new()
    }
}

impl Hll {
    /// An empty HLL: sparse, every register zero, cached cardinality 0.
    pub fn new() -> Hll {
        let mut bytes = vec![0; HEADER_LEN];
        bytes[..4].copy_from_slice(MAGIC);
        bytes[4] = SPARSE;
        let mut left = REGISTERS;
        while left > 0 {
            let run = left.min(sparse::XZERO_MAX_LEN);
            sparse::push_xzero(&mut bytes, run);
            left -= run;
        }
        Hll { bytes }
    }

    /// The value as an HLL, or None when it is not one (Redis'
    /// `isHLLObjectOrReply`: magic, a known encoding, the dense size).
    pub fn parse(bytes: &[u8]) -> Option<Hll> {
        let valid = bytes.len() >= HEADER_LEN
            && bytes.starts_with(MAGIC)
            && (bytes[4] == SPARSE || (bytes[4] == DENSE && bytes.len() == DENSE_LEN));
        valid.then(|| Hll {
            bytes: bytes.to_vec(),
        })
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }

    pub fn is_sparse(&self) -> bool {
        self.bytes[4] == SPARSE
    }

    fn registers(&self) -> &[u8] {
        &self.bytes[HEADER_LEN..]
    }

    /// The cached cardinality, unless a change made it stale.
    pub fn cached_count(&self) -> Option<u64> {
        let card: [u8; 8] = self.bytes[CARD..HEADER_LEN].try_into().ok()?;
        (card[7] & STALE == 0).then(|| u64::from_le_bytes(card))
    }

    fn set_cached_count(&mut self, count: u64) {
        self.bytes[CARD..HEADER_LEN].copy_from_slice(&count.to_le_bytes());
    }

    pub fn invalidate_cache(&mut self) {
        self.bytes[HEADER_LEN - 1] |= STALE;
    }

    /// Adds an element. Returns whether a register changed.
    pub fn add(&mut self, element: &[u8], sparse_max_bytes: u64) -> Result<bool, Corrupt> {
        let (index, count) = pattern(element);
        self.set(index, count, sparse_max_bytes)
    }

    /// Raises register `index` to `count` if that is higher. A sparse HLL
    /// turns dense when the value does not fit a sparse opcode or the
    /// value would grow beyond `sparse_max_bytes`.
    pub fn set(&mut self, index: usize, count: u8, sparse_max_bytes: u64) -> Result<bool, Corrupt> {
        if self.is_sparse() {
            match sparse::set(&mut self.bytes, index, count, sparse_max_bytes)? {
                sparse::Set::Done(changed) => return Ok(changed),
                sparse::Set::Promote => {
                    self.to_dense()?;
                }
            }
        }
        Ok(dense_raise(&mut self.bytes[HEADER_LEN..], index, count))
    }

    /// Converts a sparse HLL to the dense encoding (the header, cache
    /// included, is kept). Returns whether it was sparse.
    pub fn to_dense(&mut self) -> Result<bool, Corrupt> {
        if !self.is_sparse() {
            return Ok(false);
        }
        let mut dense = vec![0; DENSE_LEN];
        dense[..HEADER_LEN].copy_from_slice(&self.bytes[..HEADER_LEN]);
        dense[4] = DENSE;
        let registers = &mut dense[HEADER_LEN..];
        sparse::for_each_run(self.registers(), |first, len, value| {
            if value > 0 {
                for index in first..first + len {
                    dense_write(registers, index, value);
                }
            }
        })?;
        self.bytes = dense;
        Ok(true)
    }

    /// Raises each register of `max` to this HLL's, if lower.
    pub fn merge_into(&self, max: &mut Registers) -> Result<(), Corrupt> {
        if self.is_sparse() {
            return sparse::for_each_run(self.registers(), |first, len, value| {
                for slot in &mut max.0[first..first + len] {
                    *slot = (*slot).max(value);
                }
            });
        }
        for (index, slot) in max.0.iter_mut().enumerate() {
            *slot = (*slot).max(dense_read(self.registers(), index));
        }
        Ok(())
    }

    /// The approximated cardinality, from the cache when it is valid; a
    /// computed one is cached. Returns the count and whether the value
    /// changed (the cache was written).
    pub fn count(&mut self) -> Result<(u64, bool), Corrupt> {
        if let Some(count) = self.cached_count() {
            return Ok((count, false));
        }
        let mut histogram = [0u32; 64];
        if self.is_sparse() {
            sparse::for_each_run(self.registers(), |_, len, value| {
                histogram[usize::from(value)] += len as u32;
            })?;
        } else {
            for index in 0..REGISTERS {
                histogram[usize::from(dense_read(self.registers(), index))] += 1;
            }
        }
        let count = estimate(&histogram);
        self.set_cached_count(count);
        Ok((count, true))
    }

    /// Every register's value (PFDEBUG GETREG; dense only).
    pub fn dense_registers(&self) -> Option<Vec<u8>> {
        (!self.is_sparse()).then(|| {
            (0..REGISTERS)
                .map(|i| dense_read(self.registers(), i))
                .collect()
        })
    }

    /// The sparse opcodes as PFDEBUG DECODE prints them (`z:` ZERO,
    /// `Z:` XZERO, `v:value,len` VAL); None for a dense HLL.
    pub fn decode_sparse(&self) -> Option<String> {
        self.is_sparse().then(|| sparse::describe(self.registers()))
    }
}

/// Register `index` of a dense register array. The last register's high
/// bits would sit in the byte after the array, which Redis reads as the
/// string's terminating zero: here a missing byte is zero too.
fn dense_read(registers: &[u8], index: usize) -> u8 {
    let bit = index * REGISTER_BITS;
    let (byte, shift) = (bit / 8, bit % 8);
    let low = u16::from(registers.get(byte).copied().unwrap_or(0));
    let high = u16::from(registers.get(byte + 1).copied().unwrap_or(0));
    (((low | (high << 8)) >> shift) as u8) & REGISTER_MAX
}

fn dense_write(registers: &mut [u8], index: usize, value: u8) {
    let bit = index * REGISTER_BITS;
    let (byte, shift) = (bit / 8, bit % 8);
    let mask = u16::from(REGISTER_MAX) << shift;
    let value = u16::from(value & REGISTER_MAX) << shift;
    for (i, part) in [(byte, 0), (byte + 1, 8)] {
        if let Some(slot) = registers.get_mut(i) {
            let keep = u16::from(*slot) & !(mask >> part);
            *slot = (keep | (value >> part)) as u8;
        }
    }
}

/// Redis' `hllDenseSet`: raises a register, returns whether it changed.
fn dense_raise(registers: &mut [u8], index: usize, count: u8) -> bool {
    if count > dense_read(registers, index) {
        dense_write(registers, index, count);
        true
    } else {
        false
    }
}

/// MurmurHash64A as Redis uses it (little-endian word loads).
pub fn murmur64a(data: &[u8], seed: u32) -> u64 {
    const M: u64 = 0xc6a4_a793_5bd1_e995;
    const R: u32 = 47;
    let mut h = u64::from(seed) ^ (data.len() as u64).wrapping_mul(M);
    let mut words = data.chunks_exact(8);
    for word in &mut words {
        let mut k = u64::from_le_bytes(word.try_into().unwrap_or([0; 8]));
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h ^= k;
        h = h.wrapping_mul(M);
    }
    let tail = words.remainder();
    if !tail.is_empty() {
        for (i, &byte) in tail.iter().enumerate() {
            h ^= u64::from(byte) << (8 * i);
        }
        h = h.wrapping_mul(M);
    }
    h ^= h >> R;
    h = h.wrapping_mul(M);
    h ^= h >> R;
    h
}

/// The register an element belongs to and the value it proposes: 1 +
/// the number of trailing zeroes of the Q hash bits above the index (a
/// bit set above them caps it at Q + 1).
pub fn pattern(element: &[u8]) -> (usize, u8) {
    let hash = murmur64a(element, SEED);
    let index = (hash & (REGISTERS as u64 - 1)) as usize;
    let rest = (hash >> P) | (1 << Q);
    (index, rest.trailing_zeros() as u8 + 1)
}

/// Ertl's improved estimator ("New cardinality estimation algorithms for
/// HyperLogLog sketches", arXiv:1702.01284) over the histogram of register
/// values, with Redis' exact operation order so results are identical.
fn estimate(histogram: &[u32; 64]) -> u64 {
    const ALPHA_INF: f64 = 0.721_347_520_444_481_7; // 0.5 / ln 2
    let m = REGISTERS as f64;
    let q = Q as usize;
    let mut z = m * tau((m - f64::from(histogram[q + 1])) / m);
    for j in (1..=q).rev() {
        z += f64::from(histogram[j]);
        z *= 0.5;
    }
    z += m * sigma(f64::from(histogram[0]) / m);
    (ALPHA_INF * m * m / z).round() as u64
}

fn sigma(mut x: f64) -> f64 {
    if x == 1.0 {
        return f64::INFINITY;
    }
    let mut y = 1.0;
    let mut z = x;
    loop {
        x *= x;
        let previous = z;
        z += x * y;
        y += y;
        if previous == z {
            return z;
        }
    }
}

fn tau(mut x: f64) -> f64 {
    if x == 0.0 || x == 1.0 {
        return 0.0;
    }
    let mut y = 1.0;
    let mut z = 1.0 - x;
    loop {
        x = x.sqrt();
        let previous = z;
        y *= 0.5;
        z -= (1.0 - x) * (1.0 - x) * y;
        if previous == z {
            return z / 3.0;
        }
    }
}

/// PFSELFTEST: dense registers read back what was written without
/// disturbing their neighbours, and a sparse and a dense HLL fed the same
/// elements count the same. Deterministic (a fixed xorshift seed).
pub fn self_test() -> Result<(), String> {
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut registers = vec![0u8; DENSE_LEN - HEADER_LEN];
    let mut expected = vec![0u8; REGISTERS];
    for _ in 0..64 {
        for (index, slot) in expected.iter_mut().enumerate() {
            *slot = (next() & u64::from(REGISTER_MAX)) as u8;
            dense_write(&mut registers, index, *slot);
        }
        for (index, &want) in expected.iter().enumerate() {
            let got = dense_read(&registers, index);
            if got != want {
                return Err(format!(
                    "TESTFAILED Register {index} should be {want} but is {got}"
                ));
            }
        }
    }
    let (mut sparse, mut dense) = (Hll::new(), Hll::new());
    dense
        .to_dense()
        .map_err(|_| "TESTFAILED dense conversion".to_string())?;
    for i in 1..=20_000u64 {
        let element = next().to_le_bytes();
        let failed = |_| format!("TESTFAILED corrupt HLL after {i} additions");
        sparse.add(&element, 3000).map_err(failed)?;
        dense.add(&element, 3000).map_err(failed)?;
        if i % 100 != 0 {
            continue;
        }
        sparse.invalidate_cache();
        dense.invalidate_cache();
        let (a, _) = sparse.count().map_err(failed)?;
        let (b, _) = dense.count().map_err(failed)?;
        if a != b {
            return Err(format!(
                "TESTFAILED sparse count {a} and dense count {b} differ after {i} additions"
            ));
        }
        if (a as f64 - i as f64).abs() / i as f64 > 0.05 {
            return Err(format!("TESTFAILED count {a} for {i} elements"));
        }
    }
    Ok(())
}
