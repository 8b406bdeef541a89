//! Stand-ins for the SQS endpoint a proxy under test talks to: a port that refuses
//! connections, a TCP server that hangs or answers garbage and can turn into a relay to
//! LocalStack in place, and an https server with the test CA's certificate.
//!
//! A stand-in never gives its port up while the proxy points at it. A port released and bound
//! again can meanwhile be taken by anything on the machine: another test's `free_port()`,
//! any outbound connection's ephemeral port, or the proxy's own connection to it (a TCP
//! self-connect). Each of those made a test fail with AddrInUse or talk to the wrong peer.
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A port on 127.0.0.1 bound by a socket that does not listen: connections to it are
/// refused, as to a host where SQS is down, and no other socket can take the port until
/// [`ReservedPort::listen`] makes it a listener.
pub struct ReservedPort {
    socket: OwnedFd,
    port: u16,
}

impl ReservedPort {
    pub fn new() -> ReservedPort {
        // SAFETY: plain socket calls on a descriptor this function owns; every result is
        // checked, and the address structs are fully initialised before the kernel reads them.
        unsafe {
            let fd = libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0);
            assert!(fd >= 0, "socket: {}", std::io::Error::last_os_error());
            let socket = OwnedFd::from_raw_fd(fd);
            let one: libc::c_int = 1;
            let set = libc::setsockopt(
                fd,
                libc::SOL_SOCKET,
                libc::SO_REUSEADDR,
                (&one as *const libc::c_int).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            );
            assert_eq!(set, 0, "SO_REUSEADDR: {}", std::io::Error::last_os_error());
            let mut addr: libc::sockaddr_in = std::mem::zeroed();
            addr.sin_family = libc::AF_INET as libc::sa_family_t;
            addr.sin_addr.s_addr = u32::from(std::net::Ipv4Addr::LOCALHOST).to_be();
            let mut len = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
            let bound = libc::bind(fd, (&addr as *const libc::sockaddr_in).cast(), len);
            assert_eq!(bound, 0, "bind: {}", std::io::Error::last_os_error());
            let named =
                libc::getsockname(fd, (&mut addr as *mut libc::sockaddr_in).cast(), &mut len);
            assert_eq!(named, 0, "getsockname: {}", std::io::Error::last_os_error());
            ReservedPort {
                socket,
                port: u16::from_be(addr.sin_port),
            }
        }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Starts listening on the reserved port: from now on connections are accepted.
    pub fn listen(self) -> TcpListener {
        // SAFETY: the descriptor is a bound TCP socket this value owns.
        let listening = unsafe { libc::listen(self.socket.as_raw_fd(), 128) };
        assert_eq!(listening, 0, "listen: {}", std::io::Error::last_os_error());
        TcpListener::from(self.socket)
    }
}

/// What a [`Stub`] does with a connection it accepts.
#[derive(Clone, Copy, Debug)]
pub enum Behaviour {
    /// Never says anything: a hung server, or a TLS endpoint that never speaks TLS.
    Silent,
    /// Answers every request with the same bytes (bodies are not parsed: a chunk of bytes
    /// containing a head end is one request).
    Answer(&'static [u8]),
    /// Relays the connection to a real endpoint (LocalStack): SQS is there.
    Relay(SocketAddr),
}

/// A plain-TCP SQS endpoint on 127.0.0.1 whose behaviour can change in place
/// ([`Stub::behave`]). Dropping it closes the listener and every connection.
pub struct Stub {
    behaviour: Arc<Mutex<Behaviour>>,
    stop: Arc<AtomicBool>,
    /// Every socket a connection holds (for a relayed one, both sides).
    conns: Arc<Mutex<Vec<TcpStream>>>,
    accepted: Arc<AtomicUsize>,
    addr: SocketAddr,
    acceptor: Option<std::thread::JoinHandle<()>>,
}

impl Stub {
    /// A stand-in on a port of its own.
    pub fn start(behaviour: Behaviour) -> Stub {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind stub");
        Stub::on(listener, behaviour)
    }

    /// A stand-in on `listener` (a [`ReservedPort`] that now comes up, say).
    pub fn on(listener: TcpListener, behaviour: Behaviour) -> Stub {
        let addr = listener.local_addr().expect("stub addr");
        let behaviour = Arc::new(Mutex::new(behaviour));
        let stop: Arc<AtomicBool> = Arc::default();
        let conns: Arc<Mutex<Vec<TcpStream>>> = Arc::default();
        let accepted: Arc<AtomicUsize> = Arc::default();
        let acceptor = std::thread::spawn({
            let (behaviour, stop) = (Arc::clone(&behaviour), Arc::clone(&stop));
            let (conns, accepted) = (Arc::clone(&conns), Arc::clone(&accepted));
            move || {
                for conn in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(conn) = conn else { continue };
                    accepted.fetch_add(1, Ordering::SeqCst);
                    let now = *behaviour.lock().unwrap();
                    serve(conn, now, &conns);
                }
            }
        });
        Stub {
            behaviour,
            stop,
            conns,
            accepted,
            addr,
            acceptor: Some(acceptor),
        }
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// The endpoint URL a proxy is given.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Connections accepted so far.
    pub fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }

