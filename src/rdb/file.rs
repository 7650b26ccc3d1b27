//! Whole RDB files (version 10, as redis-server 7.0 writes and loads
//! them): what a master sends a replica for a full resynchronization.
//!
//! A file is "REDIS" and four version digits, then opcodes (aux fields,
//! database selection and size hints, expiry and eviction hints) and
//! entries (type byte, key, value in `super::value`'s encodings), an EOF
//! opcode, and the CRC64 of everything before it (0 meaning "not
//! computed").
//!
//! Both directions work piece by piece: the `Writer` appends to a buffer
//! the caller may send and clear between calls, and the `Reader` takes
//! bytes as they arrive and hands out items as soon as they are complete.
//! The reader keeps only the unparsed tail of its input, and resumes a
//! large collection at the element where its input ran out, so a large
//! file is neither held whole nor parsed again from the start.
//!
//! **Invariant:** pure (no I/O, no clock); a malformed file is a
//! `FileError`, never a panic, and no length field makes it allocate more
//! than the bytes it was given.

use super::functions::{self, OP_FUNCTION2, OP_FUNCTION_PRE_GA};
use super::value::{self, Cursor, Fault, Partial, Start, Value};
use super::{crc64_update, NodeLimits, RDB_VERSION};
use bytes::Bytes;
use std::fmt;

/// The oldest RDB version read: the first with a checksum (Redis 2.6).
const MIN_VERSION: u32 = 5;

/// What redis-server 7.0 says it is in `redis-ver`.
const REDIS_VERSION: &[u8] = b"7.0.15";

const OP_MODULE_AUX: u8 = 0xf7;
const OP_IDLE: u8 = 0xf8;
const OP_FREQ: u8 = 0xf9;
const OP_AUX: u8 = 0xfa;
const OP_RESIZEDB: u8 = 0xfb;
const OP_EXPIRETIME_MS: u8 = 0xfc;
const OP_EXPIRETIME: u8 = 0xfd;
const OP_SELECTDB: u8 = 0xfe;
const OP_EOF: u8 = 0xff;

/// Writes a file call by call, keeping the checksum of what it wrote.
#[derive(Default)]
pub struct Writer {
    crc: u64,
    /// Writes 0 for the checksum, as Redis with `rdbchecksum no`.
    unchecked: bool,
    /// Where a stream's nodes split.
    stream_limits: NodeLimits,
}

impl Writer {
    pub fn new() -> Writer {
        Writer::default()
    }

    /// A file whose checksum says "not computed" (0): for a link that
    /// checks its own bytes (a whole-slot migration's LOADs), where the
    /// checksum was most of the sender's CPU.
    pub fn unchecked() -> Writer {
        Writer {
            unchecked: true,
            ..Writer::default()
        }
    }

    /// Streams written from now on split their nodes at `limits` (Redis'
    /// `stream-node-max-entries` and `stream-node-max-bytes`; 100 and 4096
    /// unless set).
    pub fn set_stream_limits(&mut self, limits: NodeLimits) {
        self.stream_limits = limits;
    }

    /// Runs `write` on `out` and folds what it appended into the checksum,
    /// so the caller may send and clear `out` between calls.
    fn append(&mut self, out: &mut Vec<u8>, write: impl FnOnce(&mut Vec<u8>)) {
        let start = out.len();
        write(out);
        if !self.unchecked {
            self.crc = crc64_update(self.crc, &out[start..]);
        }
    }

    /// "REDIS0010", then the aux fields redis-server 7.0 writes (redis-ver,
    /// redis-bits, ctime `unix_secs`, used-mem, aof-base), then `aux` as
    /// given (replication adds repl-stream-db, repl-id, repl-offset).
    pub fn header(&mut self, out: &mut Vec<u8>, unix_secs: u64, aux: &[(&str, &[u8])]) {
        let ctime = unix_secs.to_string();
        let fields: [(&str, &[u8]); 5] = [
            ("redis-ver", REDIS_VERSION),
            ("redis-bits", b"64"),
            ("ctime", ctime.as_bytes()),
            ("used-mem", b"0"),
            ("aof-base", b"0"),
        ];
        self.append(out, |out| {
            out.extend_from_slice(format!("REDIS{RDB_VERSION:04}").as_bytes());
            for (key, value) in fields.iter().chain(aux) {
                out.push(OP_AUX);
                value::put_string(out, key.as_bytes());
                value::put_string(out, value);
            }
        });
    }

