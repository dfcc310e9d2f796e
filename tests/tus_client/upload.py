"""Uploads a file with tuspy, a third-party tus client, as a phone app might.

Usage: upload.py SERVER_URL TOKEN FILE KIND SHA256 FILENAME ATTEMPT_ID
Prints the upload's URL when done.
"""
import sys

from tusclient import client


def main() -> None:
    server, token, path, kind, sha256, filename, attempt_id = sys.argv[1:8]
    tus = client.TusClient(server + "/api/v1/uploads", headers={"Authorization": "Bearer " + token})
    uploader = tus.uploader(
        path,
        chunk_size=256 * 1024,
        upload_checksum=True,
        metadata={"kind": kind, "sha256": sha256, "filename": filename, "attempt_id": attempt_id},
    )
    uploader.upload()
    print(uploader.url)


if __name__ == "__main__":
    main()
