//! Keyspace notifications (`notify-keyspace-events`): the event classes,
//! the flags string users configure, and the event a change produces.
//!
//! A leaf, so that each layer can use it without the arrows turning
//! around: `config` parses the flags, `keyspace::Txn` records the events of
//! a transaction (filtered by class, so with notifications off a command
//! pays one branch), and `command::notify` publishes them once the
//! transaction has committed.
//!
//! The flag characters, their bits and the canonical string CONFIG GET
//! shows follow Redis 7.0's `keyspaceEventsStringToFlags` and
//! `keyspaceEventsFlagsToString`, quirks included: `A` is every class but
//! `m` and `n`, and when all of `A` is set the string shows `A` alone, even
//! if `n` is set too.

use bytes::Bytes;
use std::fmt;

/// The class of an event: which flag turns it on (`g` generic: DEL,
/// EXPIRE, RENAME, ... on any type; `$` strings, `l` lists, `s` sets, `h`
/// hashes, `z` sorted sets, `x` expired, `e` evicted, `t` streams, `m` key
/// misses, `d` modules, `n` new keys; see `CLASS_CHARS`). The values are
/// Redis' `NOTIFY_*` bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum Class {
    Generic = 1 << 2,
    String = 1 << 3,
    List = 1 << 4,
    Set = 1 << 5,
    Hash = 1 << 6,
    ZSet = 1 << 7,
    Expired = 1 << 8,
    Evicted = 1 << 9,
    Stream = 1 << 10,
    KeyMiss = 1 << 11,
    Module = 1 << 13,
    New = 1 << 14,
}

impl Class {
    pub const fn bit(self) -> u32 {
        self as u32
    }
}

/// `K`: publish `__keyspace@<db>__:<key>` → event.
const KEYSPACE: u32 = 1 << 0;
/// `E`: publish `__keyevent@<db>__:<event>` → key.
const KEYEVENT: u32 = 1 << 1;
/// `A`: Redis' `NOTIFY_ALL`.
const ALL: u32 = Class::Generic.bit()
    | Class::String.bit()
    | Class::List.bit()
    | Class::Set.bit()
    | Class::Hash.bit()
    | Class::ZSet.bit()
    | Class::Expired.bit()
    | Class::Evicted.bit()
    | Class::Stream.bit()
    | Class::Module.bit();

/// The classes `A` stands for, in the order the canonical string lists them.
const CLASS_CHARS: [(char, Class); 11] = [
    ('g', Class::Generic),
    ('$', Class::String),
    ('l', Class::List),
    ('s', Class::Set),
    ('h', Class::Hash),
    ('z', Class::ZSet),
    ('x', Class::Expired),
    ('e', Class::Evicted),
    ('t', Class::Stream),
    ('d', Class::Module),
    ('n', Class::New),
];

/// What CONFIG SET answers for a character that is no class.
pub const ERR_INVALID: &str = "Invalid event class character. Use 'Ag$lshzxeKEtmdn'.";

/// The `notify-keyspace-events` setting.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Flags(u32);

impl Flags {
    /// Parses a flags string; `None` if a character is no flag.
    pub fn parse(text: &[u8]) -> Option<Flags> {
        let mut flags = 0;
        for &c in text {
            flags |= match c {
                b'A' => ALL,
                b'K' => KEYSPACE,
                b'E' => KEYEVENT,
                b'm' => Class::KeyMiss.bit(),
                _ => CLASS_CHARS
                    .iter()
                    .find(|(flag, _)| *flag as u8 == c)
                    .map(|(_, class)| class.bit())?,
            };
        }
        Some(Flags(flags))
    }

    /// The classes that publish anything: none unless `K` or `E` is set.
    pub fn mask(self) -> u32 {
        if self.0 & (KEYSPACE | KEYEVENT) == 0 {
            0
        } else {
            self.0
        }
    }

    pub fn keyspace(self) -> bool {
        self.0 & KEYSPACE != 0
    }

    pub fn keyevent(self) -> bool {
        self.0 & KEYEVENT != 0
    }

    pub fn bits(self) -> u32 {
        self.0
    }

    pub fn from_bits(bits: u32) -> Flags {
        Flags(bits)
    }
}

/// The canonical string: what CONFIG GET shows.
impl fmt::Display for Flags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 & ALL == ALL {
            f.write_str("A")?;
        } else {
            for (c, class) in CLASS_CHARS {
                if self.0 & class.bit() != 0 {
                    write!(f, "{c}")?;
                }
            }
        }
        for (c, bit) in [
            ('K', KEYSPACE),
            ('E', KEYEVENT),
            ('m', Class::KeyMiss.bit()),
        ] {
            if self.0 & bit != 0 {
                write!(f, "{c}")?;
            }
        }
        Ok(())
    }
}