    /// A function library, by its code (after the header, before any
    /// database, as Redis writes them).
    pub fn function(&mut self, out: &mut Vec<u8>, code: &[u8]) {
        self.append(out, |out| {
            out.push(OP_FUNCTION2);
            value::put_string(out, code);
        });
    }

    /// The entries that follow belong to database `db`.
    pub fn select_db(&mut self, out: &mut Vec<u8>, db: usize) {
        self.append(out, |out| {
            out.push(OP_SELECTDB);
            value::put_len(out, db as u64);
        });
    }

    /// How many keys (and keys with an expiry) the database selected
    /// holds, so a loader can size its tables.
    pub fn resize_db(&mut self, out: &mut Vec<u8>, keys: u64, expires: u64) {
        self.append(out, |out| {
            out.push(OP_RESIZEDB);
            value::put_len(out, keys);
            value::put_len(out, expires);
        });
    }

    /// One key: its expiry (Unix time in milliseconds) if it has one, then
    /// the value's type, the key, and the value, encoded as `dump` does.
    pub fn entry(
        &mut self,
        out: &mut Vec<u8>,
        key: &[u8],
        value: &Value,
        expire_at_ms: Option<u64>,
    ) {
        let limits = self.stream_limits;
        self.append(out, |out| {
            if let Some(ms) = expire_at_ms {
                out.push(OP_EXPIRETIME_MS);
                out.extend_from_slice(&ms.to_le_bytes());
            }
            out.push(value::kind(value));
            value::put_string(out, key);
            value::put_body(out, value, limits);
        });
    }

    /// The EOF opcode and the checksum (little endian) of everything
    /// written, the EOF opcode included.
    pub fn finish(mut self, out: &mut Vec<u8>) {
        self.append(out, |out| out.push(OP_EOF));
        out.extend_from_slice(&self.crc.to_le_bytes());
    }
}

/// What a file holds, in file order.
#[derive(Debug, PartialEq)]
pub enum Item {
    /// Metadata: redis-ver, ctime, repl-id, repl-offset, ...
    Aux { key: Bytes, value: Bytes },
    /// The entries that follow belong to this database.
    SelectDb(usize),
    /// A size hint for the database selected.
    ResizeDb { keys: u64, expires: u64 },
    /// One key, its value and its expiry (Unix time in milliseconds).
    Entry {
        key: Bytes,
        value: Value,
        expire_at_ms: Option<u64>,
    },
    /// A function library's code (FUNCTION LOAD's argument).
    Function(Bytes),
    /// The end of the file, its checksum verified; comes once.
    End,
}

/// Why a file cannot be read; offsets count bytes from the file's start
/// and point at the opcode, entry or element that failed.
#[derive(Debug, PartialEq, Eq)]
pub enum FileError {
    /// It does not start with "REDIS" and four digits.
    BadMagic,
    /// An RDB version this reader does not read (it reads 5 to 10).
    UnsupportedVersion(u32),
    /// A byte where an opcode or value type belongs that is neither.
    UnknownType { byte: u8, offset: u64 },
    /// Something Redis writes that Redstone cannot hold: module
    /// values and module aux data, pre-release functions.
    Unsupported { what: &'static str, offset: u64 },
    /// Bytes that do not decode as what their opcode or type announces.
    Corrupt { offset: u64 },
    /// The checksum at the end is not that of the bytes before it.
    ChecksumMismatch { stored: u64, computed: u64 },
}

impl fmt::Display for FileError {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            FileError::BadMagic => write!(f, "not an RDB file (bad magic)"),
            FileError::UnsupportedVersion(version) => write!(
                f,
                "RDB version {version} is not supported ({MIN_VERSION} to {RDB_VERSION} are)"
            ),
            FileError::UnknownType { byte, offset } => {
                write!(f, "unknown RDB opcode or value type {byte} at offset {offset}")
            }
            FileError::Unsupported { what, offset } => {
                write!(f, "RDB file holds a {what} at offset {offset}, which is not supported")
            }
            FileError::Corrupt { offset } => write!(f, "corrupt RDB data at offset {offset}"),
            FileError::ChecksumMismatch { stored, computed } => write!(
                f,
                "RDB checksum mismatch: the file says {stored:#018x}, its bytes give {computed:#018x}"
            ),
        }
    }
}

