//! A loopback TCP proxy that plays a slow, lossy link (a 2G/3G village connection) between the
//! phone client and the server: it paces each direction, delays it, and resets a share of the
//! connections part-way through.

use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context as _;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::tcp::{ReadHalf, WriteHalf};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::{Semaphore, mpsc};
use tokio::task::{JoinHandle, JoinSet};
use tokio::time::{Instant, sleep_until};

/// `SO_RCVBUF` and `SO_SNDBUF` asked for on the proxy's sockets (Linux doubles it), so that the
/// kernel does not absorb what the link has not carried yet.
const SOCKET_BUFFER: u32 = 16 * 1024;

/// The largest piece read at once, and the piece size of an unlimited direction.
const MAX_PIECE: usize = 16 * 1024;

/// Bytes a direction may hold read but not yet written, beyond what the link has in flight.
const QUEUE_ALLOWANCE: u64 = 64 * 1024;

/// The most a direction holds in flight however fast and long the link.
const MAX_IN_FLIGHT: u64 = 8 * 1024 * 1024;

/// A read that comes this soon after the link went idle found its bytes waiting: the link is
/// taken to have stayed busy, so that timer lateness does not slow the pace down.
const BUSY_SLACK: Duration = Duration::from_millis(5);

/// How the link behaves.
#[derive(Debug, Clone)]
pub struct LinkProfile {
    /// Client → server pace in bits per second; [`LinkProfile::UNLIMITED`] (or 0) for no limit.
    pub up_bits_per_sec: u64,
    /// Server → client pace in bits per second; [`LinkProfile::UNLIMITED`] (or 0) for no limit.
    pub down_bits_per_sec: u64,
    /// Latency added to each direction.
    pub one_way_delay: Duration,
    /// The chance (0.0 to 1.0) that a connection is reset at a random byte of each stretch of
    /// `cut_window` client → server bytes it carries.
    pub cut_fraction: f64,
    /// The stretch of client → server bytes each cut is drawn for; 0 means no cuts.
    pub cut_window: u64,
    /// Seeds the choice of cuts: the same seed cuts the n-th connection at the same byte.
    pub seed: u64,
}

impl LinkProfile {
    /// A pace that means "no limit" (0 is read the same way, not as a dead link).
    pub const UNLIMITED: u64 = u64::MAX;

    /// A field link: 64 kbit/s up, 256 kbit/s down, 150 ms each way, and a connection reset at
    /// a random byte of one in five stretches of 128 KiB it carries up (a drop every 80 s or so
    /// while sending).
    pub fn field_2g() -> Self {
        Self {
            up_bits_per_sec: 64_000,
            down_bits_per_sec: 256_000,
            one_way_delay: Duration::from_millis(150),
            cut_fraction: 0.2,
            cut_window: 128 * 1024,
            seed: 0x5eed,
        }
    }

    /// A clean link: no pace limit ([`LinkProfile::UNLIMITED`]), no delay, no cuts.
    pub fn clean() -> Self {
        Self {
            up_bits_per_sec: Self::UNLIMITED,
            down_bits_per_sec: Self::UNLIMITED,
            one_way_delay: Duration::ZERO,
            cut_fraction: 0.0,
            cut_window: 0,
            seed: 0,
        }
    }

    /// The client → server byte at which the connection numbered `index` (from 0, in accept
    /// order) is reset, if it is to be: each stretch of `cut_window` bytes it carries up is cut
    /// at a random byte with the chance `cut_fraction`, as a link drops now and then whatever
    /// connection it carries (an HTTP client keeps one connection for many requests).
    fn cut_point(&self, index: u64) -> Option<u64> {
        if self.cut_window == 0 || self.cut_fraction.is_nan() || self.cut_fraction <= 0.0 {
            return None;
        }
        let mut state = self.seed ^ index.wrapping_mul(0xD1B5_4A32_D192_ED03);
        (0..MAX_WINDOWS).find_map(|window| {
            let roll = (splitmix64(&mut state) >> 11) as f64 / (1u64 << 53) as f64;
            let draw = u128::from(splitmix64(&mut state)) * u128::from(self.cut_window);
            (roll < self.cut_fraction).then(|| window * self.cut_window + (draw >> 64) as u64)
        })
    }
}