/// One event: `name` happened to `key` of database `db`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    pub db: usize,
    pub name: &'static str,
    pub key: Bytes,
}

impl Event {
    /// The channel and message of its `__keyspace@` publication.
    pub fn keyspace_message(&self) -> (Bytes, Bytes) {
        (
            self.channel("keyspace", &self.key),
            Bytes::from_static(self.name.as_bytes()),
        )
    }

    /// The channel and message of its `__keyevent@` publication.
    pub fn keyevent_message(&self) -> (Bytes, Bytes) {
        (
            self.channel("keyevent", self.name.as_bytes()),
            self.key.clone(),
        )
    }

    fn channel(&self, kind: &str, suffix: &[u8]) -> Bytes {
        let mut channel = format!("__{kind}@{}__:", self.db).into_bytes();
        channel.extend_from_slice(suffix);
        Bytes::from(channel)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quickcheck::quickcheck;

    fn canonical(text: &str) -> String {
        Flags::parse(text.as_bytes())
            .expect("valid flags")
            .to_string()
    }

    #[test]
    fn canonical_strings_match_redis() {
        // Each pair was checked against redis-server 7.0.15.
        assert_eq!(canonical(""), "");
        assert_eq!(canonical("A"), "A");
        assert_eq!(canonical("KEA"), "AKE");
        assert_eq!(canonical("Ag"), "A");
        assert_eq!(canonical("g$lshzxetd"), "A");
        assert_eq!(canonical("mnKE"), "nKEm");
        assert_eq!(canonical("KA"), "AK");
        assert_eq!(canonical("Elg"), "glE");
        assert_eq!(canonical("hh$"), "$h");
    }

    #[test]
    fn all_hides_new_but_keeps_it() {
        let flags = Flags::parse(b"g$lshzxetdnK").expect("valid flags");
        assert_eq!(flags.to_string(), "AK");
        assert_ne!(flags.mask() & Class::New.bit(), 0);
    }

    #[test]
    fn unknown_characters_are_refused() {
        assert_eq!(Flags::parse(b"xyz"), None);
        assert_eq!(Flags::parse(b"K E"), None);
        assert_eq!(Flags::parse(b"a"), None);
    }

    #[test]
    fn nothing_publishes_without_k_or_e() {
        let flags = Flags::parse(b"A").expect("valid flags");
        assert_eq!(flags.mask(), 0);
        assert_eq!(
            Flags::parse(b"Eh").expect("valid").mask() & Class::Hash.bit(),
            Class::Hash.bit()
        );
    }

    #[test]
    fn events_name_their_channels() {
        let event = Event {
            db: 3,
            name: "hset",
            key: Bytes::from_static(b"k:1"),
        };
        assert_eq!(
            event.keyspace_message(),
            (Bytes::from("__keyspace@3__:k:1"), Bytes::from("hset"))
        );
        assert_eq!(
            event.keyevent_message(),
            (Bytes::from("__keyevent@3__:hset"), Bytes::from("k:1"))
        );
    }

    quickcheck! {
        /// The canonical string parses back to the same flags, except that
        /// `n` disappears behind `A` (as in Redis).
        fn canonical_string_round_trips(bits: u32) -> bool {
            let flags = Flags::from_bits(bits & (ALL | KEYSPACE | KEYEVENT
                | Class::KeyMiss.bit() | Class::New.bit()));
            let reparsed = Flags::parse(flags.to_string().as_bytes());
            let expected = if flags.0 & ALL == ALL {
                flags.0 & !Class::New.bit()
            } else {
                flags.0
            };
            reparsed == Some(Flags(expected))
        }

        /// Parsing is order-insensitive and idempotent: a string and its
        /// canonical form mean the same.
        fn canonical_form_is_a_fixed_point(chars: Vec<u8>) -> bool {
            const ALPHABET: &[u8] = b"Ag$lshzxeKEtmdn";
            let text: Vec<u8> = chars
                .iter()
                .map(|c| ALPHABET[*c as usize % ALPHABET.len()])
                .collect();
            let Some(flags) = Flags::parse(&text) else { return false };
            let once = flags.to_string();
            Flags::parse(once.as_bytes()).map(|f| f.to_string()) == Some(once)
        }
    }
}