impl std::error::Error for FileError {}

/// Reads a file from bytes pushed as they arrive.
#[derive(Default)]
pub struct Reader {
    /// Input not yet parsed starts at `at`; what is before it is dropped
    /// once it is half of the buffer.
    buf: Vec<u8>,
    at: usize,
    /// Bytes of the file parsed (the file offset of `buf[at]`).
    consumed: u64,
    /// The checksum of the bytes parsed.
    crc: u64,
    /// The checksum is not computed: the file's must be 0 ("not
    /// computed", `Writer::unchecked`).
    unchecked: bool,
    /// Parsing waits until this many bytes from `at` are there: the last
    /// attempt ran out of input and said how much it needed, so a large
    /// string is not parsed again at every push.
    need: usize,
    state: State,
}

#[derive(Default)]
enum State {
    #[default]
    Magic,
    /// Between items; an expiry opcode applies to the entry after it.
    Items { expire_at_ms: Option<u64> },
    /// A collection whose elements are being read.
    Elements {
        key: Bytes,
        expire_at_ms: Option<u64>,
        partial: Partial,
    },
    /// After EOF: the checksum.
    Checksum,
    /// `Item::End` has been returned.
    Done,
}

/// Why a step stopped.
enum Halt {
    Value(Fault),
    File(FileError),
}

impl From<Fault> for Halt {
    fn from(fault: Fault) -> Halt {
        Halt::Value(fault)
    }
}

impl Reader {
    pub fn new() -> Reader {
        Reader::default()
    }

    /// A reader of `Writer::unchecked` files: a file with a checksum fails
    /// at its end.
    pub fn unchecked() -> Reader {
        Reader {
            unchecked: true,
            ..Reader::default()
        }
    }

    /// More of the file.
    pub fn push(&mut self, bytes: &[u8]) {
        if self.at * 2 >= self.buf.len() {
            self.buf.drain(..self.at);
            self.at = 0;
        }
        self.buf.extend_from_slice(bytes);
    }

    /// The next item, or `Ok(None)` when the bytes pushed so far end
    /// before it does (at the end of the input, that means the file is
    /// truncated). After `Item::End`, always `Ok(None)`: bytes pushed
    /// beyond the file are not read (`consumed` tells where it ended).
    /// An error is returned again if `next` is called again.
    // Not `Iterator::next`: `Ok(None)` means "push more", not the end.
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> Result<Option<Item>, FileError> {
        while self.buf.len() - self.at >= self.need {
            let mut cursor = Cursor::new(&self.buf[self.at..]);
            match step(&mut self.state, &mut cursor, self.crc) {
                Ok(item) => {
                    let used = cursor.position();
                    if !self.unchecked {
                        self.crc = crc64_update(self.crc, &self.buf[self.at..self.at + used]);
                    }
                    self.at += used;
                    self.consumed += used as u64;
                    self.need = 0;
                    // A step that yields nothing and reads nothing: `Done`.
                    if item.is_some() || used == 0 {
                        return Ok(item);
                    }
                }
                Err(Halt::Value(Fault::Short(need))) => self.need = need,
                Err(Halt::Value(fault)) => return Err(fault_error(fault, self.consumed)),
                Err(Halt::File(error)) => return Err(error),
            }
        }
        Ok(None)
    }

    /// Bytes of the file parsed so far.
    pub fn consumed(&self) -> u64 {
        self.consumed
    }
}

fn fault_error(fault: Fault, offset: u64) -> FileError {
    match fault {
        Fault::Unknown(byte) => FileError::UnknownType { byte, offset },
        Fault::Unsupported(what) => FileError::Unsupported { what, offset },
        Fault::Short(_) | Fault::Bad => FileError::Corrupt { offset },
    }
}

