//! How the process gives memory back. Password hashing (argon2, 19 MiB a hash), image decoding and
//! upload buffers allocate large blocks for a moment. glibc's allocator raises its mmap threshold
//! each time such a block is freed, after which large blocks come from its heaps and stay with the
//! process: a server that has hashed a few passwords holds well over 100 MiB it no longer uses.
//! Fixing the threshold keeps every large block mapped on its own, so freeing it returns it.

/// Blocks of this size or more are mapped on their own and unmapped when freed.
const LARGE_BLOCK: i32 = 1024 * 1024;

/// Makes freed large blocks go back to the system. Call it first thing in `main`; a no-op where
/// the C library is not glibc.
#[allow(unsafe_code)]
pub fn return_large_blocks() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: mallopt only sets an allocator parameter, takes no pointers, and glibc allows
        // it at any time.
        let set = unsafe { libc::mallopt(libc::M_MMAP_THRESHOLD, LARGE_BLOCK) };
        if set != 1 {
            tracing::warn!("the allocator refused a fixed mmap threshold; freed memory may stay");
        }
    }
}
