//! The replica side of the handshake as pure state (the replica half of
//! Redis' `syncWithMaster`): which command to send next, and what the
//! master's reply to it means. The driver (`server::master_link`) sends
//! the bytes, reads one reply line at a time, and feeds it here.
//!
//! The order is Redis 7's: PING, AUTH (when `masterauth` is set),
//! `REPLCONF listening-port`, `REPLCONF capa eof capa psync2`, then
//! `PSYNC <replid> <offset>` (`? -1` when there is no history to continue).

/// What to do after a reply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// Send these bytes and read the next reply line.
    Send(Vec<u8>),
    /// `+FULLRESYNC`: a snapshot of the master's data follows, taken at
    /// `offset` of its history `replid`.
    FullResync { replid: String, offset: u64 },
    /// `+CONTINUE`: the stream goes on from our offset; with PSYNC2 the
    /// master names its (maybe new) replication id.
    Continue { replid: Option<String> },
    /// The master refused: the reason, to log before trying again later.
    Fail(String),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stage {
    Ping,
    Auth,
    Port,
    Capa,
    Psync,
    Done,
}

/// One handshake with a master.
pub struct Handshake {
    stage: Stage,
    auth: Option<(Option<String>, String)>,
    listening_port: u16,
    /// The history we can continue: (replid, offset of the next byte).
    resume: Option<(String, u64)>,
}

impl Handshake {
    /// `auth` is (`masteruser`, `masterauth`); `resume` the replication id
    /// and offset this node has (its own data's history).
    pub fn new(
        auth: Option<(Option<String>, String)>,
        listening_port: u16,
        resume: Option<(String, u64)>,
    ) -> Handshake {
        Handshake {
            stage: Stage::Ping,
            auth,
            listening_port,
            resume,
        }
    }

    /// The first bytes to send.
    pub fn start(&self) -> Vec<u8> {
        command(&["PING"])
    }

    /// The master replied `line` (without its CRLF) to the last command.
    pub fn on_reply(&mut self, line: &[u8]) -> Step {
        let text = String::from_utf8_lossy(line).into_owned();
        let error = line.first() == Some(&b'-');
        match self.stage {
            Stage::Ping => {
                // NOAUTH is fine: AUTH comes next.
                if error && !text.starts_with("-NOAUTH") {
                    return Step::Fail(format!("Error reply to PING from master: '{text}'"));
                }
                self.after_ping()
            }
            Stage::Auth => {
                if error {
                    return Step::Fail(format!("Unable to AUTH to MASTER: {text}"));
                }
                self.port()
            }
            // A master that does not know an option ignores it, as Redis does.
            Stage::Port => {
                self.stage = Stage::Capa;
                Step::Send(command(&["REPLCONF", "capa", "eof", "capa", "psync2"]))
            }
            Stage::Capa => {
                self.stage = Stage::Psync;
                let (replid, offset) = match &self.resume {
                    Some((replid, offset)) => (replid.clone(), offset.to_string()),
                    None => ("?".to_string(), "-1".to_string()),
                };
                Step::Send(command(&["PSYNC", &replid, &offset]))
            }
            Stage::Psync => {
                self.stage = Stage::Done;
                psync_reply(&text)
            }
            Stage::Done => Step::Fail(format!("Unexpected reply after PSYNC: '{text}'")),
        }
    }

    fn after_ping(&mut self) -> Step {
        match &self.auth {
            Some((user, password)) => {
                self.stage = Stage::Auth;
                let mut words = vec!["AUTH"];
                if let Some(user) = user {
                    words.push(user);
                }
                words.push(password);
                Step::Send(command(&words))
            }
            None => self.port(),
        }
    }

    fn port(&mut self) -> Step {
        self.stage = Stage::Port;
        let port = self.listening_port.to_string();
        Step::Send(command(&["REPLCONF", "listening-port", &port]))
    }
}

fn psync_reply(text: &str) -> Step {
    let mut words = text.split(' ');
    match words.next() {
        Some("+FULLRESYNC") => {
            let replid = words.next().filter(|id| id.len() == 40);
            let offset = words.next().and_then(|o| o.parse().ok());
            match (replid, offset) {
                (Some(replid), Some(offset)) => Step::FullResync {
                    replid: replid.to_string(),
                    offset,
                },
                _ => Step::Fail(format!(
                    "Master replied with wrong +FULLRESYNC syntax: '{text}'"
                )),
            }
        }
        Some("+CONTINUE") => Step::Continue {
            replid: words.next().filter(|id| id.len() == 40).map(str::to_string),
        },
        _ => Step::Fail(format!("Unexpected reply to PSYNC from master: '{text}'")),
    }
}

/// One command as a RESP array of bulk strings.
fn command(words: &[&str]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", words.len()).into_bytes();
    for word in words {
        out.extend_from_slice(format!("${}\r\n{word}\r\n", word.len()).as_bytes());
    }
    out
}

#[cfg(test)]
mod tests;
