//! The object-storage door, on the local directory and on a real S3 server that checks
//! signatures: checked writes, deduplication by hash, refusal of a wrong declaration with
//! nothing written, range reads, and a read-back whose SHA-256 matches; one writer at a time for
//! a local upload's file; on S3, an original sent while it arrives is stored only once found
//! right, and from memory if its PUT is cut. (Uploads in progress, kept as parts, are exercised
//! through the API in `uploads.rs`.)

use anyhow::Context as _;
use server::digest::sha256_hex;
use server::storage::{Incoming, Storage, StorageConfig, StorageError, Stored};
use tests::files::blob;
use tests::s3::S3Server;

async fn exercise(storage: &Storage) -> anyhow::Result<()> {
    let data = bytes::Bytes::from(blob(6 * 1024 * 1024 + 17, 1));
    let sha = sha256_hex(&data);
    let size = data.len() as u64;
    assert!(!storage.contains(&sha).await?);
    assert_eq!(
        storage
            .put_checked(&sha, size, data.clone().into(), &sha)
            .await?,
        Stored::New
    );
    assert!(storage.contains(&sha).await?);
    assert_eq!(
        storage.rehash(&sha).await?,
        (sha.clone(), size),
        "read back whole, same SHA-256"
    );
    let range = storage.read_range(&sha, 5_000_000..5_000_100).await?;
    assert_eq!(&range[..], &data[5_000_000..5_000_100]);

    // The same bytes again are stored once.
    assert_eq!(
        storage
            .put_checked(&sha, size, data.clone().into(), &sha)
            .await?,
        Stored::Duplicate
    );

    // A wrong declared hash, or a wrong size, is refused and nothing is written.
    let other = bytes::Bytes::from(blob(300_000, 2));
    let right = sha256_hex(&other);
    let wrong = sha256_hex(b"something else");
    let err = storage
        .put_checked(&wrong, other.len() as u64, other.clone().into(), &right)
        .await
        .expect_err("hash mismatch");
    assert!(matches!(err, StorageError::Mismatch { .. }), "{err}");
    assert!(!storage.contains(&wrong).await?);
    let err = storage
        .put_checked(&right, other.len() as u64 + 1, other.into(), &right)
        .await
        .expect_err("size mismatch");
    assert!(err.to_string().contains("300000 bytes"), "{err}");
    assert!(!storage.contains(&right).await?);
    Ok(())
}

/// A store in a `media` folder under `dir`, as the embedded default keeps it.
fn local_store(dir: &tempfile::TempDir) -> anyhow::Result<Storage> {
    Ok(Storage::open(&StorageConfig::Local {
        root: dir.path().join("media"),
    })?)
}

#[tokio::test]
async fn the_local_directory_stores_verified_deduplicated_originals() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let storage = local_store(&dir)?;
    exercise(&storage).await
}

#[tokio::test]
async fn an_s3_server_stores_verified_deduplicated_originals() -> anyhow::Result<()> {
    let s3 = S3Server::start().await?;
    let storage = Storage::open(&s3.config())?;
    exercise(&storage).await?;
    // The server really checks signatures: a wrong secret is refused.
    let forged = Storage::open(&s3.config_with_secret("not-the-secret"))?;
    assert!(forged.contains(&sha256_hex(b"x")).await.is_err());
    Ok(())
}

#[tokio::test]
async fn a_local_uploads_file_takes_one_writer_at_a_time() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let storage = local_store(&dir)?;
    let data = bytes::Bytes::from(blob(3 * 1024 * 1024, 3));
    let (sha, size) = (sha256_hex(&data), data.len() as u64);
    let upload = Incoming {
        id: uuid::Uuid::now_v7(),
        sha256: sha.clone(),
    };
    let mut first = storage
        .appender(&upload, 0, true)
        .context("a local store appends")?;
    first.write(data.slice(..1_000_000)).await?;
    first.sync().await?;

    // A second request writing the same upload (one whose lease outlived a stalled first) is
    // refused while the first still has the file, and changes nothing in it.
    let mut second = storage
        .appender(&upload, 0, true)
        .context("a local store appends")?;
    let refused = match second.write(data.slice(..10)).await {
        Err(e) => e,
        Ok(()) => second.sync().await.expect_err("a second writer is refused"),
    };
    assert!(
        matches!(&refused, StorageError::UploadFile(e) if e.kind() == std::io::ErrorKind::WouldBlock),
        "{refused}"
    );

    first.write(data.slice(1_000_000..)).await?;
    first.sync().await?;
    assert_eq!(
        storage.finish_upload(&upload, size, &sha).await?,
        Stored::New
    );
    assert_eq!(
        storage.rehash(&sha).await?,
        (sha, size),
        "stored whole, as sent"
    );
    assert!(
        storage.uploads_kept().await?.is_empty(),
        "nothing left of the upload"
    );
    Ok(())
}