/// Stretches of `cut_window` bytes a connection is drawn for; one that outlasts them all is
/// never cut.
const MAX_WINDOWS: u64 = 4096;

/// One step of SplitMix64: advances `state` and returns a well-mixed 64-bit value.
fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Whether a pace of `bits_per_sec` means no limit.
fn unlimited(bits_per_sec: u64) -> bool {
    bits_per_sec == 0 || bits_per_sec == LinkProfile::UNLIMITED
}

/// How many bytes to read at once at `bits_per_sec`: a tenth of a second's worth.
fn piece_len(bits_per_sec: u64) -> usize {
    if unlimited(bits_per_sec) {
        return MAX_PIECE;
    }
    usize::try_from(bits_per_sec / 80)
        .unwrap_or(MAX_PIECE)
        .clamp(1, MAX_PIECE)
}

/// How long `len` bytes take on the wire at `bits_per_sec`.
fn transmission_time(len: usize, bits_per_sec: u64) -> Duration {
    if unlimited(bits_per_sec) {
        return Duration::ZERO;
    }
    let nanos = (len as u128) * 8 * 1_000_000_000 / u128::from(bits_per_sec);
    Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
}

/// Bytes a direction at `bits_per_sec` with `delay` may hold read but not yet written: what
/// the link has in flight plus a queue's allowance.
fn in_flight_budget(bits_per_sec: u64, delay: Duration) -> usize {
    let bytes_per_sec = if unlimited(bits_per_sec) {
        u128::from(u64::MAX)
    } else {
        u128::from(bits_per_sec / 8)
    };
    let in_flight = bytes_per_sec * delay.as_nanos() / 1_000_000_000;
    let in_flight = u64::try_from(in_flight)
        .unwrap_or(MAX_IN_FLIGHT)
        .min(MAX_IN_FLIGHT);
    usize::try_from(QUEUE_ALLOWANCE + in_flight).unwrap_or(MAX_PIECE)
}

/// What the proxy has carried so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProxyStats {
    /// Connections accepted.
    pub connections: u64,
    /// Connections reset at their cut byte.
    pub cut: u64,
    /// Client → server bytes written to the server's socket (at a cut, the last of them may be
    /// lost with the reset, as bytes in flight are on a real link).
    pub bytes_up: u64,
    /// Server → client bytes written to the client's socket.
    pub bytes_down: u64,
}

/// What the accept loop and the connections share with the [`FaultProxy`] handle.
#[derive(Debug)]
struct Shared {
    /// The profile new connections take; live ones read its paces and delay as they go.
    profile: Mutex<LinkProfile>,
    connections: AtomicU64,
    cut: AtomicU64,
    bytes_up: AtomicU64,
    bytes_down: AtomicU64,
}

impl Shared {
    /// The current profile.
    fn profile(&self) -> LinkProfile {
        match self.profile.lock() {
            Ok(profile) => profile.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }
}

/// A running proxy on an ephemeral loopback port. Dropping it stops accepting and ends the
/// connections it carries.
#[derive(Debug)]
pub struct FaultProxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
    task: JoinHandle<()>,
}