    /// Connections accepted from now on get `behaviour`; those already accepted keep theirs
    /// (calls waiting on a hung server stay hung, as with a real one).
    pub fn behave(&self, behaviour: Behaviour) {
        *self.behaviour.lock().unwrap() = behaviour;
    }

    /// Closes every connection accepted so far.
    pub fn close_accepted(&self) {
        for c in self.conns.lock().unwrap().drain(..) {
            let _ = c.shutdown(Shutdown::Both);
        }
    }
}

/// Gives one accepted connection `behaviour`, keeping its sockets in `conns`.
fn serve(conn: TcpStream, behaviour: Behaviour, conns: &Mutex<Vec<TcpStream>>) {
    let Ok(clone) = conn.try_clone() else { return };
    match behaviour {
        Behaviour::Silent => conns.lock().unwrap().push(conn),
        Behaviour::Answer(answer) => {
            conns.lock().unwrap().push(clone);
            std::thread::spawn(move || answer_each_request(conn, answer));
        }
        Behaviour::Relay(target) => {
            let Ok(upstream) = TcpStream::connect_timeout(&target, Duration::from_secs(5)) else {
                return;
            };
            let Ok(upstream_clone) = upstream.try_clone() else {
                return;
            };
            conns.lock().unwrap().extend([clone, upstream_clone]);
            let (Ok(client), Ok(up)) = (conn.try_clone(), upstream.try_clone()) else {
                return;
            };
            pipe(client, up);
            pipe(upstream, conn);
        }
    }
}

fn answer_each_request(mut conn: TcpStream, answer: &'static [u8]) {
    let mut buf = [0u8; 64 * 1024];
    while let Ok(n) = conn.read(&mut buf) {
        if n == 0 || conn.write_all(answer).is_err() {
            break;
        }
    }
}

fn pipe(mut from: TcpStream, mut to: TcpStream) {
    std::thread::spawn(move || {
        let mut buf = [0u8; 16 * 1024];
        while let Ok(n) = from.read(&mut buf) {
            if n == 0 || to.write_all(&buf[..n]).is_err() {
                break;
            }
        }
        let _ = to.shutdown(Shutdown::Write);
    });
}

impl Drop for Stub {
    /// Returns once the listener is closed and every connection shut.
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag and drops the listener.
        let _ = TcpStream::connect(self.addr);
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
        self.close_accepted();
    }
}
/// An https SQS stand-in presenting the test CA's certificate for localhost and 127.0.0.1
/// (`edge_tests::tls`): every request read whole gets `answer`. Counts the TLS sessions
/// that carried a request.
pub struct TlsStub {
    pub addr: SocketAddr,
    sessions: Arc<AtomicUsize>,
}

impl TlsStub {
    pub fn start(answer: &'static [u8]) -> TlsStub {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind tls stub");
        let addr = listener.local_addr().expect("tls stub addr");
        let sessions = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&sessions);
        let config = edge_tests::tls::server_config();
        // Ends with the test process (the listener is never closed).
        std::thread::spawn(move || {
            for conn in listener.incoming().flatten() {
                let (config, counter) = (Arc::clone(&config), Arc::clone(&counter));
                std::thread::spawn(move || serve_tls(conn, config, answer, &counter));
            }
        });
        TlsStub { addr, sessions }
    }

    pub fn sessions(&self) -> usize {
        self.sessions.load(Ordering::SeqCst)
    }
}

fn serve_tls(
    tcp: TcpStream,
    config: Arc<rustls::ServerConfig>,
    answer: &'static [u8],
    sessions: &AtomicUsize,
) {
    let Ok(session) = rustls::ServerConnection::new(config) else {
        return;
    };
    let mut reader = http1::MessageReader::new(rustls::StreamOwned::new(session, tcp));
    let limits = http1::Limits::default();
    let mut first = true;
    while let Ok(Some(_)) = reader.read_request(&limits, http1::BodyLimit::Reject(4 << 20)) {
        if first {
            sessions.fetch_add(1, Ordering::SeqCst);
            first = false;
        }
        let stream = reader.get_mut();
        if stream
            .write_all(answer)
            .and_then(|()| stream.flush())
            .is_err()
        {
            return;
        }
    }
}
