//! Framing for every pipe the engine speaks over: each message is a little-endian u32
//! length and a postcard body. Readers and writers batch many frames per system call.

use std::io;
use std::os::fd::{BorrowedFd, RawFd};

use nix::poll::{PollFd, PollFlags, PollTimeout, poll};

use serde::Serialize;
use serde::de::DeserializeOwned;

const MAX_FRAME: usize = 64 << 20;

/// Deepest nesting of sequences, enums, options and structs a frame may hold. postcard
/// decodes recursively with no limit of its own, so a 200 KB frame of one-element lists
/// inside one another overflowed the stack and aborted the reading process. A real
/// message nests a scenario value (at most 32 lists deep, checked at load; each list
/// counts twice, as an enum and its sequence) in about ten levels of message.
const MAX_DEPTH: usize = 128;

/// Frames waiting to be written.
#[derive(Default, Debug)]
pub struct FrameWriter {
    buf: Vec<u8>,
    sent: usize,
}

impl FrameWriter {
    pub fn push<T: Serialize>(&mut self, msg: &T) -> io::Result<()> {
        let at = self.buf.len();
        self.buf.extend_from_slice(&[0; 4]);
        let buf = std::mem::take(&mut self.buf);
        self.buf = postcard::to_extend(msg, buf).map_err(io::Error::other)?;
        let len = (self.buf.len() - at - 4) as u32;
        self.buf[at..at + 4].copy_from_slice(&len.to_le_bytes());
        Ok(())
    }

    pub fn pending(&self) -> usize {
        self.buf.len() - self.sent
    }

    /// Writes what the socket takes now; `Ok(true)` when nothing is left.
    pub fn flush_nonblocking(&mut self, fd: RawFd) -> io::Result<bool> {
        use nix::errno::Errno;
        use nix::sys::socket::{MsgFlags, send};
        // MSG_NOSIGNAL turns SIGPIPE into EPIPE.
        let flags = MsgFlags::MSG_NOSIGNAL | MsgFlags::MSG_DONTWAIT;
        while self.pending() > 0 {
            match send(fd, &self.buf[self.sent..], flags) {
                Ok(n) => self.sent += n,
                Err(Errno::EINTR) => {}
                Err(Errno::EAGAIN) => return Ok(false),
                Err(e) => return Err(e.into()),
            }
        }
        self.buf.clear();
        self.sent = 0;
        Ok(true)
    }

    /// Writes everything, waiting for room as needed.
    pub fn flush_blocking(&mut self, fd: RawFd) -> io::Result<()> {
        while !self.flush_nonblocking(fd)? {
            wait_fd(fd, PollFlags::POLLOUT)?;
        }
        Ok(())
    }
}

