//! The object-storage door, on the local directory and on a real S3 server that checks
//! signatures: checked writes, deduplication by hash, refusal of a wrong declaration with
//! nothing written, range reads, and a read-back whose SHA-256 matches. (Uploads in progress,
//! kept as parts, are exercised through the API in `uploads.rs`.)

use server::digest::sha256_hex;
use server::storage::{Storage, StorageConfig, StorageError, Stored};
use tests::files::blob;
use tests::s3::S3Server;

async fn exercise(storage: &Storage) -> anyhow::Result<()> {
    let data = bytes::Bytes::from(blob(6 * 1024 * 1024 + 17, 1));
    let sha = sha256_hex(&data);
    let size = data.len() as u64;
    assert!(!storage.contains(&sha).await?);
    assert_eq!(
        storage.put_checked(&sha, size, data.clone(), &sha).await?,
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
        storage.put_checked(&sha, size, data.clone(), &sha).await?,
        Stored::Duplicate
    );

    // A wrong declared hash, or a wrong size, is refused and nothing is written.
    let other = bytes::Bytes::from(blob(300_000, 2));
    let right = sha256_hex(&other);
    let wrong = sha256_hex(b"something else");
    let err = storage
        .put_checked(&wrong, other.len() as u64, other.clone(), &right)
        .await
        .expect_err("hash mismatch");
    assert!(matches!(err, StorageError::Mismatch { .. }), "{err}");
    assert!(!storage.contains(&wrong).await?);
    let err = storage
        .put_checked(&right, other.len() as u64 + 1, other, &right)
        .await
        .expect_err("size mismatch");
    assert!(err.to_string().contains("300000 bytes"), "{err}");
    assert!(!storage.contains(&right).await?);
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
