//! RESP, the Redis serialisation protocol, versions 2 and 3.
//!
//! The module is sans-IO: pure functions and state machines over bytes. It
//! never reads or writes a socket, never looks at a clock and never
//! spawns anything, so every behaviour is reproducible in a unit test and
//! the network layer stays free to choose its own buffering.
//!
//! - [`RequestParser`] turns the bytes a client sends into argument vectors,
//!   with Redis 7's limits, quirks and exact error messages.
//! - [`encode`] and the `write_*` functions turn replies into bytes,
//!   downgrading RESP3 types for RESP2 clients as Redis 7 does.
//! - [`parse_frame`] reads any RESP2/RESP3 value, for the client side.
//!
//! A connection loop looks like:
//!
//! ```
//! use bytes::BytesMut;
//! use redstone::resp::{Frame, Limits, Protocol, RequestParser, encode};
//!
//! let mut parser = RequestParser::new(Limits::default());
//! let mut input = BytesMut::from(&b"*1\r\n$4\r\nPING\r\nPING\r\n"[..]);
//! let mut output = BytesMut::new();
//! loop {
//!     match parser.parse(&mut input, false) {
//!         Ok(Some(args)) => {
//!             assert_eq!(&args[0][..], b"PING");
//!             encode(&Frame::simple("PONG"), Protocol::Resp2, &mut output);
//!         }
//!         Ok(None) => break, // read more bytes into `input`
//!         Err(e) => {
//!             e.write_reply(&mut output); // then close the connection
//!             break;
//!         }
//!     }
//! }
//! assert_eq!(&output[..], b"+PONG\r\n+PONG\r\n");
//! ```

pub mod double;
pub mod encode;
pub mod error;
pub mod frame;
mod number;
pub mod parse;
pub mod request;

#[cfg(test)]
mod tests;

pub use double::{format_double, format_double_with};
pub use encode::{
    encode, write_array_header, write_big_number, write_boolean, write_bulk, write_double,
    write_error, write_integer, write_map_header, write_null, write_null_array, write_push_header,
    write_set_header, write_simple, write_verbatim,
};
pub use error::{ProtocolError, ProtocolErrorKind};
pub use frame::{Frame, Protocol};
pub use parse::{parse_frame, FrameError, MAX_DEPTH};
pub use request::{Limits, RequestParser};