fn wait_fd(fd: RawFd, events: PollFlags) -> io::Result<()> {
    // SAFETY: the caller owns `fd` and keeps it open across this call.
    let fd = unsafe { BorrowedFd::borrow_raw(fd) };
    match poll(&mut [PollFd::new(fd, events)], PollTimeout::NONE) {
        Ok(_) | Err(nix::errno::Errno::EINTR) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// Bytes read so far, cut into frames on demand.
#[derive(Debug)]
pub struct FrameReader {
    buf: Vec<u8>,
    start: usize,
}

impl Default for FrameReader {
    fn default() -> Self {
        FrameReader {
            buf: Vec::with_capacity(64 * 1024),
            start: 0,
        }
    }
}

pub enum Fill {
    Data,
    WouldBlock,
    Eof,
}

impl FrameReader {
    /// Frees the buffer of a reader that will not read again.
    pub fn release(&mut self) {
        self.buf = Vec::new();
        self.start = 0;
    }

    /// One read of whatever is available.
    pub fn fill(&mut self, fd: RawFd) -> io::Result<Fill> {
        if self.start > 0 && self.start == self.buf.len() {
            self.buf.clear();
            self.start = 0;
        } else if self.start > self.buf.capacity() / 2 {
            self.buf.drain(..self.start);
            self.start = 0;
        }
        if self.buf.capacity() - self.buf.len() < 16 * 1024 {
            self.buf.reserve(64 * 1024);
        }
        let spare = self.buf.spare_capacity_mut();
        loop {
            // SAFETY: reading into the vector's spare capacity, then growing len by n.
            let n = unsafe { libc::read(fd, spare.as_mut_ptr().cast(), spare.len()) };
            if n < 0 {
                let err = io::Error::last_os_error();
                match err.kind() {
                    io::ErrorKind::Interrupted => continue,
                    io::ErrorKind::WouldBlock => return Ok(Fill::WouldBlock),
                    io::ErrorKind::ConnectionReset => return Ok(Fill::Eof),
                    _ => return Err(err),
                }
            }
            if n == 0 {
                return Ok(Fill::Eof);
            }
            let len = self.buf.len() + n as usize;
            // SAFETY: the kernel initialised n more bytes.
            unsafe { self.buf.set_len(len) };
            return Ok(Fill::Data);
        }
    }

    /// The next complete frame, if one is buffered.
    pub fn next_frame<T: DeserializeOwned>(&mut self) -> io::Result<Option<T>> {
        let avail = &self.buf[self.start..];
        if avail.len() < 4 {
            return Ok(None);
        }
        let len = u32::from_le_bytes([avail[0], avail[1], avail[2], avail[3]]) as usize;
        if len > MAX_FRAME {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "frame too large",
            ));
        }
        if avail.len() < 4 + len {
            return Ok(None);
        }
        let mut de = postcard::Deserializer::from_bytes(&avail[4..4 + len]);
        let msg = T::deserialize(nesting::Limit::new(&mut de))
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
        self.start += 4 + len;
        Ok(Some(msg))
    }

    /// Blocks until a whole frame arrives; `Ok(None)` at end of file.
    pub fn recv_blocking<T: DeserializeOwned>(&mut self, fd: RawFd) -> io::Result<Option<T>> {
        loop {
            if let Some(msg) = self.next_frame()? {
                return Ok(Some(msg));
            }
            match self.fill(fd)? {
                Fill::Data => {}
                Fill::Eof => return Ok(None),
                Fill::WouldBlock => wait_fd(fd, PollFlags::POLLIN)?,
            }
        }
    }
}

/// A deserializer that passes everything through to postcard's and counts how deep it
/// is inside containers, refusing a frame nested past [`MAX_DEPTH`] before the stack runs
/// out. Every serde trait is wrapped because any of them can lead one level deeper.
mod nesting {
    use std::fmt;

    use serde::de::{self, DeserializeSeed, Deserializer, Visitor};

    use super::MAX_DEPTH;

    fn too_deep<E: de::Error>() -> E {
        E::custom(format_args!("values nested more than {MAX_DEPTH} deep"))
    }

    pub struct Limit<D> {
        inner: D,
        depth: usize,
    }

    impl<D> Limit<D> {
        pub fn new(inner: D) -> Self {
            Limit { inner, depth: 0 }
        }
    }

    /// The visitor, seed or accessor `inner`, at `depth`.
    struct At<T> {
        inner: T,
        depth: usize,
    }

