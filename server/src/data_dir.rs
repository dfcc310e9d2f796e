//! The data folder (`DATA_DIR`: the SQLite database, the key file, the media folder) is the
//! server's alone: minors' personal data and evidence are in it (R23).

use std::path::Path;

/// Makes everything the process creates from now on readable by its owner only (umask 077:
/// files 0600, folders 0700), and closes `dir` to everyone else (0700, made if missing), which
/// also closes whatever an older version left in it open. Call it first thing in `main`.
#[allow(unsafe_code)]
pub fn keep_private(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    // SAFETY: umask only sets the process's file mode mask, takes no pointers, and cannot fail.
    unsafe {
        libc::umask(0o077);
    }
    std::fs::create_dir_all(dir)?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
}
