//! The one error type of the crate: every variant names the file (where there is
//! one) and what was expected, and most say how to fix it.

use std::path::{Path, PathBuf};

/// Everything that can go wrong while reading, checking or writing data.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// A file or directory that should be there is not.
    #[error("{}: not found; expected {expected}", path.display())]
    NotFound {
        /// The path that was looked for.
        path: PathBuf,
        /// What should have been there, and how to get it.
        expected: String,
    },

    /// An operating-system error while reading or writing a file.
    #[error("{}: I/O error while {action}: {source}", path.display())]
    Io {
        /// The file being read or written.
        path: PathBuf,
        /// What was being done ("reading", "creating" ...).
        action: &'static str,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },

    /// The file is not in the format it should be (wrong magic, wrong dimensions ...).
    #[error("{}: {found}; expected {expected}", path.display())]
    Format {
        /// The offending file.
        path: PathBuf,
        /// What was found.
        found: String,
        /// What was expected.
        expected: String,
    },

    /// The file holds fewer (or more) bytes than its header promises.
    #[error(
        "{}: {what} needs {expected} bytes but the file holds {found}; \
         the file is truncated or corrupt, download it again",
        path.display()
    )]
    SizeMismatch {
        /// The offending file.
        path: PathBuf,
        /// What the bytes are for ("image data", "record" ...).
        what: String,
        /// Bytes promised by the header or the format.
        expected: u64,
        /// Bytes actually present.
        found: u64,
    },

    /// A gzip stream that ends early or does not decode.
    #[error(
        "{}: gzip stream is corrupt or truncated ({reason}); expected a complete .gz file, \
         download it again",
        path.display()
    )]
    Gzip {
        /// The offending file.
        path: PathBuf,
        /// What the decoder said.
        reason: String,
    },

    /// A file whose checksum is not the published one.
    #[error(
        "{}: {algorithm} is {found}, expected {expected}; {hint}",
        path.display()
    )]
    Checksum {
        /// The offending file.
        path: PathBuf,
        /// Which digest ("sha256", "md5").
        algorithm: &'static str,
        /// The digest computed, in hex.
        found: String,
        /// The published digest, in hex.
        expected: String,
        /// How to fix it.
        hint: String,
    },

    /// An images file and a labels file that disagree on the number of items.
    #[error(
        "{} holds {images} images but {} holds {labels} labels; expected the same count, \
         pair the files of the same split",
        images_path.display(),
        labels_path.display()
    )]
    CountMismatch {
        /// The images file.
        images_path: PathBuf,
        /// Its number of images.
        images: usize,
        /// The labels file.
        labels_path: PathBuf,
        /// Its number of labels.
        labels: usize,
    },

    /// An image folder in which no PNG or JPEG file was found.
    #[error(
        "{}: no images found ({skipped} other files skipped); expected PNG or JPEG files \
         (.png, .jpg, .jpeg), searched recursively",
        path.display()
    )]
    NoImages {
        /// The folder searched.
        path: PathBuf,
        /// Files that were not images.
        skipped: usize,
    },

    /// An image file that does not decode.
    #[error(
        "{}: cannot decode image ({reason}); expected a valid PNG or JPEG, remove the file \
         or ask to skip corrupt images",
        path.display()
    )]
    Image {
        /// The offending file.
        path: PathBuf,
        /// What the decoder said.
        reason: String,
    },

    /// An argument that cannot work (size zero, batch size zero, wrong buffer length ...).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
}

/// Shorthand for results of this crate.
pub type Result<T> = std::result::Result<T, DataError>;

impl DataError {
    /// An [`DataError::Io`] for `path`, mapping "not found" to [`DataError::NotFound`].
    pub(crate) fn io(path: &Path, action: &'static str, source: std::io::Error) -> Self {
        if source.kind() == std::io::ErrorKind::NotFound {
            let expected = match action {
                "reading" | "opening" | "listing" | "inspecting" => "an existing file",
                _ => "an existing parent directory to write into",
            };
            return DataError::NotFound {
                path: path.to_path_buf(),
                expected: expected.into(),
            };
        }
        DataError::Io {
            path: path.to_path_buf(),
            action,
            source,
        }
    }

    /// A [`DataError::Format`] for `path`.
    pub(crate) fn format(
        path: &Path,
        found: impl Into<String>,
        expected: impl Into<String>,
    ) -> Self {
        DataError::Format {
            path: path.to_path_buf(),
            found: found.into(),
            expected: expected.into(),
        }
    }
}
