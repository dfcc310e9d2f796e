//! The file of an upload in progress in a local store, and the [`Appender`] that writes a
//! request's bytes into it as they arrive.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Seek as _, SeekFrom, Write as _};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use bytes::Bytes;

use super::StorageError;

/// Bytes an [`Appender`] writes before it starts writing them back: the disk works while the
/// rest arrives.
const APPEND_WRITEBACK_BYTES: usize = 1024 * 1024;

/// Writes the bytes of one request into a local upload's file as they arrive, on a blocking
/// thread of its own, starting to write each MiB back to disk at once without waiting for it
/// (`sync_file_range`): the disk works while the rest of the body is still arriving and being
/// hashed, and the sync asked for at a piece's end has little left to wait for.
pub struct Appender {
    sender: tokio::sync::mpsc::Sender<Append>,
    worker: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

/// What an [`Appender`]'s thread is asked to do.
enum Append {
    /// Write these bytes next.
    Bytes(Bytes),
    /// Answer once every byte written before is on disk.
    Sync(tokio::sync::oneshot::Sender<()>),
}

impl Appender {
    /// Starts the thread writing into the file of the upload folder `dir` from `start` on (a new
    /// file's name made durable at once if `name_now`).
    pub(super) fn start(dir: PathBuf, start: u64, name_now: bool) -> Self {
        // A few pieces of a body in flight: the receiver waits while the disk is behind.
        let (sender, mut asked) = tokio::sync::mpsc::channel(16);
        let worker = tokio::task::spawn_blocking(move || {
            let mut file = open_at(&dir, start, name_now)?;
            // Bytes since writing back last began, and whether any are not synced yet.
            let (mut since_writeback, mut dirty) = (0, false);
            while let Some(what) = asked.blocking_recv() {
                match what {
                    Append::Bytes(bytes) => {
                        file.write_all(&bytes)?;
                        since_writeback += bytes.len();
                        if since_writeback >= APPEND_WRITEBACK_BYTES {
                            start_writeback(&file)?;
                            since_writeback = 0;
                        }
                        dirty = true;
                    }
                    Append::Sync(done) => {
                        if dirty {
                            file.sync_data()?;
                            (since_writeback, dirty) = (0, false);
                        }
                        let _ = done.send(());
                    }
                }
            }
            Ok(())
        });
        Self {
            sender,
            worker: Some(worker),
        }
    }

    /// Writes `bytes` next (waiting while the disk is behind).
    pub async fn write(&mut self, bytes: Bytes) -> Result<(), StorageError> {
        if self.sender.send(Append::Bytes(bytes)).await.is_err() {
            return Err(self.failure().await);
        }
        Ok(())
    }

    /// Returns once every byte written so far is on disk.
    pub async fn sync(&mut self) -> Result<(), StorageError> {
        let (done, synced) = tokio::sync::oneshot::channel();
        if self.sender.send(Append::Sync(done)).await.is_err() || synced.await.is_err() {
            return Err(self.failure().await);
        }
        Ok(())
    }

    /// Why the thread stopped.
    async fn failure(&mut self) -> StorageError {
        let stopped = match self.worker.take() {
            Some(worker) => worker.await.map_err(std::io::Error::other).and_then(|r| r),
            None => Ok(()),
        };
        StorageError::UploadFile(
            stopped.err().unwrap_or_else(|| {
                std::io::Error::other("the upload's file writer stopped earlier")
            }),
        )
    }
}

fn data(dir: &Path) -> std::path::PathBuf {
    dir.join("data")
}

/// How long a writer waits for the one before it to close the file (the request before
/// answers just before its writer thread closes it).
const LOCK_WAIT: Duration = Duration::from_secs(2);

/// Locks `file` for this writer, waiting up to [`LOCK_WAIT`] for the one before.
fn lock(file: &File) -> std::io::Result<()> {
    let deadline = Instant::now() + LOCK_WAIT;
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(()),
            Err(TryLockError::WouldBlock) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(TryLockError::WouldBlock) => {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::WouldBlock,
                    "another request is writing this upload",
                ));
            }
            Err(TryLockError::Error(e)) => return Err(e),
        }
    }
}

