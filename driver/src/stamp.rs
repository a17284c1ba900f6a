//! Receive timestamps: when a response's bytes reached the machine, not when
//! the loop got round to reading them.
//!
//! The kernel stamps each segment on arrival (`SO_TIMESTAMPNS`), a read
//! with `recvmsg` collects the stamp with the data ([`StampedReader`]), and
//! [`Clocks`] maps the stamp, a wall-clock time, onto the monotonic clock
//! the engine counts in.

use std::io::{self, Read};
use std::os::fd::RawFd;
use std::time::{Duration, Instant, SystemTime};

/// A receive timestamp further than this from the clock is not believed
/// (the wall clock was set meanwhile); the read time stands in for it.
const MAX_STAMP_SKEW: Duration = Duration::from_secs(10);

/// Asks the kernel to stamp received data with its arrival time
/// (`SO_TIMESTAMPNS`; TCP supports it since Linux 4.13).
///
/// A response counts as complete when its last byte arrived, not when the
/// loop got round to reading it: a sleeping thread, above all on a virtual
/// machine, is slow to wake, and its wakeup would otherwise be added to
/// every latency. The kernel switches stamping on from a work queue, so the
/// first segments after the first socket asks may come unstamped; those
/// count as arrived when read.
pub(crate) fn enable_rx_timestamps(fd: RawFd) -> io::Result<()> {
    let on: libc::c_int = 1;
    // SAFETY: `on` outlives the call and its size is passed with it.
    let r = unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_TIMESTAMPNS,
            (&on as *const libc::c_int).cast(),
            size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if r == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Reads a socket with `recvmsg`, keeping the receive timestamp that comes
/// with the data (the arrival of the last segment read).
pub(crate) struct StampedReader {
    fd: RawFd,
    arrived: Option<Duration>,
}

impl StampedReader {
    /// A reader of the socket `fd`, which it does not own.
    pub(crate) fn new(fd: RawFd) -> Self {
        Self { fd, arrived: None }
    }

    /// The stamp of the last segment read so far (wall clock, since the
    /// Unix epoch), if the kernel gave one.
    pub(crate) fn arrived(&self) -> Option<Duration> {
        self.arrived
    }
}

impl Read for StampedReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        // Room for one `cmsghdr` with a `timespec`, aligned for the header.
        #[repr(C, align(8))]
        struct Control([u8; 64]);
        let mut control = Control([0; 64]);
        let mut iov = libc::iovec {
            iov_base: buf.as_mut_ptr().cast(),
            iov_len: buf.len(),
        };
        // SAFETY: an all-zero msghdr is valid (no name, no control).
        let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control.0.as_mut_ptr().cast();
        msg.msg_controllen = control.0.len() as _;
        // SAFETY: `msg` points at `iov` (over `buf`) and `control`, which
        // outlive the call.
        let n = unsafe { libc::recvmsg(self.fd, &mut msg, 0) };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: the kernel filled `msg.msg_control` with well-formed
        // headers; the CMSG_* macros stay within `msg_controllen`.
        unsafe {
            let mut c = libc::CMSG_FIRSTHDR(&msg);
            while !c.is_null() {
                if (*c).cmsg_level == libc::SOL_SOCKET && (*c).cmsg_type == libc::SCM_TIMESTAMPNS {
                    let ts: libc::timespec = std::ptr::read_unaligned(libc::CMSG_DATA(c).cast());
                    if let (Ok(s), Ok(ns)) = (u64::try_from(ts.tv_sec), u32::try_from(ts.tv_nsec)) {
                        self.arrived = Some(Duration::new(s, ns));
                    }
                }
                c = libc::CMSG_NXTHDR(&msg, c);
            }
        }
        Ok(n as usize)
    }
}

/// Maps the kernel's receive timestamps, which are wall-clock times, onto
/// the monotonic clock, by the offset between the two clocks read together.
#[derive(Clone, Copy)]
pub(crate) struct Clocks {
    pub(crate) now: Instant,
    wall: Duration,
}

/// The widest gap between the two monotonic readings around the wall clock
/// that [`Clocks::read`] takes as one pairing.
const MAX_PAIRING_GAP: Duration = Duration::from_micros(5);

