//! A socket whose reads and writes all end by one overall deadline.
//!
//! `SO_RCVTIMEO` bounds a single `recv`, so a peer that sends one byte per second keeps a
//! fixed timeout from ever firing. [`DeadlineStream`] sets the socket timeout to the time
//! *remaining* before each call and fails once none is left, so the whole exchange (TLS
//! handshake included, because rustls reads and writes through it) ends by the deadline.
//!
//! Setting the timeout is a system call, and a keep-alive client does one exchange after
//! another with the same budget: so the timeout is set (a sixteenth under the time left)
//! only when the one the socket has could outlast the time left, or is under half of it. A
//! call cut short by a timeout shorter than the time left is made again.
use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

/// A socket that can bound its next blocking call.
pub trait Timeouts {
    fn set_read_timeout(&self, t: Option<Duration>) -> io::Result<()>;
    fn set_write_timeout(&self, t: Option<Duration>) -> io::Result<()>;
}

impl Timeouts for TcpStream {
    fn set_read_timeout(&self, t: Option<Duration>) -> io::Result<()> {
        TcpStream::set_read_timeout(self, t)
    }
    fn set_write_timeout(&self, t: Option<Duration>) -> io::Result<()> {
        TcpStream::set_write_timeout(self, t)
    }
}

/// `S` with an overall deadline on every read and write (`None`: no deadline).
#[derive(Debug)]
pub struct DeadlineStream<S> {
    inner: S,
    deadline: Option<Instant>,
    /// The read and write timeouts this stream last gave the socket (`None`: not yet).
    read_timeout: Option<Option<Duration>>,
    write_timeout: Option<Option<Duration>>,
}

impl<S: Timeouts> DeadlineStream<S> {
    pub fn new(inner: S, deadline: Option<Instant>) -> DeadlineStream<S> {
        DeadlineStream {
            inner,
            deadline,
            read_timeout: None,
            write_timeout: None,
        }
    }

    /// Every later read and write must finish by `deadline`.
    pub fn set_deadline(&mut self, deadline: Option<Instant>) {
        self.deadline = deadline;
    }

    pub fn deadline(&self) -> Option<Instant> {
        self.deadline
    }

    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    pub fn into_inner(self) -> S {
        self.inner
    }

    /// The time left, or a `TimedOut` error once it is spent.
    fn remaining(&self) -> io::Result<Option<Duration>> {
        let Some(deadline) = self.deadline else {
            return Ok(None);
        };
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(io::Error::new(io::ErrorKind::TimedOut, "deadline passed"));
        }
        Ok(Some(left))
    }
}

/// Whether the socket's timeout `set` (`None`: not known) bounds a call to `left` and is
/// not needlessly short (under half of it), so it need not be set again.
fn fits(set: Option<Option<Duration>>, left: Option<Duration>) -> bool {
    match (set, left) {
        (Some(None), None) => true,
        (Some(Some(t)), Some(left)) => t <= left && t >= left / 2,
        _ => false,
    }
}

/// The timeout to set for `left`: a sixteenth under it, so it still fits the calls that
/// follow while the time left shrinks by less than that.
fn slack(left: Option<Duration>) -> Option<Duration> {
    left.map(|l| l - l / 16)
}

/// Whether a call that failed with `e` ended because the socket's own timeout, shorter
/// than the time left, ran out: worth making again.
fn cut_short(e: &io::Error, deadline: Option<Instant>) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    ) && deadline.is_some_and(|d| Instant::now() < d)
}

/// Socket timeouts report `WouldBlock` on Unix; callers should see one kind.
fn timed_out(e: io::Error) -> io::Error {
    if e.kind() == io::ErrorKind::WouldBlock {
        io::Error::new(io::ErrorKind::TimedOut, "deadline passed")
    } else {
        e
    }
}

/// Which of the socket's timeouts bounds a call.
#[derive(Clone, Copy)]
enum Direction {
    Read,
    Write,
}