/// Sends `data` through a PUT streamed to `storage` as the original `declared`, in pieces as
/// from a phone, and returns it unfinished.
async fn streamed(
    storage: &Storage,
    declared: &str,
    data: &bytes::Bytes,
) -> anyhow::Result<server::storage::Streamed> {
    let mut put = storage
        .stream_original(declared, data.len() as u64)
        .context("an S3 store streams originals")?;
    for piece in data.chunks(64 * 1024) {
        put.send(data.slice_ref(piece)).await;
    }
    Ok(put)
}

#[tokio::test]
async fn an_original_streamed_to_s3_is_stored_only_once_found_right() -> anyhow::Result<()> {
    let s3 = S3Server::start().await?;
    let storage = Storage::open(&s3.config())?;
    let data = bytes::Bytes::from(blob(3 * 1024 * 1024 + 5, 3));
    let (sha, size) = (sha256_hex(&data), data.len() as u64);

    // Every byte but the last is with the store, which has stored nothing yet.
    let before = s3.received();
    let put = streamed(&storage, &sha, &data).await?;
    // A signed PUT's headers take well over 200 bytes: past this, the body is all but in.
    s3.wait_until("every byte but the last", |s3| {
        s3.received() >= before + size - 1 + 200
    })
    .await?;
    assert!(!storage.contains(&sha).await?, "the last byte is held back");
    // Abandoned (the phone's body was cut), it stays so.
    let ended = s3.connections_ended();
    drop(put);
    s3.wait_until("the abandoned PUT end", |s3| s3.connections_ended() > ended)
        .await?;
    assert!(!storage.contains(&sha).await?);

    // A body whose hash is not the declared one is refused, and nothing is stored.
    let wrong = sha256_hex(b"another photo");
    let put = streamed(&storage, &wrong, &data).await?;
    let ended = s3.connections_ended();
    let err = storage
        .finish_streamed(put, &wrong, size, &sha)
        .await
        .expect_err("hash mismatch");
    assert!(matches!(err, StorageError::Mismatch { .. }), "{err}");
    s3.wait_until("the refused PUT end", |s3| s3.connections_ended() > ended)
        .await?;
    assert!(!storage.contains(&wrong).await?);

    // Found right, it is stored whole.
    let put = streamed(&storage, &sha, &data).await?;
    assert_eq!(&put.first(1000)[..], &data[..1000]);
    assert_eq!(
        storage.finish_streamed(put, &sha, size, &sha).await?,
        Stored::New
    );
    assert_eq!(storage.rehash(&sha).await?, (sha.clone(), size));

    // A local store writes files as they arrive instead.
    let dir = tempfile::tempdir()?;
    assert!(local_store(&dir)?.stream_original(&sha, size).is_none());
    Ok(())
}

#[tokio::test]
async fn a_streamed_original_whose_put_is_cut_is_stored_from_memory() -> anyhow::Result<()> {
    let s3 = S3Server::start().await?;
    let storage = Storage::open(&s3.config())?;
    let data = bytes::Bytes::from(blob(2 * 1024 * 1024 + 3, 4));
    let (sha, size) = (sha256_hex(&data), data.len() as u64);
    let mut put = storage
        .stream_original(&sha, size)
        .context("an S3 store streams originals")?;
    let (first, rest) = data.split_at(data.len() / 2);
    let before = s3.received();
    put.send(data.slice_ref(first)).await;
    // The store drops the PUT's connection halfway (a restart, a network cut).
    s3.wait_until("the first half", |s3| {
        s3.received() >= before + first.len() as u64
    })
    .await?;
    s3.cut_connections();
    put.send(data.slice_ref(rest)).await;
    assert_eq!(
        storage.finish_streamed(put, &sha, size, &sha).await?,
        Stored::New
    );
    assert_eq!(storage.rehash(&sha).await?, (sha, size), "stored whole");
    Ok(())
}

#[tokio::test]
async fn a_store_without_plain_http_gets_no_streamed_put_over_it() -> anyhow::Result<()> {
    let s3 = S3Server::start().await?;
    let StorageConfig::S3 {
        endpoint,
        bucket,
        region,
        access_key_id,
        secret_access_key,
        virtual_hosted,
        ..
    } = s3.config()
    else {
        anyhow::bail!("an S3 configuration");
    };
    let https_only = Storage::open(&StorageConfig::S3 {
        endpoint,
        bucket,
        region,
        access_key_id,
        secret_access_key,
        allow_http: false,
        virtual_hosted,
    })?;
    let data = bytes::Bytes::from(blob(300_000, 5));
    let (sha, size) = (sha256_hex(&data), data.len() as u64);
    let put = streamed(&https_only, &sha, &data).await?;
    assert!(
        https_only
            .finish_streamed(put, &sha, size, &sha)
            .await
            .is_err()
    );
    assert!(
        s3.requests().is_empty(),
        "nothing went over plain HTTP: {:?}",
        s3.requests()
    );
    Ok(())
}
