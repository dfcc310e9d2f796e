//! Requests that fail on silence, not on size. A photo takes minutes on a 64 kbit/s link, so a
//! limit on the whole request would cut every large body; a link that died moves no byte at all.
//! So a request body is handed to the HTTP stack in small pieces through a [`Meter`] that notes
//! each byte moved (and each byte of the answer that arrives), and [`watch`] ends the request
//! when nothing has moved either way for the silence limit. The meter also tells how far a body
//! has gone while it goes, which is what a progress bar shows.
//!
//! The operating system takes bytes into the socket's send buffer before the link carries them
//! (on loopback, megabytes), so a body can be handed over long before it has gone. The watch
//! allows for that: after the last movement it waits the silence limit plus the time the bytes
//! handed over would take at [`SLOWEST_PACE`]. A link that dies with bytes unsent is found sooner
//! by the kernel: the client sets `TCP_USER_TIMEOUT` to the silence limit, so a connection whose
//! sent bytes stay unacknowledged that long fails.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body::{Frame, SizeHint};

use super::ClientError;

/// Bytes handed to the HTTP stack at a time: small enough that the meter moves several times a
/// second at 64 kbit/s, large enough to cost nothing on Wi-Fi.
const PIECE: usize = 4 * 1024;

/// The slowest link the app is made for, in bytes a second (16 kbit/s): bytes handed over may
/// wait in the send buffer this long before they count as silence.
pub(crate) const SLOWEST_PACE: f64 = 2_000.0;

/// How often a request in flight is looked at (silence, progress).
pub(crate) const TICK: Duration = Duration::from_millis(500);

/// What moved on one request, and when last.
#[derive(Debug)]
pub(crate) struct Meter {
    start: Instant,
    /// Body bytes handed to the HTTP stack.
    sent: AtomicU64,
    /// Milliseconds after `start` when a byte last moved either way.
    last_ms: AtomicU64,
}

impl Meter {
    /// A meter starting now.
    pub(crate) fn new() -> Arc<Self> {
        Arc::new(Self {
            start: Instant::now(),
            sent: AtomicU64::new(0),
            last_ms: AtomicU64::new(0),
        })
    }

    fn moved(&self) {
        let now = u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last_ms.fetch_max(now, Ordering::Relaxed);
    }

    /// Body bytes handed over so far.
    pub(crate) fn sent(&self) -> u64 {
        self.sent.load(Ordering::Relaxed)
    }

    fn silent_for(&self) -> Duration {
        self.start
            .elapsed()
            .saturating_sub(Duration::from_millis(self.last_ms.load(Ordering::Relaxed)))
    }
}

/// A request body handed over in pieces, each counted by the meter as the HTTP stack takes it
/// (it takes the next only when the connection has room for it).
pub(crate) struct MeteredBody {
    rest: Bytes,
    meter: Arc<Meter>,
}

impl MeteredBody {
    /// `bytes`, counted on `meter`.
    pub(crate) fn new(bytes: Bytes, meter: Arc<Meter>) -> Self {
        Self { rest: bytes, meter }
    }
}

impl http_body::Body for MeteredBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        if self.rest.is_empty() {
            return Poll::Ready(None);
        }
        let take = self.rest.len().min(PIECE);
        let piece = self.rest.split_to(take);
        self.meter.sent.fetch_add(take as u64, Ordering::Relaxed);
        self.meter.moved();
        Poll::Ready(Some(Ok(Frame::data(piece))))
    }

    fn is_end_stream(&self) -> bool {
        self.rest.is_empty()
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.rest.len() as u64)
    }
}

/// What came back.
#[derive(Debug)]
pub(crate) struct Answer {
    /// The status.
    pub status: reqwest::StatusCode,
    /// The headers.
    pub headers: reqwest::header::HeaderMap,
    /// The whole body.
    pub body: Bytes,
}

