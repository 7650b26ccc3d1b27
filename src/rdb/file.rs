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

use super::value::{self, Cursor, Fault, Partial, Start, Value};
use super::{crc64_update, RDB_VERSION};
use bytes::Bytes;
use std::fmt;

/// The oldest RDB version read: the first with a checksum (Redis 2.6).
const MIN_VERSION: u32 = 5;

/// What redis-server 7.0 says it is in `redis-ver`.
const REDIS_VERSION: &[u8] = b"7.0.15";

const OP_FUNCTION2: u8 = 0xf5;
const OP_FUNCTION_PRE_GA: u8 = 0xf6;
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
}

impl Writer {
    pub fn new() -> Writer {
        Writer::default()
    }

    /// Runs `write` on `out` and folds what it appended into the checksum,
    /// so the caller may send and clear `out` between calls.
    fn append(&mut self, out: &mut Vec<u8>, write: impl FnOnce(&mut Vec<u8>)) {
        let start = out.len();
        write(out);
        self.crc = crc64_update(self.crc, &out[start..]);
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
        self.append(out, |out| {
            if let Some(ms) = expire_at_ms {
                out.push(OP_EXPIRETIME_MS);
                out.extend_from_slice(&ms.to_le_bytes());
            }
            out.push(value::kind(value));
            value::put_string(out, key);
            value::put_body(out, value);
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
    /// Something Redis writes that Redstone cannot hold: streams, module
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
                    self.crc = crc64_update(self.crc, &self.buf[self.at..self.at + used]);
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
                // A function library's code: Redstone has no functions,
                // and the keys load without them.
                OP_FUNCTION2 => {
                    cursor.string()?;
                    return Ok(None);
                }
                OP_FUNCTION_PRE_GA => return Err(Fault::Unsupported("pre-release function").into()),
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
