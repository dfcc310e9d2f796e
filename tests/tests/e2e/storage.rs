//! The object-storage door, on the local directory and on a real S3 server that checks
//! signatures: verified streaming writes in parts, deduplication by hash, refusal of a wrong
//! declaration with nothing left behind, range reads, and a read-back whose SHA-256 matches.

use bytes::Bytes;
use server::digest::sha256_hex;
use server::storage::{Storage, StorageConfig, StorageError, Stored};
use tests::files::blob;
use tests::s3::S3Server;

/// The bytes as a stream of 64 KiB pieces, as a network body arrives.
fn stream(data: &[u8]) -> impl futures::Stream<Item = Result<Bytes, std::io::Error>> + Unpin {
    let pieces: Vec<Result<Bytes, std::io::Error>> = data
        .chunks(64 * 1024)
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect();
    futures::stream::iter(pieces)
}

async fn exercise(storage: &Storage) -> anyhow::Result<()> {
    // 12 MiB: three parts of at least 5 MiB.
    let data = blob(12 * 1024 * 1024 + 17, 1);
    let sha = sha256_hex(&data);
    assert!(!storage.contains(&sha).await?);
    assert_eq!(
        storage
            .put_verified(&sha, data.len() as u64, stream(&data))
            .await?,
        Stored::New
    );
    assert!(storage.contains(&sha).await?);
    assert_eq!(
        storage.rehash(&sha).await?,
        (sha.clone(), data.len() as u64),
        "read back whole, same SHA-256"
    );
    let range = storage.read_range(&sha, 5_000_000..5_000_100).await?;
    assert_eq!(&range[..], &data[5_000_000..5_000_100]);

    // The same bytes again are stored once.
    assert_eq!(
        storage
            .put_verified(&sha, data.len() as u64, stream(&data))
            .await?,
        Stored::Duplicate
    );

    // A wrong declared hash, or a wrong size, is refused and leaves nothing behind.
    let other = blob(300_000, 2);
    let wrong = sha256_hex(b"something else");
    let err = storage
        .put_verified(&wrong, other.len() as u64, stream(&other))
        .await
        .expect_err("hash mismatch");
    assert!(matches!(err, StorageError::Mismatch { .. }), "{err}");
    assert!(!storage.contains(&wrong).await?);
    let right = sha256_hex(&other);
    let err = storage
        .put_verified(&right, other.len() as u64 + 1, stream(&other))
        .await
        .expect_err("size mismatch");
    assert!(err.to_string().contains("300000 bytes"), "{err}");
    assert!(!storage.contains(&right).await?);
    assert!(
        storage.staging_keys().await?.is_empty(),
        "no staged parts are left"
    );
    Ok(())
}

#[tokio::test]
async fn the_local_directory_stores_verified_deduplicated_originals() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let storage = Storage::open(&StorageConfig::Local {
        root: dir.path().join("media"),
    })?;
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