/// The file of the upload folder `dir`, made if missing (its name made durable if
/// `name_now`), to write at `start`: anything after `start` (bytes written but never
/// acknowledged) is dropped first. The file stays locked while it is open, so one request at
/// a time writes it (another, even one whose lease on the upload outlived a stalled first,
/// gets [`std::io::ErrorKind::WouldBlock`]).
pub fn open_at(dir: &Path, start: u64, name_now: bool) -> std::io::Result<File> {
    let created = !data(dir).exists();
    std::fs::create_dir_all(dir)?;
    let mut file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(data(dir))?;
    lock(&file)?;
    if created && name_now {
        sync_name(dir)?;
    }
    let len = file.metadata()?.len();
    if len < start {
        return Err(std::io::Error::other(format!(
            "{} holds {len} bytes, fewer than the upload's offset {start}",
            dir.display()
        )));
    }
    if len > start {
        file.set_len(start)?;
    }
    file.seek(SeekFrom::Start(start))?;
    Ok(file)
}

/// Puts the finished upload in folder `dir` at `original` if its `size` and SHA-256,
/// `hashed` (carried along as its bytes arrived), are the `declared` ones, then removes the
/// folder whatever the outcome. Its bytes are synced already; the rename is made durable
/// with the folder that lists the original (the upload's folder goes, so it is not synced).
pub fn place(
    dir: &Path,
    original: &Path,
    size: u64,
    declared: &str,
    hashed: &str,
) -> std::io::Result<Result<super::Stored, super::StorageError>> {
    let placed = (|| {
        let kept = std::fs::metadata(data(dir))?.len();
        if let Err(mismatch) = super::StorageError::check(declared, size, hashed, kept) {
            return Ok(Err(mismatch));
        }
        if original.exists() {
            return Ok(Ok(super::Stored::Duplicate));
        }
        let folder = original
            .parent()
            .ok_or_else(|| std::io::Error::other("an original's key has a folder"))?;
        make_folder(folder)?;
        std::fs::rename(data(dir), original)?;
        File::open(folder)?.sync_all()?;
        Ok(Ok(super::Stored::New))
    })();
    truncate(dir, 0)?;
    placed
}

/// Makes `folder` and any missing folder above it, each listed durably in its parent.
fn make_folder(folder: &Path) -> std::io::Result<()> {
    if folder.is_dir() {
        return Ok(());
    }
    let parent = folder
        .parent()
        .ok_or_else(|| std::io::Error::other("the store's root is missing"))?;
    make_folder(parent)?;
    match std::fs::create_dir(folder) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(e),
    }
    File::open(parent)?.sync_all()
}

/// Makes the name of the file in the upload folder `dir` outlive a power cut as its synced
/// bytes do: syncs the folders that list it (the upload's, and `uploads/` that lists that).
pub fn sync_name(dir: &Path) -> std::io::Result<()> {
    for folder in [Some(dir), dir.parent()].into_iter().flatten() {
        File::open(folder)?.sync_all()?;
    }
    Ok(())
}

/// Starts writing `file`'s dirty pages to disk without waiting for them, so that the sync
/// that follows has little left to wait for.
#[cfg(target_os = "linux")]
#[allow(unsafe_code)]
pub fn start_writeback(file: &File) -> std::io::Result<()> {
    use std::os::fd::AsRawFd as _;
    // SAFETY: the descriptor is open for as long as `file` is borrowed; the call takes no
    // pointers.
    let started =
        unsafe { libc::sync_file_range(file.as_raw_fd(), 0, 0, libc::SYNC_FILE_RANGE_WRITE) };
    if started == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// Elsewhere the sync that follows writes everything.
#[cfg(not(target_os = "linux"))]
pub fn start_writeback(_file: &File) -> std::io::Result<()> {
    Ok(())
}

/// Drops the bytes from `from` on; from 0, the whole upload folder.
pub fn truncate(dir: &Path, from: u64) -> std::io::Result<()> {
    let gone = |e: &std::io::Error| e.kind() == std::io::ErrorKind::NotFound;
    if from == 0 {
        return std::fs::remove_dir_all(dir).or_else(|e| if gone(&e) { Ok(()) } else { Err(e) });
    }
    match File::options().write(true).open(data(dir)) {
        Ok(file) if file.metadata()?.len() > from => {
            file.set_len(from)?;
            file.sync_data()
        }
        Ok(_) => Ok(()),
        Err(e) if gone(&e) => Ok(()),
        Err(e) => Err(e),
    }
}