/// Reads one piece of the file at `cursor`: the magic, an opcode with its
/// arguments, an entry up to its first element, an element, or the
/// checksum (`crc` is that of the bytes before `cursor`). `state` changes
/// only when the step succeeds, so a step that runs out of input is simply
/// tried again with more.
fn step(state: &mut State, cursor: &mut Cursor, crc: u64) -> Result<Option<Item>, Halt> {
    match state {
        State::Magic => {
            let magic: [u8; 9] = cursor.array()?;
            let version = magic
                .strip_prefix(b"REDIS")
                .filter(|digits| digits.iter().all(u8::is_ascii_digit))
                .and_then(|digits| std::str::from_utf8(digits).ok()?.parse::<u32>().ok())
                .ok_or(Halt::File(FileError::BadMagic))?;
            if !(MIN_VERSION..=u32::from(RDB_VERSION)).contains(&version) {
                return Err(Halt::File(FileError::UnsupportedVersion(version)));
            }
            *state = State::Items { expire_at_ms: None };
            Ok(None)
        }
        State::Items { expire_at_ms } => {
            let item = match cursor.byte()? {
                OP_AUX => {
                    let key = cursor.string()?;
                    let value = cursor.string()?;
                    Item::Aux { key, value }
                }
                OP_SELECTDB => Item::SelectDb(cursor.len()?),
                OP_RESIZEDB => {
                    let keys = cursor.len()? as u64;
                    let expires = cursor.len()? as u64;
                    Item::ResizeDb { keys, expires }
                }
                OP_EXPIRETIME_MS => {
                    *expire_at_ms = Some(u64::from_le_bytes(cursor.array()?));
                    return Ok(None);
                }
                OP_EXPIRETIME => {
                    let secs = u32::from_le_bytes(cursor.array()?);
                    *expire_at_ms = Some(u64::from(secs) * 1000);
                    return Ok(None);
                }
                // Eviction hints (LFU counter, LRU idle time): Redstone
                // keeps neither.
                OP_FREQ => {
                    cursor.byte()?;
                    return Ok(None);
                }
                OP_IDLE => {
                    cursor.len()?;
                    return Ok(None);
                }
                op @ (OP_FUNCTION2 | OP_FUNCTION_PRE_GA) => {
                    Item::Function(functions::library(cursor, op)?)
                }
                OP_MODULE_AUX => return Err(Fault::Unsupported("module aux data").into()),
                OP_EOF => {
                    *state = State::Checksum;
                    return Ok(None);
                }
                kind => {
                    let key = cursor.string()?;
                    let expire_at_ms = *expire_at_ms;
                    match value::start(cursor, kind)? {
                        Start::Whole(value) => {
                            *state = State::Items { expire_at_ms: None };
                            Item::Entry {
                                key,
                                value,
                                expire_at_ms,
                            }
                        }
                        Start::Elements(partial) => {
                            *state = State::Elements {
                                key,
                                expire_at_ms,
                                partial,
                            };
                            return Ok(None);
                        }
                    }
                }
            };
            Ok(Some(item))
        }
        State::Elements {
            key,
            expire_at_ms,
            partial,
        } => {
            if !partial.done() {
                partial.step(cursor)?;
                return Ok(None);
            }
            let item = Item::Entry {
                key: std::mem::take(key),
                value: partial.finish(),
                expire_at_ms: *expire_at_ms,
            };
            *state = State::Items { expire_at_ms: None };
            Ok(Some(item))
        }
        State::Checksum => {
            let stored = u64::from_le_bytes(cursor.array()?);
            if stored != 0 && stored != crc {
                return Err(Halt::File(FileError::ChecksumMismatch {
                    stored,
                    computed: crc,
                }));
            }
            *state = State::Done;
            Ok(Some(Item::End))
        }
        State::Done => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::super::stream::tests::groups_stream;
    use super::super::{Stream, StreamId};
    use super::*;
    use quickcheck::{Arbitrary, Gen, QuickCheck};

    fn b(text: &str) -> Bytes {
        Bytes::copy_from_slice(text.as_bytes())
    }

    /// A key, its value and its expiry.
    type Entry = (Bytes, Value, Option<u64>);

    /// A file's contents: aux fields, then databases and their entries.
    #[derive(Clone, Debug)]
    struct Contents {
        unix_secs: u64,
        aux: Vec<(String, Vec<u8>)>,
        dbs: Vec<(usize, Vec<Entry>)>,
    }

    impl Contents {
        fn write(&self) -> Vec<u8> {
            let mut writer = Writer::new();
            let mut file = Vec::new();
            let aux: Vec<(&str, &[u8])> = self
                .aux
                .iter()
                .map(|(key, value)| (key.as_str(), value.as_slice()))
                .collect();
            writer.header(&mut file, self.unix_secs, &aux);
            for (db, entries) in &self.dbs {
                writer.select_db(&mut file, *db);
                let expires = entries.iter().filter(|e| e.2.is_some()).count();
                writer.resize_db(&mut file, entries.len() as u64, expires as u64);
                for (key, value, expire_at_ms) in entries {
                    writer.entry(&mut file, key, value, *expire_at_ms);
                }
            }
            writer.finish(&mut file);
            file
        }

        /// The items a reader should give for `write`'s file.
        fn items(&self) -> Vec<Item> {
            let ctime = self.unix_secs.to_string();
            let standard = [
                ("redis-ver", "7.0.15"),
                ("redis-bits", "64"),
                ("ctime", ctime.as_str()),
                ("used-mem", "0"),
                ("aof-base", "0"),
            ];
            let mut items: Vec<Item> = standard
                .iter()
                .map(|(key, value)| Item::Aux {
                    key: b(key),
                    value: b(value),
                })
                .collect();
            items.extend(self.aux.iter().map(|(key, value)| Item::Aux {
                key: b(key),
                value: Bytes::copy_from_slice(value),
            }));
            for (db, entries) in &self.dbs {
                items.push(Item::SelectDb(*db));
                let expires = entries.iter().filter(|e| e.2.is_some()).count();
                items.push(Item::ResizeDb {
                    keys: entries.len() as u64,
                    expires: expires as u64,
                });
                items.extend(
                    entries
                        .iter()
                        .map(|(key, value, expire_at_ms)| Item::Entry {
                            key: key.clone(),
                            value: value.clone(),
                            expire_at_ms: *expire_at_ms,
                        }),
                );
            }
            items.push(Item::End);
            items
        }
    }

    fn bytes(g: &mut Gen) -> Bytes {
        // Now and then a string long enough for the 14- and 32-bit lengths.
        match u8::arbitrary(g) % 16 {
            0 => Bytes::from(vec![u8::arbitrary(g); 70 + usize::arbitrary(g) % 20_000]),
            _ => Bytes::from(Vec::<u8>::arbitrary(g)),
        }
    }

    fn many<T>(g: &mut Gen, mut one: impl FnMut(&mut Gen) -> T) -> Vec<T> {
        let len = usize::arbitrary(g) % 8;
        (0..len).map(|_| one(g)).collect()
    }

    fn value(g: &mut Gen) -> Value {
        match u8::arbitrary(g) % 6 {
            5 => Value::Stream(Stream::arbitrary(g)),
            0 => Value::String(bytes(g)),
            1 => Value::List(many(g, bytes)),
            2 => Value::Set(many(g, bytes)),
            3 => Value::Hash(many(g, |g| (bytes(g), bytes(g)))),
            _ => Value::ZSet(many(g, |g| {
                let score = f64::arbitrary(g);
                (bytes(g), if score.is_nan() { 0.0 } else { score })
            })),
        }
    }

    impl Arbitrary for Contents {
        fn arbitrary(g: &mut Gen) -> Contents {
            Contents {
                unix_secs: u64::arbitrary(g),
                aux: many(g, |g| (String::arbitrary(g), Vec::arbitrary(g))),
                dbs: many(g, |g| {
                    let entries = many(g, |g| (bytes(g), value(g), Option::arbitrary(g)));
                    (usize::arbitrary(g) % 16, entries)
                }),
            }
        }
    }

    /// Everything a reader gives for `file` pushed in pieces of these
    /// sizes (cycled), up to its first error.
    fn read(file: &[u8], chunks: &[usize]) -> Result<Vec<Item>, FileError> {
        let mut reader = Reader::new();
        let mut items = Vec::new();
        let mut sizes = chunks.iter().map(|size| size % 64 + 1).cycle();
        let mut rest = file;
        loop {
            while let Some(item) = reader.next()? {
                items.push(item);
            }
            if rest.is_empty() {
                return Ok(items);
            }
            let (piece, tail) = rest.split_at(sizes.next().unwrap_or(1).min(rest.len()));
            reader.push(piece);
            rest = tail;
        }
    }

    fn every_type() -> Contents {
        let big = Bytes::from(vec![b'x'; 70_000]);
        Contents {
            unix_secs: 1_700_000_000,
            aux: vec![("repl-id".into(), b"abc".to_vec())],
            dbs: vec![
                (
                    0,
                    vec![
                        (b("s"), Value::String(big.clone()), None),
                        (b("l"), Value::List(vec![b("a"), big.clone()]), Some(1)),
                        (b("e"), Value::Set(vec![]), None),
                    ],
                ),
                (
                    300,
                    vec![
                        (b("h"), Value::Hash(vec![(b("f"), big)]), Some(u64::MAX)),
                        (
                            b("z"),
                            Value::ZSet(vec![(b("m"), 1.5), (b("n"), f64::NEG_INFINITY)]),
                            None,
                        ),
                        (b("x"), Value::Stream(groups_stream()), Some(7)),
                        (b("y"), Value::Stream(long_stream(250)), None),
                    ],
                ),
            ],
        }
    }

    #[test]
    fn a_written_file_reads_back_whole_and_byte_by_byte() {
        let contents = every_type();
        let file = contents.write();
        assert!(file.starts_with(b"REDIS0010\xfa\x09redis-ver\x067.0.15"));
        assert_eq!(read(&file, &[usize::MAX]), Ok(contents.items()));
        assert_eq!(read(&file, &[0]), Ok(contents.items()));
        let mut reader = Reader::new();
        reader.push(&file);
        while reader.next() != Ok(Some(Item::End)) {}
        assert_eq!(reader.consumed(), file.len() as u64);
        reader.push(b"more");
        assert_eq!(reader.next(), Ok(None), "nothing is read after the end");
        assert_eq!(reader.consumed(), file.len() as u64);
    }

    #[test]
    fn the_checksum_covers_pieces_written_into_a_cleared_buffer() {
        let mut writer = Writer::new();
        let mut whole = Vec::new();
        let mut out = Vec::new();
        writer.header(&mut out, 7, &[]);
        whole.append(&mut out);
        writer.select_db(&mut out, 0);
        whole.append(&mut out);
        writer.finish(&mut out);
        whole.append(&mut out);
        let (body, crc) = whole.split_at(whole.len() - 8);
        assert_eq!(crc, super::super::crc64(body).to_le_bytes());
    }

    #[test]
    fn redis_opcodes_and_a_zero_checksum_are_read() {
        let mut file = b"REDIS0009".to_vec();
        // SELECTDB 2; EXPIRETIME (seconds); IDLE 1000; FREQ 5; a string.
        file.extend_from_slice(
            b"\xfe\x02\xfd\x10\x00\x00\x00\xf8\x43\xe8\xf9\x05\x00\x01k\xc0\x07",
        );
        // A function library's code; a quicklist of one plain node.
        file.extend_from_slice(b"\xf5\x03lua\x12\x01l\x01\x01\x01v");
        file.extend_from_slice(b"\xff\0\0\0\0\0\0\0\0");
        let items = vec![
            Item::SelectDb(2),
            Item::Entry {
                key: b("k"),
                value: Value::String(b("7")),
                expire_at_ms: Some(16_000),
            },
            Item::Function(b("lua")),
            Item::Entry {
                key: b("l"),
                value: Value::List(vec![b("v")]),
                expire_at_ms: None,
            },
            Item::End,
        ];
        assert_eq!(read(&file, &[usize::MAX]), Ok(items));
    }

    /// `file` with a correct checksum in its last 8 bytes.
    fn seal(mut file: Vec<u8>) -> Vec<u8> {
        let crc = super::super::crc64(&file[..file.len() - 8]);
        let at = file.len() - 8;
        file[at..].copy_from_slice(&crc.to_le_bytes());
        file
    }

    #[test]
    fn bad_files_are_errors_with_their_offset() {
        let read_all = |file: &[u8]| read(file, &[usize::MAX]);
        assert_eq!(read_all(b"RADIS0010\xff"), Err(FileError::BadMagic));
        assert_eq!(read_all(b"REDIS001a\xff"), Err(FileError::BadMagic));
        assert_eq!(
            read_all(b"REDIS0011\xff"),
            Err(FileError::UnsupportedVersion(11))
        );
        assert_eq!(
            read_all(b"REDIS0004\xff"),
            Err(FileError::UnsupportedVersion(4))
        );
        assert_eq!(
            read_all(b"REDIS0010\xfe\x00\x08\x01k"),
            Err(FileError::UnknownType {
                byte: 8,
                offset: 11
            })
        );
        assert_eq!(
            read_all(b"REDIS0010\x07\x01k"),
            Err(FileError::Unsupported {
                what: "module value",
                offset: 9
            })
        );
        assert_eq!(
            read_all(b"REDIS0010\xf7"),
            Err(FileError::Unsupported {
                what: "module aux data",
                offset: 9
            })
        );
        // A list whose second element has a reserved length encoding.
        assert_eq!(
            read_all(b"REDIS0010\x01\x01k\x02\x01a\xbf"),
            Err(FileError::Corrupt { offset: 15 })
        );
        let good = seal(b"REDIS0010\xff\0\0\0\0\0\0\0\0".to_vec());
        assert_eq!(read_all(&good), Ok(vec![Item::End]));
        let mut bad = good.clone();
        bad[12] ^= 1;
        assert!(matches!(
            read_all(&bad),
            Err(FileError::ChecksumMismatch { .. })
        ));
        let error = read_all(b"REDIS0010\x00\x01k\xc3\x01\x05\x00").unwrap_err();
        assert_eq!(error.to_string(), "corrupt RDB data at offset 9");
    }

    #[test]
    fn a_large_collection_is_read_in_small_pieces_without_keeping_them() {
        let items: Vec<Bytes> = (0..200_000).map(|i| Bytes::from(i.to_string())).collect();
        let contents = Contents {
            unix_secs: 0,
            aux: vec![],
            dbs: vec![(0, vec![(b("l"), Value::List(items), None)])],
        };
        let file = contents.write();
        let mut reader = Reader::new();
        let mut got = Vec::new();
        for piece in file.chunks(100) {
            reader.push(piece);
            assert!(reader.buf.len() < 1_000, "the reader keeps what it parsed");
            while let Some(item) = reader.next().expect("a good file") {
                got.push(item);
            }
        }
        assert_eq!(got, contents.items());
    }

    /// `len` entries, several nodes.
    fn long_stream(len: u64) -> Stream {
        let id = |ms| StreamId { ms, seq: 0 };
        Stream {
            entries: (1..=len)
                .map(|i| (id(i), vec![(b("f"), Bytes::from(i.to_string()))]))
                .collect(),
            last_id: id(len),
            ..Stream::default()
        }
    }

    #[test]
    fn a_large_stream_is_read_node_by_node() {
        let contents = Contents {
            unix_secs: 0,
            aux: vec![],
            dbs: vec![(0, vec![(b("x"), Value::Stream(long_stream(100_000)), None)])],
        };
        let file = contents.write();
        let mut reader = Reader::new();
        let mut got = Vec::new();
        for piece in file.chunks(100) {
            reader.push(piece);
            // A node (100 entries, under 1 KB here) at most, and what came
            // after it.
            assert!(reader.buf.len() < 3_000, "the reader keeps what it parsed");
            while let Some(item) = reader.next().expect("a good file") {
                got.push(item);
            }
        }
        assert_eq!(got, contents.items());
    }

    #[test]
    fn a_large_string_arriving_in_pieces_is_read_once() {
        let contents = Contents {
            unix_secs: 0,
            aux: vec![],
            dbs: vec![(
                0,
                vec![(b("s"), Value::String(vec![7; 1 << 20].into()), None)],
            )],
        };
        let file = contents.write();
        let mut reader = Reader::new();
        let mut got = Vec::new();
        for piece in file.chunks(64) {
            reader.push(piece);
            while let Some(item) = reader.next().expect("a good file") {
                got.push(item);
            }
            // Parsing waits for the whole string instead of trying again
            // at every piece: the bytes needed are known from its length.
            assert!(reader.need == 0 || reader.buf.len() - reader.at < reader.need);
        }
        assert_eq!(got, contents.items());
    }

    #[test]
    fn writer_and_reader_agree_on_random_files_in_random_pieces() {
        fn property(contents: Contents, chunks: Vec<usize>, flip: (usize, u8)) -> bool {
            let file = contents.write();
            let items = contents.items();
            let whole = read(&file, &[usize::MAX]);
            let pieces = read(&file, &chunks);
            let mut damaged = file.clone();
            let at = flip.0 % damaged.len();
            damaged[at] ^= flip.1.max(1);
            // An error, or a file that ends early, or other items: never
            // the same items, never a panic.
            whole.as_ref() == Ok(&items)
                && pieces.as_ref() == Ok(&items)
                && read(&damaged, &chunks) != Ok(items)
        }
        QuickCheck::new()
            .tests(300)
            .quickcheck(property as fn(Contents, Vec<usize>, (usize, u8)) -> bool);
    }
}
