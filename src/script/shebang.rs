//! A script's first line `#!lua flags=no-writes,...` (Redis 7.0): without
//! it a script runs in compatibility mode, as before Redis 7.

/// The flags a script or function may declare, in Redis' order
/// (`scripts_flags_def`).
pub const FLAG_NAMES: [&str; 5] = [
    "no-writes",
    "allow-oom",
    "allow-stale",
    "no-cluster",
    "allow-cross-slot-keys",
];

/// What a script declares of itself.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ScriptFlags {
    /// No shebang: Redis 6's rules (writes allowed, keys of any slot
    /// served here).
    pub compat: bool,
    pub no_writes: bool,
    pub allow_oom: bool,
    pub allow_stale: bool,
    pub no_cluster: bool,
    pub allow_cross_slot: bool,
}

impl ScriptFlags {
    /// The flags of `body` and the length of its shebang line (without its
    /// newline, which stays so that line numbers hold), or Redis' error.
    pub fn parse(body: &[u8]) -> Result<(ScriptFlags, usize), String> {
        if !body.starts_with(b"#!") {
            let compat = ScriptFlags {
                compat: true,
                ..ScriptFlags::default()
            };
            return Ok((compat, 0));
        }
        let Some(end) = body.iter().position(|&b| b == b'\n') else {
            return Err("Invalid script shebang".to_string());
        };
        let line = String::from_utf8_lossy(&body[..end]);
        let mut parts = line.split_ascii_whitespace();
        let Some(engine) = parts.next() else {
            return Err("Invalid engine in script shebang".to_string());
        };
        if engine != "#!lua" {
            return Err(format!("Unexpected engine in script shebang: {engine}"));
        }
        let mut flags = ScriptFlags::default();
        for part in parts {
            let Some(list) = part.strip_prefix("flags=") else {
                return Err(format!("Unknown lua shebang option: {part}"));
            };
            for flag in list.split(',') {
                if !flags.set(flag) {
                    return Err(format!("Unexpected flag in script shebang: {flag}"));
                }
            }
        }
        Ok((flags, end))
    }

    /// Sets the flag named `name` (Redis' spelling, matched exactly as a
    /// shebang does); false for a name that is no flag.
    pub fn set(&mut self, name: &str) -> bool {
        match FLAG_NAMES.iter().position(|known| *known == name) {
            Some(i) => {
                *self.flag_mut(i) = true;
                true
            }
            None => false,
        }
    }

    /// The flags set, by name, in Redis' order (FUNCTION LIST).
    pub fn names(mut self) -> Vec<&'static str> {
        (0..FLAG_NAMES.len())
            .filter(|&i| *self.flag_mut(i))
            .map(|i| FLAG_NAMES[i])
            .collect()
    }

    fn flag_mut(&mut self, i: usize) -> &mut bool {
        match i {
            0 => &mut self.no_writes,
            1 => &mut self.allow_oom,
            2 => &mut self.allow_stale,
            3 => &mut self.no_cluster,
            _ => &mut self.allow_cross_slot,
        }
    }

    /// Whether it may only read (EVAL_RO and `no-writes` alike).
    pub fn read_only(self) -> bool {
        !self.compat && self.no_writes
    }

    /// Whether its keys must share one slot in cluster mode.
    pub fn one_slot(self) -> bool {
        !self.compat && !self.allow_cross_slot
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shebangs_parse_as_in_redis() {
        assert_eq!(
            ScriptFlags::parse(b"return 1"),
            Ok((
                ScriptFlags {
                    compat: true,
                    ..ScriptFlags::default()
                },
                0
            ))
        );
        let (flags, len) =
            ScriptFlags::parse(b"#!lua flags=no-writes,allow-stale\nreturn 1").expect("a shebang");
        assert_eq!(len, 33);
        assert!(flags.read_only() && flags.allow_stale && flags.one_slot());
        assert_eq!(
            ScriptFlags::parse(b"#!lua\nreturn 1").map(|(f, _)| f),
            Ok(ScriptFlags::default())
        );
        for (body, error) in [
            (&b"#!lua"[..], "Invalid script shebang"),
            (b"#!\n", "Unexpected engine in script shebang: #!"),
            (
                b"#!python\n",
                "Unexpected engine in script shebang: #!python",
            ),
            (b"#!lua foo=bar\n", "Unknown lua shebang option: foo=bar"),
            (
                b"#!lua flags=no-writes,bad-flag\n",
                "Unexpected flag in script shebang: bad-flag",
            ),
        ] {
            assert_eq!(ScriptFlags::parse(body), Err(error.to_string()));
        }
    }
}