impl FaultProxy {
    /// Starts listening on `127.0.0.1:0` and forwards each accepted connection to `upstream`,
    /// given as a socket address (`127.0.0.1:41234`) or a base URL (`http://127.0.0.1:41234`,
    /// as [`crate::TestServer::url`] is; a path after the authority is ignored).
    pub async fn start(upstream: &str, profile: LinkProfile) -> anyhow::Result<FaultProxy> {
        let upstream = resolve(upstream).await?;
        let socket = TcpSocket::new_v4()?;
        socket.set_recv_buffer_size(SOCKET_BUFFER)?;
        socket.set_send_buffer_size(SOCKET_BUFFER)?;
        socket.bind(SocketAddr::from(([127, 0, 0, 1], 0)))?;
        let listener = socket.listen(1024)?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            profile: Mutex::new(profile),
            connections: AtomicU64::new(0),
            cut: AtomicU64::new(0),
            bytes_up: AtomicU64::new(0),
            bytes_down: AtomicU64::new(0),
        });
        let task = tokio::spawn(accept_loop(listener, upstream, shared.clone()));
        Ok(FaultProxy { addr, shared, task })
    }

    /// The base URL for the client, like `http://127.0.0.1:41234`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The address the proxy listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// What the proxy has carried so far.
    pub fn stats(&self) -> ProxyStats {
        ProxyStats {
            connections: self.shared.connections.load(Ordering::Relaxed),
            cut: self.shared.cut.load(Ordering::Relaxed),
            bytes_up: self.shared.bytes_up.load(Ordering::Relaxed),
            bytes_down: self.shared.bytes_down.load(Ordering::Relaxed),
        }
    }

    /// Changes the link: new connections take all of `profile`; live ones take its paces and
    /// delay from their next piece, and keep the cut (or none) drawn when they were accepted.
    pub fn set_profile(&self, profile: LinkProfile) {
        match self.shared.profile.lock() {
            Ok(mut current) => *current = profile,
            Err(poisoned) => *poisoned.into_inner() = profile,
        }
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        // The accept loop owns the listener and the connections' tasks; aborting it drops them.
        self.task.abort();
    }
}

/// The socket address of `upstream`, an address or an `http://` base URL.
async fn resolve(upstream: &str) -> anyhow::Result<SocketAddr> {
    let authority = upstream.strip_prefix("http://").unwrap_or(upstream);
    anyhow::ensure!(
        !authority.contains("://"),
        "the fault proxy forwards to an address or an http:// URL, not {upstream}"
    );
    let authority = authority
        .split_once('/')
        .map_or(authority, |(authority, _)| authority);
    tokio::net::lookup_host(authority)
        .await
        .with_context(|| format!("resolving {authority}"))?
        .next()
        .with_context(|| format!("{authority} resolves to no address"))
}

/// Accepts connections and carries each in its own task until aborted.
async fn accept_loop(listener: TcpListener, upstream: SocketAddr, shared: Arc<Shared>) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((client, _)) => {
                    let index = shared.connections.fetch_add(1, Ordering::Relaxed);
                    connections.spawn(carry(client, upstream, shared.clone(), index));
                }
                // Out of descriptors or an aborted handshake: wait a little rather than spin.
                Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

/// Why a connection ended before both directions closed.
#[derive(Debug)]
enum End {
    /// The client → server bytes reached the connection's cut byte.
    Cut,
    /// A socket failed.
    Failed,
}

/// One direction's bytes, read but not yet forwarded.
#[derive(Debug)]
struct Piece {
    /// When the far end of the link has them: read, transmitted, then delayed.
    ready_at: Instant,
    bytes: Vec<u8>,
}

/// Which way bytes go.
#[derive(Debug, Clone, Copy)]
enum Direction {
    /// Client → server.
    Up,
    /// Server → client.
    Down,
}

impl Direction {
    /// This direction's pace in `profile`.
    fn pace(self, profile: &LinkProfile) -> u64 {
        match self {
            Direction::Up => profile.up_bits_per_sec,
            Direction::Down => profile.down_bits_per_sec,
        }
    }
}

/// Carries one accepted connection to `upstream` and back until both directions close, a socket
/// fails, or the cut byte is reached; the last two reset both sides.
async fn carry(mut client: TcpStream, upstream: SocketAddr, shared: Arc<Shared>, index: u64) {
    let profile = shared.profile();
    let cut_at = profile.cut_point(index);
    let mut server = match connect(upstream).await {
        Ok(server) => server,
        Err(_) => {
            let _ = client.set_zero_linger();
            return;
        }
    };
    let _ = client.set_nodelay(true);
    let up_budget = Semaphore::new(in_flight_budget(
        profile.up_bits_per_sec,
        profile.one_way_delay,
    ));
    let down_budget = Semaphore::new(in_flight_budget(
        profile.down_bits_per_sec,
        profile.one_way_delay,
    ));
    let outcome = {
        let (client_read, client_write) = client.split();
        let (server_read, server_write) = server.split();
        let (up_tx, up_rx) = mpsc::unbounded_channel();
        let (down_tx, down_rx) = mpsc::unbounded_channel();
        tokio::try_join!(
            take_in(client_read, up_tx, &up_budget, &shared, Direction::Up),
            send_out(server_write, up_rx, &up_budget, &shared.bytes_up, cut_at),
            take_in(server_read, down_tx, &down_budget, &shared, Direction::Down),
            send_out(
                client_write,
                down_rx,
                &down_budget,
                &shared.bytes_down,
                None
            ),
        )
    };
    if let Err(end) = outcome {
        if matches!(end, End::Cut) {
            shared.cut.fetch_add(1, Ordering::Relaxed);
        }
        // With a zero linger, dropping the sockets sends each peer a reset.
        let _ = client.set_zero_linger();
        let _ = server.set_zero_linger();
    }
}