impl Answer {
    /// A header as text.
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// Sends `request` with `body` (metered) and reads the whole answer (each piece that arrives
/// counts as movement), failing with [`ClientError::Silent`] when nothing moves either way for
/// `silence`. `tick` is called about every [`TICK`] with the body bytes handed over so far.
pub(crate) async fn exchange(
    request: reqwest::RequestBuilder,
    body: Option<Bytes>,
    silence: Duration,
    tick: &mut (dyn FnMut(u64) + Send),
) -> Result<Answer, ClientError> {
    let meter = Meter::new();
    let request = match body {
        Some(body) => request
            .header(reqwest::header::CONTENT_LENGTH, body.len())
            .body(reqwest::Body::wrap(MeteredBody::new(body, meter.clone()))),
        None => request,
    };
    let exchange = async {
        let mut response = request.send().await?;
        meter.moved();
        let status = response.status();
        let headers = response.headers().clone();
        let mut body = Vec::new();
        while let Some(piece) = response.chunk().await? {
            meter.moved();
            body.extend_from_slice(&piece);
        }
        Ok(Answer {
            status,
            headers,
            body: body.into(),
        })
    };
    watch(&meter, silence, tick, exchange).await
}

/// Runs `request` until it ends, or until `meter` saw nothing move for `silence`.
async fn watch<T>(
    meter: &Meter,
    silence: Duration,
    tick: &mut (dyn FnMut(u64) + Send),
    request: impl Future<Output = Result<T, ClientError>>,
) -> Result<T, ClientError> {
    let mut request = std::pin::pin!(request);
    let mut ticker = tokio::time::interval(TICK);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        tokio::select! {
            answer = &mut request => return answer,
            _ = ticker.tick() => {
                let sent = meter.sent();
                tick(sent);
                let silent = meter.silent_for();
                if silent >= silence + Duration::from_secs_f64(sent as f64 / SLOWEST_PACE) {
                    return Err(ClientError::Silent { seconds: silent.as_secs() });
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reads what `conn` sends, pausing `pause` after each read, until it closes.
    async fn drain(conn: tokio::net::TcpStream, piece: usize, pause: Duration) {
        let mut buf = vec![0; piece.max(1)];
        while conn.readable().await.is_ok() {
            match conn.try_read(&mut buf) {
                Ok(0) => return,
                Ok(_) => tokio::time::sleep(pause).await,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(_) => return,
            }
        }
    }

    /// A server that reads whatever comes at `bytes_per_sec` and never answers.
    async fn slow_reader(bytes_per_sec: usize) -> std::io::Result<String> {
        let socket = tokio::net::TcpSocket::new_v4()?;
        socket.set_recv_buffer_size(4096)?;
        socket.bind("127.0.0.1:0".parse().map_err(std::io::Error::other)?)?;
        let listener = socket.listen(8)?;
        let url = format!("http://{}", listener.local_addr()?);
        tokio::spawn(async move {
            while let Ok((conn, _)) = listener.accept().await {
                tokio::spawn(drain(conn, bytes_per_sec / 10, Duration::from_millis(100)));
            }
        });
        Ok(url)
    }

    /// A server that reads the request and then says nothing.
    async fn mute() -> std::io::Result<String> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}", listener.local_addr()?);
        tokio::spawn(async move {
            while let Ok((conn, _)) = listener.accept().await {
                tokio::spawn(drain(conn, 1024, Duration::ZERO));
            }
        });
        Ok(url)
    }

    #[tokio::test]
    async fn a_body_that_keeps_moving_is_never_cut_however_long_it_takes() -> anyhow::Result<()> {
        // 8 MiB at about 64 KiB/s: over three seconds, with a silence limit of one.
        let url = slow_reader(64 * 1024).await?;
        let mut ticks = Vec::new();
        let request = reqwest::Client::new().put(&url);
        let outcome = tokio::time::timeout(
            Duration::from_secs(3),
            exchange(
                request,
                Some(Bytes::from(vec![7; 8 * 1024 * 1024])),
                Duration::from_secs(1),
                &mut |sent| ticks.push(sent),
            ),
        )
        .await;
        assert!(outcome.is_err(), "still sending after 3 s: {outcome:?}");
        assert!(ticks.len() >= 4, "ticks while sending: {ticks:?}");
        assert!(ticks.windows(2).all(|w| w[0] <= w[1]), "{ticks:?}");
        let last = ticks.last().copied().unwrap_or(0);
        assert!(
            (64 * 1024..8 * 1024 * 1024).contains(&last),
            "bytes handed over follow the link, not the body: {last}"
        );
        Ok(())
    }

    #[tokio::test]
    async fn a_request_fails_when_nothing_moves_for_the_silence_limit() -> anyhow::Result<()> {
        let url = mute().await?;
        let started = Instant::now();
        let outcome = exchange(
            reqwest::Client::new().get(&url),
            None,
            Duration::from_secs(1),
            &mut |_| {},
        )
        .await;
        assert!(
            matches!(outcome, Err(ClientError::Silent { .. })),
            "{outcome:?}"
        );
        assert!(started.elapsed() < Duration::from_secs(3));
        Ok(())
    }
}