    macro_rules! forward_deserialize {
        ($($method:ident)*) => {
            $(
                fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
                    self.inner.$method(At { inner: visitor, depth: self.depth })
                }
            )*
        };
    }

    impl<'de, D: Deserializer<'de>> Deserializer<'de> for Limit<D> {
        type Error = D::Error;

        forward_deserialize! {
            deserialize_any deserialize_bool deserialize_i8 deserialize_i16 deserialize_i32
            deserialize_i64 deserialize_i128 deserialize_u8 deserialize_u16 deserialize_u32
            deserialize_u64 deserialize_u128 deserialize_f32 deserialize_f64 deserialize_char
            deserialize_str deserialize_string deserialize_bytes deserialize_byte_buf
            deserialize_option deserialize_unit deserialize_seq deserialize_map
            deserialize_identifier deserialize_ignored_any
        }

        fn deserialize_unit_struct<V: Visitor<'de>>(
            self,
            name: &'static str,
            visitor: V,
        ) -> Result<V::Value, D::Error> {
            let visitor = At {
                inner: visitor,
                depth: self.depth,
            };
            self.inner.deserialize_unit_struct(name, visitor)
        }

        fn deserialize_newtype_struct<V: Visitor<'de>>(
            self,
            name: &'static str,
            visitor: V,
        ) -> Result<V::Value, D::Error> {
            let visitor = At {
                inner: visitor,
                depth: self.depth,
            };
            self.inner.deserialize_newtype_struct(name, visitor)
        }

        fn deserialize_tuple<V: Visitor<'de>>(
            self,
            len: usize,
            visitor: V,
        ) -> Result<V::Value, D::Error> {
            let visitor = At {
                inner: visitor,
                depth: self.depth,
            };
            self.inner.deserialize_tuple(len, visitor)
        }

        fn deserialize_tuple_struct<V: Visitor<'de>>(
            self,
            name: &'static str,
            len: usize,
            visitor: V,
        ) -> Result<V::Value, D::Error> {
            let visitor = At {
                inner: visitor,
                depth: self.depth,
            };
            self.inner.deserialize_tuple_struct(name, len, visitor)
        }

        fn deserialize_struct<V: Visitor<'de>>(
            self,
            name: &'static str,
            fields: &'static [&'static str],
            visitor: V,
        ) -> Result<V::Value, D::Error> {
            let visitor = At {
                inner: visitor,
                depth: self.depth,
            };
            self.inner.deserialize_struct(name, fields, visitor)
        }

        fn deserialize_enum<V: Visitor<'de>>(
            self,
            name: &'static str,
            variants: &'static [&'static str],
            visitor: V,
        ) -> Result<V::Value, D::Error> {
            let visitor = At {
                inner: visitor,
                depth: self.depth,
            };
            self.inner.deserialize_enum(name, variants, visitor)
        }

        fn is_human_readable(&self) -> bool {
            self.inner.is_human_readable()
        }
    }

    macro_rules! forward_visit {
        ($($method:ident($ty:ty))*) => {
            $(
                fn $method<E: de::Error>(self, v: $ty) -> Result<V::Value, E> {
                    self.inner.$method(v)
                }
            )*
        };
    }

    impl<'de, V: Visitor<'de>> Visitor<'de> for At<V> {
        type Value = V::Value;

        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            self.inner.expecting(f)
        }

        forward_visit! {
            visit_bool(bool) visit_i8(i8) visit_i16(i16) visit_i32(i32) visit_i64(i64)
            visit_i128(i128) visit_u8(u8) visit_u16(u16) visit_u32(u32) visit_u64(u64)
            visit_u128(u128) visit_f32(f32) visit_f64(f64) visit_char(char) visit_str(&str)
            visit_borrowed_str(&'de str) visit_string(String) visit_bytes(&[u8])
            visit_borrowed_bytes(&'de [u8]) visit_byte_buf(Vec<u8>)
        }

        fn visit_none<E: de::Error>(self) -> Result<V::Value, E> {
            self.inner.visit_none()
        }

        fn visit_unit<E: de::Error>(self) -> Result<V::Value, E> {
            self.inner.visit_unit()
        }

        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<V::Value, D::Error> {
            let depth = deeper::<D::Error>(self.depth)?;
            self.inner.visit_some(Limit { inner: d, depth })
        }

        fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<V::Value, D::Error> {
            let depth = deeper::<D::Error>(self.depth)?;
            self.inner.visit_newtype_struct(Limit { inner: d, depth })
        }

        fn visit_seq<A: de::SeqAccess<'de>>(self, seq: A) -> Result<V::Value, A::Error> {
            let depth = deeper::<A::Error>(self.depth)?;
            self.inner.visit_seq(At { inner: seq, depth })
        }

        fn visit_map<A: de::MapAccess<'de>>(self, map: A) -> Result<V::Value, A::Error> {
            let depth = deeper::<A::Error>(self.depth)?;
            self.inner.visit_map(At { inner: map, depth })
        }

        fn visit_enum<A: de::EnumAccess<'de>>(self, data: A) -> Result<V::Value, A::Error> {
            let depth = deeper::<A::Error>(self.depth)?;
            self.inner.visit_enum(At { inner: data, depth })
        }
    }

    fn deeper<E: de::Error>(depth: usize) -> Result<usize, E> {
        if depth >= MAX_DEPTH {
            Err(too_deep())
        } else {
            Ok(depth + 1)
        }
    }

    impl<'de, S: DeserializeSeed<'de>> DeserializeSeed<'de> for At<S> {
        type Value = S::Value;

        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<S::Value, D::Error> {
            self.inner.deserialize(Limit {
                inner: d,
                depth: self.depth,
            })
        }
    }

    impl<'de, A: de::SeqAccess<'de>> de::SeqAccess<'de> for At<A> {
        type Error = A::Error;

        fn next_element_seed<T: DeserializeSeed<'de>>(
            &mut self,
            seed: T,
        ) -> Result<Option<T::Value>, A::Error> {
            self.inner.next_element_seed(At {
                inner: seed,
                depth: self.depth,
            })
        }

        fn size_hint(&self) -> Option<usize> {
            self.inner.size_hint()
        }
    }

    impl<'de, A: de::MapAccess<'de>> de::MapAccess<'de> for At<A> {
        type Error = A::Error;

        fn next_key_seed<K: DeserializeSeed<'de>>(
            &mut self,
            seed: K,
        ) -> Result<Option<K::Value>, A::Error> {
            self.inner.next_key_seed(At {
                inner: seed,
                depth: self.depth,
            })
        }

        fn next_value_seed<V: DeserializeSeed<'de>>(
            &mut self,
            seed: V,
        ) -> Result<V::Value, A::Error> {
            self.inner.next_value_seed(At {
                inner: seed,
                depth: self.depth,
            })
        }

        fn size_hint(&self) -> Option<usize> {
            self.inner.size_hint()
        }
    }

    impl<'de, A: de::EnumAccess<'de>> de::EnumAccess<'de> for At<A> {
        type Error = A::Error;
        type Variant = At<A::Variant>;

        fn variant_seed<V: DeserializeSeed<'de>>(
            self,
            seed: V,
        ) -> Result<(V::Value, At<A::Variant>), A::Error> {
            let depth = self.depth;
            let (value, variant) = self.inner.variant_seed(At { inner: seed, depth })?;
            Ok((
                value,
                At {
                    inner: variant,
                    depth,
                },
            ))
        }
    }

    impl<'de, A: de::VariantAccess<'de>> de::VariantAccess<'de> for At<A> {
        type Error = A::Error;

        fn unit_variant(self) -> Result<(), A::Error> {
            self.inner.unit_variant()
        }

        fn newtype_variant_seed<T: DeserializeSeed<'de>>(
            self,
            seed: T,
        ) -> Result<T::Value, A::Error> {
            self.inner.newtype_variant_seed(At {
                inner: seed,
                depth: self.depth,
            })
        }

        fn tuple_variant<V: Visitor<'de>>(
            self,
            len: usize,
            visitor: V,
        ) -> Result<V::Value, A::Error> {
            self.inner.tuple_variant(
                len,
                At {
                    inner: visitor,
                    depth: self.depth,
                },
            )
        }

        fn struct_variant<V: Visitor<'de>>(
            self,
            fields: &'static [&'static str],
            visitor: V,
        ) -> Result<V::Value, A::Error> {
            self.inner.struct_variant(
                fields,
                At {
                    inner: visitor,
                    depth: self.depth,
                },
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsRawFd;

    #[test]
    fn frames_cross_a_socket_in_batches() {
        let (a, b) = crate::engine::sys::stream_pair().expect("pair");
        let mut w = FrameWriter::default();
        for i in 0..1000u64 {
            w.push(&(i, format!("item {i}"))).expect("push");
        }
        w.flush_blocking(a.as_raw_fd()).expect("flush");
        drop(a);
        let mut r = FrameReader::default();
        let mut got = 0u64;
        while let Some((i, s)) = r
            .recv_blocking::<(u64, String)>(b.as_raw_fd())
            .expect("recv")
        {
            assert_eq!(i, got);
            assert_eq!(s, format!("item {i}"));
            got += 1;
        }
        assert_eq!(got, 1000);
    }

    /// Frames through a socket pair, read back as `T` until the reader has nothing.
    fn round_trip<T: DeserializeOwned>(frames: &[u8]) -> Vec<io::Result<Option<T>>> {
        use std::io::Write;
        let (mut a, b) = std::os::unix::net::UnixStream::pair().expect("pair");
        b.set_nonblocking(true).expect("non-blocking");
        a.write_all(frames).expect("write");
        let mut r = FrameReader::default();
        while let Ok(Fill::Data) = r.fill(b.as_raw_fd()) {}
        let mut out = Vec::new();
        loop {
            let next = r.next_frame::<T>();
            let stop = !matches!(next, Ok(Some(_)));
            out.push(next);
            if stop {
                return out;
            }
        }
    }

    fn nested(depth: usize) -> crate::engine::value::Value {
        use crate::engine::value::Value;
        (0..depth).fold(Value::Int(1), |v, _| Value::List(vec![v]))
    }

    #[test]
    fn a_frame_nested_past_the_limit_is_invalid_not_a_stack_overflow() {
        use crate::engine::protocol::FromWorker;
        // FromWorker::ChunkDone (2), chunk 0, ChunkResults::Values (1), one result, Ok (0),
        // then List (4) of one element 100,000 times, then None (0): 200 KB that
        // overflowed the stack.
        let mut body = vec![2, 0, 1, 1, 0];
        for _ in 0..100_000 {
            body.extend_from_slice(&[4, 1]);
        }
        body.push(0);
        let mut frame = (body.len() as u32).to_le_bytes().to_vec();
        frame.extend_from_slice(&body);
        let got = round_trip::<FromWorker>(&frame);
        let err = got[0].as_ref().map(|_| ()).expect_err("refused");
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
    }

    #[test]
    fn the_deepest_value_a_scenario_may_hold_crosses_in_a_load_command() {
        use crate::engine::program::{Items, Op, Program, Step, SubmitKind};
        use crate::engine::protocol::Command;
        use crate::engine::value::Value;
        use crate::workload::Func;
        // The loader allows values 32 lists deep; as items of a map, in a Load command.
        let program = Program {
            name: "deep".into(),
            slots: vec!["pool".into()],
            steps: vec![Step {
                python: String::new(),
                op: Op::Submit {
                    pool: 0,
                    kind: SubmitKind::Map,
                    func: Func::Noop,
                    items: Items::List(vec![vec![Value::List(vec![nested(31)])]]),
                    chunksize: None,
                    into: None,
                    callbacks: crate::engine::program::Callbacks::default(),
                },
                say: None,
                measure: None,
            }],
            settings: crate::engine::program::RunSettings::default(),
        };
        let mut w = FrameWriter::default();
        w.push(&Command::Load {
            program,
            detail: crate::engine::protocol::Detail::QUIET,
        })
        .expect("push");
        let (a, b) = crate::engine::sys::stream_pair().expect("pair");
        w.flush_blocking(a.as_raw_fd()).expect("flush");
        drop(a);
        let mut r = FrameReader::default();
        let got = r.recv_blocking::<Command>(b.as_raw_fd()).expect("decodes");
        assert!(matches!(got, Some(Command::Load { .. })));
        // A value of n lists counts 2n + 1 levels (each list an enum and a sequence, the
        // innermost value an enum): 63 lists are the most a frame may hold.
        let mut body = Vec::new();
        let depth = (MAX_DEPTH - 1) / 2;
        let mut frame = Vec::new();
        for (d, ok) in [(depth, true), (depth + 1, false)] {
            body.clear();
            body.extend(postcard::to_stdvec(&nested(d)).expect("encode"));
            frame.clear();
            frame.extend((body.len() as u32).to_le_bytes());
            frame.extend(&body);
            let got = round_trip::<Value>(&frame);
            assert_eq!(matches!(got[0], Ok(Some(_))), ok, "depth {d}");
        }
    }
}