/// Opens a connection to `upstream` with small socket buffers.
async fn connect(upstream: SocketAddr) -> io::Result<TcpStream> {
    let socket = if upstream.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    socket.set_recv_buffer_size(SOCKET_BUFFER)?;
    socket.set_send_buffer_size(SOCKET_BUFFER)?;
    socket.set_nodelay(true)?;
    socket.connect(upstream).await
}

/// Reads `from` no faster than `direction`'s pace, in pieces of a tenth of a second's worth,
/// and queues each piece with the time the far end of the link has it. Returns at end of stream.
async fn take_in(
    mut from: ReadHalf<'_>,
    queue: mpsc::UnboundedSender<Piece>,
    budget: &Semaphore,
    shared: &Shared,
    direction: Direction,
) -> Result<(), End> {
    let mut link_free_at = Instant::now();
    loop {
        sleep_until(link_free_at).await;
        let pace = direction.pace(&shared.profile());
        let want = piece_len(pace);
        let permit = budget
            .acquire_many(u32::try_from(want).unwrap_or(u32::MAX))
            .await
            .map_err(|_| End::Failed)?;
        let mut bytes = vec![0; want];
        let read = from.read(&mut bytes).await.map_err(|_| End::Failed)?;
        if read == 0 {
            return Ok(());
        }
        permit.forget();
        budget.add_permits(want - read);
        bytes.truncate(read);
        let now = Instant::now();
        let start = if now.saturating_duration_since(link_free_at) <= BUSY_SLACK {
            link_free_at
        } else {
            now
        };
        // The pace and delay may have changed while the read waited.
        let profile = shared.profile();
        link_free_at = start + transmission_time(read, direction.pace(&profile));
        let piece = Piece {
            ready_at: link_free_at + profile.one_way_delay,
            bytes,
        };
        if queue.send(piece).is_err() {
            return Ok(());
        }
    }
}