impl<S: Timeouts> DeadlineStream<S> {
    /// `op` on the socket, ended by the deadline: the socket's timeout for `direction` is
    /// set when it no longer fits the time left, and `op` made again when a shorter, older
    /// timeout cut it short.
    fn bounded<T>(
        &mut self,
        direction: Direction,
        mut op: impl FnMut(&mut S) -> io::Result<T>,
    ) -> io::Result<T> {
        loop {
            let left = self.remaining()?;
            let set = match direction {
                Direction::Read => &mut self.read_timeout,
                Direction::Write => &mut self.write_timeout,
            };
            if !fits(*set, left) {
                let t = slack(left);
                match direction {
                    Direction::Read => self.inner.set_read_timeout(t)?,
                    Direction::Write => self.inner.set_write_timeout(t)?,
                }
                *set = Some(t);
            }
            match op(&mut self.inner) {
                Err(e) if cut_short(&e, self.deadline) => continue,
                done => return done.map_err(timed_out),
            }
        }
    }
}

impl<S: Timeouts + Read> Read for DeadlineStream<S> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.bounded(Direction::Read, |s| s.read(buf))
    }
}

impl<S: Timeouts + Write> Write for DeadlineStream<S> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.bounded(Direction::Write, |s| s.write(buf))
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;

    /// A socket whose reads answer from `script` (`None`: its timeout runs out) and which
    /// counts how often its timeouts are set.
    #[derive(Default)]
    struct Fake {
        script: RefCell<Vec<Option<u8>>>,
        reads_set: RefCell<Vec<Option<Duration>>>,
        writes_set: RefCell<usize>,
    }

    impl Timeouts for Fake {
        fn set_read_timeout(&self, t: Option<Duration>) -> io::Result<()> {
            self.reads_set.borrow_mut().push(t);
            Ok(())
        }
        fn set_write_timeout(&self, _: Option<Duration>) -> io::Result<()> {
            *self.writes_set.borrow_mut() += 1;
            Ok(())
        }
    }

    impl Read for Fake {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            match self.script.borrow_mut().remove(0) {
                Some(b) => {
                    buf[0] = b;
                    Ok(1)
                }
                None => Err(io::ErrorKind::WouldBlock.into()),
            }
        }
    }

    impl Write for Fake {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn the_timeout_is_set_once_while_it_still_fits_the_time_left() {
        let fake = Fake {
            script: RefCell::new(vec![Some(1), Some(2), Some(3)]),
            ..Fake::default()
        };
        let mut s = DeadlineStream::new(fake, Some(Instant::now() + Duration::from_secs(60)));
        let mut b = [0u8; 1];
        for _ in 0..3 {
            assert_eq!(s.read(&mut b).unwrap(), 1);
            s.write_all(b"x").unwrap();
        }
        // A new exchange with a fresh budget of the same size: still no need to set it.
        s.set_deadline(Some(Instant::now() + Duration::from_secs(60)));
        s.write_all(b"y").unwrap();
        assert_eq!(s.get_ref().reads_set.borrow().len(), 1);
        assert_eq!(*s.get_ref().writes_set.borrow(), 1);
        // A budget under half the timeout set (or none at all) sets it again.
        s.set_deadline(Some(Instant::now() + Duration::from_secs(10)));
        s.write_all(b"z").unwrap();
        s.set_deadline(None);
        s.write_all(b"z").unwrap();
        assert_eq!(*s.get_ref().writes_set.borrow(), 3);
    }

    #[test]
    fn a_call_cut_short_by_an_older_timeout_is_made_again_within_the_deadline() {
        let fake = Fake {
            script: RefCell::new(vec![Some(1), None, Some(2)]),
            ..Fake::default()
        };
        let mut s = DeadlineStream::new(fake, Some(Instant::now() + Duration::from_secs(60)));
        let mut b = [0u8; 1];
        s.read_exact(&mut b).unwrap();
        // The socket's timeout ran out with time left: the read is made again.
        s.read_exact(&mut b).unwrap();
        assert_eq!(b[0], 2);
        // Once the deadline has passed, the same report is the deadline's.
        let fake = Fake {
            script: RefCell::new(vec![None]),
            ..Fake::default()
        };
        let mut s = DeadlineStream::new(fake, Some(Instant::now() + Duration::from_millis(20)));
        std::thread::sleep(Duration::from_millis(30));
        let err = s.read(&mut b).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
    }
}