impl Clocks {
    /// Both clocks, now.
    ///
    /// The wall clock is read between two readings of the monotonic one and
    /// paired with their midpoint, so that a thread preempted between the
    /// readings does not shift every stamp of this wakeup by the time it
    /// was away: with the gap over [`MAX_PAIRING_GAP`], the readings are
    /// taken again (a few times at most).
    pub(crate) fn read() -> Self {
        let pair = || {
            let before = Instant::now();
            let wall = SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .unwrap_or_default();
            let gap = Instant::now() - before;
            (
                gap,
                Self {
                    now: before + gap / 2,
                    wall,
                },
            )
        };
        let mut best = pair();
        for _ in 0..2 {
            if best.0 <= MAX_PAIRING_GAP {
                break;
            }
            let next = pair();
            if next.0 < best.0 {
                best = next;
            }
        }
        best.1
    }

    /// When data stamped `arrived` came in; `now` if there is no stamp or
    /// it cannot be right.
    pub(crate) fn arrival(&self, arrived: Option<Duration>) -> Instant {
        let Some(at) = arrived else { return self.now };
        match self.wall.checked_sub(at) {
            Some(age) if age <= MAX_STAMP_SKEW => self.now.checked_sub(age).unwrap_or(self.now),
            // Data that came in after the clocks were read.
            None if at - self.wall <= MAX_STAMP_SKEW => self.now + (at - self.wall),
            _ => self.now,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::net::{TcpListener, TcpStream};
    use std::os::fd::AsRawFd;

    use super::*;

    fn wall() -> Duration {
        SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap()
    }

    #[test]
    fn a_read_carries_the_kernel_arrival_time() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (mut server, _) = listener.accept().unwrap();
        enable_rx_timestamps(client.as_raw_fd()).unwrap();
        let mut reader = StampedReader::new(client.as_raw_fd());
        let mut buf = [0; 64];
        // The kernel switches stamping on from a work queue, so the first
        // segments after enabling may come unstamped: wait for a stamp.
        for _ in 0..100 {
            server.write_all(b"x").unwrap();
            std::thread::sleep(Duration::from_millis(10));
            assert_eq!(reader.read(&mut buf).unwrap(), 1);
            if reader.arrived.take().is_some() {
                break;
            }
        }

        let before = wall();
        server.write_all(b"HTTP/1.1 200 OK\r\n").unwrap();
        std::thread::sleep(Duration::from_millis(50));
        let n = reader.read(&mut buf).unwrap();
        let after_read = wall();

        assert_eq!(&buf[..n], b"HTTP/1.1 200 OK\r\n");
        let arrived = reader.arrived().expect("the kernel stamped the data");
        assert!(
            arrived >= before,
            "stamped {arrived:?} before the write at {before:?}"
        );
        // Stamped on arrival, not when read 50 ms later.
        assert!(
            after_read - arrived >= Duration::from_millis(40),
            "stamped {:?} before the read",
            after_read - arrived
        );
    }

    #[test]
    fn a_read_without_timestamps_enabled_has_none() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (mut server, _) = listener.accept().unwrap();
        server.write_all(b"x").unwrap();
        let mut reader = StampedReader::new(client.as_raw_fd());
        let mut buf = [0; 8];
        assert_eq!(reader.read(&mut buf).unwrap(), 1);
        assert_eq!(reader.arrived(), None);
    }

    #[test]
    fn receive_stamps_map_onto_the_monotonic_clock() {
        let now = Instant::now();
        let clocks = Clocks {
            now,
            wall: Duration::from_secs(1_000_000),
        };
        let ms = Duration::from_millis;
        assert_eq!(clocks.arrival(None), now);
        assert_eq!(clocks.arrival(Some(clocks.wall - ms(3))), now - ms(3));
        assert_eq!(clocks.arrival(Some(clocks.wall + ms(2))), now + ms(2));
        // A stamp far off means the wall clock was set: the read time stands in.
        assert_eq!(
            clocks.arrival(Some(clocks.wall - Duration::from_secs(60))),
            now
        );
        assert_eq!(
            clocks.arrival(Some(clocks.wall + Duration::from_secs(60))),
            now
        );
    }
}
