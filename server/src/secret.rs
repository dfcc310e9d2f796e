//! Values read from the environment: a [`Secret`] that never reaches a log, and what is wrong
//! with a variable ([`ConfigError`]). Its own module, so that the configuration and the parts it
//! configures (keys, the media store) import it without importing each other.

/// A value that must never reach a log: `Debug` prints `[redacted]`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret<T>(pub T);

impl<T> std::fmt::Debug for Secret<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

/// What went wrong reading the configuration.
#[derive(Debug, thiserror::Error)]
#[error("configuration variable {name}: {reason}")]
pub struct ConfigError {
    /// The variable's name.
    pub name: &'static str,
    /// What is wrong with its value.
    pub reason: String,
}