/// Writes each queued piece to `to` once the link has carried it, counting the bytes in
/// `carried`, and shuts `to`'s write half when the queue ends. With `cut_at`, writes the bytes
/// before that byte and fails with [`End::Cut`] instead of writing it.
async fn send_out(
    mut to: WriteHalf<'_>,
    mut queue: mpsc::UnboundedReceiver<Piece>,
    budget: &Semaphore,
    carried: &AtomicU64,
    cut_at: Option<u64>,
) -> Result<(), End> {
    let mut sent: u64 = 0;
    while let Some(piece) = queue.recv().await {
        sleep_until(piece.ready_at).await;
        let room = cut_at.map_or(u64::MAX, |at| at.saturating_sub(sent));
        let len =
            usize::try_from(room).map_or(piece.bytes.len(), |room| room.min(piece.bytes.len()));
        let bytes = piece.bytes.get(..len).unwrap_or_default();
        to.write_all(bytes).await.map_err(|_| End::Failed)?;
        sent += len as u64;
        carried.fetch_add(len as u64, Ordering::Relaxed);
        if len < piece.bytes.len() {
            return Err(End::Cut);
        }
        budget.add_permits(len);
    }
    to.shutdown().await.map_err(|_| End::Failed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::sync::oneshot;
    use tokio::time::timeout;

    /// The longest any step of these tests may take.
    const PATIENCE: Duration = Duration::from_secs(10);

    /// What a sink read from its one connection, and whether it ended in an error.
    struct Sunk {
        bytes: Vec<u8>,
        failed: bool,
    }

    /// A server that reads one connection to its end and reports what came.
    async fn sink() -> anyhow::Result<(SocketAddr, oneshot::Receiver<Sunk>)> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let (tx, rx) = oneshot::channel();
        tokio::spawn(async move {
            let Ok((mut stream, _)) = listener.accept().await else {
                return;
            };
            let mut bytes = Vec::new();
            let failed = stream.read_to_end(&mut bytes).await.is_err();
            let _ = tx.send(Sunk { bytes, failed });
        });
        Ok((addr, rx))
    }

    /// A server that sends back whatever each connection sends, and closes when it has.
    async fn echo() -> anyhow::Result<SocketAddr> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let (mut read, mut write) = stream.split();
                    if tokio::io::copy(&mut read, &mut write).await.is_ok() {
                        let _ = write.shutdown().await;
                    }
                });
            }
        });
        Ok(addr)
    }

    /// `len` bytes that are not all alike.
    fn pattern(len: usize) -> Vec<u8> {
        let mut state = 1;
        (0..len).map(|_| splitmix64(&mut state) as u8).collect()
    }

    #[tokio::test]
    async fn pacing_holds_the_client_to_the_link_rate() -> anyhow::Result<()> {
        let (addr, sunk) = sink().await?;
        let profile = LinkProfile {
            up_bits_per_sec: 64_000,
            ..LinkProfile::clean()
        };
        let proxy = FaultProxy::start(&addr.to_string(), profile).await?;
        let data = pattern(16 * 1024);
        let started = Instant::now();
        let mut client = TcpStream::connect(proxy.addr()).await?;
        client.write_all(&data).await?;
        client.shutdown().await?;
        let sunk = timeout(PATIENCE, sunk).await??;
        let took = started.elapsed();
        // 16 KiB at 64 kbit/s is 2.05 s on the wire.
        assert!(took >= Duration::from_millis(1500), "took {took:?}");
        assert!(!sunk.failed);
        assert_eq!(sunk.bytes, data);
        assert_eq!(proxy.stats().bytes_up, data.len() as u64);
        assert_eq!(proxy.stats().bytes_down, 0);
        Ok(())
    }

    #[tokio::test]
    async fn a_slow_link_stalls_the_clients_writes() -> anyhow::Result<()> {
        let (addr, _sunk) = sink().await?;
        let profile = LinkProfile {
            up_bits_per_sec: 64_000,
            ..LinkProfile::clean()
        };
        let proxy = FaultProxy::start(&addr.to_string(), profile).await?;
        // On loopback the client's own send buffer grows to `tcp_wmem`'s maximum (4 MiB), as
        // it never would behind a real 2G link; keep it small to see what the proxy holds.
        let socket = TcpSocket::new_v4()?;
        socket.set_send_buffer_size(SOCKET_BUFFER)?;
        let mut client = socket.connect(proxy.addr()).await?;
        let chunk = pattern(1024);
        let mut written = 0;
        let _ = timeout(Duration::from_secs(1), async {
            while client.write_all(&chunk).await.is_ok() {
                written += chunk.len();
            }
        })
        .await;
        // In a second the link carries 8 KB; the rest sits in the client's and the proxy's
        // socket buffers (32 KiB each, as Linux doubles what is asked), not in megabytes.
        assert!(
            written < 160 * 1024,
            "the client wrote {written} bytes in 1 s"
        );
        assert!(proxy.stats().bytes_up <= 10_000, "{:?}", proxy.stats());
        Ok(())
    }

    #[tokio::test]
    async fn a_cut_connection_is_reset_before_its_cut_byte() -> anyhow::Result<()> {
        let (addr, sunk) = sink().await?;
        let profile = LinkProfile {
            cut_fraction: 1.0,
            cut_window: 10_000,
            seed: 7,
            ..LinkProfile::clean()
        };
        let proxy = FaultProxy::start(&addr.to_string(), profile).await?;
        let mut client = TcpStream::connect(proxy.addr()).await?;
        let wrote = timeout(PATIENCE, client.write_all(&pattern(50_000))).await?;
        let reset = match wrote {
            Err(_) => true,
            Ok(()) => timeout(PATIENCE, client.read(&mut [0; 16])).await?.is_err(),
        };
        assert!(reset, "the client saw no reset");
        let sunk = timeout(PATIENCE, sunk).await??;
        assert!(
            sunk.bytes.len() < 10_000,
            "{} bytes arrived",
            sunk.bytes.len()
        );
        let stats = proxy.stats();
        assert_eq!((stats.connections, stats.cut), (1, 1));
        assert!(stats.bytes_up < 10_000, "{stats:?}");
        Ok(())
    }

    #[tokio::test]
    async fn an_uncut_connection_carries_every_byte_both_ways() -> anyhow::Result<()> {
        let addr = echo().await?;
        let profile = LinkProfile {
            cut_fraction: 0.0,
            cut_window: 10_000,
            ..LinkProfile::clean()
        };
        let proxy = FaultProxy::start(&format!("http://{addr}"), profile).await?;
        let data = pattern(50_000);
        let mut client = TcpStream::connect(proxy.addr()).await?;
        let (mut read, mut write) = client.split();
        let mut back = Vec::new();
        let (wrote, came_back) = timeout(PATIENCE, async {
            tokio::join!(
                async {
                    write.write_all(&data).await?;
                    write.shutdown().await
                },
                read.read_to_end(&mut back),
            )
        })
        .await?;
        wrote?;
        came_back?;
        assert_eq!(back, data);
        let stats = proxy.stats();
        assert_eq!(
            stats,
            ProxyStats {
                connections: 1,
                cut: 0,
                bytes_up: 50_000,
                bytes_down: 50_000,
            }
        );
        Ok(())
    }

    #[tokio::test]
    async fn a_round_trip_takes_twice_the_one_way_delay() -> anyhow::Result<()> {
        let addr = echo().await?;
        let profile = LinkProfile {
            one_way_delay: Duration::from_millis(100),
            ..LinkProfile::clean()
        };
        let proxy = FaultProxy::start(&addr.to_string(), profile).await?;
        let mut client = TcpStream::connect(proxy.addr()).await?;
        let started = Instant::now();
        client.write_all(b"x").await?;
        let mut byte = [0; 1];
        timeout(PATIENCE, client.read_exact(&mut byte)).await??;
        let took = started.elapsed();
        assert_eq!(&byte, b"x");
        assert!(took >= Duration::from_millis(200), "took {took:?}");
        Ok(())
    }

    #[tokio::test]
    async fn dropping_the_proxy_ends_its_connections() -> anyhow::Result<()> {
        let addr = echo().await?;
        let proxy = FaultProxy::start(&addr.to_string(), LinkProfile::clean()).await?;
        let mut client = TcpStream::connect(proxy.addr()).await?;
        client.write_all(b"x").await?;
        let mut byte = [0; 1];
        timeout(PATIENCE, client.read_exact(&mut byte)).await??;
        drop(proxy);
        let ended = timeout(PATIENCE, client.read(&mut byte)).await?;
        assert!(matches!(ended, Ok(0) | Err(_)), "{ended:?}");
        Ok(())
    }

    #[test]
    fn cuts_follow_the_seed_and_the_fraction() {
        let profile = LinkProfile::field_2g();
        let cuts: Vec<_> = (0..1000).map(|i| profile.cut_point(i)).collect();
        let again: Vec<_> = (0..1000).map(|i| profile.cut_point(i)).collect();
        assert_eq!(cuts, again);
        let in_first = cuts
            .iter()
            .flatten()
            .filter(|&&at| at < profile.cut_window)
            .count();
        assert!(
            (150..250).contains(&in_first),
            "{in_first} of 1000 cut in their first window"
        );
        let in_second = cuts
            .iter()
            .flatten()
            .filter(|&&at| (profile.cut_window..2 * profile.cut_window).contains(&at))
            .count();
        assert!(
            (100..220).contains(&in_second),
            "{in_second} of 1000 cut in their second window"
        );
        assert!((0..100).all(|i| LinkProfile::clean().cut_point(i).is_none()));
    }
}
